"""The suite the fuzz machine runs on: one router, two markets (BTC at 60,000 and ETH at 3,000
USD) on one collateral token, deployed on Anvil through ape or on the in-process EVM
(`perpkit.evm.InProcessChain`) from ape's build artifacts, with the same role accounts.

The in-process side needs no ape session, so deep campaigns and benchmarks run it from a plain
Python process."""

from __future__ import annotations

import dataclasses

from perpkit.devkeys import dev_signer
from perpkit.evm import InProcessChain
from tests.conftest import (
    FEED_DECIMALS,
    ZERO_ADDRESS,
    Exchange,
    ape_deployer,
    deploy_exchange,
    funding_params,
    market_params,
)

ETH_PRICE = 3_000

# ape's test accounts are the test mnemonic's accounts 0..9, in this order (tests/conftest.py).
ROLES = {"owner": 0, "alice": 1, "bob": 2, "keeper": 3, "carol": 4, "matcher": 5, "guardian": 6}


def role(name: str):
    return dev_signer(ROLES[name])


def two_markets(deploy, at, chain, owner, matcher, guardian) -> list[Exchange]:
    """`tests.conftest.deploy_exchange` (the BTC market), then an ETH market on the same router and
    token. `deploy(name, *args)` and `at(name, address)` come from the chain."""
    btc = deploy_exchange(deploy, at, chain, owner, matcher, guardian)
    feed = deploy("MockV3Aggregator", FEED_DECIMALS, ETH_PRICE * 10**FEED_DECIMALS)
    oracle = deploy("ChainlinkOracle", feed, 86_400, ZERO_ADDRESS, 0)
    btc.router.createMarket(btc.token, oracle, market_params(), funding_params(), sender=owner)
    market_id = btc.router.marketCount() - 1
    # Order nonces keep coming from the BTC exchange's counter: one sequence per router.
    eth = dataclasses.replace(btc, market=at("PerpMarket", btc.router.markets(market_id)), market_id=market_id,
                              feed=feed, oracle=oracle)
    return [btc, eth]


def inprocess_suite(chain: InProcessChain | None = None, factory_bytecode: bytes | None = None) -> list[Exchange]:
    """The two markets on the in-process EVM; `factory_bytecode`: the creation code of a
    PerpMarketFactory built from other sources (the mutation test)."""
    chain = chain or InProcessChain.from_build()
    owner = role("owner")

    def deploy(name, *args):
        code = factory_bytecode if name == "PerpMarketFactory" else None
        return chain.deploy(name, *args, sender=owner, bytecode=code)

    return two_markets(deploy, chain.at, chain, owner, role("matcher"), role("guardian"))


def anvil_suite(project, chain, owner, matcher, guardian) -> list[Exchange]:
    """The two markets on Anvil, through ape."""
    deploy, at = ape_deployer(project, owner)
    return two_markets(deploy, at, chain, owner, matcher, guardian)
