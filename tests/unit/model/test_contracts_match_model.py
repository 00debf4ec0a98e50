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
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perpkit import model as M
from tests.conftest import FEED_DECIMALS, WAD, market_params
from tests.mirror import Mirror, build_error_table, decode_revert, read_batch  # noqa: F401 - shared with tests/fuzz

EIGHT_HOURS = 8 * 3600


@pytest.fixture(scope="module")
def error_table(project):
    return build_error_table(project)


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
        mi.record_quote(usd(63_000 + i), usd(63_020 + 3 * i))  # samples ~ +5 %: MA30 ~ +300 USD
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
    a = mi.model.account(alice.address)  # the touch also marked her to market
    assert a.open_notional == M.mul_div_floor(usd("1.5"), mi.model.funding.mark_price(mi.index), WAD)
    gain = a.open_notional - usd(90_000)
    assert a.capital + a.pnl == usd(25_000) - usd(18) - paid + gain  # 18: maker fee
    for i in range(4):
        mi.record_quote(usd(55_500 - i), usd(55_510 - i))  # premium turns negative (MA30 ~ -370 USD)
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
    # bob's PnL = 18,000, warming up: the coverage shows the loss, h once it matured
    assert (mi.model.coverage(), mi.model.haircut()) == (12_160 * WAD // 18_000, WAD)
    assert mi.model.bad_debt == usd(18_000 - 12_076 - 84)  # alice's debt past the insurance fund
    mi.wait(mi.model.params.warmup_period + 1)
    mi.touch([bob], keeper)
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
    for k in range(30):
        mi.record_quote(usd(50_000), usd(50_000) + k % 2)  # each clamped to -6,000: MA30 -6,000
    mi.set_price(5_000)  # a 92 % crash
    assert mi.ex.funding.markPrice(mi.ex.market_id) == usd(4_500)
    liq = mi.liquidate(keeper, alice, WAD // 4)  # alice is bankrupt: bad debt, no fee
    assert (liq.mark, liq.fee) == (usd(4_500), 0)


# ================================================================== other collateral (CollateralPool)


@pytest.fixture
def collateral_mirror(make_exchange, project, owner, chain, error_table, alice, bob, carol, keeper):
    """A fresh exchange whose market takes WETH (18 decimals, weight 0.80, discount 0.05) and WBTC
    (8 decimals, weight 0.70, discount 0.10), each behind its own feed and oracle, watched for
    alice, bob, carol and keeper: the pool, its balances and the oracles' answers are mirrored."""
    from tests.conftest import ape_deployer
    from tests.fuzz.suites import deploy_collaterals, with_collateral

    deploy, at = ape_deployer(project, owner)
    ex = with_collateral(make_exchange(), at, deploy_collaterals(deploy))
    return Mirror(ex, chain, error_table, {"alice": alice, "bob": bob, "carol": carol, "keeper": keeper})


def test_collateral_backed_loss__liquidation_then_sales_then_bad_debt_match_model(collateral_mirror, alice, bob,
                                                                                    carol, keeper):
    mi = collateral_mirror
    mi.fund(alice, mi.units("1000.5"))
    for who in (bob, carol, keeper):
        mi.fund(who, mi.units(100_000))
    mi.fund_collateral(alice, "WETH", 1_234_567_891_234_567_891)  # 1.23... WETH: 2,962.96 of margin
    mi.fund_collateral(alice, "WBTC", 2_345_678)  # 0.02345678 WBTC: 985.18 of margin
    assert mi.model.pool.value_of(alice.address, mi.prices())[1]
    # 0.75 BTC long at 60,000.5: 4,500 of initial margin, which only the collateral covers
    mi.trade(bob, alice, -usd("0.75"), usd("60000.5"))
    assert mi.model.account(alice.address).size == usd("0.75")
    mi.set_collateral_price("WETH", "2100.37")  # -30 %
    mi.set_price("56000.25")  # -3,000 on the position: alice is under maintenance
    assert mi.model.is_liquidatable(alice.address, mi.index, mi.chain.blocks.head.timestamp, mi.prices())
    liq = mi.liquidate(keeper, alice, usd("0.75"))
    assert liq.fee == 0  # nothing but collateral left to charge it to
    debt = -mi.model.account(alice.address).pnl
    assert debt > 0 and mi.model.pool.holds(alice.address)  # no bad debt while collateral backs it
    # a third of the debt: WBTC first (weight 0.70 < 0.80), its units rounded down; the dust
    # that leaves unpaid buys a few wei of WETH
    out = mi.liquidate_collateral(carol, alice, debt // 3)
    assert out.sales[0].token == mi.feeds["WBTC"].key and out.sales[0].cost < debt // 3
    assert out.repaid <= debt // 3 and out.sales[-1].cost < 54 * 10**13  # less than a WBTC unit (5.4e14)
    # the rest, at twice the debt: WBTC's last units, then WETH, the last unit rounded up
    out = mi.liquidate_collateral(keeper, alice, 2 * debt)
    assert mi.model.account(alice.address).pnl == 0 and out.bad_debt == 0
    assert mi.liquidate_collateral(keeper, alice, 1)[0] == "NoDebt"
    # another loss past what is left: the sale takes all of it, the rest is bad debt
    mi.trade(bob, alice, -usd("0.1"), usd("56000.25"))
    mi.set_collateral_price("WETH", "300")
    mi.set_price("52000")
    mi.liquidate(keeper, alice, usd("0.1"))
    out = mi.liquidate_collateral(carol, alice, 10**30)
    assert out.bad_debt > 0 and not mi.model.pool.holds(alice.address)
    assert mi.model.account(alice.address) == M.Account(0, 0, 0, 0, mi.model.account(alice.address).funding_snapshot)
    # what the liquidators bought is theirs: they withdraw it (flat carol: oracles not needed)
    mi.break_collateral_oracle("WETH", "reverting")
    mi.withdraw_collateral(carol, "WETH", mi.collateral_balance(carol, "WETH"))
    mi.mend_collateral_oracle("WETH")


def test_collateral_oracle_outage__waiver_refusals_and_withdrawals_match_model(collateral_mirror, alice, bob,
                                                                                 carol, keeper, owner):
    mi = collateral_mirror
    mi.fund(alice, mi.units(2_000))
    mi.fund(bob, mi.units(100_000))
    expected = [
        (mi.fund_collateral(alice, "WETH", 0), "ZeroAmount"),
        (mi.fund_collateral(alice, "WBTC", 3 * 10**8 + 1), "CollateralCapExceeded"),  # cap: 3 WBTC
        (mi.withdraw_collateral(alice, "WETH", 1), "InsufficientCollateral"),
        (mi.liquidate_collateral(bob, alice, 1), "NoDebt"),
        (mi.liquidate_collateral(alice, alice, 1), "SelfLiquidation"),
        (mi.liquidate_collateral(bob, alice, 0), "ZeroAmount"),
        (mi.set_collateral("WETH", (96 * WAD // 100, WAD // 20, 60 * WAD)), "ParamOutOfBounds"),
    ]
    for result, name in expected:
        assert result[0] == name, result
    mi.fund_collateral(alice, "WETH", 10 * WAD)  # 24,000 of margin
    mi.trade(bob, alice, -usd("1.5"), usd(60_000))  # 9,000 of initial margin, 2,000 of capital
    mi.break_collateral_oracle("WETH", "stale")
    assert mi.model.pool.value_of(alice.address, mi.prices()) == (0, False)
    assert mi.trade(bob, alice, -usd("0.01"), usd(60_000))[0] == "InsufficientMargin"  # new risk: WETH counts 0
    mi.trade(bob, alice, usd("0.5"), usd(60_000))  # a reduction below maintenance: waived
    assert mi.withdraw_collateral(alice, "WETH", 1)[0] == "InsufficientMargin"  # no waiver for a withdrawal
    mi.mend_collateral_oracle("WETH")
    mi.withdraw_collateral(alice, "WETH", 5 * WAD)  # 1,940 + 12,000 left for 6,000 of initial margin
    assert mi.withdraw_collateral(alice, "WETH", 4 * WAD)[0] == "InsufficientMargin"
    mi.set_collateral("WETH", (0, WAD // 20, 60 * WAD))  # delisted: counts 0, needs no price
    assert mi.withdraw_collateral(alice, "WETH", 1)[0] == "InsufficientMargin"
    mi.set_collateral("WETH", (95 * WAD // 100, WAD // 20, 60 * WAD))  # the largest weight for 5 %
    mi.break_collateral_oracle("WETH", "zero")
    assert mi.set_collateral("WETH", (WAD // 2, WAD // 20, 60 * WAD))[0] == "OracleUnavailable"
    mi.trade(bob, alice, usd(1), usd(60_000))  # flat again
    mi.withdraw_collateral(alice, "WETH", 5 * WAD)  # flat without debt: all of it, oracle down
    assert not mi.model.pool.holds(alice.address)
    mi.mend_collateral_oracle("WETH")
    mi.fund_collateral(bob, "WETH", WAD)
    mi.wait(30 * 3600)  # the feeds are kept fresh: the pool values WETH again
    assert mi.model.pool.value_of(bob.address, mi.prices()) == (95 * 3_000 * WAD // 100, True)
