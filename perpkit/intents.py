"""EIP-712 deposit and withdrawal intents for PerpGateway: build, hash and sign without a chain.

The domain is `PerpGateway` / `1` bound to a chain id and a gateway address, so a signature is
good on exactly one gateway. Nonces are a bitmap per trader (`nonceUsed(trader, nonce)`): any
unused nonce works, in any order. Amounts are collateral token units (not WAD).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

DOMAIN_NAME = "PerpGateway"
DOMAIN_VERSION = "1"

DEPOSIT_FIELDS = [
    {"name": "trader", "type": "address"},
    {"name": "marketId", "type": "uint256"},
    {"name": "amount", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
WITHDRAW_FIELDS = [
    {"name": "trader", "type": "address"},
    {"name": "marketId", "type": "uint256"},
    {"name": "amount", "type": "uint256"},
    {"name": "to", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def _type_string(name: str, fields: list[dict]) -> str:
    return name + "(" + ",".join(f"{f['type']} {f['name']}" for f in fields) + ")"


DEPOSIT_TYPE_STRING = _type_string("Deposit", DEPOSIT_FIELDS)
WITHDRAW_TYPE_STRING = _type_string("Withdraw", WITHDRAW_FIELDS)
DEPOSIT_TYPEHASH = keccak(text=DEPOSIT_TYPE_STRING)
WITHDRAW_TYPEHASH = keccak(text=WITHDRAW_TYPE_STRING)

NO_PERMIT = (0, 0, 0, b"\0" * 32, b"\0" * 32)  # PermitData with deadline 0: none


@dataclass(frozen=True)
class Deposit:
    """`amount` of the market's collateral token from `trader`'s wallet into its margin."""

    trader: str
    market_id: int
    amount: int  # token units
    nonce: int
    deadline: int  # unix seconds

    primary_type = "Deposit"
    fields = DEPOSIT_FIELDS

    def as_tuple(self) -> tuple:
        """The ABI tuple (`DepositIntent`) PerpGateway takes."""
        return astuple(self)

    def message(self) -> dict:
        return {
            "trader": self.trader,
            "marketId": self.market_id,
            "amount": self.amount,
            "nonce": self.nonce,
            "deadline": self.deadline,
        }


@dataclass(frozen=True)
class Withdraw:
    """`amount` of `trader`'s margin in the market, paid to `to`."""

    trader: str
    market_id: int
    amount: int  # token units
    to: str
    nonce: int
    deadline: int

    primary_type = "Withdraw"
    fields = WITHDRAW_FIELDS

    def as_tuple(self) -> tuple:
        """The ABI tuple (`WithdrawIntent`) PerpGateway takes."""
        return astuple(self)

    def message(self) -> dict:
        return {
            "trader": self.trader,
            "marketId": self.market_id,
            "amount": self.amount,
            "to": self.to,
            "nonce": self.nonce,
            "deadline": self.deadline,
        }


Intent = Deposit | Withdraw


def typed_data(intent: Intent, chain_id: int, gateway: str) -> dict:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            intent.primary_type: intent.fields,
        },
        "primaryType": intent.primary_type,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": gateway,
        },
        "message": intent.message(),
    }


def intent_digest(intent: Intent, chain_id: int, gateway: str) -> bytes:
    """The EIP-712 digest: `PerpGateway.hashDeposit` / `hashWithdraw` on that chain and gateway,
    and the `digest` of its `IntentExecuted` / `IntentSkipped` events."""
    signable = encode_typed_data(full_message=typed_data(intent, chain_id, gateway))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_intent(intent: Intent, private_key: str | bytes, chain_id: int, gateway: str) -> bytes:
    """65-byte signature r || s || v (low s)."""
    signed = Account.sign_message(encode_typed_data(full_message=typed_data(intent, chain_id, gateway)), private_key)
    return bytes(signed.signature)


def permit_typed_data(
    token_name: str, token: str, owner: str, spender: str, value: int, nonce: int, deadline: int, chain_id: int
) -> dict:
    """EIP-2612 `Permit` of an OpenZeppelin ERC20Permit (domain: the token's name, version `1`)."""
    return {
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
        "domain": {"name": token_name, "version": "1", "chainId": chain_id, "verifyingContract": token},
        "message": {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline},
    }


def sign_permit(
    private_key: str | bytes,
    token_name: str,
    token: str,
    owner: str,
    spender: str,
    value: int,
    nonce: int,
    deadline: int,
    chain_id: int,
) -> tuple:
    """The `PermitData` tuple (value, deadline, v, r, s) of a signed EIP-2612 permit."""
    typed = permit_typed_data(token_name, token, owner, spender, value, nonce, deadline, chain_id)
    signed = Account.sign_message(encode_typed_data(full_message=typed), private_key)
    return (value, deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big"))


def signed_deposit(deposit: Deposit, signature: bytes, permit: tuple = NO_PERMIT) -> tuple:
    """The ABI tuple of one `SignedDeposit` for `PerpGateway.executeDeposits`."""
    return (deposit.as_tuple(), signature, permit)


def signed_withdraw(withdraw: Withdraw, signature: bytes) -> tuple:
    """The ABI tuple of one `SignedWithdraw` for `PerpGateway.executeWithdrawals`."""
    return (withdraw.as_tuple(), signature)
