"""The engine against an in-memory chain (`fakes.FakeChain`): admission checks and their reasons,
bisection of a bad batch, reconciliation, quote publishing and batching. The same code runs on
Anvil in tests/e2e/test_engine.py; here each rule is pinned down in milliseconds."""

import pytest
from perpkit.devkeys import dev_account

from perpkit.engine import Engine, EngineConfig, Reason, Revert, TimeInForce
from perpkit.engine.engine import Blame, blame, recover_signer
from perpkit.orders import Order, order_digest, sign_order
from tests.unit.engine.fakes import ROUTER, WAD, FakeChain

PRICE = 60_000 * WAD
ALICE, BOB, CAROL, OPERATOR = (dev_account(i) for i in (11, 12, 13, 14))
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.fixture
def chain():
    rich = 10**6 * WAD
    return FakeChain(values={a.address: rich for a in (ALICE, BOB, CAROL)})


@pytest.fixture
def engine(chain):
    return Engine(chain, [0], EngineConfig(batch_size=10, batch_interval=5.0))


class Signer:
    """Builds and signs orders for the fake chain's domain, nonces counting up."""

    nonce = 0

    @classmethod
    def order(cls, who, size, price=PRICE, *, expiry=1_800_000_000, reduce_only=False, signer=None, router=ROUTER):
        cls.nonce += 1
        o = Order(who.address, 0, size, price, cls.nonce, expiry, reduce_only)
        return o, sign_order(o, (signer or who).key, 31337, router)


def submit(engine, who, size, price=PRICE, tif=TimeInForce.GTC, **kw):
    o, sig = Signer.order(who, size, price, **kw)
    return engine.submit(o, sig, tif)


# ---------------------------------------------------------------- signatures and hashing


