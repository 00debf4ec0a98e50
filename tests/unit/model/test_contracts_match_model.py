"""The contracts against `perpkit.model`, to the wei, after every step.

A `Mirror` runs each action on chain and in the model, then compares every touched account
(`accountOf`, `accountValue`, `marginRequirements`, `isLiquidatable`), the market globals and the
funding state. The model is initialised from chain once (parameters, the registration timestamp
of the funding slot, the oracle price); after that it computes everything itself, from the
block timestamps of the receipts.

A refused action is first detected with an `eth_call` at the next block (number and timestamp
overridden; a reverted transaction through ape costs seconds), whose custom error must equal the
one the model raises for the same action in that block. An accepted one is then mined in exactly
that block (`chain.pending_timestamp`), so the pre-check and the transaction see the same time."""

import copy
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from eth_abi import decode as abi_decode
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perpkit import model as M
from tests.conftest import FEED_DECIMALS, WAD, market_params

EIGHT_HOURS = 8 * 3600
PANIC = bytes.fromhex("4e487b71")


# ================================================================== revert decoding


@pytest.fixture(scope="module")
def error_table(project):
    """4-byte selector -> (error name, argument types) for every contract a call can reach."""
    table = {}
    for ct in (project.PerpMarket, project.PerpRouter, project.FundingRate, project.ChainlinkOracle):
        for item in ct.contract_type.abi:
            if item.type == "error":
                table[keccak(text=item.selector)[:4]] = (item.name, [i.canonical_type for i in item.inputs])
    return table


def _norm(value):
    return value.lower() if isinstance(value, str) else value


def decode_revert(data: str, table) -> tuple:
    """(name, args) of the custom error in an eth_call's revert data (hex)."""
    raw = bytes.fromhex(data.removeprefix("0x"))
    if raw[:4] == PANIC:
        return "Panic", (abi_decode(["uint256"], raw[4:])[0],)
    name, types = table[raw[:4]]
    return name, tuple(_norm(v) for v in abi_decode(types, raw[4:]))


# ================================================================== the mirror


