"""The order book alone (no chain): price-time priority, partial fills, time in force,
reduce-only, expiry, cancel and best bid/ask. Sizes and prices are small integers: the book
does no unit arithmetic, so WAD would only make the numbers harder to read."""

import pytest

from perpkit.engine.book import OrderBook, Reason, TimeInForce
from perpkit.orders import Order

ALICE, BOB, CAROL = "0xA11ce", "0xB0b", "0xCa401"
FAR = 10**10  # an expiry that never comes in these tests
_nonces = iter(range(10**9))


def order(trader, size, price, *, expiry=FAR, reduce_only=False, market=0):
    return Order(trader, market, size, price, next(_nonces), expiry, reduce_only)


@pytest.fixture
def book():
    return OrderBook(market_id=0)


def fills_of(result):
    """(maker trader, taker trader, amount, price) per fill: what a test reads at a glance."""
    return [(f.maker.trader, f.taker.trader, f.amount, f.price) for f in result.fills]


def test_submit_limit__rests_and_sets_best_bid_and_ask(book):
    book.submit(order(ALICE, 5, 99))
    book.submit(order(ALICE, 3, 98))
    book.submit(order(BOB, -4, 101))
    assert book.quote() == (99, 101)
    assert len(book) == 3


def test_empty_book__has_no_quote(book):
    assert book.quote() == (None, None)
    assert book.depth() == {"bids": [], "asks": []}


def test_match__better_price_fills_first(book):
    book.submit(order(ALICE, -1, 101))
    book.submit(order(BOB, -1, 100))
    book.submit(order(ALICE, -1, 102))
    result = book.submit(order(CAROL, 2, 102))
    assert fills_of(result) == [(BOB, CAROL, 1, 100), (ALICE, CAROL, 1, 101)]
    assert book.quote() == (None, 102)


def test_match__earlier_order_at_a_price_fills_first(book):
    book.submit(order(ALICE, -2, 100))
    book.submit(order(BOB, -2, 100))
    result = book.submit(order(CAROL, 3, 100))
    assert fills_of(result) == [(ALICE, CAROL, 2, 100), (BOB, CAROL, 1, 100)]


def test_match__fill_price_is_the_makers_limit(book):
    """The taker's better limit gives it price improvement: PerpRouter prices at the maker's."""
    book.submit(order(ALICE, 1, 95))
    result = book.submit(order(BOB, -1, 90))
    assert fills_of(result) == [(ALICE, BOB, 1, 95)]


def test_partial_fill__maker_keeps_its_place_with_the_rest(book):
    first = order(ALICE, -5, 100)
    book.submit(first)
    book.submit(order(BOB, -5, 100))
    book.submit(order(CAROL, 2, 100))
    assert book.get(first).remaining == 3
    result = book.submit(order(CAROL, 3, 100))
    assert fills_of(result) == [(ALICE, CAROL, 3, 100)]
    assert book.depth()["asks"] == [(100, 5, 1)]


def test_partial_fill__taker_rest_rests_at_its_limit(book):
    book.submit(order(ALICE, -2, 100))
    taker = order(BOB, 5, 101)
    result = book.submit(taker)
    assert fills_of(result) == [(ALICE, BOB, 2, 100)]
    assert result.resting == 3
    assert book.quote() == (101, None)
    assert book.get(taker).remaining == 3


def test_submit_with_chain_filled__only_the_rest_is_matched(book):
    book.submit(order(ALICE, -10, 100))
    result = book.submit(order(BOB, 5, 100), filled=3)
    assert fills_of(result) == [(ALICE, BOB, 2, 100)]


def test_ioc__remainder_is_dropped_not_rested(book):
    book.submit(order(ALICE, -2, 100))
    taker = order(BOB, 5, 100)
    result = book.submit(taker, tif=TimeInForce.IOC)
    assert fills_of(result) == [(ALICE, BOB, 2, 100)]
    assert result.resting == 0
    assert result.removed == [(taker, Reason.IOC_REMAINDER)]
    assert book.quote() == (None, None)


