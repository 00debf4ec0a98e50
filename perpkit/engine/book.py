"""A central limit order book for one market: price-time priority, pure Python, no chain.

Orders are `perpkit.orders.Order` (signed size: + buys, - sells; a WAD limit price) with their
signature. `OrderBook.submit` matches an incoming order against the resting ones and returns
the `Fill`s it made, each at the maker's limit price, as `PerpRouter.settle` prices them.

- Time in force: `GTC` rests what does not fill; `IOC` (a market order: the signed limit is the
  worst price accepted) drops it; `POST_ONLY` is refused whole if it would take liquidity.
- Reduce-only orders fill at most the trader's position on the other side. The book tracks
  positions (`positions`, set by the caller from the chain, moved by every fill) so that a batch
  of fills never asks the contract to grow a reduce-only trader's position. A resting
  reduce-only order with nothing left to reduce is removed when it would be hit.
- Expiry follows the contract: an order is expired when `now > expiry`. Every `submit` first
  removes the orders that expired by its `now`.
- Self-trade prevention: an incoming order never fills against its own trader's resting order;
  the resting one is removed (the newer instruction wins).

Levels live in two `SortedDict`s (price -> FIFO level); cancelling marks the entry dead and
adjusts its level in O(1), the queue drops dead entries when they reach its head.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from itertools import count, islice
from typing import Hashable

from sortedcontainers import SortedDict

from perpkit.orders import Order, fill_tuple


class TimeInForce(str, Enum):
    GTC = "GTC"  # good till cancelled (or expiry): the rest of a limit order rests
    IOC = "IOC"  # immediate or cancel: a market order, the rest is dropped
    POST_ONLY = "POST_ONLY"  # maker only: refused whole if it would cross


class Reason(str, Enum):
    """Why an order was refused or left the book. Shared by the book and the engine."""

    INVALID_ORDER = "INVALID_ORDER"  # zero size or price, malformed fields
    WRONG_MARKET = "WRONG_MARKET"  # order.market_id is not this book's
    UNKNOWN_MARKET = "UNKNOWN_MARKET"  # the engine runs no book for the market
    DUPLICATE = "DUPLICATE"  # the same order is already in the book
    EXPIRED = "EXPIRED"  # now > expiry
    FILLED = "FILLED"  # nothing left: filled on-chain already
    CANCELLED = "CANCELLED"  # cancelled off-chain (DELETE) or through the book
    CANCELLED_ONCHAIN = "CANCELLED_ONCHAIN"  # router.cancelOrder / cancelUpTo
    BAD_SIGNATURE = "BAD_SIGNATURE"  # signer is neither the trader nor its operator
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"  # initial margin of the resulting position not covered
    SIZE_BELOW_MINIMUM = "SIZE_BELOW_MINIMUM"  # |size| below the market's minPositionSize
    REDUCE_ONLY = "REDUCE_ONLY"  # reduce-only with no position on the other side left
    POST_ONLY_WOULD_CROSS = "POST_ONLY_WOULD_CROSS"  # post-only that would take liquidity
    SELF_TRADE = "SELF_TRADE"  # resting order removed: its trader's new order would have hit it
    IOC_REMAINDER = "IOC_REMAINDER"  # the unfilled rest of an IOC order
    SETTLEMENT_FAILED = "SETTLEMENT_FAILED"  # the contract refused a fill of this order (see detail)
    UNKNOWN_ORDER = "UNKNOWN_ORDER"  # no such order in the book (DELETE)
    CHAIN_UNAVAILABLE = "CHAIN_UNAVAILABLE"  # a view call failed (RPC down, oracle stale): try again


@dataclass(eq=False, slots=True)
class Resting:
    """An order in the book: `remaining` is what the book may still fill."""

    order: Order
    signature: bytes
    id: Hashable
    tif: TimeInForce
    seq: int
    remaining: int
    buy: bool
    live: bool = True


@dataclass(slots=True)
class Fill:
    """A matched pair at the maker's limit price; `amount` in WAD base units."""

    maker: Order
    maker_signature: bytes
    maker_id: Hashable
    taker: Order
    taker_signature: bytes
    taker_id: Hashable
    amount: int
    price: int

    def as_tuple(self) -> tuple:
        """The ABI tuple of one `Fill` for `PerpRouter.settle`."""
        return fill_tuple(self.maker, self.maker_signature, self.taker, self.taker_signature, self.amount)


@dataclass(slots=True)
class SubmitResult:
    order_id: Hashable
    accepted: bool
    reason: Reason | None = None
    fills: list[Fill] = field(default_factory=list)
    resting: int = 0  # amount left resting in the book
    removed: list[tuple[Hashable, Reason]] = field(default_factory=list)  # orders that left the book