@dataclass
class Mirror:
    """One exchange and its model, driven in lockstep."""

    ex: object
    chain: object
    table: dict
    watch: dict  # label -> account, compared after every step
    model: M.MarketState = field(init=False)
    index: int = field(init=False)
    feed_updated: int = field(init=False)

    def __post_init__(self):
        ex = self.ex
        count, psum, bid, ask, last_accrual = ex.funding.premiumState(ex.market_id)
        assert (count, psum, bid, ask) == (0, 0, 0, 0)
        funding = M.FundingState(
            params=M.FundingParams.from_tuple(ex.funding.paramsOf(ex.market_id)),
            last_accrual=last_accrual,
            market_id=ex.market_id,
        )
        self.model = M.MarketState(
            params=M.MarketParams.from_tuple(ex.market.params()),
            funding=funding,
            collateral_scale=ex.market.collateralScale(),
            market_id=ex.market_id,
        )
        self.index = ex.oracle.price()
        self.feed_updated = self.chain.blocks.head.timestamp
        self.check()

    # ------------------------------------------------------------ actions

    def units(self, usd) -> int:
        """USD (int or str) -> collateral token units."""
        return int(Decimal(str(usd)) * 10 ** self.ex.token.decimals())

    def fund(self, who, amount: int):
        """Mint and approve `amount` token units, then deposit them through the router."""
        self.ex.token.mint(who, amount, sender=who)
        self.ex.token.approve(self.ex.router, amount, sender=who)
        return self._act(
            self.ex.router,
            "deposit",
            (self.ex.market_id, amount),
            who,
            lambda now, block: self.model.deposit(who.address, amount),
        )

    def withdraw(self, who, amount: int):
        return self._act(
            self.ex.router,
            "withdraw",
            (self.ex.market_id, amount),
            who,
            lambda now, block: self.model.withdraw(who.address, amount, self.index, now),
        )

    def trade(self, maker, taker, size: int, price: int, maker_reduce_only=False, taker_reduce_only=False):
        """`maker` rests `size` at `price`, `taker` takes all of it: one fill through `settle`."""
        ex = self.ex
        mk = ex.order(maker, size, price, reduce_only=maker_reduce_only)
        tk = ex.order(taker, -size, price, reduce_only=taker_reduce_only)
        fill = ex.fill(mk, tk, abs(size), maker, taker)
        trade = M.Trade(maker.address, taker.address, size, price, maker_reduce_only, taker_reduce_only)
        return self._act(
            ex.router,
            "settle",
            ([fill],),
            ex.matcher,
            lambda now, block: self.model.execute_trades([trade], self.index, now),
        )

    def liquidate(self, liquidator, who, amount: int):
        return self._act(
            self.ex.market,
            "liquidate",
            (who, amount),
            liquidator,
            lambda now, block: self.model.liquidate(liquidator.address, who.address, amount, self.index, now),
        )

    def settle_funding(self, who, by):
        return self._act(
            self.ex.market,
            "settleFunding",
            (who,),
            by,
            lambda now, block: self.model.settle_funding(who.address, self.index, now),
        )

    def record_quote(self, bid: int, ask: int):
        return self._act(
            self.ex.funding,
            "recordQuote",
            (self.ex.market_id, bid, ask),
            self.ex.matcher,
            lambda now, block: self.model.funding.record_quote(bid, ask, self.index, block),
        )

    def crank(self, by):
        return self._act(
            self.ex.funding,
            "crank",
            (self.ex.market_id,),
            by,
            lambda now, block: self.model.funding.crank(self.index, now),
        )

    def set_price(self, usd):
        """Move the feed (8 decimals) to `usd` exactly; the oracle scales it to WAD."""
        answer = int(Decimal(str(usd)) * 10**FEED_DECIMALS)
        receipt = self.ex.feed.updateAnswer(answer, sender=self.ex.owner)
        self.index = answer * 10 ** (18 - FEED_DECIMALS)
        self.feed_updated = receipt.timestamp
        self.check()

    def wait(self, seconds: int):
        """Mine an empty block `seconds` later; keep the feed within its heartbeat."""
        head = self.chain.blocks.head.timestamp
        self.chain.mine(1, timestamp=head + seconds)
        if head + seconds - self.feed_updated > 12 * 3600:
            self.set_price(Decimal(self.index) / WAD)
        self.check()

    def _act(self, contract, method, args, sender, apply):
        """Pre-check with an eth_call at the next block (its number and timestamp overridden); on a
        revert the model must raise the same error at that block. Else mine the transaction in
        exactly that block and apply the model there."""
        head = self.chain.blocks.head
        now, number = head.timestamp + 1, head.number + 1
        data = "0x" + bytes(getattr(contract, method).encode_input(*args)).hex()
        call = {"from": sender.address, "to": contract.address, "data": data}
        response = self.chain.provider.web3.provider.make_request(
            "eth_call", [call, "latest", {}, {"number": hex(number), "time": hex(now)}]
        )
        if "error" in response:
            expected = decode_revert(response["error"]["data"], self.table)
            with pytest.raises(M.ModelRevert) as info:
                apply(now, number)
            assert (info.value.name, tuple(_norm(v) for v in info.value.args)) == expected
            self.check()
            return expected
        self.chain.pending_timestamp = now
        receipt = getattr(contract, method)(*args, sender=sender)
        assert (receipt.timestamp, receipt.block_number) == (now, number)
        result = apply(now, number)
        self.check()
        return result

    # ------------------------------------------------------------ comparison

    def check(self):
        assert self.chain_view() == self.model_view()

    def chain_view(self) -> dict:
        m, f, i = self.ex.market, self.ex.funding, self.ex.market_id
        people = [acct.address for acct in self.watch.values()]
        calls = {
            "vault": (m, "vault"),
            "capitalTotal": (m, "capitalTotal"),
            "insuranceFund": (m, "insuranceFund"),
            "pnlPosTotal": (m, "pnlPosTotal"),
            "openInterest": (m, "openInterest"),
            "haircut": (m, "haircut"),
            "balance": (self.ex.token, "balanceOf", m.address),
            "fundingIndex": (f, "fundingIndex", i),
            "fundingRate": (f, "fundingRate", i),
            "currentFundingRate": (f, "currentFundingRate", i),
            "lastCrank": (f, "lastCrank", i),
            "markPrice": (f, "markPrice", i),
            "premiumIndex": (f, "premiumIndex", i),
            "premiumState": (f, "premiumState", i),
            "healthOf": (m, "healthOf", people),
        }
        for label, acct in self.watch.items():
            calls[f"{label}.account"] = (m, "accountOf", acct.address)
            calls[f"{label}.accountValue"] = (m, "accountValue", acct.address)
            calls[f"{label}.marginRequirements"] = (m, "marginRequirements", acct.address)
            calls[f"{label}.isLiquidatable"] = (m, "isLiquidatable", acct.address)
        view = dict(zip(calls, read_batch(self.chain.provider.web3, list(calls.values()))))
        view["balance x scale"] = view.pop("balance") * self.model.collateral_scale
        return view

    def model_view(self) -> dict:
        s, fs, idx = self.model, self.model.funding, self.index
        now = self.chain.blocks.head.timestamp
        people = [acct.address for acct in self.watch.values()]
        view = {
            "vault": s.vault,
            "capitalTotal": s.capital_total,
            "insuranceFund": s.insurance,
            "pnlPosTotal": s.pnl_pos_total,
            "openInterest": s.open_interest(),
            "haircut": s.haircut(),
            "fundingIndex": fs.funding_index(idx, now),
            "fundingRate": fs.rate,
            "currentFundingRate": fs.current_funding_rate(idx),
            "lastCrank": fs.last_crank,
            "markPrice": fs.mark_price(idx),
            "premiumIndex": fs.premium_index(idx),
            "premiumState": (fs.count, fs.premium_sum, fs.last_bid, fs.last_ask, fs.last_accrual),
            "healthOf": tuple(tuple(column) for column in s.health_of(people, idx, now)),
        }
        for label, acct in self.watch.items():
            view[f"{label}.account"] = s.account(acct.address).as_tuple()
            view[f"{label}.accountValue"] = s.account_value(acct.address, idx, now)
            view[f"{label}.marginRequirements"] = s.margin_requirements(acct.address, idx)
            view[f"{label}.isLiquidatable"] = s.is_liquidatable(acct.address, idx, now)
        view["balance x scale"] = s.vault  # invariant 1: no phantom tokens
        return view


