"""Collateral from the attacker's side: the seizure's rounding (CollateralPool._seizeOne, slither's
divide-before-multiply) goes against the liquidator, dust repayments take no unit, and tokens sent
straight to the pool are nobody's margin."""

import pytest

from tests.adversarial.conftest import usd
from tests.conftest import WAD
from tests.reverts import reverts
from tests.unit.collateral.conftest import MARKET_ID, deploy_collateral_exchange, deposit, fund, open_long, seize_one

WBTC_UNITS = 5 * 10**6  # 0.05 WBTC (8 decimals): 3,000 USD, 2,700 of margin at weight 0.9
UNIT_PRICE = 57_000 * WAD  # 60,000 less the 5 % discount, per whole WBTC


@pytest.fixture(scope="module")
def cx(project, chain, owner, make_exchange, make_feed, make_oracle):
    return deploy_collateral_exchange(project, chain, owner, make_exchange, make_feed, make_oracle)


@pytest.fixture
def wbtc_debt(cx, alice, bob, keeper):
    """alice: 600 of capital and 0.05 WBTC, long 0.5 BTC at 60,000; at 57,000 (value 1,800 <
    maintenance 2,280) the keeper liquidates her: flat, 900 of debt the WBTC backs."""
    wbtc = cx.collaterals["WBTC"]
    fund(cx, bob, usd(1_000_000))
    fund(cx, alice, usd(600))
    fund(cx, keeper, usd(100_000))
    deposit(cx, alice, wbtc, WBTC_UNITS)
    open_long(cx, alice, bob, WAD // 2)
    cx.set_price(57_000)
    cx.market.liquidate(alice, WAD // 2, sender=keeper)
    assert cx.market.pnlOf(alice) == -usd(900)
    return wbtc


def test_seize_collateral__rounding_goes_against_the_liquidator(cx, wbtc_debt, alice, keeper):
    """The keeper repays 1 USD + 1 wei: it gets the whole units that buys at the discounted price,
    rounded down (1,754 units of 1e-8 WBTC), and pays their cost rounded up (0.99978 USD): never a
    fraction of a unit for free. A repayment worth less than one unit (0.00057 USD) takes nothing."""
    wbtc = wbtc_debt
    receipt = cx.market.liquidateCollateral(alice, usd(1) + 1, sender=keeper)
    [seized] = receipt.events.filter(cx.pool.CollateralSeized)
    assert (seized.amount, seized.repaid) == seize_one(WBTC_UNITS, 10**10, 60_000 * WAD, 5 * WAD // 100, usd(1) + 1, False)
    assert (seized.amount, seized.repaid) == (1_754, usd("0.99978"))
    # what the keeper received, valued at the price it bought at, is at most what it paid
    assert seized.amount * 10**10 * UNIT_PRICE <= seized.repaid * WAD
    assert cx.market.capitalOf(keeper) == usd(100_000) - usd("0.99978")
    assert cx.market.pnlOf(alice) == -usd(900) + usd("0.99978")
    with reverts(cx.market.NothingToSeize, account=alice.address):
        cx.market.liquidateCollateral(alice, usd("0.00056"), sender=keeper)


def test_seize_collateral__clearing_sale_gives_at_most_one_unit_extra(cx, wbtc_debt, alice, keeper):
    """A sale that clears the whole debt rounds its last unit up and charges only the debt: the
    keeper's gain over the discounted price is below one unit (0.00057 USD), once per debt."""
    receipt = cx.market.liquidateCollateral(alice, 2**256 - 1, sender=keeper)
    [seized] = receipt.events.filter(cx.pool.CollateralSeized)
    assert seized.repaid == usd(900) and cx.market.pnlOf(alice) == 0
    value = seized.amount * 10**10 * UNIT_PRICE
    assert 0 <= value - seized.repaid * WAD < 10**10 * UNIT_PRICE


def test_donation_to_collateral_pool__is_nobodys_margin(cx, chain, alice, bob):
    """alice sends 1 WBTC straight to the pool: her balance, margin value and withdrawable amount
    are unchanged, and withdrawing one unit more than she deposited is refused."""
    wbtc = cx.collaterals["WBTC"]
    deposit(cx, alice, wbtc, WBTC_UNITS)
    before = (cx.pool.balanceOf(alice, wbtc.token), cx.pool.valueOf(alice), cx.market.accountValue(alice))
    wbtc.token.mint(alice, 10**8, sender=alice)
    wbtc.token.transfer(cx.pool, 10**8, sender=alice)
    assert (cx.pool.balanceOf(alice, wbtc.token), cx.pool.valueOf(alice), cx.market.accountValue(alice)) == before
    with reverts(cx.router.InsufficientCollateral, account=alice.address, token=wbtc.token.address, amount=WBTC_UNITS + 1, balance=WBTC_UNITS):
        cx.router.withdrawCollateral(MARKET_ID, wbtc.token, WBTC_UNITS + 1, sender=alice)
    cx.router.withdrawCollateral(MARKET_ID, wbtc.token, WBTC_UNITS, sender=alice)
    assert wbtc.token.balanceOf(alice) == WBTC_UNITS
