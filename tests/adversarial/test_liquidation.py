"""Liquidation from the attacker's side: liquidating yourself through a second account pays the
protocol's share of the fee (an honest close is cheaper), a healthy account at exactly maintenance
or one wei above it cannot be taken, and one account cannot be liquidated twice in one block."""

import pytest
from eth_abi import encode
from eth_utils import keccak

from tests.adversarial.conftest import BTC, in_one_block, revert_data, usd
from tests.conftest import WAD
from tests.reverts import reverts

CRASH = 56_000 * WAD
OPEN_FEE = usd(30)  # alice's taker fee on 1 BTC at 60,000


def _open_long(ex, ledger, alice, bob, capital):
    """alice buys 1 BTC at 60,000 from bob as taker and is left with `capital`."""
    ledger.deposit(alice, capital + OPEN_FEE)
    ledger.deposit(bob, usd(100_000))
    ex.trade(bob, alice, -WAD, BTC)
    assert ex.market.capitalOf(alice) == capital


def test_self_liquidation_through_second_account__pays_more_than_honest_close(ex, chain, ledger, alice, bob, carol):
    """At 56,000 alice (6,500 of capital, long 1 BTC from 60,000) is worth 2,500 < maintenance
    2,800. Closing honestly costs her the 28 taker fee; having her second account carol liquidate
    her costs the 560 fee, of which carol gets 280 back: the attacker ends 280 worse off, and
    carol's own close of the taken-over long costs the same 28 again."""
    m = ex.market
    _open_long(ex, ledger, alice, bob, usd(6_500))
    ledger.deposit(carol, usd(20_000))
    ex.set_price(56_000)
    assert m.accountValue(alice) == usd(2_500)
    with reverts(m.SelfLiquidation, account=alice.address):
        m.liquidate(alice, WAD, sender=alice)

    snapshot = chain.snapshot()
    ex.trade(bob, alice, WAD, CRASH)  # honest: alice sells her long to bob at the mark
    ledger.withdraw_capital(alice)
    ledger.withdraw_capital(carol)
    honest = ledger.net(alice, carol)
    assert honest == usd(2_500) - usd(28) - usd(6_530)
    chain.restore(snapshot)

    receipt = m.liquidate(alice, WAD, sender=carol)
    [event] = receipt.events.filter(m.Liquidation)
    assert (event.fee, event.liquidatorReward) == (usd(560), usd(280))
    ex.trade(bob, carol, WAD, CRASH)  # carol sells the long she took over, taker fee 28
    ledger.withdraw_capital(alice)
    ledger.withdraw_capital(carol)
    assert ledger.net(alice, carol) == honest - (usd(560) - usd(280))


@pytest.mark.parametrize("above", [0, 1])
def test_liquidate_healthy__at_maintenance_and_one_wei_above__not_liquidatable(ex, ledger, alice, bob, keeper, above):
    """At 56,000 alice's value is her maintenance 2,800 exactly (or one wei more): the attacker
    (keeper) gets NotLiquidatable with both figures, directly and in a batch (skipped)."""
    m = ex.market
    _open_long(ex, ledger, alice, bob, usd(6_800) + above)
    ledger.deposit(keeper, usd(20_000))
    ex.set_price(56_000)
    with reverts(m.NotLiquidatable, account=alice.address, accountValue=usd(2_800) + above, maintenance=usd(2_800)):
        m.liquidate(alice, WAD, sender=keeper)
    receipt = m.liquidateBatch([alice.address], [0], sender=keeper)
    [skip] = receipt.events.filter(m.LiquidationSkipped)
    assert (skip.account, skip.reason) == (alice.address, keccak(text="NotLiquidatable(address,int256,uint256)")[:4])
    assert m.positionOf(alice)[0] == WAD and m.capitalOf(keeper) == usd(20_000)


def test_double_liquidation_in_one_block__second_refused_one_reward(ex, chain, ledger, alice, bob, carol, keeper):
    """keeper and carol both liquidate alice (worth 2,500 at 56,000) in one block: the second gets
    NoPosition(alice); in a batch the repeat is skipped with NoPosition's selector. One fee,
    one reward (280), whoever comes first."""
    m = ex.market
    _open_long(ex, ledger, alice, bob, usd(6_500))
    for who in (keeper, carol):
        ledger.deposit(who, usd(20_000))
    ex.set_price(56_000)

    snapshot = chain.snapshot()
    first, second = in_one_block(
        chain,
        lambda _: m.liquidate(alice, WAD, sender=keeper, gas=1_000_000),
        lambda _: m.liquidate(alice, WAD, sender=carol, gas=1_000_000),
    )
    assert first.block_number == second.block_number
    assert not first.failed and second.failed
    no_position = keccak(text="NoPosition(address)")[:4]
    assert revert_data(chain, second.txn_hash) == "0x" + (no_position + encode(["address"], [alice.address])).hex()
    assert (m.capitalOf(keeper), m.capitalOf(carol)) == (usd(20_280), usd(20_000))
    chain.restore(snapshot)

    receipt = m.liquidateBatch([alice.address, alice.address], [0, 0], sender=keeper)
    [skip] = receipt.events.filter(m.LiquidationSkipped)
    assert (skip.account, skip.reason) == (alice.address, no_position)
    assert len(list(receipt.events.filter(m.Liquidation))) == 1
    assert (m.capitalOf(keeper), m.positionOf(keeper)[0]) == (usd(20_280), WAD)
