"""PerpRouter collateral: deposit, depositFor, withdraw, withdrawFor; exact token movements and events."""

import pytest

from tests.conftest import FEED_DECIMALS, WAD, ZERO_ADDRESS, funding_params, market_params
from tests.unit.router.conftest import USDC, reverts

pytestmark = pytest.mark.usefixtures("ex")

AMOUNT = 1_234_567_891  # 1,234.567891 USDC: every digit of the 6 decimals matters
SCALE = 10**12  # USDC (6 decimals) to WAD


def _mint_and_approve(ex, account, amount, token=None):
    token = token or ex.token
    token.mint(account, amount, sender=account)
    token.approve(ex.router, amount, sender=account)


def _market_state(ex, *accounts):
    return (
        ex.token.balanceOf(ex.market),
        ex.market.vault(),
        ex.market.capitalTotal(),
        *(ex.market.capitalOf(a) for a in accounts),
        *(ex.token.balanceOf(a) for a in accounts),
    )


# ---------------------------------------------------------------- deposit


def test_deposit__moves_tokens_and_credits_capital(ex, alice):
    _mint_and_approve(ex, alice, AMOUNT + 5)
    receipt = ex.router.deposit(0, AMOUNT, sender=alice)

    assert ex.token.balanceOf(alice) == 5
    assert ex.token.balanceOf(ex.market) == AMOUNT
    assert ex.token.balanceOf(ex.router) == 0
    assert ex.market.capitalOf(alice) == AMOUNT * SCALE
    assert (ex.market.vault(), ex.market.capitalTotal()) == (AMOUNT * SCALE, AMOUNT * SCALE)
    assert ex.token.allowance(alice, ex.router) == 5
    [event] = receipt.events.filter(ex.market.Deposit)
    assert (event["account"], event["payer"], event["amount"], event["wad"]) == (
        alice.address,
        alice.address,
        AMOUNT,
        AMOUNT * SCALE,
    )


def test_deposit__adds_to_existing_capital(ex, alice):
    _mint_and_approve(ex, alice, 3 * USDC)
    ex.router.deposit(0, USDC, sender=alice)
    ex.router.deposit(0, 2 * USDC, sender=alice)
    assert ex.market.capitalOf(alice) == 3 * WAD
    assert ex.token.balanceOf(ex.market) == 3 * USDC


def test_deposit__zero_amount_reverts(ex, alice):
    _mint_and_approve(ex, alice, USDC)
    with reverts(ex.router.ZeroAmount):
        ex.router.deposit(0, 0, sender=alice)


def test_deposit__without_allowance_reverts(ex, alice):
    ex.token.mint(alice, AMOUNT, sender=alice)
    with reverts(ex.router.ERC20InsufficientAllowance, spender=ex.router.address, allowance=0, needed=AMOUNT):
        ex.router.deposit(0, AMOUNT, sender=alice)
    assert ex.token.balanceOf(alice) == AMOUNT
    assert ex.market.capitalOf(alice) == 0


def test_deposit__more_than_balance_reverts(ex, alice):
    _mint_and_approve(ex, alice, AMOUNT)
    ex.token.approve(ex.router, AMOUNT + 1, sender=alice)
    with reverts(ex.router.ERC20InsufficientBalance, sender=alice.address, balance=AMOUNT, needed=AMOUNT + 1):
        ex.router.deposit(0, AMOUNT + 1, sender=alice)


# ---------------------------------------------------------------- depositFor


def test_depositFor__credits_account_and_charges_caller(ex, alice, bob):
    _mint_and_approve(ex, alice, AMOUNT)
    receipt = ex.router.depositFor(0, bob, AMOUNT, sender=alice)

    assert ex.token.balanceOf(alice) == 0
    assert ex.token.balanceOf(bob) == 0
    assert ex.token.balanceOf(ex.market) == AMOUNT
    assert (ex.market.capitalOf(bob), ex.market.capitalOf(alice)) == (AMOUNT * SCALE, 0)
    [event] = receipt.events.filter(ex.market.Deposit)
    assert (event["account"], event["payer"], event["amount"], event["wad"]) == (
        bob.address,
        alice.address,
        AMOUNT,
        AMOUNT * SCALE,
    )


def test_depositFor__zero_account_reverts(ex, alice):
    _mint_and_approve(ex, alice, USDC)
    with reverts(ex.router.ZeroAddress):
        ex.router.depositFor(0, ZERO_ADDRESS, USDC, sender=alice)
    assert ex.token.balanceOf(alice) == USDC


