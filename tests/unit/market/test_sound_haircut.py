"""The sound haircut (DESIGN section 6, after Percolator): winners are cut only by real bad debt.

Every touch marks an account to market and pays its loss from capital; fresh profit warms up for
`warmupPeriod` before it can leave; the keeper's sweep (`touch`) realises the losers' side within
that time. So `h` stays 1 while the exchange is solvent, and with real bad debt the winners share
it pro rata, whatever the order of their withdrawals.
"""

import pytest

from perpkit import model as M
from tests.conftest import WAD
from tests.reverts import reverts

BTC = 60_000
WARMUP = 3_600  # the default market's warmupPeriod
MAKER_FEE, TAKER_FEE = 2 * 10**14, 5 * 10**14


def usd(x) -> int:
    return x * WAD


def fee(size, price, rate) -> int:
    """The contract's trading fee: |size| x price up, x rate up."""
    return M.mul_wad_up(M.mul_wad_up(abs(size), price), rate)


@pytest.fixture
def ex(make_exchange):
    return make_exchange(decimals=18)  # tokens = WAD: every amount exact to the wei


def _wait(chain, seconds):
    chain.mine(1, timestamp=chain.blocks.head.timestamp + seconds)


def _open_and_win(ex, alice, bob, carol):
    """alice long 0.1 BTC against bob at 60,000, the index moves 10 % up, alice closes against
    carol at 66,000 (taker). Returns alice's capital after her fees."""
    for who in (alice, bob, carol):
        ex.fund(who, usd(10_000))
    ex.trade(bob, alice, -WAD // 10, usd(BTC))  # bob rests the short, alice takes it
    ex.set_price(66_000)
    ex.trade(carol, alice, WAD // 10, usd(66_000))  # carol rests the long, alice sells into it
    return usd(10_000) - fee(WAD // 10, usd(BTC), TAKER_FEE) - fee(WAD // 10, usd(66_000), TAKER_FEE)


def test_close_against_untouched_loser__haircut_stays_one(ex, alice, bob, carol):
    m = ex.market
    capital = _open_and_win(ex, alice, bob, carol)
    # alice realised 600 USD; bob's loss is not realised yet; nothing is lost: h = 1 (was 0)
    assert (m.capitalOf(alice), m.pnlOf(alice)) == (capital, usd(600))
    assert m.haircut() == WAD
    assert (m.pnlWarmingOf(alice), m.pnlMaturedOf(alice), m.pnlWarmingTotal()) == (usd(600), 0, usd(600))
    assert m.coverage() == 0  # nothing backs the fresh profit until bob is touched
    assert m.badDebt() == 0


def test_withdraw__warming_profit__refused_beyond_capital(ex, alice, bob, carol):
    capital = _open_and_win(ex, alice, bob, carol)
    with reverts(ex.market.InsufficientCapital, account=alice.address, amount=capital + 1, available=capital):
        ex.router.withdraw(ex.market_id, capital + 1, sender=alice)


def test_touch__realises_loser_at_mark__pays_from_capital(ex, alice, bob, carol, keeper):
    m = ex.market
    _open_and_win(ex, alice, bob, carol)
    bob_capital = m.capitalOf(bob)
    receipt = m.touch([bob.address], sender=keeper)
    [event] = receipt.events.filter(m.MarkedToMarket)
    assert (event.account, event.realized, event.mark) == (bob.address, -usd(600), usd(66_000))
    assert m.accountOf(bob).openNotional == -usd(6_600)  # entry moved to the mark
    assert (m.capitalOf(bob), m.pnlOf(bob)) == (bob_capital - usd(600), 0)
    assert m.coverage() == WAD and m.haircut() == WAD  # the profit is backed now
    assert m.openInterest() == (WAD // 10, WAD // 10)  # a touch moves no position


def test_touch__flat_unknown_and_repeated__change_nothing(ex, alice, bob, carol, keeper, dave):
    m = ex.market
    _open_and_win(ex, alice, bob, carol)
    m.touch([bob.address], sender=keeper)
    names = [dave.address, bob.address, bob.address, carol.address]  # unknown, touched, repeated, at mark
    before = [m.accountOf(a) for a in (bob, carol, dave)]
    totals = (m.vault(), m.capitalTotal(), m.pnlPosTotal(), m.insuranceFund(), m.pnlWarmingTotal())
    assert m.touch.call(names, sender=keeper) == 3  # dave skipped
    receipt = m.touch(names, sender=keeper)
    assert list(receipt.events.filter(m.MarkedToMarket)) == []
    assert [m.accountOf(a) for a in (bob, carol, dave)] == before
    assert (m.vault(), m.capitalTotal(), m.pnlPosTotal(), m.insuranceFund(), m.pnlWarmingTotal()) == totals


def test_touch__oracle_down__reverts(ex, bob, keeper, alice, carol):
    _open_and_win(ex, alice, bob, carol)
    ex.feed.updateAnswer(0, sender=ex.owner)
    with reverts(ex.oracle.OracleAnswerNotPositive, answer=0):
        ex.market.touch([bob.address], sender=keeper)


def test_warmup__vests_linearly__withdrawable_when_matured(ex, chain, alice, bob, carol, keeper):
    m = ex.market
    capital = _open_and_win(ex, alice, bob, carol)
    m.touch([bob.address], sender=keeper)
    start = m.accountOf(alice).warmStart
    assert m.accountOf(alice).warmEnd == start + WARMUP
    _wait(chain, WARMUP // 4)
    elapsed = chain.blocks.head.timestamp - start
    vested = usd(600) * elapsed // WARMUP
    assert (m.pnlWarmingOf(alice), m.pnlMaturedOf(alice)) == (usd(600) - vested, vested)
    _wait(chain, WARMUP)
    assert (m.pnlWarmingOf(alice), m.pnlMaturedOf(alice)) == (0, usd(600))
    before = ex.token.balanceOf(alice)
    ex.router.withdraw(ex.market_id, capital + usd(600), sender=alice)
    assert ex.token.balanceOf(alice) - before == capital + usd(600)  # paid in full: h = 1
    assert (m.capitalOf(alice), m.pnlOf(alice), m.pnlWarmingTotal()) == (0, 0, 0)


def test_fresh_profit__restarts_vesting__never_ends_earlier(ex, chain, alice, bob, carol, keeper):
    m = ex.market
    _open_and_win(ex, alice, bob, carol)
    first = m.accountOf(alice)
    # a shorter warmup afterwards must not shorten what was promised
    params = list(m.params())
    params[7] = 60  # warmupPeriod
    ex.router.setMarketParams(ex.market_id, tuple(params), sender=ex.owner)
    assert m.warmupPeriod() == 60
    ex.set_price(60_000)
    ex.trade(alice, bob, WAD // 10, usd(60_000))  # alice long again against bob (maker)
    ex.set_price(61_000)
    m.touch([alice.address], sender=keeper)  # +100 fresh profit
    a = m.accountOf(alice)
    assert a.warmEnd == first.warmEnd  # later than now + 60 s: kept
    assert a.warmStart == chain.blocks.head.timestamp
    assert a.warming > first.warming - usd(1)  # restarted: what had vested was folded first


def test_winners_share_bad_debt_pro_rata__in_either_order(ex, chain, alice, bob, carol, keeper):
    """bob (short 0.1 BTC on 700 USD) goes bankrupt at 68,000; past the tiny insurance fund the
    loss is bad debt. alice (0.06) and carol (0.04) withdraw in either order and get the same:
    capital in full, matured profit at the same h, which neither withdrawal moves."""
    m = ex.market
    ex.fund(bob, usd(700))
    for who in (alice, carol):
        ex.fund(who, usd(5_000))
    ex.fund(keeper, usd(20_000))
    ex.trade(bob, alice, -6 * WAD // 100, usd(BTC))
    ex.trade(bob, carol, -4 * WAD // 100, usd(BTC))
    ex.set_price(68_000)
    m.liquidate(bob, WAD // 10, sender=keeper)
    assert m.badDebt() == usd(97) and m.insuranceFund() == 0  # 101.2 of debt, 4.2 of fees insured
    ex.trade(keeper, alice, 6 * WAD // 100, usd(68_000))  # both close against the keeper's short
    ex.trade(keeper, carol, 4 * WAD // 100, usd(68_000))
    _wait(chain, WARMUP + 1)
    m.touch([alice.address, carol.address], sender=keeper)  # flat, but their vested profit matures
    h = m.haircut()
    assert 0 < h < WAD

    def payout(who):
        return m.capitalOf(who) + m.pnlMaturedOf(who) * h // WAD

    def withdraw_all(order):
        paid = {}
        for who in order:
            amount = payout(who)
            before = ex.token.balanceOf(who)
            capital = m.capitalOf(who)
            ex.router.withdraw(ex.market_id, amount, sender=who)
            paid[who.address] = ex.token.balanceOf(who) - before
            assert paid[who.address] >= capital  # capital is never haircut
            assert m.haircut() >= h  # a claimant at h leaves h for the others (rounded for them)
        return paid

    snapshot = chain.snapshot()
    first = withdraw_all([alice, carol])
    chain.restore(snapshot)
    second = withdraw_all([carol, alice])
    assert first == second


def test_partial_liquidation__must_leave_account_healthy__keeps_margin_ratio(make_exchange, chain, alice, bob, carol, keeper):
    """The deep campaign's case (formerly a strict xfail): a partial liquidation realised profit
    nobody had realised against, dropped h to 0 and the margin ratio from 0.68 to 0. With the
    sound haircut the maintenance equity carries no haircut; the partial must restore health."""
    ex = make_exchange(price=3_000)
    m = ex.market
    for who in (alice, bob, carol):
        ex.fund(who, 2_000 * 10**6)
    size = 1_333 * WAD // 1_000
    ex.trade(alice, bob, size, 3_000 * WAD)  # alice long 1.333 ETH as maker, bob short
    ex.set_price(3_450)
    m.touch([bob.address, alice.address], sender=keeper)  # bob's loss realised, alice's profit warms up
    _wait(chain, WARMUP + 1)
    ex.router.withdraw(ex.market_id, m.capitalOf(alice) // ex.scale, sender=alice)  # profit carries her
    ex.set_price(3_105)
    assert m.isLiquidatable(alice)
    value, maintenance = m.accountValue(alice), m.marginRequirements(alice)[1]
    assert value > 0 and m.haircut() == WAD

    with ape_reverts_partial(m, alice):
        m.liquidate(alice, size // 4, sender=carol)  # a quarter leaves her below maintenance
    m.liquidate(alice, size // 2, sender=carol)

    value_after, maintenance_after = m.accountValue(alice), m.marginRequirements(alice)[1]
    assert value_after >= maintenance_after
    assert value_after * maintenance >= value * maintenance_after, (value, maintenance, value_after, maintenance_after)


def ape_reverts_partial(m, account):
    return reverts(m.PartialLiquidationUnhealthy, account=account.address)


def test_maintenance__ignores_haircut__solvent_account_not_liquidatable(ex, chain, alice, bob, carol, keeper):
    """With real bad debt h < 1, but an account's liquidation test counts its PnL in full."""
    m = ex.market
    ex.fund(bob, usd(700))
    ex.fund(alice, usd(5_000))
    ex.fund(carol, usd(700))
    ex.fund(keeper, usd(20_000))
    ex.trade(bob, alice, -WAD // 10, usd(BTC))
    ex.set_price(68_000)
    m.liquidate(bob, WAD // 10, sender=keeper)
    m.touch([alice.address], sender=keeper)
    _wait(chain, WARMUP + 1)
    m.touch([alice.address], sender=keeper)  # her profit matures: h < 1 is now hers too
    assert m.haircut() < WAD
    value = m.accountValue(alice)
    assert value == m.capitalOf(alice) + m.pnlOf(alice)  # no haircut in the maintenance equity
    assert not m.isLiquidatable(alice)
