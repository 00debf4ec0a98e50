"""Pure-Python reference model of `PerpMarket` and `FundingRate`, exact to the wei.

The same formulas as the contracts, with the SAME rounding, in plain Python ints (no floats, no
chain). Where a contract would revert, the model raises an exception named like the contract's
custom error, with the same arguments in the same order, and leaves its state untouched (every
state-changing method is atomic, like a transaction).

Rounding vocabulary, as in `FixedPointMath.sol`:

- unsigned: ``*_down`` floors, ``*_up`` ceils;
- signed: ``*_floor`` goes toward -inf, ``*_ceil`` toward +inf;
- Solidity's own ``/`` on signed ints truncates toward zero (`tdiv`), unlike Python's ``//``.

Time and prices are explicit arguments: ``index`` is the oracle price (WAD) the contract would
read, ``now`` the block timestamp. Views take the head block's timestamp, which is what an
``eth_call`` sees on Anvil.

Multi-collateral margin (`CollateralPool`): a market may have a `CollateralPool` of other tokens
that count as margin at their weight. Their oracles are explicit too: ``prices`` maps an oracle's
address to the WAD price its ``tryPrice`` gives at that moment; an oracle missing from it (or at 0)
has failed, which counts that collateral at zero (`ChainlinkFeed.price_at` computes a feed's
answer at a time, staleness included). For an account without collateral, ``prices`` changes
nothing: every method behaves as it did before the pool existed.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import astuple, dataclass, field

WAD = 10**18
INDEX_SCALE = 10**27  # funding index precision: rate (WAD) x price (WAD) / 1e9
FUNDING_PERIOD = 8 * 3600
SAMPLES = 30
MAX_SAMPLE_PREMIUM = WAD // 10  # a premium sample is clamped to +-10 % of the index
UINT128_MAX = 2**128 - 1
INT128_MAX = 2**127 - 1
INT128_MIN = -(2**127)
INT152_MAX = 2**151 - 1
INT152_MIN = -(2**151)
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
# CollateralPool and ParamsLib (collateral bounds)
MAX_COLLATERALS = 8
MAX_COLLATERAL_WEIGHT = 99 * WAD // 100
MIN_LIQUIDATION_DISCOUNT = WAD // 100
MAX_LIQUIDATION_DISCOUNT = WAD // 5


# ================================================================== errors


class ModelRevert(Exception):
    """The contract would revert with the custom error of the same class name and ``args``."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"{self.name}{self.args!r}"


def _error(name: str, doc: str) -> type[ModelRevert]:
    return type(name, (ModelRevert,), {"__doc__": doc})


ValueOverflow = _error("ValueOverflow", "(value): does not fit the packed storage type.")
ZeroAmount = _error("ZeroAmount", "(): a zero deposit or withdrawal.")
MarketPaused = _error("MarketPaused", "(marketId): risk-increasing actions are paused.")
FillPriceOutsideBand = _error("FillPriceOutsideBand", "(price, index, priceBand).")
ReduceOnlyViolated = _error("ReduceOnlyViolated", "(account, size, delta).")
PositionBelowMinimum = _error("PositionBelowMinimum", "(account, size, minPositionSize).")
OpenInterestCapExceeded = _error("OpenInterestCapExceeded", "(long, openInterest, cap).")
InsufficientMargin = _error("InsufficientMargin", "(account, accountValue, required).")
InsufficientCapital = _error("InsufficientCapital", "(account, amount, available).")
NotLiquidatable = _error("NotLiquidatable", "(account, accountValue, maintenance).")
SelfLiquidation = _error("SelfLiquidation", "(account).")
InvalidLiquidationAmount = _error("InvalidLiquidationAmount", "(amount, size).")
InvalidQuote = _error("InvalidQuote", "(bid, ask): zero bid, crossed book or ask > uint128.")
QuoteUnchanged = _error("QuoteUnchanged", "(bid, ask): same quote as the last one.")
QuoteAlreadyRecorded = _error("QuoteAlreadyRecorded", "(marketId, blockNumber).")
ZeroAddress = _error("ZeroAddress", "(): a zero token or oracle.")
ParamOutOfBounds = _error("ParamOutOfBounds", "(name as bytes32, value, min, max).")
OracleUnavailable = _error("OracleUnavailable", "(oracle): it does not price now.")
CollateralDecimalsUnsupported = _error("CollateralDecimalsUnsupported", "(decimals): above 18.")
UnknownCollateral = _error("UnknownCollateral", "(token): not registered (0x0: the market has no pool).")
SettlementTokenAsCollateral = _error("SettlementTokenAsCollateral", "(token).")
TooManyCollaterals = _error("TooManyCollaterals", "(max).")
CollateralCapExceeded = _error("CollateralCapExceeded", "(token, newTotal, cap).")
InsufficientCollateral = _error("InsufficientCollateral", "(account, token, amount, balance).")
NoDebt = _error("NoDebt", "(account): its pnl is not negative.")
NothingToSeize = _error("NothingToSeize", "(account): no pool, or no priced collateral to sell.")
NoPosition = _error("NoPosition", "(account): flat, unknown or already closed: nothing to liquidate.")
LengthMismatch = _error("LengthMismatch", "(accounts, amounts): arrays that pair up differ in length.")
PartialLiquidationUnhealthy = _error(
    "PartialLiquidationUnhealthy", "(account, accountValue, maintenance): a partial liquidation left it below maintenance."
)

# The three measures of equity (DESIGN section 6), as PerpMarket's `Equity` enum.
MAINTENANCE, RISK, WITHDRAWAL = 0, 1, 2


