"""Deployment config (`markets.yaml`): loading and validation before anything is broadcast.

Validation mirrors the contracts' hard bounds (`ParamsLib`) and the safety envelope, so a bad
config is refused with one line naming the market and the value, and nothing is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml
from perpkit.model import WAD

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
    "warmup_period",
    "max_open_interest",
    "min_position_size",
]
FUNDING_ORDER = ["interest_rate", "premium_clamp", "rate_cap"]
SECONDS_PARAMS = {"warmup_period"}  # whole seconds, not WAD
WARMUP_BOUNDS = (60, 86_400)  # ParamsLib.MIN_WARMUP_PERIOD, MAX_WARMUP_PERIOD

# ParamsLib.validate(CollateralParams), in WAD; the checks run in its order (discount, weight, cap).
MIN_LIQUIDATION_DISCOUNT = WAD // 100
MAX_LIQUIDATION_DISCOUNT = WAD // 5
MAX_COLLATERAL_WEIGHT = 99 * WAD // 100
MAX_CAP_UNITS = 2**128 - 1
MAX_COLLATERALS = 8  # CollateralPool.MAX_COLLATERALS
MAX_HEARTBEAT = 2 * 86_400
COLLATERAL_KEYS = {"token", "weight", "liquidation_discount", "cap", "heartbeat", "local_price"}
ORACLE_TYPES = ("chainlink", "pyth")
PYTH_MAX_AGE = 86_400  # PythOracle.MAX_AGE
PYTH_MAX_CONFIDENCE = WAD // 10  # PythOracle.MAX_CONFIDENCE
PYTH_KEYS = {"type", "price_id", "max_age", "max_confidence"}


class ConfigError(ValueError):
    """A config that must not be deployed; the message is the one line shown to the user."""


def wad(value) -> int:
    return int(Decimal(str(value)) * WAD)


def _num(value) -> Decimal:
    """A YAML number as an exact Decimal (0.8 stays 0.8); a non-number raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise ValueError(value) from None
    if not number.is_finite():
        raise ValueError(value)
    return number


def _text(value: Decimal | int) -> str:
    """A Decimal as the user wrote it: 0.80 -> 0.8, 10000 -> 10000 (no exponent)."""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass
class CollateralConfig:
    """One non-settlement collateral token a market accepts (`CollateralPool`)."""

    token: str  # symbol in `tokens`
    weight: int  # WAD: share of the USD value that counts as margin
    liquidation_discount: int  # WAD: below the oracle price a liquidator buys it at
    cap: Decimal  # whole tokens, all accounts together
    heartbeat: int  # seconds, the ChainlinkOracle over its feed
    local_price: Decimal | None  # USD: the mock feed's first answer on a local chain

    def cap_units(self, decimals: int) -> int:
        return int(self.cap.scaleb(decimals))

    def params_tuple(self, decimals: int) -> tuple:
        """`CollateralParams(weight, liquidationDiscount, cap)` for `router.setCollateral`."""
        return (self.weight, self.liquidation_discount, self.cap_units(decimals))

    def describe(self) -> str:
        return (f"weight {_text(Decimal(self.weight) / WAD)}, discount {_text(Decimal(self.liquidation_discount) / WAD)}, "
                f"cap {self.cap.normalize():,f} {self.token}")


@dataclass(frozen=True)
class OracleConfig:
    """A market's price source: `chainlink` (a ChainlinkOracle over the network's feed, stale after
    the market's heartbeat) or `pyth` (a PythOracle over the network's Pyth contract and
    `price_id`, stale after `max_age`, refused wider than `max_confidence` of the price)."""

    type: str = "chainlink"
    price_id: str | None = None  # 0x + 64 hex digits
    max_age: int = 0  # seconds
    max_confidence: int = 0  # WAD: widest conf / price accepted


@dataclass
class MarketConfig:
    name: str
    collateral: str
    heartbeat: int
    local_price: Decimal
    params: dict
    funding: dict
    collaterals: list[CollateralConfig] = field(default_factory=list)
    oracle: OracleConfig = field(default_factory=OracleConfig)

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

    def decimals(self, symbol: str) -> int:
        return int(self.tokens[symbol]["decimals"])


def load(path: str | Path) -> Config:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} not found")
    raw = yaml.safe_load(path.read_text()) or {}
    tokens = raw.get("tokens") or {}
    markets = {}
    for name, m in (raw.get("markets") or {}).items():
        try:
            params = {k: int(v) if k in SECONDS_PARAMS else wad(v) for k, v in m["params"].items()}
            funding = {k: wad(v) for k, v in m["funding"].items()}
            markets[name] = MarketConfig(
                name, m["collateral"], int(m["heartbeat"]), Decimal(str(m.get("local_price", 0))), params, funding,
                _collaterals(name, m.get("collaterals")), _oracle(name, m.get("oracle")),
            )
        except KeyError as missing:
            raise ConfigError(f"market {name}: missing {missing}") from None
    config = Config(tokens, markets, raw.get("networks") or {}, raw.get("roles") or {}, raw.get("local_funding") or {})
    validate(config)
    return config


