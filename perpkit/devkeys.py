"""Keys for tests, benchmarks and the simulation, derived from Anvil's well-known public test
mnemonic: the only private keys this project ever uses. The seed is computed once, so deriving
a thousand accounts takes about a second."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic

TEST_MNEMONIC = "test test test test test test test test test test test junk"


@lru_cache(maxsize=1)
def _seed() -> bytes:
    return seed_from_mnemonic(TEST_MNEMONIC, "")


def dev_key(index: int) -> bytes:
    """The private key of account `index` of the test mnemonic (Anvil's and ape's TEST::index)."""
    return key_from_seed(_seed(), f"m/44'/60'/0'/0/{index}")


def dev_account(index: int):
    """An eth_account LocalAccount for `index`."""
    return Account.from_key(dev_key(index))


@dataclass(frozen=True)
class DevSigner:
    """An address and its key: enough to sign orders, and to send transactions in process."""

    address: str
    private_key: bytes


@lru_cache(maxsize=None)
def dev_signer(index: int) -> DevSigner:
    key = dev_key(index)
    return DevSigner(Account.from_key(key).address, key)
