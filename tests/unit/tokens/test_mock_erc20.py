"""MockERC20: configurable decimals, local-only minting, EIP-2612 permit (OpenZeppelin)."""

import ape
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from tests.conftest import ZERO_ADDRESS

MAX_UINT = 2**256 - 1


@pytest.mark.parametrize("decimals", [6, 8, 18])
def test_decimals__as_configured(make_token, decimals):
    token = make_token("T", "T", decimals)
    assert token.decimals() == decimals


def test_mint__credits_balance_and_supply_on_local_chain(make_token, alice, bob):
    token = make_token()
    receipt = token.mint(alice, 1_000 * 10**6, sender=bob)
    assert token.balanceOf(alice) == 1_000 * 10**6
    assert token.totalSupply() == 1_000 * 10**6
    [transfer] = receipt.events.filter(token.Transfer)
    assert (transfer["from"], transfer["to"], transfer["value"]) == (ZERO_ADDRESS, alice.address, 1_000 * 10**6)


def test_mint__other_chain_reverts(chain, make_token, alice):
    token = make_token()
    chain.provider.make_request("anvil_setChainId", [2522])
    try:
        with ape.reverts(token.MintingDisabled, chainId=2522):
            token.mint.call(alice, 1, sender=alice)
    finally:
        chain.provider.make_request("anvil_setChainId", [31337])
    assert token.balanceOf(alice) == 0


def test_transfer__moves_exact_amount_and_rejects_overdraft(make_token, alice, bob):
    token = make_token()
    token.mint(alice, 100, sender=alice)
    token.transfer(bob, 40, sender=alice)
    assert (token.balanceOf(alice), token.balanceOf(bob)) == (60, 40)
    with ape.reverts(token.ERC20InsufficientBalance, sender=alice.address, balance=60, needed=61):
        token.transfer(bob, 61, sender=alice)


def _permit_signature(token, owner_key, owner, spender, value, nonce, deadline, chain_id):
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": token.name(),
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": token.address,
        },
        "message": {
            "owner": owner,
            "spender": spender,
            "value": value,
            "nonce": nonce,
            "deadline": deadline,
        },
    }
    signed = Account.sign_message(encode_typed_data(full_message=typed), owner_key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def test_permit__sets_allowance_and_bumps_nonce(chain, make_token, alice, bob):
    token = make_token()
    deadline = chain.pending_timestamp + 3600
    v, r, s = _permit_signature(token, alice.private_key, alice.address, bob.address, 500, 0, deadline, chain.chain_id)
    token.permit(alice, bob, 500, deadline, v, r, s, sender=bob)
    assert token.allowance(alice, bob) == 500
    assert token.nonces(alice) == 1

    # The same signature again is a replay: the nonce moved, so it recovers another signer.
    with ape.reverts(token.ERC2612InvalidSigner):
        token.permit(alice, bob, 500, deadline, v, r, s, sender=bob)


def test_permit__expired_reverts(chain, make_token, alice, bob):
    token = make_token()
    deadline = chain.blocks.head.timestamp - 1
    v, r, s = _permit_signature(token, alice.private_key, alice.address, bob.address, 1, 0, deadline, chain.chain_id)
    with ape.reverts(token.ERC2612ExpiredSignature, deadline=deadline):
        token.permit(alice, bob, 1, deadline, v, r, s, sender=bob)
    assert token.allowance(alice, bob) == 0
