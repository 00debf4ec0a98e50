"""PerpGateway.executeDeposits: signed deposits in a batch, permits, and every skip reason with
nothing of the skipped item moving."""

import pytest

from perpkit.intents import sign_intent, signed_deposit
from tests.conftest import ZERO_ADDRESS
from tests.unit.gateway.conftest import (
    BAD_SIGNATURE,
    EXPIRED,
    NO_ALLOWANCE,
    NO_BALANCE,
    NONCE_USED,
    SCALE,
    UNKNOWN_MARKET,
    USDC,
    WALLET,
    ZERO_AMOUNT,
    deposit_item,
    malleate,
    outcomes,
    permit_for,
    reverts,
)

pytestmark = pytest.mark.usefixtures("gx")

AMOUNT = 1_234_567_891  # 1,234.567891 USDC


def _state(gx, *accounts):
    return (
        gx.token.balanceOf(gx.market),
        gx.token.balanceOf(gx.gateway),
        gx.market.vault(),
        gx.market.capitalTotal(),
        *(gx.market.capitalOf(a) for a in accounts),
        *(gx.token.balanceOf(a) for a in accounts),
    )


def _run(gx, items, sender):
    return gx.gateway.executeDeposits(items, sender=sender)


def _assert_skipped_alone(gx, item, digest, reason, trader, relayer, intent):
    before = _state(gx, trader)
    receipt = _run(gx, [item], relayer)
    assert outcomes(gx, receipt) == [("skipped", digest, reason)]
    assert _state(gx, trader) == before
    assert gx.gateway.nonceUsed(trader, intent.nonce) is False


# ---------------------------------------------------------------- success


def test_executeDeposits__credits_each_trader_and_emits(gx, alice, bob, keeper):
    a, a_item, a_digest = deposit_item(gx, alice, AMOUNT)
    b, b_item, b_digest = deposit_item(gx, bob, 7 * USDC)
    receipt = _run(gx, [a_item, b_item], keeper)

    assert outcomes(gx, receipt) == [("executed", a_digest), ("executed", b_digest)]
    assert gx.market.capitalOf(alice) == AMOUNT * SCALE
    assert gx.market.capitalOf(bob) == 7 * USDC * SCALE
    assert gx.token.balanceOf(alice) == WALLET - AMOUNT
    assert gx.token.balanceOf(bob) == WALLET - 7 * USDC
    assert gx.token.balanceOf(gx.market) == AMOUNT + 7 * USDC
    assert gx.market.vault() == gx.market.capitalTotal() == (AMOUNT + 7 * USDC) * SCALE
    assert gx.token.balanceOf(gx.gateway) == 0
    assert gx.token.balanceOf(keeper) == 0
    assert gx.gateway.nonceUsed(alice, a.nonce) and gx.gateway.nonceUsed(bob, b.nonce)
    [dep_a, dep_b] = receipt.events.filter(gx.market.Deposit)
    assert (dep_a["account"], dep_a["payer"], dep_a["amount"]) == (alice.address, gx.gateway.address, AMOUNT)
    assert (dep_b["account"], dep_b["amount"]) == (bob.address, 7 * USDC)


def test_executeDeposits__gateway_dust_stays_put(gx, alice, keeper):
    gx.token.mint(gx.gateway, 1, sender=keeper)
    _, item, digest = deposit_item(gx, alice, AMOUNT)
    assert outcomes(gx, _run(gx, [item], keeper)) == [("executed", digest)]
    assert gx.token.balanceOf(gx.gateway) == 1
    assert gx.market.capitalOf(alice) == AMOUNT * SCALE


def test_executeDeposits__operator_signed_intent_executes(gx, alice, carol, keeper):
    gx.router.setOperator(carol, True, sender=alice)
    _, item, digest = deposit_item(gx, alice, AMOUNT, signer=carol)
    assert outcomes(gx, _run(gx, [item], keeper)) == [("executed", digest)]
    assert gx.market.capitalOf(alice) == AMOUNT * SCALE
    assert gx.market.capitalOf(carol) == 0


