"""The invariants of DESIGN section 7 that can be read off a market at any moment.

Works on any objects with the PerpMarket / ERC-20 view methods (ape contracts, or the pyrevm
harness), so the tests, the simulation and the fuzz suite share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from perpkit.model import WAD
from perpkit.units import fmt_num, fmt_usd



@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def _gap(*values: int) -> str:
    """Where values meant to be equal are not: the gap in wei, which a 2-decimal figure hides."""
    gap = max(values) - min(values)
    if not gap:
        return ""
    return f" (apart by {gap} wei)" if gap < 10**12 else f" (apart by {fmt_usd(gap)})"


def _base(wad: int) -> str:
    return fmt_num(wad, places=6)


def check_market(market, token, accounts, pool=None, collateral_tokens=()) -> list[Check]:
    """Every market-wide invariant, given all accounts that ever touched the market; with its
    CollateralPool `pool` and the pool's `collateral_tokens`, the pool's too (`check_collateral`)."""
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
    vault_text = fmt_usd(vault)
    checks = [
        Check("vault reconciles with token balance", balance * scale == vault,
              f"token balance {fmt_usd(balance * scale)} vs vault {vault_text}{_gap(balance * scale, vault)}"),
        Check(
            "senior solvency",
            vault >= capital_total + insurance,
            f"vault {vault_text} >= capital {fmt_usd(capital_total)} + insurance {fmt_usd(insurance)}"
            + ("" if vault >= capital_total + insurance else _gap(vault, capital_total + insurance)),
        ),
        Check(
            "open interest balanced and summed",
            longs == shorts == sum_long == sum_short,
            f"longs {_base(longs)} shorts {_base(shorts)} sum+ {_base(sum_long)} sum- {_base(sum_short)}"
            + _gap(longs, shorts, sum_long, sum_short),
        ),
        Check("capital total summed", capital_total == sum_capital,
              f"{fmt_usd(capital_total)} vs {fmt_usd(sum_capital)}{_gap(capital_total, sum_capital)}"),
        Check("positive pnl total summed", pnl_pos_total == sum_pnl_pos,
              f"{fmt_usd(pnl_pos_total)} vs {fmt_usd(sum_pnl_pos)}{_gap(pnl_pos_total, sum_pnl_pos)}"),
        Check("haircut within [0, 1]", 0 <= h <= WAD, f"h = {fmt_num(h, places=6)}"),
    ]
    if pool is not None:
        checks += check_collateral(market, pool, collateral_tokens, accounts, states)
    return checks


def check_collateral(market, pool, tokens, accounts, states=None) -> list[Check]:
    """The invariants of a market's CollateralPool, given its tokens and all accounts that ever
    touched it (`states`: their `accountOf`, if already read): per token, the pool's token
    balance = its accounted total = the sum of the balances (no phantom or lost collateral); and
    debt (negative pnl of a flat account) only while the account holds collateral that backs it,
    since without any it is written off at once."""
    checks = []
    for token in tokens:
        address = token.address
        held = token.balanceOf(pool.address)
        total = pool.collateralOf(address)[3]
        summed = sum(pool.balanceOf(a, address) for a in accounts)
        ok = held == total == summed
        decimals = token.decimals()
        symbol = address if ok else token.symbol()  # the name only to report

        def amount(value: int) -> str:
            return fmt_num(value, places=min(decimals, 6), scale=10**decimals)

        checks.append(Check(
            f"{symbol}: pool balance = accounted total = sum of balances",
            ok,
            f"balanceOf(pool) {amount(held)}, total {amount(total)}, sum {amount(summed)}{_gap(held, total, summed)}",
        ))
    stranded = []
    states = states if states is not None else [market.accountOf(a) for a in accounts]
    for a, state in zip(accounts, states):
        if state.size == 0 and state.pnl < 0 and not pool.holdsCollateral(a):
            stranded.append(f"{a}: pnl {fmt_num(state.pnl)} USD")
    checks.append(Check("flat debt only while backed by collateral", not stranded, "; ".join(stranded) or "none"))
    return checks


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]
