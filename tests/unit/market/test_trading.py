"""PerpMarket trading through settled fills: positions, realised PnL and its rounding, fees to the
insurance fund, minimum size, pause, funding settlement, router-only entry points."""

import ape
import pytest

from tests.conftest import WAD, market_params
from tests.unit.market.conftest import usd


@pytest.fixture
def funded(ex18, alice, bob, carol):
    for account in (alice, bob, carol):
        ex18.fund(account, 100_000 * WAD)
    return ex18


def test_fill__opens_positions_and_charges_fees(funded, alice, bob):
    ex = funded
    receipt = ex.trade(alice, bob, 2 * WAD, 60_000 * WAD)  # alice buys 2 as maker
    assert ex.market.positionOf(alice)[:2] == (2 * WAD, usd(120_000))
    assert ex.market.positionOf(bob)[:2] == (-2 * WAD, -usd(120_000))
    assert ex.market.capitalOf(alice) == usd(100_000 - 24)  # 2 bp maker fee, paid at once
    assert ex.market.capitalOf(bob) == usd(100_000 - 60)  # 5 bp taker fee
    assert ex.market.insuranceFund() == usd(84)
    assert ex.market.openInterest() == (2 * WAD, 2 * WAD)
    changes = receipt.events.filter(ex.market.PositionChanged)
    assert [(e.account, e.size, e.openNotional, e.price, e.realizedPnl, e.fee) for e in changes] == [
        (alice.address, 2 * WAD, usd(120_000), usd(60_000), 0, usd(24)),
        (bob.address, -2 * WAD, -usd(120_000), usd(60_000), 0, usd(60)),
    ]


def test_fill__reduce_and_flip_realise_pnl(funded, alice, bob):
    ex = funded
    ex.trade(alice, bob, 2 * WAD, 60_000 * WAD)
    ex.set_price(61_000)
    ex.trade(alice, bob, -3 * WAD, 61_000 * WAD)  # alice sells 3: closes 2 (+2,000), opens 1 short
    assert ex.market.positionOf(alice)[:2] == (-WAD, -usd(61_000))
    assert ex.market.positionOf(bob)[:2] == (WAD, usd(61_000))
    fee_alice = usd(24) + usd("36.6")  # 2 bp of 120k, then of 183k: both out of capital
    assert ex.market.pnlOf(alice) == usd(2_000)
    assert ex.market.capitalOf(alice) == usd(100_000) - fee_alice
    # bob lost 2,000 and paid 60 + 91.5 in taker fees: all settled from capital.
    assert ex.market.pnlOf(bob) == 0
    assert ex.market.capitalOf(bob) == usd(100_000 - 60 - 2_000) - usd("91.5")
    assert ex.market.insuranceFund() == fee_alice + usd(60) + usd("91.5")