def test_executeDeposits__nonces_in_any_order(gx, alice, keeper):
    items = [deposit_item(gx, alice, USDC, nonce=n) for n in (700, 3, 256, 255)]
    receipt = _run(gx, [i for _, i, _ in items], keeper)
    assert outcomes(gx, receipt) == [("executed", d) for _, _, d in items]
    assert all(gx.gateway.nonceUsed(alice, n) for n in (700, 3, 256, 255))
    assert not gx.gateway.nonceUsed(alice, 4)
    assert gx.gateway.nonceBitmap(alice, 0) == (1 << 3) | (1 << 255)
    assert gx.gateway.nonceBitmap(alice, 1) == 1
    assert gx.gateway.nonceBitmap(alice, 2) == 1 << (700 - 512)
    assert gx.market.capitalOf(alice) == 4 * USDC * SCALE


def test_executeDeposits__erc1271_wallet_signature_accepted(project, accounts, chain, gx, carol, keeper):
    wallet = carol.deploy(project.MockERC1271Wallet, carol)
    as_wallet = accounts.impersonate_account(wallet.address)
    chain.provider.set_balance(wallet.address, 10**18)
    gx.token.mint(wallet, AMOUNT, sender=keeper)
    gx.token.approve(gx.gateway, AMOUNT, sender=as_wallet)
    _, item, digest = deposit_item(gx, wallet.address, AMOUNT, signer=carol)
    assert outcomes(gx, _run(gx, [item], keeper)) == [("executed", digest)]
    assert gx.market.capitalOf(wallet) == AMOUNT * SCALE
    assert gx.token.balanceOf(wallet) == 0


# ---------------------------------------------------------------- permits


def test_executeDeposits__permit_sets_allowance_and_deposits(gx, carol, keeper):
    gx.token.mint(carol, AMOUNT, sender=carol)
    permit = permit_for(gx, carol, AMOUNT)
    _, item, digest = deposit_item(gx, carol, AMOUNT, permit=permit)
    assert outcomes(gx, _run(gx, [item], keeper)) == [("executed", digest)]
    assert gx.market.capitalOf(carol) == AMOUNT * SCALE
    assert gx.token.balanceOf(carol) == 0
    assert gx.token.allowance(carol, gx.gateway) == 0
    assert gx.token.nonces(carol) == 1


def test_executeDeposits__front_run_permit_does_not_block(gx, carol, keeper, dave):
    gx.token.mint(carol, AMOUNT, sender=carol)
    permit = permit_for(gx, carol, AMOUNT)
    # Someone submits the permit first: it is consumed, the allowance is set.
    gx.token.permit(carol, gx.gateway, *permit, sender=dave)
    _, item, digest = deposit_item(gx, carol, AMOUNT, permit=permit)
    assert outcomes(gx, _run(gx, [item], keeper)) == [("executed", digest)]
    assert gx.market.capitalOf(carol) == AMOUNT * SCALE
    assert gx.token.nonces(carol) == 1


def test_executeDeposits__failed_permit_without_allowance_skipped(gx, carol, keeper):
    gx.token.mint(carol, AMOUNT, sender=carol)
    permit = permit_for(gx, carol, AMOUNT, nonce=5)  # wrong permit nonce: the permit reverts
    intent, item, digest = deposit_item(gx, carol, AMOUNT, permit=permit)
    _assert_skipped_alone(gx, item, digest, NO_ALLOWANCE, carol, keeper, intent)
    assert gx.token.allowance(carol, gx.gateway) == 0


# ---------------------------------------------------------------- skipped items


def test_executeDeposits__expired_skipped(gx, alice, keeper):
    intent, item, digest = deposit_item(gx, alice, AMOUNT, expires=gx.chain.blocks.head.timestamp + 10)
    gx.chain.pending_timestamp = gx.chain.blocks.head.timestamp + 11
    _assert_skipped_alone(gx, item, digest, EXPIRED, alice, keeper, intent)


def test_executeDeposits__deadline_is_inclusive(gx, alice, keeper):
    _, item, digest = deposit_item(gx, alice, AMOUNT, expires=gx.chain.blocks.head.timestamp + 10)
    gx.chain.pending_timestamp = gx.chain.blocks.head.timestamp + 10
    assert outcomes(gx, _run(gx, [item], keeper)) == [("executed", digest)]


