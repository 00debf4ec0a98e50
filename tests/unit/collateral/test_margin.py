"""Collateral as margin: initial margin on trades and withdrawals, pause, flat accounts with and
without debt, the issue's headline case (a collateral drop alone makes an account liquidatable),
and a stale or failed collateral oracle (zero for new risk, never blocking a close, a liquidation
or a repayment)."""

import pytest

from tests.conftest import WAD
from tests.unit.collateral.conftest import (
    DEBT,
    MARKET_ID,
    deposit,
    fund,
    make_stale,
    open_long,
    reverts,
    usd,
    value_of,
)

HALF = WAD // 2


def _long_at_imr_with(cx, alice, bob, c, units):
    """alice: `units` of `c` and capital 3,000 - their value, long 0.5 BTC at 60,000."""
    capital = usd(3_000) - value_of(c, units)
    fund(cx, bob, usd(1_000_000))
    fund(cx, alice, capital)
    deposit(cx, alice, c, 2 * units)  # twice: half of it is free margin
    open_long(cx, alice, bob, HALF)
    return capital


# ---------------------------------------------------------------- initial margin


def test_trade__collateral_meets_initial_margin(at_imr, alice):
    cx = at_imr
    assert cx.market.positionOf(alice)[:2] == (HALF, usd(30_000))
    assert cx.market.capitalOf(alice) == usd(600)
    assert cx.pool.valueOf(alice) == (usd(2_400), True)  # 1 WETH x 3,000 x 0.8


def test_trade__one_wei_beyond_the_collateral_reverts(cx, alice, bob):
    fund(cx, bob, usd(1_000_000))
    fund(cx, alice, usd(600))
    deposit(cx, alice, cx.collaterals["WETH"], WAD)
    # notional 30,000 + 60,000 wei; initial margin 3,000 + 6,000 wei; value 600 + 2,400
    with reverts(cx.router.InsufficientMargin, account=alice.address, accountValue=usd(3_000), required=usd(3_000) + 6_000):
        open_long(cx, alice, bob, HALF + 1)
    assert cx.market.positionOf(alice)[0] == 0


@pytest.mark.parametrize("symbol, units", [("USDT", 2_000 * 10**6), ("WBTC", 5 * 10**6), ("WETH", WAD)])
def test_withdraw_collateral__open_position_keeps_initial_margin(cx, alice, bob, symbol, units):
    c = cx.collaterals[symbol]
    capital = _long_at_imr_with(cx, alice, bob, c, units)
    assert cx.market.accountValue(alice) == capital + value_of(c, 2 * units)

    receipt = cx.router.withdrawCollateral(MARKET_ID, c.token, units, sender=alice)  # back to exactly 3,000
    assert cx.market.accountValue(alice) == usd(3_000)
    assert c.token.balanceOf(alice) == units
    [event] = receipt.events.filter(cx.pool.CollateralWithdrawn)
    assert (event.account, event.amount) == (alice.address, units)

    with reverts(
        cx.router.InsufficientMargin,
        account=alice.address,
        accountValue=capital + value_of(c, units - 1),
        required=usd(3_000),
    ):
        cx.router.withdrawCollateral(MARKET_ID, c.token, 1, sender=alice)
    assert cx.pool.balanceOf(alice, c.token) == units