def _oracle(market: str, raw) -> OracleConfig:
    """`oracle: chainlink` (or absent), or `oracle: {type: pyth, price_id, max_age, max_confidence}`."""
    where = f"market {market}: oracle"
    if raw is None or raw == "chainlink":
        return OracleConfig()
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a type name or a mapping with a type")
    kind = raw.get("type")
    if kind not in ORACLE_TYPES:
        raise ConfigError(f"{where}: unknown type {kind!r} (known: {', '.join(ORACLE_TYPES)})")
    if kind == "chainlink":
        return OracleConfig()
    unknown = sorted(set(raw) - PYTH_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]} (keys: {', '.join(sorted(PYTH_KEYS))})")
    price_id = str(raw.get("price_id") or "")
    if len(price_id) != 66 or not price_id.startswith("0x") or not all(c in "0123456789abcdefABCDEF" for c in price_id[2:]):
        raise ConfigError(f"{where}: price_id {price_id!r} is not 0x and 64 hex digits")
    max_age = raw.get("max_age", 60)
    if not isinstance(max_age, int) or not 0 < max_age <= PYTH_MAX_AGE:
        raise ConfigError(f"{where}: max_age {max_age} s outside (0, {PYTH_MAX_AGE}]")
    try:
        confidence = wad(raw.get("max_confidence", 0.02))
    except ArithmeticError:
        raise ConfigError(f"{where}: max_confidence {raw.get('max_confidence')!r} is not a number") from None
    if not 0 < confidence <= PYTH_MAX_CONFIDENCE:
        raise ConfigError(f"{where}: max_confidence = {_text(Decimal(confidence) / WAD)} outside (0, 0.1]")
    return OracleConfig("pyth", price_id, max_age, confidence)


