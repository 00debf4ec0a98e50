"""The matching engine: signed orders in, settled fills and recorded quotes out.

`Engine.submit` admits an order only if
  1. its EIP-712 signature (domain PerpRouter/1, the configured chain and router) recovers to the
     trader, to an operator the trader approved (`router.isOperator`), or an ERC-1271 trader
     contract accepts it;
  2. it is not expired (`expiry` at least `expiry_margin` seconds past the latest block), not
     cancelled (`router.filled(hash) == max`, `nonce < router.minNonce(trader)`), not filled;
  3. the trader has the margin: the account value (`market.accountValue`) less the taker fee and
     any immediate loss against the mark covers the initial margin (`params().initialMarginRatio`)
     of the position it would hold if all its resting orders on that side and this one filled,
     valued at the order's limit price. Reduce-only and risk-reducing orders skip this check.
Chain reads are cached per block. A refusal carries a `Reason` and a detail line.

Admitted orders go to the market's `OrderBook`; its fills wait in a queue that `flush` sends to
`PerpRouter.settle` in batches of `batch_size` (`tick` flushes when a batch is full or
`batch_interval` seconds passed). Before sending, each batch is simulated (`eth_call` as the
matcher); a batch that would revert is bisected to its first failing fill, the order the revert
blames (`blame`: the hash or account the custom error names) is dropped from the book with its
later fills, the fill is reported in `FlushReport.dropped`, and the rest goes on. Errors that
no single order causes (a stale oracle, a paused market) stop the flush and keep the fills
queued. After every batch the orders it touched are reconciled with `router.filled`: an order's
remaining amount becomes `|size| - filled on-chain - still queued`; an innocent order that lost
a fill and had left the book rests again, at the back of its level (a GTC order; an IOC order's
chance is gone). Self-trades never reach the chain: the book removes the resting order instead.

`publish_quotes` sends the best bid and ask of each market to `FundingRate.recordQuote` when
they changed, at most once per block.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Callable, Hashable, Iterable

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak, to_checksum_address

from perpkit import model
from perpkit.engine.book import Fill, OrderBook, Reason, SubmitResult, TimeInForce
from perpkit.engine.chain import CANCELLED, ChainAdapter, Revert
from perpkit.orders import DOMAIN_NAME, DOMAIN_VERSION, ORDER_TYPEHASH, Order
from perpkit.units import fmt_num, fmt_size, fmt_usd

WAD = model.WAD
SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
_DOMAIN_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_U256 = 2**256


# ====================================================================== hashing and signatures


class OrderHasher:
    """`PerpRouter.hashOrder` for one chain and router, without eth_account's generic EIP-712
    encoder (about 20x faster; `tests/unit/engine` checks it against `perpkit.orders`)."""

    def __init__(self, chain_id: int, router: str):
        self.domain_separator = keccak(
            _DOMAIN_TYPEHASH
            + keccak(text=DOMAIN_NAME)
            + keccak(text=DOMAIN_VERSION)
            + chain_id.to_bytes(32, "big")
            + bytes.fromhex(router[2:]).rjust(32, b"\0")
        )

    def __call__(self, o: Order) -> bytes:
        struct = keccak(
            ORDER_TYPEHASH
            + bytes.fromhex(o.trader[2:]).rjust(32, b"\0")
            + o.market_id.to_bytes(32, "big")
            + (o.size % _U256).to_bytes(32, "big")
            + o.limit_price.to_bytes(32, "big")
            + o.nonce.to_bytes(32, "big")
            + o.expiry.to_bytes(32, "big")
            + (b"\0" * 31 + (b"\1" if o.reduce_only else b"\0"))
        )
        return keccak(b"\x19\x01" + self.domain_separator + struct)


def well_formed(o: Order) -> bool:
    """Every field fits its Solidity type and size and price are non-zero."""
    return (
        isinstance(o.trader, str)
        and len(o.trader) == 42
        and o.trader.startswith("0x")
        and all(isinstance(v, int) and not isinstance(v, bool) for v in (o.market_id, o.size, o.limit_price, o.nonce, o.expiry))
        and isinstance(o.reduce_only, bool)
        and 0 <= o.market_id < _U256
        and -(2**255) <= o.size < 2**255
        and o.size != 0
        and 0 < o.limit_price < _U256
        and 0 <= o.nonce < _U256
        and 0 <= o.expiry < _U256
    )


def recover_signer(digest: bytes, signature: bytes) -> str | None:
    """The ECDSA signer of `digest` as OpenZeppelin's `ECDSA.tryRecover` accepts it (65 bytes,
    v 27/28, low s), else None."""
    if len(signature) != 65 or signature[64] not in (27, 28):
        return None
    if int.from_bytes(signature[32:64], "big") > SECP256K1_HALF_N:
        return None
    try:
        return Account._recover_hash(digest, signature=signature)
    except Exception:  # noqa: BLE001 - an invalid point is an invalid signature
        return None


def cancel_message(order_hash: bytes | str) -> str:
    """The text a trader (or its operator) signs, EIP-191 personal_sign, to take an order off
    the book: `perpkit: cancel 0x<order hash>`."""
    h = order_hash if isinstance(order_hash, str) else "0x" + order_hash.hex()
    return f"perpkit: cancel {h.lower()}"


def sign_cancel(order_hash: bytes | str, private_key) -> bytes:
    return bytes(Account.sign_message(encode_defunct(text=cancel_message(order_hash)), private_key).signature)


# ====================================================================== blame (pure)


class Blame(str, Enum):
    MAKER = "maker"
    TAKER = "taker"
    BOTH = "both"
    MARKET = "market"  # no order at fault: stop and retry later


# The order whose hash or trader the error names is at fault; these need the fill to tell.
_BY_HASH = {"OrderExpired", "OrderIsCancelled", "FillExceedsOrder", "InvalidSignature"}
_BY_ACCOUNT = {"InsufficientMargin", "ReduceOnlyViolated", "PositionBelowMinimum"}
_MAKER_AT_FAULT = {"FillPriceOutsideBand"}  # the fill is at the maker's price
_TAKER_AT_FAULT = {"OpenInterestCapExceeded"}  # the maker's liquidity was there first
_ENGINE_BUGS = {"MarketMismatch", "SameSide", "PricesDoNotCross"}


def blame(fill: Fill, revert: Revert) -> Blame:
    """Which order of `fill` the revert of `settle([.., fill])` is the fault of."""
    name, args = revert.name, revert.args
    if name in _BY_HASH:
        h = bytes(args.get("orderHash", b""))
        if h == fill.maker_id:
            return Blame.MAKER
        if h == fill.taker_id:
            return Blame.TAKER
        return Blame.BOTH
    if name in _BY_ACCOUNT:
        account = str(args.get("account", "")).lower()
        maker, taker = fill.maker.trader.lower() == account, fill.taker.trader.lower() == account
        if maker != taker:
            return Blame.MAKER if maker else Blame.TAKER
        return Blame.BOTH
    if name in _MAKER_AT_FAULT:
        return Blame.MAKER
    if name in _TAKER_AT_FAULT:
        return Blame.TAKER
    if name in _ENGINE_BUGS:
        return Blame.BOTH
    return Blame.MARKET  # oracle errors, MarketPaused, OnlyMatcher, unknown: nobody's order


# ====================================================================== results


@dataclass
class Decision:
    """The engine's answer to a submitted order."""

    hash: bytes
    accepted: bool
    reason: Reason | None = None
    detail: str = ""
    fills: list[Fill] = field(default_factory=list)
    resting: int = 0


