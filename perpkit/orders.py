"""EIP-712 orders for PerpRouter: build, hash and sign without a chain (eth-account).

The domain is `PerpRouter` / `1` bound to a chain id and a router address, so a signature is
good on exactly one deployment.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

DOMAIN_NAME = "PerpRouter"
DOMAIN_VERSION = "1"

ORDER_FIELDS = [
    {"name": "trader", "type": "address"},
    {"name": "marketId", "type": "uint256"},
    {"name": "size", "type": "int256"},
    {"name": "limitPrice", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
    {"name": "reduceOnly", "type": "bool"},
]
ORDER_TYPE_STRING = "Order(" + ",".join(f"{f['type']} {f['name']}" for f in ORDER_FIELDS) + ")"
ORDER_TYPEHASH = keccak(text=ORDER_TYPE_STRING)


@dataclass(frozen=True)
class Order:
    trader: str
    market_id: int
    size: int  # signed WAD: + buys (long), - sells (short)
    limit_price: int  # WAD USD per base unit
    nonce: int
    expiry: int  # unix seconds
    reduce_only: bool = False

    def as_tuple(self) -> tuple:
        """The ABI tuple PerpRouter takes."""
        return astuple(self)

    def message(self) -> dict:
        return {
            "trader": self.trader,
            "marketId": self.market_id,
            "size": self.size,
            "limitPrice": self.limit_price,
            "nonce": self.nonce,
            "expiry": self.expiry,
            "reduceOnly": self.reduce_only,
        }


def typed_data(order: Order, chain_id: int, router: str) -> dict:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Order": ORDER_FIELDS,
        },
        "primaryType": "Order",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": router,
        },
        "message": order.message(),
    }


def order_digest(order: Order, chain_id: int, router: str) -> bytes:
    """The EIP-712 digest, equal to `PerpRouter.hashOrder(order)` on that chain and router."""
    signable = encode_typed_data(full_message=typed_data(order, chain_id, router))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_order(order: Order, private_key: str | bytes, chain_id: int, router: str) -> bytes:
    """65-byte signature r || s || v."""
    signed = Account.sign_message(encode_typed_data(full_message=typed_data(order, chain_id, router)), private_key)
    return bytes(signed.signature)


def fill_tuple(maker: Order, maker_sig: bytes, taker: Order, taker_sig: bytes, amount: int) -> tuple:
    """The ABI tuple of one `Fill` for `PerpRouter.settle`."""
    return (maker.as_tuple(), maker_sig, taker.as_tuple(), taker_sig, amount)
