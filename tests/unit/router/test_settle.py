"""PerpRouter.settle: access, every order check, partial fills, reduce-only, price band, OI cap,
margin and pause as seen through the router, events, and all-or-nothing batches."""

import pytest

from perpkit.orders import fill_tuple, order_digest
from tests.conftest import FEED_DECIMALS, WAD, market_params
from tests.unit.router.conftest import DEPOSIT, PRICE, cancelled_error, digest, reverts

pytestmark = pytest.mark.usefixtures("fx")

CAPITAL = DEPOSIT * 10**12  # each funded trader's capital in WAD
MAKER_FEE = 12 * WAD  # 2 bp of 1 BTC at 60,000
TAKER_FEE = 30 * WAD  # 5 bp
BAND = 5 * 10**16
TENTH = WAD // 10


def _settle(fx, *fills):
    return fx.router.settle(list(fills), sender=fx.matcher)


def _fill(fx, maker, maker_size, taker, amount=None, price=PRICE, taker_price=None, taker_size=None, **kw):
    """Signed orders of `maker` (signed `maker_size` at `price`) and `taker` (the opposite side, at
    `taker_price`, default `price`), filled for `amount` (default all of the maker's order)."""
    mk = fx.order(maker, maker_size, price, **kw)
    tk = fx.order(taker, -maker_size if taker_size is None else taker_size, taker_price or price)
    return mk, tk, fx.fill(mk, tk, abs(maker_size) if amount is None else amount, maker, taker)


def _snapshot(fx, *traders):
    """Everything a refused settle must leave unchanged."""
    return (
        [tuple(fx.market.accountOf(t)) for t in traders],
        fx.market.openInterest(),
        fx.market.insuranceFund(),
        fx.market.capitalTotal(),
        fx.market.vault(),
        fx.token.balanceOf(fx.market),
    )


# ---------------------------------------------------------------- a fill


def test_settle__opens_opposite_positions_at_the_maker_price(chain, fx, alice, bob):
    # bob would sell down to 59,000; he gets alice's 60,000.
    mk, tk, fill = _fill(fx, alice, WAD, bob, taker_price=59_000 * WAD)
    receipt = _settle(fx, fill)

    assert fx.market.positionOf(alice) == (WAD, PRICE, 0)
    assert fx.market.positionOf(bob) == (-WAD, -PRICE, 0)
    assert fx.market.capitalOf(alice) == CAPITAL - MAKER_FEE
    assert fx.market.capitalOf(bob) == CAPITAL - TAKER_FEE
    assert fx.market.insuranceFund() == MAKER_FEE + TAKER_FEE
    assert fx.market.openInterest() == (WAD, WAD)
    assert fx.market.vault() == 3 * CAPITAL
    assert fx.token.balanceOf(fx.market) == 3 * DEPOSIT
    assert (fx.router.filled(digest(fx, mk)), fx.router.filled(digest(fx, tk))) == (WAD, WAD)

    [event] = receipt.events.filter(fx.router.OrderFilled)
    assert bytes(event["makerHash"]) == order_digest(mk, chain.chain_id, fx.router.address)
    assert bytes(event["takerHash"]) == order_digest(tk, chain.chain_id, fx.router.address)
    assert (event["marketId"], event["maker"], event["taker"], event["makerDelta"], event["price"]) == (
        0,
        alice.address,
        bob.address,
        WAD,
        PRICE,
    )
    changes = [
        (e["account"], e["size"], e["openNotional"], e["price"], e["realizedPnl"], e["fee"])
        for e in receipt.events.filter(fx.market.PositionChanged)
    ]
    assert changes == [
        (alice.address, WAD, PRICE, PRICE, 0, MAKER_FEE),
        (bob.address, -WAD, -PRICE, PRICE, 0, TAKER_FEE),
    ]


def test_settle__maker_sell_fills_at_its_limit_below_the_takers_bid(fx, alice, bob):
    mk, tk, fill = _fill(fx, alice, -WAD, bob, taker_price=61_000 * WAD)
    receipt = _settle(fx, fill)
    assert fx.market.positionOf(bob)[:2] == (WAD, PRICE)
    assert fx.market.positionOf(alice)[:2] == (-WAD, -PRICE)
    [event] = receipt.events.filter(fx.router.OrderFilled)
    assert (event["makerDelta"], event["price"]) == (-WAD, PRICE)


