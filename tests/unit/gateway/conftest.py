"""PerpGateway fixtures and helpers.

One deployment per test module (`gx`): ape's chain isolation reverts every test's transactions, so
each test starts from the module's fixture state: alice and bob hold WALLET USDC in their wallets,
have approved the gateway for it (unlimited) and made it their operator on the router; carol has
nothing and approved nothing.
"""

from itertools import count

import pytest
from eth_utils import keccak

from perpkit.intents import (
    NO_PERMIT,
    Deposit,
    Withdraw,
    intent_digest,
    sign_intent,
    sign_permit,
    signed_deposit,
    signed_withdraw,
)
from tests.unit.router.conftest import USDC, malleate, reverts, with_errors_of  # noqa: F401 - re-exported

WALLET = 50_000 * USDC  # tokens in alice's and bob's wallets
SCALE = 10**12  # USDC (6 decimals) to WAD
MAX_UINT = 2**256 - 1
_nonces = count(1_000)


def selector(signature: str) -> bytes:
    """The 4-byte selector of a custom error, as `IntentSkipped.reason` carries it."""
    return keccak(text=signature)[:4]


EXPIRED = selector("IntentExpired(uint256,uint256)")
NONCE_USED = selector("NonceAlreadyUsed(address,uint256)")
BAD_SIGNATURE = selector("InvalidSignature(address,bytes32)")
ZERO_ADDRESS_ERR = selector("ZeroAddress()")
ZERO_AMOUNT = selector("ZeroAmount()")
UNKNOWN_MARKET = selector("UnknownMarket(uint256)")
NOT_AUTHORIZED = selector("NotAuthorized(address,address)")
INSUFFICIENT_MARGIN = selector("InsufficientMargin(address,int256,uint256)")
INSUFFICIENT_CAPITAL = selector("InsufficientCapital(address,uint256,uint256)")
MARKET_PAUSED = selector("MarketPaused(uint256)")
NO_ALLOWANCE = selector("ERC20InsufficientAllowance(address,uint256,uint256)")
NO_BALANCE = selector("ERC20InsufficientBalance(address,uint256,uint256)")


@pytest.fixture(scope="session", autouse=True)
def _session_fixtures_first(owner, alice, bob, carol, dave, keeper, matcher, guardian, make_exchange):
    """Every session fixture these tests use, set up before ape's first snapshot (see router)."""


@pytest.fixture(scope="module")
def gx(make_exchange, project, owner, chain, alice, bob):
    ex = make_exchange()
    gateway = owner.deploy(project.PerpGateway, ex.router)
    ex.router = with_errors_of(chain, ex.router, ex.market, ex.token, ex.oracle)
    ex.gateway = with_errors_of(chain, gateway, ex.router, ex.market, ex.token)
    for trader in (alice, bob):
        ex.token.mint(trader, WALLET, sender=trader)
        ex.token.approve(ex.gateway, MAX_UINT, sender=trader)
        ex.router.setOperator(ex.gateway, True, sender=trader)
    return ex


def deadline(gx, seconds=3_600):
    return gx.chain.pending_timestamp + seconds


def deposit_item(gx, trader, amount, *, nonce=None, expires=None, signer=None, chain_id=None, gateway=None,
                 market_id=None, permit=NO_PERMIT, signature=None):
    """(intent, SignedDeposit tuple, digest as this gateway computes it); signed by `signer`
    (default the trader) for `chain_id` / `gateway` (default this chain and gateway)."""
    address = trader if isinstance(trader, str) else trader.address
    intent = Deposit(
        address,
        gx.market_id if market_id is None else market_id,
        amount,
        next(_nonces) if nonce is None else nonce,
        deadline(gx) if expires is None else expires,
    )
    if signature is None:
        signature = sign_intent(intent, (signer or trader).private_key, chain_id or gx.chain.chain_id,
                                gateway or gx.gateway.address)
    return intent, signed_deposit(intent, signature, permit), intent_digest(intent, gx.chain.chain_id, gx.gateway.address)


def withdraw_item(gx, trader, amount, *, to=None, nonce=None, expires=None, signer=None, chain_id=None,
                  gateway=None, market_id=None, signature=None):
    address = trader if isinstance(trader, str) else trader.address
    intent = Withdraw(
        address,
        gx.market_id if market_id is None else market_id,
        amount,
        address if to is None else (to if isinstance(to, str) else to.address),
        next(_nonces) if nonce is None else nonce,
        deadline(gx) if expires is None else expires,
    )
    if signature is None:
        signature = sign_intent(intent, (signer or trader).private_key, chain_id or gx.chain.chain_id,
                                gateway or gx.gateway.address)
    return intent, signed_withdraw(intent, signature), intent_digest(intent, gx.chain.chain_id, gx.gateway.address)


def permit_for(gx, owner, value, *, spender=None, nonce=None, expires=None):
    """A PermitData tuple signed by `owner` for the gateway (or `spender`) on the USDC."""
    return sign_permit(
        owner.private_key,
        gx.token.name(),
        gx.token.address,
        owner.address,
        spender or gx.gateway.address,
        value,
        gx.token.nonces(owner) if nonce is None else nonce,
        deadline(gx) if expires is None else expires,
        gx.chain.chain_id,
    )


def outcomes(gx, receipt) -> list:
    """The batch's per-item events in order: ("executed", digest) or ("skipped", digest, reason)."""
    out = []
    for log in receipt.decode_logs([gx.gateway.IntentExecuted.abi, gx.gateway.IntentSkipped.abi]):
        if log.event_name == "IntentExecuted":
            out.append(("executed", bytes(log["digest"])))
        else:
            out.append(("skipped", bytes(log["digest"]), bytes(log["reason"])))
    return out
