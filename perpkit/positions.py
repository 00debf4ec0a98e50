"""Position arithmetic the CLI shows a trader, as plain functions on the contracts' integers.

Units as in the contracts: sizes are signed WAD base units, prices WAD USD per base unit, values
WAD USD, ratios WAD, the funding index is 1e27-scaled (`FundingRate.INDEX_SCALE`). Each function
rounds the way `PerpMarket` does where it mirrors a contract view, and against the trader where
it is an estimate (a liquidation price is shown on the early side, a margin need on the high side).
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from perpkit import model
from perpkit.model import WAD, notional  # noqa: F401 - notional: |size| x price, rounded up


def _div_floor(a: int, b: int) -> int:
    return a // b


def _div_ceil(a: int, b: int) -> int:
    return -((-a) // b)




def entry_price(size: int, open_notional: int) -> int | None:
    """Average entry price of the open position: |openNotional| / |size|; None when flat."""
    if size == 0:
        return None
    return abs(open_notional) * WAD // abs(size)


def unrealised_pnl(size: int, open_notional: int, mark: int) -> int:
    """size x mark - openNotional, floored (the model's and PerpMarket's `unrealized`)."""
    return model.unrealized_pnl(size, open_notional, mark)


def pending_funding(size: int, funding_index: int, snapshot: int) -> int:
    """Funding the account owes since its last settlement, rounded up as the market charges it;
    positive: the account pays, negative: it receives (the model's `funding_payment`)."""
    return model.funding_payment(size, funding_index - snapshot)


def margin_ratio(account_value: int, size: int, mark: int) -> int | None:
    """Account value per unit of notional at `mark` (WAD); the account is liquidatable below the
    maintenance margin ratio. None when flat."""
    if size == 0:
        return None
    return _div_floor(account_value * WAD, notional(size, mark))


def liquidation_price(size: int, account_value: int, mark: int, maintenance_ratio: int) -> int | None:
    """The mark price at which `account_value` falls to the maintenance requirement.

    The value moves with the mark as `V(P) = V + size x (P - mark)` and the requirement is
    `|size| x P x mmr`; solving `V(P) = |size| x P x mmr` gives
    `P = (size x mark - V) / (size - |size| x mmr)`. A long is liquidated when the mark falls to
    P (rounded up), a short when it rises to P (rounded down). None when flat, or for a long whose
    value covers the whole notional (no positive price liquidates it). Positive PnL counts at the
    haircut in the contract; this assumes no haircut (h = 1).
    """
    if size == 0:
        return None
    numerator = size * mark - account_value * WAD  # WAD^2 USD
    denominator = size * WAD - abs(size) * maintenance_ratio  # WAD^2 base units, same sign as size
    price = _div_ceil(numerator * WAD, denominator) if size > 0 else _div_floor(numerator * WAD, denominator)
    return price if price > 0 else None


def max_leverage(initial_margin_ratio: int) -> Decimal:
    """The highest leverage a market allows: 1 / initial margin ratio."""
    return Decimal(WAD) / Decimal(initial_margin_ratio)


def increases_risk(size: int, delta: int) -> bool:
    """Whether trading `delta` grows |size| or flips its sign (the model's `increases_risk`)."""
    return model.increases_risk(size, size + delta)


def required_margin(size: int, delta: int, price: int, leverage: Decimal | int, fee_rate: int) -> int:
    """Account value needed to hold `size + delta` at `leverage` after trading `delta` at `price`:
    the position's notional / leverage plus the fee on the traded notional, both rounded up."""
    position = notional(size + delta, price)
    if leverage <= 0:
        raise ValueError(f"leverage must be positive, got {leverage}")
    margin = math.ceil(Fraction(position) / Fraction(leverage))
    return margin + model.trade_fee(delta, price, fee_rate)


def margin_shortfall(account_value: int, size: int, delta: int, price: int, leverage: Decimal | int, fee_rate: int) -> int:
    """How much more account value (WAD USD) an order needs; 0 when the margin carries it or the
    order only reduces risk."""
    if not increases_risk(size, delta):
        return 0
    return max(0, required_margin(size, delta, price, leverage, fee_rate) - account_value)
