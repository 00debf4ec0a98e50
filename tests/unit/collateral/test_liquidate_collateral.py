"""PerpMarket.liquidateCollateral: debt left by a liquidation waits for the collateral (no bad debt),
a keeper buys the collateral at the discount (exact amounts from CollateralPool's formula), lowest
weight first, failed oracles skipped, partial repayments, bad debt once the collateral is gone, the
refusals, and the pool's per-token accounting through it all."""

import pytest

from tests.conftest import WAD, funding_params, market_params
from tests.unit.collateral.conftest import (
    DEBT,
    KEEPER_CAPITAL,
    MARKET_ID,
    PARAMS,
    deposit,
    fund,
    make_stale,
    open_long,
    reverts,
    seize_one,
    set_btc,
    usd,
    value_of,
)

HALF = WAD // 2
MAX = 2**256 - 1
WETH_PRICE = 3_000 * WAD
DISCOUNT = 5 * WAD // 100  # WETH's and WBTC's


def _seized(receipt, cx):
    events = receipt.events.filter(cx.pool.CollateralSeized)
    return [(e.account, e.liquidator, e.token, e.amount, e.repaid, e.price) for e in events]


def _repaid(receipt, cx):
    return [(e.account, e.payer, e.repaid, e.pnl) for e in receipt.events.filter(cx.market.DebtRepaid)]


# ---------------------------------------------------------------- one token: the `in_debt` account


def test_liquidate__debt_backed_by_collateral_is_no_bad_debt(in_debt, alice):
    cx = in_debt
    assert list(cx.liquidation.events.filter(cx.market.BadDebt)) == []
    assert cx.market.insuranceFund() == 0
    assert cx.pool.balanceOf(alice, cx.collaterals["WETH"].token) == WAD
    assert cx.market.accountValue(alice) == usd(2_400) - DEBT
    assert not cx.market.isLiquidatable(alice)  # flat: only liquidateCollateral applies


def test_liquidate__fee_charged_to_a_collateral_backed_account_is_credited(in_debt, alice, keeper):
    """The fee (285, under the value cap that counts the collateral) is charged only as far as capital
    and positive PnL cover it after the takeover: the 1,500 loss took all 600 of alice's capital, so
    nothing is charged - her debt is the loss less her capital exactly - and nothing is credited."""
    cx = in_debt
    [event] = cx.liquidation.events.filter(cx.market.Liquidation)
    charged = DEBT - (usd(1_500) - usd(600))  # debt beyond the realised loss less capital
    assert charged == 0
    # every wei charged as a fee goes to the liquidator or the insurance fund (empty before)
    reward = cx.market.capitalOf(keeper) - KEEPER_CAPITAL
    assert (event.fee, event.liquidatorReward, reward + cx.market.insuranceFund()) == (charged, 0, charged)
    assert [e.insurance for e in cx.liquidation.events.filter(cx.market.InsuranceChanged)] == [0]


def test_liquidate__fee_capped_at_the_capital_left_after_the_takeover(at_imr, alice, keeper):
    """BTC 58,900 and WETH 2,800: alice's value 600 - 550 + 2,240 = 2,290 < maintenance 2,356. The
    fee, 1 % of 0.5 x 58,900 = 294.5 (under the value cap 2,290), is charged only up to the 50 of
    capital the 550 loss leaves her (her PnL is then 0): 50, split 25 / 25. No debt is left."""
    cx, weth = at_imr, at_imr.collaterals["WETH"]
    fund(cx, keeper, KEEPER_CAPITAL)
    set_btc(cx, 58_900)
    weth.set_price(2_800)
    assert cx.market.accountValue(alice) == usd(2_290)
    assert cx.market.marginRequirements(alice)[1] == usd(2_356)
    insurance = cx.market.insuranceFund()

    receipt = cx.market.liquidate(alice, HALF, sender=keeper)
    [event] = receipt.events.filter(cx.market.Liquidation)
    assert (event.account, event.liquidator, event.amount, event.markPrice, event.fee, event.liquidatorReward) == (
        alice.address,
        keeper.address,
        HALF,
        usd(58_900),
        usd(50),
        usd(25),
    )
    # charged == credited: what alice lost beyond the 550 is what the keeper and the fund gained
    assert (cx.market.capitalOf(alice), cx.market.pnlOf(alice), cx.market.positionOf(alice)[0]) == (0, 0, 0)
    assert cx.market.capitalOf(keeper) == KEEPER_CAPITAL + usd(25)
    assert cx.market.insuranceFund() - insurance == usd(25)
    assert list(receipt.events.filter(cx.market.BadDebt)) == []
    assert cx.pool.balanceOf(alice, weth.token) == WAD  # owing nothing, the WETH stays hers
    with reverts(cx.market.NoDebt, account=alice.address):
        cx.market.liquidateCollateral(alice, MAX, sender=keeper)