def test_executeDeposits__same_intent_twice_second_skipped(gx, alice, keeper):
    _, item, digest = deposit_item(gx, alice, AMOUNT)
    receipt = _run(gx, [item, item], keeper)
    assert outcomes(gx, receipt) == [("executed", digest), ("skipped", digest, NONCE_USED)]
    assert gx.market.capitalOf(alice) == AMOUNT * SCALE
    # and again in a later batch
    assert outcomes(gx, _run(gx, [item], keeper)) == [("skipped", digest, NONCE_USED)]
    assert gx.market.capitalOf(alice) == AMOUNT * SCALE


def test_executeDeposits__other_intent_with_used_nonce_skipped(gx, alice, keeper):
    _, first, d1 = deposit_item(gx, alice, AMOUNT, nonce=42)
    intent, second, d2 = deposit_item(gx, alice, 5 * USDC, nonce=42)
    assert outcomes(gx, _run(gx, [first, second], keeper)) == [("executed", d1), ("skipped", d2, NONCE_USED)]
    assert gx.market.capitalOf(alice) == AMOUNT * SCALE


def test_executeDeposits__signature_for_other_chain_skipped(gx, alice, keeper):
    intent, item, digest = deposit_item(gx, alice, AMOUNT, chain_id=1)
    _assert_skipped_alone(gx, item, digest, BAD_SIGNATURE, alice, keeper, intent)


def test_executeDeposits__signature_for_other_gateway_skipped(project, owner, gx, alice, keeper):
    other = owner.deploy(project.PerpGateway, gx.router)
    intent, item, digest = deposit_item(gx, alice, AMOUNT, gateway=other.address)
    _assert_skipped_alone(gx, item, digest, BAD_SIGNATURE, alice, keeper, intent)
    # ... and it is good on the gateway it was signed for (alice approves that one too)
    gx.token.approve(other, AMOUNT, sender=alice)
    receipt = other.executeDeposits([item], sender=keeper)
    assert len(receipt.events.filter(other.IntentExecuted)) == 1
    assert gx.market.capitalOf(alice) == AMOUNT * SCALE


def test_executeDeposits__signature_of_a_stranger_skipped(gx, alice, carol, keeper):
    intent, item, digest = deposit_item(gx, alice, AMOUNT, signer=carol)
    _assert_skipped_alone(gx, item, digest, BAD_SIGNATURE, alice, keeper, intent)


def test_executeDeposits__malleated_signature_skipped(gx, alice, keeper):
    intent, item, digest = deposit_item(gx, alice, AMOUNT)
    bad = signed_deposit(intent, malleate(item[1]), item[2])
    _assert_skipped_alone(gx, bad, digest, BAD_SIGNATURE, alice, keeper, intent)


def test_executeDeposits__short_signature_skipped(gx, alice, keeper):
    intent, item, digest = deposit_item(gx, alice, AMOUNT)
    bad = signed_deposit(intent, item[1][:64], item[2])
    _assert_skipped_alone(gx, bad, digest, BAD_SIGNATURE, alice, keeper, intent)


def test_executeDeposits__tampered_amount_skipped(gx, alice, keeper):
    intent, item, _ = deposit_item(gx, alice, AMOUNT)
    tampered, tampered_item, tampered_digest = deposit_item(gx, alice, AMOUNT + 1, nonce=intent.nonce, signature=item[1])
    _assert_skipped_alone(gx, tampered_item, tampered_digest, BAD_SIGNATURE, alice, keeper, tampered)


def test_executeDeposits__insufficient_allowance_skipped(gx, carol, keeper):
    gx.token.mint(carol, AMOUNT, sender=carol)
    gx.token.approve(gx.gateway, AMOUNT - 1, sender=carol)
    intent, item, digest = deposit_item(gx, carol, AMOUNT)
    _assert_skipped_alone(gx, item, digest, NO_ALLOWANCE, carol, keeper, intent)
    assert gx.token.allowance(carol, gx.gateway) == AMOUNT - 1


def test_executeDeposits__insufficient_balance_skipped(gx, alice, keeper):
    intent, item, digest = deposit_item(gx, alice, WALLET + 1)
    _assert_skipped_alone(gx, item, digest, NO_BALANCE, alice, keeper, intent)


