"""Per-hour figures, the CSV and PNG the simulation writes, and its final report."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, fields
from pathlib import Path

WAD = 10**18


@dataclass
class HourRecord:
    time: int
    label: str
    market: str
    index: float
    mark: float
    funding_rate: float  # per 8 h, fraction
    open_interest: float  # base units per side
    insurance: float  # USD
    haircut: float  # 0..1
    trades: int
    volume: float  # USD
    liquidations: int
    bad_debt: float = 0.0  # USD, cumulative, socialised through the haircut
    pnl_warming: float = 0.0  # USD of profit still warming up
    debt: float = 0.0  # USD the accounts owe (negative PnL): cash the residual lacks until it is repaid
    unhealthy: int = 0  # open accounts still below maintenance at the hour's end (after the keeper)


def haircut_check(records: list[HourRecord]):
    """The sound haircut's promise, hour by hour: h = 1 wherever the market has no bad debt and no
    unpaid debt. A debt (an account's loss beyond its capital, backed by its collateral until the
    keeper sells it) is cash the vault does not hold yet: h below 1 then is the truth, not a cut of
    a solvent exchange."""
    from perpkit.invariants import Check

    clean = [r for r in records if r.bad_debt == 0 and r.debt == 0]
    cut = [r for r in clean if r.haircut < 1]
    detail = (f"{len(records)} market-hours, {len(clean)} without bad or unpaid debt, "
              f"{len(cut)} of them with h < 1")
    if cut:
        worst = min(cut, key=lambda r: r.haircut)
        detail += f" (lowest {worst.haircut:.4f}: {worst.market} {worst.label})"
    return Check("haircut: h = 1 in every hour without bad or unpaid debt", not cut, detail)


def liquidation_check(records: list[HourRecord]):
    """The keeper keeps up: no open account is left below maintenance at the end of an hour (the
    keeper liquidates, in batches, within the hour an account becomes liquidatable)."""
    from perpkit.invariants import Check

    behind = [r for r in records if r.unhealthy]
    detail = (f"{len(records)} market-hours, {sum(r.liquidations for r in records)} liquidations, "
              f"{len(behind)} hours ending with an account below maintenance")
    if behind:
        worst = max(behind, key=lambda r: r.unhealthy)
        detail += f" (most {worst.unhealthy}: {worst.market} {worst.label})"
    return Check("keeper: no account left below maintenance at an hour's end", not behind, detail)


def write_csv(records: list[HourRecord], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[fld.name for fld in fields(HourRecord)])
        writer.writeheader()
        writer.writerows(asdict(r) for r in records)


def write_chart(records: list[HourRecord], liquidation_times: dict[str, list[int]], path: Path) -> None:
    """Index vs mark, funding rate, open interest and insurance fund, with liquidation markers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from datetime import datetime, timezone

    markets = sorted({r.market for r in records})
    fig, axes = plt.subplots(4, len(markets), figsize=(7 * len(markets), 11), sharex=True, squeeze=False)
    for col, market in enumerate(markets):
        rows = [r for r in records if r.market == market]
        t = [datetime.fromtimestamp(r.time, timezone.utc) for r in rows]
        ax = axes[0][col]
        ax.plot(t, [r.index for r in rows], label="index (oracle)", lw=1.4)
        ax.plot(t, [r.mark for r in rows], label="mark (index + MA30 premium)", lw=1.0, ls="--")
        liq = [datetime.fromtimestamp(x, timezone.utc) for x in liquidation_times.get(market, [])]
        if liq:
            by_time = {r.time: r.index for r in rows}
            ax.scatter(liq, [by_time.get(x, rows[-1].index) for x in liquidation_times[market]], color="red",
                       marker="v", zorder=5, label="liquidation")
        ax.set_title(f"{market}: price")
        ax.legend(fontsize=8)
        axes[1][col].plot(t, [r.funding_rate * 100 for r in rows], color="purple")
        axes[1][col].axhline(0, color="grey", lw=0.5)
        axes[1][col].set_title("funding rate (% per 8 h)")
        axes[2][col].plot(t, [r.open_interest for r in rows], color="teal")
        axes[2][col].set_title("open interest (base units per side)")
        axes[3][col].plot(t, [r.insurance for r in rows], color="darkorange", label="insurance fund (USD)")
        axes[3][col].plot(t, [r.bad_debt for r in rows], color="red", lw=0.8, label="bad debt (USD)")
        axes[3][col].set_title("insurance fund and bad debt (USD), haircut h")
        axes[3][col].legend(fontsize=8, loc="upper left")
        twin = axes[3][col].twinx()
        twin.plot(t, [r.haircut for r in rows], color="grey", lw=0.8, ls=":", label="haircut h")
        twin.set_ylim(-0.05, 1.05)
        twin.set_ylabel("haircut h (1 = winners paid in full)")
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