def test_ioc_without_liquidity__accepted_with_nothing_filled(book):
    book.submit(order(ALICE, -2, 105))
    result = book.submit(order(BOB, 2, 100), tif=TimeInForce.IOC)
    assert result.accepted and result.fills == [] and result.resting == 0
    assert book.quote() == (None, 105)


def test_post_only_that_would_cross__rejected_and_book_unchanged(book):
    book.submit(order(ALICE, -2, 100))
    result = book.submit(order(BOB, 1, 100), tif=TimeInForce.POST_ONLY)
    assert (result.accepted, result.reason, result.fills) == (False, Reason.POST_ONLY_WOULD_CROSS, [])
    assert book.depth() == {"bids": [], "asks": [(100, 2, 1)]}


def test_post_only_below_the_ask__rests(book):
    book.submit(order(ALICE, -2, 100))
    result = book.submit(order(BOB, 1, 99), tif=TimeInForce.POST_ONLY)
    assert result.accepted and result.resting == 1
    assert book.quote() == (99, 100)


def test_reduce_only_when_flat__rejected(book):
    book.submit(order(ALICE, -2, 100))
    result = book.submit(order(BOB, 1, 100, reduce_only=True))
    assert (result.accepted, result.reason) == (False, Reason.REDUCE_ONLY)


def test_reduce_only_on_the_same_side_as_the_position__rejected(book):
    book.positions[BOB] = 3  # long: a reduce-only buy would grow it
    result = book.submit(order(BOB, 1, 100, reduce_only=True))
    assert result.reason is Reason.REDUCE_ONLY


def test_reduce_only_taker__fill_capped_at_the_position(book):
    book.positions[BOB] = -2
    book.submit(order(ALICE, -5, 100))
    taker = order(BOB, 5, 100, reduce_only=True)
    result = book.submit(taker)
    assert fills_of(result) == [(ALICE, BOB, 2, 100)]
    assert result.removed == [(taker, Reason.REDUCE_ONLY)]  # nothing left to reduce: not rested
    assert book.position(BOB) == 0


def test_reduce_only_maker_with_position_gone__removed_when_hit(book):
    book.positions[ALICE] = 1
    maker = order(ALICE, -3, 100, reduce_only=True)
    book.submit(maker)
    book.positions[ALICE] = 0  # the long closed elsewhere (e.g. liquidated), as the chain reports
    book.submit(order(CAROL, -4, 100))
    result = book.submit(order(BOB, 2, 100))
    assert fills_of(result) == [(CAROL, BOB, 2, 100)]
    assert (maker, Reason.REDUCE_ONLY) in result.removed


def test_expired_order__rejected(book):
    result = book.submit(order(ALICE, 1, 100, expiry=1_000), now=1_001)
    assert (result.accepted, result.reason) == (False, Reason.EXPIRED)


def test_order_expiring_now__still_accepted(book):
    """The contract refuses only `block.timestamp > expiry`."""
    assert book.submit(order(ALICE, 1, 100, expiry=1_000), now=1_000).accepted


def test_expired_makers__removed_before_matching(book):
    stale = order(ALICE, -1, 99, expiry=1_000)
    book.submit(stale, now=900)
    book.submit(order(BOB, -1, 100), now=900)
    result = book.submit(order(CAROL, 1, 100), now=1_001)
    assert fills_of(result) == [(BOB, CAROL, 1, 100)]
    assert result.removed == [(stale, Reason.EXPIRED)]


def test_expire__returns_the_expired_ids_and_keeps_the_rest(book):
    a = order(ALICE, 1, 99, expiry=1_000)
    b = order(BOB, 1, 98, expiry=2_000)
    book.submit(a)
    book.submit(b)
    assert book.expire(1_500) == [a]
    assert book.quote() == (98, None)