def read_batch(w3, calls) -> list:
    """Many view calls in one JSON-RPC batch at the head block; ABI-decoded, one output unwrapped."""
    abis, requests = [], []
    for contract, method, *args in calls:
        handler = getattr(contract, method)
        abis.append(handler.abis[0])
        requests.append({"to": contract.address, "data": handler.encode_input(*args)})
    with w3.batch_requests() as batch:
        for request in requests:
            batch.add(w3.eth.call(request))
        raw = batch.execute()
    out = []
    for abi, data in zip(abis, raw):
        values = abi_decode([o.canonical_type for o in abi.outputs], bytes(data))
        out.append(values[0] if len(values) == 1 else tuple(values))
    return out


@pytest.fixture
def mirror(make_exchange, chain, error_table, alice, bob, carol, keeper):
    """`mirror(**make_exchange kwargs)`: a fresh exchange watched for alice, bob, carol, keeper."""

    def make(**kwargs):
        ex = make_exchange(**kwargs)
        return Mirror(ex, chain, error_table, {"alice": alice, "bob": bob, "carol": carol, "keeper": keeper})

    return make


def usd(x) -> int:
    """USD (int or str for exactness) -> WAD."""
    return int(Decimal(str(x)) * WAD)


# ================================================================== scenarios


@pytest.mark.parametrize("decimals", [6, 18])
def test_open_increase_reduce_flip_close__contract_matches_model(mirror, alice, bob, carol, decimals):
    mi = mirror(decimals=decimals)
    tail = 123_456_789 if decimals == 18 else 0  # odd wei only where the token has them
    for who in (alice, bob, carol):
        mi.fund(who, mi.units(30_000) + tail)
    size = usd("1.234567891234567891")
    mi.trade(alice, bob, size, usd("60000.123456789012345678"))  # open: alice maker long
    mi.trade(carol, alice, -usd("0.333333333333333333"), usd("60500.000000000000000007"))  # increase as taker
    mi.set_price("61000.5")
    mi.trade(alice, bob, -usd("0.7"), usd("61200.99"))  # reduce at a profit
    mi.trade(alice, carol, -usd("2.5"), usd("60800.77"))  # flip to short
    a = mi.model.account(alice.address)
    assert a.size < 0 and a.pnl > 0
    mi.set_price("59000.25")
    mi.trade(bob, alice, a.size, usd("59250.000000000000000001"), taker_reduce_only=True)  # close
    assert mi.model.account(alice.address).size == 0
    mi.withdraw(alice, mi.units(30_000) + tail)  # realises positive PnL at the haircut
    assert mi.model.insurance > 0


