"""Signature replay from the attacker's side (the matcher, or anyone relaying fills): an order
signed for one market, chain or router is refused on another, and a filled order is not filled
twice (DESIGN invariant 7.8)."""

import dataclasses

from perpkit.orders import fill_tuple, sign_order
from tests.adversarial.conftest import BTC, usd
from tests.conftest import WAD, funding_params, market_params
from tests.reverts import reverts


def _fund(ex, *accounts):
    for who in accounts:
        ex.fund(who, usd(10_000))


def _replay(ex, order, signature, taker_signer):
    """A fill of `order` (alice's, with `signature`) against a fresh taker order on `ex`."""
    taker = ex.order(taker_signer, -order.size, order.limit_price, market_id=order.market_id)
    return ex.router.settle([fill_tuple(order, signature, taker, ex.sign(taker, taker_signer), WAD)], sender=ex.matcher)


def _hash(router, order):
    return router.hashOrder(order.as_tuple())


def test_order_signed_for_another_market__refused(ex, owner, alice, bob):
    ex.router.createMarket(ex.token, ex.oracle, market_params(), funding_params(), sender=owner)
    _fund(ex, alice, bob)
    order = ex.order(alice, WAD, BTC)  # signed for market 0
    moved = dataclasses.replace(order, market_id=1)
    with reverts(ex.router.InvalidSignature, trader=alice.address, orderHash=_hash(ex.router, moved)):
        _replay(ex, moved, ex.sign(order, alice), bob)


def test_order_signed_for_another_chain__refused(ex, chain, alice, bob):
    _fund(ex, alice, bob)
    order = ex.order(alice, WAD, BTC)
    foreign = sign_order(order, alice.private_key, chain.chain_id + 1, ex.router.address)
    with reverts(ex.router.InvalidSignature, trader=alice.address, orderHash=_hash(ex.router, order)):
        _replay(ex, order, foreign, bob)


def test_order_signed_for_another_router__refused(ex, make_exchange, alice, bob):
    other = make_exchange(decimals=18)
    _fund(other, alice, bob)
    order = ex.order(alice, WAD, BTC)
    with reverts(other.router.InvalidSignature, trader=alice.address, orderHash=_hash(other.router, order)):
        _replay(other, order, ex.sign(order, alice), bob)


def test_filled_order__second_fill_refused(ex, alice, bob):
    _fund(ex, alice, bob)
    maker, taker = ex.order(alice, WAD, BTC), ex.order(bob, -WAD, BTC)
    fill = ex.fill(maker, taker, WAD, alice, bob)
    ex.router.settle([fill], sender=ex.matcher)
    with reverts(ex.router.FillExceedsOrder, orderHash=_hash(ex.router, maker), amount=WAD, remaining=0):
        ex.router.settle([fill], sender=ex.matcher)
    assert ex.market.positionOf(alice)[0] == WAD
