"""Per-hour figures, the CSV the simulation writes, and its final report (the PNG: chart.py)."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from perpkit.model import WAD


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
