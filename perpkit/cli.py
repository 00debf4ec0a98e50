"""`perpkit`: the trader's command line over a deployment.

    perpkit markets
    perpkit --account TEST::1 deposit BTC-USD 10000
    perpkit --account TEST::1 deposit BTC-USD 2.5 WETH      # other collateral (see `perpkit collaterals`)
    perpkit --account TEST::1 order BTC-USD 0.5 --price 60000 --leverage 5
    perpkit positions --account 0x...
    perpkit margin --account TEST::1                       # capital, collateral per token, debt, total
    perpkit funding

It connects through ape (`--network`, an ape network choice; on `<ecosystem>:local:*` the node at
`--rpc`, default http://127.0.0.1:8545), finds the contracts in `<deployments>/<chainId>.json`
(written by `ape run deploy`) and their ABIs in the project's `.build`, so run it from the project
root. Every failure is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from perpkit import positions as pos
from perpkit.model import WAD
from perpkit.orders import Order, order_digest, sign_order, typed_data
from perpkit.units import _dec, fmt_num, fmt_pct, fmt_size, fmt_token

INDEX_SCALE = 10**27
LOCAL_RPC = "http://127.0.0.1:8545"
_DURATION = re.compile(r"(\d+)([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


class Fail(click.ClickException):
    """A refusal: printed as `Error: <one line>` on stderr, exit code 1."""


# ---------------------------------------------------------------------------------- formatting


def parse_decimal(text: str, what: str, allow_negative: bool = False) -> Decimal:
    """A finite decimal of the right sign (non-zero; negative only where `allow_negative`)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Fail(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise Fail(f"{what} {text!r} is not a number")
    if value == 0 or (value < 0 and not allow_negative):
        raise Fail(f"{what} must be {'non-zero' if allow_negative else 'positive'}, got {text}")
    return value


def to_units(text: str, decimals: int, what: str, allow_negative: bool = False) -> int:
    """A decimal string to an integer of `decimals` places, exactly."""
    units = parse_decimal(text, what, allow_negative).scaleb(decimals)
    if units != units.to_integral_value():
        raise Fail(f"{what} {text} has more than {decimals} decimals")
    return int(units)


class DecimalText(click.ParamType):
    """A decimal argument checked by click as it parses, so a bad value is named before a missing
    option or anything on chain; the text is kept, since its places are checked against the
    token's decimals once the token is known."""

    name = "decimal"

    def __init__(self, what: str, allow_negative: bool = False):
        self.what, self.allow_negative = what, allow_negative

    def convert(self, value, param, ctx):
        parse_decimal(value, self.what, self.allow_negative)
        return value


def parse_expiry(text: str, now: int) -> int:
    """`90`, `30m`, `12h`, `7d` from now (chain time), or an absolute unix time (>= 1e9)."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise Fail(f"expiry {text!r}: use seconds, 30m, 12h, 7d or a unix time")
    number, unit = int(match.group(1)), match.group(2)
    if unit == "" and number >= 1_000_000_000:
        if number <= now:
            raise Fail(f"expiry {number} is in the past (chain time {now})")
        return number
    if number == 0:
        raise Fail("expiry must be in the future")
    return now + number * _UNITS[unit]


def _console():
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 240)  # no clipped addresses in pipes


def _table(title: str, columns: list[str]):
    from rich.table import Table

    table = Table(title=title)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right", no_wrap=True)
    return table


# ---------------------------------------------------------------------------------- connection


def probe_rpc(url: str, timeout: float = 5.0) -> int:
    """The chain id at `url` (eth_chainId); a one-line Fail when nothing answers."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.loads(response.read())
        return int(reply["result"], 16)
    except urllib.error.URLError as err:
        reason = getattr(err, "reason", err)
        raise Fail(f"cannot reach RPC {url}: {reason}") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise Fail(f"cannot reach RPC {url}: {type(err).__name__}: {err}") from None


class Session:
    """Lazily connected: `--help` and argument errors never touch ape or the network."""

    def __init__(self, ctx: click.Context, network: str, rpc: str | None, deployments: str, account: str | None):
        self.ctx, self.network_choice, self.rpc = ctx, network, rpc
        self.deployments, self.account_alias = Path(deployments), account
        self._connected = False
        self._decoder = None
        self.record: dict = {}

    # -- ape, quiet: this command prints its own lines
    @staticmethod
    def ape():
        import ape
        from ape.logging import logger

        logger.disable()
        return ape

    def connect(self) -> "Session":
        if self._connected:
            return self
        choice = self.network_choice
        parts = choice.split(":")
        local = len(parts) > 1 and parts[1] == "local"
        settings: dict = {}
        embedded = re.search(r"https?://\S+", choice)  # e.g. ethereum:local:http://127.0.0.1:8546
        url = embedded.group(0) if embedded else self.rpc
        if url is None and local:
            url = LOCAL_RPC
        if url is not None and not embedded:
            settings["uri"] = url
        if url is not None:
            chain_id = probe_rpc(url)  # before importing ape: a node that is down fails fast
            if local:
                # ape-node assumes geth --dev's chain id 1337 on a local network: give it the node's.
                settings["ethereum"] = {"local": {"uri": url, "chain_id": chain_id}}
        ape = self.ape()
        manager = ape.networks.parse_network_choice(choice, provider_settings=settings or None)
        provider = manager._provider  # not connected yet
        if hasattr(provider, "allow_start"):
            provider.allow_start = False  # never start a node: say that none answers
        if url is None:
            configured = provider.uri
            if str(configured).startswith("http"):
                probe_rpc(configured)
        self.ctx.with_resource(manager)
        self._connected = True
        self.chain_id = ape.chain.provider.chain_id
        self._load_record()
        return self

    def _load_record(self) -> None:
        path = self.deployments / f"{self.chain_id}.json"
        if not path.is_file():
            raise Fail(f"no deployment record for chain {self.chain_id}: {path} not found (run `ape run deploy` there)")
        try:
            self.record = json.loads(path.read_text())
        except ValueError as err:
            raise Fail(f"{path} is not valid JSON: {err}") from None
        self._checksum_addresses(path)
        router = self.record.get("router")
        if not router or not self.markets():
            raise Fail(f"{path} holds no router or markets: the deploy did not finish (rerun `ape run deploy`)")
        if len(self.ape().chain.provider.get_code(router)) == 0:
            raise Fail(f"{path} names router {router}, which has no code on chain {self.chain_id} (stale record?)")

    def _checksum_addresses(self, path: Path) -> None:
        """Record addresses in checksum form (a hand-edited record may be lower case)."""
        from eth_utils import is_address, to_checksum_address

        def fix(where: str, value):
            if not isinstance(value, str) or not is_address(value):
                raise Fail(f"{path}: {where} = {value!r} is not an address")
            return to_checksum_address(value)

        rec = self.record
        for key in ("router", "fundingRate"):
            if key in rec:
                rec[key] = fix(key, rec[key])
        for symbol, address in (rec.get("tokens") or {}).items():
            rec["tokens"][symbol] = fix(f"tokens.{symbol}", address)
        for name, entry in (rec.get("markets") or {}).items():
            for key in ("address", "oracle", "feed", "collateralPool"):
                if key in entry:
                    entry[key] = fix(f"markets.{name}.{key}", entry[key])
            for symbol, c in (entry.get("collaterals") or {}).items():
                for key in ("oracle", "feed"):
                    if key in c:
                        c[key] = fix(f"markets.{name}.collaterals.{symbol}.{key}", c[key])

    # -- contracts
    def container(self, name: str):
        ct = self.ape().project.contracts.get(name, compile_missing=False, check_for_changes=False)
        if ct is None:
            raise Fail(f"no ABI for {name} in .build: run perpkit from the project root after `ape compile`")
        return ct

    def at(self, name: str, address: str):
        return self.container(name).at(address)

    @property
    def router(self):
        return self.at("PerpRouter", self.record["router"])

    @property
    def funding(self):
        return self.at("FundingRate", self.record["fundingRate"])

    def markets(self) -> list[tuple[str, dict]]:
        entries = [(n, m) for n, m in (self.record.get("markets") or {}).items() if "address" in m and "id" in m]
        return sorted(entries, key=lambda item: item[1]["id"])

    def market(self, key: str) -> tuple[str, dict]:
        for name, entry in self.markets():
            if key.upper() == name.upper() or key == str(entry["id"]):
                return name, entry
        known = ", ".join(n for n, _ in self.markets())
        raise Fail(f"unknown market {key!r} on chain {self.chain_id} (markets: {known})")

    # -- accounts
    def account(self, alias: str | None = None):
        alias = alias or self.account_alias
        if not alias:
            raise Fail("no account: pass --account ALIAS (an ape account alias or TEST::n)")
        accounts = self.ape().accounts
        if alias.upper().startswith("TEST::"):
            index = alias[6:]
            if not index.isdigit() or int(index) >= len(accounts.test_accounts):
                raise Fail(f"no test account {alias!r} (TEST::0 to TEST::{len(accounts.test_accounts) - 1})")
            return accounts.test_accounts[int(index)]
        if alias not in list(accounts.aliases):
            raise Fail(f"no ape account {alias!r} (see `ape accounts list`; TEST::n for test accounts)")
        account = accounts.load(alias)
        if os.environ.get(f"APE_ACCOUNTS_{alias}_PASSPHRASE"):
            account.set_autosign(True)  # unlocks with the passphrase from the environment
        return account

    def address_of(self, who: str | None) -> str:
        from eth_utils import is_address, to_checksum_address

        if who and is_address(who):
            return to_checksum_address(who)
        return self.account(who).address

    # -- errors
    def describe(self, err: BaseException) -> str:
        from perpkit.errors import ErrorDecoder

        if self._decoder is None:
            try:
                manifest = self.ape().project.manifest
                abis = [[item.model_dump(mode="json") for item in ct.abi] for ct in (manifest.contract_types or {}).values()]
            except Exception:  # no project: decode Error(string) and panics only
                abis = []
            self._decoder = ErrorDecoder(abis)
        return self._decoder.describe(err, human=True, tokens=self._token_units())

    def _token_units(self) -> dict[str, tuple[str, int]]:
        """Checksummed address -> (symbol, decimals) of the deployment's tokens, so an error
        naming a token prints its amounts in that token's units; {} where the chain is unreachable."""
        from eth_utils import to_checksum_address

        units: dict[str, tuple[str, int]] = {}
        try:
            for symbol, address in (self.record.get("tokens") or {}).items():
                units[to_checksum_address(address)] = (symbol, int(self.at("MockERC20", address).decimals()))
        except Exception:  # noqa: BLE001 - the error line still prints, with raw token amounts
            pass
        return units


class _Group(click.Group):
    """Turns any exception of a command into one line on stderr and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:  # a revert, a dropped RPC, a bad record: one line
            from perpkit.errors import revert_data

            session = ctx.obj if isinstance(ctx.obj, Session) else None
            if session is not None and revert_data(err) is not None:
                line = session.describe(err)
            else:  # ape's messages may span lines (e.g. the network options): fold them into one
                line = " ".join(str(err).split()) or type(err).__name__
                line = line if len(line) <= 300 else line[:297] + "..."
            raise Fail(line) from None


# ---------------------------------------------------------------------------------- commands


@click.group(cls=_Group)
@click.option("--network", default="ethereum:local:node", show_default=True, envvar="PERPKIT_NETWORK",
              help="ape network choice, e.g. fraxtal:testnet:node")
@click.option("--rpc", default=None, envvar="PERPKIT_RPC",
              help=f"RPC URL [default: {LOCAL_RPC} on local networks, the configured one elsewhere]")
@click.option("--deployments", default="deployments", show_default=True, envvar="PERPKIT_DEPLOYMENTS",
              help="folder of the <chainId>.json records")
@click.option("--account", default=None, envvar="PERPKIT_ACCOUNT", help="ape account alias or TEST::n")
@click.pass_context
def cli(ctx, network, rpc, deployments, account):
    """Trade on a perpkit deployment."""
    ctx.obj = Session(ctx, network, rpc, deployments, account)


def _session(ctx) -> Session:
    return ctx.obj.connect()


def _collateral(s: Session, entry: dict):
    token = s.at("MockERC20", s.record["tokens"][entry["collateral"]])  # any ERC-20: the ABI is a superset
    return token, int(token.decimals())


def _index_price(s: Session, market) -> int | None:
    ok, price = s.at("ChainlinkOracle", market.oracle()).tryPrice()
    return int(price) if ok else None


ZERO = "0x" + "00" * 20


def _pool(s: Session, entry: dict):
    """The market's CollateralPool, or None when it accepts no other collateral."""
    address = entry.get("collateralPool") or s.router.collateralPoolOf(entry["id"])
    return None if int(address, 16) == 0 else s.at("CollateralPool", address)


def _symbol(s: Session, address: str) -> str:
    for symbol, known in (s.record.get("tokens") or {}).items():
        if known.lower() == address.lower():
            return symbol
    return str(s.at("MockERC20", address).symbol())


def _token_address(s: Session, text: str) -> tuple[str, str]:
    """(symbol, address) of a token named by its symbol in the record, or by its address."""
    from eth_utils import is_address, to_checksum_address

    tokens = s.record.get("tokens") or {}
    if is_address(text):
        address = to_checksum_address(text)
        return _symbol(s, address), address
    for symbol, address in tokens.items():
        if symbol.upper() == text.upper():
            return symbol, address
    raise Fail(f"unknown token {text!r} on chain {s.chain_id} (tokens: {', '.join(tokens)})")


def _accepted(s: Session, name: str, entry: dict, symbol: str, address: str):
    """The pool of a market that accepts `address` as other collateral; else a one-line Fail."""
    pool = _pool(s, entry)
    tokens = [] if pool is None else list(pool.collateralTokens())
    if address.lower() not in {t.lower() for t in tokens}:
        other = ", ".join(_symbol(s, t) for t in tokens) or "none"
        raise Fail(f"{name} does not accept {symbol} as collateral (settlement token {entry['collateral']}; "
                   f"other collateral: {other})")
    return pool


def _collateral_rows(s: Session, pool, account: str) -> list[dict]:
    """Per registered token: symbol, decimals, balance, price (None: oracle down), weight, the margin
    it counts for (WAD) and whether it is priced, from `pool.balancesOf(account)`."""
    tokens, balances, values, priced = pool.balancesOf(account)
    rows = []
    for token, balance, value, ok in zip(tokens, balances, values, priced):
        oracle, params, _, _ = pool.collateralOf(token)
        has_price, price = s.at("ChainlinkOracle", oracle).tryPrice()
        decimals = int(s.at("MockERC20", token).decimals())
        weight, discount, cap = (int(x) for x in params)
        rows.append(dict(token=token, symbol=_symbol(s, token), decimals=decimals, balance=int(balance),
                         price=int(price) if has_price and int(price) > 0 else None, weight=weight, discount=discount,
                         cap=cap, value=int(value), priced=bool(ok)))
    return rows


@cli.command()
@click.pass_context
def markets(ctx):
    """Markets of the deployment: prices, open interest, margin and fees."""
    s = _session(ctx)
    funding = s.funding
    table = _table(
        f"perpkit markets on chain {s.chain_id} (router {s.record['router']})",
        ["market", "id", "collateral", "index", "mark", "open interest (long / short / cap)", "max leverage",
         "maint. margin", "maker / taker fee", "status"],
    )
    for name, entry in s.markets():
        market = s.at("PerpMarket", entry["address"])
        p = market.params()
        index = _index_price(s, market)
        mark = int(funding.markPrice(entry["id"])) if index is not None else None
        longs, shorts = market.openInterest()
        table.add_row(
            name, str(entry["id"]), entry["collateral"], fmt_num(index), fmt_num(mark),
            f"{fmt_num(longs, 4)} / {fmt_num(shorts, 4)} / {fmt_num(p.maxOpenInterest, 0)}",
            f"{pos.max_leverage(p.initialMarginRatio):.1f}x", fmt_pct(p.maintenanceMarginRatio, 2).lstrip("+"),
            f"{fmt_pct(p.makerFee, 3).lstrip('+')} / {fmt_pct(p.takerFee, 3).lstrip('+')}",
            "paused" if market.paused() else ("oracle down" if index is None else "active"),
        )
    _console().print(table)


def _move(ctx, market_key: str, amount_text: str, deposit: bool, token_text: str | None = None) -> None:
    s = _session(ctx)
    name, entry = s.market(market_key)
    if token_text is not None:
        symbol, address = _token_address(s, token_text)
        if address.lower() != s.record["tokens"][entry["collateral"]].lower():
            return _move_collateral(s, name, entry, symbol, address, amount_text, deposit)
    account = s.account()
    token, decimals = _collateral(s, entry)
    symbol = entry["collateral"]
    amount = to_units(amount_text, decimals, "amount")
    router, market = s.router, s.at("PerpMarket", entry["address"])
    if deposit:
        _approve(token, account, router, amount, decimals, symbol)
        router.deposit(entry["id"], amount, sender=account)
        verb = "deposited"
    else:
        router.withdraw(entry["id"], amount, sender=account)
        verb = "withdrew"
    capital = int(market.capitalOf(account))
    click.echo(f"{verb} {fmt_token(amount, decimals, symbol)} {'into' if deposit else 'from'} {name} "
               f"for {account.address}; capital now {fmt_num(capital)} USD")


def _approve(token, account, router, amount: int, decimals: int, symbol: str) -> None:
    """Refuses an amount the account does not hold; approves the router for it if needed."""
    balance = int(token.balanceOf(account))
    if balance < amount:
        raise Fail(f"{account.address} holds {fmt_token(balance, decimals, symbol)}, "
                   f"less than {fmt_token(amount, decimals, symbol)}")
    if int(token.allowance(account, router)) < amount:
        token.approve(router, amount, sender=account)


def _move_collateral(s: Session, name: str, entry: dict, symbol: str, address: str, amount_text: str,
                     deposit: bool) -> None:
    """Deposit or withdraw a non-settlement collateral token (`router.depositCollateral` /
    `withdrawCollateral`); the market must accept it."""
    pool = _accepted(s, name, entry, symbol, address)
    token = s.at("MockERC20", address)  # any ERC-20: the ABI is a superset
    decimals = int(token.decimals())
    amount = to_units(amount_text, decimals, "amount")
    account = s.account()
    router, market = s.router, s.at("PerpMarket", entry["address"])
    if deposit:
        _approve(token, account, router, amount, decimals, symbol)
        router.depositCollateral(entry["id"], address, amount, sender=account)
    else:
        held = int(pool.balanceOf(account, address))
        if held < amount:
            raise Fail(f"{account.address} holds {fmt_token(held, decimals, symbol)} as collateral in {name}, "
                       f"less than {fmt_token(amount, decimals, symbol)}")
        router.withdrawCollateral(entry["id"], address, amount, sender=account)
    [row] = [r for r in _collateral_rows(s, pool, account.address) if r["token"].lower() == address.lower()]
    counts = f"counts for {fmt_num(row['value'])} USD" if row["priced"] else "oracle down: counts for 0"
    click.echo(f"{'deposited' if deposit else 'withdrew'} {fmt_token(amount, decimals, symbol)} "
               f"{'into' if deposit else 'from'} {name} for {account.address}; "
               f"{symbol} held {fmt_token(row['balance'], decimals, symbol)} ({counts}), "
               f"account value now {fmt_num(int(market.accountValue(account)))} USD")


@cli.command(context_settings={"ignore_unknown_options": True})  # `-5` is a bad amount, not an option
@click.argument("market")
@click.argument("amount", type=DecimalText("amount"))
@click.argument("token", required=False)
@click.pass_context
def deposit(ctx, market, amount, token):
    """Deposit AMOUNT whole tokens of MARKET's collateral (MARKET: name or id; AMOUNT: e.g. 1000.5).

    TOKEN (a symbol such as WETH, or an address) deposits another collateral token the market
    accepts (see `perpkit collaterals`); without it, the settlement token."""
    _move(ctx, market, amount, deposit=True, token_text=token)


@cli.command(context_settings={"ignore_unknown_options": True})  # `-5` is a bad amount, not an option
@click.argument("market")
@click.argument("amount", type=DecimalText("amount"))
@click.argument("token", required=False)
@click.pass_context
def withdraw(ctx, market, amount, token):
    """Withdraw AMOUNT (whole tokens) of collateral from MARKET; TOKEN as for `deposit`."""
    _move(ctx, market, amount, deposit=False, token_text=token)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("market")
@click.argument("size", type=DecimalText("size", allow_negative=True))
@click.option("--price", required=True, type=DecimalText("price"), help="limit price in USD per base unit")
@click.option("--leverage", required=True, type=DecimalText("leverage"), help="leverage to carry the position at, e.g. 5")
@click.option("--reduce-only", is_flag=True, help="may only shrink the position")
@click.option("--expiry", default="1d", show_default=True, help="seconds or 30m / 12h / 7d from now, or a unix time")
@click.option("--nonce", type=int, default=None, help="order nonce [default: unix time in ms]")
@click.option("--submit", "submit_url", default=None, help="POST the signed order as JSON to this URL")
@click.pass_context
def order(ctx, market, size, price, leverage, reduce_only, expiry, nonce, submit_url):
    """Sign an order for SIZE base units of MARKET (+ buys / long, - sells / short; e.g. -0.5).

    Checks first that the account's margin carries the resulting position at --leverage. Prints
    the EIP-712 order, its hash and signature as JSON, or POSTs them with --submit.
    """
    delta = to_units(size, 18, "size", allow_negative=True)
    limit = to_units(price, 18, "price")
    lev = parse_decimal(leverage, "leverage")

    s = _session(ctx)
    name, entry = s.market(market)
    account = s.account()
    ape = s.ape()
    router, mkt = s.router, s.at("PerpMarket", entry["address"])
    p = mkt.params()
    held = int(mkt.positionOf(account)[0])

    top = pos.max_leverage(p.initialMarginRatio)
    if lev > top:
        raise Fail(f"leverage {lev}x exceeds {name}'s maximum {top:.1f}x")
    if reduce_only and pos.increases_risk(held, delta):
        raise Fail(f"a reduce-only order must shrink the position: {name} size {fmt_size(held)}, order {fmt_size(delta)}")
    value = int(mkt.accountValue(account))
    short = pos.margin_shortfall(value, held, delta, limit, lev, p.takerFee)
    if short:
        _, decimals = _collateral(s, entry)
        scale = 10 ** (18 - decimals)
        need = pos.required_margin(held, delta, limit, lev, p.takerFee)
        raise Fail(
            f"margin too low: {name} account value {fmt_num(value)} USD cannot carry {fmt_size(held + delta)} "
            f"at {fmt_num(limit)} at {lev}x (needs {fmt_num(need)} USD); deposit "
            f"{fmt_token(-(-short // scale), decimals, entry['collateral'])} more"
        )

    now = ape.chain.blocks.head.timestamp
    nonce = max(int(router.minNonce(account)), int(time.time() * 1000)) if nonce is None else nonce
    the_order = Order(account.address, int(entry["id"]), delta, limit, nonce, parse_expiry(expiry, now), reduce_only)
    signature = _sign(account, the_order, s.chain_id, s.record["router"])
    payload = {
        "chainId": s.chain_id,
        "router": s.record["router"],
        "market": name,
        "order": {k: (str(v) if k in ("size", "limitPrice", "nonce", "expiry") else v) for k, v in the_order.message().items()},
        "hash": "0x" + order_digest(the_order, s.chain_id, s.record["router"]).hex(),
        "signature": "0x" + signature.hex(),
    }
    if submit_url is None:
        click.echo(json.dumps(payload, indent=2))
        return
    _submit(submit_url, the_order, signature, payload["hash"])


def _submit(url: str, the_order: Order, signature: bytes, order_hash: str) -> None:
    """Post the order to the matching engine at URL (its base URL, or its /orders endpoint)
    through the engine's own client, and print the book's answer: resting, fills, or the reason."""
    from perpkit.engine.api import ApiClient

    base = url.rstrip("/").removesuffix("/orders")
    try:
        status, body = ApiClient(base, timeout=10).submit(the_order, signature)
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise Fail(f"submit to {base} failed: {getattr(err, 'reason', err)}") from None
    if not body.get("accepted"):
        raise Fail(f"order {order_hash} refused by {base}: HTTP {status} {body.get('reason', '')} {body.get('detail', '')}".rstrip())
    fills = body.get("fills", [])
    click.echo(f"order {order_hash} accepted by {base}: {len(fills)} fill(s), resting {fmt_size(int(body.get('resting', 0)))}")
    for f in fills:
        click.echo(f"  filled {fmt_size(int(f['amount']))} at {fmt_num(int(f['price']))} (maker {f['maker']}, taker {f['taker']})")


def _sign(account, the_order: Order, chain_id: int, router: str) -> bytes:
    key = getattr(account, "private_key", None)
    if key:
        return sign_order(the_order, key, chain_id, router)
    from eth_account.messages import encode_typed_data

    signature = account.sign_message(encode_typed_data(full_message=typed_data(the_order, chain_id, router)))
    if signature is None:
        raise Fail("the order was not signed")
    return bytes(signature.encode_rsv())


def _funding_paid(s: Session, market_address: str, who: str) -> int | None:
    """Funding the account has paid (+) or received (-) so far, from FundingSettled logs."""
    from eth_abi import decode
    from eth_utils import keccak

    topic = "0x" + keccak(text="FundingSettled(address,int256,int256)").hex()
    account_topic = "0x" + "00" * 12 + who[2:].lower()
    try:
        logs = s.ape().chain.provider.web3.eth.get_logs({
            "address": market_address, "topics": [topic, account_topic],
            "fromBlock": int(s.record.get("block", 0)), "toBlock": "latest",
        })
    except Exception:  # an RPC that limits log ranges: show "-" rather than fail
        return None
    return sum(decode(["int256", "int256"], bytes(log["data"]))[0] for log in logs)


@cli.command()
@click.option("--account", "who", default=None, help="address, ape alias or TEST::n [default: the global --account]")
@click.pass_context
def positions(ctx, who):
    """Open positions and deposits of an account in every market."""
    s = _session(ctx)
    address = s.address_of(who or s.account_alias)
    funding = s.funding
    table = _table(
        f"positions of {address} on chain {s.chain_id}",
        ["market", "size", "entry", "mark", "unrealised PnL", "funding paid (pending)", "capital",
         "account value", "margin ratio (maint.)", "liq. price"],
    )
    rows = 0
    for name, entry in s.markets():
        market = s.at("PerpMarket", entry["address"])
        size, open_notional, snapshot = (int(x) for x in market.positionOf(address))
        capital, pnl = int(market.capitalOf(address)), int(market.pnlOf(address))
        if size == 0 and capital == 0 and pnl == 0 and not _holds_collateral(s, entry, address):
            continue
        rows += 1
        mmr = int(market.params().maintenanceMarginRatio)
        value = int(market.accountValue(address))
        mark = int(funding.markPrice(entry["id"])) if size else None
        pending = pos.pending_funding(size, int(funding.fundingIndex(entry["id"])), snapshot) if size else 0
        paid = _funding_paid(s, entry["address"], address)
        ratio = pos.margin_ratio(value, size, mark) if size else None
        table.add_row(
            name, fmt_size(size), fmt_num(pos.entry_price(size, open_notional)), fmt_num(mark),
            fmt_num(pos.unrealised_pnl(size, open_notional, mark) if size else 0, sign=True),
            f"{fmt_num(paid, 4, sign=True)} ({fmt_num(pending, 4, sign=True)})",
            fmt_num(capital), fmt_num(value),
            f"{fmt_pct(ratio, 2).lstrip('+')} ({fmt_pct(mmr, 2).lstrip('+')})" if size else "-",
            fmt_num(pos.liquidation_price(size, value, mark, mmr)) if size else "-",
        )
    if not rows:
        click.echo(f"{address} has no positions or deposits on chain {s.chain_id}")
        return
    _console().print(table)


def _holds_collateral(s: Session, entry: dict, address: str) -> bool:
    pool = _pool(s, entry)
    return pool is not None and bool(pool.holdsCollateral(address))


def _weight(wad: int) -> str:
    return f"{_dec(wad):.4f}".rstrip("0").rstrip(".") if wad % (WAD // 100) else f"{_dec(wad):.2f}"


@cli.command()
@click.argument("market", required=False)
@click.option("--account", "who", default=None, help="address, ape alias or TEST::n [default: the global --account]")
@click.pass_context
def margin(ctx, market, who):
    """What an account's margin is made of, per market (or MARKET only): the settlement-token
    capital, each collateral token's balance, price, weight and the margin it counts for, the debt
    (a loss beyond capital, backed by the collateral), PnL and the total margin value."""
    s = _session(ctx)
    address = s.address_of(who or s.account_alias)
    chosen = [s.market(market)] if market else s.markets()
    shown = 0
    for name, entry in chosen:
        market_ = s.at("PerpMarket", entry["address"])
        size = int(market_.positionOf(address)[0])
        capital, pnl = int(market_.capitalOf(address)), int(market_.pnlOf(address))
        pool = _pool(s, entry)
        tokens = [] if pool is None else _collateral_rows(s, pool, address)
        if not market and size == 0 and capital == 0 and pnl == 0 and not any(t["balance"] for t in tokens):
            continue
        shown += 1
        settlement = entry["collateral"]
        table = _table(f"{name} margin of {address} on chain {s.chain_id}",
                       ["source", "balance", "price (USD)", "weight", "margin (USD)"])
        table.add_row(f"{settlement} capital", fmt_token(capital, 18, settlement), "1.00", "1.00", fmt_num(capital))
        for t in tokens:
            table.add_row(t["symbol"], fmt_token(t["balance"], t["decimals"], t["symbol"]),
                          fmt_num(t["price"]) if t["price"] is not None else "oracle down", _weight(t["weight"]),
                          fmt_num(t["value"]) if t["priced"] else "0.00 (no price)")
        if size:
            index = _index_price(s, market_)
            value = int(market_.accountValue(address)) if index is not None else None
        else:
            value = int(market_.accountValue(address))
        collateral_value = sum(t["value"] for t in tokens)
        if pnl < 0:
            table.add_row("debt", fmt_token(pnl, 18, settlement), "1.00", "1.00", fmt_num(pnl, sign=True))
        other = None if value is None else value - capital - collateral_value - min(pnl, 0)
        table.add_row("PnL", "", "", "", fmt_num(other, sign=True))
        table.add_row("total margin value", "", "", "", fmt_num(value))
        _console().print(table)
        notes = []
        if pnl < 0:
            notes.append(f"debt {fmt_num(-pnl)} {settlement}: a loss beyond capital, backed by the collateral; a "
                         f"{settlement} deposit repays it, else a liquidator buys the collateral at a discount to repay it")
        down = [t["symbol"] for t in tokens if t["balance"] and not t["priced"]]
        if down:
            notes.append(f"no price for {', '.join(down)}: counts 0 until its oracle answers")
        if size:
            if value is None:
                notes.append(f"position {fmt_size(size)}: the market oracle is down, no margin value")
            else:
                initial, maintenance = (int(x) for x in market_.marginRequirements(address))
                state = "LIQUIDATABLE" if value < maintenance else "healthy"
                notes.append(f"position {fmt_size(size)}: requires {fmt_num(initial)} USD initial, "
                             f"{fmt_num(maintenance)} USD maintenance: {state}")
        for note in notes:
            click.echo(note)
    if not shown:
        click.echo(f"{address} has no margin on chain {s.chain_id}")


@cli.command()
@click.pass_context
def collaterals(ctx):
    """The tokens each market accepts as margin: price, weight, liquidation discount, cap."""
    s = _session(ctx)
    table = _table(f"collateral on chain {s.chain_id} (router {s.record['router']})",
                   ["market token", "role", "price (USD)", "weight", "liq. discount", "deposited / cap", "status"])
    for name, entry in s.markets():
        table.add_row(f"{name} {entry['collateral']}", "settlement", "1.00", "1.00", "-", "-", "-")
        pool = _pool(s, entry)
        for t in [] if pool is None else _collateral_rows(s, pool, ZERO):
            total = int(pool.collateralOf(t["token"])[3])
            table.add_row(
                f"{name} {t['symbol']}", "collateral", fmt_num(t["price"]) if t["price"] is not None else "-",
                _weight(t["weight"]), fmt_pct(t["discount"], 2).lstrip("+"),
                f"{fmt_token(total, t['decimals'], '').strip()} / {fmt_token(t['cap'], t['decimals'], t['symbol'])}",
                "oracle down" if t["price"] is None else ("delisted" if t["weight"] == 0 else "active"),
            )
    _console().print(table)


@cli.command()
@click.pass_context
def funding(ctx):
    """Funding per market: the rate fixed at the last crank, the rate the next crank fixes, the
    cumulative index, mark and index prices."""
    s = _session(ctx)
    fr = s.funding
    table = _table(
        f"funding on chain {s.chain_id} (per 8 h; longs pay when positive)",
        ["market", "rate", "current rate", "premium", "funding index (USD / unit)", "mark", "index price", "samples"],
    )
    for name, entry in s.markets():
        market = s.at("PerpMarket", entry["address"])
        index = _index_price(s, market)
        if index is None:
            table.add_row(name, fmt_pct(int(fr.fundingRate(entry["id"]))), "-", "-", "-", "-", "oracle down", "-")
            continue
        market_id = entry["id"]
        table.add_row(
            name, fmt_pct(int(fr.fundingRate(market_id))), fmt_pct(int(fr.currentFundingRate(market_id))),
            fmt_pct(int(fr.premiumIndex(market_id))), fmt_num(int(fr.fundingIndex(market_id)), 6, scale=INDEX_SCALE, sign=True),
            fmt_num(int(fr.markPrice(market_id))), fmt_num(index), str(fr.premiumState(market_id)[0]),
        )
    _console().print(table)


def main() -> None:
    cli(prog_name="perpkit")


if __name__ == "__main__":
    main()
