"""The invariants of DESIGN section 7 that can be read off a market at any moment.

Works on any objects with the PerpMarket / ERC-20 view methods (ape contracts, or the pyrevm
harness), so the tests, the simulation and the fuzz suite share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

WAD = 10**18


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def check_market(market, token, accounts) -> list[Check]:
    """Every market-wide invariant, given all accounts that ever touched the market."""
    scale = market.collateralScale()
    vault, capital_total = market.vault(), market.capitalTotal()
    insurance, pnl_pos_total = market.insuranceFund(), market.pnlPosTotal()
    balance = token.balanceOf(market.address)
    longs, shorts = market.openInterest()
    states = [market.accountOf(a) for a in accounts]
    sum_long = sum(s.size for s in states if s.size > 0)
    sum_short = sum(-s.size for s in states if s.size < 0)
    sum_capital = sum(s.capital for s in states)
    sum_pnl_pos = sum(s.pnl for s in states if s.pnl > 0)
    h = market.haircut()
    return [
        Check("vault reconciles with token balance", balance * scale == vault, f"balance {balance} x {scale} vs vault {vault}"),
        Check(
            "senior solvency",
            vault >= capital_total + insurance,
            f"vault {vault} >= capital {capital_total} + insurance {insurance}",
        ),
        Check(
            "open interest balanced and summed",
            longs == shorts == sum_long == sum_short,
            f"longs {longs} shorts {shorts} sum+ {sum_long} sum- {sum_short}",
        ),
        Check("capital total summed", capital_total == sum_capital, f"{capital_total} vs {sum_capital}"),
        Check("positive pnl total summed", pnl_pos_total == sum_pnl_pos, f"{pnl_pos_total} vs {sum_pnl_pos}"),
        Check("haircut within [0, 1]", 0 <= h <= WAD, f"h = {h}"),
    ]


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]
