"""PerpGateway.executeWithdrawals: signed withdrawals through `router.withdrawFor`, paid to the
trader or to the signed recipient; every rule of a direct withdrawal holds, and a refused item is
skipped with nothing moving."""

import pytest

from perpkit.intents import signed_withdraw
from tests.conftest import WAD, ZERO_ADDRESS
from tests.unit.gateway.conftest import (
    BAD_SIGNATURE,
    EXPIRED,
    INSUFFICIENT_CAPITAL,
    INSUFFICIENT_MARGIN,
    MARKET_PAUSED,
    NO_ALLOWANCE,
    NONCE_USED,
    NOT_AUTHORIZED,
    SCALE,
    USDC,
    WALLET,
    ZERO_ADDRESS_ERR,
    malleate,
    outcomes,
    reverts,
    withdraw_item,
)

MARGIN = 10_000 * USDC  # deposited by alice and bob in `wx`
PRICE = 60_000 * WAD
MAKER_FEE = 12 * USDC  # 2 bp of 60,000


@pytest.fixture(scope="module")
def wx(gx, alice, bob):
    """`gx` with MARGIN of capital for alice and bob (deposited directly)."""
    for trader in (alice, bob):
        gx.token.approve(gx.router, MARGIN, sender=trader)
        gx.router.deposit(gx.market_id, MARGIN, sender=trader)
    return gx


pytestmark = pytest.mark.usefixtures("wx")


def _state(wx, *accounts):
    return (
        wx.token.balanceOf(wx.market),
        wx.token.balanceOf(wx.gateway),
        wx.market.vault(),
        wx.market.capitalTotal(),
        *(wx.market.capitalOf(a) for a in accounts),
        *(wx.token.balanceOf(a) for a in accounts),
    )


def _run(wx, items, sender):
    return wx.gateway.executeWithdrawals(items, sender=sender)


def _assert_skipped_alone(wx, item, digest, reason, intent, relayer, *watch):
    before = _state(wx, intent.trader, *watch)
    receipt = _run(wx, [item], relayer)
    assert outcomes(wx, receipt) == [("skipped", digest, reason)]
    assert _state(wx, intent.trader, *watch) == before
    assert wx.gateway.nonceUsed(intent.trader, intent.nonce) is False


# ---------------------------------------------------------------- success


def test_executeWithdrawals__pays_each_trader_and_emits(wx, alice, bob, keeper):
    a, ia, da = withdraw_item(wx, alice, 1_000 * USDC)
    b, ib, db = withdraw_item(wx, bob, MARGIN)
    receipt = _run(wx, [ia, ib], keeper)

    assert outcomes(wx, receipt) == [("executed", da), ("executed", db)]
    assert wx.market.capitalOf(alice) == 9_000 * USDC * SCALE
    assert wx.market.capitalOf(bob) == 0
    assert wx.token.balanceOf(alice) == WALLET - MARGIN + 1_000 * USDC
    assert wx.token.balanceOf(bob) == WALLET
    assert wx.token.balanceOf(wx.market) == 9_000 * USDC
    assert wx.market.vault() == wx.market.capitalTotal() == 9_000 * USDC * SCALE
    assert wx.token.balanceOf(wx.gateway) == 0
    assert wx.gateway.nonceUsed(alice, a.nonce) and wx.gateway.nonceUsed(bob, b.nonce)
    [wa, wb] = receipt.events.filter(wx.market.Withdraw)
    assert (wa["account"], wa["to"], wa["amount"]) == (alice.address, alice.address, 1_000 * USDC)
    assert (wb["account"], wb["to"], wb["amount"]) == (bob.address, bob.address, MARGIN)


def test_executeWithdrawals__pays_the_signed_recipient(wx, alice, carol, keeper):
    _, item, digest = withdraw_item(wx, alice, 1_000 * USDC, to=carol)
    assert outcomes(wx, _run(wx, [item], keeper)) == [("executed", digest)]
    assert wx.token.balanceOf(carol) == 1_000 * USDC
    assert wx.token.balanceOf(alice) == WALLET - MARGIN
    assert wx.market.capitalOf(alice) == 9_000 * USDC * SCALE
    assert wx.token.balanceOf(wx.gateway) == 0


def test_executeWithdrawals__recipient_without_token_allowance_skipped(wx, alice, carol, keeper):
    wx.token.approve(wx.gateway, 0, sender=alice)
    intent, item, digest = withdraw_item(wx, alice, 1_000 * USDC, to=carol)
    _assert_skipped_alone(wx, item, digest, NO_ALLOWANCE, intent, keeper, carol)


