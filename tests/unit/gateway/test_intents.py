"""PerpGateway hashing and nonces: the Python digest (perpkit.intents) equals the contract's and
cast's; nonce cancellation."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import keccak

from perpkit.intents import (
    DEPOSIT_TYPEHASH,
    WITHDRAW_TYPEHASH,
    Deposit,
    Withdraw,
    intent_digest,
    sign_intent,
    typed_data,
)
from tests.unit.gateway.conftest import NONCE_USED, USDC, deposit_item, outcomes, reverts

pytestmark = pytest.mark.usefixtures("gx")

CAST = shutil.which("cast") or str(Path(__file__).resolve().parents[3] / "node_modules" / ".bin" / "cast")


def test_typehashes__match_the_design(gx):
    assert bytes(gx.gateway.DEPOSIT_TYPEHASH()) == DEPOSIT_TYPEHASH == keccak(
        text="Deposit(address trader,uint256 marketId,uint256 amount,uint256 nonce,uint256 deadline)"
    )
    assert bytes(gx.gateway.WITHDRAW_TYPEHASH()) == WITHDRAW_TYPEHASH == keccak(
        text="Withdraw(address trader,uint256 marketId,uint256 amount,address to,uint256 nonce,uint256 deadline)"
    )


def test_domainSeparator__name_version_chain_and_gateway(gx):
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak(text="PerpGateway"),
                keccak(text="1"),
                gx.chain.chain_id,
                gx.gateway.address,
            ],
        )
    )
    assert bytes(gx.gateway.domainSeparator()) == expected
    assert gx.gateway.router() == gx.router.address


def test_hashDeposit__equals_python_digest(gx, alice):
    d = Deposit(alice.address, 7, 123_456_789, 2**200 + 5, 2**40)
    assert bytes(gx.gateway.hashDeposit(d.as_tuple())) == intent_digest(d, gx.chain.chain_id, gx.gateway.address)


def test_hashWithdraw__equals_python_digest(gx, alice, bob):
    w = Withdraw(alice.address, 3, 5 * USDC, bob.address, 77, 2**40)
    assert bytes(gx.gateway.hashWithdraw(w.as_tuple())) == intent_digest(w, gx.chain.chain_id, gx.gateway.address)


def test_intent_digest__bound_to_chain_and_gateway(gx, alice, bob):
    w = Withdraw(alice.address, 0, USDC, bob.address, 1, 2**40)
    here = intent_digest(w, 31337, gx.gateway.address)
    assert here != intent_digest(w, 1, gx.gateway.address)
    assert here != intent_digest(w, 31337, gx.router.address)
    d = Deposit(alice.address, 0, USDC, 1, 2**40)
    assert intent_digest(d, 31337, gx.gateway.address) != here


@pytest.mark.skipif(not Path(CAST).exists(), reason="cast (npm @foundry-rs/cast) not installed")
@pytest.mark.parametrize("kind", ["deposit", "withdraw"])
def test_sign_intent__matches_cast_wallet_sign(gx, alice, bob, kind):
    intent = (
        Deposit(alice.address, 1, 42 * USDC, 9, 2**40)
        if kind == "deposit"
        else Withdraw(alice.address, 1, 42 * USDC, bob.address, 9, 2**40)
    )
    key = alice.private_key
    key = key if isinstance(key, str) else "0x" + bytes(key).hex()
    key = key if key.startswith("0x") else "0x" + key
    data = json.dumps(typed_data(intent, gx.chain.chain_id, gx.gateway.address))
    out = subprocess.run(
        [CAST, "wallet", "sign", "--data", "--private-key", key, data],
        capture_output=True, text=True, check=True, timeout=30,
    )
    assert bytes.fromhex(out.stdout.strip()[2:]) == sign_intent(intent, alice.private_key, gx.chain.chain_id,
                                                                gx.gateway.address)


def test_events__carry_the_python_digest(gx, alice, keeper):
    intent, item, digest = deposit_item(gx, alice, USDC)
    assert digest == bytes(gx.gateway.hashDeposit(intent.as_tuple()))
    assert outcomes(gx, gx.gateway.executeDeposits([item], sender=keeper)) == [("executed", digest)]


# ---------------------------------------------------------------- cancellation


def test_cancelNonce__marks_used_and_emits(gx, alice, bob):
    receipt = gx.gateway.cancelNonce(300, sender=alice)
    assert gx.gateway.nonceUsed(alice, 300) is True
    assert gx.gateway.nonceUsed(bob, 300) is False
    assert gx.gateway.nonceBitmap(alice, 1) == 1 << 44
    [event] = receipt.events.filter(gx.gateway.NoncesCancelled)
    assert (event["trader"], event["word"], event["mask"]) == (alice.address, 1, 1 << 44)


def test_cancelNonce__twice_reverts(gx, alice):
    gx.gateway.cancelNonce(5, sender=alice)
    with reverts(gx.gateway.NonceAlreadyUsed, trader=alice.address, nonce=5):
        gx.gateway.cancelNonce(5, sender=alice)


def test_cancelNonce__executed_nonce_reverts(gx, alice, keeper):
    intent, item, _ = deposit_item(gx, alice, USDC)
    gx.gateway.executeDeposits([item], sender=keeper)
    with reverts(gx.gateway.NonceAlreadyUsed, trader=alice.address, nonce=intent.nonce):
        gx.gateway.cancelNonce(intent.nonce, sender=alice)


def test_cancelNonce__cancelled_intent_skipped_nothing_moves(gx, alice, keeper):
    intent, item, digest = deposit_item(gx, alice, USDC)
    gx.gateway.cancelNonce(intent.nonce, sender=alice)
    balance = gx.token.balanceOf(alice)
    assert outcomes(gx, gx.gateway.executeDeposits([item], sender=keeper)) == [("skipped", digest, NONCE_USED)]
    assert gx.token.balanceOf(alice) == balance
    assert gx.market.capitalOf(alice) == 0


def test_cancelNonce__only_the_callers_own(gx, alice, bob, keeper):
    intent, item, digest = deposit_item(gx, alice, USDC)
    gx.gateway.cancelNonce(intent.nonce, sender=bob)  # bob's nonce of that number, not alice's
    assert outcomes(gx, gx.gateway.executeDeposits([item], sender=keeper)) == [("executed", digest)]


def test_cancelNonces__mask_of_a_word(gx, alice):
    gx.gateway.cancelNonce(512 + 1, sender=alice)
    receipt = gx.gateway.cancelNonces(2, 0b1011, sender=alice)
    assert [gx.gateway.nonceUsed(alice, 512 + k) for k in range(5)] == [True, True, False, True, False]
    [event] = receipt.events.filter(gx.gateway.NoncesCancelled)
    assert (event["word"], event["mask"]) == (2, 0b1011)


def test_cancelNonces__empty_mask_reverts(gx, alice):
    with reverts(gx.gateway.NoNoncesToCancel):
        gx.gateway.cancelNonces(0, 0, sender=alice)
