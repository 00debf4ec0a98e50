"""PerpRouter signatures: who may sign an order (trader EOA, ERC-1271 wallet, approved operator) and
which signatures are refused (other chain, other router, malleated, wrong signer)."""

import pytest
from eth_account import Account

from perpkit.orders import fill_tuple
from tests.conftest import WAD
from tests.unit.router.conftest import DEPOSIT, PRICE, digest, malleate, reverts, sign_for

pytestmark = pytest.mark.usefixtures("fx")

MAKER_FEE = 12 * WAD  # 2 bp of 60,000


def _settle(fx, *fills):
    return fx.router.settle(list(fills), sender=fx.matcher)


def _signed(fx, maker, taker, maker_sig=None, taker_sig=None, maker_signer=None, taker_signer=None):
    """`maker` buys 1 BTC at PRICE from `taker`; each signature defaults to one by the order's own
    trader (or by the given signer)."""
    mk, tk = fx.order(maker, WAD, PRICE), fx.order(taker, -WAD, PRICE)
    maker_sig = maker_sig if maker_sig is not None else fx.sign(mk, maker_signer or maker)
    taker_sig = taker_sig if taker_sig is not None else fx.sign(tk, taker_signer or taker)
    return mk, tk, fill_tuple(mk, maker_sig, tk, taker_sig, WAD)


# ---------------------------------------------------------------- setOperator


def test_setOperator__approves_and_emits(fx, alice, carol):
    receipt = fx.router.setOperator(carol, True, sender=alice)
    assert fx.router.isOperator(alice, carol) is True
    assert fx.router.isOperator(carol, alice) is False
    [event] = receipt.events.filter(fx.router.OperatorSet)
    assert (event["account"], event["operator"], event["approved"]) == (alice.address, carol.address, True)


def test_setOperator__revokes_and_emits(fx, alice, carol):
    fx.router.setOperator(carol, True, sender=alice)
    receipt = fx.router.setOperator(carol, False, sender=alice)
    assert fx.router.isOperator(alice, carol) is False
    [event] = receipt.events.filter(fx.router.OperatorSet)
    assert (event["account"], event["operator"], event["approved"]) == (alice.address, carol.address, False)


def test_setOperator__zero_operator_reverts(fx, alice):
    with reverts(fx.router.ZeroAddress):
        fx.router.setOperator("0x0000000000000000000000000000000000000000", True, sender=alice)


# ---------------------------------------------------------------- operators


def test_settle__operator_signed_maker_order_accepted(fx, alice, bob, carol):
    fx.router.setOperator(carol, True, sender=alice)
    mk, tk, fill = _signed(fx, alice, bob, maker_signer=carol)
    _settle(fx, fill)
    assert fx.market.positionOf(alice)[0] == WAD
    assert fx.market.positionOf(carol)[0] == 0
    assert fx.market.capitalOf(alice) == DEPOSIT * 10**12 - MAKER_FEE
    assert fx.router.filled(digest(fx, mk)) == WAD


def test_settle__operator_signed_taker_order_accepted(fx, alice, bob, carol):
    fx.router.setOperator(carol, True, sender=bob)
    _, tk, fill = _signed(fx, alice, bob, taker_signer=carol)
    _settle(fx, fill)
    assert fx.market.positionOf(bob)[0] == -WAD
    assert fx.router.filled(digest(fx, tk)) == WAD


def test_settle__non_approved_signer_refused(fx, alice, bob, carol):
    mk, _, fill = _signed(fx, alice, bob, maker_signer=carol)
    with reverts(fx.router.InvalidSignature, trader=alice.address, orderHash=digest(fx, mk)):
        _settle(fx, fill)


def test_settle__revoked_operator_refused(fx, alice, bob, carol):
    fx.router.setOperator(carol, True, sender=alice)
    fx.router.setOperator(carol, False, sender=alice)
    mk, _, fill = _signed(fx, alice, bob, maker_signer=carol)
    with reverts(fx.router.InvalidSignature, trader=alice.address, orderHash=digest(fx, mk)):
        _settle(fx, fill)


def test_settle__operator_of_another_account_refused(fx, alice, bob, carol):
    fx.router.setOperator(carol, True, sender=bob)
    mk, _, fill = _signed(fx, alice, bob, maker_signer=carol)
    with reverts(fx.router.InvalidSignature, trader=alice.address, orderHash=digest(fx, mk)):
        _settle(fx, fill)


# ---------------------------------------------------------------- refused signatures


def test_settle__other_traders_signature_refused(fx, alice, bob):
    _, tk, fill = _signed(fx, alice, bob, taker_signer=alice)
    with reverts(fx.router.InvalidSignature, trader=bob.address, orderHash=digest(fx, tk)):
        _settle(fx, fill)


def test_settle__signature_for_another_chain_refused(chain, fx, alice, bob):
    assert chain.chain_id == 31337
    mk, tk = fx.order(alice, WAD, PRICE), fx.order(bob, -WAD, PRICE)
    fill = fill_tuple(mk, sign_for(mk, alice, 1, fx.router.address), tk, fx.sign(tk, bob), WAD)
    with reverts(fx.router.InvalidSignature, trader=alice.address, orderHash=digest(fx, mk)):
        _settle(fx, fill)