def test_liquidate_collateral__keeper_buys_at_the_discount(in_debt, alice, keeper):
    cx, weth = in_debt, in_debt.collaterals["WETH"]
    capital_total = cx.market.capitalTotal()
    # unit price 3,000 x 0.95 = 2,850: 900 / 2,850 WETH, rounded up to the wei (the sale clears the
    # debt); the units cost 1,950 wei more than the debt, which is all they are charged
    amount, cost = seize_one(WAD, 1, WETH_PRICE, DISCOUNT, DEBT, clears_debt=True)
    assert (amount, cost) == (315_789_473_684_210_527, DEBT)
    assert amount * 2_850 == DEBT + 1_950

    receipt = cx.market.liquidateCollateral(alice, MAX, sender=keeper)
    assert _seized(receipt, cx) == [(alice.address, keeper.address, weth.token.address, amount, DEBT, WETH_PRICE)]
    assert _repaid(receipt, cx) == [(alice.address, keeper.address, DEBT, 0)]
    assert list(receipt.events.filter(cx.market.BadDebt)) == []
    assert (cx.market.pnlOf(alice), cx.market.capitalOf(alice)) == (0, 0)
    assert cx.market.capitalOf(keeper) == KEEPER_CAPITAL - DEBT
    assert cx.market.capitalTotal() == capital_total - DEBT
    assert (cx.pool.balanceOf(alice, weth.token), cx.pool.balanceOf(keeper, weth.token)) == (WAD - amount, amount)
    # nothing left the pool: the units changed hands inside it
    assert (weth.token.balanceOf(cx.pool), cx.pool.collateralOf(weth.token)[3]) == (WAD, WAD)
    assert cx.market.accountValue(alice) == value_of(weth, WAD - amount)
    with reverts(cx.market.NoDebt, account=alice.address):
        cx.market.liquidateCollateral(alice, 1, sender=keeper)


def test_liquidate_collateral__partial_repay_rounds_down_the_clearing_one_clears_to_the_wei(in_debt, alice, keeper):
    """100 of the 900 (a partial repayment) buys 100 / 2,850 WETH rounded DOWN to the wei and pays
    its cost rounded up: 100 wei less than offered. Then `maxRepay` = the debt left exactly (>= debt:
    a clearing sale) rounds UP and repays the 800.0000000000000001 to the wei; together the two took
    exactly what one clearing sale of the 900 takes."""
    cx, weth = in_debt, in_debt.collaterals["WETH"]
    a, k, t = alice.address, keeper.address, weth.token.address
    amount, cost = seize_one(WAD, 1, WETH_PRICE, DISCOUNT, usd(100), clears_debt=False)
    assert (amount, cost) == (35_087_719_298_245_614, usd(100) - 100)  # 0.03508771929824561403... down
    assert amount * 2_850 == usd(100) - 100
    receipt = cx.market.liquidateCollateral(alice, usd(100), sender=keeper)
    assert _seized(receipt, cx) == [(a, k, t, amount, cost, WETH_PRICE)]
    left = usd(800) + 100
    assert _repaid(receipt, cx) == [(a, k, cost, -left)]
    assert cx.market.pnlOf(alice) == -left
    assert cx.market.capitalOf(keeper) == KEEPER_CAPITAL - cost
    assert cx.pool.balanceOf(alice, weth.token) == WAD - amount

    last, last_cost = seize_one(WAD - amount, 1, WETH_PRICE, DISCOUNT, left, clears_debt=True)
    assert (last, last_cost) == (280_701_754_385_964_913, left)  # 0.28070175438596491231... up
    receipt = cx.market.liquidateCollateral(alice, left, sender=keeper)
    assert _seized(receipt, cx) == [(a, k, t, last, left, WETH_PRICE)]
    assert _repaid(receipt, cx) == [(a, k, left, 0)]
    assert list(receipt.events.filter(cx.market.BadDebt)) == []
    assert (cx.market.pnlOf(alice), cx.market.capitalOf(keeper)) == (0, KEEPER_CAPITAL - DEBT)
    assert amount + last == seize_one(WAD, 1, WETH_PRICE, DISCOUNT, DEBT, clears_debt=True)[0]
    assert (cx.pool.balanceOf(alice, t), cx.pool.balanceOf(keeper, t)) == (684_210_526_315_789_473, amount + last)


