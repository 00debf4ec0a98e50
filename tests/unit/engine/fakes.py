"""A `ChainAdapter` in memory: just enough of PerpRouter, PerpMarket and FundingRate to test the
engine's admission, bisection, reconciliation and quoting without a node."""

from dataclasses import dataclass, field

from perpkit.engine.chain import CANCELLED, MarketInfo, Receipt, Revert
from perpkit.model import WAD

ROUTER = "0x" + "5a" * 20


@dataclass
class FakeChain:
    chain_id: int = 31337
    router_address: str = ROUTER
    block: int = 100
    timestamp: int = 1_700_000_000
    info: MarketInfo = MarketInfo(WAD // 10, WAD // 20, 2 * 10**14, 5 * 10**14, 5 * WAD // 100, WAD // 1000)
    mark: int = 60_000 * WAD
    values: dict = field(default_factory=dict)  # trader -> accountValue (WAD)
    sizes: dict = field(default_factory=dict)  # trader -> position size
    filled: dict = field(default_factory=dict)  # order hash -> amount (CANCELLED when cancelled)
    min_nonces: dict = field(default_factory=dict)
    operators: set = field(default_factory=set)  # (trader, operator)
    broke: set = field(default_factory=set)  # traders every fill of whom reverts InsufficientMargin
    market_error: Revert | None = None  # a revert every settle hits (stale oracle...)
    settled: list = field(default_factory=list)  # batches sent, as lists of fill tuples
    quotes: list = field(default_factory=list)  # (block, market, bid, ask)
    settle_calls: int = 0

    def head(self):
        return self.block, self.timestamp

    def order_states(self, hashes, traders):
        filled = [self.filled.get(bytes(h), 0) for h in hashes]
        return filled, {t: self.min_nonces.get(t, 0) for t in traders}, self.head()

    def is_operator(self, trader, operator):
        return (trader, operator) in self.operators

    def is_valid_erc1271(self, trader, digest, signature):
        return False

    def market_info(self, market_id):
        return self.info

    def mark_price(self, market_id):
        return self.mark

    def accounts(self, market_id, traders):
        return [(self.sizes.get(t, 0), self.values.get(t, 0)) for t in traders]

    def positions(self, market_id, traders):
        return [self.sizes.get(t, 0) for t in traders]

    def _run(self, fills, apply):
        from perpkit.engine.engine import OrderHasher
        from perpkit.orders import Order

        hasher = OrderHasher(self.chain_id, self.router_address)
        filled, sizes = dict(self.filled), dict(self.sizes)
        for maker, _ms, taker, _ts, amount in fills:
            if self.market_error is not None:
                return self.market_error
            for o in (Order(*maker), Order(*taker)):
                h = hasher(o)
                if filled.get(h, 0) == CANCELLED:
                    return Revert("OrderIsCancelled", {"orderHash": h})
                if filled.get(h, 0) + amount > abs(o.size):
                    return Revert("FillExceedsOrder", {"orderHash": h})
                filled[h] = filled.get(h, 0) + amount
                sizes[o.trader] = sizes.get(o.trader, 0) + (amount if o.size > 0 else -amount)
            for o in (Order(*maker), Order(*taker)):
                if o.trader in self.broke:
                    return Revert("InsufficientMargin", {"account": o.trader}, f"InsufficientMargin({o.trader})")
        if apply:
            self.filled, self.sizes = filled, sizes
        return None

    def settle_call(self, fills):
        self.settle_calls += 1
        return self._run(fills, apply=False)

    def settle(self, fills):
        assert self._run(fills, apply=True) is None, "the engine sent a batch that reverts"
        self.settled.append(list(fills))
        return self._mine(100_000 * len(fills))

    def record_quote_call(self, market_id, bid, ask):
        return None

    def record_quote(self, market_id, bid, ask):
        receipt = self._mine(50_000)
        self.quotes.append((receipt.block, market_id, bid, ask))
        return receipt

    def _mine(self, gas):
        self.block += 1
        self.timestamp += 1
        return Receipt("0x" + self.block.to_bytes(32, "big").hex(), self.block, gas)