def _atomic(method):
    """Run a state-changing method like a transaction: on a ModelRevert, restore the state."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = copy.deepcopy(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except ModelRevert:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


def _same(self, memo):
    """`__deepcopy__` of an immutable value (a frozen dataclass of ints)."""
    return self


def _flat_copy(self, memo):
    """`__deepcopy__` of a dataclass of ints, strs and bools: `_atomic` copies the state before
    every action, and the generic deepcopy of small dataclasses is most of its cost."""
    new = object.__new__(type(self))
    new.__dict__.update(self.__dict__)
    return new


# ================================================================== fixed point (FixedPointMath)


def tdiv(a: int, b: int) -> int:
    """Solidity signed ``a / b``: truncates toward zero (Python's ``//`` floors)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def tmod(a: int, b: int) -> int:
    """Solidity signed ``a % b``: takes the sign of ``a``."""
    return a - b * tdiv(a, b)


def mul_wad_down(x: int, y: int) -> int:
    """``x * y / 1e18`` rounded down (unsigned)."""
    return x * y // WAD


def mul_wad_up(x: int, y: int) -> int:
    """``x * y / 1e18`` rounded up (unsigned)."""
    return mul_div_up(x, y, WAD)


def div_wad_down(x: int, y: int) -> int:
    """``x * 1e18 / y`` rounded down (unsigned)."""
    return x * WAD // y


def mul_div_down(x: int, y: int, d: int) -> int:
    """``x * y / d`` rounded down (unsigned)."""
    return x * y // d


def mul_div_up(x: int, y: int, d: int) -> int:
    """``x * y / d`` rounded up (unsigned), written as the contract does: ``(p - 1) / d + 1``."""
    p = x * y
    return 0 if p == 0 else (p - 1) // d + 1


def mul_div_floor(x: int, y: int, d: int) -> int:
    """``x * y / d`` toward -inf for signed x, y (d > 0): truncate, then step down if negative."""
    p = x * y
    q = tdiv(p, d)
    if tmod(p, d) != 0 and p < 0:
        q -= 1
    return q


def mul_div_ceil(x: int, y: int, d: int) -> int:
    """``x * y / d`` toward +inf for signed x, y (d > 0): truncate, then step up if positive."""
    p = x * y
    q = tdiv(p, d)
    if tmod(p, d) != 0 and p > 0:
        q += 1
    return q


def clamp(x: int, lo: int, hi: int) -> int:
    """``x`` bounded to [lo, hi] (lo checked first, as in the contract)."""
    return lo if x < lo else (hi if x > hi else x)


def to_int128(x: int) -> int:
    """The contract's checked cast: ValueOverflow(x) outside int128."""
    if x > INT128_MAX or x < INT128_MIN:
        raise ValueOverflow(x)
    return x


def to_int152(x: int) -> int:
    """The contract's checked cast of the funding index: ValueOverflow(x) outside int152."""
    if x > INT152_MAX or x < INT152_MIN:
        raise ValueOverflow(x)
    return x


def to_uint128(x: int) -> int:
    """The contract's checked cast: ValueOverflow(x) above uint128."""
    if x > UINT128_MAX:
        raise ValueOverflow(x)
    return x


# ================================================================== funding formulas (FundingRate)


@dataclass(frozen=True)
class FundingParams:
    """WAD per 8 h: interest I, clamp bound of (I - P), cap of the rate."""

    interest_rate: int = 10**14
    premium_clamp: int = 5 * 10**14
    rate_cap: int = 10**16

    __deepcopy__ = _same

    @classmethod
    def from_tuple(cls, t) -> FundingParams:
        return cls(*(int(v) for v in t))


def premium_sample(bid: int, ask: int, index: int) -> int:
    """``floor((bid + ask) / 2) - index``, clamped to +-10 % of the index (bound truncated)."""
    bound = tdiv(index * MAX_SAMPLE_PREMIUM, WAD)
    return clamp((bid + ask) // 2 - index, -bound, bound)


def ma30(premium_sum: int) -> int:
    """Mean of the ring's SAMPLES samples, truncated toward zero. The ring starts full of
    zero-premium samples (DESIGN section 6): one quote moves the mark by at most 1/30 of its
    premium, even on a new market."""
    return tdiv(premium_sum, SAMPLES)


def bounded_ma30(ma: int, index: int) -> int:
    """MA30 clamped to +-10 % of the *current* index (bound truncated): the samples were clamped
    against the index of their time, so after a > 90 % crash an unbounded MA30 would exceed the
    index and the contract's uint256 mark would wrap."""
    bound = tdiv(index * MAX_SAMPLE_PREMIUM, WAD)
    return clamp(ma, -bound, bound)


def mark_price(index: int, ma: int) -> int:
    """``MP = IP + MA30`` with MA30 bounded, so within [0.9, 1.1] x index."""
    return index + bounded_ma30(ma, index)


def premium_index(ma: int, index: int) -> int:
    """``P = MA30 / IP`` in WAD (MA30 bounded), truncated toward zero."""
    return tdiv(bounded_ma30(ma, index) * WAD, index)


def funding_rate(premium: int, params: FundingParams) -> int:
    """``F = clamp(P + clamp(I - P, -c, c), -cap, cap)`` per 8 h (exact: no division)."""
    inner = clamp(params.interest_rate - premium, -params.premium_clamp, params.premium_clamp)
    return clamp(premium + inner, -params.rate_cap, params.rate_cap)


def pending_accrual(rate: int, index: int, elapsed: int) -> int:
    """``rate * index * elapsed / (8 h * 1e9)`` in 1e27 units, truncated toward zero: longs and
    shorts settle against the same index, so the truncation favours no side."""
    if elapsed == 0 or rate == 0:
        return 0
    return tdiv(rate * index * elapsed, FUNDING_PERIOD * 10**9)


def funding_payment(size: int, index_delta: int) -> int:
    """What an account of ``size`` owes for a funding-index move: ``size x delta / 1e27`` ceiled
    (toward +inf), so the payer pays the extra wei and the receiver gets the lesser one; the dust
    stays in the market. Positive = the account pays."""
    return mul_div_ceil(size, index_delta, INDEX_SCALE)


@dataclass
class FundingState:
    """One market's slot in FundingRate: the premium ring buffer and the cumulative index."""

    params: FundingParams = field(default_factory=FundingParams)
    last_accrual: int = 0  # the registration timestamp, read from chain (`premiumState`)
    market_id: int = 0
    cumulative_index: int = 0
    rate: int = 0  # fixed at the last crank
    head: int = 0
    count: int = 0
    premium_sum: int = 0
    premiums: list[int] = field(default_factory=lambda: [0] * SAMPLES)
    last_bid: int = 0
    last_ask: int = 0
    last_quote_block: int = 0
    last_crank: int = 0  # 0 before the first crank

    def __deepcopy__(self, memo):
        new = _flat_copy(self, memo)
        new.premiums = list(self.premiums)
        return new

    @_atomic
    def record_quote(self, bid: int, ask: int, index: int, block_number: int) -> int:
        """Push one clamped premium sample into the 30-slot ring; returns the sample."""
        if bid == 0 or bid > ask or ask > UINT128_MAX:
            raise InvalidQuote(bid, ask)
        if bid == self.last_bid and ask == self.last_ask:
            raise QuoteUnchanged(bid, ask)
        if self.last_quote_block == block_number:
            raise QuoteAlreadyRecorded(self.market_id, block_number)
        sample = premium_sample(bid, ask, index)
        if self.count < SAMPLES:
            self.count += 1
        else:
            self.premium_sum -= self.premiums[self.head]
        self.premiums[self.head] = sample
        self.premium_sum += sample
        self.head = (self.head + 1) % SAMPLES
        self.last_bid, self.last_ask, self.last_quote_block = bid, ask, block_number
        return sample

    def ma30(self) -> int:
        """MA30 of the ring, truncated toward zero."""
        return ma30(self.premium_sum)

    def mark_price(self, index: int) -> int:
        """``index + MA30`` (bounded to +-10 % of this index)."""
        return mark_price(index, self.ma30())

    def premium_index(self, index: int) -> int:
        """``MA30 / index`` in WAD (MA30 bounded), truncated toward zero."""
        return premium_index(self.ma30(), index)

    def current_funding_rate(self, index: int) -> int:
        """The rate a crank now would fix (not the one in force)."""
        return funding_rate(self.premium_index(index), self.params)

    def pending(self, index: int, now: int) -> int:
        """Accrual since the last one at the fixed rate (truncated toward zero)."""
        return pending_accrual(self.rate, index, now - self.last_accrual)

    def funding_index(self, index: int, now: int) -> int:
        """The view: cumulative index including the pending accrual."""
        return self.cumulative_index + self.pending(index, now)

    def accrue(self, index: int, now: int) -> tuple[int, int]:
        """Fold the pending accrual into the index; returns (cumulative, mark) like `accrue`."""
        if self.last_accrual != now:
            pending = self.pending(index, now)
            if pending != 0:
                self.cumulative_index = to_int152(self.cumulative_index + pending)
            self.last_accrual = now
        return self.cumulative_index, self.mark_price(index)

    def crank(self, index: int, now: int) -> int:
        """Accrue at the old rate, then fix the new one (never retroactive); returns it."""
        self.accrue(index, now)
        self.rate = self.current_funding_rate(index)
        self.last_crank = now
        return self.rate


# ================================================================== collateral (CollateralPool, ParamsLib)


def bytes32(text: str) -> bytes:
    """A Solidity ``bytes32`` string literal, as a revert decodes it."""
    return text.encode().ljust(32, b"\0")


def _bound(name: str, value: int, lo: int, hi: int) -> None:
    if value < lo or value > hi:
        raise ParamOutOfBounds(bytes32(name), value, lo, hi)


@dataclass(frozen=True)
class CollateralParams:
    """A collateral token's parameters (WAD; the cap in token units), in the struct's order."""

    weight: int
    liquidation_discount: int
    cap: int

    __deepcopy__ = _same

    @classmethod
    def from_tuple(cls, t) -> CollateralParams:
        return cls(*(int(v) for v in t))

    def as_tuple(self) -> tuple[int, int, int]:
        return astuple(self)

    def validate(self) -> None:
        """`ParamsLib.validate(CollateralParams)`: discount, then weight <= min(1 - discount, 0.99),
        then cap, each `ParamOutOfBounds(name, value, min, max)`."""
        _bound("liquidationDiscount", self.liquidation_discount, MIN_LIQUIDATION_DISCOUNT, MAX_LIQUIDATION_DISCOUNT)
        _bound("weight", self.weight, 0, min(WAD - self.liquidation_discount, MAX_COLLATERAL_WEIGHT))
        _bound("cap", self.cap, 1, UINT128_MAX)


@dataclass
class ChainlinkFeed:
    """What a `ChainlinkOracle` over one feed answers: ``price_at(now)`` is its ``tryPrice`` at
    block time ``now`` (None when it fails: a non-positive answer, a reverting feed, an update in the
    future or older than the heartbeat). Feeds of ``decimals`` scale exactly to WAD."""

    answer: int
    updated_at: int
    heartbeat: int = 86_400
    decimals: int = 8
    reverting: bool = False

    def price_at(self, now: int) -> int | None:
        if self.reverting or self.answer <= 0 or self.updated_at == 0 or self.updated_at > now:
            return None
        if now - self.updated_at > self.heartbeat:
            return None
        return self.answer * 10 ** (18 - self.decimals)


def try_price(prices, oracle: str) -> tuple[bool, int]:
    """`CollateralPool._tryPrice`: (ok, price) with ok only for a positive price."""
    price = (prices or {}).get(oracle) or 0
    return price > 0, price


@dataclass
class Collateral:
    """One registered token of a pool."""

    oracle: str
    weight: int
    liquidation_discount: int
    cap: int
    scale: int  # 10 ** (18 - decimals)
    total: int = 0  # token units held for all accounts

    __deepcopy__ = _flat_copy

    def params(self) -> CollateralParams:
        return CollateralParams(self.weight, self.liquidation_discount, self.cap)


@dataclass(frozen=True)
class Seizure:
    """One token sold by `seize`, as its `CollateralSeized` event says."""

    token: str
    amount: int
    cost: int
    price: int


@dataclass
class CollateralPool:
    """One market's `CollateralPool`: the registry in registration order (``tokens[i]`` is bit i of
    ``heldMask``), and every account's balance in token units."""

    tokens: list[str] = field(default_factory=list)
    collateral: dict[str, Collateral] = field(default_factory=dict)
    balances: dict[str, dict[str, int]] = field(default_factory=dict)

    def __deepcopy__(self, memo):
        return CollateralPool(
            list(self.tokens),
            {t: _flat_copy(c, memo) for t, c in self.collateral.items()},
            {a: dict(b) for a, b in self.balances.items()},
        )

    # ------------------------------------------------------------ views

    def balance_of(self, account: str, token: str) -> int:
        return self.balances.get(account, {}).get(token, 0)

    def held(self, account: str) -> list[int]:
        """Indices of the tokens ``account`` holds (its ``heldMask``), ascending."""
        mine = self.balances.get(account, {})
        return [i for i, token in enumerate(self.tokens) if mine.get(token, 0) != 0]

    def held_mask(self, account: str) -> int:
        return sum(1 << i for i in self.held(account))

    def holds(self, account: str) -> bool:
        return bool(self.held(account))

    def value_one(self, account: str, token: str, prices) -> tuple[int, bool]:
        """``balance x scale x price / 1e18`` down, ``x weight / 1e18`` down; weight 0 counts 0 and
        needs no price; a failed oracle counts 0 and is not priced."""
        c = self.collateral[token]
        if c.weight == 0:
            return 0, True
        ok, price = try_price(prices, c.oracle)
        if not ok:
            return 0, False
        return mul_wad_down(mul_div_down(self.balance_of(account, token) * c.scale, price, WAD), c.weight), True

    def value_of(self, account: str, prices) -> tuple[int, bool]:
        """`valueOf`: (margin value of the held tokens, whether every one of them was priced)."""
        value, all_priced = 0, True
        for i in self.held(account):
            v, ok = self.value_one(account, self.tokens[i], prices)
            value += v
            all_priced = all_priced and ok
        return value, all_priced

    def balances_of(self, account: str, prices) -> tuple[tuple, tuple, tuple, tuple]:
        """`balancesOf`: every registered token with the balance, its margin value and priced."""
        rows = [(t, self.balance_of(account, t), *self.value_one(account, t, prices)) for t in self.tokens]
        return tuple(tuple(column) for column in zip(*rows)) if rows else ((), (), (), ())

    def collateral_of(self, token: str) -> tuple[str, tuple[int, int, int], int, int]:
        """`collateralOf`: (oracle, params, scale, total); unknown -> UnknownCollateral(token)."""
        c = self._registered(token)
        return c.oracle, c.params().as_tuple(), c.scale, c.total

    # ------------------------------------------------------------ entry points (router / market)

    def set_collateral(self, token: str, oracle: str, params: CollateralParams, decimals: int,
                       settlement_token: str | None) -> None:
        """`setCollateral` of the pool (the router checked the bounds and the oracle)."""
        if int(token, 16) == 0 or int(oracle, 16) == 0:
            raise ZeroAddress()
        if settlement_token is not None and token.lower() == settlement_token.lower():
            raise SettlementTokenAsCollateral(token)
        c = self.collateral.get(token)
        if c is None:
            if len(self.tokens) == MAX_COLLATERALS:
                raise TooManyCollaterals(MAX_COLLATERALS)
            if decimals > 18:
                raise CollateralDecimalsUnsupported(decimals)
            c = self.collateral[token] = Collateral(oracle, 0, 0, 0, 10 ** (18 - decimals))
            self.tokens.append(token)
        c.oracle, c.weight, c.liquidation_discount, c.cap = oracle, params.weight, params.liquidation_discount, params.cap

    def deposit(self, account: str, token: str, amount: int) -> None:
        """Credit ``amount`` units that arrived; the cap holds for the new total."""
        c = self._registered(token)
        if amount == 0:
            raise ZeroAmount()
        total = c.total + amount
        if total > c.cap:
            raise CollateralCapExceeded(token, total, c.cap)
        c.total = total
        mine = self.balances.setdefault(account, {})
        mine[token] = mine.get(token, 0) + amount

    def withdraw(self, account: str, token: str, amount: int) -> None:
        """The pool's part of a withdrawal (the market's health check follows)."""
        c = self._registered(token)
        if amount == 0:
            raise ZeroAmount()
        balance = self.balance_of(account, token)
        if amount > balance:
            raise InsufficientCollateral(account, token, amount, balance)
        self.balances[account][token] = balance - amount
        c.total -= amount

    def seize(self, account: str, liquidator: str, max_repay: int, prices, clears_debt: bool = True
              ) -> tuple[int, bool, list[Seizure]]:
        """Held tokens by weight ascending (the lowest index on a tie), failed oracles skipped. Per
        token the liquidator buys at ``unit = price x (1 - discount)`` rounded up the units that
        what is left to repay buys, ``floor(floor(left x 1e18 / unit) / scale)``, or, when the sale
        clears the whole debt (``clears_debt``), ``ceil(ceil(left x 1e18 / unit) / scale)``; at most
        the balance. It pays their cost rounded up, at most what is left. Returns (repaid, whether
        the account still holds any, the sales)."""
        untried = self.held(account)
        repaid, sales = 0, []
        while untried and repaid < max_repay:
            i = min(untried, key=lambda k: (self.collateral[self.tokens[k]].weight, k))
            untried.remove(i)
            sale = self._seize_one(account, liquidator, self.tokens[i], max_repay - repaid, prices, clears_debt)
            if sale is not None:
                repaid += sale.cost
                sales.append(sale)
        return repaid, self.holds(account), sales

    def _seize_one(self, account, liquidator, token, max_repay, prices, clears_debt) -> Seizure | None:
        c = self.collateral[token]
        ok, price = try_price(prices, c.oracle)
        if not ok:
            return None
        unit_price = mul_wad_up(price, WAD - c.liquidation_discount)
        balance = self.balance_of(account, token)
        if clears_debt:  # the last unit rounded up: no dust debt is left
            needed = mul_div_up(max_repay, WAD, unit_price)
            amount = 0 if needed == 0 else (needed - 1) // c.scale + 1
        else:  # a partial repayment rounds the units down
            amount = mul_div_down(max_repay, WAD, unit_price) // c.scale
        amount = min(amount, balance)
        if amount == 0:
            return None
        cost = min(mul_div_up(amount * c.scale, unit_price, WAD), max_repay)
        self.balances[account][token] = balance - amount
        theirs = self.balances.setdefault(liquidator, {})
        theirs[token] = theirs.get(token, 0) + amount
        return Seizure(token, amount, cost, price)

    def _registered(self, token: str) -> Collateral:
        c = self.collateral.get(token)
        if c is None:
            raise UnknownCollateral(token)
        return c


# ================================================================== market (PerpMarket)


@dataclass(frozen=True)
class MarketParams:
    """Risk parameters, WAD ratios; field order is the contract's struct order."""

    initial_margin_ratio: int = WAD // 10
    maintenance_margin_ratio: int = WAD // 20
    liquidation_fee: int = WAD // 100
    liquidator_share: int = WAD // 2
    maker_fee: int = 2 * 10**14
    taker_fee: int = 5 * 10**14
    price_band: int = 5 * WAD // 100
    warmup_period: int = 3_600  # seconds fresh profit warms up (ParamsLib: 60 s to 1 day)
    max_open_interest: int = 1_000 * WAD
    min_position_size: int = WAD // 1000

    __deepcopy__ = _same

    @classmethod
    def from_tuple(cls, t) -> MarketParams:
        return cls(*(int(v) for v in t))


@dataclass
class Account:
    """Mirror of the contract's `Account` struct (same field order as `accountOf`)."""

    capital: int = 0
    pnl: int = 0
    size: int = 0
    open_notional: int = 0  # size x mark (floored) right after a touch
    funding_snapshot: int = 0
    warming: int = 0  # the part of positive pnl still warming up, as of the last touch
    warm_start: int = 0  # it vests linearly from warm_start to warm_end
    warm_end: int = 0

    __deepcopy__ = _flat_copy

    def as_tuple(self) -> tuple[int, ...]:
        """As the contract's ``accountOf`` returns it: the warm-up times read zero while nothing
        is warming (they mean nothing then)."""
        warming = self.warming != 0
        return (self.capital, self.pnl, self.size, self.open_notional, self.funding_snapshot,
                self.warming, self.warm_start if warming else 0, self.warm_end if warming else 0)


@dataclass(frozen=True)
class Trade:
    """One validated fill: the maker's signed delta at the maker's price; the taker gets -delta."""

    maker: str
    taker: str
    maker_delta: int
    price: int
    maker_reduce_only: bool = False
    taker_reduce_only: bool = False


@dataclass(frozen=True)
class Liquidation:
    """What `liquidate` did: the fee charged and the liquidator's reward out of it."""

    fee: int
    reward: int
    mark: int


@dataclass(frozen=True)
class BatchLiquidation:
    """What `liquidateBatch` did, in order: ``liquidated`` as (account, amount, Liquidation)
    (`Liquidation` events), ``skipped`` as (account, error name) (`LiquidationSkipped` events)."""

    liquidated: tuple
    skipped: tuple


@dataclass(frozen=True)
class CollateralLiquidation:
    """What `liquidateCollateral` did: the debt repaid (`DebtRepaid`), the account's pnl after it,
    the collateral sold (`CollateralSeized`, in order) and the debt written off as bad debt."""

    repaid: int
    pnl: int
    sales: tuple
    bad_debt: int


def liquidation_fee(amount: int, size: int, value: int, mark: int, fee_rate: int) -> int:
    """``amount x mark x rate`` (both rounded up, against the liquidated account), capped at the
    liquidated share of its value ``value x amount / |size|`` (rounded down) so a partial
    liquidation never lowers the account's margin ratio; 0 when the value is not positive."""
    fee = mul_wad_up(mul_wad_up(amount, mark), fee_rate)
    cap = mul_div_down(value, amount, abs(size)) if value > 0 else 0
    return min(fee, cap)


def effective_pnl(pnl: int, h: int) -> int:
    """Positive PnL counts at the ratio (h or g), rounded down; losses count in full."""
    return mul_wad_down(pnl, h) if pnl > 0 else pnl


def vested(warming: int, start: int, end: int, now: int) -> int:
    """The warming profit vested by ``now``: linear from ``start`` to ``end``, rounded down."""
    if warming == 0:
        return 0
    if now >= end:
        return warming
    return mul_div_down(warming, now - start, end - start)


def maintenance_equity(capital: int, pnl: int, unrealised: int) -> int:
    """Liquidation's measure: capital + pnl + unrealised, no haircut (a haircut never makes a
    solvent account liquidatable)."""
    return capital + pnl + unrealised


def risk_equity(capital: int, pnl: int, unrealised: int, g: int) -> int:
    """Risk-increasing checks: capital + (pnl + unrealised), a positive sum at the coverage ``g``
    (warming profit included)."""
    return capital + effective_pnl(pnl + unrealised, g)


def withdrawal_equity(capital: int, pnl: int, warming: int, unrealised: int, h: int) -> int:
    """Withdrawal and conversion: capital + matured pnl at the haircut ``h`` (a loss in full) +
    unrealised (zero right after a touch)."""
    return capital + effective_pnl(pnl - warming, h) + unrealised


def notional(size: int, mark: int) -> int:
    """``|size| x mark`` rounded up (margin is computed on the larger notional)."""
    return mul_wad_up(abs(size), mark)


def margin_required(size: int, mark: int, ratio: int) -> int:
    """``ratio`` (initial or maintenance) of the notional at ``mark``, rounded up (0 when flat)."""
    return mul_wad_up(notional(size, mark), ratio)


def trade_fee(amount: int, price: int, fee_rate: int) -> int:
    """``|amount| x price x rate``, each product rounded up (against the trader who pays)."""
    return mul_wad_up(mul_wad_up(abs(amount), price), fee_rate)


def unrealized_pnl(size: int, open_notional: int, mark: int) -> int:
    """``size x mark`` floored (toward -inf) minus the open notional."""
    return mul_div_floor(size, mark, WAD) - open_notional


def unrealized(acct: Account, mark: int) -> int:
    """An account's unrealised PnL at ``mark`` (`unrealized_pnl`)."""
    return unrealized_pnl(acct.size, acct.open_notional, mark)


def haircut(vault: int, capital_total: int, insurance: int, claims: int) -> int:
    """``min(residual, claims) / claims``, rounded down (against the winners); WAD without claims.
    ``residual = vault - capitalTotal - insurance``, floored at 0. With the matured positive PnL
    as ``claims`` it is the haircut h (withdrawals), with all positive PnL the coverage g."""
    if claims == 0:
        return WAD
    senior = capital_total + insurance
    residual = vault - senior if vault > senior else 0
    return WAD if residual >= claims else div_wad_down(residual, claims)


def increases_risk(old: int, new: int) -> bool:
    """|size| grows, or the sign flips; a close to zero is no flip."""
    return abs(new) > abs(old) or (new != 0 and (old ^ new) < 0)


@dataclass
class MarketState:
    """One PerpMarket with its FundingRate slot. Accounts are keyed by address string."""

    params: MarketParams = field(default_factory=MarketParams)
    funding: FundingState = field(default_factory=FundingState)
    collateral_scale: int = 10**12  # 10 ** (18 - decimals)
    market_id: int = 0
    paused: bool = False
    vault: int = 0
    capital_total: int = 0
    insurance: int = 0
    pnl_pos_total: int = 0
    longs: int = 0
    shorts: int = 0
    warming_total: int = 0
    bad_debt: int = 0
    accounts: dict[str, Account] = field(default_factory=dict)
    now: int = 0  # the block timestamp of the action being applied (warmup)
    pool: CollateralPool | None = None  # created by the router's first `setCollateral`
    settlement_token: str | None = None  # refused as a collateral (when known)

    # ------------------------------------------------------------ entry points

    @_atomic
    def deposit(self, account: str, amount: int) -> int:
        """Credit ``amount`` tokens (exactly ``amount x scale`` WAD) and pay any debt; returns wad."""
        if amount == 0:
            raise ZeroAmount()
        wad = amount * self.collateral_scale
        a = self._acct(account)
        a.capital = to_uint128(a.capital + wad)
        self.capital_total = to_uint128(self.capital_total + wad)
        self.vault = to_uint128(self.vault + wad)
        self._settle_loss(a)
        return wad

    @_atomic
    def withdraw(self, account: str, amount: int, index: int, now: int, prices=None) -> int:
        """Pay out ``amount`` tokens of capital, realising PnL at the haircut only when capital
        alone is short; an open position must keep initial margin. Returns the wad debited."""
        if amount == 0:
            raise ZeroAmount()
        self.now = now
        a = self._acct(account)
        is_open = a.size != 0
        if is_open and self.paused:
            raise MarketPaused(self.market_id)
        mark = 0
        wad = amount * self.collateral_scale
        if is_open or (wad > a.capital and a.pnl > 0):
            if is_open:
                cumulative, mark = self.funding.accrue(index, now)
                self._touch(a, mark, cumulative)
            else:
                self._mature(a)
            if wad > a.capital and a.pnl > 0:
                self._realize_profit(a, wad - a.capital)
        if wad > a.capital:
            raise InsufficientCapital(account, wad, a.capital)
        a.capital -= wad
        self.capital_total -= wad
        self.vault -= wad
        if is_open:
            self._require_margin(account, a, mark, self.params.initial_margin_ratio, WITHDRAWAL, prices)
        return wad

    @_atomic
    def execute_trades(self, trades: list[Trade], index: int, now: int, prices=None) -> None:
        """Apply fills in order: band, maker side, taker side, OI cap, then both margin checks."""
        self.now = now
        cumulative, mark = self.funding.accrue(index, now)
        p = self.params
        for t in trades:
            self._check_band(t.price, index, p.price_band)
            longs_before, shorts_before = self.longs, self.shorts
            maker_up = self._apply_trade(
                t.maker, t.maker_delta, t.price, p.maker_fee, t.maker_reduce_only, mark, cumulative
            )
            taker_up = self._apply_trade(
                t.taker, -t.maker_delta, t.price, p.taker_fee, t.taker_reduce_only, mark, cumulative
            )
            self._check_open_interest(longs_before, shorts_before, p.max_open_interest)
            self._require_trade_margin(t.maker, self._acct(t.maker), mark, maker_up, prices)
            self._require_trade_margin(t.taker, self._acct(t.taker), mark, taker_up, prices)

    def trade(self, maker: str, taker: str, maker_delta: int, price: int, index: int, now: int, prices=None,
              **kw) -> None:
        """One fill: `execute_trades` with a single Trade."""
        self.execute_trades([Trade(maker, taker, maker_delta, price, **kw)], index, now, prices)

    @_atomic
    def liquidate(self, liquidator: str, account: str, amount: int, index: int, now: int, prices=None) -> Liquidation:
        """The liquidator takes ``amount`` of the position at mark; fee split. The value (and so the
        fee cap) includes the collateral; a flat account left in debt is bad debt at once only if it
        holds no collateral, else the debt waits for `liquidate_collateral`."""
        if account == liquidator:
            raise SelfLiquidation(account)
        self.now = now
        a = self._acct(account)
        size = a.size
        if size == 0:
            raise NoPosition(account)
        if amount == 0 or amount > abs(size):
            raise InvalidLiquidationAmount(amount, size)
        cumulative, mark = self.funding.accrue(index, now)
        self._touch(a, mark, cumulative)
        value = self._equity(a, mark, MAINTENANCE) + self.collateral_value(account, prices)
        maintenance = margin_required(size, mark, self.params.maintenance_margin_ratio)
        if value >= maintenance:
            raise NotLiquidatable(account, value, maintenance)
        done, liquidator_up = self._take_over(liquidator, account, amount, value, mark, cumulative, prices)
        self._require_trade_margin(liquidator, self._acct(liquidator), mark, liquidator_up, prices)
        return done

    @_atomic
    def liquidate_batch(self, liquidator: str, accounts: list[str], amounts: list[int], index: int, now: int,
                        prices=None) -> BatchLiquidation:
        """`liquidateBatch`: one accrual, then each account as `liquidate` would take it (amount 0 =
        the whole position), except that what `liquidate` would refuse is skipped with the error's
        name; the liquidator's margin is checked once, at the end. A healthy account is left as it
        was; a liquidatable one is touched even when its partial amount is then refused."""
        if len(accounts) != len(amounts):
            raise LengthMismatch(len(accounts), len(amounts))
        if not accounts:
            return BatchLiquidation((), ())
        self.now = now
        cumulative, mark = self.funding.accrue(index, now)
        liquidated, skipped, liquidator_up = [], [], False
        for account, amount in zip(accounts, amounts):
            refusal = self._batch_refusal(liquidator, account, amount, mark, cumulative, prices)
            if refusal is not None:
                skipped.append((account, refusal))
                continue
            a = self.accounts[account]
            amount = amount or abs(a.size)
            value = self._equity(a, mark, MAINTENANCE) + self.collateral_value(account, prices)
            done, up = self._take_over(liquidator, account, amount, value, mark, cumulative, prices)
            liquidated.append((account, amount, done))
            liquidator_up = liquidator_up or up
        if liquidated:
            self._require_trade_margin(liquidator, self._acct(liquidator), mark, liquidator_up, prices)
        return BatchLiquidation(tuple(liquidated), tuple(skipped))

    def _batch_refusal(self, liquidator, account, amount, mark, cumulative, prices) -> str | None:
        """The name of the error `liquidate` would refuse this entry with, or None. Tried on the
        state itself and put back: the health on a touched copy (a healthy account stays
        untouched), a partial amount by taking it over (without the liquidator's side, which
        never decides the victim's health) and undoing it."""
        if account == liquidator:
            return "SelfLiquidation"
        a = self.accounts.get(account)
        if a is None or a.size == 0:
            return "NoPosition"
        whole = abs(a.size)
        if amount > whole:
            return "InvalidLiquidationAmount"
        saved = copy.deepcopy(self.__dict__)
        self._touch(a, mark, cumulative)
        value = self._equity(a, mark, MAINTENANCE) + self.collateral_value(account, prices)
        if value >= margin_required(a.size, mark, self.params.maintenance_margin_ratio):
            self.__dict__.clear()
            self.__dict__.update(saved)
            return "NotLiquidatable"
        if amount in (0, whole):
            return None
        touched = copy.deepcopy(self.__dict__)
        try:
            self._take_over(liquidator, account, amount, value, mark, cumulative, prices, with_liquidator=False)
            refusal = None
        except (PositionBelowMinimum, PartialLiquidationUnhealthy) as err:
            refusal = type(err).__name__
        self.__dict__.clear()
        self.__dict__.update(touched)
        return refusal

    def _take_over(self, liquidator, account, amount, value, mark, cumulative, prices,
                   with_liquidator: bool = True) -> tuple[Liquidation, bool]:
        """The takeover of ``amount`` of the touched, liquidatable ``account`` at mark: fee on the
        maintenance ``value``, split between the fund and the liquidator; bad debt of a closed
        account no collateral backs; a partial must leave it at or above maintenance. Returns what
        was done and whether it increased the liquidator's risk."""
        p = self.params
        a = self._acct(account)
        size = a.size
        fee = liquidation_fee(amount, size, value, mark, p.liquidation_fee)
        delta = -amount if size > 0 else amount
        self._apply_trade(account, delta, mark, 0, False, mark, cumulative)
        liquidator_up = with_liquidator and self._apply_trade_unpaused(liquidator, -delta, mark, cumulative)
        reward = 0
        if fee > 0:
            fee, reward = self._charge_liquidation_fee(a, self._acct(liquidator), fee)
        if a.size == 0 and a.pnl < 0 and not self.holds_collateral(account):
            self._absorb_bad_debt(a)
        if a.size != 0:  # a partial liquidation leaves the account at or above maintenance
            value_after = self._equity(a, mark, MAINTENANCE) + self.collateral_value(account, prices)
            maintenance_after = margin_required(a.size, mark, p.maintenance_margin_ratio)
            if value_after < maintenance_after:
                raise PartialLiquidationUnhealthy(account, value_after, maintenance_after)
        return Liquidation(fee, reward, mark), liquidator_up

    # ------------------------------------------------------------ collateral entry points

    @_atomic
    def set_collateral(self, token: str, oracle: str, params: CollateralParams, decimals: int, prices=None) -> None:
        """`router.setCollateral`: bounds, oracle, then the pool (created on the first call)."""
        params.validate()
        if int(oracle, 16) == 0:
            raise ZeroAddress()
        if not try_price(prices, oracle)[0]:
            raise OracleUnavailable(oracle)
        if self.pool is None:
            self.pool = CollateralPool()
        self.pool.set_collateral(token, oracle, params, decimals, self.settlement_token)

    @_atomic
    def deposit_collateral(self, account: str, token: str, amount: int) -> None:
        """`router.depositCollateral`: ``amount`` units of ``token`` (no fee on transfer)."""
        if self.pool is None:
            raise UnknownCollateral(ZERO_ADDRESS)
        if amount == 0:
            raise ZeroAmount()
        self.pool.deposit(account, token, amount)

    @_atomic
    def withdraw_collateral(self, account: str, token: str, amount: int, index: int, now: int, prices=None) -> None:
        """`router.withdrawCollateral`: the pool pays out, then the market's health check
        (`onCollateralWithdrawn`): flat without debt always passes, no price needed; flat in debt
        keeps the debt backed (capital + pnl + collateral >= 0, no waiver); open: not while
        paused, funding and loss settled, initial margin with the collateral left."""
        if self.pool is None:
            raise UnknownCollateral(ZERO_ADDRESS)
        self.now = now
        self.pool.withdraw(account, token, amount)
        a = self._acct(account)
        if a.size == 0:
            if a.pnl < 0:
                self._require_margin(account, a, 0, 0, WITHDRAWAL, prices)
            return
        if self.paused:
            raise MarketPaused(self.market_id)
        cumulative, mark = self.funding.accrue(index, now)
        self._touch(a, mark, cumulative)
        self._require_margin(account, a, mark, self.params.initial_margin_ratio, WITHDRAWAL, prices)

    @_atomic
    def liquidate_collateral(self, liquidator: str, account: str, max_repay: int, index: int, now: int,
                             prices=None) -> CollateralLiquidation:
        """`liquidateCollateral`: the liquidator repays up to ``max_repay`` of the account's debt
        from its capital and receives collateral at the discount (`CollateralPool.seize`). A flat
        account's debt needs no market price; with a position (either side's) funding is settled
        first and the account must be under maintenance. A flat account left in debt with no
        collateral: bad debt. A liquidator with a position keeps initial margin."""
        if account == liquidator:
            raise SelfLiquidation(account)
        if max_repay == 0:
            raise ZeroAmount()
        if self.pool is None:
            raise NothingToSeize(account)
        self.now = now
        a, l = self._acct(account), self._acct(liquidator)
        mark = 0
        if a.size != 0 or l.size != 0:
            cumulative, mark = self.funding.accrue(index, now)
            self._touch(a, mark, cumulative)
            self._touch(l, mark, cumulative)
        self._settle_loss(a)
        if a.pnl >= 0:
            raise NoDebt(account)
        if a.size != 0:
            value = self._equity(a, mark, MAINTENANCE) + self.collateral_value(account, prices)
            maintenance = margin_required(a.size, mark, self.params.maintenance_margin_ratio)
            if value >= maintenance:
                raise NotLiquidatable(account, value, maintenance)
        repaid, left, sales = self.pool.seize(account, liquidator, min(max_repay, -a.pnl), prices, max_repay >= -a.pnl)
        if repaid == 0:
            raise NothingToSeize(account)
        if repaid > l.capital:
            raise InsufficientCapital(liquidator, repaid, l.capital)
        l.capital -= repaid
        self.capital_total -= repaid
        a.pnl += repaid  # repaid <= debt: still <= 0, so pnlPosTotal is unchanged
        bad_debt = 0
        if a.size == 0 and a.pnl < 0 and not left:
            bad_debt = -a.pnl
            self._absorb_bad_debt(a)
        if l.size != 0:
            self._require_margin(liquidator, l, mark, self.params.initial_margin_ratio, WITHDRAWAL, prices)
        return CollateralLiquidation(repaid, a.pnl, tuple(sales), bad_debt)

    @_atomic
    def settle_funding(self, account: str, index: int, now: int) -> None:
        """Accrue, then touch the account (flat or not)."""
        self.now = now
        a = self._acct(account)
        cumulative, mark = self.funding.accrue(index, now)
        self._touch(a, mark, cumulative)

    @_atomic
    def touch(self, accounts: list[str], index: int, now: int) -> int:
        """`touch`: accrue once, then touch each account that is open or has profit warming (the
        others skipped, a repeated one changes nothing). Returns how many were touched."""
        self.now = now
        cumulative, mark = self.funding.accrue(index, now)
        touched = 0
        for account in accounts:
            a = self.accounts.get(account)
            if a is None or (a.size == 0 and a.warming == 0):
                continue
            self._touch(a, mark, cumulative)
            touched += 1
        return touched

    # ------------------------------------------------------------ views

    def account(self, account: str) -> Account:
        """A copy of the account (zero if never touched), like `accountOf`."""
        return copy.copy(self.accounts.get(account, Account()))

    def haircut(self) -> int:
        """h over the matured positive PnL (as of each account's last touch)."""
        return haircut(self.vault, self.capital_total, self.insurance, self.pnl_pos_total - self.warming_total)

    def coverage(self) -> int:
        """g over all positive PnL, warming included."""
        return haircut(self.vault, self.capital_total, self.insurance, self.pnl_pos_total)

    def pnl_warming_of(self, account: str, now: int) -> int:
        """`pnlWarmingOf`: the warming part of the account's pnl at ``now``."""
        a = self.accounts.get(account, Account())
        return a.warming - vested(a.warming, a.warm_start, a.warm_end, now)

    def pnl_matured_of(self, account: str, now: int) -> int:
        """`pnlMaturedOf`: pnl less its warming part (a loss as it is)."""
        a = self.accounts.get(account, Account())
        return a.pnl - self.pnl_warming_of(account, now) if a.pnl > 0 else a.pnl

    def open_interest(self) -> tuple[int, int]:
        return self.longs, self.shorts

    def account_value(self, account: str, index: int, now: int, prices=None) -> int:
        """Maintenance equity: capital + pnl + unrealised at mark - pending funding (rounded up) +
        collateral value; no haircut."""
        a = self.accounts.get(account, Account())
        extra = self.collateral_value(account, prices)
        if a.size == 0:
            return a.capital + a.pnl + extra
        mark, cumulative = self.funding.mark_price(index), self.funding.funding_index(index, now)
        return self._value_with_pending(a, mark, cumulative) + extra

    def health_of(self, accounts: list[str], index: int, now: int, prices=None) -> tuple[list[int], list[int], list[int]]:
        """(sizes, values, maintenance) like `healthOf`: prices read once, pending funding included
        (also for a flat account, where it is 0)."""
        mark, cumulative = self.funding.mark_price(index), self.funding.funding_index(index, now)
        mmr = self.params.maintenance_margin_ratio
        sizes, values, maintenance = [], [], []
        for account in accounts:
            a = self.accounts.get(account, Account())
            sizes.append(a.size)
            values.append(self._value_with_pending(a, mark, cumulative) + self.collateral_value(account, prices))
            maintenance.append(0 if a.size == 0 else margin_required(a.size, mark, mmr))
        return sizes, values, maintenance

    def candidates_of(self, accounts: list[str], index: int, now: int, prices=None):
        """`candidatesOf`: `health_of` plus ``unsettled``, what a touch would realise now
        (unrealised at mark less pending funding; 0 when flat)."""
        sizes, values, maintenance = self.health_of(accounts, index, now, prices)
        unsettled = []
        for account, value in zip(accounts, values):
            a = self.accounts.get(account, Account())
            unsettled.append(0 if a.size == 0 else value - self.collateral_value(account, prices) - a.capital - a.pnl)
        return sizes, values, maintenance, unsettled

    def margin_requirements(self, account: str, index: int) -> tuple[int, int]:
        """(initial, maintenance) = notional at mark x IMR / MMR, both rounded up."""
        size = self.accounts.get(account, Account()).size
        if size == 0:
            return 0, 0
        n = notional(size, self.funding.mark_price(index))
        return mul_wad_up(n, self.params.initial_margin_ratio), mul_wad_up(n, self.params.maintenance_margin_ratio)

    def is_liquidatable(self, account: str, index: int, now: int, prices=None) -> bool:
        if self.accounts.get(account, Account()).size == 0:
            return False
        return self.account_value(account, index, now, prices=prices) < self.margin_requirements(account, index)[1]

    def collateral_value(self, account: str, prices=None) -> int:
        """Margin value of the account's collateral (a failed oracle counts 0); 0 without a pool."""
        return 0 if self.pool is None else self.pool.value_of(account, prices)[0]

    def holds_collateral(self, account: str) -> bool:
        return self.pool is not None and self.pool.holds(account)

    # ------------------------------------------------------------ internals: trading

    def _acct(self, account: str) -> Account:
        return self.accounts.setdefault(account, Account())

    def _apply_trade(self, account, delta, price, fee_rate, reduce_only, mark, cumulative) -> bool:
        """One side of a fill; returns whether it increased risk."""
        a = self._acct(account)
        old = a.size
        up = increases_risk(old, old + delta)
        if reduce_only and up:
            raise ReduceOnlyViolated(account, old, delta)
        if up and self.paused:
            raise MarketPaused(self.market_id)
        self._trade(account, a, old, delta, price, fee_rate, mark, cumulative)
        return up

    def _apply_trade_unpaused(self, account, delta, mark, cumulative) -> bool:
        """The liquidator's side: at mark, no fee, no pause check."""
        a = self._acct(account)
        old = a.size
        self._trade(account, a, old, delta, mark, 0, mark, cumulative)
        return increases_risk(old, old + delta)

    def _trade(self, account, a: Account, old, delta, price, fee_rate, mark, cumulative) -> None:
        """Touch, minimum size, position at ``price``, fee (both multiplications rounded up), loss,
        OI."""
        self._touch(a, mark, cumulative)
        new = old + delta
        if new != 0 and abs(new) < self.params.min_position_size:
            raise PositionBelowMinimum(account, new, self.params.min_position_size)
        realized = self._update_position(a, old, delta, price)
        if realized != 0:
            self._set_pnl(a, a.pnl + realized)
        self._settle_loss(a)
        fee = trade_fee(delta, price, fee_rate)
        if fee != 0:
            self.insurance = to_uint128(self.insurance + self._collect_fee(a, fee))
        self._update_open_interest(old, new)

    @staticmethod
    def _update_position(a: Account, old: int, delta: int, price: int) -> int:
        """Opening adds ``delta x price`` ceiled (toward +inf: a long's entry is the higher one, a
        short's the lower one). Closing realises ``exit - basis`` with the exit floored and the basis
        share ceiled, so realised PnL is rounded down. Returns the realised PnL."""
        on = a.open_notional
        new = old + delta
        realized = 0
        if old == 0 or (old > 0) == (delta > 0):
            on += mul_div_ceil(delta, price, WAD)
        else:
            closing = min(abs(delta), abs(old))
            basis = mul_div_ceil(on, closing, abs(old))
            exit_size = closing if old > 0 else -closing
            realized = mul_div_floor(exit_size, price, WAD) - basis
            on -= basis
            if abs(delta) > abs(old):
                on += mul_div_ceil(new, price, WAD)
        a.size = to_int128(new)
        a.open_notional = to_int128(on)
        return realized

    def _update_open_interest(self, old: int, new: int) -> None:
        if old > 0:
            self.longs -= old
        elif old < 0:
            self.shorts -= -old
        if new > 0:
            self.longs += new
        elif new < 0:
            self.shorts += -new

    def _check_open_interest(self, longs_before: int, shorts_before: int, cap: int) -> None:
        """Only a side that grew is held to the cap."""
        if self.longs > longs_before and self.longs > cap:
            raise OpenInterestCapExceeded(True, self.longs, cap)
        if self.shorts > shorts_before and self.shorts > cap:
            raise OpenInterestCapExceeded(False, self.shorts, cap)

    @staticmethod
    def _check_band(price: int, index: int, band: int) -> None:
        """``|price - index| x 1e18 <= index x band`` (exact, no division)."""
        if abs(price - index) * WAD > index * band:
            raise FillPriceOutsideBand(price, index, band)

    # ------------------------------------------------------------ internals: accounting

    def _touch(self, a: Account, mark: int, cumulative: int) -> None:
        """Vested profit matures, funding is settled, the position is marked to market, a loss is
        paid from capital. Idempotent within a block."""
        self._mature(a)
        self._settle_funding(a, cumulative)
        self._mark_to_market(a, mark)
        self._settle_loss(a)

    def _mark_to_market(self, a: Account, mark: int) -> int:
        """Unrealised PnL at mark (``size x mark`` floored - entry) becomes pnl; the entry becomes
        ``size x mark`` floored. Returns what was realised."""
        if a.size == 0:
            return 0
        at_mark = mul_div_floor(a.size, mark, WAD)
        realized = at_mark - a.open_notional
        if realized != 0:
            a.open_notional = to_int128(at_mark)
            self._set_pnl(a, a.pnl + realized)
        return realized

    def _mature(self, a: Account) -> None:
        """The vested part of the warming profit becomes matured."""
        if a.warming == 0:
            return
        v = vested(a.warming, a.warm_start, a.warm_end, self.now)
        a.warm_start = self.now
        if v:
            a.warming -= v
            self.warming_total -= v

    def _settle_funding(self, a: Account, cumulative: int) -> int:
        """Pay ``size x (index - snapshot) / 1e27`` ceiled (toward +inf): up when the account pays,
        toward zero when it receives, so the dust stays in the market. Returns the payment."""
        snapshot = a.funding_snapshot
        if snapshot == cumulative:
            return 0
        a.funding_snapshot = cumulative
        if a.size == 0:
            return 0
        payment = funding_payment(a.size, cumulative - snapshot)
        if payment != 0:
            self._set_pnl(a, a.pnl - payment)
        return payment

    def _settle_loss(self, a: Account) -> None:
        """A negative PnL is paid from capital at once; what capital cannot cover stays as debt."""
        if a.pnl >= 0:
            return
        take = min(-a.pnl, a.capital)
        if take == 0:
            return
        a.capital -= take
        a.pnl += take
        self.capital_total -= take

    def _realize_profit(self, a: Account, needed: int) -> None:
        """Just enough matured PnL becomes capital at the haircut h to cover ``needed``: the PnL
        given up rounds up (against the claimant); the rest stays junior PnL. Warming profit is
        never converted."""
        matured = a.pnl - a.warming
        if matured == 0:
            return
        h = self.haircut()
        if h == 0:
            return
        burned, credit = mul_div_up(needed, WAD, h), needed
        if burned >= matured:
            burned, credit = matured, mul_wad_down(matured, h)
        self._set_pnl(a, a.pnl - burned)
        a.capital = to_uint128(a.capital + credit)
        self.capital_total = to_uint128(self.capital_total + credit)

    def _collect_fee(self, a: Account, fee: int) -> int:
        """Capital first (senior to senior), then positive PnL counted at the coverage g (junior),
        the rest debt. Returns the backed amount the fund may credit."""
        h = self.coverage()
        collected = min(fee, a.capital)
        a.capital -= collected
        self.capital_total -= collected
        rest = fee - collected
        if rest == 0:
            return collected
        if a.pnl > 0:
            collected += mul_wad_down(min(rest, a.pnl), h)
        self._set_pnl(a, a.pnl - rest)
        return collected

    def _absorb_bad_debt(self, a: Account) -> None:
        """The insurance fund pays what it can of a closed account's debt; the rest is written off
        (the residual stays short of pnlPosTotal, which lowers the haircut)."""
        covered = min(-a.pnl, self.insurance)
        self.insurance -= covered
        self.bad_debt = to_uint128(self.bad_debt + (-a.pnl - covered))
        self._set_pnl(a, 0)

    def _charge_liquidation_fee(self, a: Account, liquidator: Account, fee: int) -> int:
        """Fee collected like a trading fee (capital first, then PnL at the haircut); the
        liquidator's share of what was collected (rounded down) to its capital, the rest to the
        insurance fund. Returns (collected, reward)."""
        # charged only as far as capital and positive PnL cover it (PerpMarket.liquidate)
        fee = min(fee, a.capital + max(a.pnl, 0))
        fee = self._collect_fee(a, fee) if fee > 0 else 0
        reward = mul_wad_down(fee, self.params.liquidator_share)
        liquidator.capital = to_uint128(liquidator.capital + reward)
        self.capital_total = to_uint128(self.capital_total + reward)
        self.insurance = to_uint128(self.insurance + fee - reward)
        return fee, reward

    def _set_pnl(self, a: Account, new_pnl: int) -> None:
        """Keep pnlPosTotal the sum of positive PnLs; a rise of the positive part warms up
        (restarting the linear vesting of what is still warming, never ending earlier than it was
        promised), a fall takes matured profit first."""
        old_pos, new_pos = max(a.pnl, 0), max(new_pnl, 0)
        a.pnl = to_int128(new_pnl)
        if new_pos == old_pos:
            return
        self.pnl_pos_total = to_uint128(self.pnl_pos_total + new_pos - old_pos)
        if new_pos > old_pos:
            fresh = new_pos - old_pos
            end = self.now + self.params.warmup_period
            if a.warming == 0 or end > a.warm_end:
                a.warm_end = end
            a.warm_start = self.now
            a.warming += fresh
            self.warming_total = to_uint128(self.warming_total + fresh)
        elif a.warming > new_pos:
            self.warming_total -= a.warming - new_pos
            a.warming = new_pos

    def _require_trade_margin(self, account: str, a: Account, mark: int, up: bool, prices=None) -> None:
        """After a fill: initial margin on the risk equity if it increased risk, else maintenance on
        the maintenance equity."""
        p = self.params
        if up:
            self._require_margin(account, a, mark, p.initial_margin_ratio, RISK, prices)
        else:
            self._require_margin(account, a, mark, p.maintenance_margin_ratio, MAINTENANCE, prices)

    def _require_margin(self, account: str, a: Account, mark: int, ratio: int, kind: int, prices=None) -> None:
        """``ratio`` of the notional at mark (0 when flat) against the ``kind`` of equity. The
        collateral counts only when the settlement value alone falls short; if it is still short
        and a collateral oracle failed, a maintenance check passes (nobody could price what the
        check needs)."""
        required = 0 if a.size == 0 else margin_required(a.size, mark, ratio)
        value = self._equity(a, mark, kind)
        if value >= required:
            return
        if self.pool is None:
            raise InsufficientMargin(account, value, required)
        extra, all_priced = self.pool.value_of(account, prices)
        value += extra
        if value >= required:
            return
        if not all_priced and kind == MAINTENANCE:
            return
        raise InsufficientMargin(account, value, required)

    def _equity(self, a: Account, mark: int, kind: int) -> int:
        """The account's equity of ``kind`` with funding settled (PerpMarket `_equity`)."""
        u = unrealized(a, mark)
        if kind == MAINTENANCE:
            return maintenance_equity(a.capital, a.pnl, u)
        if kind == RISK:
            return risk_equity(a.capital, a.pnl, u, self.coverage())
        return withdrawal_equity(a.capital, a.pnl, a.warming, u, self.haircut())

    @staticmethod
    def _value_with_pending(a: Account, mark: int, cumulative: int) -> int:
        """Maintenance equity with funding not yet settled: the pending payment rounds like a
        settled one (up)."""
        pending = funding_payment(a.size, cumulative - a.funding_snapshot)
        return maintenance_equity(a.capital, a.pnl, unrealized(a, mark) - pending)
