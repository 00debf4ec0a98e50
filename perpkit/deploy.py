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

from perpkit.config import ZERO_ADDRESS, Config, live_addresses

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
    def __init__(self, project, chain, account, config: Config, record: DeploymentRecord, network_name: str, log=print):
        self.project, self.chain, self.account = project, chain, account
        self.config, self.record, self.network_name, self.log = config, record, network_name, log
        self.steps: list[Step] = []

    @property
    def is_local(self) -> bool:
        return self.chain.chain_id == LOCAL_CHAIN_ID

    # ------------------------------------------------------------------ plan checks (no broadcast)

    def preflight(self) -> None:
        """Everything that can be refused before the first transaction."""
        if not self.is_local:
            live_addresses(self.config, self.network_name)

    # ------------------------------------------------------------------ the steps

    def run(self) -> DeploymentRecord:
        self.preflight()
        data = self.record.data
        if "block" not in data:
            data["block"] = self.chain.blocks.head.number
            self.record.save()
        tokens, feeds = self._tokens_and_feeds()
        factory = self._contract("factory", "PerpMarketFactory", lambda: self.account.deploy(self.project.PerpMarketFactory))
        router = self._contract(
            "router", "PerpRouter", lambda: self.account.deploy(self.project.PerpRouter, self.account, factory)
        )
        if data.get("fundingRate") != router.fundingRate():
            data["fundingRate"] = router.fundingRate()
            self.record.save()
        self._roles(router)
        for market in self.config.markets.values():
            self._market(router, market, tokens[market.collateral], feeds[market.name])
        if self.is_local:
            self._fund_test_accounts(tokens)
        return self.record

    def _tokens_and_feeds(self) -> tuple[dict, dict]:
        if not self.is_local:
            tokens, feeds = live_addresses(self.config, self.network_name)
            self.record.data["tokens"].update({k: v for k, v in tokens.items() if v})
            self.record.save()
            return tokens, feeds
        tokens = {}
        for symbol, spec in self.config.tokens.items():
            tokens[symbol] = self._recorded(
                ("tokens", symbol),
                f"mock {symbol}",
                lambda s=symbol, t=spec: self.account.deploy(self.project.MockERC20, t["name"], s, int(t["decimals"])),
            )
        feeds = {}
        for name, market in self.config.markets.items():
            answer = int(market.local_price * 10**MOCK_FEED_DECIMALS)
            feeds[name] = self._recorded(
                ("markets", name, "feed"),
                f"mock feed {name}",
                lambda a=answer: self.account.deploy(self.project.MockV3Aggregator, MOCK_FEED_DECIMALS, a),
            )
        return tokens, feeds

    def _market(self, router, market, token: str, feed: str) -> None:
        entry = self.record.data["markets"].setdefault(market.name, {})
        oracle = self._recorded(
            ("markets", market.name, "oracle"),
            f"oracle {market.name}",
            lambda: self.account.deploy(self.project.ChainlinkOracle, feed, market.heartbeat, ZERO_ADDRESS, 0),
        )
        entry.update(feed=feed, collateral=market.collateral)
        if "address" in entry and self._has_code(entry["address"]):
            self.steps.append(Step(f"market {market.name}", entry["address"], None))
            return
        receipt = router.createMarket(token, oracle, market.params_tuple(), market.funding_tuple(), sender=self.account)
        [created] = receipt.events.filter(router.MarketCreated)
        entry.update(id=created.marketId, address=created.market)
        self.record.save()
        self.steps.append(Step(f"market {market.name} (id {created.marketId})", created.market, receipt.gas_used))

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
        if self.record.data.get("funded"):
            return
        from ape import accounts

        spec = self.config.local_funding
        count, amount = int(spec.get("accounts", 10)), int(spec.get("amount", 1_000_000))
        gas = 0
        for symbol, address in tokens.items():
            token = self.project.MockERC20.at(address)
            unit = 10 ** token.decimals()
            for test_account in list(accounts.test_accounts)[:count]:
                gas += token.mint(test_account, amount * unit, sender=self.account).gas_used
        self.record.data["funded"] = True
        self.record.save()
        self.steps.append(Step(f"mint {amount:,} of each token to {count} test accounts", "-", gas))

    # ------------------------------------------------------------------ bookkeeping

    def _has_code(self, address: str) -> bool:
        return len(self.chain.provider.get_code(address)) > 0

    def _contract(self, key: str, contract_name: str, deploy: Callable):
        address = self._recorded((key,), key, deploy)
        return getattr(self.project, contract_name).at(address)

    def _recorded(self, path: tuple, label: str, deploy: Callable) -> str:
        """The address at `path` in the record if it has code on chain; else deploy and record it."""
        node = self.record.data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        address = node.get(path[-1])
        if address and self._has_code(address):
            self.steps.append(Step(label, address, None))
            return address
        contract = deploy()
        node[path[-1]] = contract.address
        self.record.save()
        receipt = contract.creation_metadata.receipt if contract.creation_metadata else None
        self.steps.append(Step(label, contract.address, receipt.gas_used if receipt else None))
        return contract.address