class _Level:
    __slots__ = ("queue", "volume", "count")

    def __init__(self):
        self.queue: deque[Resting] = deque()
        self.volume = 0  # live remaining amount
        self.count = 0  # live orders


class OrderBook:
    """The book of one market. Order ids are the caller's (the engine uses the EIP-712 hash);
    without one, the `Order` itself (frozen, hashable) is its id."""

    def __init__(self, market_id: int = 0):
        self.market_id = market_id
        self._bids: SortedDict = SortedDict()  # price -> _Level, best = highest
        self._asks: SortedDict = SortedDict()  # best = lowest
        self._orders: dict[Hashable, Resting] = {}
        self._by_trader: dict[str, dict[Hashable, Resting]] = {}
        self._expiries: list[tuple[int, int, Hashable]] = []  # heap (expiry, seq, id)
        self._seq = count()
        self.positions: dict[str, int] = {}  # trader -> signed size (chain + unsettled fills)

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, order_id) -> bool:
        return order_id in self._orders

    def get(self, order_id) -> Resting | None:
        return self._orders.get(order_id)

    def best_bid(self) -> int | None:
        return self._bids.keys()[-1] if self._bids else None

    def best_ask(self) -> int | None:
        return self._asks.keys()[0] if self._asks else None

    def quote(self) -> tuple[int | None, int | None]:
        return self.best_bid(), self.best_ask()

    def depth(self, levels: int = 20) -> dict[str, list[tuple[int, int, int]]]:
        """Best `levels` per side as (price, volume, orders), best first."""
        bids = [(p, lv.volume, lv.count) for p, lv in islice(reversed(self._bids.items()), levels)]
        asks = [(p, lv.volume, lv.count) for p, lv in islice(self._asks.items(), levels)]
        return {"bids": bids, "asks": asks}

    def orders_of(self, trader: str) -> list[Resting]:
        return list(self._by_trader.get(trader, {}).values())

    def open_exposure(self, trader: str) -> tuple[int, int]:
        """(buy, sell) amounts the trader has resting: what its position may still become."""
        buy = sell = 0
        for r in self._by_trader.get(trader, {}).values():
            if r.buy:
                buy += r.remaining
            else:
                sell += r.remaining
        return buy, sell

    def position(self, trader: str) -> int:
        return self.positions.get(trader, 0)

    def reducible(self, trader: str, buy: bool) -> int:
        """How much a reduce-only order on side `buy` may fill now."""
        pos = self.positions.get(trader, 0)
        if buy:
            return -pos if pos < 0 else 0
        return pos if pos > 0 else 0

    # ------------------------------------------------------------------ changes

    def submit(
        self,
        order: Order,
        signature: bytes = b"",
        *,
        order_id: Hashable = None,
        tif: TimeInForce = TimeInForce.GTC,
        now: int = 0,
        filled: int = 0,
    ) -> SubmitResult:
        """Match `order` and rest what is left (GTC, POST_ONLY). `filled` is what the chain already
        filled of it; `now` the timestamp its fills would settle at."""
        oid = order if order_id is None else order_id
        size, limit = order.size, order.limit_price
        if order.market_id != self.market_id:
            return SubmitResult(oid, False, Reason.WRONG_MARKET)
        if size == 0 or limit <= 0 or filled < 0:
            return SubmitResult(oid, False, Reason.INVALID_ORDER)
        if oid in self._orders:
            return SubmitResult(oid, False, Reason.DUPLICATE)
        remaining = (size if size > 0 else -size) - filled
        if remaining <= 0:
            return SubmitResult(oid, False, Reason.FILLED)
        if now > order.expiry:
            return SubmitResult(oid, False, Reason.EXPIRED)
        buy = size > 0
        if order.reduce_only and self.reducible(order.trader, buy) == 0:
            return SubmitResult(oid, False, Reason.REDUCE_ONLY)
        removed: list[tuple[Hashable, Reason]] = []
        if self._expiries and self._expiries[0][0] < now:
            removed.extend((i, Reason.EXPIRED) for i in self.expire(now))
        if tif is TimeInForce.POST_ONLY and self._crosses(buy, limit):
            return SubmitResult(oid, False, Reason.POST_ONLY_WOULD_CROSS, removed=removed)

        result = SubmitResult(oid, True, removed=removed)
        remaining = self._match(order, signature, oid, buy, limit, remaining, result)
        if remaining:
            if tif is TimeInForce.IOC:
                removed.append((oid, Reason.IOC_REMAINDER))
            elif order.reduce_only and self.reducible(order.trader, buy) == 0:
                removed.append((oid, Reason.REDUCE_ONLY))
            else:
                self._rest(order, signature, oid, tif, buy, remaining)
                result.resting = remaining
        return result

    def cancel(self, order_id) -> Resting | None:
        """Removes a resting order; returns it, or None if it is not in the book."""
        r = self._orders.get(order_id)
        if r is not None:
            self._unlink(r)
        return r

    def set_remaining(self, order_id, remaining: int) -> None:
        """Reconciliation: the chain says the order may fill `remaining` more (<= 0 removes it).
        The order keeps its place in the queue."""
        r = self._orders[order_id]
        if remaining <= 0:
            self._unlink(r)
            return
        side = self._bids if r.buy else self._asks
        side[r.order.limit_price].volume += remaining - r.remaining
        r.remaining = remaining

    def expire(self, now: int) -> list[Hashable]:
        """Removes every order with `now > expiry`; returns their ids."""
        heap, out = self._expiries, []
        while heap and heap[0][0] < now:
            _, seq, oid = heapq.heappop(heap)
            r = self._orders.get(oid)
            if r is not None and r.seq == seq:
                self._unlink(r)
                out.append(oid)
        return out

    # ------------------------------------------------------------------ internals

    def _crosses(self, buy: bool, limit: int) -> bool:
        if buy:
            return bool(self._asks) and self._asks.keys()[0] <= limit
        return bool(self._bids) and self._bids.keys()[-1] >= limit

    def _match(self, order: Order, signature: bytes, oid, buy: bool, limit: int, remaining: int, result) -> int:
        """Takes liquidity from the other side while prices cross; returns what is left."""
        side = self._asks if buy else self._bids
        best = 0 if buy else -1
        keys = side.keys()
        trader = order.trader
        reduce_only = order.reduce_only
        positions = self.positions
        orders = self._orders
        fills = result.fills
        sign = 1 if buy else -1
        while remaining and side:
            price = keys[best]
            if (price > limit) if buy else (price < limit):
                break
            level = side[price]
            q = level.queue
            while q and remaining:
                m = q[0]
                if not m.live:
                    q.popleft()
                    continue
                mo = m.order
                if mo.trader == trader:
                    self._unlink(m)
                    result.removed.append((m.id, Reason.SELF_TRADE))
                    continue
                amount = remaining if remaining < m.remaining else m.remaining
                if mo.reduce_only:
                    cap = self.reducible(mo.trader, m.buy)
                    if cap == 0:
                        self._unlink(m)
                        result.removed.append((m.id, Reason.REDUCE_ONLY))
                        continue
                    if cap < amount:
                        amount = cap
                if reduce_only:
                    cap = self.reducible(trader, buy)
                    if cap == 0:
                        return remaining
                    if cap < amount:
                        amount = cap
                fills.append(Fill(mo, m.signature, m.id, order, signature, oid, amount, price))
                remaining -= amount
                m.remaining -= amount
                level.volume -= amount
                positions[trader] = positions.get(trader, 0) + sign * amount
                positions[mo.trader] = positions.get(mo.trader, 0) - sign * amount
                if m.remaining == 0:
                    q.popleft()
                    m.live = False
                    level.count -= 1
                    del orders[m.id]
                    del self._by_trader[mo.trader][m.id]
            if level.count == 0 and price in side and side[price] is level:
                del side[price]
        return remaining

    def _rest(self, order: Order, signature: bytes, oid, tif: TimeInForce, buy: bool, remaining: int) -> None:
        seq = next(self._seq)
        r = Resting(order, signature, oid, tif, seq, remaining, buy)
        side = self._bids if buy else self._asks
        level = side.get(order.limit_price)
        if level is None:
            level = side[order.limit_price] = _Level()
        level.queue.append(r)
        level.volume += remaining
        level.count += 1
        self._orders[oid] = r
        self._by_trader.setdefault(order.trader, {})[oid] = r
        heapq.heappush(self._expiries, (order.expiry, seq, oid))
        if len(self._expiries) > 2 * len(self._orders) + 1024:  # drop entries of orders gone
            self._expiries = [e for e in self._expiries if (o := self._orders.get(e[2])) is not None and o.seq == e[1]]
            heapq.heapify(self._expiries)

    def _unlink(self, r: Resting) -> None:
        """Takes a live resting order out: O(1), its queue drops the dead entry later."""
        side = self._bids if r.buy else self._asks
        price = r.order.limit_price
        level = side[price]
        r.live = False
        level.volume -= r.remaining
        level.count -= 1
        if level.count == 0:
            del side[price]
        del self._orders[r.id]
        del self._by_trader[r.order.trader][r.id]