@pytest.mark.parametrize("size, reduce_only", [(WAD, False), (-3 * WAD // 2, True)])
def test_order_hasher__equals_the_eip712_digest(engine, size, reduce_only):
    o = Order(ALICE.address, 0, size, PRICE, 7, 1_800_000_000, reduce_only)
    assert engine.hash(o) == order_digest(o, 31337, ROUTER)


def test_submit_signed_by_the_trader__accepted_and_rests(engine):
    d = submit(engine, ALICE, WAD, PRICE - WAD)
    assert (d.accepted, d.reason, d.resting) == (True, None, WAD)
    assert engine.quote(0) == (PRICE - WAD, None)


def test_submit_signed_by_someone_else__rejected_bad_signature(engine):
    d = submit(engine, ALICE, WAD, signer=BOB)
    assert (d.accepted, d.reason) == (False, Reason.BAD_SIGNATURE)


def test_submit_signed_by_an_approved_operator__accepted(engine, chain):
    chain.operators.add((ALICE.address, OPERATOR.address))
    assert submit(engine, ALICE, WAD, signer=OPERATOR).accepted


def test_submit_signed_for_another_router__rejected_bad_signature(engine):
    d = submit(engine, ALICE, WAD, router="0x" + "77" * 20)
    assert d.reason is Reason.BAD_SIGNATURE


def test_recover_signer__refuses_the_malleable_high_s_twin():
    """OpenZeppelin's ECDSA refuses s > n/2: the engine must not admit what settle would refuse."""
    o, sig = Signer.order(ALICE, WAD)
    digest = order_digest(o, 31337, ROUTER)
    twin = sig[:32] + (SECP256K1_N - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big") + bytes([55 - sig[64]])
    assert recover_signer(digest, sig) == ALICE.address
    assert recover_signer(digest, twin) is None


# ---------------------------------------------------------------- chain state


def test_submit_cancelled_on_chain__rejected(engine, chain):
    o, sig = Signer.order(ALICE, WAD)
    chain.filled[engine.hash(o)] = 2**256 - 1
    assert engine.submit(o, sig).reason is Reason.CANCELLED_ONCHAIN


def test_submit_nonce_below_min_nonce__rejected(engine, chain):
    o, sig = Signer.order(ALICE, WAD)
    chain.min_nonces[ALICE.address] = o.nonce + 1
    assert engine.submit(o, sig).reason is Reason.CANCELLED_ONCHAIN


def test_submit_partly_filled_on_chain__only_the_rest_rests(engine, chain):
    o, sig = Signer.order(ALICE, 3 * WAD)
    chain.filled[engine.hash(o)] = WAD
    assert engine.submit(o, sig).resting == 2 * WAD


def test_submit_expiring_within_the_margin__rejected(engine, chain):
    d = submit(engine, ALICE, WAD, expiry=chain.timestamp + 1)
    assert d.reason is Reason.EXPIRED


@pytest.mark.parametrize(
    "fields",
    [
        dict(trader="0x" + "zz" * 20),  # not hex
        dict(size=0),
        dict(size=2**255),  # beyond int256
        dict(limit_price=0),
        dict(reduce_only=1),  # not a bool
    ],
)
def test_submit_malformed_order__rejected_invalid(engine, fields):
    o = Order(**{**Order(ALICE.address, 0, WAD, PRICE, 1, 1_800_000_000, False).__dict__, **fields})
    d = engine.submit(o, b"\0" * 65)
    assert (d.accepted, d.reason) == (False, Reason.INVALID_ORDER)


def test_submit_for_unknown_market__rejected(engine):
    o = Order(ALICE.address, 9, WAD, PRICE, 1, 1_800_000_000, False)
    assert engine.submit(o, sign_order(o, ALICE.key, 31337, ROUTER)).reason is Reason.UNKNOWN_MARKET


# ---------------------------------------------------------------- margin


def test_submit_beyond_initial_margin__rejected_with_the_numbers(engine, chain):
    """10 % of 1 BTC at 60,000 is 6,000; the 5 bp taker fee (30) comes off the value first."""
    chain.values[ALICE.address] = 6_020 * WAD
    d = submit(engine, ALICE, WAD, PRICE)
    assert d.reason is Reason.INSUFFICIENT_MARGIN
    assert d.detail == "account value 5,990.00 USD < initial margin 6,000.00 USD"


def test_submit_buying_above_the_mark__the_loss_to_the_mark_counts(engine, chain):
    """At 60,100 the buyer is 100 under water at once: 6,100 - 30.05 - 100 < 6,010."""
    chain.values[ALICE.address] = 6_100 * WAD
    d = submit(engine, ALICE, WAD, PRICE + 100 * WAD)
    assert d.detail == "account value 5,969.95 USD < initial margin 6,010.00 USD"


def test_submit_within_initial_margin__accepted(engine, chain):
    chain.values[ALICE.address] = 6_100 * WAD
    assert submit(engine, ALICE, WAD, PRICE).accepted


def test_margin__counts_the_traders_resting_orders_on_that_side(engine, chain):
    chain.values[ALICE.address] = 9_000 * WAD  # enough for 1 BTC, not for 2
    assert submit(engine, ALICE, WAD, PRICE - WAD).accepted
    assert submit(engine, ALICE, WAD, PRICE - WAD).reason is Reason.INSUFFICIENT_MARGIN
    assert submit(engine, ALICE, -WAD, PRICE + WAD).accepted  # the other side nets against it


def test_reduce_only_order__needs_no_margin(engine, chain):
    chain.values[ALICE.address] = 0
    chain.sizes[ALICE.address] = 2 * WAD
    assert submit(engine, ALICE, -WAD, PRICE, reduce_only=True).accepted


def test_reduce_only_while_flat__rejected(engine):
    assert submit(engine, ALICE, -WAD, PRICE, reduce_only=True).reason is Reason.REDUCE_ONLY


def test_submit_leaving_a_dust_position__rejected(engine, chain):
    assert submit(engine, ALICE, WAD // 2000, PRICE).reason is Reason.SIZE_BELOW_MINIMUM


# ---------------------------------------------------------------- settlement


def test_flush__settles_matched_fills_in_one_batch(engine, chain):
    submit(engine, ALICE, -WAD)
    submit(engine, BOB, -WAD)
    d = submit(engine, CAROL, 2 * WAD)
    assert [f.amount for f in d.fills] == [WAD, WAD]
    report = engine.flush()
    assert (report.batches, len(report.settled), report.dropped, report.calls) == (1, 2, [], 1)
    assert chain.sizes == {ALICE.address: -WAD, BOB.address: -WAD, CAROL.address: 2 * WAD}
    assert engine.pending == []


def test_flush__splits_into_batches_of_batch_size(chain):
    engine = Engine(chain, [0], EngineConfig(batch_size=3))
    for _ in range(7):
        submit(engine, ALICE, -WAD)
    submit(engine, BOB, 7 * WAD)
    report = engine.flush()
    assert [len(b) for b in chain.settled] == [3, 3, 1]
    assert report.batches == 3


def test_flush__bad_fill_bisected_out_and_the_rest_settle(engine, chain):
    makers = [ALICE, BOB, CAROL, ALICE, BOB, CAROL, ALICE, BOB]
    for who in makers:
        submit(engine, who, -WAD)
    taker = dev_account(19)
    chain.values[taker.address] = 10**7 * WAD
    submit(engine, taker, 8 * WAD)
    chain.broke.add(CAROL.address)  # CAROL lost her margin after her orders were admitted
    report = engine.flush()
    assert [(d.fill.maker.trader, d.error) for d in report.dropped] == [
        (CAROL.address, f"InsufficientMargin({CAROL.address})"),
        (CAROL.address, f"InsufficientMargin({CAROL.address})"),
    ]
    assert len(report.settled) == 6 and chain.sizes[taker.address] == 6 * WAD
    assert CAROL.address not in chain.sizes


def test_flush__innocent_taker_rests_again_for_what_it_lost(engine, chain):
    submit(engine, ALICE, -WAD)
    d = submit(engine, BOB, WAD)
    assert d.resting == 0
    chain.broke.add(ALICE.address)
    report = engine.flush()
    assert [d.blamed for d in report.dropped] == [[report.dropped[0].fill.maker_id]]
    assert engine.depth(0) == {"bids": [(PRICE, WAD, 1)], "asks": []}


def test_flush__order_cancelled_on_chain_after_acceptance__dropped_others_settle(engine, chain):
    o, sig = Signer.order(ALICE, -WAD)
    engine.submit(o, sig)
    submit(engine, BOB, -WAD, PRICE + WAD)
    submit(engine, CAROL, 2 * WAD, PRICE + WAD)
    chain.filled[engine.hash(o)] = 2**256 - 1  # router.cancelOrder after the match
    report = engine.flush()
    assert [(d.error, d.blamed) for d in report.dropped] == [("OrderIsCancelled", [engine.hash(o)])]
    assert [f.maker.trader for f in report.settled] == [BOB.address]
    assert engine.depth(0)["bids"] == [(PRICE + WAD, WAD, 1)]  # CAROL's lost half rests again


def test_flush__error_no_order_causes__halts_and_keeps_fills_queued(engine, chain):
    submit(engine, ALICE, -WAD)
    submit(engine, BOB, WAD)
    chain.market_error = Revert("OracleStale", {}, "OracleStale(updatedAt=1, heartbeat=3600, blockTimestamp=9999)")
    report = engine.flush()
    assert report.halted == "OracleStale(updatedAt=1, heartbeat=3600, blockTimestamp=9999)"
    assert (len(engine.pending), chain.settled) == (1, [])
    chain.market_error = None
    assert len(engine.flush().settled) == 1


def test_tick__waits_for_a_full_batch_or_the_interval(chain):
    now = [0.0]
    engine = Engine(chain, [0], EngineConfig(batch_size=2, batch_interval=1.0), clock=lambda: now[0])
    submit(engine, ALICE, -WAD)
    submit(engine, BOB, WAD)
    assert engine.tick() is None  # one fill queued, interval not over
    now[0] = 1.5
    assert len(engine.tick().settled) == 1


# ---------------------------------------------------------------- quotes


def test_publish_quotes__only_when_changed_and_once_per_block(engine, chain):
    submit(engine, ALICE, WAD, PRICE - WAD)
    assert engine.publish_quotes() == []  # one-sided book: nothing to quote
    submit(engine, BOB, -WAD, PRICE + WAD)
    assert engine.publish_quotes() == [(0, PRICE - WAD, PRICE + WAD)]
    assert engine.publish_quotes() == []  # unchanged
    submit(engine, CAROL, -WAD, PRICE)
    assert engine.publish_quotes() == []  # the quote changed, but no block since the last one
    chain.block += 1
    assert engine.publish_quotes() == [(0, PRICE - WAD, PRICE)]
    assert [q[1:] for q in chain.quotes] == [(0, PRICE - WAD, PRICE + WAD), (0, PRICE - WAD, PRICE)]


# ---------------------------------------------------------------- off-chain cancel


def test_cancel_with_the_traders_signature__removes_the_order(engine):
    from perpkit.engine import sign_cancel

    d = submit(engine, ALICE, WAD, PRICE - WAD)
    assert engine.cancel(d.hash, sign_cancel(d.hash, BOB.key)) is Reason.BAD_SIGNATURE
    assert engine.cancel(d.hash, sign_cancel(d.hash, ALICE.key)) is None
    assert engine.quote(0) == (None, None)
    assert engine.cancel(d.hash, sign_cancel(d.hash, ALICE.key)) is Reason.UNKNOWN_ORDER


# ---------------------------------------------------------------- blame


def _fill(engine):
    submit(engine, ALICE, -WAD)
    return submit(engine, BOB, WAD).fills[0]


@pytest.mark.parametrize(
    "name, args, expected",
    [
        ("InsufficientMargin", {"account": "alice"}, Blame.MAKER),
        ("ReduceOnlyViolated", {"account": "bob"}, Blame.TAKER),
        ("FillPriceOutsideBand", {}, Blame.MAKER),
        ("OpenInterestCapExceeded", {}, Blame.TAKER),
        ("SameSide", {}, Blame.BOTH),
        ("OracleStale", {}, Blame.MARKET),
        ("MarketPaused", {}, Blame.MARKET),
        ("", {}, Blame.MARKET),
    ],
)
def test_blame__names_the_order_at_fault(engine, name, args, expected):
    fill = _fill(engine)
    who = {"alice": ALICE.address, "bob": BOB.address}
    args = {k: who.get(v, v) for k, v in args.items()}
    assert blame(fill, Revert(name, args)) is expected


def test_blame__by_order_hash(engine):
    fill = _fill(engine)
    assert blame(fill, Revert("OrderExpired", {"orderHash": fill.taker_id})) is Blame.TAKER
    assert blame(fill, Revert("OrderIsCancelled", {"orderHash": fill.maker_id})) is Blame.MAKER