def test_refused_actions__revert_like_model(mirror, alice, bob, carol, keeper):
    mi = mirror(params=market_params(maxOpenInterest=5 * WAD))
    for who in (alice, bob, carol):
        mi.fund(who, mi.units(10_000))
    expected = [
        (mi.trade(alice, bob, 2 * WAD, usd(60_000)), "InsufficientMargin"),
        (mi.trade(alice, bob, WAD, usd(63_001)), "FillPriceOutsideBand"),
        (mi.trade(alice, bob, WAD // 1000 - 1, usd(60_000)), "PositionBelowMinimum"),
        (mi.trade(alice, bob, WAD // 10, usd(60_000), maker_reduce_only=True), "ReduceOnlyViolated"),
        (mi.withdraw(alice, 0), "ZeroAmount"),
        (mi.withdraw(alice, mi.units(10_001)), "InsufficientCapital"),
    ]
    for result, name in expected:
        assert result[0] == name
    mi.trade(alice, bob, WAD, usd(60_000))
    assert mi.trade(carol, alice, -4 * WAD, usd(60_000))[0] == "InsufficientMargin"  # the maker first
    mi.fund(alice, mi.units(40_000))
    mi.fund(carol, mi.units(40_000))
    assert mi.trade(carol, alice, -(4 * WAD + 1), usd(60_000))[0] == "OpenInterestCapExceeded"
    assert mi.withdraw(alice, mi.units(45_000))[0] == "InsufficientMargin"  # would leave < initial
    assert mi.liquidate(keeper, alice, WAD)[0] == "NotLiquidatable"
    assert mi.liquidate(keeper, alice, 0)[0] == "InvalidLiquidationAmount"
    assert mi.liquidate(alice, alice, WAD)[0] == "SelfLiquidation"


def test_recorded_quotes__move_mark_and_rate_like_model(mirror, alice, bob, matcher):
    mi = mirror()
    mi.fund(alice, mi.units(20_000))
    mi.fund(bob, mi.units(20_000))
    mi.trade(alice, bob, WAD, usd(60_000))
    mids = [60_030, 60_090, 59_950, 70_000, 50_000, 60_000, 60_045] + [60_010 + 7 * i for i in range(27)]
    for i, mid in enumerate(mids):  # 34 quotes: the ring wraps; 70,000 and 50,000 are clamped
        mi.record_quote(usd(mid) - i - 1, usd(mid) + 2 * i)
    assert mi.model.funding.count == 30 and mi.model.funding.head == 4
    assert mi.record_quote(usd(60_000), usd(59_999))[0] == "InvalidQuote"
    last = (mi.model.funding.last_bid, mi.model.funding.last_ask)
    assert mi.record_quote(*last)[0] == "QuoteUnchanged"
    mi.set_price(60_321)  # the same samples against a new index
    assert mi.model.funding.mark_price(mi.index) != mi.index


def test_crank_eight_hours_crank__settles_funding_like_model(mirror, alice, bob, carol, keeper):
    mi = mirror()
    for who in (alice, bob, carol):
        mi.fund(who, mi.units(25_000))
    mi.trade(alice, bob, usd("1.5"), usd(60_000))
    mi.trade(carol, bob, usd("0.25"), usd("60010.5"))
    for i in range(3):
        mi.record_quote(usd(60_120 + i), usd(60_140 + 3 * i))  # premium ~ +0.2 %
    mi.crank(keeper)
    rate = mi.model.funding.rate
    assert rate > 0
    mi.wait(EIGHT_HOURS)  # pending funding shows in accountValue and fundingIndex
    mi.set_price("60500.5")  # the pending accrual uses the index at the next accrual
    mi.crank(keeper)
    assert mi.model.funding.cumulative_index > 0
    mi.settle_funding(alice, keeper)  # longs pay (rounded up)
    paid = M.mul_div_ceil(usd("1.5"), mi.model.funding.cumulative_index, M.INDEX_SCALE)
    assert paid > 0
    assert mi.model.account(alice.address).capital == usd(25_000) - usd(18) - paid  # 18: maker fee
    for i in range(4):
        mi.record_quote(usd(60_300 - i), usd(60_310 - i))  # premium turns negative
    mi.wait(3 * 3600 + 17)
    mi.trade(bob, carol, usd("0.5"), usd(60_450))  # a trade settles both sides' funding
    mi.crank(keeper)
    assert mi.model.funding.rate < rate
    mi.wait(EIGHT_HOURS)
    mi.withdraw(alice, mi.units(100))  # settles funding before the margin check
    mi.settle_funding(bob, carol)
    mi.settle_funding(carol, bob)
    mi.crank(keeper)


@pytest.mark.parametrize("decimals", [6, 18])
def test_liquidation__fee_split_matches_model(mirror, alice, bob, keeper, decimals):
    mi = mirror(decimals=decimals)
    mi.fund(alice, mi.units("6500.5"))
    mi.fund(bob, mi.units(20_000))
    mi.fund(keeper, mi.units(20_000))
    mi.trade(alice, bob, WAD, usd("60000.1"))
    mi.set_price(57_000)
    assert mi.liquidate(keeper, alice, WAD)[0] == "NotLiquidatable"
    mi.set_price("56150.75")
    liq = mi.liquidate(keeper, alice, usd("0.4"))  # partial: the fee is 1 % of the notional
    assert liq.fee == M.mul_wad_up(M.mul_wad_up(usd("0.4"), mi.index), WAD // 100)
    assert liq.reward == liq.fee // 2
    mi.set_price("52400.5")
    value = mi.model.account_value(alice.address, mi.index, mi.chain.blocks.head.timestamp)
    liq = mi.liquidate(keeper, alice, usd("0.6"))  # the rest: the fee is capped at the value
    assert liq.fee == value < M.mul_wad_up(M.mul_wad_up(usd("0.6"), mi.index), WAD // 100)
    assert mi.model.account(alice.address).size == 0
    assert mi.model.account(keeper.address).size == WAD


def test_bad_debt_beyond_insurance__haircut_matches_model(mirror, alice, bob, carol, keeper):
    mi = mirror()
    mi.fund(alice, mi.units(12_100))
    for who in (bob, carol, keeper):
        mi.fund(who, mi.units(30_000))
    mi.trade(alice, bob, 2 * WAD, usd(60_000))
    mi.set_price(57_500)
    mi.set_price(51_000)  # a gap: alice's loss 18,000 is far past her capital
    value = mi.model.account_value(alice.address, mi.index, mi.chain.blocks.head.timestamp)
    assert -value > mi.model.insurance
    liq = mi.liquidate(keeper, alice, 2 * WAD)
    assert (liq.fee, mi.model.insurance) == (0, 0)  # insurance drained, the rest written off
    mi.trade(carol, bob, -2 * WAD, usd(51_000))  # bob realises his profit: it is haircut
    # residual = alice's 12,076 + insurance's 84 (fees come out of capital: they leave it alone);
    # bob's PnL = 18,000
    assert mi.model.haircut() == 12_160 * WAD // 18_000
    mi.withdraw(bob, mi.units(30_000))  # converts just the PnL needed, at h
    assert 0 < mi.model.account(bob.address).pnl < usd(18_000)
    mi.withdraw(bob, mi.model.account(bob.address).capital // mi.model.collateral_scale)
    mi.set_price(52_000)
    mi.trade(keeper, carol, -WAD, usd(52_000))


# ================================================================== random sequences


@dataclass
class Bases:
    """Funded 6- and 18-decimal exchanges deployed once per test; each example restores them."""

    mirrors: list
    models: list
    snapshot: object


@pytest.fixture
def bases(mirror, chain, alice, bob, carol, keeper):
    mirrors = []
    for decimals in (6, 18):
        mi = mirror(decimals=decimals)
        for i, who in enumerate((alice, bob, carol, keeper)):
            mi.fund(who, mi.units(15_000 + 5_000 * i) + (i if decimals == 18 else 0))
        mirrors.append(mi)
    return Bases(mirrors, [copy.deepcopy(mi.model) for mi in mirrors], chain.snapshot())


def _size(lo=1, hi=2_000):
    """Signed, in 0.001 steps with wei noise (hypothesis alone favours sub-minimum dust)."""
    lots = st.integers(lo, hi).map(lambda k: k * WAD // 1000)
    return st.tuples(st.sampled_from([1, -1]), lots, st.integers(0, WAD // 1000 - 1)).map(
        lambda t: t[0] * (t[1] + t[2])
    )


def _steps():
    pair = st.permutations(range(4)).map(lambda p: p[:2])
    trade = st.tuples(st.just("trade"), pair, _size(), st.integers(-400, 400))
    price = st.tuples(st.just("price"), st.integers(-1_500, 1_500))
    worst = st.tuples(st.just("liquidate_worst"), st.integers(0, 3), st.integers(1, 4))
    return st.lists(
        st.one_of(
            trade,
            trade,
            trade,
            price,
            price,
            worst,
            worst,
            st.tuples(st.just("liquidate"), pair, st.integers(1, 4)),
            st.tuples(st.just("quote"), st.integers(-150, 150), st.integers(0, 40)),
            st.tuples(st.just("crank")),
            st.tuples(st.just("wait"), st.integers(1, EIGHT_HOURS)),
            st.tuples(st.just("withdraw"), st.integers(0, 3), st.integers(1, 20_000)),
            st.tuples(st.just("settle"), st.integers(0, 3)),
        ),
        min_size=6,
        max_size=14,
    )


def _worst(mi, people):
    """The open account with the lowest value / maintenance, by the model."""
    now = mi.chain.blocks.head.timestamp
    open_ = [p for p in people if mi.model.account(p.address).size != 0]
    if not open_:
        return people[0]
    def ratio(p):
        value = mi.model.account_value(p.address, mi.index, now)
        return value / mi.model.margin_requirements(p.address, mi.index)[1]

    return min(open_, key=ratio)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    which=st.integers(0, 1),
    openings=st.tuples(_size(1_500, 2_400), _size(1_500, 2_400)),
    shock=st.integers(500, 1_500),
    steps=_steps(),
)
def test_random_sequences__contract_matches_model(
    bases, chain, alice, bob, carol, keeper, which, openings, shock, steps
):
    chain.restore(bases.snapshot)
    bases.snapshot = chain.snapshot()
    mi = bases.mirrors[which]
    mi.model = copy.deepcopy(bases.models[which])
    mi.set_price(60_000)  # the feed's timestamp after the restore; the model's index
    people = [alice, bob, carol, keeper]
    # near-maximum leverage (alice has 15,000: up to 2.4 BTC), so price steps make liquidations
    mi.trade(alice, bob, openings[0], usd(60_000) + openings[0] % 1009)
    mi.trade(carol, keeper, openings[1], usd(60_000) - openings[1] % 1013)
    # a 5-15 % move against alice: liquidations, and bad debt past ~10 %
    mi.set_price(Decimal(60_000 * (10_000 - shock if openings[0] > 0 else 10_000 + shock)) / 10_000)
    for step in steps:
        kind, args = step[0], step[1:]
        if kind == "trade":
            (maker, taker), size, bp = args
            mi.trade(people[maker], people[taker], size, mi.index + mi.index * bp // 10_000 + size % 997)
        elif kind == "price":
            mi.set_price(Decimal(mi.index) * (10_000 + args[0]) / 10_000 / WAD)
        elif kind in ("liquidate", "liquidate_worst"):
            if kind == "liquidate":
                (liquidator, target), quarters = args
                liquidator, target = people[liquidator], people[target]
            else:
                target = _worst(mi, people)
                liquidator = people[args[0]] if people[args[0]] != target else people[(args[0] + 1) % 4]
                quarters = args[1]
            size = abs(mi.model.account(target.address).size)
            mi.liquidate(liquidator, target, max(size * quarters // 4, 1))
        elif kind == "quote":
            mid = mi.index + mi.index * args[0] // 10_000
            mi.record_quote(mid - usd(args[1]), mid + usd(args[1]) + 1)
        elif kind == "crank":
            mi.crank(keeper)
        elif kind == "wait":
            mi.wait(args[0])
        elif kind == "withdraw":
            mi.withdraw(people[args[0]], mi.units(args[1]))
        else:
            mi.settle_funding(people[args[0]], keeper)


# ================================================================== findings (these assert DESIGN.md; see the report)


def test_winner_closes_before_loser__keeps_senior_solvency(mirror, alice, bob, carol):
    """DESIGN 7.2: `vault >= capitalTotal + insurance` after every step. A winner who closes while
    the loser's loss is still unrealised holds positive PnL that nothing backs yet (h = 0); the
    taker fee is taken out of that PnL at face value and credited to the insurance fund, a senior
    claim, so the senior claims exceed the vault by the fee."""
    mi = mirror()
    mi.fund(alice, mi.units(7_000))
    mi.fund(bob, mi.units(7_000))
    mi.fund(carol, mi.units(20_000))
    mi.trade(alice, bob, WAD, usd(60_000))
    assert mi.model.vault == mi.model.capital_total + mi.model.insurance
    mi.set_price(57_500)
    mi.trade(carol, bob, -WAD, usd(57_500))  # bob buys back: +2,500 realised, 28.75 fee from it
    m = mi.ex.market
    assert m.vault() >= m.capitalTotal() + m.insuranceFund()


def test_index_crash__mark_stays_within_ten_percent_of_index(mirror, alice, bob, keeper):
    """Regression (found here, fixed concurrently in f1728b6): samples are clamped to +-10 % of the
    index *when recorded*, so after a > 90 % crash the raw MA30 exceeded the index and the uint256
    mark wrapped to ~2^256: margin views, withdrawals and liquidations reverted with Panic 0x11.
    MA30 is now bounded by the current index; a liquidation in the crash goes through."""
    mi = mirror()
    mi.fund(alice, mi.units(2_000))
    mi.fund(bob, mi.units(20_000))
    mi.fund(keeper, mi.units(20_000))
    mi.trade(alice, bob, WAD // 4, usd(60_000))
    mi.record_quote(usd(50_000), usd(50_000))  # clamped to -6,000
    mi.set_price(5_000)  # a 92 % crash
    assert mi.ex.funding.markPrice(mi.ex.market_id) == usd(4_500)
    liq = mi.liquidate(keeper, alice, WAD // 4)  # alice is bankrupt: bad debt, no fee
    assert (liq.mark, liq.fee) == (usd(4_500), 0)
