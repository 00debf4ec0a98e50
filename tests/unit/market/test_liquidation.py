"""PerpMarket.liquidate: the maintenance edge to the wei, fee split, self-liquidation, bad debt
beyond the insurance fund and the haircut that socialises it."""

import ape
import pytest

from tests.conftest import WAD
from tests.unit.market.conftest import usd

TAKER_FEE_1BTC_60K = usd(30)
MAKER_FEE_1BTC_60K = usd(12)


def _open_long(ex, trader, counterparty, deposit_wad):
    """`trader` buys 1 BTC at 60k as taker from `counterparty`; 18-decimal collateral."""
    ex.fund(trader, deposit_wad)
    ex.fund(counterparty, 100_000 * WAD)
    ex.trade(counterparty, trader, -WAD, 60_000 * WAD)


@pytest.mark.parametrize("shortfall", [0, 1])
def test_liquidate__at_maintenance_refused_one_wei_below_allowed(ex18, alice, bob, keeper, shortfall):
    # At 56k: maintenance 5 % x 56,000 = 2,800; value = capital - 4,000 of loss.
    # Capital 6,800 (+ the 30 taker fee) sits exactly at maintenance; one wei less is below it.
    _open_long(ex18, alice, bob, usd(6_800) + TAKER_FEE_1BTC_60K - shortfall)
    ex18.fund(keeper, 20_000 * WAD)
    ex18.set_price(56_000)
    assert ex18.market.marginRequirements(alice) == (usd(5_600), usd(2_800))
    assert ex18.market.accountValue(alice) == usd(2_800) - shortfall

    if shortfall == 0:
        assert not ex18.market.isLiquidatable(alice)
        with ape.reverts(
            ex18.market.NotLiquidatable, account=alice.address, accountValue=usd(2_800), maintenance=usd(2_800)
        ):
            ex18.market.liquidate(alice, WAD, sender=keeper)
        return

    assert ex18.market.isLiquidatable(alice)
    insurance_before = ex18.market.insuranceFund()
    receipt = ex18.market.liquidate(alice, WAD, sender=keeper)

    fee = usd(560)  # 1 % of 56,000 notional, below the cap (the account's whole value)
    [event] = receipt.events.filter(ex18.market.Liquidation)
    assert (event.account, event.liquidator, event.amount, event.markPrice) == (
        alice.address,
        keeper.address,
        WAD,
        usd(56_000),
    )
    assert (event.fee, event.liquidatorReward) == (fee, fee // 2)
    assert ex18.market.positionOf(alice)[0] == 0
    assert ex18.market.positionOf(keeper)[:2] == (WAD, usd(56_000))
    assert ex18.market.capitalOf(alice) == usd(2_800) - 1 - fee
    assert ex18.market.capitalOf(keeper) == usd(20_000) + fee // 2
    assert ex18.market.insuranceFund() == insurance_before + fee // 2
    assert ex18.market.openInterest() == (WAD, WAD)


def test_liquidate__partial_keeps_margin_ratio(ex18, alice, bob, keeper):
    _open_long(ex18, alice, bob, usd(6_500))
    ex18.fund(keeper, 20_000 * WAD)
    ex18.set_price(56_000)
    value, (_, maintenance) = ex18.market.accountValue(alice), ex18.market.marginRequirements(alice)
    assert value < maintenance

    ex18.market.liquidate(alice, WAD // 4, sender=keeper)
    value_after, (_, maintenance_after) = ex18.market.accountValue(alice), ex18.market.marginRequirements(alice)
    assert ex18.market.positionOf(alice)[0] == 3 * WAD // 4
    # value / maintenance never falls: cross-multiplied to stay in integers.
    assert value_after * maintenance >= value * maintenance_after


def test_liquidate__healthy_liquidator_needed(ex18, alice, bob, carol):
    _open_long(ex18, alice, bob, usd(6_500))
    ex18.fund(carol, 1_000 * WAD)  # far too little to carry 1 BTC at 56k (5,600 initial)
    ex18.set_price(56_000)
    with ape.reverts(ex18.market.InsufficientMargin):
        ex18.market.liquidate(alice, WAD, sender=carol)


def test_liquidate__self_reverts(ex18, alice, bob):
    _open_long(ex18, alice, bob, usd(6_500))
    ex18.set_price(56_000)
    with ape.reverts(ex18.market.SelfLiquidation, account=alice.address):
        ex18.market.liquidate(alice, WAD, sender=alice)


def test_liquidate__through_a_second_account_does_not_profit(ex18, alice, bob, carol):
    """carol is alice's second account: the pair ends with less than it had."""
    _open_long(ex18, alice, bob, usd(6_500))
    ex18.fund(carol, 20_000 * WAD)
    ex18.set_price(56_000)
    before = ex18.market.accountValue(alice) + ex18.market.accountValue(carol)
    ex18.market.liquidate(alice, WAD, sender=carol)
    after = ex18.market.accountValue(alice) + ex18.market.accountValue(carol)
    fee = usd(560)
    assert after == before - (fee - fee // 2)


@pytest.mark.parametrize("amount", [0, WAD + 1])
def test_liquidate__bad_amount_reverts(ex18, alice, bob, keeper, amount):
    _open_long(ex18, alice, bob, usd(6_500))
    ex18.set_price(56_000)
    with ape.reverts(ex18.market.InvalidLiquidationAmount, amount=amount, size=WAD):
        ex18.market.liquidate(alice, amount, sender=keeper)


def test_liquidate__leaving_dust_reverts(ex18, alice, bob, keeper):
    _open_long(ex18, alice, bob, usd(6_500))
    ex18.fund(keeper, 20_000 * WAD)
    ex18.set_price(56_000)
    dust = WAD // 1000 - 1
    with ape.reverts(ex18.market.PositionBelowMinimum, account=alice.address, size=dust, minPositionSize=WAD // 1000):
        ex18.market.liquidate(alice, WAD - dust, sender=keeper)


def test_liquidate__stays_open_while_paused(ex18, alice, bob, keeper, guardian):
    _open_long(ex18, alice, bob, usd(6_500))
    ex18.fund(keeper, 20_000 * WAD)
    ex18.set_price(56_000)
    ex18.router.setPaused(ex18.market_id, True, sender=guardian)
    ex18.market.liquidate(alice, WAD, sender=keeper)
    assert ex18.market.positionOf(keeper)[0] == WAD


def _bad_debt_book(ex, alice, bob, carol, keeper):
    """alice long 1 BTC at 60k with 6,100 of capital; bob and carol short 0.5 each. A crash to
    48k leaves alice 5,900 below zero, far beyond the insurance fund (fees so far)."""
    ex.fund(alice, usd(6_100) + MAKER_FEE_1BTC_60K)
    ex.fund(bob, 20_000 * WAD)
    ex.fund(carol, 20_000 * WAD)
    ex.fund(keeper, 100_000 * WAD)
    buy = ex.order(alice, WAD, 60_000 * WAD)
    sells = [ex.order(t, -WAD // 2, 60_000 * WAD) for t in (bob, carol)]
    ex.router.settle(
        [ex.fill(buy, sells[0], WAD // 2, alice, bob), ex.fill(buy, sells[1], WAD // 2, alice, carol)],
        sender=ex.matcher,
    )
    ex.set_price(48_000)


def test_liquidate__bad_debt_beyond_insurance_is_socialised(ex18, alice, bob, carol, keeper):
    ex = ex18
    _bad_debt_book(ex, alice, bob, carol, keeper)
    insurance = ex.market.insuranceFund()
    assert insurance == MAKER_FEE_1BTC_60K + 2 * (TAKER_FEE_1BTC_60K // 2)  # 12 + 15 + 15
    assert ex.market.accountValue(alice) == usd(6_100) - usd(12_000)

    receipt = ex.market.liquidate(alice, WAD, sender=keeper)
    [bad] = receipt.events.filter(ex.market.BadDebt)
    assert (bad.account, bad.debt, bad.coveredByInsurance, bad.socialized) == (
        alice.address,
        usd(5_900),
        insurance,
        usd(5_900) - insurance,
    )
    assert ex.market.insuranceFund() == 0
    assert (ex.market.capitalOf(alice), ex.market.pnlOf(alice), ex.market.positionOf(alice)[0]) == (0, 0, 0)
    # Senior claims stay whole; the shorts' 12,000 of gains are now backed by 6,100 + 42.
    assert ex.market.vault() >= ex.market.capitalTotal() + ex.market.insuranceFund()

    # The keeper closes the shorts at 48k (it holds the long): their gains become junior PnL.
    for short in (bob, carol):
        ex.trade(keeper, short, -WAD // 2, 48_000 * WAD)
    positive = ex.market.pnlPosTotal()
    residual = ex.market.vault() - ex.market.capitalTotal() - ex.market.insuranceFund()
    assert residual < positive
    assert ex.market.badDebt() == usd(5_900) - insurance
    # the coverage of all positive PnL shows the loss at once; h, what withdrawals pay, once the
    # profit has matured (until then nothing of it can leave)
    assert ex.market.coverage() == residual * WAD // positive
    assert ex.market.haircut() == WAD
    _mature(ex, keeper, bob, carol)
    assert ex.market.haircut() == residual * WAD // positive


def _mature(ex, keeper, *accounts):
    """Wait out the warmup, then touch the accounts: their profit matures."""
    ex.chain.mine(1, timestamp=ex.chain.blocks.head.timestamp + ex.market.warmupPeriod() + 1)
    ex.market.touch([a.address for a in accounts], sender=keeper)


def test_withdraw__haircut_is_independent_of_withdrawal_order(chain, ex18, alice, bob, carol, keeper):
    ex = ex18
    _bad_debt_book(ex, alice, bob, carol, keeper)
    ex.market.liquidate(alice, WAD, sender=keeper)
    for short in (bob, carol):
        ex.trade(keeper, short, -WAD // 2, 48_000 * WAD)
    _mature(ex, keeper, bob, carol)
    h = ex.market.haircut()
    assert h < WAD

    def withdraw_all(account):
        amount = ex.market.capitalOf(account) + ex.market.pnlOf(account) * h // WAD
        ex.router.withdraw(ex.market_id, amount, sender=account)
        return amount

    snapshot = chain.snapshot()
    first = {a.address: withdraw_all(a) for a in (bob, carol)}
    h_after_first_order = ex.market.haircut()
    chain.restore(snapshot)
    second = {a.address: withdraw_all(a) for a in (carol, bob)}
    assert first == second
    assert ex.market.haircut() == h_after_first_order
    assert ex.token.balanceOf(ex.market) == ex.market.vault()


def test_liquidate__flat_account_refused_with_no_position(ex18, alice, keeper):
    ex18.fund(alice, usd(1_000))
    with ape.reverts(ex18.market.NoPosition, account=alice.address):
        ex18.market.liquidate(alice, WAD, sender=keeper)