def test_executeWithdrawals__operator_signed_intent_executes(wx, alice, carol, keeper):
    wx.router.setOperator(carol, True, sender=alice)
    _, item, digest = withdraw_item(wx, alice, 1_000 * USDC, signer=carol)
    assert outcomes(wx, _run(wx, [item], keeper)) == [("executed", digest)]
    assert wx.token.balanceOf(alice) == WALLET - MARGIN + 1_000 * USDC
    assert wx.token.balanceOf(carol) == 0


def test_executeWithdrawals__erc1271_wallet_signature_accepted(project, accounts, chain, wx, carol, keeper):
    wallet = carol.deploy(project.MockERC1271Wallet, carol)
    as_wallet = accounts.impersonate_account(wallet.address)
    chain.provider.set_balance(wallet.address, 10**18)
    wx.token.mint(wallet, MARGIN, sender=keeper)
    wallet.deposit(wx.router, wx.token, wx.market_id, MARGIN, sender=carol)
    wx.router.setOperator(wx.gateway, True, sender=as_wallet)
    _, item, digest = withdraw_item(wx, wallet.address, 400 * USDC, signer=carol)
    assert outcomes(wx, _run(wx, [item], keeper)) == [("executed", digest)]
    assert wx.token.balanceOf(wallet) == 400 * USDC
    assert wx.market.capitalOf(wallet) == (MARGIN - 400 * USDC) * SCALE


def test_executeWithdrawals__with_position_within_margin_executes(wx, alice, bob, keeper):
    wx.trade(alice, bob, WAD, PRICE)  # alice long 1 BTC: initial margin 6,000
    _, item, digest = withdraw_item(wx, alice, 3_000 * USDC)
    assert outcomes(wx, _run(wx, [item], keeper)) == [("executed", digest)]
    assert wx.market.capitalOf(alice) == (MARGIN - MAKER_FEE - 3_000 * USDC) * SCALE


# ---------------------------------------------------------------- rules of a direct withdrawal


def test_executeWithdrawals__breaking_initial_margin_skipped(wx, alice, bob, keeper):
    wx.trade(alice, bob, WAD, PRICE)
    intent, item, digest = withdraw_item(wx, alice, 5_000 * USDC)  # would leave 4,988 < 6,000
    _assert_skipped_alone(wx, item, digest, INSUFFICIENT_MARGIN, intent, keeper)
    assert wx.market.positionOf(alice)[0] == WAD


def test_executeWithdrawals__more_than_capital_skipped(wx, alice, keeper):
    intent, item, digest = withdraw_item(wx, alice, MARGIN + 1)
    _assert_skipped_alone(wx, item, digest, INSUFFICIENT_CAPITAL, intent, keeper)


def test_executeWithdrawals__paused_market_with_position_skipped_flat_account_leaves(wx, alice, bob, carol, keeper,
                                                                                     guardian, owner):
    wx.token.mint(carol, MARGIN, sender=carol)
    wx.token.approve(wx.router, MARGIN, sender=carol)
    wx.router.deposit(wx.market_id, MARGIN, sender=carol)
    wx.router.setOperator(wx.gateway, True, sender=carol)
    wx.trade(alice, bob, WAD, PRICE)
    wx.router.setPaused(wx.market_id, True, sender=guardian)
    _, held, dh = withdraw_item(wx, alice, USDC)
    _, flat, df = withdraw_item(wx, carol, MARGIN)
    receipt = _run(wx, [held, flat], keeper)
    assert outcomes(wx, receipt) == [("skipped", dh, MARKET_PAUSED), ("executed", df)]
    assert wx.market.capitalOf(alice) == (MARGIN - MAKER_FEE) * SCALE
    assert wx.token.balanceOf(carol) == MARGIN


def test_executeWithdrawals__gateway_not_operator_skipped(wx, alice, keeper):
    wx.router.setOperator(wx.gateway, False, sender=alice)
    intent, item, digest = withdraw_item(wx, alice, USDC)
    _assert_skipped_alone(wx, item, digest, NOT_AUTHORIZED, intent, keeper)


# ---------------------------------------------------------------- refused intents


def test_executeWithdrawals__expired_skipped(wx, alice, keeper):
    intent, item, digest = withdraw_item(wx, alice, USDC, expires=wx.chain.blocks.head.timestamp + 10)
    wx.chain.pending_timestamp = wx.chain.blocks.head.timestamp + 11
    _assert_skipped_alone(wx, item, digest, EXPIRED, intent, keeper)


