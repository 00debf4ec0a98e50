"""The simulation's chart (`simulation-output/chart.png`, copied to docs/simulation-chart.png):
one column per market, six panels sharing the time axis.

The mark sits within a fraction of a percent of the index, so on one price axis the two lines are
one: the mark is drawn as its premium over the index, in a panel of its own. The funding panel
says in a caption why its line is flat when it is (the rate is the interest rate while the premium
stays inside the clamp), and the haircut panel has its own labelled axes for h and bad debt.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from perpkit.simulation.report import HourRecord

PREMIUM_CLAMP = 0.0005  # markets.yaml's premium_clamp (DESIGN section 6 default), for the caption only


def write_chart(records: list[HourRecord], liquidation_times: dict[str, list[int]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    markets = sorted({r.market for r in records})
    fig, axes = plt.subplots(6, len(markets), figsize=(7 * len(markets), 16), sharex=True, squeeze=False)
    for col, market in enumerate(markets):
        rows = [r for r in records if r.market == market]
        t = [_utc(r.time) for r in rows]
        panel = [axes[i][col] for i in range(6)]
        _price(panel[0], market, rows, t, liquidation_times.get(market, []))
        _premium(panel[1], rows, t)
        _funding(panel[2], rows, t)
        panel[3].plot(t, [r.open_interest for r in rows], color="teal")
        panel[3].set_title("open interest (base units per side)")
        panel[4].plot(t, [r.insurance for r in rows], color="darkorange")
        panel[4].set_title("insurance fund (USD)")
        _haircut(panel[5], rows, t)
    fig.autofmt_xdate()  # clears the x labels above the bottom row: the captions go in after it
    for col, market in enumerate(markets):
        caption = funding_caption([r for r in records if r.market == market])
        axes[2][col].set_xlabel(caption, fontsize=8, loc="left")  # under the panel, clear of the line
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _price(ax, market: str, rows: list[HourRecord], t: list[datetime], liquidations: list[int]) -> None:
    ax.plot(t, [r.index for r in rows], color="tab:blue", lw=1.4, label="index (oracle)")
    if liquidations:
        by_time = {r.time: r.index for r in rows}
        ax.scatter([_utc(x) for x in liquidations], [by_time.get(x, rows[-1].index) for x in liquidations],
                   color="red", marker="v", zorder=5, label=f"liquidation ({len(liquidations)})")
    ax.set_title(f"{market}: index price (USD)")
    ax.legend(fontsize=8, loc="upper right")


def _premium(ax, rows: list[HourRecord], t: list[datetime]) -> None:
    """The mark as its premium over the index, (mark - index) / index, in %."""
    ax.plot(t, [(r.mark - r.index) / r.index * 100 for r in rows], color="tab:green", lw=1.0)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_title("mark - index, % of index (mark = index + MA30 premium)")
    ax.set_ylabel("premium (%)")


def _funding(ax, rows: list[HourRecord], t: list[datetime]) -> None:
    ax.plot(t, [r.funding_rate * 100 for r in rows], color="purple")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_title("funding rate (% per 8 h)")
    ax.set_ylabel("% per 8 h")


def funding_caption(rows: list[HourRecord]) -> str:
    """Why the funding line is flat where it is: F = P + clamp(I - P) equals the interest rate I
    whenever the premium P is within the clamp of I, and the commonest rate is that I."""
    rate, hours = Counter(r.funding_rate for r in rows).most_common(1)[0]
    clamp = PREMIUM_CLAMP * 100
    if hours == len(rows):
        head = f"flat at {rate * 100:.4f} % all {hours} hours"
    else:
        head = f"{rate * 100:.4f} % in {hours} of {len(rows)} hours"
    return (f"{head}: F = P + clamp(I - P, +-{clamp:.2f} %) is the interest rate I while the\n"
            f"premium P (MA30 / index, the panel above) stays within {clamp:.2f} % of I")


def _haircut(ax, rows: list[HourRecord], t: list[datetime]) -> None:
    """h on the left axis (0 to 1), bad debt in USD on the right one: each axis says which it is."""
    ax.plot(t, [r.haircut for r in rows], color="black", lw=1.2, label="haircut h")
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("haircut h (1 = winners paid in full)")
    ax.set_title("haircut h and bad debt")
    debt_axis = ax.twinx()
    debt_axis.plot(t, [r.bad_debt for r in rows], color="red", lw=1.0, ls="--", label="bad debt (USD)")
    debt_axis.plot(t, [r.debt for r in rows], color="grey", lw=0.8, ls=":", label="debt owed, collateral-backed (USD)")
    debt_axis.set_ylabel("bad debt, debt owed (USD)")
    debt_axis.set_ylim(bottom=0, top=max([1.0] + [r.bad_debt for r in rows] + [r.debt for r in rows]) * 1.1)
    lines = ax.get_lines()[:1] + debt_axis.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="lower left")
