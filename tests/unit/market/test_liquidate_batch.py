"""PerpMarket.liquidateBatch: one oracle read for many victims, each liquidated as `liquidate` would
(amount 0 = the whole position), whatever `liquidate` would refuse skipped with its error's
selector, the liquidator's margin checked once; malformed input and a stale oracle refuse the
whole batch."""

import ape
import pytest
from eth_utils import keccak

from tests.conftest import FEED_DECIMALS, WAD
from tests.unit.market.conftest import usd

ZERO = "0x" + "00" * 20


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


NOT_LIQUIDATABLE = selector("NotLiquidatable(address,int256,uint256)")
SELF_LIQUIDATION = selector("SelfLiquidation(address)")
NO_POSITION = selector("NoPosition(address)")
INVALID_AMOUNT = selector("InvalidLiquidationAmount(uint256,int256)")
BELOW_MINIMUM = selector("PositionBelowMinimum(address,int256,uint256)")
PARTIAL_UNHEALTHY = selector("PartialLiquidationUnhealthy(address,int256,uint256)")


@pytest.fixture
def crashed(ex18, alice, bob, carol, keeper):
    """Alice long 1 BTC at 60k on 6,500 (30 of taker fee), Carol long 0.5 BTC on 20,000, Bob short
    both; BTC at 56k. Alice's value 6,470 - 4,000 = 2,470 is under maintenance (2,800); Carol is
    healthy; the keeper holds 20,000."""
    ex18.fund(alice, usd(6_500))
    ex18.fund(carol, usd(20_000))
    ex18.fund(bob, usd(100_000))
    ex18.fund(keeper, usd(20_000))
    ex18.trade(bob, alice, -WAD, usd(60_000))
    ex18.trade(bob, carol, -WAD // 2, usd(60_000))
    ex18.set_price(56_000)
    assert ex18.market.accountValue(alice) == usd(2_470)
    return ex18


def _skips(receipt, market):
    return [(e.account, bytes(e.reason)) for e in receipt.events.filter(market.LiquidationSkipped)]


def _state(ex, people):
    m = ex.market
    return (
        [tuple(m.accountOf(p)) for p in people],
        m.insuranceFund(), m.capitalTotal(), m.pnlPosTotal(), m.openInterest(), m.badDebt(), m.vault(),
    )


def test_liquidate_batch__liquidates_the_unhealthy_and_skips_the_rest(crashed, alice, bob, carol, keeper, dave):
    ex, m = crashed, crashed.market
    victims = [alice, carol, keeper, ZERO, alice, bob, dave]
    amounts = [0, 0, 0, 0, 0, 10 * WAD, 0]
    assert m.liquidateBatch.call(victims, amounts, sender=keeper) == 1

    receipt = m.liquidateBatch(victims, amounts, sender=keeper)

    [event] = receipt.events.filter(m.Liquidation)
    fee = usd(560)  # 1 % of 56,000, under the cap (the account's whole value, 2,470)
    assert (event.account, event.liquidator, event.amount, event.markPrice, event.fee, event.liquidatorReward) == (
        alice.address, keeper.address, WAD, usd(56_000), fee, fee // 2)
    assert _skips(receipt, m) == [
        (carol.address, NOT_LIQUIDATABLE),
        (keeper.address, SELF_LIQUIDATION),
        (ZERO, NO_POSITION),
        (alice.address, NO_POSITION),  # closed by the first entry
        (bob.address, INVALID_AMOUNT),  # 10 BTC of a 1.5 BTC short
        (dave.address, NO_POSITION),
    ]
    assert m.positionOf(alice)[0] == 0
    assert m.capitalOf(alice) == usd(2_470) - fee
    assert m.positionOf(keeper)[:2] == (WAD, usd(56_000))
    assert m.capitalOf(keeper) == usd(20_000) + fee // 2
    assert m.positionOf(carol)[:2] == (WAD // 2, usd(30_000))  # healthy: not even touched
    assert [e.insurance for e in receipt.events.filter(m.InsuranceChanged)] == [m.insuranceFund()]


def test_liquidate_batch__same_state_as_single_liquidate(chain, crashed, alice, bob, carol, keeper):
    people = [alice, bob, carol, keeper]
    snapshot = chain.snapshot()
    crashed.market.liquidate(alice, WAD, sender=keeper)
    single = _state(crashed, people)
    chain.restore(snapshot)

    crashed.market.liquidateBatch([alice, carol], [0, 0], sender=keeper)

    assert _state(crashed, people) == single


def test_liquidate_batch__partial_that_restores_health_liquidates_it(crashed, alice, keeper):
    m = crashed.market
    receipt = m.liquidateBatch([alice], [WAD // 4], sender=keeper)

    [event] = receipt.events.filter(m.Liquidation)
    assert (event.amount, event.fee) == (WAD // 4, usd(140))  # 1 % of 14,000
    assert m.positionOf(alice)[0] == 3 * WAD // 4
    assert m.accountValue(alice) == usd(2_330)  # >= maintenance 2,100
    assert _skips(receipt, m) == []


@pytest.mark.parametrize(
    "amount, reason",
    [(WAD // 100, PARTIAL_UNHEALTHY), (WAD - WAD // 10_000, BELOW_MINIMUM)],
    ids=["leaves-it-unhealthy", "leaves-dust"],
)
def test_liquidate_batch__refused_partial_is_skipped_but_touched(crashed, alice, keeper, amount, reason):
    m = crashed.market
    receipt = m.liquidateBatch([alice], [amount], sender=keeper)

    assert _skips(receipt, m) == [(alice.address, reason)]
    assert list(receipt.events.filter(m.Liquidation)) == []
    # the touch stands: the 4,000 loss realised at the mark and paid from capital
    assert m.positionOf(alice)[:2] == (WAD, usd(56_000))
    assert (m.capitalOf(alice), m.pnlOf(alice)) == (usd(2_470), 0)
    assert m.positionOf(keeper)[0] == 0


def test_liquidate_batch__mismatched_lengths_revert(crashed, alice, carol, keeper):
    with ape.reverts(crashed.market.LengthMismatch, accounts=2, amounts=1):
        crashed.market.liquidateBatch([alice, carol], [0], sender=keeper)


def test_liquidate_batch__empty_changes_nothing(crashed, alice, bob, carol, keeper):
    people = [alice, bob, carol, keeper]
    before = _state(crashed, people)
    receipt = crashed.market.liquidateBatch([], [], sender=keeper)
    assert list(receipt.events) == []
    assert _state(crashed, people) == before


def test_liquidate_batch__stale_oracle_refuses_the_whole_batch(chain, crashed, alice, keeper):
    updated = chain.blocks.head.timestamp - 86_400
    crashed.feed.updateRoundData(7, 56_000 * 10**FEED_DECIMALS, updated, updated, sender=crashed.owner)
    now = chain.blocks.head.timestamp + 1
    chain.pending_timestamp = now
    with ape.reverts(crashed.oracle.OracleStale, updatedAt=updated, heartbeat=86_400, blockTimestamp=now):
        crashed.market.liquidateBatch([alice], [0], sender=keeper)


def test_liquidate_batch__open_while_paused(crashed, alice, keeper, guardian):
    crashed.router.setPaused(crashed.market_id, True, sender=guardian)
    assert crashed.market.liquidateBatch.call([alice], [0], sender=keeper) == 1
    crashed.market.liquidateBatch([alice], [0], sender=keeper)
    assert crashed.market.positionOf(alice)[0] == 0


def test_liquidate_batch__liquidator_without_margin_reverts(crashed, alice, carol, dave):
    crashed.fund(dave, usd(1_000))  # far too little to carry 1 BTC at 56k (5,600 initial)
    with ape.reverts(crashed.market.InsufficientMargin):
        crashed.market.liquidateBatch([alice], [0], sender=dave)