def test_settle__several_fills_emit_one_event_each(fx, alice, bob, carol):
    mk1, tk1, f1 = _fill(fx, alice, WAD, bob)
    mk2, tk2, f2 = _fill(fx, carol, -2 * WAD, alice, price=PRICE + WAD)
    receipt = _settle(fx, f1, f2)
    events = [
        (bytes(e["makerHash"]), bytes(e["takerHash"]), e["maker"], e["taker"], e["makerDelta"], e["price"])
        for e in receipt.events.filter(fx.router.OrderFilled)
    ]
    assert events == [
        (digest(fx, mk1), digest(fx, tk1), alice.address, bob.address, WAD, PRICE),
        (digest(fx, mk2), digest(fx, tk2), carol.address, alice.address, -2 * WAD, PRICE + WAD),
    ]
    assert fx.market.positionOf(alice)[:2] == (3 * WAD, 3 * PRICE + 2 * WAD)
    assert fx.market.openInterest() == (3 * WAD, 3 * WAD)


# ---------------------------------------------------------------- access and shape


@pytest.mark.parametrize("who", ["alice", "owner", "guardian"])
def test_settle__non_matcher_reverts(request, fx, alice, bob, who):
    caller = request.getfixturevalue(who)
    _, _, fill = _fill(fx, alice, WAD, bob)
    with reverts(fx.router.OnlyMatcher, caller=caller.address):
        fx.router.settle([fill], sender=caller)


def test_settle__former_matcher_reverts_after_setMatcher(fx, owner, alice, bob, carol, matcher):
    fx.router.setMatcher(carol, sender=owner)
    _, _, fill = _fill(fx, alice, WAD, bob)
    with reverts(fx.router.OnlyMatcher, caller=matcher.address):
        fx.router.settle([fill], sender=matcher)
    fx.router.settle([fill], sender=carol)
    assert fx.market.positionOf(alice)[0] == WAD


def test_settle__empty_batch_reverts(fx):
    with reverts(fx.router.EmptyBatch):
        _settle(fx)


def test_settle__orders_of_different_markets_revert(fx, alice, bob):
    mk = fx.order(alice, WAD, PRICE)
    tk = fx.order(bob, -WAD, PRICE, market_id=1)
    with reverts(fx.router.MarketMismatch, makerMarketId=0, takerMarketId=1):
        _settle(fx, fx.fill(mk, tk, WAD, alice, bob))


def test_settle__unknown_market_reverts(fx, alice, bob):
    mk = fx.order(alice, WAD, PRICE, market_id=1)
    tk = fx.order(bob, -WAD, PRICE, market_id=1)
    with reverts(fx.router.UnknownMarket, marketId=1):
        _settle(fx, fx.fill(mk, tk, WAD, alice, bob))


@pytest.mark.parametrize(
    "maker_size, taker_size",
    [(WAD, WAD), (-WAD, -WAD), (0, -WAD), (WAD, 0), (0, 0)],
    ids=["both_long", "both_short", "maker_zero", "taker_zero", "both_zero"],
)
def test_settle__same_side_reverts(fx, alice, bob, maker_size, taker_size):
    _, _, fill = _fill(fx, alice, maker_size, bob, amount=WAD, taker_size=taker_size)
    with reverts(fx.router.SameSide, makerSize=maker_size, takerSize=taker_size):
        _settle(fx, fill)


def test_settle__taker_bid_below_maker_ask_reverts(fx, alice, bob):
    _, _, fill = _fill(fx, alice, -WAD, bob, taker_price=PRICE - 1)
    with reverts(fx.router.PricesDoNotCross, makerLimitPrice=PRICE, takerLimitPrice=PRICE - 1):
        _settle(fx, fill)


def test_settle__taker_ask_above_maker_bid_reverts(fx, alice, bob):
    _, _, fill = _fill(fx, alice, WAD, bob, taker_price=PRICE + 1)
    with reverts(fx.router.PricesDoNotCross, makerLimitPrice=PRICE, takerLimitPrice=PRICE + 1):
        _settle(fx, fill)


# ---------------------------------------------------------------- expiry


