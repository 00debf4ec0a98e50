"""PerpRouter.settle with batches: fills across two markets of one router, all-or-nothing across
markets, and hundreds of fills in one transaction."""

import pytest
from eth_utils import to_checksum_address

from tests.conftest import WAD
from tests.unit.router.conftest import DEPOSIT, PRICE, digest, reverts

pytestmark = pytest.mark.usefixtures("two")

ETH = 3_000 * WAD
CAPITAL = DEPOSIT * 10**12


def _settle(ex, *fills):
    return ex.router.settle(list(fills), sender=ex.matcher)


def _fill(ex, maker, maker_size, taker, price, market_id):
    mk = ex.order(maker, maker_size, price, market_id=market_id)
    tk = ex.order(taker, -maker_size, price, market_id=market_id)
    return mk, tk, ex.fill(mk, tk, abs(maker_size), maker, taker)


def test_settle__fills_across_two_markets_in_one_batch(two, alice, bob, carol):
    btc1 = _fill(two, alice, WAD, bob, PRICE, 0)
    eth = _fill(two, alice, -10 * WAD, carol, ETH, 1)
    btc2 = _fill(two, carol, WAD // 2, bob, PRICE, 0)

    receipt = _settle(two, btc1[2], eth[2], btc2[2])

    assert two.market.positionOf(alice)[:2] == (WAD, PRICE)
    assert two.market.positionOf(bob)[:2] == (-3 * WAD // 2, -3 * PRICE // 2)
    assert two.market.positionOf(carol)[:2] == (WAD // 2, PRICE // 2)
    assert two.market.openInterest() == (3 * WAD // 2, 3 * WAD // 2)
    assert two.eth.positionOf(alice)[:2] == (-10 * WAD, -10 * ETH)
    assert two.eth.positionOf(carol)[:2] == (10 * WAD, 10 * ETH)
    assert two.eth.openInterest() == (10 * WAD, 10 * WAD)
    # Fees stay in their own market: 2 + 5 bp of 30,000 in ETH-USD.
    assert two.eth.insuranceFund() == 6 * WAD + 15 * WAD
    assert two.eth.capitalOf(alice) == CAPITAL - 6 * WAD

    events = [
        (e["marketId"], bytes(e["makerHash"]), bytes(e["takerHash"]), e["makerDelta"], e["price"])
        for e in receipt.events.filter(two.router.OrderFilled)
    ]
    assert events == [
        (0, digest(two, btc1[0]), digest(two, btc1[1]), WAD, PRICE),
        (1, digest(two, eth[0]), digest(two, eth[1]), -10 * WAD, ETH),
        (0, digest(two, btc2[0]), digest(two, btc2[1]), WAD // 2, PRICE),
    ]
    emitters = [to_checksum_address(log["address"]) for log in receipt.logs]
    assert emitters.count(two.market.address) >= 4  # two PositionChanged per BTC fill
    assert emitters.count(two.eth.address) >= 2


def test_settle__market_refusal_in_a_later_market_reverts_everything(two, alice, bob, carol):
    before = (two.market.accountOf(alice), two.market.openInterest(), two.market.insuranceFund())
    btc = _fill(two, alice, WAD, bob, PRICE, 0)
    eth_outside = _fill(two, carol, -WAD, bob, 3_150 * WAD + 1, 1)  # 5 % band of 3,000 ends at 3,150

    with reverts(two.router.FillPriceOutsideBand, price=3_150 * WAD + 1, index=ETH, priceBand=5 * 10**16):
        _settle(two, btc[2], eth_outside[2])

    # The BTC run had already been executed by market 0 when market 1 refused: undone too.
    assert (two.market.accountOf(alice), two.market.openInterest(), two.market.insuranceFund()) == before
    assert two.router.filled(digest(two, btc[0])) == 0
    assert two.eth.openInterest() == (0, 0)


def test_settle__orders_of_the_two_markets_do_not_pair(two, alice, bob):
    mk = two.order(alice, WAD, PRICE, market_id=0)
    tk = two.order(bob, -WAD, PRICE, market_id=1)
    with reverts(two.router.MarketMismatch, makerMarketId=0, takerMarketId=1):
        _settle(two, two.fill(mk, tk, WAD, alice, bob))


def test_settle__order_signed_for_one_market_not_valid_in_the_other(two, alice, bob):
    mk, tk, fill = _fill(two, alice, WAD, bob, ETH, 1)
    # Re-label alice's ETH order as BTC: a different order, hence a different digest.
    relabelled = mk.__class__(mk.trader, 0, mk.size, PRICE, mk.nonce, mk.expiry, mk.reduce_only)
    tk0 = two.order(bob, -WAD, PRICE, market_id=0)
    forged = (relabelled.as_tuple(), fill[1], tk0.as_tuple(), two.sign(tk0, bob), WAD)
    with reverts(two.router.InvalidSignature, trader=alice.address, orderHash=digest(two, relabelled)):
        _settle(two, forged)


def test_settle__a_hundred_fills_in_one_transaction(two, alice, bob):
    # ~100k gas a fill: 100 fills in two market runs stay far below a 30M-gas block.
    btc = [_fill(two, alice, WAD // 100, bob, PRICE, 0) for _ in range(60)]
    eth = [_fill(two, bob, WAD // 10, alice, ETH, 1) for _ in range(40)]

    receipt = _settle(two, *(f[2] for f in btc + eth))

    events = receipt.events.filter(two.router.OrderFilled)
    assert [e["marketId"] for e in events] == [0] * 60 + [1] * 40
    assert all(two.router.filled(digest(two, mk)) == WAD // 100 for mk, _, _ in btc[::15])
    assert two.market.positionOf(alice)[:2] == (60 * WAD // 100, 60 * PRICE // 100)
    assert two.eth.positionOf(bob)[:2] == (4 * WAD, 4 * ETH)
    assert two.market.openInterest() == (6 * WAD // 10, 6 * WAD // 10)
    assert two.eth.openInterest() == (4 * WAD, 4 * WAD)
    assert receipt.gas_used < 15_000_000
