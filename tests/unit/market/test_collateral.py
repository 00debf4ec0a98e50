"""PerpMarket collateral: deposits and withdrawals in 6 and 18 decimals, vault reconciliation,
margin on withdrawal, and a flat account leaving while the oracle is down."""

import ape
import pytest

from tests.reverts import reverts

from tests.conftest import WAD
from tests.unit.market.conftest import usd


def _vault_reconciles(ex):
    assert ex.token.balanceOf(ex.market) * ex.scale == ex.market.vault()


@pytest.mark.parametrize("decimals", [6, 18])
def test_deposit__credits_capital_in_wad(make_exchange, alice, decimals):
    ex = make_exchange(decimals=decimals)
    amount = 1_234 * 10**decimals + 5
    receipt = ex.fund(alice, amount)
    wad = amount * 10 ** (18 - decimals)
    assert ex.market.capitalOf(alice) == wad
    assert ex.market.capitalTotal() == wad
    assert ex.market.vault() == wad
    assert ex.token.balanceOf(ex.market) == amount
    assert ex.token.balanceOf(alice) == 0
    [event] = receipt.events.filter(ex.market.Deposit)
    assert (event.account, event.payer, event.amount, event.wad) == (alice.address, alice.address, amount, wad)
    _vault_reconciles(ex)


def test_deposit__zero_reverts(ex, alice):
    with ape.reverts(ex.router.ZeroAmount):
        ex.router.deposit(ex.market_id, 0, sender=alice)


def test_deposit__only_router(ex, alice):
    with ape.reverts(ex.market.OnlyRouter, caller=alice.address):
        ex.market.deposit(alice, alice, 1, sender=alice)


@pytest.mark.parametrize("decimals", [6, 18])
def test_withdraw__flat_account_gets_exact_tokens(make_exchange, alice, decimals):
    ex = make_exchange(decimals=decimals)
    ex.fund(alice, 1_000 * 10**decimals)
    receipt = ex.router.withdraw(ex.market_id, 400 * 10**decimals, sender=alice)
    assert ex.token.balanceOf(alice) == 400 * 10**decimals
    assert ex.market.capitalOf(alice) == usd(600)
    [event] = receipt.events.filter(ex.market.Withdraw)
    assert (event.account, event.to, event.amount, event.wad) == (alice.address, alice.address, 400 * 10**decimals, usd(400))
    _vault_reconciles(ex)


def test_withdraw__more_than_capital_reverts(ex, alice):
    ex.fund(alice, 100 * 10**6)
    with ape.reverts(ex.market.InsufficientCapital, account=alice.address, amount=usd(100) + 10**12, available=usd(100)):
        ex.router.withdraw(ex.market_id, 100 * 10**6 + 1, sender=alice)
    assert ex.market.capitalOf(alice) == usd(100)


def test_withdraw__open_position_must_keep_initial_margin(ex, alice, bob):
    ex.fund(alice, 10_000 * 10**6)
    ex.fund(bob, 10_000 * 10**6)
    ex.trade(bob, alice, -WAD, 60_000 * WAD)  # alice takes 1 BTC long: taker fee 30 USD
    # value 9,970; initial margin 6,000: 3,970 can leave, not a wei more.
    with ape.reverts(
        ex.market.InsufficientMargin, account=alice.address, accountValue=usd(5_999.999999), required=usd(6_000)
    ):
        ex.router.withdraw(ex.market_id, 3_970_000_001, sender=alice)
    ex.router.withdraw(ex.market_id, 3_970 * 10**6, sender=alice)
    assert ex.market.accountValue(alice) == usd(6_000)
    _vault_reconciles(ex)


@pytest.mark.parametrize(
    "breakage, error", [("stale", "OracleStale"), ("zero", "OracleAnswerNotPositive"), ("reverting", "OracleFeedReverted")]
)
def test_withdraw__flat_account_leaves_while_oracle_is_down(chain, ex, alice, bob, carol, breakage, error):
    for account in (alice, bob, carol):
        ex.fund(account, 10_000 * 10**6)
    ex.trade(bob, alice, -WAD, 60_000 * WAD)
    ex.trade(alice, carol, -WAD, 60_000 * WAD)  # alice closes against carol: flat, paid 30 + 12 USD fees
    if breakage == "stale":
        chain.mine(1, deltatime=86_400 + 1)
    elif breakage == "zero":
        ex.set_price(0)
    else:
        ex.feed.setReverting(True, sender=ex.owner)
    assert ex.oracle.tryPrice() == (False, 0)

    ex.router.withdraw(ex.market_id, 9_958 * 10**6, sender=alice)
    assert ex.token.balanceOf(alice) == 9_958 * 10**6
    assert ex.market.capitalOf(alice) == 0
    # With a position, the same withdrawal needs a price and is refused with the oracle's error.
    with ape.reverts(getattr(ex.oracle, error)):
        ex.router.withdraw(ex.market_id, 1, sender=bob)
    _vault_reconciles(ex)


def test_withdraw__realizes_profit_when_capital_is_short(ex, alice, bob):
    ex.fund(alice, 10_000 * 10**6)
    ex.fund(bob, 10_000 * 10**6)
    ex.trade(bob, alice, -WAD, 60_000 * WAD)  # alice long 1 (taker 30), bob short (maker 12)
    ex.set_price(61_000)
    ex.trade(alice, bob, -WAD, 61_000 * WAD)  # alice sells at 61k as maker (fee 12.2); bob buys as taker (30.5)
    assert ex.market.pnlOf(alice) == usd(1_000)
    assert ex.market.capitalOf(alice) == usd("9957.8")  # fees come out of capital: 30 + 12.2
    assert ex.market.capitalOf(bob) == usd("8957.5")  # 12 + 30.5 of fees and the 1,000 loss
    assert ex.market.haircut() == WAD
    # the profit warms up first: a second after the close, capital and 1/3600 of the profit can leave
    ex.chain.pending_timestamp = ex.chain.blocks.head.timestamp + 1
    available = usd("9957.8") + usd(1_000) // 3_600
    with reverts(ex.market.InsufficientCapital, account=alice.address, amount=usd("10957.8"), available=available):
        ex.router.withdraw(ex.market_id, 10_957_800_000, sender=alice)
    ex.chain.mine(1, timestamp=ex.chain.blocks.head.timestamp + ex.market.warmupPeriod())

    receipt = ex.router.withdraw(ex.market_id, 10_957_800_000, sender=alice)  # everything
    [event] = receipt.events.filter(ex.market.ProfitRealized)
    assert (event.pnl, event.credited, event.haircut) == (usd(1_000), usd(1_000), WAD)
    assert ex.market.capitalOf(alice) == 0
    assert ex.market.pnlOf(alice) == 0
    assert ex.token.balanceOf(alice) == 10_957_800_000
    _vault_reconciles(ex)
