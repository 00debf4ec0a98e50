"""The exchange state machine: one definition, run on Anvil (through ape) and in process (pyrevm).

A hypothesis `RuleBasedStateMachine` over one router with two markets (BTC and ETH, one settlement
token, and in each a CollateralPool of WETH and WBTC) and four traders. Rules: deposit, withdraw,
trade (inside and outside the price band, reduce-only or not, over-levered, levered on
collateral), fills of cancelled and expired orders, oracle moves (small, large), oracle outages
(zero answer, stale), quotes, time jumps, cranks, funding settlement, liquidations by random
callers, parameter changes within bounds, pause and unpause; and for the collateral: deposits (up
to and past the cap), withdrawals (part, all, more than held), collateral liquidations
(`liquidateCollateral`, also right after a crash left debt), collateral price moves (a 30 % drop
among them), collateral oracle outages (zero, stale, reverting) lasting until a recovery rule,
and collateral parameter changes (weight 0, a lower weight, a cap below the total, out of bounds).

Every step runs through a `Mirror` per market (tests/mirror.py): the contract must accept exactly
what the model accepts, refuse with the same custom error and arguments, and match the model to
the wei afterwards. After every step the invariants of DESIGN section 7 hold in both markets
(`perpkit.invariants`), and those of the collateral pools: per token, the pool's token balance =
its accounted total = the sum of the balances; a flat account in debt holds collateral (else its
debt was written off as bad debt). Each example starts from the same chain snapshot.

`machine_for(chain, exchanges, accounts)` binds the machine to a deployed suite; the tests and the
deep campaign (tests/fuzz/campaign.py) run the class it returns.
"""

from __future__ import annotations

import sys
from decimal import Decimal

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from perpkit.invariants import check_market, failures
from tests.conftest import WAD, funding_params, market_params
from tests.fuzz.suites import COLLATERALS
from tests.mirror import Mirror, attempt, decode_revert

PEOPLE = ("alice", "bob", "carol", "keeper")
MARKETS = (0, 1)  # BTC, ETH: the same collateral token, one router