def test_executeDeposits__unknown_market_skipped(gx, alice, keeper):
    intent, item, digest = deposit_item(gx, alice, AMOUNT, market_id=9)
    _assert_skipped_alone(gx, item, digest, UNKNOWN_MARKET, alice, keeper, intent)


def test_executeDeposits__zero_amount_skipped(gx, alice, keeper):
    intent, item, digest = deposit_item(gx, alice, 0)
    _assert_skipped_alone(gx, item, digest, ZERO_AMOUNT, alice, keeper, intent)


def test_executeDeposits__skipped_item_nonce_stays_usable(gx, carol, keeper):
    gx.token.mint(carol, AMOUNT, sender=carol)
    intent, item, digest = deposit_item(gx, carol, AMOUNT)
    assert outcomes(gx, _run(gx, [item], keeper)) == [("skipped", digest, NO_ALLOWANCE)]
    gx.token.approve(gx.gateway, AMOUNT, sender=carol)
    assert outcomes(gx, _run(gx, [item], keeper)) == [("executed", digest)]
    assert gx.market.capitalOf(carol) == AMOUNT * SCALE


def test_executeDeposits__bad_items_skipped_good_ones_executed(gx, alice, bob, carol, keeper):
    _, good_a, da = deposit_item(gx, alice, AMOUNT)
    _, expired, de = deposit_item(gx, bob, USDC, expires=1)
    _, forged, df = deposit_item(gx, bob, USDC, signer=carol)
    _, poor, dp = deposit_item(gx, carol, USDC)
    _, good_b, db = deposit_item(gx, bob, 3 * USDC)
    receipt = _run(gx, [good_a, expired, forged, poor, good_b], keeper)
    assert outcomes(gx, receipt) == [
        ("executed", da),
        ("skipped", de, EXPIRED),
        ("skipped", df, BAD_SIGNATURE),
        ("skipped", dp, NO_ALLOWANCE),
        ("executed", db),
    ]
    assert gx.market.capitalOf(alice) == AMOUNT * SCALE
    assert gx.market.capitalOf(bob) == 3 * USDC * SCALE
    assert gx.market.capitalOf(carol) == 0
    assert gx.token.balanceOf(gx.market) == AMOUNT + 3 * USDC
    assert gx.token.balanceOf(gx.gateway) == 0


def test_executeDeposits__empty_batch_reverts(gx, keeper):
    with reverts(gx.gateway.EmptyBatch):
        _run(gx, [], keeper)


def test_depositOne__outside_the_gateway_reverts(gx, alice):
    with reverts(gx.gateway.OnlyGateway, caller=alice.address):
        gx.gateway.depositOne(gx.token, gx.market_id, alice, AMOUNT, sender=alice)
    assert gx.market.capitalOf(alice) == 0
    assert gx.token.balanceOf(alice) == WALLET


def test_constructor__zero_router_reverts(project, chain, owner):
    from tests.reverts import assert_deploy_reverts

    assert_deploy_reverts(chain, project.PerpGateway, [ZERO_ADDRESS], owner, project.PerpGateway.ZeroAddress)


def test_executeDeposits__two_markets_in_one_batch(project, gx, owner, alice, keeper, make_feed, make_oracle):
    from tests.conftest import funding_params, market_params

    oracle = make_oracle(make_feed(8, 3_000 * 10**8), 86_400)
    gx.router.createMarket(gx.token, oracle, market_params(), funding_params(), sender=owner)
    eth = project.PerpMarket.at(gx.router.markets(1))
    _, i0, d0 = deposit_item(gx, alice, AMOUNT)
    _, i1, d1 = deposit_item(gx, alice, 2 * USDC, market_id=1)
    _, i2, d2 = deposit_item(gx, alice, 3 * USDC)
    assert outcomes(gx, _run(gx, [i0, i1, i2], keeper)) == [("executed", d0), ("executed", d1), ("executed", d2)]
    assert gx.market.capitalOf(alice) == (AMOUNT + 3 * USDC) * SCALE
    assert eth.capitalOf(alice) == 2 * USDC * SCALE