@pytest.mark.parametrize("side", ["maker", "taker"])
def test_settle__at_exactly_expiry_accepted(chain, fx, alice, bob, side):
    expiry = chain.blocks.head.timestamp + 100
    mk = fx.order(alice, WAD, PRICE, expiry=expiry if side == "maker" else None)
    tk = fx.order(bob, -WAD, PRICE, expiry=expiry if side == "taker" else None)
    chain.pending_timestamp = expiry
    receipt = _settle(fx, fx.fill(mk, tk, WAD, alice, bob))
    assert receipt.timestamp == expiry
    assert fx.market.positionOf(alice)[0] == WAD


@pytest.mark.parametrize("side", ["maker", "taker"])
def test_settle__one_second_after_expiry_reverts(chain, fx, alice, bob, side):
    expiry = chain.blocks.head.timestamp + 100
    mk = fx.order(alice, WAD, PRICE, expiry=expiry if side == "maker" else None)
    tk = fx.order(bob, -WAD, PRICE, expiry=expiry if side == "taker" else None)
    expired = mk if side == "maker" else tk
    chain.pending_timestamp = expiry + 1
    with reverts(fx.router.OrderExpired, orderHash=digest(fx, expired), expiry=expiry, blockTimestamp=expiry + 1):
        _settle(fx, fx.fill(mk, tk, WAD, alice, bob))
    assert fx.market.positionOf(alice)[0] == 0


# ---------------------------------------------------------------- amounts


