"""Deploy a perpkit suite step by step, recording each confirmed step in
`deployments/<chainId>.json`, so an interrupted deploy resumes where it stopped and a complete
one is a no-op.

The functions take ape objects (project, account, chain) as arguments; `scripts/deploy.py` is
the thin command around them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from perpkit.config import ZERO_ADDRESS, Config, ConfigError, live_addresses, live_collateral_feeds

LOCAL_CHAIN_ID = 31337
MOCK_FEED_DECIMALS = 8


@dataclass
class Step:
    name: str
    address: str
    gas_used: int | None  # None: already deployed, skipped


@dataclass
class DeploymentRecord:
    """The JSON record of DESIGN section 9, written after every confirmed step."""

    path: Path
    data: dict = field(default_factory=dict)

    @classmethod
    def open(cls, directory: str | Path, chain_id: int, fresh: bool = False) -> "DeploymentRecord":
        path = Path(directory) / f"{chain_id}.json"
        data = {} if fresh or not path.exists() else json.loads(path.read_text())
        data.setdefault("chainId", chain_id)
        for key in ("tokens", "markets", "roles"):
            data.setdefault(key, {})
        return cls(path, data)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.data, indent=2) + "\n")
        os.replace(tmp, self.path)  # atomic: a crash never leaves half a file


class Deployer:
    def __init__(self, project, chain, account, config: Config, record: DeploymentRecord, network_name: str, log=print,
                 fund_test_accounts: bool = True):
        self.project, self.chain, self.account = project, chain, account
        self.config, self.record, self.network_name, self.log = config, record, network_name, log
        self.fund_test_accounts = fund_test_accounts  # local chains: mint the mock tokens to the test accounts
        self.steps: list[Step] = []
        self._new_tokens: set[str] = set()  # mock tokens deployed by this run

    @property
    def is_local(self) -> bool:
        return self.chain.chain_id == LOCAL_CHAIN_ID

    # ------------------------------------------------------------------ plan checks (no broadcast)

    def preflight(self) -> None:
        """Everything that can be refused before the first transaction."""
        if not self.is_local:
            live_addresses(self.config, self.network_name)
            live_collateral_feeds(self.config, self.network_name)
            return
        for m in self.config.markets.values():
            for c in m.collaterals:
                if c.local_price is None:
                    raise ConfigError(f"market {m.name}: collateral {c.token}: no local_price for its local mock feed")

    # ------------------------------------------------------------------ the steps

    def run(self) -> DeploymentRecord:
        self.preflight()
        data = self.record.data
        if "block" not in data:
            data["block"] = self.chain.blocks.head.number
            self.record.save()
        tokens, feeds, collateral_feeds = self._tokens_and_feeds()
        factory = self._contract("factory", "PerpMarketFactory", lambda: self.account.deploy(self.project.PerpMarketFactory))
        router = self._contract(
            "router", "PerpRouter", lambda: self.account.deploy(self.project.PerpRouter, self.account, factory)
        )
        if data.get("fundingRate") != router.fundingRate():
            data["fundingRate"] = router.fundingRate()
            self.record.save()
        self._contract("gateway", "PerpGateway", lambda: self.account.deploy(self.project.PerpGateway, router))
        self._roles(router)
        for market in self.config.markets.values():
            self._market(router, market, tokens[market.collateral], feeds[market.name])
            for c in market.collaterals:
                self._collateral(router, market, c, tokens[c.token], collateral_feeds[(market.name, c.token)])
        if self.is_local and self.fund_test_accounts:
            self._fund_test_accounts(tokens)
        return self.record

    def _tokens_and_feeds(self) -> tuple[dict, dict, dict]:
        """(tokens by symbol, feeds by market, collateral feeds by (market, token))."""
        if not self.is_local:
            tokens, feeds = live_addresses(self.config, self.network_name)
            by_token = live_collateral_feeds(self.config, self.network_name)
            self.record.data["tokens"].update({k: v for k, v in tokens.items() if v})
            self.record.save()
            collateral_feeds = {(m.name, c.token): by_token[c.token] for m in self.config.markets.values()
                                for c in m.collaterals}
            return tokens, feeds, collateral_feeds
        tokens = {}
        for symbol, spec in self.config.tokens.items():
            tokens[symbol] = self._recorded(
                ("tokens", symbol),
                f"mock {symbol}",
                lambda s=symbol, t=spec: self.account.deploy(self.project.MockERC20, t["name"], s, int(t["decimals"])),
            )
            if self.steps[-1].gas_used is not None:
                self._new_tokens.add(symbol)
        feeds, collateral_feeds = {}, {}
        for name, market in self.config.markets.items():
            if market.oracle.type == "pyth":
                feeds[name] = self._mock_pyth(market)
            else:
                feeds[name] = self._mock_feed(("markets", name, "feed"), f"mock feed {name}", market.local_price)
            for c in market.collaterals:
                collateral_feeds[(name, c.token)] = self._mock_feed(
                    ("markets", name, "collaterals", c.token, "feed"), f"mock feed {c.token} for {name}", c.local_price
                )
        return tokens, feeds, collateral_feeds

    def _mock_feed(self, path: tuple, label: str, price) -> str:
        answer = int(price * 10**MOCK_FEED_DECIMALS)
        return self._recorded(
            path, label, lambda: self.account.deploy(self.project.MockV3Aggregator, MOCK_FEED_DECIMALS, answer)
        )

    def _mock_pyth(self, market) -> str:
        """The local MockPyth (one per chain, recorded as "pyth"), with `market`'s price published
        at `local_price` now unless it has a price already (a re-run changes nothing)."""
        address = self._recorded(("pyth",), "mock pyth", lambda: self.account.deploy(self.project.MockPyth, 0))
        pyth = self.project.MockPyth.at(address)
        price_id = bytes.fromhex(market.oracle.price_id[2:])
        try:
            pyth.getPriceUnsafe(price_id)
        except Exception:  # noqa: BLE001 - PriceFeedNotFound: never published on this chain
            answer = int(market.local_price * 10**MOCK_FEED_DECIMALS)
            receipt = pyth.setPrice(price_id, answer, 0, -MOCK_FEED_DECIMALS, self.chain.blocks.head.timestamp,
                                    sender=self.account)
            self.steps.append(Step(f"mock pyth price {market.name}", address, receipt.gas_used))
        return address

    def _market(self, router, market, token: str, feed: str) -> None:
        """`feed` is the Chainlink feed, or for a Pyth market the Pyth contract."""
        entry = self.record.data["markets"].setdefault(market.name, {})
        o = market.oracle
        if o.type == "pyth":
            deploy = lambda: self.account.deploy(  # noqa: E731
                self.project.PythOracle, feed, bytes.fromhex(o.price_id[2:]), o.max_age, o.max_confidence)
            entry.update(oracleType="pyth", pyth=feed, priceId=o.price_id)
        else:
            deploy = lambda: self.account.deploy(  # noqa: E731
                self.project.ChainlinkOracle, feed, market.heartbeat, ZERO_ADDRESS, 0)
            entry.update(feed=feed)
        oracle = self._recorded(("markets", market.name, "oracle"), f"oracle {market.name}" + (" (pyth)" if o.type == "pyth" else ""), deploy)
        entry.update(collateral=market.collateral)
        if "address" in entry and self._has_code(entry["address"]):
            self.steps.append(Step(f"market {market.name}", entry["address"], None))
            return
        receipt = router.createMarket(token, oracle, market.params_tuple(), market.funding_tuple(), sender=self.account)
        [created] = receipt.events.filter(router.MarketCreated)
        entry.update(id=created.marketId, address=created.market)
        self.record.save()
        self.steps.append(Step(f"market {market.name} (id {created.marketId})", created.market, receipt.gas_used))

    def _collateral(self, router, market, c, token: str, feed: str) -> None:
        """Registers `c.token` as collateral of `market` (`router.setCollateral`, which creates the
        market's CollateralPool on the first one), unless the pool already holds it with this
        oracle and these parameters; a changed weight, discount or cap is set again."""
        entry = self.record.data["markets"][market.name]
        node = entry.setdefault("collaterals", {}).setdefault(c.token, {})
        oracle = self._recorded(
            ("markets", market.name, "collaterals", c.token, "oracle"),
            f"oracle {c.token} for {market.name}",
            lambda: self.account.deploy(self.project.ChainlinkOracle, feed, c.heartbeat, ZERO_ADDRESS, 0),
            keep=lambda address: self._oracle_matches(address, feed, c.heartbeat),
        )
        node["feed"] = feed
        params = c.params_tuple(self.config.decimals(c.token))
        label = f"collateral {c.token} for {market.name} ({c.describe()})"
        pool = router.collateralPoolOf(entry["id"])
        if int(pool, 16) != 0:
            entry["collateralPool"] = pool
            registered = self._registered(pool, token)
            if registered is not None and (registered[0].lower(), registered[1]) == (oracle.lower(), params):
                self.record.save()
                self.steps.append(Step(label, pool, None))
                return
        receipt = router.setCollateral(entry["id"], token, oracle, params, sender=self.account)
        entry["collateralPool"] = router.collateralPoolOf(entry["id"])
        self.record.save()
        self.steps.append(Step(label, entry["collateralPool"], receipt.gas_used))

    def _registered(self, pool_address: str, token: str) -> tuple | None:
        """(oracle, (weight, discount, cap)) of `token` in the pool; None if it is not registered."""
        pool = self.project.CollateralPool.at(pool_address)
        if token.lower() not in {t.lower() for t in pool.collateralTokens()}:
            return None
        oracle, params, _, _ = pool.collateralOf(token)  # params: (weight, liquidationDiscount, cap)
        return oracle, tuple(int(x) for x in params)

    def _oracle_matches(self, address: str, feed: str, heartbeat: int) -> bool:
        oracle = self.project.ChainlinkOracle.at(address)
        return oracle.feed().lower() == feed.lower() and int(oracle.heartbeat()) == heartbeat

    def _roles(self, router) -> None:
        for role, setter, getter in (
            ("matcher", router.setMatcher, router.matcher),
            ("guardian", router.setGuardian, router.guardian),
            ("sampler", router.setSampler, None),
        ):
            wanted = self.config.roles.get(role, "deployer")
            address = self.account.address if wanted == "deployer" else wanted
            current = self.record.data["roles"].get(role)
            if current == address and (getter is None or getter() == address):
                continue
            receipt = setter(address, sender=self.account)
            self.record.data["roles"][role] = address
            self.record.save()
            self.steps.append(Step(f"role {role}", address, receipt.gas_used))
        self.record.data["roles"]["owner"] = router.owner()
        self.record.save()

    def _fund_test_accounts(self, tokens: dict) -> None:
        """Mints each mock token to the first test accounts, once per token address: the record's
        `funded` maps symbol -> the token funded (a token added to the config later is funded on
        the next run; a legacy `true` covers the tokens this run did not deploy)."""
        from ape import accounts

        funded = self.record.data.get("funded")
        if funded is True:
            funded = {s: a for s, a in tokens.items() if s not in self._new_tokens}
        funded = dict(funded or {})
        todo = {s: a for s, a in tokens.items() if funded.get(s) != a}
        if not todo:
            if self.record.data.get("funded") != funded:
                self.record.data["funded"] = funded
                self.record.save()
            return
        spec = self.config.local_funding
        count, amount = int(spec.get("accounts", 10)), int(spec.get("amount", 1_000_000))
        amounts = {s: int((spec.get("amounts") or {}).get(s, amount)) for s in todo}
        gas = 0
        for symbol, address in todo.items():
            token = self.project.MockERC20.at(address)
            unit = 10 ** token.decimals()
            for test_account in list(accounts.test_accounts)[:count]:
                gas += token.mint(test_account, amounts[symbol] * unit, sender=self.account).gas_used
            funded[symbol] = address
            self.record.data["funded"] = funded
            self.record.save()
        what = ", ".join(f"{amounts[s]:,} {s}" for s in todo)
        self.steps.append(Step(f"mint {what} to {count} test accounts", "-", gas))

    # ------------------------------------------------------------------ bookkeeping

    def _has_code(self, address: str) -> bool:
        return len(self.chain.provider.get_code(address)) > 0

    def _contract(self, key: str, contract_name: str, deploy: Callable):
        address = self._recorded((key,), key, deploy)
        return getattr(self.project, contract_name).at(address)

    def _recorded(self, path: tuple, label: str, deploy: Callable, keep: Callable[[str], bool] | None = None) -> str:
        """The address at `path` in the record if it has code on chain (and `keep(address)`);
        else deploy and record it."""
        node = self.record.data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        address = node.get(path[-1])
        if address and self._has_code(address) and (keep is None or keep(address)):
            self.steps.append(Step(label, address, None))
            return address
        contract = deploy()
        node[path[-1]] = contract.address
        self.record.save()
        receipt = contract.creation_metadata.receipt if contract.creation_metadata else None
        self.steps.append(Step(label, contract.address, receipt.gas_used if receipt else None))
        return contract.address
