"""Deployment config (`markets.yaml`): loading and validation before anything is broadcast.

Validation mirrors the contracts' hard bounds (`ParamsLib`) and the safety envelope, so a bad
config is refused with one line naming the market and the value, and nothing is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml

WAD = 10**18
ZERO_ADDRESS = "0x" + "00" * 20

# Hard bounds of ParamsLib.sol, in WAD.
BOUNDS = {
    "initial_margin_ratio": (WAD // 100, WAD),
    "liquidation_fee": (0, 5 * WAD // 100),
    "liquidator_share": (0, WAD),
    "maker_fee": (0, WAD // 100),
    "taker_fee": (0, WAD // 100),
    "price_band": (WAD // 1000, WAD // 5),
    "interest_rate": (0, WAD // 1000),
    "premium_clamp": (0, WAD // 100),
    "rate_cap": (0, 5 * WAD // 100),
}
PARAM_ORDER = [
    "initial_margin_ratio",
    "maintenance_margin_ratio",
    "liquidation_fee",
    "liquidator_share",
    "maker_fee",
    "taker_fee",
    "price_band",
    "max_open_interest",
    "min_position_size",
]
FUNDING_ORDER = ["interest_rate", "premium_clamp", "rate_cap"]


class ConfigError(ValueError):
    """A config that must not be deployed; the message is the one line shown to the user."""


def wad(value) -> int:
    return int(Decimal(str(value)) * WAD)


@dataclass
class MarketConfig:
    name: str
    collateral: str
    heartbeat: int
    local_price: Decimal
    params: dict
    funding: dict

    def params_tuple(self) -> tuple:
        return tuple(self.params[k] for k in PARAM_ORDER)

    def funding_tuple(self) -> tuple:
        return tuple(self.funding[k] for k in FUNDING_ORDER)


@dataclass
class Config:
    tokens: dict
    markets: dict[str, MarketConfig]
    networks: dict
    roles: dict
    local_funding: dict = field(default_factory=dict)

    def network_addresses(self, network_name: str) -> dict:
        return self.networks.get(network_name) or {}


def load(path: str | Path) -> Config:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} not found")
    raw = yaml.safe_load(path.read_text()) or {}
    tokens = raw.get("tokens") or {}
    markets = {}
    for name, m in (raw.get("markets") or {}).items():
        try:
            params = {k: wad(v) for k, v in m["params"].items()}
            funding = {k: wad(v) for k, v in m["funding"].items()}
            markets[name] = MarketConfig(
                name, m["collateral"], int(m["heartbeat"]), Decimal(str(m.get("local_price", 0))), params, funding
            )
        except KeyError as missing:
            raise ConfigError(f"market {name}: missing {missing}") from None
    config = Config(tokens, markets, raw.get("networks") or {}, raw.get("roles") or {}, raw.get("local_funding") or {})
    validate(config)
    return config


def validate(config: Config) -> None:
    if not config.markets:
        raise ConfigError("no markets configured")
    for m in config.markets.values():
        if m.collateral not in config.tokens:
            raise ConfigError(f"market {m.name}: unknown collateral token {m.collateral}")
        if not 0 < m.heartbeat <= 2 * 86_400:
            raise ConfigError(f"market {m.name}: heartbeat {m.heartbeat} s outside (0, 172800]")
        missing = [k for k in PARAM_ORDER if k not in m.params] + [k for k in FUNDING_ORDER if k not in m.funding]
        if missing:
            raise ConfigError(f"market {m.name}: missing parameters {', '.join(missing)}")
        values = {**m.params, **m.funding}
        for key, (lo, hi) in BOUNDS.items():
            if not lo <= values[key] <= hi:
                raise ConfigError(f"market {m.name}: {key} = {Decimal(values[key]) / WAD} outside [{Decimal(lo) / WAD}, {Decimal(hi) / WAD}]")
        if not WAD // 1000 <= m.params["maintenance_margin_ratio"] < m.params["initial_margin_ratio"]:
            raise ConfigError(f"market {m.name}: maintenance_margin_ratio must be in [0.001, initial_margin_ratio)")
        if not 0 < m.params["min_position_size"] <= m.params["max_open_interest"]:
            raise ConfigError(f"market {m.name}: need 0 < min_position_size <= max_open_interest")
        if m.funding["rate_cap"] < m.funding["interest_rate"]:
            raise ConfigError(f"market {m.name}: rate_cap below interest_rate")
        envelope = m.funding["rate_cap"] + m.params["liquidation_fee"] + m.params["price_band"]
        if m.params["initial_margin_ratio"] <= envelope:
            raise ConfigError(
                f"market {m.name}: outside the safety envelope: initial_margin_ratio "
                f"{Decimal(m.params['initial_margin_ratio']) / WAD} must exceed rate_cap + liquidation_fee + price_band "
                f"= {Decimal(envelope) / WAD}"
            )


def live_addresses(config: Config, network_name: str) -> tuple[dict, dict]:
    """(tokens, feeds) for a live network; refuses a market without a feed or token there."""
    net = config.network_addresses(network_name)
    tokens, feeds = net.get("tokens") or {}, net.get("feeds") or {}
    for m in config.markets.values():
        feed = feeds.get(m.name)
        if not feed:
            raise ConfigError(f"market {m.name}: no feed configured for network {network_name}")
        if int(feed, 16) == 0:
            raise ConfigError(f"market {m.name}: feed for {network_name} is the zero address")
        token = tokens.get(m.collateral)
        if not token or int(token, 16) == 0:
            raise ConfigError(f"market {m.name}: no {m.collateral} token address configured for network {network_name}")
    return tokens, feeds
