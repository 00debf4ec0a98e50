"""PerpRouter orders: hashOrder (EIP-712), filled, cancelOrder, cancelUpTo."""

import pytest

from perpkit.orders import Order, order_digest
from tests.conftest import WAD
from tests.unit.router.conftest import MAX_UINT, PRICE, cancelled_error, cancelled_event, digest, reverts

pytestmark = pytest.mark.usefixtures("fx")

HALF = WAD // 2


def _settle(fx, *fills):
    return fx.router.settle(list(fills), sender=fx.matcher)


def _pair(fx, maker, taker, size, **maker_kw):
    """A maker order of `size` at PRICE (with `maker_kw`) and a taker order taking all of it."""
    return fx.order(maker, size, PRICE, **maker_kw), fx.order(taker, -size, PRICE)


# ---------------------------------------------------------------- hashOrder


HASH_CASES = {
    "long": lambda t: Order(t, 0, WAD, PRICE, 0, 1_800_000_000, False),
    "short_reduce_only": lambda t: Order(t, 0, -3 * WAD // 2, 59_999 * WAD + 1, 42, 2**40, True),
    "extremes": lambda t: Order(t, MAX_UINT, -(2**255), MAX_UINT, MAX_UINT, MAX_UINT, True),
    "max_size": lambda t: Order(t, 7, 2**255 - 1, 1, 2**128, 0, False),
}


@pytest.mark.parametrize("case", HASH_CASES, ids=list(HASH_CASES))
def test_hashOrder__equals_perpkit_order_digest(chain, fx, alice, case):
    order = HASH_CASES[case](alice.address)
    assert digest(fx, order) == order_digest(order, chain.chain_id, fx.router.address)


def test_hashOrder__every_field_changes_the_hash(fx, alice, bob):
    base = Order(alice.address, 0, WAD, PRICE, 3, 1_800_000_000, False)
    variants = [
        base,
        Order(bob.address, 0, WAD, PRICE, 3, 1_800_000_000, False),
        Order(alice.address, 1, WAD, PRICE, 3, 1_800_000_000, False),
        Order(alice.address, 0, -WAD, PRICE, 3, 1_800_000_000, False),
        Order(alice.address, 0, WAD, PRICE + 1, 3, 1_800_000_000, False),
        Order(alice.address, 0, WAD, PRICE, 4, 1_800_000_000, False),
        Order(alice.address, 0, WAD, PRICE, 3, 1_800_000_001, False),
        Order(alice.address, 0, WAD, PRICE, 3, 1_800_000_000, True),
    ]
    assert len({digest(fx, o) for o in variants}) == len(variants)


def test_hashOrder__bound_to_the_router(project, chain, owner, fx, alice):
    other = owner.deploy(project.PerpRouter, owner, fx.router.factory())
    order = Order(alice.address, 0, WAD, PRICE, 0, 1_800_000_000, False)
    assert bytes(other.hashOrder(order.as_tuple())) == order_digest(order, chain.chain_id, other.address)
    assert bytes(other.hashOrder(order.as_tuple())) != digest(fx, order)


def test_hashOrder__follows_a_chain_id_change(chain, fx, alice):
    order = Order(alice.address, 0, WAD, PRICE, 0, 1_800_000_000, False)
    here = digest(fx, order)
    chain.provider.make_request("anvil_setChainId", [2522])
    try:
        forked = digest(fx, order)
    finally:
        chain.provider.make_request("anvil_setChainId", [31337])
    assert forked == order_digest(order, 2522, fx.router.address)
    assert forked != here
    assert digest(fx, order) == here


# ---------------------------------------------------------------- filled


def test_filled__unknown_order_is_zero(fx, alice):
    assert fx.router.filled(digest(fx, fx.order(alice, WAD, PRICE))) == 0


def test_filled__records_amount_per_order(fx, alice, bob):
    mk, tk = fx.order(alice, 2 * WAD, PRICE), fx.order(bob, -3 * WAD, PRICE)
    _settle(fx, fx.fill(mk, tk, 5 * HALF // 2, alice, bob))
    assert fx.router.filled(digest(fx, mk)) == 5 * HALF // 2
    assert fx.router.filled(digest(fx, tk)) == 5 * HALF // 2


# ---------------------------------------------------------------- cancelOrder


def test_cancelOrder__trader_cancels(fx, alice, bob):
    mk, tk = _pair(fx, alice, bob, WAD)
    h = digest(fx, mk)
    receipt = fx.router.cancelOrder(mk.as_tuple(), sender=alice)

    assert fx.router.filled(h) == MAX_UINT
    [event] = receipt.events.filter(cancelled_event(fx.router))
    assert (event["trader"], bytes(event["orderHash"])) == (alice.address, h)
    with reverts(cancelled_error(fx.router), orderHash=h):
        _settle(fx, fx.fill(mk, tk, WAD, alice, bob))
    assert fx.market.positionOf(alice)[0] == 0


def test_cancelOrder__operator_cancels(fx, alice, bob, carol):
    mk, tk = _pair(fx, alice, bob, WAD)
    h = digest(fx, mk)
    fx.router.setOperator(carol, True, sender=alice)
    receipt = fx.router.cancelOrder(mk.as_tuple(), sender=carol)

    assert fx.router.filled(h) == MAX_UINT
    [event] = receipt.events.filter(cancelled_event(fx.router))
    assert (event["trader"], bytes(event["orderHash"])) == (alice.address, h)
    with reverts(cancelled_error(fx.router), orderHash=h):
        _settle(fx, fx.fill(mk, tk, WAD, alice, bob))


@pytest.mark.parametrize("who", ["bob", "matcher", "owner"])
def test_cancelOrder__other_caller_reverts(request, fx, alice, who):
    caller = request.getfixturevalue(who)
    order = fx.order(alice, WAD, PRICE)
    with reverts(fx.router.NotAuthorized, caller=caller.address, account=alice.address):
        fx.router.cancelOrder(order.as_tuple(), sender=caller)
    assert fx.router.filled(digest(fx, order)) == 0


def test_cancelOrder__revoked_operator_reverts(fx, alice, carol):
    order = fx.order(alice, WAD, PRICE)
    fx.router.setOperator(carol, True, sender=alice)
    fx.router.setOperator(carol, False, sender=alice)
    with reverts(fx.router.NotAuthorized, caller=carol.address, account=alice.address):
        fx.router.cancelOrder(order.as_tuple(), sender=carol)


def test_cancelOrder__second_cancel_reverts(fx, alice):
    order = fx.order(alice, WAD, PRICE)
    fx.router.cancelOrder(order.as_tuple(), sender=alice)
    with reverts(cancelled_error(fx.router), orderHash=digest(fx, order)):
        fx.router.cancelOrder(order.as_tuple(), sender=alice)


def test_cancelOrder__cancelled_taker_order_refused(fx, alice, bob):
    mk, tk = _pair(fx, alice, bob, WAD)
    fx.router.cancelOrder(tk.as_tuple(), sender=bob)
    with reverts(cancelled_error(fx.router), orderHash=digest(fx, tk)):
        _settle(fx, fx.fill(mk, tk, WAD, alice, bob))


def test_cancelOrder__remainder_of_partly_filled_order_refused(fx, alice, bob, carol):
    mk = fx.order(alice, WAD, PRICE)
    _settle(fx, fx.fill(mk, fx.order(bob, -HALF, PRICE), HALF, alice, bob))
    fx.router.cancelOrder(mk.as_tuple(), sender=alice)
    with reverts(cancelled_error(fx.router), orderHash=digest(fx, mk)):
        _settle(fx, fx.fill(mk, fx.order(carol, -HALF, PRICE), HALF, alice, carol))
    assert fx.market.positionOf(alice)[0] == HALF
    assert fx.market.positionOf(carol)[0] == 0


def test_cancelOrder__other_orders_of_the_trader_still_fill(fx, alice, bob):
    cancelled = fx.order(alice, WAD, PRICE)
    fx.router.cancelOrder(cancelled.as_tuple(), sender=alice)
    mk, tk = _pair(fx, alice, bob, WAD)
    _settle(fx, fx.fill(mk, tk, WAD, alice, bob))
    assert fx.market.positionOf(alice)[0] == WAD


# ---------------------------------------------------------------- cancelUpTo


def test_cancelUpTo__raises_the_nonce_floor(fx, alice):
    receipt = fx.router.cancelUpTo(5, sender=alice)
    assert fx.router.minNonce(alice) == 6
    [event] = receipt.events.filter(fx.router.NoncesCancelled)
    assert (event["trader"], event["minNonce"]) == (alice.address, 6)


@pytest.mark.parametrize("nonce", [0, 4, 5])
def test_cancelUpTo__orders_at_or_below_the_nonce_refused(fx, alice, bob, nonce):
    fx.router.cancelUpTo(5, sender=alice)
    mk, tk = fx.order(alice, WAD, PRICE, nonce=nonce), fx.order(bob, -WAD, PRICE, nonce=nonce)
    with reverts(cancelled_error(fx.router), orderHash=digest(fx, mk)):
        _settle(fx, fx.fill(mk, tk, WAD, alice, bob))


def test_cancelUpTo__next_nonce_accepted(fx, alice, bob):
    fx.router.cancelUpTo(5, sender=alice)
    mk, tk = fx.order(alice, WAD, PRICE, nonce=6), fx.order(bob, -WAD, PRICE, nonce=0)
    _settle(fx, fx.fill(mk, tk, WAD, alice, bob))
    assert fx.market.positionOf(alice)[0] == WAD
    assert fx.router.filled(digest(fx, mk)) == WAD


def test_cancelUpTo__taker_orders_refused_too(fx, alice, bob):
    fx.router.cancelUpTo(0, sender=bob)
    mk, tk = fx.order(alice, WAD, PRICE, nonce=0), fx.order(bob, -WAD, PRICE, nonce=0)
    with reverts(cancelled_error(fx.router), orderHash=digest(fx, tk)):
        _settle(fx, fx.fill(mk, tk, WAD, alice, bob))


def test_cancelUpTo__only_the_callers_orders(fx, alice, bob):
    fx.router.cancelUpTo(10, sender=alice)
    assert fx.router.minNonce(bob) == 0
    mk, tk = fx.order(bob, WAD, PRICE, nonce=3), fx.order(alice, -WAD, PRICE, nonce=11)
    _settle(fx, fx.fill(mk, tk, WAD, bob, alice))
    assert fx.market.positionOf(bob)[0] == WAD


@pytest.mark.parametrize("nonce", [4, 5])
def test_cancelUpTo__not_increasing_reverts(fx, alice, nonce):
    fx.router.cancelUpTo(5, sender=alice)
    with reverts(fx.router.NonceNotIncreasing, nonce=nonce, minNonce=6):
        fx.router.cancelUpTo(nonce, sender=alice)
    assert fx.router.minNonce(alice) == 6


def test_cancelUpTo__can_be_raised_again(fx, alice):
    fx.router.cancelUpTo(5, sender=alice)
    fx.router.cancelUpTo(6, sender=alice)
    assert fx.router.minNonce(alice) == 7


def test_cancelUpTo__max_nonce_reverts(fx, alice):
    with reverts(fx.router.NonceNotIncreasing, nonce=MAX_UINT, minNonce=0):
        fx.router.cancelUpTo(MAX_UINT, sender=alice)
    assert fx.router.minNonce(alice) == 0


def test_cancelUpTo__largest_nonce_below_max_accepted(fx, alice):
    fx.router.cancelUpTo(MAX_UINT - 1, sender=alice)
    assert fx.router.minNonce(alice) == MAX_UINT
