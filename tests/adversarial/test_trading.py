"""Trading attacks at a constant mark: entry averaging, PnL asymmetry, order splitting, open and
close in one transaction, a fill at the band's edge between two accounts of one attacker, dust
positions, and rounding dust from many tiny trades. In each the attacker ends with what it put in
less the fees it paid (and, where the rounding bites, less the rounding, never more)."""

from tests.adversarial.conftest import BTC, MAKER_FEE, TAKER_FEE, WARMUP, available_at, fee, trade_fees, usd, wait
from tests.conftest import WAD
from tests.reverts import reverts

MIN_SIZE = WAD // 1000


def _settle(ex, fills):
    return ex.router.settle(fills, sender=ex.matcher)


def test_entry_averaging__adds_at_several_prices__pnl_is_the_sum_of_the_fills(ex, chain, ledger, alice, bob, carol):
    """alice adds to a long at four prices, cuts part of it at the mark, adds once more and closes
    at the mark 60,000. An averaging that rounded or weighted wrong would show as PnL; her net is
    exactly the sum of `size x (mark - price)` over her buys, less her fees."""
    for who in (alice, bob, carol):
        ledger.deposit(who, usd(50_000))
    buys = [(usd("0.1"), usd(59_000)), (usd("0.05"), usd(61_000)), (usd("0.2"), usd(60_500)), (usd("0.15"), usd(59_700))]
    fees = 0
    for size, price in buys:
        fees += trade_fees(ex.trade(bob, alice, -size, price), ex.market, alice)  # alice takes bob's asks
    fees += trade_fees(ex.trade(carol, alice, usd("0.2"), BTC), ex.market, alice)  # sells 0.2 at the mark
    late = (usd("0.1"), usd(60_300))
    fees += trade_fees(ex.trade(bob, alice, -late[0], late[1]), ex.market, alice)
    fees += trade_fees(ex.trade(carol, alice, usd("0.4"), BTC), ex.market, alice)  # flat again
    assert ex.market.positionOf(alice)[0] == 0

    expected = sum(size * (BTC - price) // WAD for size, price in buys + [late])
    assert expected == -usd(35)  # +100 - 50 - 100 + 45 - 30: every product exact
    assert fees == sum(fee(s, p, TAKER_FEE) for s, p in buys + [late]) + fee(usd("0.6"), BTC, TAKER_FEE)
    # marked to market at every fill, her PnL went +100, +50, -50 (paid from capital), +45, +15:
    # the last 15 is fresh profit and leaves once it has warmed up
    assert (ex.market.pnlOf(alice), ex.market.pnlWarmingOf(alice)) == (usd(15), usd(15))
    wait(chain, WARMUP)
    assert ex.market.haircut() == WAD
    ledger.withdraw(alice, ex.market.capitalOf(alice) + usd(15))
    assert ledger.net(alice) == expected - fees


def test_pnl_asymmetry__up_then_down_to_start__no_net_gain(ex, chain, ledger, alice, bob, keeper):
    """alice long, bob short 0.1 BTC each (one attacker may hold both); the price goes to 63,000
    and back to 60,000, each side touched at both; they close against each other at the start.
    Each leaves with its deposit less its own fees, and not before bob's round trip has warmed up
    (his 300 loss was paid from capital at 63,000, its recovery is fresh profit)."""
    m = ex.market
    for who in (alice, bob):
        ledger.deposit(who, usd(10_000))
    ex.trade(bob, alice, -WAD // 10, BTC)
    for price in (63_000, 60_000):
        ex.set_price(price)
        m.touch([alice.address, bob.address], sender=keeper)
    ex.trade(bob, alice, WAD // 10, BTC)  # alice sells her long back to bob
    alice_fees, bob_fees = 2 * fee(WAD // 10, BTC, TAKER_FEE), 2 * fee(WAD // 10, BTC, MAKER_FEE)
    assert (m.pnlOf(alice), m.pnlOf(bob), m.pnlWarmingOf(bob)) == (0, usd(300), usd(300))

    capital = m.capitalOf(bob)
    assert capital == usd(10_000) - usd(300) - bob_fees
    available = available_at(ex, chain, bob, 1)  # one second later
    assert capital < available < capital + usd(300) // 1_000  # all but a 3,600th still warming
    with reverts(m.InsufficientCapital, account=bob.address, amount=available + 1, available=available):
        ledger.withdraw(bob, available + 1)
    wait(chain, WARMUP)
    m.touch([bob.address], sender=keeper)
    assert m.haircut() == WAD
    ledger.withdraw_capital(alice)
    ledger.withdraw(bob, capital + usd(300))
    assert (ledger.net(alice), ledger.net(bob)) == (-alice_fees, -bob_fees)


def test_order_splitting__many_tiny_fills__pay_at_least_one_big_fill(ex, chain, ledger, alice, bob):
    """alice buys 1 BTC at 60,000 + 1 wei as 50 fills of 0.02 in one batch instead of one fill:
    each fill's fee is rounded up on its own, so the split costs 49 wei more, never less."""
    for who in (alice, bob):
        ledger.deposit(who, usd(20_000))
    price = BTC + 1
    ask, bid = ex.order(bob, -WAD, price), ex.order(alice, WAD, price)

    snapshot = chain.snapshot()
    one = trade_fees(_settle(ex, [ex.fill(ask, bid, WAD, bob, alice)]), ex.market, alice)
    chain.restore(snapshot)
    piece = ex.fill(ask, bid, WAD // 50, bob, alice)
    split = trade_fees(_settle(ex, [piece] * 50), ex.market, alice)

    assert ex.market.positionOf(alice)[0] == WAD
    assert one == fee(WAD, price, TAKER_FEE) == usd(30) + 1
    assert split == 50 * fee(WAD // 50, price, TAKER_FEE) == usd(30) + 50
    assert split >= one


def test_open_close_in_one_transaction__constant_price__net_is_minus_fees(ex, ledger, alice, bob, carol):
    """alice buys 1 BTC from bob and sells it to carol in one settle batch (one block, one mark):
    she takes out her deposit less two taker fees, to the wei."""
    for who in (alice, bob, carol):
        ledger.deposit(who, usd(10_000))
    buy = ex.fill(ex.order(bob, -WAD, BTC), ex.order(alice, WAD, BTC), WAD, bob, alice)
    sell = ex.fill(ex.order(carol, WAD, BTC), ex.order(alice, -WAD, BTC), WAD, carol, alice)
    receipt = _settle(ex, [buy, sell])
    fees = trade_fees(receipt, ex.market, alice)
    assert fees == 2 * fee(WAD, BTC, TAKER_FEE) == usd(60)
    assert (ex.market.positionOf(alice)[0], ex.market.pnlOf(alice)) == (0, 0)
    ledger.withdraw_capital(alice)
    assert ledger.net(alice) == -fees


def test_fill_at_band_edge_between_own_accounts__moves_value_but_extracts_nothing(ex, chain, ledger, alice, bob):
    """The attacker holds alice and bob and fills alice's buy from bob at the band's edge, 63,000
    (a Mango-style off-market print, cf. Perpetual Protocol's wash-trading report): bob's 3,000 of
    profit is fresh and cannot leave, one wei further is out of the band, and once both are closed
    and bob's profit has warmed up the pair has lost exactly the fees."""
    m = ex.market
    for who in (alice, bob):
        ledger.deposit(who, usd(10_000))
    edge = BTC + BTC // 20
    with reverts(m.FillPriceOutsideBand, price=edge + 1, index=BTC, priceBand=WAD // 20):
        ex.trade(bob, alice, -WAD, edge + 1)
    fees = trade_fees(ex.trade(bob, alice, -WAD, edge), m, alice)
    receipt = ex.trade(alice, bob, -WAD, BTC)  # bob buys back from alice at the mark: both flat
    fees += trade_fees(receipt, m, alice) + trade_fees(receipt, m, bob)
    fees += fee(WAD, edge, MAKER_FEE)  # bob's first fill, as maker
    assert (m.pnlOf(bob), m.pnlWarmingOf(bob)) == (usd(3_000), usd(3_000))

    capital = m.capitalOf(bob)
    available = available_at(ex, chain, bob, 1)
    assert capital < available < capital + usd(3_000) // 1_000
    with reverts(m.InsufficientCapital, account=bob.address, amount=available + 1, available=available):
        ledger.withdraw(bob, available + 1)
    wait(chain, WARMUP)
    ledger.withdraw_capital(alice)
    ledger.withdraw(bob, capital + usd(3_000))
    assert ledger.net(alice, bob) == -fees


def test_dust_position__open_or_leave_below_minimum__refused(ex, ledger, alice, bob, carol):
    """A position too small to be worth liquidating (Sherlock, Elfi #249 and Sentiment v2 #509):
    neither opened nor left behind by a partial close."""
    for who in (alice, bob, carol):
        ledger.deposit(who, usd(1_000))
    with reverts(ex.market.PositionBelowMinimum, account=bob.address, size=-(MIN_SIZE - 1), minPositionSize=MIN_SIZE):
        ex.trade(bob, alice, -(MIN_SIZE - 1), BTC)
    ex.trade(bob, alice, -10 * MIN_SIZE, BTC)
    left = MIN_SIZE // 2
    with reverts(ex.market.PositionBelowMinimum, account=alice.address, size=left, minPositionSize=MIN_SIZE):
        ex.trade(carol, alice, 10 * MIN_SIZE - left, BTC)


def test_rounding_dust__many_tiny_round_trips__lose_a_wei_each_never_gain(ex, ledger, alice, bob):
    """The attacker trades 0.001 BTC + 3 wei back and forth between its accounts alice and bob, 20
    round trips in one batch at 60,000 + 7 wei, where every notional is fractional: the entry is
    rounded up for each side and the exit down, so each account loses exactly one wei per round
    trip on top of its fees, and nothing of it comes back."""
    size, price, trips = MIN_SIZE + 3, BTC + 7, 20
    for who in (alice, bob):
        ledger.deposit(who, usd(1_000))
    fills = []
    for _ in range(trips):
        fills.append(ex.fill(ex.order(bob, -size, price), ex.order(alice, size, price), size, bob, alice))
        fills.append(ex.fill(ex.order(bob, size, price), ex.order(alice, -size, price), size, bob, alice))
    receipt = _settle(ex, fills)
    fees = trade_fees(receipt, ex.market, alice) + trade_fees(receipt, ex.market, bob)
    assert fees == 2 * trips * (fee(size, price, TAKER_FEE) + fee(size, price, MAKER_FEE))
    assert (ex.market.pnlOf(alice), ex.market.pnlOf(bob)) == (0, 0)  # the losses were paid from capital
    for who in (alice, bob):
        ledger.withdraw_capital(who)
    assert ledger.net(alice, bob) == -fees - 2 * trips


def test_rounding_dust__tiny_deposits_and_withdrawals__return_exactly_what_went_in(make_exchange, alice):
    """On a 6-decimal token (1 unit = 1e12 WAD), ten 1-unit deposits give back ten 1-unit
    withdrawals and not an eleventh."""
    ex6 = make_exchange(decimals=6)
    ex6.token.mint(alice, 10, sender=alice)
    ex6.token.approve(ex6.router, 10, sender=alice)
    for _ in range(10):
        ex6.router.deposit(ex6.market_id, 1, sender=alice)
    for _ in range(10):
        ex6.router.withdraw(ex6.market_id, 1, sender=alice)
    assert (ex6.token.balanceOf(alice), ex6.market.capitalOf(alice)) == (10, 0)
    with reverts(ex6.market.InsufficientCapital, account=alice.address, amount=10**12, available=0):
        ex6.router.withdraw(ex6.market_id, 1, sender=alice)