def test_fill__rounding_goes_against_both_traders(funded, alice, bob, carol):
    """An odd price x size leaves a wei of dust in the market, never in a trader's pocket."""
    ex = funded
    price = 60_000 * WAD + 1
    size = WAD // 3  # 333333333333333333
    ex.trade(alice, bob, size, price)
    exact = size * price  # / 1e18, not an integer
    assert exact % WAD != 0
    assert ex.market.positionOf(alice)[1] == exact // WAD + 1  # the long's entry rounds up
    assert ex.market.positionOf(bob)[1] == -(exact // WAD)  # the short's entry rounds toward +inf
    ex.trade(bob, alice, size, price)  # close both at the same price
    assert ex.market.pnlOf(alice) <= 0 and ex.market.pnlOf(bob) <= 0
    total = (
        ex.market.capitalOf(alice) + ex.market.capitalOf(bob) + ex.market.capitalOf(carol)
        + ex.market.insuranceFund()
    )
    assert ex.market.vault() - total in (1, 2)  # dust kept by the protocol


def test_fill__below_minimum_size_reverts(funded, alice, bob):
    ex = funded
    tiny = WAD // 1000 - 1
    with ape.reverts(ex.market.PositionBelowMinimum, account=alice.address, size=tiny, minPositionSize=WAD // 1000):
        ex.trade(alice, bob, tiny, 60_000 * WAD)


def test_fill__over_leverage_reverts(ex18, alice, bob):
    ex = ex18
    ex.fund(alice, usd(6_000))  # 10x of 60k needs 6,000 plus the fee
    ex.fund(bob, 100_000 * WAD)
    with ape.reverts(ex.market.InsufficientMargin, account=alice.address, accountValue=usd(5_988), required=usd(6_000)):
        ex.trade(alice, bob, WAD, 60_000 * WAD)
    assert ex.market.positionOf(alice)[0] == 0


def test_pause__blocks_risk_increase_only(funded, alice, bob, carol, guardian):
    ex = funded
    ex.trade(alice, bob, WAD, 60_000 * WAD)
    receipt = ex.router.setPaused(ex.market_id, True, sender=guardian)
    assert [e.paused for e in receipt.events.filter(ex.market.Paused)] == [True]
    assert ex.market.paused()

    with ape.reverts(ex.market.MarketPaused, marketId=ex.market_id):
        ex.trade(carol, bob, WAD, 60_000 * WAD)  # both would grow
    with ape.reverts(ex.market.MarketPaused, marketId=ex.market_id):
        ex.router.withdraw(ex.market_id, 1, sender=alice)  # open position
    ex.trade(alice, bob, -WAD, 60_000 * WAD)  # both close: allowed
    ex.router.withdraw(ex.market_id, 1_000 * WAD, sender=alice)  # flat now: allowed
    ex.fund(carol, WAD)  # deposits stay open

    ex.router.setPaused(ex.market_id, False, sender=guardian)
    ex.trade(carol, bob, WAD, 60_000 * WAD)


def test_settle_funding__pays_size_times_index_change(funded, alice, bob, carol, matcher, chain):
    ex = funded
    ex.trade(alice, bob, WAD, 60_000 * WAD)
    for k in range(30):  # premium +600 in every slot of the ring (it starts as 30 zero samples)
        ex.funding.recordQuote(ex.market_id, 60_590 * WAD - k % 2, 60_610 * WAD + k % 2, sender=matcher)
    cranked_at = chain.blocks.head.timestamp + 10
    chain.pending_timestamp = cranked_at  # explicit block times: exactly 8 h between the two
    ex.funding.crank(ex.market_id, sender=bob)
    rate = ex.funding.fundingRate(ex.market_id)
    # P = 600 / 60,000 = 1 %; F = P + clamp(0.01 % - P, -0.05 %, 0.05 %) = 0.95 % per 8 h
    assert rate == 95 * 10**14
    assert chain.blocks.head.timestamp == cranked_at
    chain.pending_timestamp = cranked_at + 8 * 3600
    snapshot_alice = ex.market.positionOf(alice)[2]
    receipt = ex.market.settleFunding(alice, sender=carol)
    index = ex.funding.fundingIndex(ex.market_id)
    payment = -(-(WAD * (index - snapshot_alice)) // 10**27)  # ceil: the payer rounds up
    [event] = receipt.events.filter(ex.market.FundingSettled)
    assert (event.account, event.payment, event.fundingIndex) == (alice.address, payment, index)
    assert payment == usd(570)  # 0.95 % of 60,000 over exactly 8 h
    # the touch also marks alice's 1 BTC to market: the premium moved the mark off 60,000
    mark = ex.funding.markPrice(ex.market_id)
    [mtm] = receipt.events.filter(ex.market.MarkedToMarket)
    assert (mtm.account, mtm.realized, mtm.mark) == (alice.address, mark - usd(60_000), mark)
    assert ex.market.capitalOf(alice) + ex.market.pnlOf(alice) == usd(100_000 - 12 - 570) + mark - usd(60_000)
    ex.market.settleFunding(bob, sender=carol)
    bob = ex.market.accountOf(bob)  # +570 of funding, less the mark's move against his short (taker fee 30)
    assert bob.capital + bob.pnl == usd(100_000 - 30 + 570) - (mark - usd(60_000))


def test_router_only__entry_points(ex, alice):
    market = ex.market
    with ape.reverts(market.OnlyRouter, caller=alice.address):
        market.withdraw(alice, alice, 1, sender=alice)
    with ape.reverts(market.OnlyRouter, caller=alice.address):
        market.executeTrades([], sender=alice)
    with ape.reverts(market.OnlyRouter, caller=alice.address):
        market.setParams(market_params(), sender=alice)
    with ape.reverts(market.OnlyRouter, caller=alice.address):
        market.setOracle(alice, sender=alice)
    with ape.reverts(market.OnlyRouter, caller=alice.address):
        market.setPaused(True, sender=alice)


def test_views__flat_and_open_accounts(funded, alice, bob, carol):
    ex = funded
    assert ex.market.marginRequirements(carol) == (0, 0)
    assert not ex.market.isLiquidatable(carol)
    assert ex.market.accountValue(carol) == usd(100_000)
    assert ex.market.haircut() == WAD
    ex.trade(alice, bob, WAD, 60_000 * WAD)
    ex.set_price(59_000)
    assert ex.market.marginRequirements(alice) == (usd(5_900), usd(2_950))
    assert ex.market.accountValue(alice) == usd(100_000 - 12 - 1_000)
    assert ex.market.accountValue(bob) == usd(100_000 - 30 + 1_000)
    account = ex.market.accountOf(alice)
    assert (account.capital, account.pnl, account.size, account.openNotional) == (usd(99_988), 0, WAD, usd(60_000))
    assert ex.market.params().initialMarginRatio == WAD // 10