def test_executeWithdrawals__replayed_intent_skipped(wx, alice, keeper):
    _, item, digest = withdraw_item(wx, alice, USDC)
    assert outcomes(wx, _run(wx, [item, item], keeper)) == [("executed", digest), ("skipped", digest, NONCE_USED)]
    assert outcomes(wx, _run(wx, [item], keeper)) == [("skipped", digest, NONCE_USED)]
    assert wx.market.capitalOf(alice) == (MARGIN - USDC) * SCALE


def test_executeWithdrawals__signature_for_other_chain_skipped(wx, alice, keeper):
    intent, item, digest = withdraw_item(wx, alice, USDC, chain_id=1)
    _assert_skipped_alone(wx, item, digest, BAD_SIGNATURE, intent, keeper)


def test_executeWithdrawals__signature_for_other_gateway_skipped(project, owner, wx, alice, keeper):
    other = owner.deploy(project.PerpGateway, wx.router)
    intent, item, digest = withdraw_item(wx, alice, USDC, gateway=other.address)
    _assert_skipped_alone(wx, item, digest, BAD_SIGNATURE, intent, keeper)


def test_executeWithdrawals__recipient_changed_after_signing_skipped(wx, alice, carol, dave, keeper):
    intent, item, _ = withdraw_item(wx, alice, USDC, to=carol)
    forged, forged_item, forged_digest = withdraw_item(wx, alice, USDC, to=dave, nonce=intent.nonce, signature=item[1])
    _assert_skipped_alone(wx, forged_item, forged_digest, BAD_SIGNATURE, forged, keeper, dave)


def test_executeWithdrawals__stranger_or_revoked_operator_skipped(wx, alice, carol, keeper):
    wx.router.setOperator(carol, True, sender=alice)
    wx.router.setOperator(carol, False, sender=alice)
    intent, item, digest = withdraw_item(wx, alice, USDC, signer=carol)
    _assert_skipped_alone(wx, item, digest, BAD_SIGNATURE, intent, keeper)


def test_executeWithdrawals__malleated_signature_skipped(wx, alice, keeper):
    intent, item, digest = withdraw_item(wx, alice, USDC)
    _assert_skipped_alone(wx, signed_withdraw(intent, malleate(item[1])), digest, BAD_SIGNATURE, intent, keeper)


def test_executeWithdrawals__zero_recipient_skipped(wx, alice, keeper):
    intent, item, digest = withdraw_item(wx, alice, USDC, to=ZERO_ADDRESS)
    _assert_skipped_alone(wx, item, digest, ZERO_ADDRESS_ERR, intent, keeper)


def test_executeWithdrawals__cancelled_nonce_skipped(wx, alice, keeper):
    intent, item, digest = withdraw_item(wx, alice, USDC)
    wx.gateway.cancelNonce(intent.nonce, sender=alice)
    before = _state(wx, alice)
    assert outcomes(wx, _run(wx, [item], keeper)) == [("skipped", digest, NONCE_USED)]
    assert _state(wx, alice) == before


def test_executeWithdrawals__mixed_batch(wx, alice, bob, carol, keeper):
    wx.trade(alice, bob, WAD, PRICE)
    _, ok_b, d1 = withdraw_item(wx, bob, 2_000 * USDC)
    _, margin, d2 = withdraw_item(wx, alice, 5_000 * USDC)
    _, ok_a, d3 = withdraw_item(wx, alice, 1_000 * USDC, to=carol)
    receipt = _run(wx, [ok_b, margin, ok_a], keeper)
    assert outcomes(wx, receipt) == [("executed", d1), ("skipped", d2, INSUFFICIENT_MARGIN), ("executed", d3)]
    assert wx.token.balanceOf(carol) == 1_000 * USDC
    assert wx.market.capitalOf(alice) == (MARGIN - MAKER_FEE - 1_000 * USDC) * SCALE
    assert wx.token.balanceOf(wx.market) == 2 * MARGIN - 3_000 * USDC + 0  # fees stay in the market


def test_executeWithdrawals__empty_batch_reverts(wx, keeper):
    with reverts(wx.gateway.EmptyBatch):
        _run(wx, [], keeper)


def test_withdrawOneTo__outside_the_gateway_reverts(wx, alice, carol):
    with reverts(wx.gateway.OnlyGateway, caller=alice.address):
        wx.gateway.withdrawOneTo(wx.token, wx.market_id, alice, USDC, carol, sender=alice)
    assert wx.market.capitalOf(alice) == MARGIN * SCALE