def test_depositFor__zero_amount_reverts(ex, alice, bob):
    with reverts(ex.router.ZeroAmount):
        ex.router.depositFor(0, bob, 0, sender=alice)


# ---------------------------------------------------------------- withdraw


def test_withdraw__pays_caller_and_debits_capital(ex, alice):
    ex.fund(alice, AMOUNT)
    receipt = ex.router.withdraw(0, 400 * USDC, sender=alice)

    left = AMOUNT - 400 * USDC
    assert ex.token.balanceOf(alice) == 400 * USDC
    assert ex.token.balanceOf(ex.market) == left
    assert ex.market.capitalOf(alice) == left * SCALE
    assert (ex.market.vault(), ex.market.capitalTotal()) == (left * SCALE, left * SCALE)
    [event] = receipt.events.filter(ex.market.Withdraw)
    assert (event["account"], event["to"], event["amount"], event["wad"]) == (
        alice.address,
        alice.address,
        400 * USDC,
        400 * WAD,
    )


def test_withdraw__all_capital_leaves_market_empty(ex, alice):
    ex.fund(alice, AMOUNT)
    ex.router.withdraw(0, AMOUNT, sender=alice)
    assert ex.token.balanceOf(alice) == AMOUNT
    assert _market_state(ex, alice)[:4] == (0, 0, 0, 0)


def test_withdraw__more_than_capital_reverts(ex, alice):
    ex.fund(alice, AMOUNT)
    with reverts(
        ex.router.InsufficientCapital, account=alice.address, amount=(AMOUNT + 1) * SCALE, available=AMOUNT * SCALE
    ):
        ex.router.withdraw(0, AMOUNT + 1, sender=alice)
    assert ex.market.capitalOf(alice) == AMOUNT * SCALE


def test_withdraw__other_accounts_capital_unreachable(ex, alice, bob):
    ex.fund(alice, AMOUNT)
    with reverts(ex.router.InsufficientCapital, account=bob.address, amount=WAD, available=0):
        ex.router.withdraw(0, USDC, sender=bob)
    assert ex.token.balanceOf(ex.market) == AMOUNT


def test_withdraw__zero_amount_reverts(ex, alice):
    ex.fund(alice, AMOUNT)
    with reverts(ex.router.ZeroAmount):
        ex.router.withdraw(0, 0, sender=alice)


def test_withdraw__flat_account_with_stale_oracle_succeeds(ex, owner, alice, chain):
    ex.fund(alice, AMOUNT)
    stale = chain.pending_timestamp - 86_401
    ex.feed.updateRoundData(9, 60_000 * 10**FEED_DECIMALS, stale, stale, sender=owner)
    assert ex.oracle.tryPrice() == (False, 0)
    ex.router.withdraw(0, AMOUNT, sender=alice)
    assert ex.token.balanceOf(alice) == AMOUNT
    assert ex.market.capitalOf(alice) == 0


# ---------------------------------------------------------------- withdrawFor


def test_withdrawFor__non_operator_reverts(ex, alice, carol):
    ex.fund(alice, AMOUNT)
    with reverts(ex.router.NotAuthorized, caller=carol.address, account=alice.address):
        ex.router.withdrawFor(0, alice, USDC, sender=carol)
    assert ex.market.capitalOf(alice) == AMOUNT * SCALE


def test_withdrawFor__account_itself_without_approval_reverts(ex, alice):
    ex.fund(alice, AMOUNT)
    with reverts(ex.router.NotAuthorized, caller=alice.address, account=alice.address):
        ex.router.withdrawFor(0, alice, USDC, sender=alice)


def test_withdrawFor__operator_withdraw_pays_the_account(ex, alice, carol):
    ex.fund(alice, AMOUNT)
    ex.router.setOperator(carol, True, sender=alice)
    carol_before = ex.token.balanceOf(carol)

    receipt = ex.router.withdrawFor(0, alice, 300 * USDC, sender=carol)

    assert ex.token.balanceOf(alice) == 300 * USDC
    assert ex.token.balanceOf(carol) == carol_before
    assert ex.token.balanceOf(ex.market) == AMOUNT - 300 * USDC
    assert ex.market.capitalOf(alice) == (AMOUNT - 300 * USDC) * SCALE
    [event] = receipt.events.filter(ex.market.Withdraw)
    assert (event["account"], event["to"], event["amount"], event["wad"]) == (
        alice.address,
        alice.address,
        300 * USDC,
        300 * WAD,
    )