def test_settle__signature_for_another_router_refused(project, owner, fx, alice, bob):
    other = owner.deploy(project.PerpRouter, owner, fx.router.factory())
    mk, tk = fx.order(alice, WAD, PRICE), fx.order(bob, -WAD, PRICE)
    fill = fill_tuple(mk, sign_for(mk, alice, fx.chain.chain_id, other.address), tk, fx.sign(tk, bob), WAD)
    with reverts(fx.router.InvalidSignature, trader=alice.address, orderHash=digest(fx, mk)):
        _settle(fx, fill)


def test_settle__malleated_signature_refused(fx, alice, bob):
    mk, tk = fx.order(alice, WAD, PRICE), fx.order(bob, -WAD, PRICE)
    good = fx.sign(mk, alice)
    bad = malleate(good)
    # The high-s twin recovers the same address: only the EIP-2 low-s rule tells them apart.
    assert Account._recover_hash(digest(fx, mk), signature=bad) == alice.address
    fill = fill_tuple(mk, bad, tk, fx.sign(tk, bob), WAD)
    with reverts(fx.router.InvalidSignature, trader=alice.address, orderHash=digest(fx, mk)):
        _settle(fx, fill)
    _settle(fx, fill_tuple(mk, good, tk, fx.sign(tk, bob), WAD))
    assert fx.market.positionOf(alice)[0] == WAD


@pytest.mark.parametrize("signature", [b"", b"\x01" * 64, b"\x00" * 65], ids=["empty", "64_bytes", "zeros"])
def test_settle__malformed_signature_refused(fx, alice, bob, signature):
    mk, _, fill = _signed(fx, alice, bob, maker_sig=signature)
    with reverts(fx.router.InvalidSignature, trader=alice.address, orderHash=digest(fx, mk)):
        _settle(fx, fill)


def test_settle__signature_of_another_order_refused(fx, alice, bob):
    mk, tk = fx.order(alice, WAD, PRICE), fx.order(bob, -WAD, PRICE)
    bigger = fx.order(alice, 2 * WAD, PRICE, nonce=mk.nonce, expiry=mk.expiry)
    fill = fill_tuple(mk, fx.sign(bigger, alice), tk, fx.sign(tk, bob), WAD)
    with reverts(fx.router.InvalidSignature, trader=alice.address, orderHash=digest(fx, mk)):
        _settle(fx, fill)


# ---------------------------------------------------------------- ERC-1271 wallets


@pytest.fixture
def wallet(project, fx, carol):
    """A contract wallet owned by carol's EOA, with 50,000 USDC of margin deposited through the router."""
    w = carol.deploy(project.MockERC1271Wallet, carol)
    fx.token.mint(w, 50_000 * 10**6, sender=carol)
    w.deposit(fx.router, fx.token, 0, 50_000 * 10**6, sender=carol)
    return w


def test_wallet__deposits_through_the_router(fx, wallet):
    assert fx.market.capitalOf(wallet) == 50_000 * WAD
    assert fx.token.balanceOf(wallet) == 0


def test_settle__erc1271_wallet_maker_accepted(fx, wallet, bob, carol):
    mk, tk = fx.order(wallet, WAD, PRICE), fx.order(bob, -WAD, PRICE)
    receipt = _settle(fx, fill_tuple(mk, fx.sign(mk, carol), tk, fx.sign(tk, bob), WAD))
    assert fx.market.positionOf(wallet)[:2] == (WAD, PRICE)
    assert fx.market.capitalOf(wallet) == 50_000 * WAD - MAKER_FEE
    assert fx.router.filled(digest(fx, mk)) == WAD
    [event] = receipt.events.filter(fx.router.OrderFilled)
    assert (event["maker"], bytes(event["makerHash"])) == (wallet.address, digest(fx, mk))


def test_settle__erc1271_wallet_taker_accepted(fx, wallet, alice, carol):
    mk, tk = fx.order(alice, WAD, PRICE), fx.order(wallet, -WAD, PRICE)
    _settle(fx, fill_tuple(mk, fx.sign(mk, alice), tk, fx.sign(tk, carol), WAD))
    assert fx.market.positionOf(wallet)[0] == -WAD


def test_settle__erc1271_wallet_signature_of_non_owner_refused(fx, wallet, alice, bob):
    mk, tk = fx.order(wallet, WAD, PRICE), fx.order(bob, -WAD, PRICE)
    fill = fill_tuple(mk, fx.sign(mk, alice), tk, fx.sign(tk, bob), WAD)
    with reverts(fx.router.InvalidSignature, trader=wallet.address, orderHash=digest(fx, mk)):
        _settle(fx, fill)
    assert fx.market.positionOf(wallet)[0] == 0


def test_wallet__withdraws_through_the_router(fx, wallet, carol):
    wallet.withdraw(fx.router, 0, 20_000 * 10**6, sender=carol)
    assert fx.token.balanceOf(wallet) == 20_000 * 10**6
    assert fx.market.capitalOf(wallet) == 30_000 * WAD
