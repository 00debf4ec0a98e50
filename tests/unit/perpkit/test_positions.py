"""perpkit.positions: the position arithmetic the CLI shows, without a chain."""

from decimal import Decimal

import pytest

from perpkit.positions import (
    entry_price,
    increases_risk,
    liquidation_price,
    margin_ratio,
    margin_shortfall,
    max_leverage,
    notional,
    pending_funding,
    required_margin,
    unrealised_pnl,
)

W = 10**18
MMR = W // 20  # 5 %
TAKER = 5 * 10**14  # 5 bp


def test_notional__size_times_price_rounded_up():
    assert notional(-2 * W, 60_000 * W) == 120_000 * W
    assert notional(1, W // 2) == 1  # half a wei of USD rounds up


def test_entry_price__open_notional_over_size_for_both_sides():
    assert entry_price(2 * W, 120_000 * W) == 60_000 * W
    assert entry_price(-W // 2, -1_500 * W) == 3_000 * W


def test_entry_price__flat__none():
    assert entry_price(0, 0) is None


def test_unrealised_pnl__long_gains_and_short_loses_when_mark_rises():
    assert unrealised_pnl(W, 60_000 * W, 66_000 * W) == 6_000 * W
    assert unrealised_pnl(-W, -60_000 * W, 66_000 * W) == -6_000 * W


def test_unrealised_pnl__fraction__floors_like_the_market():
    assert unrealised_pnl(-1, 0, W // 2) == -1


def test_pending_funding__long_pays_and_short_receives_when_index_rises():
    # 0.01 % of a 60,000 index accrued: 6 USD per BTC = 6e27 on the 1e27-scaled index.
    assert pending_funding(W, 7 * 10**27, 10**27) == 6 * W
    assert pending_funding(-W, 7 * 10**27, 10**27) == -6 * W


def test_pending_funding__fraction__rounds_up_against_the_account():
    assert pending_funding(1, 1, 0) == 1
    assert pending_funding(-1, 1, 0) == 0


def test_margin_ratio__value_over_notional():
    assert margin_ratio(6_000 * W, -W, 60_000 * W) == W // 10


def test_margin_ratio__flat__none():
    assert margin_ratio(1_000 * W, 0, 60_000 * W) is None


def test_liquidation_price__long_at_10x__mark_where_value_meets_maintenance():
    # value(P) = 6,000 + (P - 60,000) = 0.05 P  ->  P = 54,000 / 0.95, rounded up
    assert liquidation_price(W, 6_000 * W, 60_000 * W, MMR) == 56_842_105263157894736843


def test_liquidation_price__short_at_10x__mark_where_value_meets_maintenance():
    # value(P) = 6,000 - (P - 60,000) = 0.05 P  ->  P = 66,000 / 1.05, rounded down
    assert liquidation_price(-W, 6_000 * W, 60_000 * W, MMR) == 62_857_142857142857142857


@pytest.mark.parametrize("size", [W, -3 * W // 2])
def test_liquidation_price__value_at_that_price__equals_maintenance_within_a_wei(size):
    mark, value = 60_000 * W, 5_000 * W
    price = liquidation_price(size, value, mark, MMR)
    value_there = value + size * (price - mark) // W
    maintenance = abs(size) * price * MMR // W // W
    assert abs(value_there - maintenance) <= 2


def test_liquidation_price__long_backed_by_its_whole_notional__none():
    assert liquidation_price(W, 60_000 * W, 60_000 * W, MMR) is None


def test_liquidation_price__flat__none():
    assert liquidation_price(0, 1_000 * W, 60_000 * W, MMR) is None


def test_max_leverage__one_over_initial_margin_ratio():
    assert max_leverage(W // 10) == Decimal(10)
    assert max_leverage(W // 4) == Decimal(4)


@pytest.mark.parametrize(
    "size, delta, expected",
    [(0, 1, True), (-1, -1, True), (2, -3, True), (2, -1, False), (2, -2, False), (-2, 1, False)],
)
def test_increases_risk__grows_or_flips(size, delta, expected):
    assert increases_risk(size, delta) is expected


def test_required_margin__notional_over_leverage_plus_taker_fee():
    # 1 BTC at 60,000 at 5x: 12,000 margin + 30 fee
    assert required_margin(0, W, 60_000 * W, Decimal(5), TAKER) == 12_030 * W


def test_required_margin__adding_to_a_position__margins_the_whole_position():
    # 1 BTC held, 1 more bought at 60,000 at 4x: 120,000 / 4 + 30 fee
    assert required_margin(W, W, 60_000 * W, 4, TAKER) == 30_030 * W


def test_required_margin__fraction__rounds_up():
    assert required_margin(0, 100, W, Decimal(3), 0) == 34


def test_required_margin__zero_leverage__raises():
    with pytest.raises(ValueError, match="leverage must be positive"):
        required_margin(0, W, W, 0, 0)


def test_margin_shortfall__short_of_margin__the_missing_value():
    assert margin_shortfall(10_000 * W, 0, W, 60_000 * W, 5, TAKER) == 2_030 * W


def test_margin_shortfall__enough_margin__zero():
    assert margin_shortfall(12_030 * W, 0, W, 60_000 * W, 5, TAKER) == 0


def test_margin_shortfall__reducing_order__zero_even_without_margin():
    assert margin_shortfall(0, W, -W // 2, 60_000 * W, 10, TAKER) == 0
