"""Pure unit tests of the multi-collateral part of `perpkit.model` (no chain): the pool's registry
and bounds, valuation rounding, the margin fallback and the failed-oracle waiver, withdrawals,
liquidation with collateral, `liquidate_collateral` (seizure order and rounding, bad debt once
the collateral is gone), and that an account without collateral behaves exactly as before.

Expected values are worked out by hand from the formulas, not read back from the model."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perpkit import model as M
from perpkit.model import WAD

ALICE, BOB, CAROL, KEEPER = "alice", "bob", "carol", "keeper"
WETH, WBTC = "0x" + "e7" * 20, "0x" + "b7" * 20
ETH_ORACLE, BTC_ORACLE = "0x" + "0e" * 20, "0x" + "0b" * 20
PRICE = 60_000 * WAD
T0 = 1_700_000_000
PRICES = {ETH_ORACLE: 3_000 * WAD, BTC_ORACLE: 60_000 * WAD}
NO_ETH = {BTC_ORACLE: 60_000 * WAD}  # the WETH oracle fails
ETH_PARAMS = M.CollateralParams(80 * WAD // 100, 5 * WAD // 100, 100 * WAD)  # cap 100 WETH
BTC_PARAMS = M.CollateralParams(70 * WAD // 100, 10 * WAD // 100, 5 * 10**8)  # cap 5 WBTC


def pooled(*who, capital=100_000 * WAD, **params) -> M.MarketState:
    """A market with `capital` for each of `who`, and WETH (18 decimals) then WBTC (8) registered."""
    m = M.MarketState(params=M.MarketParams(**params), funding=M.FundingState(last_accrual=T0))
    for w in who:
        m.deposit(w, capital // m.collateral_scale)
    m.set_collateral(WETH, ETH_ORACLE, ETH_PARAMS, 18, PRICES)
    m.set_collateral(WBTC, BTC_ORACLE, BTC_PARAMS, 8, PRICES)
    return m


def raises(error, call, *args, **kw) -> tuple:
    """The arguments of the `error` that `call` raises."""
    with pytest.raises(error) as info:
        call(*args, **kw)
    return info.value.args


# ------------------------------------------------------------------ registry and bounds


def test_set_collateral__registers_in_order_with_scale_and_updates_params():
    m = pooled()
    assert m.pool.tokens == [WETH, WBTC]
    assert m.pool.collateral_of(WETH) == (ETH_ORACLE, (8 * WAD // 10, 5 * WAD // 100, 100 * WAD), 1, 0)
    assert m.pool.collateral_of(WBTC) == (BTC_ORACLE, (7 * WAD // 10, WAD // 10, 5 * 10**8), 10**10, 0)
    m.set_collateral(WETH, ETH_ORACLE, M.CollateralParams(0, WAD // 100, 1), 18, PRICES)  # delist
    assert m.pool.tokens == [WETH, WBTC]
    assert m.pool.collateral_of(WETH)[1] == (0, WAD // 100, 1)


@pytest.mark.parametrize(
    "params, expected",
    [
        ((0, WAD // 100 - 1, 1), (b"liquidationDiscount", WAD // 100 - 1, WAD // 100, WAD // 5)),
        ((0, WAD // 5 + 1, 1), (b"liquidationDiscount", WAD // 5 + 1, WAD // 100, WAD // 5)),
        ((90 * WAD // 100 + 1, WAD // 10, 1), (b"weight", 90 * WAD // 100 + 1, 0, 90 * WAD // 100)),
        ((99 * WAD // 100 + 1, WAD // 100, 1), (b"weight", 99 * WAD // 100 + 1, 0, 99 * WAD // 100)),
        ((0, WAD // 10, 0), (b"cap", 0, 1, 2**128 - 1)),
        ((WAD, 0, 0), (b"liquidationDiscount", 0, WAD // 100, WAD // 5)),  # discount first, then weight, cap
    ],
)
def test_set_collateral__bounds_checked_in_order(params, expected):
    m = pooled()
    name, *rest = expected
    assert raises(M.ParamOutOfBounds, m.set_collateral, WETH, ETH_ORACLE, M.CollateralParams(*params), 18, PRICES) == (
        name.ljust(32, b"\0"), *rest)


def test_set_collateral__refusals():
    m = M.MarketState(settlement_token="0x" + "5e" * 20)
    assert raises(M.ZeroAddress, m.set_collateral, WETH, M.ZERO_ADDRESS, ETH_PARAMS, 18, PRICES) == ()
    assert raises(M.OracleUnavailable, m.set_collateral, WETH, ETH_ORACLE, ETH_PARAMS, 18, NO_ETH) == (ETH_ORACLE,)
    assert m.pool is None  # a refused call creates no pool
    settlement = "0x" + "5E" * 20
    assert raises(M.SettlementTokenAsCollateral, m.set_collateral, settlement, ETH_ORACLE, ETH_PARAMS, 6, PRICES) == (
        settlement,)
    assert raises(M.CollateralDecimalsUnsupported, m.set_collateral, WETH, ETH_ORACLE, ETH_PARAMS, 19, PRICES) == (19,)
    for i in range(8):
        m.set_collateral("0x%040x" % (i + 1), ETH_ORACLE, ETH_PARAMS, 18, PRICES)
    assert raises(M.TooManyCollaterals, m.set_collateral, WETH, ETH_ORACLE, ETH_PARAMS, 18, PRICES) == (8,)
    m.set_collateral("0x%040x" % 1, ETH_ORACLE, ETH_PARAMS, 6, PRICES)  # an update is no new token


# ------------------------------------------------------------------ deposits and valuation


def test_deposit_collateral__cap_on_the_new_total_and_refusals():
    m = pooled(ALICE)
    m.deposit_collateral(ALICE, WBTC, 4 * 10**8)
    assert raises(M.CollateralCapExceeded, m.deposit_collateral, BOB, WBTC, 10**8 + 1) == (WBTC, 5 * 10**8 + 1, 5 * 10**8)
    m.deposit_collateral(BOB, WBTC, 10**8)  # exactly the cap
    assert (m.pool.collateral[WBTC].total, m.pool.balance_of(BOB, WBTC)) == (5 * 10**8, 10**8)
    assert raises(M.ZeroAmount, m.deposit_collateral, ALICE, WETH, 0) == ()
    assert raises(M.UnknownCollateral, m.deposit_collateral, ALICE, "0x" + "99" * 20, 1) == ("0x" + "99" * 20,)
    assert raises(M.UnknownCollateral, M.MarketState().deposit_collateral, ALICE, WETH, 1) == (M.ZERO_ADDRESS,)
    assert m.account(ALICE).capital == 100_000 * WAD  # the settlement side is untouched


def test_value_of__balance_times_price_then_weight_each_rounded_down():
    m = pooled()
    m.deposit_collateral(ALICE, WBTC, 12_345_679)  # 0.12345679 WBTC
    m.deposit_collateral(ALICE, WETH, 3)  # 3 wei of WETH
    prices = {BTC_ORACLE: 60_000 * WAD + 123_456_789, ETH_ORACLE: 3_000 * WAD + 1}
    btc_usd = 12_345_679 * 10**10 * (60_000 * WAD + 123_456_789) // WAD  # 7,407.4074 USD, floored
    btc = btc_usd * 7 // 10
    eth = (3 * (3_000 * WAD + 1) // WAD) * 8 // 10  # 9,000 wei floored -> 7,200 wei
    assert eth == 7_200
    assert m.pool.value_of(ALICE, prices) == (btc + eth, True)
    assert m.pool.balances_of(ALICE, prices) == ((WETH, WBTC), (3, 12_345_679), (eth, btc), (True, True))
    assert m.pool.held_mask(ALICE) == 0b11


def test_value_of__failed_oracle_counts_zero_and_weight_zero_needs_no_price():
    m = pooled()
    m.deposit_collateral(ALICE, WETH, WAD)
    m.deposit_collateral(ALICE, WBTC, 10**8)
    assert m.pool.value_of(ALICE, PRICES) == (2_400 * WAD + 42_000 * WAD, True)
    assert m.pool.value_of(ALICE, NO_ETH) == (42_000 * WAD, False)
    m.set_collateral(WETH, ETH_ORACLE, M.CollateralParams(0, WAD // 20, 100 * WAD), 18, PRICES)  # delisted
    assert m.pool.value_of(ALICE, NO_ETH) == (42_000 * WAD, True)  # weight 0: no price needed
    assert m.pool.value_of(BOB, {}) == (0, True)


def test_chainlink_feed__price_at_fails_when_stale_zero_future_or_reverting():
    feed = M.ChainlinkFeed(3_000 * 10**8, T0, heartbeat=3_600)
    assert feed.price_at(T0 + 3_600) == 3_000 * WAD  # exactly the heartbeat old: still fresh
    assert feed.price_at(T0 + 3_601) is None
    assert feed.price_at(T0 - 1) is None  # updated in the future
    assert M.ChainlinkFeed(0, T0).price_at(T0) is None
    assert M.ChainlinkFeed(1, T0, reverting=True).price_at(T0) is None
    assert M.try_price({ETH_ORACLE: 0}, ETH_ORACLE) == (False, 0)


# ------------------------------------------------------------------ margin with collateral


def collateral_long(**params) -> M.MarketState:
    """alice: 1,000 USD capital and 1 WETH (2,400 of margin), long 0.5 BTC at 60,000 from bob."""
    m = pooled(BOB, KEEPER, **params)
    m.deposit(ALICE, 1_000 * 10**6)
    m.deposit_collateral(ALICE, WETH, WAD)
    m.trade(BOB, ALICE, -WAD // 2, PRICE, PRICE, T0, PRICES)
    return m


def test_trade__collateral_counts_only_when_capital_falls_short():
    m = collateral_long()
    a = m.account(ALICE)
    assert (a.size, a.capital) == (WAD // 2, 985 * WAD)  # 15 of taker fee
    # initial margin 3,000 on 30,000: 985 alone is short, 985 + 2,400 is enough; without
    # collateral the same fill is refused with the settlement value alone
    bare = pooled(BOB)
    bare.deposit(ALICE, 1_000 * 10**6)
    assert raises(M.InsufficientMargin, bare.trade, BOB, ALICE, -WAD // 2, PRICE, PRICE, T0, PRICES) == (
        ALICE, 985 * WAD, 3_000 * WAD)
    # more risk: the refusal reports the value with the collateral
    assert raises(M.InsufficientMargin, m.trade, BOB, ALICE, -WAD // 2, PRICE, PRICE, T0, PRICES) == (
        ALICE, 970 * WAD + 2_400 * WAD, 6_000 * WAD)


def test_trade__failed_oracle_waives_a_reduction_but_not_new_risk():
    m = collateral_long()
    # the WETH oracle fails: 985 of value against 1,200 of maintenance on the 0.4 BTC left
    m.trade(BOB, ALICE, WAD // 10, PRICE, PRICE, T0, NO_ETH)  # alice sells 0.1: waived
    assert m.account(ALICE).size == 4 * WAD // 10
    assert m.account(ALICE).capital == 982 * WAD
    # new risk with the oracle failed counts the collateral at zero
    before = copy.deepcopy(m)
    assert raises(M.InsufficientMargin, m.trade, BOB, ALICE, -WAD // 100, PRICE, PRICE, T0, NO_ETH) == (
        ALICE, 982 * WAD - 3 * WAD // 10, 2_460 * WAD)
    assert m == before  # atomic


def test_trade__reduction_short_with_priced_collateral_is_refused():
    m = collateral_long()
    low = 56_000 * WAD  # alice: 985 - 2,000 + 2,400 of margin
    cheap = {ETH_ORACLE: 100 * WAD, BTC_ORACLE: PRICE}  # WETH counts 80
    # sells 0.1 at 56,000: realises -400, fee 2.8; value 985 - 400 - 2.8 - 1,600 (unrealised on
    # 0.4) + 80 = -937.8 against maintenance 0.4 x 56,000 x 5 % = 1,120
    args = raises(M.InsufficientMargin, m.trade, BOB, ALICE, WAD // 10, low, low, T0, cheap)
    assert args == (ALICE, -9378 * WAD // 10, 1_120 * WAD)


def test_withdraw_settlement__open_position_keeps_initial_margin_with_collateral():
    m = collateral_long()
    # 985 + 2,400 = 3,385 against 3,000: 385 can go, one unit more cannot
    assert raises(M.InsufficientMargin, m.withdraw, ALICE, 385 * 10**6 + 1, PRICE, T0, PRICES) == (
        ALICE, 3_000 * WAD - 10**12, 3_000 * WAD)
    m.withdraw(ALICE, 385 * 10**6, PRICE, T0, PRICES)
    assert m.account(ALICE).capital == 600 * WAD


# ------------------------------------------------------------------ collateral withdrawals


def test_withdraw_collateral__open_position_keeps_initial_margin():
    m = collateral_long()
    # 985 + 0.8 x 3,000 x w left >= 3,000: at most 0.15625 WETH may leave (2,015 / 2,400 stays)
    keep = (3_000 * WAD - 985 * WAD) * WAD // (2_400 * WAD)  # 0.8395833... WETH, floored
    amount = WAD - keep - 1  # leaves one wei less than needed
    value = 985 * WAD + (keep + 1) * 3_000 * 8 // 10
    assert value >= 3_000 * WAD
    m.withdraw_collateral(ALICE, WETH, amount, PRICE, T0, PRICES)
    args = raises(M.InsufficientMargin, m.withdraw_collateral, ALICE, WETH, 2, PRICE, T0, PRICES)
    assert args == (ALICE, 985 * WAD + (keep - 1) * 3_000 * 8 // 10, 3_000 * WAD)
    m.paused = True
    assert raises(M.MarketPaused, m.withdraw_collateral, ALICE, WETH, 1, PRICE, T0, PRICES) == (0,)
    assert raises(M.InsufficientCollateral, m.withdraw_collateral, ALICE, WETH, WAD, PRICE, T0, PRICES) == (
        ALICE, WETH, WAD, keep + 1)
    assert raises(M.ZeroAmount, m.withdraw_collateral, ALICE, WETH, 0, PRICE, T0, PRICES) == ()


def test_withdraw_collateral__flat_without_debt_always_leaves_even_with_failed_oracles():
    m = pooled(ALICE)
    m.deposit_collateral(ALICE, WETH, WAD)
    m.deposit_collateral(ALICE, WBTC, 10**8)
    m.withdraw_collateral(ALICE, WETH, WAD, PRICE, T0, {})
    m.withdraw_collateral(ALICE, WBTC, 10**8, PRICE, T0, {})
    assert (m.pool.holds(ALICE), m.pool.collateral[WETH].total, m.pool.collateral[WBTC].total) == (False, 0, 0)


def liquidated_with_debt() -> M.MarketState:
    """`collateral_long` after WETH-backed losses: at 56,000 alice is liquidated in full, her loss
    of 2,000 takes her 985 of capital and leaves 1,015 of debt backed by 1 WETH."""
    m = collateral_long()
    low = 56_000 * WAD
    # value 985 - 2,000 + 2,400 = 1,385 < maintenance 1,400
    assert m.is_liquidatable(ALICE, low, T0, PRICES)
    liq = m.liquidate(KEEPER, ALICE, WAD // 2, low, T0, PRICES)
    # the fee (1 % of 28,000, under the value share 1,385) is charged only as far as capital and
    # positive PnL cover it after the takeover: nothing is left, so no fee
    assert (liq.fee, liq.reward) == (0, 0)
    assert m.account(ALICE) == M.Account(0, -1_015 * WAD, 0, 0, 0)  # not bad debt: WETH backs it
    assert m.insurance == 21 * WAD  # the trading fees: alice 15, bob 6
    return m


def test_liquidate__debt_waits_while_collateral_backs_it():
    m = liquidated_with_debt()
    assert m.account_value(ALICE, PRICE, T0, prices=PRICES) == 1_385 * WAD
    assert m.account(KEEPER).size == WAD // 2


def test_withdraw_collateral__flat_in_debt_keeps_it_backed_without_waiver():
    m = liquidated_with_debt()
    m.withdraw_collateral(ALICE, WETH, WAD // 2, PRICE, T0, PRICES)  # 1,200 left for 1,015
    assert raises(M.InsufficientMargin, m.withdraw_collateral, ALICE, WETH, WAD // 10, PRICE, T0, PRICES) == (
        ALICE, -55 * WAD, 0)
    assert raises(M.InsufficientMargin, m.withdraw_collateral, ALICE, WETH, 1, PRICE, T0, NO_ETH) == (
        ALICE, -1_015 * WAD, 0)


# ------------------------------------------------------------------ liquidate_collateral


def test_liquidate_collateral__partial_rounds_units_down_clearing_rounds_up():
    m = liquidated_with_debt()
    keeper_capital = m.account(KEEPER).capital
    # unit price 3,000 x 0.95 = 2,850; 500 buys floor(500 / 2,850 WETH) and pays their cost, up
    units = 500 * WAD * WAD // (2_850 * WAD)
    cost = -(-units * 2_850 * WAD // WAD)
    assert (units, cost) == (175_438_596_491_228_070, 499_999_999_999_999_999_500)
    out = m.liquidate_collateral(KEEPER, ALICE, 500 * WAD, PRICE, T0, PRICES)
    assert out == M.CollateralLiquidation(cost, -1_015 * WAD + cost, (M.Seizure(WETH, units, cost, 3_000 * WAD),), 0)
    assert (m.pool.balance_of(ALICE, WETH), m.pool.balance_of(KEEPER, WETH)) == (WAD - units, units)
    assert m.account(KEEPER).capital == keeper_capital - cost
    # the rest of the debt in full: the last unit rounded up, the cost is exactly the debt
    debt = 1_015 * WAD - cost
    units2 = -(-debt * WAD // (2_850 * WAD))
    out = m.liquidate_collateral(KEEPER, ALICE, 10**30, PRICE, T0, PRICES)
    assert out == M.CollateralLiquidation(debt, 0, (M.Seizure(WETH, units2, debt, 3_000 * WAD),), 0)
    assert m.account(ALICE) == M.Account(0, 0, 0, 0, 0)
    assert m.pool.balance_of(ALICE, WETH) == WAD - units - units2
    assert m.capital_total == sum(a.capital for a in m.accounts.values())
    assert raises(M.NoDebt, m.liquidate_collateral, KEEPER, ALICE, 1, PRICE, T0, PRICES) == (ALICE,)


def test_liquidate_collateral__lowest_weight_first_then_bad_debt_once_none_is_left():
    m = liquidated_with_debt()
    m.deposit_collateral(ALICE, WBTC, 1_000)  # 0.00001 WBTC: 0.6 USD, weight 0.7 < WETH's 0.8
    prices = {ETH_ORACLE: 100 * WAD, BTC_ORACLE: PRICE}  # WETH collapses: 1 WETH buys 95
    out = m.liquidate_collateral(KEEPER, ALICE, 10**30, PRICE, T0, prices)
    btc_cost = -(-1_000 * 10**10 * (PRICE * 9 // 10) // WAD)  # 0.54: all of it
    eth_cost = 95 * WAD
    assert out.sales == (M.Seizure(WBTC, 1_000, btc_cost, PRICE), M.Seizure(WETH, WAD, eth_cost, 100 * WAD))
    bad = 1_015 * WAD - btc_cost - eth_cost
    assert out == M.CollateralLiquidation(btc_cost + eth_cost, 0, out.sales, bad)
    assert m.account(ALICE).pnl == 0 and not m.pool.holds(ALICE)
    assert m.insurance == 0  # paid 21 of it, the rest written off


def test_liquidate_collateral__failed_oracle_skipped_and_ties_by_index():
    m = liquidated_with_debt()
    m.deposit_collateral(ALICE, WBTC, 10**6)  # 600 USD
    assert raises(M.NothingToSeize, m.liquidate_collateral, KEEPER, ALICE, WAD, PRICE, T0, {}) == (ALICE,)
    out = m.liquidate_collateral(KEEPER, ALICE, WAD, PRICE, T0, NO_ETH)  # WETH skipped: WBTC sold
    assert [s.token for s in out.sales] == [WBTC]
    m.set_collateral(WBTC, BTC_ORACLE, M.CollateralParams(8 * WAD // 10, WAD // 10, 5 * 10**8), 8, PRICES)
    out = m.liquidate_collateral(KEEPER, ALICE, WAD, PRICE, T0, PRICES)  # equal weights: WETH first
    assert [s.token for s in out.sales] == [WETH]


def test_liquidate_collateral__refusals_with_contract_args():
    m = liquidated_with_debt()
    assert raises(M.SelfLiquidation, m.liquidate_collateral, ALICE, ALICE, 1, PRICE, T0, PRICES) == (ALICE,)
    assert raises(M.ZeroAmount, m.liquidate_collateral, KEEPER, ALICE, 0, PRICE, T0, PRICES) == ()
    assert raises(M.NothingToSeize, M.MarketState().liquidate_collateral, KEEPER, ALICE, 1, PRICE, T0) == (ALICE,)
    assert raises(M.NoDebt, m.liquidate_collateral, ALICE, KEEPER, 1, PRICE, T0, PRICES) == (KEEPER,)
    # CAROL has no capital: she cannot pay for what the pool would sell her
    units = 1_015 * WAD * WAD // (2_850 * WAD)
    assert raises(M.InsufficientCapital, m.liquidate_collateral, CAROL, ALICE, 1_015 * WAD - 1, PRICE, T0, PRICES) == (
        CAROL, -(-units * 2_850 * WAD // WAD), 0)


def test_liquidate_collateral__open_account_must_be_under_maintenance():
    m = collateral_long()
    a = m.accounts[ALICE]  # a debt on an open account: its capital is gone, 1 USD more is owed
    m.capital_total -= a.capital
    a.capital, a.pnl = 0, -WAD
    args = raises(M.NotLiquidatable, m.liquidate_collateral, KEEPER, ALICE, WAD, PRICE, T0, PRICES)
    assert args == (ALICE, 2_399 * WAD, 1_500 * WAD)
    low = 57_000 * WAD  # -1 - 1,500 + 2,400 = 899 < 1,425: one WETH unit sale is allowed
    out = m.liquidate_collateral(KEEPER, ALICE, WAD, low, T0, PRICES)
    # the touch marked her to market first: the 1,500 loss joined the debt; a partial repayment
    # of 1 USD buys whole WETH units only (rounded down), 400 wei short of 1 USD
    assert out.repaid == WAD - 400
    assert (m.account(ALICE).pnl, m.account(ALICE).size) == (-1_501 * WAD + out.repaid, WAD // 2)


# ------------------------------------------------------------------ accounts without collateral


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([ALICE, BOB, CAROL]),
            st.sampled_from([ALICE, BOB, CAROL]),
            st.integers(-4 * WAD, 4 * WAD),
            st.integers(52_000, 66_000),
        ),
        max_size=12,
    )
)
def test_without_collateral__a_market_with_a_pool_behaves_as_one_without(steps):
    """The same trades, price moves and liquidations on a market with an empty pool and on one
    with no pool: the same states and the same refusals, to the wei."""
    plain = M.MarketState(funding=M.FundingState(last_accrual=T0))
    for w in (ALICE, BOB, CAROL, KEEPER):
        plain.deposit(w, 10_000 * 10**6)
    with_pool = copy.deepcopy(plain)
    with_pool.set_collateral(WETH, ETH_ORACLE, ETH_PARAMS, 18, PRICES)
    for maker, taker, delta, usd in steps:
        index = usd * WAD
        outcomes = []
        for m in (plain, with_pool):
            try:
                if maker == taker:
                    out = m.liquidate(KEEPER, maker, abs(m.account(maker).size) or 1, index, T0, PRICES)
                else:
                    out = m.trade(maker, taker, delta or 1, index, index, T0, PRICES)
            except M.ModelRevert as refusal:
                out = repr(refusal)
            outcomes.append(out)
        assert outcomes[0] == outcomes[1]
        assert plain.accounts == with_pool.accounts
        assert (plain.vault, plain.capital_total, plain.insurance, plain.pnl_pos_total) == (
            with_pool.vault, with_pool.capital_total, with_pool.insurance, with_pool.pnl_pos_total)
