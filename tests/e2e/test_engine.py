"""The matching engine against the contracts on Anvil: signed orders from alice, bob and carol are
matched off-chain and settled through PerpRouter.settle; a fill that would revert is bisected out
while the rest settle; quotes reach FundingRate and move the mark; the HTTP API takes an order
and serves the book."""

import pytest

from perpkit.engine import ApeChain, Engine, EngineConfig, Reason, TimeInForce, sign_cancel
from perpkit.engine.api import ApiClient, serve
from tests.conftest import WAD

USDC = 10**6
PRICE = 60_000 * WAD


@pytest.fixture(scope="module")
def ex(make_exchange, alice, bob, carol, erin, dave):
    """One BTC-USD market at 60,000; alice, bob, carol and erin each deposit 20,000 USDC.
    (`dave` is requested here so that ape snapshots after every session fixture exists.)"""
    exchange = make_exchange()
    for trader in (alice, bob, carol, erin):
        exchange.fund(trader, 20_000 * USDC)
    return exchange


@pytest.fixture
def engine(ex):
    chain = ApeChain(ex.router, ex.matcher, markets={ex.market_id: ex.market}, funding=ex.funding)
    return Engine(chain, [ex.market_id], EngineConfig(batch_size=10, batch_interval=0.0))


def place(engine, ex, trader, size, price, tif=TimeInForce.GTC):
    order = ex.order(trader, size, price)
    decision = engine.submit(order, ex.sign(order, trader), tif)
    assert decision.accepted, (decision.reason, decision.detail)
    return order, decision


def size_of(ex, trader):
    return ex.market.positionOf(trader)[0]


def test_signed_orders__matched_settled_and_positions_on_chain(engine, ex, alice, bob, carol):
    place(engine, ex, alice, -WAD, PRICE)
    bob_order, _ = place(engine, ex, bob, -WAD // 2, PRICE + 10 * WAD)
    _, taken = place(engine, ex, carol, 6 * WAD // 5, PRICE + 10 * WAD)
    assert [(f.maker.trader, f.amount, f.price) for f in taken.fills] == [
        (alice.address, WAD, PRICE),
        (bob.address, WAD // 5, PRICE + 10 * WAD),
    ]

    report = engine.flush()

    assert (len(report.settled), report.dropped, len(report.receipts)) == (2, [], 1)
    assert (size_of(ex, alice), size_of(ex, bob), size_of(ex, carol)) == (-WAD, -WAD // 5, 6 * WAD // 5)
    assert ex.router.filled(engine.hash(bob_order)) == WAD // 5
    assert engine.depth(0)["asks"] == [(PRICE + 10 * WAD, 3 * WAD // 10, 1)]


def test_order_without_margin__rejected_at_the_door(engine, ex, dave):
    order = ex.order(dave, WAD, PRICE)
    decision = engine.submit(order, ex.sign(order, dave))
    assert (decision.accepted, decision.reason) == (False, Reason.INSUFFICIENT_MARGIN)


def test_trader_who_withdrew_margin__fill_bisected_out_and_the_rest_settle(engine, ex, alice, bob, carol, erin):
    place(engine, ex, alice, -WAD // 10, PRICE)
    place(engine, ex, carol, -3 * WAD, PRICE)  # admitted: 20,000 covers 3 x 6,000 ...
    place(engine, ex, erin, -WAD // 10, PRICE + WAD)
    place(engine, ex, bob, 32 * WAD // 10, PRICE + WAD)
    ex.router.withdraw(ex.market_id, 15_000 * USDC, sender=carol)  # ... until she takes 15,000 out

    report = engine.flush()

    assert [(d.fill.maker.trader, d.error.split("(")[0]) for d in report.dropped] == [
        (carol.address, "InsufficientMargin")
    ]
    assert [f.maker.trader for f in report.settled] == [alice.address, erin.address]
    assert [size_of(ex, t) for t in (alice, carol, erin, bob)] == [-WAD // 10, 0, -WAD // 10, WAD // 5]
    # the buyer lost carol's 3 BTC through no fault of its own: it rests again for them
    assert engine.depth(0) == {"bids": [(PRICE + WAD, 3 * WAD, 1)], "asks": []}


def test_order_cancelled_on_chain_after_acceptance__bisected_out(engine, ex, alice, bob, carol):
    alice_order, _ = place(engine, ex, alice, -WAD, PRICE)
    place(engine, ex, bob, -WAD, PRICE)
    place(engine, ex, carol, 2 * WAD, PRICE)
    ex.router.cancelOrder(alice_order.as_tuple(), sender=alice)

    report = engine.flush()

    assert [d.blamed for d in report.dropped] == [[engine.hash(alice_order)]]
    assert report.dropped[0].error.startswith("OrderIsCancelled(orderHash=0x")
    assert (size_of(ex, alice), size_of(ex, bob), size_of(ex, carol)) == (0, -WAD, WAD)
    assert engine.depth(0)["bids"] == [(PRICE, WAD, 1)]


def test_quotes__recorded_once_per_change_and_the_mark_moves(engine, ex, alice, bob):
    assert ex.funding.markPrice(ex.market_id) == PRICE
    place(engine, ex, alice, WAD // 10, PRICE + 500 * WAD)
    place(engine, ex, bob, -WAD // 10, PRICE + 700 * WAD)

    assert engine.publish_quotes() == [(0, PRICE + 500 * WAD, PRICE + 700 * WAD)]
    assert engine.publish_quotes() == []  # unchanged book: nothing sent
    assert ex.funding.markPrice(ex.market_id) == PRICE + 20 * WAD  # index + 600 / 30: the ring starts as 30 zeros

    place(engine, ex, alice, WAD // 10, PRICE + 600 * WAD)
    assert engine.publish_quotes() == []  # changed, but still the block of the last quote
    ex.chain.mine()
    assert engine.publish_quotes() == [(0, PRICE + 600 * WAD, PRICE + 700 * WAD)]
    assert ex.funding.markPrice(ex.market_id) == PRICE + 1_250 * WAD // 30  # (600 + 650) / 30, truncated


def test_http_api__accepts_an_order_and_serves_the_book(engine, ex, alice, bob):
    server = serve(engine, port=0)
    try:
        api = ApiClient(server.url)
        order = ex.order(alice, WAD, PRICE - WAD)
        status, body = api.submit(order, ex.sign(order, alice))
        assert (status, body["accepted"], body["resting"]) == (200, True, str(WAD))

        forged = ex.order(alice, WAD, PRICE - 2 * WAD)
        status, body = api.submit(forged, ex.sign(forged, bob))
        assert (status, body["reason"]) == (422, "BAD_SIGNATURE")

        status, book = api.book(ex.market_id)
        assert status == 200
        assert book == {
            "marketId": 0,
            "bestBid": str(PRICE - WAD),
            "bestAsk": None,
            "bids": [{"price": str(PRICE - WAD), "size": str(WAD), "orders": 1}],
            "asks": [],
        }
        assert api.health()[1]["orders"] == 1

        h = "0x" + engine.hash(order).hex()
        assert api.cancel(h, sign_cancel(h, bob.private_key))[0] == 403
        assert api.cancel(h, sign_cancel(h, alice.private_key)) == (200, {"cancelled": True, "hash": h})
        assert api.book(ex.market_id)[1]["bids"] == []
    finally:
        server.stop()