def test_withdrawFor__revoked_operator_reverts(ex, alice, carol):
    ex.fund(alice, AMOUNT)
    ex.router.setOperator(carol, True, sender=alice)
    ex.router.setOperator(carol, False, sender=alice)
    with reverts(ex.router.NotAuthorized, caller=carol.address, account=alice.address):
        ex.router.withdrawFor(0, alice, USDC, sender=carol)


def test_withdrawFor__operator_of_another_account_reverts(ex, alice, bob, carol):
    ex.fund(alice, AMOUNT)
    ex.router.setOperator(carol, True, sender=bob)
    with reverts(ex.router.NotAuthorized, caller=carol.address, account=alice.address):
        ex.router.withdrawFor(0, alice, USDC, sender=carol)


def test_withdrawFor__zero_amount_reverts(ex, alice, carol):
    ex.fund(alice, AMOUNT)
    ex.router.setOperator(carol, True, sender=alice)
    with reverts(ex.router.ZeroAmount):
        ex.router.withdrawFor(0, alice, 0, sender=carol)


def test_withdrawFor__more_than_capital_reverts(ex, alice, carol):
    ex.fund(alice, AMOUNT)
    ex.router.setOperator(carol, True, sender=alice)
    with reverts(
        ex.router.InsufficientCapital, account=alice.address, amount=(AMOUNT + 1) * SCALE, available=AMOUNT * SCALE
    ):
        ex.router.withdrawFor(0, alice, AMOUNT + 1, sender=carol)


# ---------------------------------------------------------------- other collateral tokens


def _second_market(ex, owner, token):
    ex.router.createMarket(token, ex.oracle, market_params(), funding_params(), sender=owner)
    return ex.router.marketCount() - 1


def test_deposit__18_decimal_collateral_is_wad_one_to_one(project, ex, owner, alice, make_token):
    token = make_token("Frax", "FRAX", 18)
    market_id = _second_market(ex, owner, token)
    market = project.PerpMarket.at(ex.router.markets(market_id))
    amount = 1_500 * WAD + 1
    _mint_and_approve(ex, alice, amount, token)

    receipt = ex.router.deposit(market_id, amount, sender=alice)

    assert market.capitalOf(alice) == amount
    assert token.balanceOf(market) == amount
    [event] = receipt.events.filter(market.Deposit)
    assert (event["amount"], event["wad"]) == (amount, amount)
    ex.router.withdraw(market_id, 1, sender=alice)
    assert (token.balanceOf(alice), market.capitalOf(alice)) == (1, amount - 1)


def test_deposit__fee_on_transfer_token_credits_what_arrived(project, ex, owner, alice):
    token = owner.deploy(project.MockFeeOnTransferERC20, "Fee USD", "FUSD", 6)
    market_id = _second_market(ex, owner, token)
    market = project.PerpMarket.at(ex.router.markets(market_id))
    _mint_and_approve(ex, alice, 1_000 * USDC, token)

    receipt = ex.router.deposit(market_id, 1_000 * USDC, sender=alice)

    arrived = 990 * USDC  # 1 % burnt on the way in
    assert token.balanceOf(alice) == 0
    assert token.balanceOf(market) == arrived
    assert market.capitalOf(alice) == arrived * SCALE
    assert market.vault() == token.balanceOf(market) * SCALE
    [event] = receipt.events.filter(market.Deposit)
    assert (event["account"], event["payer"], event["amount"], event["wad"]) == (
        alice.address,
        alice.address,
        arrived,
        arrived * SCALE,
    )

    ex.router.withdraw(market_id, arrived, sender=alice)
    assert token.balanceOf(alice) == 980_100_000  # 1 % burnt again on the way out
    assert (token.balanceOf(market), market.vault(), market.capitalOf(alice)) == (0, 0, 0)


def test_depositFor__fee_on_transfer_token_credits_what_arrived(project, ex, owner, alice, bob):
    token = owner.deploy(project.MockFeeOnTransferERC20, "Fee USD", "FUSD", 6)
    market_id = _second_market(ex, owner, token)
    market = project.PerpMarket.at(ex.router.markets(market_id))
    _mint_and_approve(ex, alice, 777, token)

    ex.router.depositFor(market_id, bob, 777, sender=alice)

    # 777 * 1 % = 7.77, rounded down to a 7-unit fee: 770 arrive.
    assert token.balanceOf(market) == 770
    assert market.capitalOf(bob) == 770 * SCALE
    assert market.vault() == 770 * SCALE