def test_withdraw_collateral__paused_blocks_an_open_position_not_a_flat_one(at_imr, alice, carol, guardian):
    cx, weth = at_imr, at_imr.collaterals["WETH"]
    deposit(cx, alice, weth, WAD // 10)  # free margin: the withdrawal passes once unpaused
    deposit(cx, carol, weth, WAD)
    cx.router.setPaused(MARKET_ID, True, sender=guardian)

    with reverts(cx.router.MarketPaused, marketId=MARKET_ID):
        cx.router.withdrawCollateral(MARKET_ID, weth.token, WAD // 10, sender=alice)
    cx.router.withdrawCollateral(MARKET_ID, weth.token, WAD, sender=carol)
    assert weth.token.balanceOf(carol) == WAD

    cx.router.setPaused(MARKET_ID, False, sender=guardian)
    cx.router.withdrawCollateral(MARKET_ID, weth.token, WAD // 10, sender=alice)
    assert cx.pool.balanceOf(alice, weth.token) == WAD


def test_withdraw_collateral__flat_without_debt_leaves_with_every_oracle_down(chain, cx, owner, carol):
    weth, wbtc = cx.collaterals["WETH"], cx.collaterals["WBTC"]
    deposit(cx, carol, weth, WAD)
    deposit(cx, carol, wbtc, 5 * 10**6)
    fund(cx, carol, usd(10))
    make_stale(chain, owner, weth.feed)
    wbtc.feed.setReverting(True, sender=owner)
    make_stale(chain, owner, cx.feed, heartbeat=86_400)
    assert (weth.oracle.tryPrice(), wbtc.oracle.tryPrice(), cx.oracle.tryPrice()) == ((False, 0),) * 3
    assert cx.pool.valueOf(carol) == (0, False)
    assert cx.market.accountValue(carol) == usd(10)

    cx.router.withdrawCollateral(MARKET_ID, weth.token, WAD, sender=carol)
    cx.router.withdrawCollateral(MARKET_ID, wbtc.token, 5 * 10**6, sender=carol)
    cx.router.withdraw(MARKET_ID, usd(10), sender=carol)
    assert (weth.token.balanceOf(carol), wbtc.token.balanceOf(carol), cx.token.balanceOf(carol)) == (WAD, 5 * 10**6, usd(10))
    assert (cx.pool.heldMask(carol), cx.market.capitalOf(carol)) == (0, 0)


def test_withdraw_collateral__flat_in_debt_only_what_keeps_the_debt_backed(chain, in_debt, owner, alice):
    cx, weth = in_debt, in_debt.collaterals["WETH"]
    assert cx.market.accountValue(alice) == usd(2_400) - DEBT
    # 0.375 WETH x 3,000 x 0.8 = 900: 0.625 can leave, not a wei more
    keep = 375 * WAD // 1_000
    assert value_of(weth, keep) == DEBT
    cx.router.withdrawCollateral(MARKET_ID, weth.token, WAD - keep, sender=alice)
    assert cx.market.accountValue(alice) == 0
    assert weth.token.balanceOf(alice) == WAD - keep
    # one wei less is worth 3,000 x 0.8 = 2,400 wei less
    assert value_of(weth, keep - 1) == DEBT - 2_400
    with reverts(cx.router.InsufficientMargin, account=alice.address, accountValue=-2_400, required=0):
        cx.router.withdrawCollateral(MARKET_ID, weth.token, 1, sender=alice)

    # with the oracle down the collateral counts zero: nothing leaves while the debt is open
    make_stale(chain, owner, weth.feed)
    with reverts(cx.router.InsufficientMargin, account=alice.address, accountValue=-DEBT, required=0):
        cx.router.withdrawCollateral(MARKET_ID, weth.token, 1, sender=alice)
    assert cx.pool.balanceOf(alice, weth.token) == keep


# ---------------------------------------------------------------- the headline case


def _health(cx, account):
    sizes, values, maintenance = cx.market.healthOf([account])
    return list(sizes), list(values), list(maintenance)


def test_collateral_drop__flat_pnl_account_becomes_liquidatable(at_imr, alice, keeper):
    """BTC does not move: alice's PnL stays zero. WETH falls 30 % (3,000 -> 2,100): her margin falls
    from 600 + 2,400 = 3,000 to 600 + 1,680 = 2,280, under maintenance 2,400."""
    cx, weth = at_imr, at_imr.collaterals["WETH"]
    fund(cx, keeper, usd(100_000))
    assert not cx.market.isLiquidatable(alice)
    assert _health(cx, alice) == ([HALF], [usd(3_000)], [usd(2_400)])

    weth.set_price(2_100)
    assert cx.market.pnlOf(alice) == 0
    assert cx.market.positionOf(alice)[:2] == (HALF, usd(30_000))  # marked at 60,000: no unrealised PnL
    assert cx.pool.valueOf(alice) == (usd(1_680), True)
    assert cx.market.accountValue(alice) == usd(2_280)
    assert _health(cx, alice) == ([HALF], [usd(2_280)], [usd(2_400)])
    assert cx.market.isLiquidatable(alice)

    receipt = cx.market.liquidate(alice, HALF, sender=keeper)
    [event] = receipt.events.filter(cx.market.Liquidation)
    assert (event.account, event.amount, event.markPrice, event.fee, event.liquidatorReward) == (
        alice.address,
        HALF,
        usd(60_000),
        usd(300),  # 1 % of 30,000, under the cap (her value, 2,280)
        usd(150),
    )
    assert (cx.market.capitalOf(alice), cx.market.pnlOf(alice), cx.market.positionOf(alice)[0]) == (usd(300), 0, 0)
    assert cx.market.insuranceFund() == usd(150)
    assert list(receipt.events.filter(cx.market.BadDebt)) == []
    assert cx.pool.balanceOf(alice, weth.token) == WAD  # the collateral stays hers: no debt


@pytest.mark.parametrize(
    "price, value, liquidatable", [("2250", usd(2_400), False), ("2249.99999999", usd("2399.999999992"), True)]
)
def test_collateral_drop__maintenance_edge(at_imr, alice, keeper, price, value, liquidatable):
    cx = at_imr
    fund(cx, keeper, usd(100_000))
    cx.collaterals["WETH"].set_price(price)
    assert cx.market.accountValue(alice) == value
    assert cx.market.isLiquidatable(alice) is liquidatable
    if liquidatable:
        cx.market.liquidate(alice, HALF, sender=keeper)
        assert cx.market.positionOf(keeper)[0] == HALF
    else:
        with reverts(cx.market.NotLiquidatable, account=alice.address, accountValue=value, maintenance=usd(2_400)):
            cx.market.liquidate(alice, HALF, sender=keeper)


# ---------------------------------------------------------------- stale or failed collateral oracle


def test_stale_collateral__counts_zero_for_new_risk(chain, cx, owner, alice, bob):
    weth = cx.collaterals["WETH"]
    fund(cx, bob, usd(1_000_000))
    fund(cx, alice, usd(600))
    deposit(cx, alice, weth, WAD)
    make_stale(chain, owner, weth.feed)
    assert cx.pool.valueOf(alice) == (0, False)
    assert cx.market.accountValue(alice) == usd(600)
    with reverts(cx.router.InsufficientMargin, account=alice.address, accountValue=usd(600), required=usd(3_000)):
        open_long(cx, alice, bob, HALF)

    weth.set_price(3_000)  # a fresh round: the same trade passes
    open_long(cx, alice, bob, HALF)
    assert cx.market.positionOf(alice)[0] == HALF


def test_stale_collateral__never_blocks_reducing_or_closing(chain, at_imr, owner, alice, bob):
    cx, weth = at_imr, at_imr.collaterals["WETH"]
    make_stale(chain, owner, weth.feed)
    assert cx.market.accountValue(alice) == usd(600)  # under maintenance 2,400: the WETH counts zero
    # more risk needs the price: refused
    with reverts(cx.router.InsufficientMargin, account=alice.address, accountValue=usd(600), required=usd(3_006)):
        open_long(cx, alice, bob, WAD // 1000)

    # alice sells 0.25: value 600 < maintenance 1,200 of what is left, allowed because it lowers risk
    cx.trade(bob, alice, WAD // 4, usd(60_000))
    assert cx.market.positionOf(alice)[0] == WAD // 4
    assert cx.market.marginRequirements(alice) == (usd(1_500), usd(1_200))
    assert cx.market.accountValue(alice) == usd(600)
    cx.trade(bob, alice, WAD // 4, usd(60_000))  # and closes
    assert (cx.market.positionOf(alice)[0], cx.market.capitalOf(alice), cx.market.pnlOf(alice)) == (0, usd(600), 0)


def test_failed_collateral__never_blocks_liquidation(cx, owner, alice, bob, keeper):
    """alice: 200 of capital and 1.25 WETH (3,000 of margin), long 0.5: value 3,200. Her WETH feed
    reverts: she is valued at 200, liquidatable, and the fee is capped at that value."""
    weth = cx.collaterals["WETH"]
    fund(cx, bob, usd(1_000_000))
    fund(cx, keeper, usd(100_000))
    fund(cx, alice, usd(200))
    deposit(cx, alice, weth, 5 * WAD // 4)
    open_long(cx, alice, bob, HALF)
    assert cx.market.accountValue(alice) == usd(3_200)

    weth.feed.setReverting(True, sender=owner)
    assert cx.pool.valueOf(alice) == (0, False)
    assert cx.market.accountValue(alice) == usd(200)
    assert cx.market.isLiquidatable(alice)
    receipt = cx.market.liquidate(alice, HALF, sender=keeper)
    [event] = receipt.events.filter(cx.market.Liquidation)
    assert (event.fee, event.liquidatorReward) == (usd(200), usd(100))  # 300 capped at her value 200
    assert (cx.market.capitalOf(alice), cx.market.pnlOf(alice), cx.market.positionOf(alice)[0]) == (0, 0, 0)
    assert cx.market.insuranceFund() == usd(100)

    # flat and owing nothing: the WETH leaves though nobody can price it
    cx.router.withdrawCollateral(MARKET_ID, weth.token, 5 * WAD // 4, sender=alice)
    assert weth.token.balanceOf(alice) == 5 * WAD // 4


def test_stale_collateral__settlement_deposit_repays_the_debt(chain, in_debt, owner, alice, keeper):
    cx, weth = in_debt, in_debt.collaterals["WETH"]
    make_stale(chain, owner, weth.feed)
    assert cx.market.accountValue(alice) == -DEBT

    receipt = fund(cx, alice, usd(2_000))
    [event] = receipt.events.filter(cx.market.Deposit)
    assert (event.account, event.amount) == (alice.address, usd(2_000))
    assert (cx.market.capitalOf(alice), cx.market.pnlOf(alice)) == (usd(2_000) - DEBT, 0)
    with reverts(cx.market.NoDebt, account=alice.address):
        cx.market.liquidateCollateral(alice, DEBT, sender=keeper)
    cx.router.withdrawCollateral(MARKET_ID, weth.token, WAD, sender=alice)  # owing nothing: free to leave
    assert (weth.token.balanceOf(alice), cx.pool.heldMask(alice)) == (WAD, 0)

