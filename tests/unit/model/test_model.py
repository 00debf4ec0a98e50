"""Pure unit tests of `perpkit.model` (no chain): rounding directions, clamps, the premium ring,
funding accrual, position accounting, margin, liquidation and haircut bounds.

Expected values are worked out by hand from the formulas, not read back from the model."""

from fractions import Fraction
from math import ceil, floor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpkit import model as M
from perpkit.model import WAD

ALICE, BOB, CAROL, KEEPER = "alice", "bob", "carol", "keeper"
PRICE = 60_000 * WAD
T0 = 1_700_000_000
ints = st.integers(min_value=-(2**120), max_value=2**120)
positive = st.integers(min_value=1, max_value=2**120)


def fresh_market(**params) -> M.MarketState:
    return M.MarketState(params=M.MarketParams(**params), funding=M.FundingState(last_accrual=T0))


def funded(*who, capital=10_000 * WAD, **params) -> M.MarketState:
    m = fresh_market(**params)
    for w in who:
        m.deposit(w, capital // m.collateral_scale)
    return m


# ------------------------------------------------------------------ fixed point


def test_tdiv__truncates_toward_zero_unlike_floor_division():
    assert (M.tdiv(-7, 2), -7 // 2) == (-3, -4)
    assert (M.tdiv(7, -2), M.tdiv(-7, -2), M.tdiv(7, 2)) == (-3, 3, 3)
    assert (M.tmod(-7, 2), M.tmod(7, -2)) == (-1, 1)


def test_mul_wad__down_floors_and_up_ceils():
    assert M.mul_wad_down(3, WAD // 2) == 1
    assert M.mul_wad_up(3, WAD // 2) == 2
    assert M.mul_wad_up(4, WAD // 2) == 2
    assert M.mul_wad_up(0, WAD) == 0
    assert M.div_wad_down(1, 3) == 333_333_333_333_333_333


def test_mul_div_floor__rounds_toward_minus_infinity():
    assert M.mul_div_floor(7, 1, 2) == 3
    assert M.mul_div_floor(-7, 1, 2) == -4
    assert M.mul_div_floor(-8, 1, 2) == -4
    assert M.mul_div_floor(0, -5, 3) == 0


def test_mul_div_ceil__rounds_toward_plus_infinity():
    assert M.mul_div_ceil(7, 1, 2) == 4
    assert M.mul_div_ceil(-7, 1, 2) == -3
    assert M.mul_div_ceil(-8, 1, 2) == -4


@given(ints, ints, positive)
def test_mul_div_signed__equals_exact_floor_and_ceil(x, y, d):
    exact = Fraction(x * y, d)
    assert M.mul_div_floor(x, y, d) == floor(exact)
    assert M.mul_div_ceil(x, y, d) == ceil(exact)


@given(st.integers(0, 2**120), st.integers(0, 2**120), positive)
def test_mul_div_unsigned__up_minus_down_is_zero_or_one(x, y, d):
    down, up = M.mul_div_down(x, y, d), M.mul_div_up(x, y, d)
    assert up - down == (0 if x * y % d == 0 else 1)


def test_casts__overflow_raises_value_overflow():
    assert M.to_int128(M.INT128_MIN) == M.INT128_MIN
    with pytest.raises(M.ValueOverflow) as info:
        M.to_int128(2**127)
    assert info.value.args == (2**127,)
    with pytest.raises(M.ValueOverflow):
        M.to_uint128(2**128)


# ------------------------------------------------------------------ funding formulas


def test_premium_sample__mid_floored_and_clamped_to_ten_percent():
    assert M.premium_sample(60_100 * WAD, 60_301 * WAD + 1, PRICE) == 200 * WAD + WAD // 2
    assert M.premium_sample(3, 4, 0) == 0  # bound 0
    assert M.premium_sample(1, 2, 1) == 0  # mid floors to 1
    assert M.premium_sample(80_000 * WAD, 80_000 * WAD, PRICE) == 6_000 * WAD
    assert M.premium_sample(1, 1, PRICE) == -6_000 * WAD
    assert M.premium_sample(1, 1, 15) == -1  # bound 15 x 0.1 = 1.5 truncates to 1


def test_ma30__over_all_thirty_slots_truncated_toward_zero():
    assert M.ma30(0) == 0
    assert M.ma30(-59) == -1  # floor would give -2
    assert M.ma30(59) == 1
    assert M.ma30(30 * 7 * WAD) == 7 * WAD


def test_ma30__first_quote_of_a_new_ring_moves_the_mark_by_a_thirtieth():
    """The ring starts as 30 zero-premium samples (DESIGN section 6): the first quote, even at the
    +10 % clamp, moves the mark by 1/30 of its premium."""
    f = M.FundingState(last_accrual=T0)
    assert f.record_quote(10 * PRICE, 10 * PRICE, PRICE, block_number=1) == 6_000 * WAD
    assert (f.count, f.premium_sum) == (1, 6_000 * WAD)
    assert f.mark_price(PRICE) == PRICE + 200 * WAD


def test_premium_index__truncates_toward_zero():
    assert M.premium_index(-1, 3 * WAD) == 0  # -1/3 wei: floor would give -1
    assert M.premium_index(-600 * WAD, PRICE) == -WAD // 100
    assert M.premium_index(WAD, 70 * WAD) == WAD // 70
    assert M.premium_index(7, 30) == WAD // 10  # MA30 bounded to 10 % of the index


@pytest.mark.parametrize(
    "premium, rate",
    [
        (0, 10**14),  # F = I
        (3 * 10**14, 10**14),  # I - P within the clamp: F = I
        (10**15, 5 * 10**14),  # I - P = -9 bp clamps to -5 bp
        (-10**15, -5 * 10**14),  # I - P = +11 bp clamps to +5 bp
        (2 * 10**16, 10**16),  # capped at +1 %
        (-2 * 10**16, -10**16),  # capped at -1 %
    ],
)
def test_funding_rate__clamps_interest_spread_then_caps(premium, rate):
    assert M.funding_rate(premium, M.FundingParams()) == rate


def test_pending_accrual__truncates_toward_zero():
    assert M.pending_accrual(10**14, PRICE, 0) == 0
    assert M.pending_accrual(0, PRICE, 100) == 0
    assert M.pending_accrual(10**14, PRICE, 8 * 3600) == 6 * WAD * 10**9  # 6 USD per BTC in 1e27
    assert M.pending_accrual(-1, 1, 1) == 0  # -1/28.8e12: floor would give -1
    assert M.pending_accrual(-(10**14), 3 * WAD, 1) == -(3 * 10**32 // (28_800 * 10**9))


# ------------------------------------------------------------------ the premium ring


def test_record_quote__ring_keeps_last_thirty_samples():
    f = M.FundingState(last_accrual=T0)
    for i in range(35):
        f.record_quote(PRICE + i * WAD, PRICE + i * WAD, PRICE, block_number=i + 1)
    assert f.count == 30
    assert f.head == 5
    assert f.premium_sum == sum(range(5, 35)) * WAD
    assert f.ma30() == sum(range(5, 35)) * WAD // 30
    assert f.premiums[:5] == [i * WAD for i in range(30, 35)]


def test_record_quote__bad_quotes_raise_and_leave_state():
    f = M.FundingState(last_accrual=T0, market_id=3)
    f.record_quote(PRICE, PRICE + 2, PRICE, block_number=7)
    before = (f.count, f.premium_sum, list(f.premiums), f.head)
    cases = [
        ((0, 1, 8), M.InvalidQuote, (0, 1)),
        ((2, 1, 8), M.InvalidQuote, (2, 1)),
        ((1, 2**128, 8), M.InvalidQuote, (1, 2**128)),
        ((PRICE, PRICE + 2, 8), M.QuoteUnchanged, (PRICE, PRICE + 2)),
        ((PRICE, PRICE + 4, 7), M.QuoteAlreadyRecorded, (3, 7)),
    ]
    for (bid, ask, block), error, args in cases:
        with pytest.raises(error) as info:
            f.record_quote(bid, ask, PRICE, block_number=block)
        assert info.value.args == args
    assert (f.count, f.premium_sum, f.premiums, f.head) == before


def test_mark_price__index_plus_ma30():
    f = M.FundingState(last_accrual=T0)
    assert f.mark_price(PRICE) == PRICE
    f.record_quote(PRICE + 100 * WAD, PRICE + 301 * WAD, PRICE, block_number=1)  # +200.5
    f.record_quote(PRICE - 10 * WAD, PRICE - 10 * WAD, PRICE, block_number=2)  # -10
    assert f.mark_price(PRICE) == PRICE + 635 * WAD // 100  # 190.5 / 30: 28 slots are still zero


def test_mark_price__ma30_bounded_by_current_index_after_crash():
    f = M.FundingState(last_accrual=T0)
    for k in range(30):
        f.record_quote(1, 1 + k, PRICE, block_number=k + 1)  # each clamped to -6,000 against 60,000
    crashed = 5_000 * WAD + 7  # MA30 -6,000 would exceed the index: bound 500.0000..0007 -> truncated
    assert f.ma30() == -6_000 * WAD
    assert M.bounded_ma30(f.ma30(), crashed) == -(500 * WAD)
    assert f.mark_price(crashed) == 4_500 * WAD + 7
    assert f.premium_index(crashed) == -(500 * WAD * WAD // crashed)


def test_crank__accrues_at_previous_rate_then_fixes_new():
    f = M.FundingState(last_accrual=T0)
    for k in range(30):
        f.record_quote(PRICE + 600 * WAD - k % 2, PRICE + 600 * WAD + k % 2, PRICE, block_number=k + 1)  # P = +1 %
    assert f.crank(PRICE, T0 + 100) == 10**16 - 5 * 10**14  # 1 % + clamp(0.01 % - 1 %)
    assert f.cumulative_index == 0  # the old rate was 0: no retroactive change
    assert f.last_crank == T0 + 100
    f.crank(PRICE, T0 + 100 + 8 * 3600)
    assert f.cumulative_index == 95 * 10**14 * PRICE // 10**9  # 0.95 % x 60,000 per BTC
    assert f.last_accrual == f.last_crank == T0 + 100 + 8 * 3600


def test_funding_index__view_adds_pending_without_state_change():
    f = M.FundingState(last_accrual=T0, rate=10**14)
    assert f.funding_index(PRICE, T0 + 3600) == 6 * WAD * 10**9 // 8
    assert (f.cumulative_index, f.last_accrual) == (0, T0)


# ------------------------------------------------------------------ positions and fees


def test_open__open_notional_ceiled_and_fees_rounded_up():
    m = funded(ALICE, BOB, min_position_size=1)
    price = WAD // 3 + 1  # 3 wei of base at 0.333...334: notional 1.000...002 wei
    m.trade(ALICE, BOB, 3, price, price, T0)
    a, b = m.account(ALICE), m.account(BOB)
    assert (a.size, a.open_notional) == (3, 2)  # long entry ceiled up
    assert (b.size, b.open_notional) == (-3, -1)  # short entry ceiled toward zero (the lower one)
    # fees: ceil(ceil(1.000..002) x 2 bp) = 1 and ceil(2 x 5 bp) = 1, paid from capital
    assert (10_000 * WAD - a.capital, 10_000 * WAD - b.capital, m.insurance) == (1, 1, 2)
    assert m.capital_total + m.insurance == m.vault


def test_short_open__open_notional_ceiled_toward_zero():
    m = funded(ALICE, BOB, maker_fee=0, taker_fee=0, min_position_size=1)
    m.trade(ALICE, BOB, -1, WAD // 2, WAD // 2, T0)  # -0.5 wei notional
    assert (m.account(ALICE).open_notional, m.account(BOB).open_notional) == (0, 1)


def test_reduce__realised_pnl_rounded_down_and_loss_paid_from_capital():
    m = funded(ALICE, BOB, maker_fee=0, taker_fee=0, min_position_size=1)
    price = 100 * WAD + 1
    m.trade(ALICE, BOB, 3 * WAD, price, price, T0)
    assert m.account(ALICE).open_notional == 300 * WAD + 3
    m.trade(ALICE, BOB, -WAD, price, price, T0)  # basis ceil((300e18 + 3) / 3) = exit: 0
    a = m.account(ALICE)
    assert (a.pnl, a.capital, a.open_notional, a.size) == (0, 10_000 * WAD, 200 * WAD + 2, 2 * WAD)
    low = 10**17 + 1
    m.touch([ALICE, BOB], low, T0)  # both marked to market at low first: entries floor(2e17 + 2)
    loss = 200 * WAD + 2 - (2 * 10**17 + 2)
    a, b = m.account(ALICE), m.account(BOB)
    assert (a.pnl, a.capital, a.open_notional) == (0, 10_000 * WAD - loss, 2 * 10**17 + 2)  # paid from capital
    assert (b.pnl, b.open_notional, b.warming) == (loss, -2 * 10**17 - 2, loss)  # fresh profit warms up
    m.trade(ALICE, BOB, -7, low, low, T0)  # exit floor(0.7000..007) = 0; basis ceil(0.7000..007) = 1
    a = m.account(ALICE)
    assert (a.pnl, a.capital, a.open_notional) == (0, 10_000 * WAD - loss - 1, 2 * 10**17 + 1)
    # bob's short: exit floor(-0.7000..007) = -1, basis ceil(-0.7000..007) = 0: loses 1 more;
    # the 2 wei between alice's loss and bob's gain stay in the market
    assert (m.account(BOB).pnl, m.pnl_pos_total) == (loss - 1, loss - 1)
    assert m.vault - m.capital_total - m.insurance == loss + 1


def test_flip__realises_old_side_and_opens_new_at_price():
    m = funded(ALICE, BOB, capital=20_000 * WAD, maker_fee=0, taker_fee=0)
    m.trade(ALICE, BOB, WAD, PRICE, PRICE, T0)
    m.trade(ALICE, BOB, -3 * WAD, PRICE + 1_000 * WAD, PRICE, T0)  # alice sells 3 at 61,000
    a, b = m.account(ALICE), m.account(BOB)
    assert (a.size, a.open_notional, a.pnl) == (-2 * WAD, -122_000 * WAD, 1_000 * WAD)
    assert (b.size, b.open_notional, b.capital) == (2 * WAD, 122_000 * WAD, 19_000 * WAD)
    assert m.pnl_pos_total == 1_000 * WAD
    assert m.open_interest() == (2 * WAD, 2 * WAD)


def test_deposit__pays_debt_first():
    m = funded(ALICE, capital=10 * WAD)
    m.accounts[ALICE].capital, m.capital_total = 0, 0
    m.accounts[ALICE].pnl = -(3 * WAD)
    m.deposit(ALICE, 5 * 10**6)
    assert (m.account(ALICE).capital, m.account(ALICE).pnl, m.capital_total) == (2 * WAD, 0, 2 * WAD)
    with pytest.raises(M.ZeroAmount):
        m.deposit(ALICE, 0)


# ------------------------------------------------------------------ funding settlement


def test_settle_funding__payer_rounds_up_receiver_toward_zero():
    m = funded(ALICE, BOB, maker_fee=0, taker_fee=0, min_position_size=1)
    m.trade(ALICE, BOB, 3, PRICE, PRICE, T0)
    m.funding.cumulative_index = 10**26  # 0.1 USD per base unit: 0.3 wei on 3 wei
    m.settle_funding(ALICE, PRICE, T0)
    m.settle_funding(BOB, PRICE, T0)
    assert m.account(ALICE).capital == 10_000 * WAD - 1  # pays ceil(0.3) = 1
    assert m.account(BOB).pnl == 0  # receives ceil(-0.3) = 0
    assert m.account(BOB).funding_snapshot == 10**26


def test_account_value__includes_pending_funding_rounded_against_account():
    m = funded(ALICE, BOB, maker_fee=0, taker_fee=0)
    m.trade(ALICE, BOB, WAD, PRICE, PRICE, T0)
    m.funding.rate = 10**14
    now = T0 + 8 * 3600
    assert m.account_value(ALICE, PRICE, now) == 10_000 * WAD - 6 * WAD
    assert m.account_value(BOB, PRICE, now) == 10_000 * WAD + 6 * WAD


def test_health_of__values_with_pending_funding_and_maintenance():
    m = funded(ALICE, BOB, maker_fee=0, taker_fee=0)
    m.trade(ALICE, BOB, WAD, PRICE, PRICE, T0)
    m.funding.rate = 10**14
    now = T0 + 8 * 3600
    sizes, values, maintenance = m.health_of([ALICE, BOB, CAROL], PRICE, now)
    assert sizes == [WAD, -WAD, 0]
    assert values == [9_994 * WAD, 10_006 * WAD, 0]
    assert maintenance == [3_000 * WAD, 3_000 * WAD, 0]
    assert values[:2] == [m.account_value(ALICE, PRICE, now), m.account_value(BOB, PRICE, now)]


# ------------------------------------------------------------------ margin


def test_trade__over_initial_margin_raises_and_leaves_state():
    m = funded(ALICE, BOB, capital=1_000 * WAD)
    before = repr(m)
    with pytest.raises(M.InsufficientMargin) as info:
        m.trade(ALICE, BOB, WAD, PRICE, PRICE, T0)
    # alice: 1,000 - 12 maker fee = 988 < 6,000 initial
    assert info.value.args == (ALICE, 988 * WAD, 6_000 * WAD)
    assert repr(m) == before


def test_margin_requirements__notional_at_mark_rounded_up():
    m = funded(ALICE, BOB)
    m.trade(ALICE, BOB, WAD // 10, PRICE, PRICE, T0)
    m.funding.record_quote(PRICE + 30, PRICE + 31, PRICE, block_number=1)  # MA30 +1 wei (30 / 30)
    # notional = ceil(0.1 x 60,000.000..001) = 6,000e18 + 1; x 10 % and x 5 % ceiled
    assert m.margin_requirements(ALICE, PRICE) == (600 * WAD + 1, 300 * WAD + 1)
    assert m.margin_requirements(CAROL, PRICE) == (0, 0)


@pytest.mark.parametrize(
    "old, new, up",
    [(0, 3, True), (5, 7, True), (5, 3, False), (5, -1, True), (-5, 1, True), (5, 0, False), (-5, 0, False)],
)
def test_increases_risk__growth_or_flip_but_not_close_to_zero(old, new, up):
    assert M.increases_risk(old, new) is up


def test_reduce_only__close_to_zero_is_allowed():
    m = funded(ALICE, BOB)
    m.trade(ALICE, BOB, -WAD // 10, PRICE, PRICE, T0)
    m.trade(BOB, ALICE, -WAD // 10, PRICE, PRICE, T0, taker_reduce_only=True)
    assert m.account(ALICE).size == 0


def test_reduce_only__growing_raises():
    m = funded(ALICE, BOB)
    with pytest.raises(M.ReduceOnlyViolated) as info:
        m.trade(ALICE, BOB, WAD // 10, PRICE, PRICE, T0, maker_reduce_only=True)
    assert info.value.args == (ALICE, 0, WAD // 10)


def test_trade__outside_band_or_cap_or_minimum_raises():
    m = funded(ALICE, BOB, max_open_interest=WAD // 10)
    with pytest.raises(M.FillPriceOutsideBand) as info:
        m.trade(ALICE, BOB, WAD // 10, PRICE * 105 // 100 + 1, PRICE, T0)
    assert info.value.args == (PRICE * 105 // 100 + 1, PRICE, 5 * WAD // 100)
    with pytest.raises(M.OpenInterestCapExceeded) as info:
        m.trade(ALICE, BOB, WAD // 10 + 1, PRICE, PRICE, T0)
    assert info.value.args == (True, WAD // 10 + 1, WAD // 10)
    with pytest.raises(M.PositionBelowMinimum) as info:
        m.trade(ALICE, BOB, WAD // 1000 - 1, PRICE, PRICE, T0)
    assert info.value.args == (ALICE, WAD // 1000 - 1, WAD // 1000)


# ------------------------------------------------------------------ haircut


@pytest.mark.parametrize(
    "vault, capital, insurance, positive, h",
    [
        (100, 90, 10, 0, WAD),  # no positive PnL
        (100, 50, 10, 40, WAD),  # residual covers it
        (100, 50, 10, 80, WAD // 2),
        (100, 50, 10, 120, WAD // 3),  # 40/120 rounded down
        (100, 95, 10, 1, 0),  # senior exceeds the vault: residual floors at 0
    ],
)
def test_haircut__bounded_and_rounded_down(vault, capital, insurance, positive, h):
    assert M.haircut(vault, capital, insurance, positive) == h


@given(st.integers(0, 2**100), st.integers(0, 2**100), st.integers(0, 2**100), st.integers(0, 2**100))
def test_haircut__always_between_zero_and_one(vault, capital, insurance, positive):
    assert 0 <= M.haircut(vault, capital, insurance, positive) <= WAD


def test_withdraw__realises_only_the_profit_needed_at_haircut_rounded_against_the_claimant():
    m = M.MarketState(collateral_scale=1, funding=M.FundingState(last_accrual=T0))  # 18 decimals
    m.deposit(ALICE, 100)
    m.accounts[ALICE].pnl, m.pnl_pos_total, m.vault = 30, 30, 110  # residual 10 of 30
    assert m.haircut() == WAD // 3
    m.withdraw(ALICE, 60, PRICE, T0)  # capital alone suffices: PnL untouched
    assert (m.account(ALICE).capital, m.account(ALICE).pnl) == (40, 30)
    with pytest.raises(M.InsufficientCapital) as info:
        m.withdraw(ALICE, 50, PRICE, T0)
    assert info.value.args == (ALICE, 50, 49)  # 30 x 0.333.. = 9.99.. rounded down to 9
    assert m.account(ALICE).pnl == 30  # the refusal changed nothing
    m.withdraw(ALICE, 45, PRICE, T0)  # 5 short: ceil(5 / h) = 16 of PnL buys exactly 5 of capital
    assert (m.account(ALICE).capital, m.account(ALICE).pnl, m.pnl_pos_total) == (0, 14, 14)
    assert (m.capital_total, m.vault, m.haircut()) == (0, 5, 5 * WAD // 14)


# ------------------------------------------------------------------ liquidation


def test_liquidation_fee__capped_at_share_of_value():
    assert M.liquidation_fee(WAD, 2 * WAD, 10_000 * WAD, PRICE, WAD // 100) == 600 * WAD
    assert M.liquidation_fee(WAD, 2 * WAD, 1_000 * WAD, PRICE, WAD // 100) == 500 * WAD
    assert M.liquidation_fee(1, 3, 100, 1, WAD) == 1  # min(ceil(1e-18), floor(100/3)) = 1
    assert M.liquidation_fee(WAD, WAD, -5, PRICE, WAD // 100) == 0


def test_liquidate__refusals_raise_with_contract_args():
    m = funded(ALICE, BOB, KEEPER, maker_fee=0, taker_fee=0)
    m.trade(ALICE, BOB, WAD, PRICE, PRICE, T0)
    with pytest.raises(M.SelfLiquidation) as info:
        m.liquidate(ALICE, ALICE, WAD, PRICE, T0)
    assert info.value.args == (ALICE,)
    for amount in (0, WAD + 1):
        with pytest.raises(M.InvalidLiquidationAmount) as info:
            m.liquidate(KEEPER, ALICE, amount, PRICE, T0)
        assert info.value.args == (amount, WAD)
    with pytest.raises(M.NotLiquidatable) as info:
        m.liquidate(KEEPER, ALICE, WAD, PRICE, T0)
    assert info.value.args == (ALICE, 10_000 * WAD, 3_000 * WAD)


def test_liquidate__partial_must_restore_health_and_raises_margin_ratio():
    m = funded(ALICE, BOB, KEEPER, capital=7_000 * WAD, maker_fee=0, taker_fee=0)
    m.trade(ALICE, BOB, WAD, PRICE, PRICE, T0)
    low = 54_000 * WAD  # alice: value 7,000 - 6,000 = 1,000 < maintenance 2,700
    assert m.is_liquidatable(ALICE, low, T0)
    with pytest.raises(M.PartialLiquidationUnhealthy) as refused:  # half: 1,000 - 270 < 1,350
        m.liquidate(KEEPER, ALICE, WAD // 2, low, T0)
    assert refused.value.args == (ALICE, 730 * WAD, 1_350 * WAD)
    assert m.account(ALICE).size == WAD  # nothing changed
    liq = m.liquidate(KEEPER, ALICE, 9 * WAD // 10, low, T0)
    assert (liq.fee, liq.reward) == (486 * WAD, 243 * WAD)  # 1 % of 48,600 (cap 900), half each
    a = m.account(ALICE)
    assert (a.size, a.capital, a.pnl, a.open_notional) == (WAD // 10, 514 * WAD, 0, 5_400 * WAD)
    assert (m.account(KEEPER).capital, m.insurance) == (7_243 * WAD, 243 * WAD)
    value, maintenance = m.account_value(ALICE, low, T0), m.margin_requirements(ALICE, low)[1]
    assert (value, maintenance) == (514 * WAD, 270 * WAD)  # healthy again
    assert value * 2_700 > 1_000 * maintenance  # 514 / 270 > 1,000 / 2,700
    with pytest.raises(M.NotLiquidatable):
        m.liquidate(KEEPER, ALICE, WAD // 10, low, T0)
    assert m.open_interest() == (WAD, WAD)


def test_liquidate__fee_capped_at_value_share():
    m = funded(ALICE, BOB, KEEPER, capital=6_200 * WAD, maker_fee=0, taker_fee=0)
    m.trade(ALICE, BOB, WAD, PRICE, PRICE, T0)
    low = 54_000 * WAD  # value 200 < uncapped fee 540
    liq = m.liquidate(KEEPER, ALICE, WAD, low, T0)
    assert (liq.fee, liq.reward) == (200 * WAD, 100 * WAD)
    assert m.account(ALICE) == M.Account(0, 0, 0, 0, 0)


def test_liquidate__bad_debt_paid_by_insurance_then_haircut():
    m = funded(ALICE, BOB, CAROL, KEEPER, capital=7_000 * WAD, maker_fee=0, taker_fee=0)
    m.trade(ALICE, BOB, WAD, PRICE, PRICE, T0)
    m.insurance, m.vault = 500 * WAD, m.vault + 500 * WAD
    low = 52_000 * WAD  # alice: loss 8,000 on 7,000 capital: value -1,000, so no fee
    liq = m.liquidate(KEEPER, ALICE, WAD, low, T0)
    assert (liq.fee, liq.reward, liq.mark) == (0, 0, low)
    assert m.account(ALICE) == M.Account(0, 0, 0, 0, 0)
    assert m.insurance == 0  # paid 500 of the 1,000 debt, 500 written off
    assert (m.haircut(), m.bad_debt) == (WAD, 500 * WAD)  # no positive PnL realised yet
    m.trade(CAROL, BOB, -WAD, low, low, T0)  # bob closes his short: +8,000 against 7,500 residual
    assert (m.account(BOB).pnl, m.pnl_pos_total, m.warming_total) == (8_000 * WAD, 8_000 * WAD, 8_000 * WAD)
    assert (m.coverage(), m.haircut()) == (WAD * 15 // 16, WAD)  # h once it has matured
    later = T0 + m.params.warmup_period
    m.touch([BOB], low, later)
    assert (m.warming_total, m.haircut()) == (0, WAD * 15 // 16)
    assert m.account_value(BOB, low, later) == 15_000 * WAD  # 7,000 + 8,000: maintenance equity, no haircut


# ------------------------------------------------------------------ conservation


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([ALICE, BOB, CAROL]),
            st.sampled_from([ALICE, BOB, CAROL]),
            st.integers(-3 * WAD, 3 * WAD),
            st.integers(57_000, 63_000),
        ),
        max_size=12,
    )
)
def test_random_trades__open_interest_balanced_and_capital_conserved(trades):
    m = funded(ALICE, BOB, CAROL, capital=50_000 * WAD)
    for maker, taker, delta, usd in trades:
        if maker == taker or delta == 0:
            continue
        try:
            m.trade(maker, taker, delta, usd * WAD, PRICE, T0)
        except M.ModelRevert:
            pass
    longs, shorts = m.open_interest()
    assert longs == shorts == sum(a.size for a in m.accounts.values() if a.size > 0)
    assert m.capital_total == sum(a.capital for a in m.accounts.values())
    assert m.pnl_pos_total == sum(a.pnl for a in m.accounts.values() if a.pnl > 0)
    assert m.vault == 150_000 * WAD