def _collaterals(market: str, raw) -> list[CollateralConfig]:
    """The `collaterals:` list of a market, parsed (bounds are checked by `validate`)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"market {market}: collaterals must be a list of {{token, weight, liquidation_discount, cap, "
                          f"heartbeat, local_price}}")
    out = []
    for i, entry in enumerate(raw):
        where = f"market {market}: collateral {i + 1}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping, got {entry!r}")
        if entry.get("token") is not None:
            where = f"market {market}: collateral {entry['token']}"
        missing = [k for k in ("token", "weight", "liquidation_discount", "cap", "heartbeat") if entry.get(k) is None]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        unknown = sorted(set(entry) - COLLATERAL_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]} (keys: {', '.join(sorted(COLLATERAL_KEYS))})")
        values = {}
        for key in ("weight", "liquidation_discount", "cap", "heartbeat", "local_price"):
            if entry.get(key) is None:
                continue
            try:
                values[key] = _num(entry[key])
            except ValueError:
                raise ConfigError(f"{where}: {key} = {entry[key]!r} is not a number") from None
        if values["heartbeat"] != values["heartbeat"].to_integral_value():
            raise ConfigError(f"{where}: heartbeat {values['heartbeat']} s is not a whole number of seconds")
        out.append(CollateralConfig(
            str(entry["token"]), int(values["weight"] * WAD), int(values["liquidation_discount"] * WAD), values["cap"],
            int(values["heartbeat"]), values.get("local_price"),
        ))
    return out


def validate_collateral(config: Config, m: MarketConfig, c: CollateralConfig) -> None:
    """The bounds of `ParamsLib.validate(CollateralParams)` and `router.setCollateral`, in their order."""
    where = f"market {m.name}: collateral {c.token}"
    if c.token not in config.tokens:
        raise ConfigError(f"{where}: unknown token {c.token} (tokens: {', '.join(sorted(config.tokens))})")
    if c.token == m.collateral:
        raise ConfigError(f"{where} is the market's settlement token")
    lo, hi = MIN_LIQUIDATION_DISCOUNT, MAX_LIQUIDATION_DISCOUNT
    if not lo <= c.liquidation_discount <= hi:
        raise ConfigError(f"{where}: liquidation_discount = {_text(Decimal(c.liquidation_discount) / WAD)} outside "
                          f"[{_text(Decimal(lo) / WAD)}, {_text(Decimal(hi) / WAD)}]")
    top = min(MAX_COLLATERAL_WEIGHT, WAD - c.liquidation_discount)
    if not 0 <= c.weight <= top:
        raise ConfigError(f"{where}: weight = {_text(Decimal(c.weight) / WAD)} outside [0, {_text(Decimal(top) / WAD)}] "
                          f"(at most min(0.99, 1 - liquidation_discount))")
    decimals = config.decimals(c.token)
    units = c.cap.scaleb(decimals)
    if c.cap <= 0:
        raise ConfigError(f"{where}: cap = {_text(c.cap)} must be positive (whole tokens)")
    if units != units.to_integral_value():
        raise ConfigError(f"{where}: cap {_text(c.cap)} has more than {decimals} decimals")
    if units > MAX_CAP_UNITS:
        raise ConfigError(f"{where}: cap {_text(c.cap)} is above 2^128 - 1 token units")
    if not 0 < c.heartbeat <= MAX_HEARTBEAT:
        raise ConfigError(f"{where}: heartbeat {c.heartbeat} s outside (0, {MAX_HEARTBEAT}]")
    if c.local_price is not None and c.local_price <= 0:
        raise ConfigError(f"{where}: local_price = {_text(c.local_price)} must be positive")


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
        lo, hi = WARMUP_BOUNDS
        if not lo <= m.params["warmup_period"] <= hi:
            raise ConfigError(f"market {m.name}: warmup_period {m.params['warmup_period']} s outside [{lo}, {hi}]")
        if m.funding["rate_cap"] < m.funding["interest_rate"]:
            raise ConfigError(f"market {m.name}: rate_cap below interest_rate")
        tokens = [c.token for c in m.collaterals]
        twice = sorted({t for t in tokens if tokens.count(t) > 1})
        if twice:
            raise ConfigError(f"market {m.name}: collateral {twice[0]} listed twice")
        if len(tokens) > MAX_COLLATERALS:
            raise ConfigError(f"market {m.name}: {len(tokens)} collaterals, at most {MAX_COLLATERALS}")
        for c in m.collaterals:
            validate_collateral(config, m, c)
        envelope = m.funding["rate_cap"] + m.params["liquidation_fee"] + m.params["price_band"]
        if m.params["initial_margin_ratio"] <= envelope:
            raise ConfigError(
                f"market {m.name}: outside the safety envelope: initial_margin_ratio "
                f"{Decimal(m.params['initial_margin_ratio']) / WAD} must exceed rate_cap + liquidation_fee + price_band "
                f"= {Decimal(envelope) / WAD}"
            )


def live_addresses(config: Config, network_name: str) -> tuple[dict, dict]:
    """(tokens, feeds) for a live network; refuses a market without a feed or token there. A Pyth
    market's "feed" is the network's Pyth contract (`networks.<name>.pyth`)."""
    net = config.network_addresses(network_name)
    tokens, feeds = net.get("tokens") or {}, dict(net.get("feeds") or {})
    for m in config.markets.values():
        if m.oracle.type == "pyth":
            pyth = net.get("pyth")
            if not pyth or int(pyth, 16) == 0:
                raise ConfigError(f"market {m.name}: a pyth market needs networks.{network_name}.pyth, the Pyth contract")
            feeds[m.name] = pyth
        feed = feeds.get(m.name)
        if not feed:
            raise ConfigError(f"market {m.name}: no feed configured for network {network_name}")
        if int(feed, 16) == 0:
            raise ConfigError(f"market {m.name}: feed for {network_name} is the zero address")
        token = tokens.get(m.collateral)
        if not token or int(token, 16) == 0:
            raise ConfigError(f"market {m.name}: no {m.collateral} token address configured for network {network_name}")
    return tokens, feeds


def live_collateral_feeds(config: Config, network_name: str) -> dict[str, str]:
    """{token: feed} on a live network (`networks.<name>.collateral_feeds`): a token's USD feed is
    the same in every market; refuses a collateral without a feed or a token address there."""
    net = config.network_addresses(network_name)
    tokens, feeds = net.get("tokens") or {}, net.get("collateral_feeds") or {}
    wanted = {}
    for m in config.markets.values():
        for c in m.collaterals:
            feed = feeds.get(c.token)
            if not feed:
                raise ConfigError(f"market {m.name}: no collateral feed for {c.token} configured for network {network_name}")
            if int(feed, 16) == 0:
                raise ConfigError(f"market {m.name}: collateral feed {c.token} for {network_name} is the zero address")
            token = tokens.get(c.token)
            if not token or int(token, 16) == 0:
                raise ConfigError(f"market {m.name}: no {c.token} token address configured for network {network_name}")
            wanted[c.token] = feed
    return wanted