# Parameter sets the owner may switch between: all within ParamsLib's bounds and envelope.
MARKET_PARAM_SETS = (
    market_params(),
    market_params(initialMarginRatio=WAD // 8, maintenanceMarginRatio=WAD * 6 // 100),
    market_params(makerFee=0, takerFee=10**15, liquidatorShare=WAD * 3 // 4),
    market_params(maxOpenInterest=5 * WAD, minPositionSize=WAD // 100),
)
FUNDING_PARAM_SETS = (
    funding_params(),
    funding_params(rateCap=5 * 10**15, premiumClamp=10**14),
    funding_params(interestRate=0),
)
SYMBOLS = tuple(c.symbol for c in COLLATERALS)
SPECS = {c.symbol: c for c in COLLATERALS}
# Collateral parameter changes: the suite's own, delisted (weight 0: counts nothing, sold first), a
# lower weight, the largest weight for its discount, the largest of all (0.99 at a 1 % discount),
# a cap of one whole token (deposits refused above it; what is held stays), and two out of bounds
# (weight > 1 - discount; discount > 20 %): ParamOutOfBounds.
COLLATERAL_PARAM_SETS = {
    symbol: (
        spec.params(),
        spec.params(weight=0),
        spec.params(weight=WAD // 2),
        spec.params(weight=WAD - spec.discount),
        spec.params(weight=99 * WAD // 100, liquidationDiscount=WAD // 100),
        spec.params(cap=10**spec.decimals),
        spec.params(weight=WAD - spec.discount + 1),
        spec.params(liquidationDiscount=WAD // 5 + 1),
    )
    for symbol, spec in SPECS.items()
}


def machine_for(chain, exchanges: list, accounts: dict, guardian) -> type:
    """An `ExchangeMachine` subclass bound to `exchanges` (one per market) on `chain`."""
    machine = type(
        "ExchangeMachine",
        (ExchangeMachine,),
        dict(chain=chain, exchanges=exchanges, accounts=accounts, guardian=guardian, stats={}, errors={}, steps=0),
    )
    machine.prefund()
    machine.snapshot = chain.snapshot()
    return machine


class ExchangeMachine(RuleBasedStateMachine):
    """Class attributes come from `machine_for`."""

    chain = exchanges = accounts = guardian = snapshot = table = None
    stats: dict = {}  # rule -> [accepted, refused], over all examples
    _last_sale = None  # (market, victim) of the last accepted collateral sale, for the debt cycle's count
    errors: dict = {}  # rule -> {custom error: times}, the refusals of `stats`
    steps = 0  # rules run, over all examples

    @initialize(
        deposits=st.lists(st.integers(2_000, 60_000), min_size=len(PEOPLE), max_size=len(PEOPLE)),
        collateral=st.lists(st.tuples(st.sampled_from(MARKETS), st.sampled_from(PEOPLE), st.sampled_from(SYMBOLS),
                                      st.integers(1_000, 60_000)), min_size=1, max_size=4),
    )
    def start(self, deposits, collateral):
        cls = type(self)
        cls.chain.restore(cls.snapshot)
        cls.snapshot = cls.chain.snapshot()
        table = cls.table or cls.chain_errors()
        self.mirrors = []
        for ex in cls.exchanges:  # the markets share the collateral oracles: one feed book
            feeds = self.mirrors[0].feeds if self.mirrors else None
            self.mirrors.append(Mirror(ex, cls.chain, table, dict(cls.accounts), check_each_action=False, feeds=feeds,
                                       prefunded=True))
        for market, mi in enumerate(self.mirrors):
            for who, usd in zip(PEOPLE, deposits):
                note(f"deposit {who} {usd} USD in market {market}")
                mi.fund(self._who(who), mi.units(usd))
        for market, who, symbol, usd in collateral:
            self.deposit_collateral(market, who, symbol, usd)
        # Markets with open interest from the first step: alice long, bob short.
        for market in MARKETS:
            self.trade_within_margin(market, "alice", "bob", 4, True, 0)

    @classmethod
    def prefund(cls):
        """Mint every trader a large balance of each collateral token and approve the router once,
        before the snapshot each example starts from: a collateral deposit is then one transaction."""
        ex = cls.exchanges[0]
        for c in getattr(ex, "collaterals", ()):
            for who in cls.accounts.values():
                c.token.mint(who, 10**9 * 10**c.spec.decimals, sender=who)
                c.token.approve(ex.router, 2**256 - 1, sender=who)

    @classmethod
    def chain_errors(cls):
        errors = getattr(cls.chain, "errors", None)  # the in-process chain decodes its own build
        if errors is None:
            raise RuntimeError("set `table` (tests.mirror.build_error_table) for an ape chain")
        return errors

    # ------------------------------------------------------------ helpers

    def _who(self, name):
        return type(self).accounts[name]

    def _count(self, rule_name, result):
        refused = _refused(result)
        type(self).stats.setdefault(rule_name, [0, 0])[1 if refused else 0] += 1
        if refused:
            errors = type(self).errors.setdefault(rule_name, {})
            errors[result[0]] = errors.get(result[0], 0) + 1

    def _try_settle(self, ex, fill) -> bytes | None:
        """A fill the router must refuse before the market sees it: its revert data, or None if
        it was settled (the model is not told: the caller fails the step then)."""
        head = self.chain.blocks.head
        return attempt(self.chain, ex.router, "settle", ([fill],), ex.matcher, head.number + 1, head.timestamp + 1)

    def _capital(self, market, who) -> int:
        return self.mirrors[market].model.account(self._who(who).address).capital

    def _now(self) -> int:
        """The time of the next block, where the next action runs."""
        return self.chain.blocks.head.timestamp + 1

    # ------------------------------------------------------------ collateral

    @rule(market=st.sampled_from(MARKETS), who=st.sampled_from(PEOPLE), usd=st.integers(100, 60_000))
    def deposit(self, market, who, usd):
        note(f"[{market}] deposit {who} {usd} USD")
        mi = self.mirrors[market]
        self._count("deposit", mi.fund(self._who(who), mi.units(usd)))

    @rule(market=st.sampled_from(MARKETS), who=st.sampled_from(PEOPLE), share=st.sampled_from([1, 10, 50, 100]))
    def withdraw(self, market, who, share):
        mi = self.mirrors[market]
        amount = self._capital(market, who) * share // 100 // mi.model.collateral_scale
        note(f"[{market}] withdraw {who} {amount} units ({share} % of capital)")
        self._count("withdraw", mi.withdraw(self._who(who), amount))

    # ------------------------------------------------------------ trading

    @rule(
        market=st.sampled_from(MARKETS),
        maker=st.sampled_from(PEOPLE),
        taker=st.sampled_from(PEOPLE),
        leverage=st.integers(1, 9),
        buy=st.booleans(),
        offset_bp=st.integers(-100, 100),
    )
    def trade_within_margin(self, market, maker, taker, leverage, buy, offset_bp):
        """Sized from the smaller capital of the two at 1x-9x: mostly accepted, so positions exist."""
        if maker == taker:
            return
        capital = min(self._capital(market, who) for who in (maker, taker))
        milli = capital * leverage * 1000 // self.mirrors[market].index // 2
        if milli:
            self._trade(market, maker, taker, milli if buy else -milli, offset_bp, False, False)

    @rule(
        market=st.sampled_from(MARKETS),
        maker=st.sampled_from(PEOPLE),
        taker=st.sampled_from(PEOPLE),
        milli=st.integers(-3_000, 3_000).filter(lambda x: x != 0),
        offset_bp=st.integers(-600, 600),
        maker_reduce=st.booleans(),
        taker_reduce=st.booleans(),
    )
    def trade_any(self, market, maker, taker, milli, offset_bp, maker_reduce, taker_reduce):
        self._trade(market, maker, taker, milli, offset_bp, maker_reduce, taker_reduce)

    @rule(market=st.sampled_from(MARKETS), taker=st.sampled_from(PEOPLE), leverage=st.integers(12, 30), buy=st.booleans())
    def trade_over_leveraged(self, market, taker, leverage, buy):
        """An adversarial fill: the taker far past 10x, the richest other account as maker (which
        can carry it), so only the taker's margin check stands in the way."""
        capital = {who: self._capital(market, who) for who in PEOPLE}
        maker = max((who for who in PEOPLE if who != taker), key=capital.get)
        index = self.mirrors[market].index
        milli = capital[taker] * leverage * 1000 // index
        if milli and capital[maker] * 9 * 1000 // index >= milli:
            self._trade(market, maker, taker, milli if buy else -milli, 0, False, False)

    @rule(market=st.sampled_from(MARKETS), who=st.sampled_from(PEOPLE))
    def withdraw_everything(self, market, who):
        """All of the capital: refused with an open position (initial margin), allowed flat."""
        mi = self.mirrors[market]
        account = mi.model.account(self._who(who).address)
        amount = account.capital // mi.model.collateral_scale
        note(f"[{market}] withdraw all {who}: {amount} units")
        result = mi.withdraw(self._who(who), amount)
        self._count("withdraw", result)
        if account.size == 0 and amount > 0:  # invariant 6: a flat account can always leave
            assert not _refused(result), f"a flat account could not withdraw all its capital: {result}"

    def _price(self, market, offset_bp) -> int:
        return self.mirrors[market].index * (10_000 + offset_bp) // 10_000 // 10**16 * 10**16

    def _trade(self, market, maker, taker, milli, offset_bp, maker_reduce, taker_reduce):
        if maker == taker:
            return
        price, size = self._price(market, offset_bp), milli * WAD // 1000
        note(f"[{market}] trade maker={maker} taker={taker} size={size} price={price} reduce={maker_reduce},{taker_reduce}")
        result = self.mirrors[market].trade(self._who(maker), self._who(taker), size, price, maker_reduce, taker_reduce)
        self._count("trade", result)

    @rule(market=st.sampled_from(MARKETS), maker=st.sampled_from(PEOPLE), taker=st.sampled_from(PEOPLE),
          how=st.sampled_from(["cancelled", "expired"]))
    def trade_dead_order(self, market, maker, taker, how):
        """A fill of a maker order its trader cancelled, or one that expired a second ago: refused
        by the router with the order's hash, and nothing changes."""
        if maker == taker:
            return
        mi = self.mirrors[market]
        ex, now = mi.ex, self.chain.blocks.head.timestamp
        price, size = self._price(market, 0), WAD // 100
        mk = ex.order(self._who(maker), size, price, expiry=now if how == "expired" else None)
        tk = ex.order(self._who(taker), -size, price)
        if how == "cancelled":
            ex.router.cancelOrder(mk.as_tuple(), sender=self._who(maker))
        note(f"[{market}] fill a {how} order of {maker}")
        refusal = self._try_settle(ex, ex.fill(mk, tk, size, self._who(maker), self._who(taker)))
        assert refusal is not None, f"the router settled a {how} order"
        name, args = decode_revert(refusal, mi.table)
        order_hash = ex.router.hashOrder(mk.as_tuple())
        assert (name, args[0]) == (("OrderIsCancelled", order_hash) if how == "cancelled" else ("OrderExpired", order_hash))
        self._count(f"{how} order", (name, args))

    @rule(market=st.sampled_from(MARKETS), maker=st.sampled_from(PEOPLE), taker=st.sampled_from(PEOPLE),
          first_tenths=st.integers(1, 10), extra=st.integers(1, 10**15))
    def overfill(self, market, maker, taker, first_tenths, extra):
        """Invariant 8: an order filled in part is never filled past its size. The first fill takes
        tenths of the maker's order through the mirror; a second fill of the rest plus `extra` is
        refused with the order's hash, the amount and what remains."""
        if maker == taker:
            return
        mi = self.mirrors[market]
        ex, maker_acct, taker_acct = mi.ex, self._who(maker), self._who(taker)
        price, size = self._price(market, 0), WAD // 100
        mk = ex.order(maker_acct, size, price)
        first = size * first_tenths // 10
        note(f"[{market}] overfill {maker}'s order of {size} by {taker}: {first}, then the rest + {extra}")
        trade = mi.model_trade(maker_acct, taker_acct, first, price)
        tk = ex.order(taker_acct, -first, price)
        if _refused(mi.settle_fill(ex.fill(mk, tk, first, maker_acct, taker_acct), [trade])):
            return
        amount = size - first + extra
        tk2 = ex.order(taker_acct, -amount, price)
        refusal = self._try_settle(ex, ex.fill(mk, tk2, amount, maker_acct, taker_acct))
        assert refusal is not None, "an order was filled past its size"
        expected = ("FillExceedsOrder", (ex.router.hashOrder(mk.as_tuple()), amount, size - first))
        self._count("overfill", decode_revert(refusal, mi.table))
        assert decode_revert(refusal, mi.table) == expected

    # ------------------------------------------------------------ other collateral (CollateralPool)

    @rule(market=st.sampled_from(MARKETS), who=st.sampled_from(PEOPLE), symbol=st.sampled_from(SYMBOLS),
          usd=st.integers(100, 60_000))
    def deposit_collateral(self, market, who, symbol, usd):
        """`usd` worth of `symbol` at its last good price; past the cap it is refused."""
        mi = self.mirrors[market]
        amount = mi.collateral_units(symbol, usd)
        note(f"[{market}] deposit collateral {who} {amount} {symbol} units (~{usd} USD)")
        self._count("deposit collateral", mi.fund_collateral(self._who(who), symbol, amount))

    @rule(market=st.sampled_from(MARKETS), pick=st.integers(0, 63), who=st.sampled_from(PEOPLE),
          symbol=st.sampled_from(SYMBOLS), share=st.sampled_from([1, 10, 50, 100, 100, 101]))
    def withdraw_collateral(self, market, pick, who, symbol, share):
        """A share of a balance read on chain: the `pick`-th (account, token) holding one, else
        `who`'s `symbol` (ZeroAmount). 100 % is all of it (a flat account without debt can always
        leave, oracles up or down), 101 % more than held (InsufficientCollateral)."""
        mi = self.mirrors[market]
        masks = {p: mi.pool.heldMask(self._who(p)) for p in PEOPLE}  # bit i: collateralTokens()[i]
        holdings = [(p, c) for p in PEOPLE for i, c in enumerate(SYMBOLS) if masks[p] >> i & 1]
        if holdings:
            who, symbol = holdings[pick % len(holdings)]
        account = self._who(who)
        balance = mi.pool.balanceOf(account, mi.feeds[symbol].token)
        amount = balance * share // 100 + (1 if share > 100 else 0)
        state = mi.model.account(account.address)
        note(f"[{market}] withdraw collateral {who} {amount} {symbol} units ({share} % of {balance})")
        result = mi.withdraw_collateral(account, symbol, amount)
        self._count("withdraw collateral", result)
        if share == 100 and amount > 0 and state.size == 0 and state.pnl >= 0:
            assert not _refused(result), f"a flat account without debt could not withdraw its collateral: {result}"

    @rule(market=st.sampled_from(MARKETS), liquidator=st.sampled_from(PEOPLE), pick=st.integers(0, 63),
          victim=st.sampled_from(PEOPLE), quarters=st.sampled_from([1, 2, 4, 8]), affordable=st.booleans())
    def liquidate_collateral(self, market, liquidator, pick, victim, quarters, affordable):
        """Repay a part of a victim's debt (read on chain: -pnlOf; the `pick`-th account in debt,
        else `victim`), all of it, or twice it (the pool sells only what the debt needs); 1 wei
        when there is none (NoDebt). `affordable`: at most the liquidator's capital (capitalOf),
        else it may be short of it (InsufficientCapital)."""
        mi = self.mirrors[market]
        debtors = [p for p in PEOPLE if mi.ex.market.pnlOf(self._who(p)) < 0]
        if debtors:
            victim = debtors[pick % len(debtors)]
        if victim == liquidator and pick % 8:  # now and then SelfLiquidation, mostly someone else
            liquidator = PEOPLE[(PEOPLE.index(victim) + 1) % len(PEOPLE)]
        debt = max(-mi.ex.market.pnlOf(self._who(victim)), 0)
        max_repay = debt * quarters // 4
        if affordable:
            max_repay = min(max_repay, mi.ex.market.capitalOf(self._who(liquidator)))
        max_repay = max(max_repay, 1)
        note(f"[{market}] liquidateCollateral {victim} by {liquidator}: maxRepay {max_repay} of debt {debt}")
        self._liquidate_collateral(market, liquidator, victim, max_repay)

    def _liquidate_collateral(self, market, liquidator, victim, max_repay):
        """ParamsLib's reason for weight <= 1 - discount: selling collateral worth r / (1 - d) to
        repay r of debt changes the margin by r - r w / (1 - d) >= 0. Checked on the value with
        PnL at face value (the maintenance equity: no haircut), up to the sale's
        rounding: less than one unit (and 2 wei) per token sold, since the sale that clears the
        debt rounds its units up (a partial one rounds them down)."""
        mi, who = self.mirrors[market], self._who(victim).address
        now = self._now()
        prices = mi.prices(now)
        before = mi.model.account_value(who, mi.index, now, prices=prices)
        result = mi.liquidate_collateral(self._who(liquidator), self._who(victim), max_repay)
        self._count("liquidate collateral", result)
        if _refused(result):
            return
        self._last_sale = (market, victim)
        pool = mi.model.pool
        dust = 0
        for sale in result.sales:
            c = pool.collateral[sale.token]
            dust += (c.scale + 1) * sale.price * c.weight // WAD**2 + 2
        after = mi.model.account_value(who, mi.index, now, prices=prices)
        assert after + dust >= before, f"a collateral sale lowered the margin: {before} -> {after} (rounding {dust})"

    @rule(market=st.sampled_from(MARKETS), taker=st.sampled_from(PEOPLE), leverage=st.integers(2, 14), buy=st.booleans())
    def trade_on_collateral(self, market, taker, leverage, buy):
        """A taker sized on its capital plus its collateral's margin value at 2x-14x: past 10x only
        the collateral decides, and often it is refused. The maker is the other account with the
        most margin (capital and collateral), at most 8x of it: the size is cut to that."""
        mi = self.mirrors[market]
        prices = mi.prices(self._now())
        margin = {p: self._capital(market, p) + mi.model.collateral_value(self._who(p).address, prices) for p in PEOPLE}
        maker = max((p for p in PEOPLE if p != taker), key=margin.get)
        milli = min(margin[taker] * leverage, margin[maker] * 8) * 1000 // mi.index
        if milli > 0:
            self._trade(market, maker, taker, milli if buy else -milli, 0, False, False)

    @rule(market=st.sampled_from(MARKETS), victim=st.sampled_from(PEOPLE), symbol=st.sampled_from(SYMBOLS),
          usd=st.integers(10_000, 60_000), leverage=st.integers(5, 9), buy=st.booleans(),
          quarters=st.sampled_from([2, 4, 4]), overshoot_bp=st.sampled_from([0, 50, 500]),
          repay_quarters=st.sampled_from([1, 2, 3, 4, 8]))
    def collateral_debt_cycle(self, market, victim, symbol, usd, leverage, buy, quarters, overshoot_bp, repay_quarters):
        """The path to a collateral sale in one rule: the victim deposits collateral, opens a
        position levered on it, the price crashes through its maintenance margin, it is
        liquidated (`quarters` of it) with a loss past its capital by the other account with the
        most capital, which then repays `repay_quarters` of the debt left against the victim's
        collateral (lowest weight first; written off once none is left)."""
        note(f"[{market}] collateral debt cycle of {victim}: {usd} USD of {symbol}, {leverage}x")
        self.deposit_collateral(market, victim, symbol, usd)
        self.trade_on_collateral(market, victim, leverage, buy)
        liquidator = max((p for p in PEOPLE if p != victim), key=lambda p: self._capital(market, p))
        self.crash_and_liquidate(market, victim, liquidator, quarters, overshoot_bp, repay_quarters)
        stats = type(self).stats.setdefault("debt cycle [sold, no debt]", [0, 0])
        stats[0 if self._last_sale == (market, victim) else 1] += 1
        self._last_sale = None

    @rule(symbol=st.sampled_from(SYMBOLS),
          move_bp=st.one_of(st.integers(-300, 300), st.sampled_from([-3_000, -1_000, 1_000])))
    def move_collateral_price(self, symbol, move_bp):
        """Both markets value the token through the same oracle; -30 % is among the moves."""
        feed = self.mirrors[0].feeds[symbol]
        usd = (Decimal(feed.good_answer) * (10_000 + move_bp) / 10_000 / 10**feed.model.decimals).quantize(Decimal("0.01"))
        note(f"{symbol} price {usd}")
        self.mirrors[0].set_collateral_price(symbol, usd)
        self._feed_changed()

    @rule(symbol=st.sampled_from(SYMBOLS), how=st.sampled_from(["zero", "stale", "reverting"]))
    def collateral_oracle_outage(self, symbol, how):
        """The token's oracle fails until `collateral_oracle_recovery`: it counts zero, a change
        that does not increase risk is waived through, liquidations do not sell it."""
        note(f"{symbol} oracle outage: {how}")
        self.mirrors[0].break_collateral_oracle(symbol, how)
        self._feed_changed()

    @rule(symbol=st.sampled_from(SYMBOLS))
    def collateral_oracle_recovery(self, symbol):
        note(f"{symbol} oracle recovers")
        self.mirrors[0].mend_collateral_oracle(symbol)
        self._feed_changed()

    def _feed_changed(self):
        """A collateral feed is shared: every market's pool views change with it."""
        for mi in self.mirrors:
            mi.arrays_due = True

    @rule(market=st.sampled_from(MARKETS), symbol=st.sampled_from(SYMBOLS),
          which=st.integers(0, len(COLLATERAL_PARAM_SETS[SYMBOLS[0]]) - 1))
    def set_collateral_params(self, market, symbol, which):
        params = COLLATERAL_PARAM_SETS[symbol][which]
        note(f"[{market}] {symbol} collateral params #{which}: {params}")
        self._count("collateral params", self.mirrors[market].set_collateral(symbol, params))

    # ------------------------------------------------------------ prices and time

    @rule(market=st.sampled_from(MARKETS), move_bp=st.one_of(st.integers(-300, 300), st.sampled_from([-2_000, -1_000, 1_000, 1_500])))
    def move_price(self, market, move_bp):
        mi = self.mirrors[market]
        usd = (Decimal(mi.index) * (10_000 + move_bp) / 10_000 / WAD).quantize(Decimal("0.01"))
        note(f"[{market}] price {usd}")
        mi.set_price(usd)

    @rule(
        market=st.sampled_from(MARKETS),
        how=st.sampled_from(["zero", "stale"]),
        tries=st.lists(st.tuples(st.sampled_from(["trade", "withdraw_all", "deposit", "crank", "liquidate",
                                                  "withdraw_collateral", "liquidate_collateral"]),
                                 st.sampled_from(PEOPLE)), min_size=1, max_size=4),
    )
    def oracle_outage(self, market, how, tries):
        """The feed answers zero, or goes stale. Whatever needs the price is refused with the
        oracle's error; a flat account still withdraws everything (its collateral too, without
        debt), deposits still work, a flat account's debt is still sold off against its
        collateral. Then the feed comes back and the market must match the model again."""
        mi = self.mirrors[market]
        note(f"[{market}] oracle outage: {how}, then {tries}")
        mi.break_oracle(how)
        self._feed_changed()  # a stale outage is a day later: collateral feeds may be stale too
        for action, who in tries:
            if action == "trade":
                other = next(p for p in PEOPLE if p != who)
                result = mi.trade(self._who(who), self._who(other), WAD // 100, self._price(market, 0))
                assert _refused(result), f"a trade settled without a price: {result}"
            elif action == "withdraw_all":
                account = mi.model.account(self._who(who).address)
                result = mi.withdraw(self._who(who), account.capital // mi.model.collateral_scale)
                if account.size == 0 and account.capital >= mi.model.collateral_scale:
                    assert not _refused(result), f"a flat account could not leave during the outage: {result}"
            elif action == "deposit":
                assert not _refused(mi.fund(self._who(who), mi.units(100)))
            elif action == "crank":
                result = mi.crank(self._who(who))
                assert _refused(result) and result[0].startswith("Oracle"), result
            elif action == "withdraw_collateral":
                account = mi.model.account(self._who(who).address)
                for symbol in SYMBOLS:
                    amount = mi.collateral_balance(self._who(who), symbol)
                    if amount:
                        result = mi.withdraw_collateral(self._who(who), symbol, amount)
                        self._count("withdraw collateral", result)
                        if account.size == 0 and account.pnl >= 0:
                            assert not _refused(result), f"a flat account could not take its collateral out: {result}"
                        break
            elif action == "liquidate_collateral":  # a flat debtor's sale needs no market price
                debtors = [p for p in PEOPLE if p != who and mi.model.account(self._who(p).address).pnl < 0]
                victim = debtors[0] if debtors else next(p for p in PEOPLE if p != who)
                debt = max(-mi.model.account(self._who(victim).address).pnl, 1)
                self._count("liquidate collateral", mi.liquidate_collateral(self._who(who), self._who(victim), debt))
            else:
                result = mi.liquidate(self._who(who), self._who("alice"), WAD // 100)
                assert _refused(result), f"a liquidation without a price: {result}"
        mi.mend_oracle()
        for other in self.mirrors:
            other.keep_feed_fresh()

    @rule(market=st.sampled_from(MARKETS), offset_bp=st.integers(-200, 200), spread_bp=st.integers(1, 50))
    def quote(self, market, offset_bp, spread_bp):
        mi = self.mirrors[market]
        mid = mi.index * (10_000 + offset_bp) // 10_000
        half = mid * spread_bp // 20_000 + 1
        note(f"[{market}] quote {mid - half}/{mid + half}")
        mi.record_quote(mid - half, mid + half)
        mi.wait(1)  # one quote per block

    @rule(seconds=st.sampled_from([1, 60, 3_600, 8 * 3_600]))
    def wait(self, seconds):
        note(f"wait {seconds}")
        self.mirrors[0].wait(seconds)
        for mi in self.mirrors[1:]:
            mi.keep_feed_fresh()

    @rule(market=st.sampled_from(MARKETS), by=st.sampled_from(PEOPLE))
    def crank(self, market, by):
        note(f"[{market}] crank by {by}")
        self.mirrors[market].crank(self._who(by))

    @rule(market=st.sampled_from(MARKETS), who=st.sampled_from(PEOPLE), by=st.sampled_from(PEOPLE))
    def settle_funding(self, market, who, by):
        note(f"[{market}] settleFunding {who} by {by}")
        self.mirrors[market].settle_funding(self._who(who), self._who(by))

    @rule(market=st.sampled_from(MARKETS), by=st.sampled_from(PEOPLE), extra=st.sampled_from(PEOPLE))
    def sweep(self, market, by, extra):
        """The keeper's sweep: `touch` every account whose value fell since its last touch (a
        loss at mark or pending funding it owes), largest first, plus one more (flat, repeated or
        winning: changes nothing it should not). Then invariant 7's other half: with no bad debt and
        no unpaid debt, h == 1 exactly."""
        mi = self.mirrors[market]
        now = self._now()
        losers = [p for p, loss in sorted(((p, self._loss(mi, p, now)) for p in PEOPLE), key=lambda x: x[1])
                  if loss < 0]
        names = losers + [extra]
        note(f"[{market}] sweep: touch {names} by {by}")
        result = mi.touch([self._who(p) for p in names], self._who(by))
        self._count("touch", result)
        if _refused(result):
            return
        s = mi.model
        debts = [a for a in s.accounts.values() if a.pnl < 0]
        if s.bad_debt == 0 and not debts:
            assert s.haircut() == WAD, f"h = {s.haircut()} after a sweep without bad debt"

    def _loss(self, mi, who, now) -> int:
        """What a touch would realise now: unrealised at mark less pending funding (model)."""
        a = mi.model.account(self._who(who).address)
        if a.size == 0:
            return 0
        value = mi.model.account_value(self._who(who).address, mi.index, now)
        return value - a.capital - a.pnl

    @rule(market=st.sampled_from(MARKETS), liquidator=st.sampled_from(PEOPLE), victim=st.sampled_from(PEOPLE),
          quarters=st.integers(1, 4))
    def liquidate(self, market, liquidator, victim, quarters):
        mi = self.mirrors[market]
        size = abs(mi.model.account(self._who(victim).address).size)
        amount = size * quarters // 4 if size else WAD
        note(f"[{market}] liquidate {victim} by {liquidator}: {amount}")
        self._liquidate(market, liquidator, victim, amount)

    def _liquidate(self, market, liquidator, victim, amount):
        """Invariant 7 in full: liquidation only below maintenance; a partial liquidation of an
        account with non-negative value never lowers its margin ratio (value / maintenance) and
        leaves it at or above maintenance (else the liquidation closes it whole). The value is the
        maintenance equity, which no haircut touches."""
        mi, who = self.mirrors[market], self._who(victim).address
        now = self._now()
        prices = mi.prices(now)
        value = mi.model.account_value(who, mi.index, now, prices=prices)
        maintenance = mi.model.margin_requirements(who, mi.index)[1]
        result = mi.liquidate(self._who(liquidator), self._who(victim), amount)
        self._count("liquidate", result)
        if _refused(result):
            return
        assert value < maintenance, f"liquidated an account at or above maintenance: {value} >= {maintenance}"
        if mi.model.account(who).size == 0 or value < 0:
            return
        value_after = mi.model.account_value(who, mi.index, now, prices=prices)
        maintenance_after = mi.model.margin_requirements(who, mi.index)[1]
        assert value_after >= maintenance_after, f"partial liquidation left it unhealthy: {value_after} < {maintenance_after}"
        assert value_after * maintenance >= value * maintenance_after, (
            f"partial liquidation lowered the margin ratio: {value}/{maintenance} -> {value_after}/{maintenance_after}")

    @rule(market=st.sampled_from(MARKETS), liquidator=st.sampled_from(PEOPLE),
          entries=st.lists(st.tuples(st.sampled_from(PEOPLE), st.integers(0, 5)), min_size=1, max_size=6),
          crash=st.booleans(), overshoot_bp=st.sampled_from([0, 50, 500]))
    def liquidate_batch(self, market, liquidator, entries, crash, overshoot_bp):
        """A keeper's batch, with `crash` after the price moved against the first entry's victim
        until it is liquidatable: each entry a quarter of the victim's size (0: the whole position,
        by the market's rule; 5: more than it holds), repeats and the liquidator itself included.
        Whatever single `liquidate` would refuse is skipped, never a revert (the mirror compares
        the state); an account is liquidated at most once a batch and only if it was below
        maintenance."""
        mi = self.mirrors[market]
        if crash:
            self._crash_against(market, entries[0][0], overshoot_bp)
        now = self._now()
        prices = mi.prices(now)
        victims, amounts, below = [], [], {}
        for victim, quarters in entries:
            address = self._who(victim).address
            size = abs(mi.model.account(address).size)
            victims.append(self._who(victim))
            amounts.append(size + 1 if quarters == 5 else size * quarters // 4)
            if size:
                value = mi.model.account_value(address, mi.index, now, prices=prices)
                below[address] = value < mi.model.margin_requirements(address, mi.index)[1]
        note(f"[{market}] liquidateBatch by {liquidator}: {list(zip([v for v, _ in entries], amounts))}")
        result = mi.liquidate_batch(self._who(liquidator), victims, amounts)
        self._count("liquidateBatch", result)
        if _refused(result):
            return
        entries = type(self).stats.setdefault("batch entries [liquidated, skipped]", [0, 0])
        entries[0] += len(result.liquidated)
        entries[1] += len(result.skipped)
        for _, reason in result.skipped:
            reasons = type(self).errors.setdefault("liquidateBatch skips", {})
            reasons[reason] = reasons.get(reason, 0) + 1
        done = [account for account, _, _ in result.liquidated]
        assert len(done) == len(set(done)), f"an account liquidated twice in one batch: {done}"
        assert all(below[a] for a in done), f"the batch liquidated an account at or above maintenance: {done}"

    @rule(market=st.sampled_from(MARKETS), liquidator=st.sampled_from(PEOPLE), quarters=st.integers(1, 4))
    def liquidate_winner_under_haircut(self, market, liquidator, quarters):
        """While h < 1, a keeper tries the open account that the haircut would hurt most (its
        positive PnL cut at h, against its maintenance): maintenance counts PnL in full, so a
        solvent winner must stand (`_liquidate` asserts it)."""
        mi = self.mirrors[market]
        s, now = mi.model, self._now()
        h = s.haircut()
        if h == WAD:
            return
        def slack(p):  # maintenance equity with positive pnl at h, less maintenance
            a = s.account(self._who(p).address)
            value = s.account_value(self._who(p).address, mi.index, now, prices=mi.prices(now))
            return value - max(a.pnl, 0) * (WAD - h) // WAD - s.margin_requirements(self._who(p).address, mi.index)[1]
        winners = [p for p in PEOPLE if s.account(self._who(p).address).size != 0 and s.account(self._who(p).address).pnl > 0]
        if not winners:
            return
        victim = min(winners, key=slack)
        self._to_the_edge(market, victim)
        amount = abs(s.account(self._who(victim).address).size) * quarters // 4
        note(f"[{market}] h = {h}: liquidate winner {victim} by {liquidator}: {amount}")
        self._liquidate(market, liquidator, victim, amount)

    def _to_the_edge(self, market, victim):
        """Move the price against `victim` by 25 bp steps to the last one at which the model still
        has it at or above maintenance: there, its profit cut at h would put it below, so a market
        that counted the haircut in maintenance would liquidate a solvent account."""
        mi = self.mirrors[market]
        address = self._who(victim).address
        size = mi.model.account(address).size
        now = self._now()
        prices = mi.prices(now)
        edge = None
        for step in range(1, 161):
            index = mi.index * (10_000 - (25 * step if size > 0 else -25 * step)) // 10_000 // 10**16 * 10**16
            if mi.model.is_liquidatable(address, index, now, prices):
                break
            edge = index
        if edge is not None:
            note(f"[{market}] price to {edge}, the edge of {victim}'s maintenance")
            mi.set_price(Decimal(edge) / WAD)

    @rule(market=st.sampled_from(MARKETS), victim=st.sampled_from(PEOPLE), liquidator=st.sampled_from(PEOPLE),
          quarters=st.integers(1, 4), overshoot_bp=st.sampled_from([0, 50, 500]),
          seize=st.sampled_from([0, 0, 1, 2, 3, 4, 8]))
    def crash_and_liquidate(self, market, victim, liquidator, quarters, overshoot_bp, seize):
        """Move the price against the victim's position, by the smallest of 2 % steps that puts it
        under maintenance in the model (plus an overshoot, toward bad debt), then liquidate it;
        with `seize` (quarters of the debt the liquidation left, at most the liquidator's capital),
        then sell its collateral against that debt."""
        mi = self.mirrors[market]
        account = mi.model.account(self._who(victim).address)
        if not self._crash_against(market, victim, overshoot_bp):
            return
        note(f"[{market}] liquidated by {liquidator} ({quarters}/4)")
        self._liquidate(market, liquidator, victim, abs(account.size) * quarters // 4)
        debt = -mi.ex.market.pnlOf(self._who(victim))
        if seize and debt > 0 and liquidator != victim:
            max_repay = min(debt * seize // 4, mi.ex.market.capitalOf(self._who(liquidator))) or debt
            note(f"[{market}] then liquidateCollateral {victim} by {liquidator}: maxRepay {max_repay} of debt {debt}")
            self._liquidate_collateral(market, liquidator, victim, max_repay)

    def _crash_against(self, market, victim, overshoot_bp) -> bool:
        """Move the price against `victim`'s position by the smallest of 2 % steps that puts it
        under maintenance in the model, plus `overshoot_bp`; False (nothing moved) if flat or if no
        step up to 88 % does."""
        mi = self.mirrors[market]
        account = mi.model.account(self._who(victim).address)
        if account.size == 0:
            return False
        against = -1 if account.size > 0 else 1
        now = self._now()
        prices = mi.prices(now)
        for step in range(1, 45):
            index = mi.index * (10_000 + against * (200 * step + overshoot_bp)) // 10_000 // 10**16 * 10**16
            if mi.model.is_liquidatable(self._who(victim).address, index, now, prices):
                break
        else:
            return False
        note(f"[{market}] crash to {index} against {victim}")
        mi.set_price(Decimal(index) / WAD)
        return True

    # ------------------------------------------------------------ governance

    @rule(market=st.sampled_from(MARKETS), paused=st.booleans())
    def pause(self, market, paused):
        """Guardian pauses or unpauses: risk-increasing actions are refused while paused."""
        note(f"[{market}] paused = {paused}")
        self.mirrors[market].set_paused(paused, type(self).guardian)

    @rule(market=st.sampled_from(MARKETS), which=st.integers(0, len(MARKET_PARAM_SETS) - 1))
    def set_market_params(self, market, which):
        note(f"[{market}] market params #{which}")
        self._count("params", self.mirrors[market].set_market_params(MARKET_PARAM_SETS[which]))

    @rule(market=st.sampled_from(MARKETS), which=st.integers(0, len(FUNDING_PARAM_SETS) - 1))
    def set_funding_params(self, market, which):
        note(f"[{market}] funding params #{which}")
        self._count("params", self.mirrors[market].set_funding_params(FUNDING_PARAM_SETS[which]))

    # ------------------------------------------------------------ invariants

    @invariant()
    def markets_match_model_and_invariants_hold(self):
        if not hasattr(self, "mirrors"):
            return
        type(self).steps += 1
        people = [a.address for a in type(self).accounts.values()]
        for mi in self.mirrors:
            self._check(mi, people, full=False)

    def teardown(self):
        """Each example ends with everything compared and checked, the pools' balances too;
        unless it already failed (hypothesis tears down in a `finally`): that failure is the one
        to report, not the inconsistent state it left."""
        if not hasattr(self, "mirrors") or sys.exc_info()[0] is not None:
            return
        people = [a.address for a in type(self).accounts.values()]
        for mi in self.mirrors:
            self._check(mi, people, full=True)

    @staticmethod
    def _check(mi, people, full):
        """The mirror's comparison, then the invariants; the pool's token sums after a step that
        could change them (a collateral action or feed: `arrays_due`), the debt check always."""
        touched = full or mi.arrays_due
        mi.compare(full=full)
        tokens = [f.token for f in mi.feeds.values()] if touched else ()
        broken = failures(check_market(mi.ex.market, mi.ex.token, people, mi.pool, tokens))
        assert not broken, [c.line() for c in broken]


def _refused(result) -> bool:
    """Mirror actions return the (error, args) tuple of a refusal, else the model's result."""
    return isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], str)