@dataclass
class Dropped:
    fill: Fill
    error: str  # the decoded revert, e.g. InsufficientMargin(account=0x.., accountValue=.., required=..)
    blamed: list[bytes]  # order hashes taken off the book for it


@dataclass
class FlushReport:
    batches: int = 0
    settled: list[Fill] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    receipts: list = field(default_factory=list)
    calls: int = 0  # settle eth_calls (1 per clean batch; about log2(n) more per bad fill)
    halted: str = ""  # an error no order is at fault for: the fills stay queued

    @property
    def gas_used(self) -> int:
        return sum(r.gas_used for r in self.receipts)


@dataclass(frozen=True)
class EngineConfig:
    batch_size: int = 100  # fills per settle transaction (~103k gas each: keep under the block limit)
    batch_interval: float = 1.0  # seconds a partial batch may wait
    expiry_margin: int = 2  # seconds: an order must outlive the latest block by this much
    history: int = 10_000  # decided orders remembered for GET /orders/<hash>


@dataclass
class _Tracked:
    order: Order
    signature: bytes
    tif: TimeInForce
    alive: bool = True


# ====================================================================== the engine


class Engine:
    def __init__(
        self,
        chain: ChainAdapter,
        market_ids: Iterable[int],
        config: EngineConfig | None = None,
        *,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.chain = chain
        self.config = config or EngineConfig()
        self.books: dict[int, OrderBook] = {m: OrderBook(m) for m in market_ids}
        self.hasher = OrderHasher(chain.chain_id, chain.router_address)
        self.lock = threading.RLock()
        self.log = log or (lambda _line: None)
        self._clock = clock
        self._orders: dict[bytes, _Tracked] = {}  # admitted, still resting or with queued fills
        self._pending: list[Fill] = []
        self._pending_amount: dict[bytes, int] = {}  # order hash -> queued fill amount
        self._pending_pos: dict[tuple[int, str], int] = {}  # (market, trader) -> queued size change
        self._cache: dict = {}
        self._cache_block = -1
        self._head = (0, 0)
        self._pending_since = 0.0  # clock() when the oldest queued fill was queued
        self._quoted: dict[int, tuple[int, int]] = {}  # market -> last published (bid, ask)
        self._quote_block: dict[int, int] = {}
        self.history: OrderedDict[bytes, str] = OrderedDict()  # hash -> last status line
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------------ admission

    def hash(self, order: Order) -> bytes:
        return self.hasher(order)

    def submit(self, order: Order, signature: bytes, tif: TimeInForce | str = TimeInForce.GTC) -> Decision:
        """Check, match and rest one signed order."""
        tif = TimeInForce(tif)
        with self.lock:
            try:
                if not well_formed(order):
                    raise ValueError("a field is zero or out of range")
                order = replace(order, trader=to_checksum_address(order.trader))
            except ValueError as exc:
                return self._decide(Decision(b"", False, Reason.INVALID_ORDER, str(exc)))
            oid = self.hasher(order)
            book = self.books.get(order.market_id)
            if book is None:
                return self._decide(Decision(oid, False, Reason.UNKNOWN_MARKET, f"no book for market {order.market_id}"))
            if oid in book:
                return self._decide(Decision(oid, False, Reason.DUPLICATE, "already in the book"))
            try:
                refusal, filled = self._admit(order, bytes(signature), oid)
            except Exception as exc:  # noqa: BLE001 - an RPC or oracle failure refuses the order
                refusal = Decision(oid, False, Reason.CHAIN_UNAVAILABLE, self._describe(exc)[:200])
            if refusal is not None:
                return self._decide(refusal)
            now = self._head[1] + self.config.expiry_margin
            result = book.submit(order, bytes(signature), order_id=oid, tif=tif, now=now, filled=filled)
            return self._decide(self._after_match(result, order, bytes(signature), tif))

    def _describe(self, exc: BaseException) -> str:
        """One line for a failed view call: a revert by its custom error's name and arguments."""
        errors = getattr(self.chain, "errors", None)  # the in-memory test chain has no decoder
        if errors is not None:
            return errors.describe(exc)
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__

    def _admit(self, order: Order, signature: bytes, oid: bytes) -> tuple[Decision | None, int]:
        """The chain-side checks: (None, amount already filled or queued) admits the order."""
        trader = order.trader
        signer = recover_signer(oid, signature)
        # One round trip for the order's on-chain state and the block it was read at.
        filled, nonces, head = self.chain.order_states([oid], [trader])
        self._set_head(head)
        if signer != trader and not (
            (signer is not None and self._cached(("op", trader, signer), lambda: self.chain.is_operator(trader, signer)))
            or self.chain.is_valid_erc1271(trader, oid, signature)
        ):
            return Decision(oid, False, Reason.BAD_SIGNATURE, f"signer {signer} is not {trader} or its operator"), 0
        if order.expiry < self._head[1] + self.config.expiry_margin:
            return Decision(oid, False, Reason.EXPIRED, f"expiry {order.expiry} <= block time {self._head[1]}"), 0
        if filled[0] == CANCELLED or order.nonce < nonces[trader]:
            return Decision(oid, False, Reason.CANCELLED_ONCHAIN, "cancelled on-chain"), 0
        size = abs(order.size)
        done = filled[0] + self._pending_amount.get(oid, 0)
        if done >= size:
            return Decision(oid, False, Reason.FILLED, f"filled {fmt_size(filled[0])} of {fmt_size(size)} on-chain"), done
        return self._check_margin(order, oid, size - done), done

    def _check_margin(self, order: Order, oid: bytes, amount: int) -> Decision | None:
        m, trader = order.market_id, order.trader
        info = self._cached(("info", m), lambda: self.chain.market_info(m))
        chain_size, value = self._cached(("acct", m, trader), lambda: self.chain.accounts(m, [trader])[0])
        pos = chain_size + self._pending_pos.get((m, trader), 0)
        book = self.books[m]
        book.positions[trader] = pos
        buy = order.size > 0
        delta = amount if buy else -amount
        after_fill = pos + delta
        if after_fill != 0 and abs(after_fill) < info.min_position_size and not order.reduce_only:
            return Decision(oid, False, Reason.SIZE_BELOW_MINIMUM, f"|position| {fmt_size(abs(after_fill))} < minimum {fmt_size(info.min_position_size)}")
        if order.reduce_only:
            return None  # the book limits it to the position; the contract forbids growth
        buy_open, sell_open = book.open_exposure(trader)
        before = pos + buy_open if buy else pos - sell_open
        after = before + delta
        if not model.increases_risk(before, after):
            return None  # reduces risk: maintenance margin is the contract's business
        mark = self._cached(("mark", m), lambda: self.chain.mark_price(m))
        price = order.limit_price
        required = model.margin_required(after, price, info.initial_margin_ratio)
        fee = model.trade_fee(amount, price, info.taker_fee)
        adverse = max(0, delta * (price - mark) // WAD)  # buying above / selling below the mark
        available = value - fee - adverse
        if available < required:
            return Decision(
                oid, False, Reason.INSUFFICIENT_MARGIN, f"account value {fmt_usd(available)} < initial margin {fmt_usd(required)}"
            )
        return None

    def _after_match(self, result: SubmitResult, order: Order, signature: bytes, tif: TimeInForce) -> Decision:
        oid = result.order_id
        for rid, reason in result.removed:
            if rid != oid:
                self._retire(rid, reason.value)
        if not result.accepted:
            return Decision(oid, False, result.reason, result.reason.value.lower().replace("_", " "))
        self._orders[oid] = _Tracked(order, signature, tif)
        for f in result.fills:
            self._queue(f)
        if not result.resting and not self._pending_amount.get(oid):
            self._orders.pop(oid, None)
        return Decision(oid, True, None, "", result.fills, result.resting)

    def _decide(self, d: Decision) -> Decision:
        if d.hash:
            status = "accepted" if d.accepted else f"rejected {d.reason.value}: {d.detail}"
            self._remember(d.hash, status)
        return d

    def _remember(self, oid: bytes, status: str) -> None:
        self.history[oid] = status
        self.history.move_to_end(oid)
        while len(self.history) > self.config.history:
            self.history.popitem(last=False)

    # ------------------------------------------------------------------ off-chain cancel and queries

    def cancel(self, order_hash: bytes, signature: bytes | None = None) -> Reason | None:
        """Takes a resting order off the book (off-chain only: the signed order stays valid on-chain
        until `router.cancelOrder`). With `signature`, it must be the trader's or its operator's
        personal_sign of `cancel_message(hash)`. Returns None on success, else why not."""
        with self.lock:
            tracked = self._orders.get(order_hash)
            book = self.books.get(tracked.order.market_id) if tracked else None
            if tracked is None or book is None or order_hash not in book:
                return Reason.FILLED if tracked else Reason.UNKNOWN_ORDER
            if signature is not None:
                trader = tracked.order.trader
                try:
                    signer = Account.recover_message(encode_defunct(text=cancel_message(order_hash)), signature=signature)
                except Exception:  # noqa: BLE001
                    signer = None
                if signer != trader and not (signer and self.chain.is_operator(trader, signer)):
                    return Reason.BAD_SIGNATURE
            book.cancel(order_hash)
            self._retire(order_hash, Reason.CANCELLED.value)
            return None

    def status(self, order_hash: bytes) -> dict | None:
        with self.lock:
            tracked = self._orders.get(order_hash)
            if tracked is not None:
                book = self.books[tracked.order.market_id]
                resting = book.get(order_hash)
                return {
                    "status": "open" if resting else "settling",
                    "remaining": resting.remaining if resting else 0,
                    "queued": self._pending_amount.get(order_hash, 0),
                }
            if order_hash in self.history:
                return {"status": self.history[order_hash], "remaining": 0, "queued": 0}
            return None

    def quote(self, market_id: int) -> tuple[int | None, int | None]:
        with self.lock:
            return self.books[market_id].quote()

    def depth(self, market_id: int, levels: int = 20) -> dict:
        with self.lock:
            return self.books[market_id].depth(levels)

    @property
    def pending(self) -> list[Fill]:
        return list(self._pending)

    # ------------------------------------------------------------------ settlement

    def tick(self) -> FlushReport | None:
        """What a running engine does each poll: flush a full or old enough batch, then quotes."""
        with self.lock:
            report = None
            if self._pending and (
                len(self._pending) >= self.config.batch_size
                or self._clock() - self._pending_since >= self.config.batch_interval
            ):
                report = self.flush()
            self.publish_quotes()
            return report

    def flush(self) -> FlushReport:
        """Settles every queued fill, batch by batch, bisecting out the ones that would revert."""
        with self.lock:
            report = FlushReport()
            while self._pending and not report.halted:
                batch = self._pending[: self.config.batch_size]
                del self._pending[: len(batch)]
                good = self._screen(batch, report)
                if report.halted:
                    self._pending[:0] = good
                    break
                if good:
                    try:
                        report.receipts.append(self.chain.settle([f.as_tuple() for f in good]))
                    except Exception as exc:  # noqa: BLE001 - raced or RPC down: keep the fills
                        self._pending[:0] = good
                        report.halted = f"settle failed: {str(exc).splitlines()[0][:200]}"
                        break
                    report.settled.extend(good)
                report.batches += 1
                for f in good:
                    self._unqueue(f)
                try:
                    self._reconcile(batch)
                except Exception as exc:  # noqa: BLE001 - settled is settled; the next batch reconciles again
                    self.log(f"engine: reconcile failed: {str(exc).splitlines()[0][:200]}")
            self._pending_since = self._clock()  # what a halt left queued waits another interval
            for d in report.dropped:
                self.log(f"engine: dropped fill {fmt_size(d.fill.amount)} @ {fmt_num(d.fill.price)}: {d.error}")
            if report.halted:
                self.log(f"engine: flush halted: {report.halted}")
            return report

    def _screen(self, batch: list[Fill], report: FlushReport) -> list[Fill]:
        """The fills of `batch` that settle together: bisects to the first failing fill, drops it
        and the later fills of the order it blames, and repeats (~log2(n) eth_calls per bad fill)."""
        good = list(batch)
        while good:
            report.calls += 1
            err = self.chain.settle_call([f.as_tuple() for f in good])
            if err is None:
                return good
            lo, hi = 0, len(good) - 1  # good[:lo] settles, good[:hi + 1] reverts with err
            while lo < hi:
                mid = (lo + hi) // 2
                report.calls += 1
                e = self.chain.settle_call([f.as_tuple() for f in good[: mid + 1]])
                if e is None:
                    lo = mid + 1
                else:
                    hi, err = mid, e
            bad = good[lo]
            who = blame(bad, err)
            if who is Blame.MARKET:
                report.halted = str(err)
                return good
            ids = {Blame.MAKER: [bad.maker_id], Blame.TAKER: [bad.taker_id], Blame.BOTH: [bad.maker_id, bad.taker_id]}[who]
            report.dropped.append(Dropped(bad, str(err), ids))
            for oid in ids:
                self._kill(oid, f"{Reason.SETTLEMENT_FAILED.value}: {err.human()}")
            self._unqueue(bad)
            dead = set(ids)
            kept = good[:lo]  # they settle as they are: the blamed order keeps what it got so far
            for f in good[lo + 1 :]:
                if f.maker_id in dead or f.taker_id in dead:
                    self._unqueue(f)
                    report.dropped.append(Dropped(f, f"later fill of a blamed order: {err.human()}", []))
                else:
                    kept.append(f)
            good = kept
        return good

    def _kill(self, oid: bytes, why: str) -> None:
        """Takes an order out for good: off the book, its queued fills out of the queue."""
        tracked = self._orders.get(oid)
        if tracked is None:
            return
        tracked.alive = False
        self.books[tracked.order.market_id].cancel(oid)
        keep = []
        for f in self._pending:
            if f.maker_id == oid or f.taker_id == oid:
                self._unqueue(f)
            else:
                keep.append(f)
        self._pending[:] = keep
        self._remember(oid, why)

    def _retire(self, oid: bytes, why: str) -> None:
        """An order left the book (cancelled, expired...): forget it unless fills of it are queued."""
        self._remember(oid, why)
        if not self._pending_amount.get(oid):
            self._orders.pop(oid, None)

    def _queue(self, f: Fill) -> None:
        if not self._pending:
            self._pending_since = self._clock()
        self._pending.append(f)
        self._adjust(f, f.amount)

    def _unqueue(self, f: Fill) -> None:
        """Forgets a fill's queued amounts (settled or dropped; the caller removes it from the list)."""
        self._adjust(f, -f.amount)

    def _adjust(self, f: Fill, amount: int) -> None:
        pa, pp, m = self._pending_amount, self._pending_pos, f.maker.market_id
        for oid in (f.maker_id, f.taker_id):
            left = pa.get(oid, 0) + amount
            if left:
                pa[oid] = left
            else:
                pa.pop(oid, None)
        sign = 1 if f.maker.size > 0 else -1
        for key, d in (((m, f.maker.trader), sign * amount), ((m, f.taker.trader), -sign * amount)):
            left = pp.get(key, 0) + d
            if left:
                pp[key] = left
            else:
                pp.pop(key, None)

    def _reconcile(self, batch: list[Fill]) -> None:
        """Brings the book in line with `router.filled` for every order `batch` touched."""
        ids: dict[bytes, None] = {}
        for f in batch:
            ids[f.maker_id] = None
            ids[f.taker_id] = None
        live = [oid for oid in ids if oid in self._orders]
        if not live:
            return
        traders = sorted({self._orders[o].order.trader for o in live})
        filled, nonces, head = self.chain.order_states(live, traders)
        self._set_head(head)
        self._sync_positions(batch)
        resubmit = []
        for oid, done in zip(live, filled):
            t = self._orders[oid]
            book = self.books[t.order.market_id]
            if done == CANCELLED or t.order.nonce < nonces[t.order.trader]:
                self._kill(oid, Reason.CANCELLED_ONCHAIN.value)
                self._orders.pop(oid, None)
                continue
            remaining = abs(t.order.size) - done - self._pending_amount.get(oid, 0)
            if oid in book:
                book.set_remaining(oid, remaining)
            elif remaining > 0 and t.alive and t.tif is not TimeInForce.IOC:
                resubmit.append((oid, t, done))
                continue
            if oid not in book and not self._pending_amount.get(oid):
                self._orders.pop(oid, None)
        now = self._head[1] + self.config.expiry_margin
        for oid, t, done in resubmit:  # lost a fill through no fault of its own: rests (or matches) again
            del self._orders[oid]
            book = self.books[t.order.market_id]
            queued = self._pending_amount.get(oid, 0)
            result = book.submit(t.order, t.signature, order_id=oid, tif=t.tif, now=now, filled=done + queued)
            self._after_match(result, t.order, t.signature, t.tif)
            if not result.accepted:
                self._remember(oid, f"not restored: {result.reason.value}")

    def _sync_positions(self, batch: list[Fill]) -> None:
        by_market: dict[int, set[str]] = {}
        for f in batch:
            by_market.setdefault(f.maker.market_id, set()).update((f.maker.trader, f.taker.trader))
        for m, traders in by_market.items():
            ordered = sorted(traders)
            for trader, size in zip(ordered, self.chain.positions(m, ordered)):
                self.books[m].positions[trader] = size + self._pending_pos.get((m, trader), 0)

    # ------------------------------------------------------------------ quotes

    def publish_quotes(self) -> list[tuple[int, int, int]]:
        """`recordQuote(market, bid, ask)` for each market whose best bid and ask changed since the
        last one sent, at most once per block. Returns what it recorded."""
        with self.lock:
            out = []
            for m, book in self.books.items():
                bid, ask = book.quote()
                if bid is None or ask is None or self._quoted.get(m) == (bid, ask):
                    continue
                block = self.chain.head()[0]
                if self._quote_block.get(m) == block:
                    continue
                err = self.chain.record_quote_call(m, bid, ask)
                if err is not None:
                    self.log(f"engine: quote {m} {fmt_num(bid)}/{fmt_num(ask)} not recorded: {err.human()}")
                    if err.name == "QuoteUnchanged":
                        self._quoted[m] = (bid, ask)
                    continue
                receipt = self.chain.record_quote(m, bid, ask)
                self._quoted[m] = (bid, ask)
                self._quote_block[m] = receipt.block
                out.append((m, bid, ask))
            return out

    # ------------------------------------------------------------------ background loop

    def start(self, poll: float = 0.1) -> threading.Thread:
        """Runs `tick` every `poll` seconds in a daemon thread until `stop`."""
        self._stop.clear()

        def loop():
            while not self._stop.wait(poll):
                try:
                    self.tick()
                except Exception as exc:  # noqa: BLE001 - a running engine logs and goes on
                    self.log(f"engine: tick failed: {str(exc).splitlines()[0][:200]}")

        self._thread = threading.Thread(target=loop, name="perpkit-engine", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # ------------------------------------------------------------------ cache

    def _set_head(self, head: tuple[int, int]) -> None:
        """The latest block as of the last read; a new block empties the view cache."""
        if head[0] != self._cache_block:
            self._cache.clear()
            self._cache_block = head[0]
        self._head = head

    def _cached(self, key: Hashable, fetch: Callable):
        """`fetch()` once per block."""
        if key not in self._cache:
            self._cache[key] = fetch()
        return self._cache[key]