def test_settle__partial_fills_add_up_to_the_order(fx, alice, bob, carol):
    mk = fx.order(alice, 3 * WAD, PRICE)
    _settle(fx, fx.fill(mk, fx.order(bob, -5 * WAD // 4, PRICE), 5 * WAD // 4, alice, bob))
    assert fx.router.filled(digest(fx, mk)) == 5 * WAD // 4
    _settle(fx, fx.fill(mk, fx.order(carol, -7 * WAD // 4, PRICE), 7 * WAD // 4, alice, carol))

    assert fx.router.filled(digest(fx, mk)) == 3 * WAD
    assert fx.market.positionOf(alice)[0] == 3 * WAD
    assert fx.market.positionOf(bob)[0] == -5 * WAD // 4
    assert fx.market.positionOf(carol)[0] == -7 * WAD // 4
    more = fx.order(bob, -WAD, PRICE)
    with reverts(fx.router.FillExceedsOrder, orderHash=digest(fx, mk), amount=1, remaining=0):
        _settle(fx, fx.fill(mk, more, 1, alice, bob))


def test_settle__partial_fills_in_one_batch_add_up(fx, alice, bob, carol):
    mk = fx.order(alice, 2 * WAD, PRICE)
    f1 = fx.fill(mk, fx.order(bob, -3 * WAD // 2, PRICE), 3 * WAD // 2, alice, bob)
    f2 = fx.fill(mk, fx.order(carol, -WAD, PRICE), WAD // 2, alice, carol)
    _settle(fx, f1, f2)
    assert fx.router.filled(digest(fx, mk)) == 2 * WAD
    assert fx.market.positionOf(alice)[0] == 2 * WAD


def test_settle__overfill_within_one_batch_reverts(fx, alice, bob, carol):
    mk = fx.order(alice, 2 * WAD, PRICE)
    f1 = fx.fill(mk, fx.order(bob, -3 * WAD // 2, PRICE), 3 * WAD // 2, alice, bob)
    f2 = fx.fill(mk, fx.order(carol, -WAD, PRICE), WAD, alice, carol)
    with reverts(fx.router.FillExceedsOrder, orderHash=digest(fx, mk), amount=WAD, remaining=WAD // 2):
        _settle(fx, f1, f2)
    assert fx.router.filled(digest(fx, mk)) == 0


def test_settle__fill_larger_than_maker_order_reverts(fx, alice, bob):
    mk, _, fill = _fill(fx, alice, 2 * WAD, bob, amount=2 * WAD + 1, taker_size=-5 * WAD)
    with reverts(fx.router.FillExceedsOrder, orderHash=digest(fx, mk), amount=2 * WAD + 1, remaining=2 * WAD):
        _settle(fx, fill)


def test_settle__fill_larger_than_taker_order_reverts(fx, alice, bob):
    _, tk, fill = _fill(fx, alice, 5 * WAD, bob, amount=2 * WAD + 1, taker_size=-2 * WAD)
    with reverts(fx.router.FillExceedsOrder, orderHash=digest(fx, tk), amount=2 * WAD + 1, remaining=2 * WAD):
        _settle(fx, fill)


def test_settle__zero_amount_reverts(fx, alice, bob):
    mk, _, fill = _fill(fx, alice, WAD, bob, amount=0)
    with reverts(fx.router.FillExceedsOrder, orderHash=digest(fx, mk), amount=0, remaining=WAD):
        _settle(fx, fill)


def test_settle__replayed_fill_reverts(fx, alice, bob):
    mk, _, fill = _fill(fx, alice, WAD, bob)
    _settle(fx, fill)
    with reverts(fx.router.FillExceedsOrder, orderHash=digest(fx, mk), amount=WAD, remaining=0):
        _settle(fx, fill)
    assert fx.market.positionOf(alice)[0] == WAD


def test_settle__cancelled_order_reverts(fx, alice, bob):
    mk, _, fill = _fill(fx, alice, WAD, bob)
    fx.router.cancelOrder(mk.as_tuple(), sender=alice)
    with reverts(cancelled_error(fx.router), orderHash=digest(fx, mk)):
        _settle(fx, fill)


def test_settle__min_int_size_order_fills_like_any_other(fx, alice, bob):
    # A sell of size -2**255 ("sell any amount") is a valid signed int256: |size| = 2**255 fits in
    # uint256, so a 1-BTC fill is within what remains.
    mk = fx.order(alice, -(2**255), PRICE)
    tk = fx.order(bob, WAD, PRICE)
    _settle(fx, fx.fill(mk, tk, WAD, alice, bob))
    assert fx.router.filled(digest(fx, mk)) == WAD
    assert fx.market.positionOf(alice)[0] == -WAD


# ---------------------------------------------------------------- reduce-only


@pytest.fixture
def alice_long(fx, alice, bob):
    """alice long 1 BTC, bob short 1 BTC."""
    fx.trade(alice, bob, WAD, PRICE)


@pytest.mark.usefixtures("alice_long")
@pytest.mark.parametrize("amount", [2 * WAD // 5, WAD], ids=["partial", "full"])
def test_settle__reduce_only_maker_closing_accepted(fx, alice, carol, amount):
    fx.trade(alice, carol, -amount, PRICE, maker_reduce_only=True)
    assert fx.market.positionOf(alice)[0] == WAD - amount


@pytest.mark.usefixtures("alice_long")
def test_settle__reduce_only_maker_flip_reverts(fx, alice, carol):
    with reverts(fx.router.ReduceOnlyViolated, account=alice.address, size=WAD, delta=-3 * WAD // 2):
        fx.trade(alice, carol, -3 * WAD // 2, PRICE, maker_reduce_only=True)


@pytest.mark.usefixtures("alice_long")
def test_settle__reduce_only_maker_growth_reverts(fx, alice, carol):
    with reverts(fx.router.ReduceOnlyViolated, account=alice.address, size=WAD, delta=WAD // 2):
        fx.trade(alice, carol, WAD // 2, PRICE, maker_reduce_only=True)


def test_settle__reduce_only_from_flat_reverts(fx, alice, carol):
    with reverts(fx.router.ReduceOnlyViolated, account=carol.address, size=0, delta=-WAD):
        fx.trade(alice, carol, WAD, PRICE, taker_reduce_only=True)


@pytest.mark.usefixtures("alice_long")
def test_settle__reduce_only_taker_closing_accepted(fx, bob, carol):
    fx.trade(carol, bob, -WAD, PRICE, taker_reduce_only=True)
    assert fx.market.positionOf(bob)[0] == 0
    assert fx.market.positionOf(carol)[0] == -WAD


@pytest.mark.usefixtures("alice_long")
def test_settle__reduce_only_taker_flip_reverts(fx, bob, carol):
    with reverts(fx.router.ReduceOnlyViolated, account=bob.address, size=-WAD, delta=2 * WAD):
        fx.trade(carol, bob, -2 * WAD, PRICE, taker_reduce_only=True)


# ---------------------------------------------------------------- price band


@pytest.mark.parametrize("price", [63_000 * WAD, 57_000 * WAD], ids=["upper", "lower"])
def test_settle__fill_at_the_band_edge_accepted(fx, alice, bob, price):
    _settle(fx, _fill(fx, alice, -TENTH, bob, price=price)[2])
    assert fx.market.positionOf(bob)[:2] == (TENTH, price // 10)


@pytest.mark.parametrize("price", [63_000 * WAD + 1, 57_000 * WAD - 1], ids=["above", "below"])
def test_settle__fill_just_outside_the_band_reverts(fx, alice, bob, price):
    with reverts(fx.router.FillPriceOutsideBand, price=price, index=PRICE, priceBand=BAND):
        _settle(fx, _fill(fx, alice, -TENTH, bob, price=price)[2])


def test_settle__band_follows_the_oracle_index(fx, alice, bob):
    fx.set_price(70_000)
    with reverts(fx.router.FillPriceOutsideBand, price=PRICE, index=70_000 * WAD, priceBand=BAND):
        _settle(fx, _fill(fx, alice, -TENTH, bob, price=PRICE)[2])
    _settle(fx, _fill(fx, alice, -TENTH, bob, price=66_500 * WAD)[2])
    assert fx.market.positionOf(bob)[:2] == (TENTH, 6_650 * WAD)


def test_settle__absurd_maker_price_reverts_with_band_error(fx, alice, bob):
    # A maker bid of 2**200 is far outside the band: a custom error, not an arithmetic panic.
    price = 2**200
    with reverts(fx.router.FillPriceOutsideBand, price=price, index=PRICE, priceBand=BAND):
        _settle(fx, _fill(fx, alice, TENTH, bob, price=price)[2])


# ---------------------------------------------------------------- open-interest cap


@pytest.fixture
def cap_two(fx, owner):
    """The OI cap lowered to 2 BTC per side."""
    fx.router.setMarketParams(0, market_params(maxOpenInterest=2 * WAD), sender=owner)


@pytest.mark.usefixtures("cap_two")
def test_settle__open_up_to_the_cap_accepted(fx, alice, bob):
    fx.trade(alice, bob, 2 * WAD, PRICE)
    assert fx.market.openInterest() == (2 * WAD, 2 * WAD)


@pytest.mark.usefixtures("cap_two")
def test_settle__open_past_the_cap_reverts(fx, alice, bob):
    with reverts(fx.router.OpenInterestCapExceeded, long=True, openInterest=2 * WAD + 1, cap=2 * WAD):
        fx.trade(alice, bob, 2 * WAD + 1, PRICE)
    assert fx.market.openInterest() == (0, 0)


@pytest.mark.usefixtures("cap_two")
def test_settle__increase_past_the_cap_reverts(fx, alice, bob, carol):
    fx.trade(alice, bob, WAD, PRICE)
    with reverts(fx.router.OpenInterestCapExceeded, long=True, openInterest=3 * WAD, cap=2 * WAD):
        fx.trade(alice, carol, 2 * WAD, PRICE)
    assert fx.market.openInterest() == (WAD, WAD)


@pytest.mark.usefixtures("cap_two")
def test_settle__flip_past_the_cap_reverts(fx, alice, bob, carol):
    fx.trade(alice, bob, WAD, PRICE)
    # alice +1 -> -2 and carol 0 -> +3: longs 1 -> 3
    with reverts(fx.router.OpenInterestCapExceeded, long=True, openInterest=3 * WAD, cap=2 * WAD):
        fx.trade(alice, carol, -3 * WAD, PRICE)
    assert fx.market.positionOf(alice)[0] == WAD


@pytest.mark.usefixtures("cap_two")
def test_settle__flip_at_the_cap_without_growth_accepted(fx, alice, bob):
    fx.trade(alice, bob, 2 * WAD, PRICE)
    fx.trade(alice, bob, -4 * WAD, PRICE)  # alice +2 -> -2, bob -2 -> +2
    assert fx.market.openInterest() == (2 * WAD, 2 * WAD)
    assert (fx.market.positionOf(alice)[0], fx.market.positionOf(bob)[0]) == (-2 * WAD, 2 * WAD)


def test_settle__reduction_above_a_lowered_cap_accepted(fx, owner, alice, bob, carol):
    fx.trade(alice, bob, 2 * WAD, PRICE)
    fx.router.setMarketParams(0, market_params(maxOpenInterest=WAD), sender=owner)
    fx.trade(bob, alice, WAD, PRICE)  # both reduce: OI 2 -> 1
    assert fx.market.openInterest() == (WAD, WAD)
    with reverts(fx.router.OpenInterestCapExceeded, long=True, openInterest=3 * WAD // 2, cap=WAD):
        fx.trade(carol, bob, WAD // 2, PRICE)


# ---------------------------------------------------------------- margin, minimum size, pause, oracle


def test_settle__maker_without_margin_reverts(fx, dave, bob):
    with reverts(fx.router.InsufficientMargin, account=dave.address, accountValue=-MAKER_FEE, required=6_000 * WAD):
        fx.trade(dave, bob, WAD, PRICE)


def test_settle__taker_without_margin_reverts(fx, alice, dave):
    with reverts(fx.router.InsufficientMargin, account=dave.address, accountValue=-TAKER_FEE, required=6_000 * WAD):
        fx.trade(alice, dave, -WAD, PRICE)
    assert fx.market.positionOf(alice)[0] == 0


def test_settle__position_below_minimum_reverts(fx, alice, bob):
    with reverts(fx.router.PositionBelowMinimum, account=alice.address, size=9 * 10**14, minPositionSize=10**15):
        fx.trade(alice, bob, 9 * 10**14, PRICE)


def test_settle__dust_left_by_a_close_reverts(fx, alice, bob):
    fx.trade(alice, bob, WAD, PRICE)
    with reverts(fx.router.PositionBelowMinimum, account=alice.address, size=5 * 10**14, minPositionSize=10**15):
        fx.trade(alice, bob, -(WAD - 5 * 10**14), PRICE)


def test_settle__opening_while_paused_reverts(fx, guardian, alice, bob):
    fx.router.setPaused(0, True, sender=guardian)
    with reverts(fx.router.MarketPaused, marketId=0):
        fx.trade(alice, bob, WAD, PRICE)


def test_settle__closing_while_paused_accepted(fx, guardian, alice, bob):
    fx.trade(alice, bob, WAD, PRICE)
    fx.router.setPaused(0, True, sender=guardian)
    fx.trade(bob, alice, WAD, PRICE)
    assert fx.market.openInterest() == (0, 0)


def test_settle__stale_oracle_reverts(chain, fx, owner, alice, bob):
    updated = chain.blocks.head.timestamp - 86_400
    fx.feed.updateRoundData(7, 60_000 * 10**FEED_DECIMALS, updated, updated, sender=owner)
    mk, tk, fill = _fill(fx, alice, WAD, bob)
    now = chain.blocks.head.timestamp + 1
    chain.pending_timestamp = now
    with reverts(fx.router.OracleStale, updatedAt=updated, heartbeat=86_400, blockTimestamp=now):
        _settle(fx, fill)


# ---------------------------------------------------------------- all or nothing


def test_settle__bad_signature_in_batch_reverts_everything(fx, alice, bob, carol):
    before = _snapshot(fx, alice, bob, carol)
    good_mk, good_tk, good = _fill(fx, alice, WAD, bob)
    mk, tk = fx.order(carol, -WAD, PRICE), fx.order(alice, WAD, PRICE)
    bad = fill_tuple(mk, fx.sign(mk, bob), tk, fx.sign(tk, alice), WAD)

    with reverts(fx.router.InvalidSignature, trader=carol.address, orderHash=digest(fx, mk)):
        _settle(fx, good, bad)

    assert _snapshot(fx, alice, bob, carol) == before
    assert (fx.router.filled(digest(fx, good_mk)), fx.router.filled(digest(fx, good_tk))) == (0, 0)
    _settle(fx, good)  # the good fill alone still goes through
    assert fx.market.positionOf(alice)[0] == WAD


def test_settle__market_refusal_in_batch_reverts_everything(fx, alice, bob, carol):
    before = _snapshot(fx, alice, bob, carol)
    good_mk, _, good = _fill(fx, alice, WAD, bob)
    _, _, outside = _fill(fx, carol, -TENTH, bob, price=63_000 * WAD + 1)

    with reverts(fx.router.FillPriceOutsideBand, price=63_000 * WAD + 1, index=PRICE, priceBand=BAND):
        _settle(fx, good, outside)

    assert _snapshot(fx, alice, bob, carol) == before
    assert fx.router.filled(digest(fx, good_mk)) == 0

