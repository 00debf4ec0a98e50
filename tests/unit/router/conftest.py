"""PerpRouter fixtures and helpers.

One deployment per test module (`ex`, `fx`, `two`): ape's chain isolation reverts every test's
transactions, so each test starts from the module's fixture state.
"""

from contextlib import contextmanager

import ape
import pytest
from eth_abi import decode
from eth_utils import keccak, to_checksum_address
from ethpm_types import ContractType
from web3.exceptions import ContractCustomError

from perpkit.orders import Order, sign_order
from tests.reverts import assert_deploy_reverts, reverts  # noqa: F401 - re-exported to the router tests
from tests.conftest import FEED_DECIMALS, WAD, funding_params, market_params

USDC = 10**6
DEPOSIT = 100_000 * USDC  # margin of each trader in `fx`
PRICE = 60_000 * WAD  # the BTC index of `ex`
MAX_UINT = 2**256 - 1
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def bytes32(text: str) -> bytes:
    """A Solidity `bytes32` string literal: the UTF-8 bytes, right-padded with zeros."""
    return text.encode().ljust(32, b"\0")


def with_errors_of(chain, instance, *others):
    """The contract at `instance.address`, its ABI extended with the custom errors of `others`.

    A PerpMarket or token error bubbles through PerpRouter unchanged. Without its ABI on the router,
    ape decodes such a revert by walking the whole opcode trace of the transaction (~8 s each);
    with it, the revert decodes at once as `router.<Error>`, with the same selector and arguments.
    """
    contract_type = instance.contract_type
    selectors = {abi.selector for abi in contract_type.errors}
    extra = []
    for other in others:
        for abi in other.contract_type.errors:
            if abi.selector not in selectors:
                selectors.add(abi.selector)
                extra.append(abi)
    merged = ContractType.model_validate(
        {**contract_type.model_dump(by_alias=True), "abi": [*contract_type.abi, *extra]}
    )
    return chain.contracts.instance_at(instance.address, contract_type=merged, replace=True)


# The error was renamed `OrderIsCancelled` so that it no longer clashes with the event.
def cancelled_error(router):
    return router.OrderIsCancelled


def cancelled_event(router):
    [abi] = [abi for abi in router.contract_type.events if abi.name == "OrderCancelled"]
    return router.get_event_by_signature(abi.signature)


def malleate(signature: bytes) -> bytes:
    """The other valid ECDSA signature of the same message: `s -> n - s`, `v` flipped (27 <-> 28)."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])


def digest(ex, order: Order) -> bytes:
    """The order's EIP-712 digest as the router computes it."""
    return bytes(ex.router.hashOrder(order.as_tuple()))


def sign_for(order: Order, signer, chain_id: int, router: str) -> bytes:
    """`signer`'s signature of `order` for the given chain id and router address."""
    return sign_order(order, signer.private_key, chain_id, router)


def fund_market(ex, market_id, trader, amount, token=None):
    """Mint `amount` of `token` (default the USDC) to `trader` and deposit it into `market_id`."""
    token = token or ex.token
    token.mint(trader, amount, sender=trader)
    token.approve(ex.router, amount, sender=trader)
    return ex.router.deposit(market_id, amount, sender=trader)


@pytest.fixture(scope="session", autouse=True)
def _session_fixtures_first(owner, alice, bob, carol, dave, keeper, matcher, guardian, make_exchange):
    """Every session fixture these tests use, set up before ape's first snapshot: one that first
    appears later makes ape rebase (tear down and redeploy) the module fixtures."""


@pytest.fixture(scope="module")
def ex(make_exchange, chain):
    """A deployment with one BTC-USD market (id 0, index 60,000), USDC collateral, nobody funded.
    `ex.router` also decodes the errors of the market, the token and the oracle (`with_errors_of`)."""
    exchange = make_exchange()
    exchange.router = with_errors_of(chain, exchange.router, exchange.market, exchange.token, exchange.oracle)
    return exchange


@pytest.fixture(scope="module")
def fx(ex, alice, bob, carol):
    """`ex` with 100,000 USDC of margin deposited by alice, bob and carol."""
    for trader in (alice, bob, carol):
        ex.fund(trader, DEPOSIT)
    return ex


@pytest.fixture(scope="module")
def two(fx, project, owner, alice, bob, carol, make_feed, make_oracle):
    """`fx` plus a second market on the same router: ETH-USD (id 1, index 3,000), same USDC,
    alice, bob and carol with 100,000 USDC of margin there too."""
    feed = make_feed(FEED_DECIMALS, 3_000 * 10**FEED_DECIMALS)
    oracle = make_oracle(feed, 86_400)
    fx.router.createMarket(fx.token, oracle, market_params(), funding_params(), sender=owner)
    market = project.PerpMarket.at(fx.router.markets(1))
    for trader in (alice, bob, carol):
        fund_market(fx, 1, trader, DEPOSIT)
    fx.eth = market
    fx.eth_feed = feed
    return fx