def test_liquidate_collateral__dust_partial_repay_seizes_nothing(three_debt, alice, keeper):
    """A partial repayment rounds the units down, so dust buys no unit: 1 wei, or 2,849 wei (a wei of
    WETH costs 2,850 wei at the discount, a unit of WBTC 5.7e14, of USDT 9.8e11) seizes nothing of
    any token and reverts - repeated dust repayments cannot take a unit each. 2,850 buys 1 wei of WETH."""
    cx = three_debt
    weth = cx.collaterals["WETH"]
    held = [(cx.collaterals[s], cx.pool.balanceOf(alice, cx.collaterals[s].token)) for s in ("WETH", "WBTC", "USDT")]
    assert [b for _, b in held] == [WAD // 10, 10**6, 500 * 10**6]
    for dust in (1, 2_849):
        sales = [seize_one(b, c.scale, c.price_wad(), c.spec.discount, dust, clears_debt=False) for c, b in held]
        assert sales == [(0, 0)] * 3
        with reverts(cx.market.NothingToSeize, account=alice.address):
            cx.market.liquidateCollateral(alice, dust, sender=keeper)
    assert cx.market.pnlOf(alice) == -usd(1_030)
    receipt = cx.market.liquidateCollateral(alice, 2_850, sender=keeper)
    assert _seized(receipt, cx) == [(alice.address, keeper.address, weth.token.address, 1, 2_850, WETH_PRICE)]
    assert cx.market.pnlOf(alice) == 2_850 - usd(1_030)


def test_liquidate_collateral__flat_liquidator_needs_no_market_price(chain, in_debt, owner, alice, carol):
    cx = in_debt
    fund(cx, carol, usd(2_000))
    make_stale(chain, owner, cx.feed, heartbeat=86_400)
    assert cx.oracle.tryPrice() == (False, 0)
    receipt = cx.market.liquidateCollateral(alice, MAX, sender=carol)
    assert _repaid(receipt, cx) == [(alice.address, carol.address, DEBT, 0)]
    assert cx.market.capitalOf(carol) == usd(2_000) - DEBT
    assert cx.pool.balanceOf(carol, cx.collaterals["WETH"].token) == 315_789_473_684_210_527


def test_liquidate_collateral__liquidator_with_a_position_keeps_initial_margin(in_debt, alice, keeper):
    """The keeper (long 0.5 at 57,000: initial margin 2,850) keeps 2,900 of capital; paying the 900
    leaves 2,000 plus the WETH bought (757.89... at weight 0.8): short of 2,850."""
    cx, weth = in_debt, in_debt.collaterals["WETH"]
    cx.router.withdraw(MARKET_ID, KEEPER_CAPITAL - usd(2_900), sender=keeper)
    amount, _ = seize_one(WAD, 1, WETH_PRICE, DISCOUNT, DEBT, clears_debt=True)
    value = usd(2_000) + value_of(weth, amount)
    assert value == 2_757_894_736_842_105_264_800  # 315,789,473,684,210,527 wei x 3,000 x 0.8
    with reverts(cx.market.InsufficientMargin, account=keeper.address, accountValue=value, required=usd(2_850)):
        cx.market.liquidateCollateral(alice, MAX, sender=keeper)
    # what keeps it at initial margin passes: 300 (partial: rounded down) buys 0.105263157894736842
    # WETH (252.63... of margin) for 300 less 300 wei
    amount, cost = seize_one(WAD, 1, WETH_PRICE, DISCOUNT, usd(300), clears_debt=False)
    assert (amount, cost) == (105_263_157_894_736_842, usd(300) - 300)
    cx.market.liquidateCollateral(alice, usd(300), sender=keeper)
    assert cx.market.pnlOf(alice) == cost - DEBT
    assert cx.market.accountValue(keeper) == usd(2_900) - cost + value_of(weth, amount) == 2_852_631_578_947_368_421_100


def test_liquidate_collateral__collateral_exhausted_leaves_bad_debt(
    in_debt, chain, owner, alice, bob, carol, dave, erin, keeper
):
    """Insurance first: dave and erin trade 1 BTC at 57,000 under a 0.1 % taker fee (57 to the fund).
    bob closes his short against carol: +1,500 realised; while it warms up nobody is cut. Matured, it
    is backed only by alice's lost 600 until her WETH is sold (haircut 0.4). WETH falls to 300: its sale (285 at 300 x 0.95) leaves 615 of the 900 debt; the fund pays 57
    and 558 is socialised: the residual 600 + 285 + 57 = 942 backs 1,500 (haircut 0.628)."""
    cx, weth = in_debt, in_debt.collaterals["WETH"]
    cx.router.setMarketParams(MARKET_ID, market_params(**{**PARAMS, "takerFee": 10**15}), sender=owner)
    for account in (dave, erin, carol):
        fund(cx, account, usd(10_000))
    open_long(cx, erin, dave, WAD, usd(57_000))
    cx.router.setMarketParams(MARKET_ID, market_params(**PARAMS), sender=owner)
    assert cx.market.insuranceFund() == usd(57)
    cx.trade(carol, bob, -HALF, usd(57_000))
    assert cx.market.pnlOf(bob) == usd(1_500)
    assert (cx.market.pnlWarmingOf(bob), cx.market.haircut()) == (usd(1_500), WAD)
    chain.mine(1, timestamp=chain.blocks.head.timestamp + cx.market.warmupPeriod() + 1)
    set_btc(cx, 57_000)  # fresh after the wait
    cx.market.touch([bob], sender=keeper)
    assert (cx.market.pnlWarmingOf(bob), cx.market.pnlMaturedOf(bob)) == (0, usd(1_500))
    assert cx.market.haircut() == 4 * WAD // 10

    weth.set_price(300)
    receipt = cx.market.liquidateCollateral(alice, MAX, sender=keeper)
    assert _seized(receipt, cx) == [(alice.address, keeper.address, weth.token.address, WAD, usd(285), usd(300))]
    [bad] = receipt.events.filter(cx.market.BadDebt)
    assert (bad.account, bad.debt, bad.coveredByInsurance, bad.socialized) == (alice.address, usd(615), usd(57), usd(558))
    assert _repaid(receipt, cx) == [(alice.address, keeper.address, usd(285), 0)]
    assert (cx.market.pnlOf(alice), cx.market.insuranceFund(), cx.pool.heldMask(alice)) == (0, 0, 0)
    assert cx.market.capitalOf(keeper) == KEEPER_CAPITAL - usd(285)
    assert cx.market.haircut() == 628 * WAD // 1000


# ---------------------------------------------------------------- several tokens


@pytest.fixture
def three_debt(cx, alice, bob, keeper):
    """alice: 0.1 WETH (margin 240), 0.01 WBTC (540), 500 USDT (475) and 1,745 of capital, long 0.5
    at 60,000 (value 3,000). BTC at 54,450: value 225 < maintenance 2,178; the keeper liquidates: the
    2,775 loss less 1,745 of capital is 1,030 of debt; the fee (272.25, capped at her value 225)
    finds no capital left: 0."""
    weth, wbtc, usdt = (cx.collaterals[s] for s in ("WETH", "WBTC", "USDT"))
    fund(cx, bob, usd(1_000_000))
    fund(cx, keeper, KEEPER_CAPITAL)
    fund(cx, alice, usd(1_745))
    deposit(cx, alice, weth, WAD // 10)
    deposit(cx, alice, wbtc, 10**6)
    deposit(cx, alice, usdt, 500 * 10**6)
    open_long(cx, alice, bob, HALF)
    assert cx.market.accountValue(alice) == usd(3_000)
    set_btc(cx, 54_450)
    assert cx.market.accountValue(alice) == usd(225)
    receipt = cx.market.liquidate(alice, HALF, sender=keeper)
    assert [e.fee for e in receipt.events.filter(cx.market.Liquidation)] == [0]
    assert (cx.market.pnlOf(alice), cx.market.positionOf(alice)[0]) == (-usd(1_030), 0)
    return cx


def test_liquidate_collateral__lowest_weight_first(three_debt, alice, keeper):
    """Registered USDT (0.95), WBTC (0.9), WETH (0.8): sold WETH, WBTC, USDT. 0.1 WETH at 2,850 = 285,
    0.01 WBTC at 57,000 = 570, then 175 of USDT at 0.98."""
    cx = three_debt
    weth, wbtc, usdt = (cx.collaterals[s] for s in ("WETH", "WBTC", "USDT"))
    assert seize_one(500 * 10**6, 10**12, WAD, 2 * WAD // 100, usd(175), clears_debt=True) == (178_571_429, usd(175))
    receipt = cx.market.liquidateCollateral(alice, MAX, sender=keeper)
    a, k = alice.address, keeper.address
    assert _seized(receipt, cx) == [
        (a, k, weth.token.address, WAD // 10, usd(285), WETH_PRICE),
        (a, k, wbtc.token.address, 10**6, usd(570), usd(60_000)),
        (a, k, usdt.token.address, 178_571_429, usd(175), WAD),
    ]
    assert _repaid(receipt, cx) == [(a, k, usd(1_030), 0)]
    assert cx.pool.heldMask(alice) == 1  # USDT only
    assert cx.pool.balanceOf(alice, usdt.token) == 500 * 10**6 - 178_571_429
    assert cx.market.capitalOf(keeper) == KEEPER_CAPITAL - usd(1_030)
    assert cx.pool.heldMask(keeper) == 7


def test_liquidate_collateral__equal_weights_lowest_index_first(three_debt, owner, alice, keeper):
    cx = three_debt
    wbtc = cx.collaterals["WBTC"]
    cx.router.setCollateral(MARKET_ID, wbtc.token, wbtc.oracle, wbtc.params(weight=8 * WAD // 10), sender=owner)
    receipt = cx.market.liquidateCollateral(alice, MAX, sender=keeper)
    assert [(e[2], e[3], e[4]) for e in _seized(receipt, cx)] == [
        (wbtc.token.address, 10**6, usd(570)),  # index 1 before WETH's 2 at the same weight
        (cx.collaterals["WETH"].token.address, WAD // 10, usd(285)),
        (cx.collaterals["USDT"].token.address, 178_571_429, usd(175)),
    ]


def test_liquidate_collateral__failed_oracle_token_is_skipped(three_debt, owner, alice, keeper):
    cx = three_debt
    weth, wbtc, usdt = (cx.collaterals[s] for s in ("WETH", "WBTC", "USDT"))
    weth.feed.setReverting(True, sender=owner)
    assert seize_one(500 * 10**6, 10**12, WAD, 2 * WAD // 100, usd(460), clears_debt=True) == (469_387_756, usd(460))
    receipt = cx.market.liquidateCollateral(alice, MAX, sender=keeper)
    assert [(e[2], e[3], e[4]) for e in _seized(receipt, cx)] == [
        (wbtc.token.address, 10**6, usd(570)),
        (usdt.token.address, 469_387_756, usd(460)),
    ]
    assert cx.market.pnlOf(alice) == 0
    assert cx.pool.balanceOf(alice, weth.token) == WAD // 10  # kept: nobody could price it


def test_liquidate_collateral__only_failed_oracles_nothing_to_seize(in_debt, owner, alice, keeper):
    cx = in_debt
    cx.collaterals["WETH"].feed.setReverting(True, sender=owner)
    with reverts(cx.market.NothingToSeize, account=alice.address):
        cx.market.liquidateCollateral(alice, MAX, sender=keeper)
    assert cx.market.pnlOf(alice) == -DEBT


# ---------------------------------------------------------------- refusals


def test_liquidate_collateral__no_debt_reverts(cx, alice, keeper):
    deposit(cx, alice, cx.collaterals["WETH"], WAD)
    with reverts(cx.market.NoDebt, account=alice.address):
        cx.market.liquidateCollateral(alice, 1, sender=keeper)


def test_liquidate_collateral__position_above_maintenance_reverts(cx, alice, bob, keeper):
    """alice: no capital, 2 WETH (4,800), long 0.5 at 60,000; at 58,000 she sells half: the trade
    marks her whole position, so -1,000 is realised and is debt (the half she keeps now stands at
    58,000): value -1,000 + 4,800 = 3,800 >= 0.25 x 58,000 x 8 %."""
    fund(cx, bob, usd(1_000_000))
    deposit(cx, alice, cx.collaterals["WETH"], 2 * WAD)
    open_long(cx, alice, bob, HALF)
    set_btc(cx, 58_000)
    cx.trade(bob, alice, WAD // 4, usd(58_000))
    assert (cx.market.pnlOf(alice), cx.market.capitalOf(alice)) == (-usd(1_000), 0)
    assert cx.market.positionOf(alice)[1] == usd(58_000) // 4  # entry moved to the mark
    with reverts(cx.market.NotLiquidatable, account=alice.address, accountValue=usd(3_800), maintenance=usd(1_160)):
        cx.market.liquidateCollateral(alice, MAX, sender=keeper)


def test_liquidate_collateral__market_without_pool_reverts(cx, project, owner, alice, keeper):
    cx.router.createMarket(cx.token, cx.oracle, market_params(**PARAMS), funding_params(), sender=owner)
    market = project.PerpMarket.at(cx.router.markets(1))
    assert cx.router.collateralPoolOf(1) == "0x0000000000000000000000000000000000000000"
    with reverts(market.NothingToSeize, account=alice.address):
        market.liquidateCollateral(alice, 1, sender=keeper)


def test_liquidate_collateral__caller_without_capital_reverts(in_debt, alice, carol):
    cx = in_debt
    with reverts(cx.market.InsufficientCapital, account=carol.address, amount=DEBT, available=0):
        cx.market.liquidateCollateral(alice, MAX, sender=carol)


def test_liquidate_collateral__self_and_zero_revert(in_debt, alice, keeper):
    cx = in_debt
    with reverts(cx.market.SelfLiquidation, account=alice.address):
        cx.market.liquidateCollateral(alice, MAX, sender=alice)
    with reverts(cx.market.ZeroAmount):
        cx.market.liquidateCollateral(alice, 0, sender=keeper)


# ---------------------------------------------------------------- per-token accounting


def test_pool_accounting__per_token_totals_match_balances(three_debt, owner, alice, bob, carol, dave, keeper):
    cx = three_debt
    accounts = (alice, bob, carol, dave, keeper)
    deposit(cx, bob, cx.collaterals["WETH"], 3 * WAD + 17)
    deposit(cx, carol, cx.collaterals["WBTC"], 123_456_789)
    deposit(cx, dave, cx.collaterals["USDT"], 999_999_999, payer=carol)
    cx.router.withdrawCollateral(MARKET_ID, cx.collaterals["WETH"].token, WAD + 5, sender=bob)
    cx.router.withdrawCollateral(MARKET_ID, cx.collaterals["WBTC"].token, 23_456_789, sender=carol)
    cx.market.liquidateCollateral(alice, usd(600), sender=keeper)  # all the WETH, part of the WBTC
    cx.router.withdrawCollateral(MARKET_ID, cx.collaterals["WETH"].token, WAD // 10, sender=keeper)
    cx.market.liquidateCollateral(alice, MAX, sender=keeper)

    expected = {
        "WETH": 2 * WAD + 12,  # bob's; the keeper withdrew the 0.1 it bought
        "WBTC": 100_000_000 + 10**6,  # carol's and the keeper's
        "USDT": 999_999_999 + 500 * 10**6,
    }
    for symbol, c in cx.collaterals.items():
        held = sum(cx.pool.balanceOf(a, c.token) for a in accounts)
        assert (c.token.balanceOf(cx.pool), cx.pool.collateralOf(c.token)[3], held) == (expected[symbol],) * 3, symbol
    assert cx.collaterals["WETH"].token.balanceOf(keeper) == WAD // 10
