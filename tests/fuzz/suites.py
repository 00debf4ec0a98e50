"""The suite the fuzz machine runs on: one router, two markets (BTC at 60,000 and ETH at 3,000
USD) on one settlement token, deployed on Anvil through ape or on the in-process EVM
(`perpkit.evm.InProcessChain`) from ape's build artifacts, with the same role accounts.

Both markets take two other collateral tokens (`COLLATERALS`), each behind its own feed and
oracle, registered with `router.setCollateral` (so each market gets its CollateralPool): WETH (18
decimals, weight 0.80, discount 0.05) and WBTC (8 decimals, weight 0.70, discount 0.10).

The in-process side needs no ape session, so deep campaigns and benchmarks run it from a plain
Python process."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

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
from perpkit.model import WAD

ETH_PRICE = 3_000


@dataclass(frozen=True)
class CollateralSpec:
    """A collateral token of the suite: how it is deployed and registered."""

    symbol: str
    name: str
    decimals: int
    usd: int  # the feed's first answer
    weight: int
    discount: int
    cap_tokens: int  # whole tokens per market

    def params(self, **overrides) -> tuple[int, int, int]:
        """(weight, liquidationDiscount, cap in units), as `setCollateral` takes them."""
        p = dict(weight=self.weight, liquidationDiscount=self.discount, cap=self.cap_tokens * 10**self.decimals)
        p.update(overrides)
        return p["weight"], p["liquidationDiscount"], p["cap"]


COLLATERALS = (
    CollateralSpec("WETH", "Wrapped Ether", 18, ETH_PRICE, 80 * WAD // 100, 5 * WAD // 100, 60),
    CollateralSpec("WBTC", "Wrapped BTC", 8, 60_000, 70 * WAD // 100, 10 * WAD // 100, 3),
)


@dataclass(frozen=True)
class CollateralToken:
    """A deployed collateral token with its feed and oracle (shared by the markets)."""

    spec: CollateralSpec
    token: object
    feed: object
    oracle: object

    @property
    def symbol(self) -> str:
        return self.spec.symbol


@dataclass
class CollateralExchange(Exchange):
    """An `Exchange` whose market has a CollateralPool of `collaterals`."""

    pool: object = None
    collaterals: tuple = ()

# ape's test accounts are the test mnemonic's accounts 0..9, in this order (tests/conftest.py).
ROLES = {"owner": 0, "alice": 1, "bob": 2, "keeper": 3, "carol": 4, "matcher": 5, "guardian": 6}


def role(name: str):
    return dev_signer(ROLES[name])


def two_markets(deploy, at, chain, owner, matcher, guardian) -> list[CollateralExchange]:
    """`tests.conftest.deploy_exchange` (the BTC market), then an ETH market on the same router and
    token, then the `COLLATERALS` registered in both. `deploy(name, *args)` and `at(name, address)`
    come from the chain."""
    btc = deploy_exchange(deploy, at, chain, owner, matcher, guardian)
    feed = deploy("MockV3Aggregator", FEED_DECIMALS, ETH_PRICE * 10**FEED_DECIMALS)
    oracle = deploy("ChainlinkOracle", feed, 86_400, ZERO_ADDRESS, 0)
    btc.router.createMarket(btc.token, oracle, market_params(), funding_params(), sender=owner)
    market_id = btc.router.marketCount() - 1
    # Order nonces keep coming from the BTC exchange's counter: one sequence per router.
    eth = dataclasses.replace(btc, market=at("PerpMarket", btc.router.markets(market_id)), market_id=market_id,
                              feed=feed, oracle=oracle)
    collaterals = deploy_collaterals(deploy)
    return [with_collateral(ex, at, collaterals) for ex in (btc, eth)]


def deploy_collaterals(deploy, specs=COLLATERALS) -> tuple:
    """Each spec's token, feed (8 decimals) and oracle (a day's heartbeat)."""
    out = []
    for spec in specs:
        token = deploy("MockERC20", spec.name, spec.symbol, spec.decimals)
        feed = deploy("MockV3Aggregator", FEED_DECIMALS, spec.usd * 10**FEED_DECIMALS)
        oracle = deploy("ChainlinkOracle", feed, 86_400, ZERO_ADDRESS, 0)
        out.append(CollateralToken(spec, token, feed, oracle))
    return tuple(out)


def with_collateral(ex: Exchange, at, collaterals: tuple) -> CollateralExchange:
    """Registers `collaterals` in `ex`'s market (`router.setCollateral` by the owner, which creates
    the market's pool) and returns the exchange with its pool."""
    for c in collaterals:
        ex.router.setCollateral(ex.market_id, c.token, c.oracle, c.spec.params(), sender=ex.owner)
    pool = at("CollateralPool", ex.router.collateralPoolOf(ex.market_id))
    fields = {f.name: getattr(ex, f.name) for f in dataclasses.fields(Exchange)}
    return CollateralExchange(**fields, pool=pool, collaterals=tuple(collaterals))


def inprocess_suite(chain: InProcessChain | None = None, factory_bytecode: bytes | None = None,
                    bytecodes: dict | None = None) -> list[Exchange]:
    """The two markets on the in-process EVM; `bytecodes`: contract name -> creation code built
    from other sources (the mutation test); `factory_bytecode`: the PerpMarketFactory's."""
    chain = chain or InProcessChain.from_build()
    owner = role("owner")
    bytecodes = dict(bytecodes or {})
    if factory_bytecode is not None:
        bytecodes["PerpMarketFactory"] = factory_bytecode

    def deploy(name, *args):
        return chain.deploy(name, *args, sender=owner, bytecode=bytecodes.get(name))

    return two_markets(deploy, chain.at, chain, owner, role("matcher"), role("guardian"))


def anvil_suite(project, chain, owner, matcher, guardian) -> list[Exchange]:
    """The two markets on Anvil, through ape."""
    deploy, at = ape_deployer(project, owner)
    return two_markets(deploy, at, chain, owner, matcher, guardian)