def test_cancel__removes_the_order_and_its_empty_level(book):
    o = order(ALICE, 2, 99)
    book.submit(o)
    book.submit(order(ALICE, 2, 98))
    assert book.cancel(o).order == o
    assert book.quote() == (98, None)
    assert book.cancel(o) is None


def test_cancel_inside_a_queue__the_others_keep_their_order(book):
    a, b, c = order(ALICE, -1, 100), order(BOB, -1, 100), order(CAROL, -1, 100)
    for o in (a, b, c):
        book.submit(o)
    book.cancel(b)
    assert book.depth()["asks"] == [(100, 2, 2)]
    result = book.submit(order("0xD", 2, 100))
    assert [f.maker for f in result.fills] == [a, c]


def test_self_trade__resting_order_removed_instead_of_filled(book):
    own = order(ALICE, -1, 100)
    book.submit(own)
    book.submit(order(BOB, -1, 100))
    result = book.submit(order(ALICE, 1, 100))
    assert fills_of(result) == [(BOB, ALICE, 1, 100)]
    assert result.removed == [(own, Reason.SELF_TRADE)]


def test_duplicate_order__rejected(book):
    o = order(ALICE, 1, 99)
    book.submit(o)
    assert book.submit(o).reason is Reason.DUPLICATE


def test_order_filled_on_chain__rejected(book):
    assert book.submit(order(ALICE, 3, 99), filled=3).reason is Reason.FILLED


@pytest.mark.parametrize("size, price", [(0, 100), (1, 0)])
def test_zero_size_or_price__rejected(book, size, price):
    assert book.submit(order(ALICE, size, price)).reason is Reason.INVALID_ORDER


def test_order_for_another_market__rejected(book):
    assert book.submit(order(ALICE, 1, 99, market=1)).reason is Reason.WRONG_MARKET


def test_set_remaining__adjusts_volume_and_keeps_priority(book):
    a, b = order(ALICE, -5, 100), order(BOB, -5, 100)
    book.submit(a)
    book.submit(b)
    book.set_remaining(a, 2)
    assert book.depth()["asks"] == [(100, 7, 2)]
    result = book.submit(order(CAROL, 3, 100))
    assert fills_of(result) == [(ALICE, CAROL, 2, 100), (BOB, CAROL, 1, 100)]


def test_set_remaining_to_zero__removes_the_order(book):
    a = order(ALICE, -5, 100)
    book.submit(a)
    book.set_remaining(a, 0)
    assert a not in book and book.quote() == (None, None)


def test_depth__aggregates_levels_best_first(book):
    for trader, size, price in ((ALICE, 1, 98), (BOB, 2, 99), (CAROL, 3, 99), (ALICE, -1, 101), (BOB, -4, 103)):
        book.submit(order(trader, size, price))
    assert book.depth(levels=5) == {"bids": [(99, 5, 2), (98, 1, 1)], "asks": [(101, 1, 1), (103, 4, 1)]}
    assert book.depth(levels=1) == {"bids": [(99, 5, 2)], "asks": [(101, 1, 1)]}


def test_fills__move_both_traders_positions(book):
    book.positions[ALICE] = 4
    book.submit(order(ALICE, -3, 100))
    book.submit(order(BOB, 2, 100))
    assert (book.position(ALICE), book.position(BOB)) == (2, 2)


def test_open_exposure__sums_resting_orders_per_side(book):
    book.submit(order(ALICE, 2, 98))
    book.submit(order(ALICE, 3, 97))
    book.submit(order(ALICE, -1, 105))
    assert book.open_exposure(ALICE) == (5, 1)
    assert book.open_exposure(BOB) == (0, 0)


def test_sweep_through_many_levels__every_level_consumed_in_order(book):
    """A taker larger than the book empties it level by level and rests the rest."""
    for i in range(50):
        book.submit(order(ALICE, -1, 100 + i))
    result = book.submit(order(BOB, 60, 200))
    assert [f.price for f in result.fills] == list(range(100, 150))
    assert result.resting == 10 and book.quote() == (200, None)
