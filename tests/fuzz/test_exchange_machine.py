"""Stateful fuzzing of one market on Anvil against the reference model.

A hypothesis `RuleBasedStateMachine` deposits, withdraws, trades (inside and outside the price
band, reduce-only or not), moves the oracle (small and large moves), records quotes, waits,
cranks, settles funding and liquidates, with random accounts. Every step runs through a
`Mirror` (tests/mirror.py): the contract must accept exactly what the model accepts, refuse with
the same custom error and arguments, and match the model to the wei afterwards. After every step
the invariants of DESIGN section 7 hold (`perpkit.invariants`). Each example starts from the same
chain snapshot. A failure prints the steps and the seed (`--hypothesis-seed`) to reproduce.
"""

from decimal import Decimal

import pytest
from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from perpkit.invariants import check_market, failures
from tests.conftest import WAD
from tests.mirror import Mirror, build_error_table

PEOPLE = ("alice", "bob", "carol", "keeper")


class ExchangeMachine(RuleBasedStateMachine):
    """Class attributes are set by the test (the deployed exchange and the role accounts)."""

    ex = chain = table = accounts = None
    snapshot = None
    stats: dict = {}  # rule -> [accepted, refused], over all examples

    @initialize(deposits=st.lists(st.integers(2_000, 60_000), min_size=len(PEOPLE), max_size=len(PEOPLE)))
    def start(self, deposits):
        chain = type(self).chain
        chain.restore(type(self).snapshot)
        type(self).snapshot = chain.snapshot()
        self.mi = Mirror(type(self).ex, chain, type(self).table, dict(type(self).accounts))
        self.funded = set()
        for who, usd in zip(PEOPLE, deposits):
            note(f"deposit {who} {usd} USD")
            self.mi.fund(self._who(who), self.mi.units(usd))
            self.funded.add(who)
        # A market with open interest from the first step: alice long, bob short, at 2x the
        # smaller of their capitals.
        self.trade_within_margin("alice", "bob", 4, True, 0)

    def _count(self, rule_name, result):
        """Mirror actions return the (error, args) tuple of a refusal, else the model's result."""
        refused = isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], str)
        type(self).stats.setdefault(rule_name, [0, 0])[1 if refused else 0] += 1

    # ------------------------------------------------------------ rules

    def _who(self, data_name):
        return type(self).accounts[data_name]

    @rule(who=st.sampled_from(PEOPLE), usd=st.integers(100, 60_000))
    def deposit(self, who, usd):
        note(f"deposit {who} {usd} USD")
        self._count("deposit", self.mi.fund(self._who(who), self.mi.units(usd)))
        self.funded.add(who)

    @precondition(lambda self: self.funded)
    @rule(who=st.sampled_from(PEOPLE), share=st.sampled_from([1, 10, 50, 100]))
    def withdraw(self, who, share):
        account = self._who(who)
        capital = self.mi.model.account(account.address).capital
        amount = capital * share // 100 // self.mi.model.collateral_scale
        note(f"withdraw {who} {amount} units ({share} % of capital)")
        self._count("withdraw", self.mi.withdraw(account, amount))

    @rule(
        maker=st.sampled_from(PEOPLE),
        taker=st.sampled_from(PEOPLE),
        leverage=st.integers(1, 9),
        buy=st.booleans(),
        offset_bp=st.integers(-100, 100),
    )
    def trade_within_margin(self, maker, taker, leverage, buy, offset_bp):
        """Sized from the smaller capital of the two at 1x-9x: mostly accepted, so positions exist."""
        if maker == taker:
            return
        capital = min(self.mi.model.account(self._who(who).address).capital for who in (maker, taker))
        milli_btc = capital * leverage * 1000 // self.mi.index // 2
        if milli_btc:
            self._trade(maker, taker, milli_btc if buy else -milli_btc, offset_bp, False, False)

    @rule(
        maker=st.sampled_from(PEOPLE),
        taker=st.sampled_from(PEOPLE),
        milli_btc=st.integers(-3_000, 3_000).filter(lambda x: x != 0),
        offset_bp=st.integers(-600, 600),
        maker_reduce=st.booleans(),
        taker_reduce=st.booleans(),
    )
    def trade_any(self, maker, taker, milli_btc, offset_bp, maker_reduce, taker_reduce):
        self._trade(maker, taker, milli_btc, offset_bp, maker_reduce, taker_reduce)

    @rule(taker=st.sampled_from(PEOPLE), leverage=st.integers(12, 30), buy=st.booleans())
    def trade_over_leveraged(self, taker, leverage, buy):
        """An adversarial fill: the taker far past 10x, the richest other account as maker (which
        can carry it), so only the taker's margin check stands in the way."""
        capital = {who: self.mi.model.account(self._who(who).address).capital for who in PEOPLE}
        maker = max((who for who in PEOPLE if who != taker), key=capital.get)
        milli_btc = capital[taker] * leverage * 1000 // self.mi.index
        if milli_btc and capital[maker] * 9 * 1000 // self.mi.index >= milli_btc:
            self._trade(maker, taker, milli_btc if buy else -milli_btc, 0, False, False)

    @rule(who=st.sampled_from(PEOPLE))
    def withdraw_everything(self, who):
        """All of the capital: refused with an open position (initial margin), allowed flat."""
        amount = self.mi.model.account(self._who(who).address).capital // self.mi.model.collateral_scale
        note(f"withdraw all {who}: {amount} units")
        self._count("withdraw", self.mi.withdraw(self._who(who), amount))

    def _trade(self, maker, taker, milli_btc, offset_bp, maker_reduce, taker_reduce):
        if maker == taker:
            return
        price = self.mi.index * (10_000 + offset_bp) // 10_000 // 10**16 * 10**16
        size = milli_btc * WAD // 1000
        note(f"trade maker={maker} taker={taker} size={size} price={price} reduce={maker_reduce},{taker_reduce}")
        self._count("trade", self.mi.trade(self._who(maker), self._who(taker), size, price, maker_reduce, taker_reduce))

    @rule(move_bp=st.one_of(st.integers(-300, 300), st.sampled_from([-2_000, -1_000, 1_000, 1_500])))
    def move_price(self, move_bp):
        usd = Decimal(self.mi.index) * (10_000 + move_bp) / 10_000 / WAD
        usd = usd.quantize(Decimal("0.01"))
        note(f"price {usd}")
        self.mi.set_price(usd)

    @rule(offset_bp=st.integers(-200, 200), spread_bp=st.integers(1, 50))
    def quote(self, offset_bp, spread_bp):
        mid = self.mi.index * (10_000 + offset_bp) // 10_000
        half = mid * spread_bp // 20_000 + 1
        note(f"quote {mid - half}/{mid + half}")
        self.mi.record_quote(mid - half, mid + half)
        self.mi.wait(1)  # one quote per block

    @rule(seconds=st.sampled_from([1, 60, 3_600, 8 * 3_600]))
    def wait(self, seconds):
        note(f"wait {seconds}")
        self.mi.wait(seconds)

    @rule(by=st.sampled_from(PEOPLE))
    def crank(self, by):
        note(f"crank by {by}")
        self.mi.crank(self._who(by))

    @rule(who=st.sampled_from(PEOPLE), by=st.sampled_from(PEOPLE))
    def settle_funding(self, who, by):
        note(f"settleFunding {who} by {by}")
        self.mi.settle_funding(self._who(who), self._who(by))

    @rule(liquidator=st.sampled_from(PEOPLE), victim=st.sampled_from(PEOPLE), quarters=st.integers(1, 4))
    def liquidate(self, liquidator, victim, quarters):
        size = abs(self.mi.model.account(self._who(victim).address).size)
        amount = size * quarters // 4 if size else WAD
        note(f"liquidate {victim} by {liquidator}: {amount}")
        self._count("liquidate", self.mi.liquidate(self._who(liquidator), self._who(victim), amount))

    # ------------------------------------------------------------ invariants

    @invariant()
    def market_invariants(self):
        if not hasattr(self, "mi"):
            return
        ex = type(self).ex
        broken = failures(check_market(ex.market, ex.token, [a.address for a in type(self).accounts.values()]))
        assert not broken, [c.line() for c in broken]
        h = ex.market.haircut()
        assert 0 <= h <= WAD


@pytest.fixture
def machine(make_exchange, chain, project, alice, bob, carol, keeper):
    ExchangeMachine.ex = make_exchange()
    ExchangeMachine.chain = chain
    ExchangeMachine.table = build_error_table(project)
    ExchangeMachine.accounts = {"alice": alice, "bob": bob, "carol": carol, "keeper": keeper}
    ExchangeMachine.snapshot = chain.snapshot()
    return ExchangeMachine


def test_exchange_machine__contract_matches_model_and_invariants_hold(machine):
    machine.stats = {}
    run_state_machine_as_test(machine)
    print("fuzz rule outcomes [accepted, refused]:", machine.stats)
    # The machine reached the interesting paths, not only refusals.
    assert machine.stats["trade"][0] > 0 and machine.stats["trade"][1] > 0
    assert machine.stats["deposit"][0] > 0
