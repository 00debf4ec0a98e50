"""Gas per operation of the perpkit suite on a local Anvil (started and stopped by ape).

    .venv/bin/python benchmarks/gas.py          # prints the table, writes benchmarks/results/gas.md

Measures `receipt.gas_used` (intrinsic 21,000 and calldata included) of deposit, withdraw, settle
with 1 / 10 / 100 fills (steady state and cold), crank with 1 and 1,000 open positions,
recordQuote and liquidate, and breaks a steady 10-fill settle down by call frame and opcode.
Multi-collateral (issue 7), on fresh exchanges with 1 and with 3 registered collateral tokens:
depositCollateral, withdrawCollateral (flat, and with a position whose margin needs the
collateral), a settle whose taker needs its collateral against one that does not, liquidate of a
collateral-margined account and liquidateCollateral; and what one held token adds to a margin
check. The rows of the main table are also compared with the gas.md being replaced (printed only).

`GasSuite` is also what `tests/unit/test_gas_ceilings.py` drives, so the ceilings there are
measured on exactly these scenarios.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from perpkit.devkeys import DevSigner, dev_signer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.conftest import (  # noqa: E402  (pure helpers: importing them needs no pytest session)
    BTC_PRICE,
    FEED_DECIMALS,
    WAD,
    ZERO_ADDRESS,
    Exchange,
    ape_deployer,
)
from tests.conftest import deploy_exchange as deploy_conftest_exchange  # noqa: E402

USDC = 10**6
FILL_SIZE = WAD // 100  # 0.01 BTC per fill
FILL_PRICE = BTC_PRICE * WAD
EXPIRY = 2**40  # fixed, so that calldata (and its gas) does not depend on the clock
STEP = 60  # seconds between measured transactions: every one accrues funding


@dataclass(frozen=True)
class CollateralSpec:
    """A non-settlement collateral token of the benchmark: its feed answers `usd` per whole token."""

    name: str
    symbol: str
    decimals: int
    usd: int
    weight: int
    discount: int

    def units(self, usd: int) -> int:
        """Token units worth `usd` at the feed price."""
        return usd * 10**self.decimals // self.usd


# Registered in this order (bit i of the pool's heldMask is the i-th); a seizure sells the lowest
# weight first: WBTC, then WETH, then FRAX.
COLLATERALS = (
    CollateralSpec("Wrapped Ether", "WETH", 18, 3_000, 8 * WAD // 10, 5 * WAD // 100),
    CollateralSpec("Wrapped BTC", "WBTC", 8, 60_000, 7 * WAD // 10, WAD // 10),
    CollateralSpec("Frax", "FRAX", 18, 1, 9 * WAD // 10, 2 * WAD // 100),
)
COLLATERAL_CAP = 2**128 - 1
COLLATERAL_HEARTBEAT = 86_400  # the benchmark runs hours of chain time at 60 s a transaction


def trader(i: int) -> DevSigner:
    """The i-th benchmark trader: a fixed key of the test mnemonic past the ten role accounts, so
    that addresses, signatures and gas repeat run to run. Traders never send a transaction (they
    are funded with `depositFor`)."""
    return dev_signer(1_000 + i)


def deploy_exchange(project, chain, owner, matcher, guardian) -> Exchange:
    """What the `make_exchange` fixture deploys, with its defaults (6-decimal USDC, BTC at 60,000)."""
    deploy, at = ape_deployer(project, owner)
    return deploy_conftest_exchange(deploy, at, chain, owner, matcher, guardian)


class GasSuite:
    """Scenarios on one exchange. Every measured transaction is mined STEP seconds after the
    previous one, after a first crank fixed a non-zero rate: each accrues funding, as on a live
    market. Traders are generated accounts funded through `depositFor`; they only sign."""

    def __init__(self, ex: Exchange, chain, funder, keeper):
        self.ex, self.chain = ex, chain
        self.funder, self.keeper = funder, keeper
        self.now = chain.blocks.head.timestamp
        self._approved = False
        self._traders = 0
        self.collaterals: list[tuple[CollateralSpec, object]] = []  # (spec, token), registration order
        self._collateral_approved: set[str] = set()

    # ------------------------------------------------------------ plumbing

    def tick(self, seconds: int = STEP) -> None:
        """The next transaction is mined `seconds` after the last timed one."""
        self.now = max(self.now, self.chain.blocks.head.timestamp) + seconds
        self.chain.pending_timestamp = self.now

    def start_funding(self):
        """The first crank: fixes F = 0.01 % (no quotes), so later accruals are non-zero."""
        self.tick()
        return self.ex.funding.crank(self.ex.market_id, sender=self.keeper)

    def new_traders(self, n: int, usdc: int = 10_000) -> list:
        traders = [trader(self._traders + k) for k in range(n)]
        self._traders += n
        self.deposit_for(traders, usdc)
        return traders

    def deposit_for(self, traders, usdc: int) -> None:
        """`depositFor` each trader, unmeasured. Sent raw and mined 100 to a block: through ape's
        per-transaction round trips, 1,000 deposits would take minutes."""
        ex, funder, provider = self.ex, self.funder, self.chain.provider
        ex.token.mint(funder, usdc * USDC * len(traders), sender=funder)
        if not self._approved:
            ex.token.approve(ex.router, 2**256 - 1, sender=funder)
            self._approved = True
        deposit_many(self.chain, ex.router, ex.market_id, funder, [t.address for t in traders], usdc * USDC)

    def fills(self, pairs, size: int = FILL_SIZE, price: int = FILL_PRICE, nonce: int | None = None) -> list:
        """One fresh fill per (maker, taker): the maker buys `size` from the taker at `price`.
        Order nonces come from the exchange's counter, or are `nonce`, `nonce + 1`, ... if given."""
        ex, out = self.ex, []
        for k, (maker, taker) in enumerate(pairs):
            nonces = (None, None) if nonce is None else (nonce + 2 * k, nonce + 2 * k + 1)
            mk = ex.order(maker, size, price, expiry=EXPIRY, nonce=nonces[0])
            tk = ex.order(taker, -size, price, expiry=EXPIRY, nonce=nonces[1])
            out.append(ex.fill(mk, tk, size, maker, taker))
        return out

    def settle(self, pairs, **kw):
        fills = self.fills(pairs, **kw)
        self.tick()
        return self.ex.router.settle(fills, sender=self.ex.matcher)

    def open_positions(self, pairs, batch: int = 100) -> None:
        for i in range(0, len(pairs), batch):
            self.settle(pairs[i : i + batch])

    # ------------------------------------------------------------ measured operations

    def deposit(self, account, usdc: int = 10_000):
        """`router.deposit` after mint and an exact approve (as `Exchange.fund` does)."""
        ex = self.ex
        ex.token.mint(account, usdc * USDC, sender=account)
        ex.token.approve(ex.router, usdc * USDC, sender=account)
        self.tick()
        return ex.router.deposit(ex.market_id, usdc * USDC, sender=account)

    def withdraw(self, account, usdc: int = 1_000):
        self.tick()
        return self.ex.router.withdraw(self.ex.market_id, usdc * USDC, sender=account)

    def crank(self):
        self.tick()
        return self.ex.funding.crank(self.ex.market_id, sender=self.keeper)

    def record_quote(self, bid_usd: int, ask_usd: int):
        self.tick()
        return self.ex.funding.recordQuote(self.ex.market_id, bid_usd * WAD, ask_usd * WAD, sender=self.ex.matcher)

    def liquidate(self, victim, liquidator):
        """`liquidator` (with capital, no position) takes over the whole position."""
        self.tick()
        return self.ex.market.liquidate(victim.address, WAD, sender=liquidator)

    # ------------------------------------------------------------ scenarios (benchmark and ceilings)

    def collateral_scenario(self, alice, bob) -> dict:
        """Deposits and withdrawals of a test account (it sends its own transactions)."""
        self.deposit(bob)  # the market's totals are non-zero from here on
        out = {"deposit_first": self.deposit(alice), "deposit_repeat": self.deposit(alice)}
        out["withdraw_flat"] = self.withdraw(alice)  # alice's token balance becomes non-zero
        self.settle([(alice, bob)])
        out["withdraw_open"] = self.withdraw(alice)
        return out

    def settle_scenario(self, n_pairs: int, steady_sizes=(1, 10, 100)) -> dict:
        """Fresh funded pairs: one cold fill, the other pairs' cold fills in one batch; then the
        first profit of each pair (the funding one side receives warms up: its account's vesting
        word goes from zero to non-zero, once in the account's life), one pair alone and the rest
        in one batch; then steady-state batches of each size (every account already has capital,
        a position and its vesting word)."""
        makers, takers = self.new_traders(n_pairs), self.new_traders(n_pairs)
        pairs = list(zip(makers, takers))
        out = {"pairs": pairs, "cold_1": self.settle(pairs[:1])}
        if n_pairs > 1:
            out["cold_rest"] = self.settle(pairs[1:])
        out["first_profit_1"] = self.settle(pairs[:1])
        if n_pairs > 1:
            out["first_profit_rest"] = self.settle(pairs[1:])
        for n in steady_sizes:
            out[f"steady_{n}"] = self.settle(pairs[:n])
        return out

    def touch_scenario(self, n_accounts: int = 100):
        """The keeper's sweep: `n_accounts` longs of 0.01 BTC at 60,000 (each against its own
        short), the price 1 % down and funding accrued; one `touch` of all the longs, which marks
        each to market, settles its funding and pays its loss from capital. Returns (longs,
        shorts, receipt)."""
        longs, shorts = self.new_traders(n_accounts), self.new_traders(n_accounts)
        self.open_positions(list(zip(longs, shorts)))
        self.tick()
        self.ex.set_price(BTC_PRICE * 99 // 100)
        self.tick()
        return longs, shorts, self.ex.market.touch([a.address for a in longs], sender=self.keeper)

    def crank_scenario(self):
        """A crank with one long and one short open, 60 s after the last accrual."""
        pair = self.new_traders(2)
        self.settle([tuple(pair)])
        return pair, self.crank()

    def quote_scenario(self, full_ring: bool = True) -> dict:
        out = {"first": self.record_quote(60_000, 60_010), "filling": self.record_quote(60_001, 60_010)}
        if full_ring:
            for k in range(28):
                self.record_quote(60_002 + k, 60_040)
            out["full"] = self.record_quote(59_990, 60_000)
        return out

    def liquidation_setup(self):
        """A 10x long of 1 BTC at 60,000 (6,100 USDC of capital) against a well-funded short; the
        price then falls to 56,500, below maintenance. Returns (victim, counterparty)."""
        victim, counterparty = self.new_traders(1, 6_100)[0], self.new_traders(1, 100_000)[0]
        self.settle([(victim, counterparty)], size=WAD)
        self.tick()
        self.ex.set_price(56_500)
        assert self.ex.market.isLiquidatable(victim.address)
        return victim, counterparty

    def liquidation_scenario(self, liquidator):
        self.deposit_for([liquidator], 100_000)
        victim, counterparty = self.liquidation_setup()
        return victim, counterparty, self.liquidate(victim, liquidator)

    def liquidation_batch_scenario(self, n: int, liquidator):
        """`n` 10x longs of 0.01 BTC at 60,000 (61 USDC each, against their own shorts); the price
        falls to 56,500, below their maintenance; one `liquidateBatch` of them all, amount 0 (the
        whole position), by `liquidator` (funded, as in `liquidation_scenario`). Then the price is
        back at 60,000. Returns (victims, shorts, receipt)."""
        victims, shorts = self.new_traders(n, 61), self.new_traders(n)
        self.open_positions(list(zip(victims, shorts)))
        self.tick()
        self.ex.set_price(56_500)
        self.tick()
        receipt = self.ex.market.liquidateBatch([v.address for v in victims], [0] * n, sender=liquidator)
        assert all(self.ex.market.positionOf(v.address)[0] == 0 for v in victims)
        self.tick()
        self.ex.set_price(BTC_PRICE)
        return victims, shorts, receipt

    def skipped_batch(self, accounts, liquidator):
        """`liquidateBatch` of healthy open `accounts`: every entry skipped (`NotLiquidatable`)."""
        self.tick()
        receipt = self.ex.market.liquidateBatch([a.address for a in accounts], [0] * len(accounts), sender=liquidator)
        assert len(list(receipt.events.filter(self.ex.market.LiquidationSkipped))) == len(accounts)
        return receipt

    # ------------------------------------------------------------ multi-collateral (issue 7)

    def add_collaterals(self, deploy, n: int) -> None:
        """Registers the first `n` of COLLATERALS (token, 8-decimal feed, ChainlinkOracle) with
        `router.setCollateral`; the first call creates the market's CollateralPool. A warm-up
        deposit of each token (for a generated trader) makes the pool's balances and totals
        non-zero, so that no measured transaction pays for a pool's first token ever."""
        ex = self.ex
        for spec in COLLATERALS[len(self.collaterals) : n]:
            token = deploy("MockERC20", spec.name, spec.symbol, spec.decimals)
            feed = deploy("MockV3Aggregator", FEED_DECIMALS, spec.usd * 10**FEED_DECIMALS)
            oracle = deploy("ChainlinkOracle", feed, COLLATERAL_HEARTBEAT, ZERO_ADDRESS, 0)
            params = (spec.weight, spec.discount, COLLATERAL_CAP)
            ex.router.setCollateral(ex.market_id, token, oracle, params, sender=ex.owner)
            self.collaterals.append((spec, token))
        warm = trader(self._traders)  # holds collateral only
        self._traders += 1
        for spec, token in self.collaterals[:n]:
            self.deposit_collateral_for(warm, token, spec.units(1_000))

    def deposit_collateral_for(self, account, token, amount: int):
        """Unmeasured: the funder mints `amount` and deposits it for `account`."""
        ex, funder = self.ex, self.funder
        token.mint(funder, amount, sender=funder)
        if token.address not in self._collateral_approved:
            token.approve(ex.router, 2**256 - 1, sender=funder)
            self._collateral_approved.add(token.address)
        return ex.router.depositCollateralFor(ex.market_id, account.address, token, amount, sender=funder)

    def give_collateral(self, account, usd_each) -> None:
        """Unmeasured: `account` gets collateral worth `usd_each[i]` USD of the i-th registered token."""
        for (spec, token), usd in zip(self.collaterals, usd_each):
            self.deposit_collateral_for(account, token, spec.units(usd))

    def deposit_collateral(self, account, token, amount: int):
        """`router.depositCollateral` after mint and an exact approve (as `deposit` does)."""
        ex = self.ex
        token.mint(account, amount, sender=account)
        token.approve(ex.router, amount, sender=account)
        self.tick()
        return ex.router.depositCollateral(ex.market_id, token, amount, sender=account)

    def withdraw_collateral(self, account, token, amount: int):
        self.tick()
        return self.ex.router.withdrawCollateral(self.ex.market_id, token, amount, sender=account)

    def liquidate_collateral(self, victim, liquidator, max_repay: int):
        self.tick()
        return self.ex.market.liquidateCollateral(victim.address, max_repay, sender=liquidator)

    def collateral_token_scenario(self, alice) -> dict:
        """`alice` (a test account: she sends her own transactions) deposits $1,000 of each
        registered token in turn, deposits the last one again, withdraws $10 of it flat, then
        opens a 0.1 BTC long on 100 USDC of capital (initial margin 600 USDC: the rest is her
        collateral) and withdraws $10 of the last token again: that health check values every
        token she holds."""
        out = {}
        for k, (spec, token) in enumerate(self.collaterals):
            out[f"deposit_first_{k + 1}"] = self.deposit_collateral(alice, token, spec.units(1_000))
        spec, token = self.collaterals[-1]
        out["deposit_repeat"] = self.deposit_collateral(alice, token, spec.units(1_000))
        out["withdraw_flat"] = self.withdraw_collateral(alice, token, spec.units(10))
        self.deposit_for([alice], 100)
        counterparty = self.new_traders(1)[0]
        self.settle([(alice, counterparty)], size=WAD // 10)
        out["withdraw_open"] = self.withdraw_collateral(alice, token, spec.units(10))
        return out

    def collateral_settle_scenario(self):
        """A pair opened cold with 0.1 BTC and its first-profit fill (see `settle_scenario`), then
        the measured steady 1-fill settle (0.01 BTC more) in which the taker (short) has 100 USDC
        of capital and $1,000 of every registered token, so that its margin check asks the pool
        (which prices every token). Returns (taker, receipt)."""
        maker, taker = self.new_traders(1)[0], self.new_traders(1, 100)[0]
        self.give_collateral(taker, [1_000] * len(self.collaterals))
        self.settle([(maker, taker)], size=WAD // 10)
        self.settle([(maker, taker)])
        return taker, self.settle([(maker, taker)])

    def capital_settle_scenario(self):
        """Two accounts with 10,000 USDC each: a 0.1 BTC fill and the first-profit fill, then the
        measured steady 1-fill settle. Fixed traders and order nonces, so that the same
        transaction runs on a market with and without a collateral pool (the signatures differ:
        the router's address)."""
        pair = (trader(5_000), trader(5_001))
        self.deposit_for(pair, 10_000)
        self.settle([pair], size=WAD // 10, nonce=10**6)
        self.settle([pair], nonce=10**6 + 2)
        return self.settle([pair], nonce=10**6 + 4)

    # the victim's collateral, USD per registered token (weighted: 840 + 960 + 3,600 = 5,400 USD
    # for three tokens; 5,400 of WETH alone for one), on 700 USDC of capital: 6,100 in all, as the
    # USDC-only liquidation above
    LIQUIDATION_COLLATERAL = {1: [6_750], 3: [1_200, 1_200, 4_000]}

    def collateral_liquidation_scenario(self, liquidator, repayer) -> dict:
        """A 10x long of 1 BTC at 60,000 on 700 USDC of capital and collateral (weighted) of
        5,400 USD, against a well-funded short; the price falls to 56,500 and `liquidator` takes
        the whole position over (valuing every token the victim holds). The victim is then flat
        with a debt its collateral backs; `repayer` (flat, with capital) repays all of it with
        `liquidateCollateral`: with one token it buys part of it; with three it buys all of WBTC
        and WETH (lowest weights) and part of FRAX."""
        self.deposit_for([liquidator, repayer], 100_000)
        victim, counterparty = self.new_traders(1, 700)[0], self.new_traders(1, 100_000)[0]
        self.give_collateral(victim, self.LIQUIDATION_COLLATERAL[len(self.collaterals)])
        self.settle([(victim, counterparty)], size=WAD)
        self.tick()
        self.ex.set_price(56_500)
        assert self.ex.market.isLiquidatable(victim.address)
        out = {"victim": victim, "liquidate": self.liquidate(victim, liquidator)}
        out["debt"] = -self.ex.market.pnlOf(victim.address)
        out["liquidate_collateral"] = self.liquidate_collateral(victim, repayer, out["debt"])
        return out


# ---------------------------------------------------------------- analysis


def deposit_many(chain, router, market_id: int, funder, addresses: list[str], amount: int) -> None:
    """`router.depositFor(market_id, a, amount)` from `funder` (an unlocked Anvil account with the
    tokens and the router's allowance) for each address, sent without waiting and mined in bulk:
    through ape's per-transaction round trips, 1,000 deposits would take minutes."""
    provider = chain.provider
    web3, nonce = provider.web3, funder.nonce
    provider.auto_mine = False
    try:
        hashes = [
            web3.eth.send_transaction(
                {
                    "from": funder.address,
                    "to": router.address,
                    "data": router.depositFor.encode_input(market_id, address, amount),
                    "gas": 300_000,
                    "nonce": nonce + k,
                }
            )
            for k, address in enumerate(addresses)
        ]
        while int(provider.make_request("txpool_status", [])["pending"], 16):
            provider.mine(1)
    finally:
        provider.auto_mine = True
    failed = [h for h in hashes if web3.eth.get_transaction_receipt(h)["status"] != 1]
    assert not failed, f"{len(failed)} depositFor reverted"


def calldata_gas(receipt) -> int:
    data = bytes(receipt.transaction.data)
    return sum(4 if b == 0 else 16 for b in data)


CALLS = ("CALL", "STATICCALL", "DELEGATECALL", "CALLCODE", "CREATE", "CREATE2")


def call_frames(provider, txn_hash) -> list[tuple[int, str, int]]:
    """(depth, to, gasUsed) of every call frame (callTracer; precompiles included)."""
    out = []

    def walk(node, depth):
        out.append((depth, node["to"].lower(), int(node["gasUsed"], 16)))
        for child in node.get("calls", []):
            walk(child, depth + 1)

    walk(provider.make_request("debug_traceTransaction", [txn_hash, {"tracer": "callTracer"}]), 1)
    return out


def opcode_gas_by_depth(provider, txn_hash) -> dict[int, Counter]:
    """Gas charged per opcode at each call depth (1 = the router). Call opcodes are left out: their
    charge includes the gas handed to the callee, which the callee's own opcodes account for."""
    trace = provider.make_request(
        "debug_traceTransaction",
        [txn_hash, {"disableStack": True, "disableMemory": True, "disableStorage": True}],
    )
    out: dict[int, Counter] = {}
    for log in trace["structLogs"]:
        if log["op"] not in CALLS:
            out.setdefault(log["depth"], Counter())[log["op"]] += log["gasCost"]
    return out


def fill_breakdown(provider, receipt, ex, n: int) -> list[tuple[str, int]]:
    """Where an n-fill settle spends its gas, per fill, by contract and by opcode class.
    SSTORE is the charge before refunds (none arise here: no slot returns to zero)."""
    frames = call_frames(provider, receipt.txn_hash)
    ops = opcode_gas_by_depth(provider, receipt.txn_hash)
    market = ex.market.address.lower()
    market_frame = sum(g for d, to, g in frames if d == 2 and to == market)
    below_market = sum(g for d, to, g in frames if d == 3)  # FundingRate.accrue, oracle.price (once)
    ecrecover = sum(g for d, to, g in frames if to == "0x" + "00" * 19 + "01")
    intrinsic, calldata = 21_000, calldata_gas(receipt)

    def classes(c: Counter) -> dict[str, int]:
        logs = sum(v for k, v in c.items() if k.startswith("LOG"))
        named = {k: c[k] for k in ("SSTORE", "SLOAD", "EXTCODESIZE", "KECCAK256")}
        named["LOG"] = logs
        named["other opcodes"] = sum(c.values()) - sum(named.values())
        return named

    router_ops = classes(ops.get(1, Counter()))
    market_ops = classes(ops.get(2, Counter()))
    router_rest = receipt.gas_used - intrinsic - calldata - market_frame - ecrecover - sum(router_ops.values())
    market_rest = market_frame - below_market - sum(market_ops.values())
    lines = [
        ("total", receipt.gas_used),
        ("intrinsic (21,000 per transaction)", intrinsic),
        ("calldata (2 orders, 2 signatures, amount)", calldata),
        ("router: SSTORE (filled[maker], filled[taker]: zero to non-zero)", router_ops["SSTORE"]),
        ("router: SLOAD (filled, minNonce, markets; cold)", router_ops["SLOAD"]),
        ("router: ecrecover precompile x2", ecrecover),
        ("router: EXTCODESIZE (before calling the market; a signer's only without ECDSA match)", router_ops["EXTCODESIZE"]),
        ("router: LOG (OrderFilled)", router_ops["LOG"]),
        ("router: KECCAK256 (EIP-712 hashes, mapping slots)", router_ops["KECCAK256"]),
        ("router: other opcodes (ABI decoding, copies, checks), call overhead", router_ops["other opcodes"] + router_rest),
        ("market: SSTORE (2 accounts x 3 slots, totals, open interest, insurance)", market_ops["SSTORE"]),
        ("market: SLOAD", market_ops["SLOAD"]),
        ("market: LOG (2 PositionChanged, 2 FundingSettled)", market_ops["LOG"]),
        ("market: KECCAK256 (mapping slots)", market_ops["KECCAK256"]),
        ("market: other opcodes and call overhead", market_ops["other opcodes"] + market_rest),
        ("FundingRate.accrue + oracle.price (once per batch)", below_market),
    ]
    assert sum(g for _, g in lines[1:]) == receipt.gas_used, "breakdown does not add up"
    return [(name, g // n) for name, g in lines]


# ---------------------------------------------------------------- the benchmark


def run() -> str:
    from ape import accounts, chain, config, networks, project

    # A 100-fill settle takes Anvil seconds (steps tracing on); ape's local default of 20 s to
    # see a transaction mined is too short on a busy machine.
    config.get_config("ethereum").local.transaction_acceptance_timeout = 600

    rows: list[tuple[str, str, int, str]] = []  # (operation, case, gas, note)

    def row(op, case, gas, note=""):
        rows.append((op, case, gas, note))
        print(f"{op:<12} {case:<48} {gas:>12,}  {note}", flush=True)

    with networks.ethereum.local.use_provider("foundry") as provider:
        started = time.time()
        ta = accounts.test_accounts
        owner, alice, bob, keeper, carol, matcher, guardian = (ta[i] for i in range(7))
        ex = deploy_exchange(project, chain, owner, matcher, guardian)
        suite = GasSuite(ex, chain, funder=owner, keeper=keeper)
        suite.start_funding()

        # ---- crank with one open position (one long, one short)
        pair, crank_1 = suite.crank_scenario()
        row("crank", "1 open position (1 long, 1 short)", crank_1.gas_used)

        # ---- deposit / withdraw
        c = suite.collateral_scenario(alice, bob)
        row("deposit", "first deposit of an account", c["deposit_first"].gas_used)
        row("deposit", "repeat deposit", c["deposit_repeat"].gas_used)
        row("withdraw", "flat account (no price read)", c["withdraw_flat"].gas_used)
        row("withdraw", "account with an open position", c["withdraw_open"].gas_used, "oracle, accrue, funding, margin")

        # ---- settle: cold, then steady
        st = suite.settle_scenario(100)
        pairs = st["pairs"]
        makers, takers = [m for m, _ in pairs], [t for _, t in pairs]
        row("settle", "1 fill, cold (both accounts never had a position)", st["cold_1"].gas_used)
        cold = st["cold_rest"].gas_used
        row("settle", "99 fills, cold: per fill", cold // 99, f"total {cold:,}")
        row("settle", "1 fill, first profit of the pair", st["first_profit_1"].gas_used,
            "one account's vesting word: zero to non-zero, once")
        first = st["first_profit_rest"].gas_used
        row("settle", "99 fills, first profit: per fill", first // 99, f"total {first:,}")
        for n in (1, 10, 100):
            g = st[f"steady_{n}"].gas_used
            row("settle", f"{n} fill{'s' if n > 1 else ''}, steady: per fill", g // n, f"total {g:,}")
        marginal = (st["steady_100"].gas_used - st["steady_10"].gas_used) // 90
        row("settle", "steady: marginal cost of one more fill", marginal, "(g100 - g10) / 90")

        # ---- the keeper's sweep: touch 100 losers in one call
        losers, winners, touch = suite.touch_scenario(100)
        row("touch", "100 accounts with a loss: per account", touch.gas_used // 100,
            f"total {touch.gas_used:,}: mark, funding, loss paid from capital")
        ex.set_price(BTC_PRICE)

        # ---- liquidate
        victim, counterparty, liq = suite.liquidation_scenario(carol)
        row("liquidate", "whole 1 BTC position, no bad debt", liq.gas_used, "the liquidator opens a position")
        suite.tick()
        ex.set_price(BTC_PRICE)

        # ---- liquidateBatch: 1, 10 and 100 victims by the same liquidator, then 100 healthy entries
        batch = {n: suite.liquidation_batch_scenario(n, carol) for n in (1, 10, 100)}
        for n, (_, _, receipt) in batch.items():
            row("liquidateBatch", f"{n} account{'s' if n > 1 else ''} (whole positions): per account",
                receipt.gas_used // n, f"total {receipt.gas_used:,}")
        marginal = (batch[100][2].gas_used - batch[10][2].gas_used) // 90
        row("liquidateBatch", "marginal cost of one more liquidation", marginal, "(g100 - g10) / 90")
        skipped = suite.skipped_batch(batch[100][1], carol)
        row("liquidateBatch", "100 healthy accounts, all skipped: per entry", skipped.gas_used // 100,
            f"total {skipped.gas_used:,}: three storage reads and an event")
        batch_accounts = [a for victims, shorts, _ in batch.values() for a in (*victims, *shorts)]

        # ---- crank with 1,000 open positions: the same FundingRate state as the first one
        known = [alice, bob, carol, *pair, *makers, *takers, *losers, *winners, victim, counterparty, *batch_accounts]

        def open_count(accts):
            return sum(1 for a in accts if ex.market.positionOf(a.address)[0] != 0)

        need = 1_000 - open_count(known)
        need += need % 2  # new positions open in pairs
        assert need > 0, need
        more = suite.new_traders(need)
        suite.open_positions(list(zip(more[0::2], more[1::2])))
        positions = open_count(known + more)
        crank_1000 = suite.crank().gas_used
        diff = crank_1000 - crank_1.gas_used
        same = "O(1): equal to 1 position" if diff == 0 else f"DIFFERS by {diff:+,}"
        row("crank", f"{positions:,} open positions", crank_1000, same)

        # ---- recordQuote (last: samples change the crank's path)
        q = suite.quote_scenario()
        row("recordQuote", "first quote of a market", q["first"].gas_used)
        row("recordQuote", "ring filling (quotes 2-30)", q["filling"].gas_used)
        row("recordQuote", "ring full (31st on: evicts the oldest)", q["full"].gas_used)

        # ---- where a steady 1-fill and 10-fill settle spend their gas
        one, ten = (fill_breakdown(provider, st[f"steady_{n}"], ex, n) for n in (1, 10))
        breakdown = list(zip(one, ten))

        # ---- multi-collateral: a fresh exchange with 1, then one with 3 registered tokens
        roles = dict(owner=owner, alice=alice, bob=bob, keeper=keeper, carol=carol, matcher=matcher, guardian=guardian)
        roles["dave"] = ta[7]
        mc = {n: collateral_scenarios(project, chain, roles, n) for n in (0, 1, 3)}
        mc_rows = collateral_rows(provider, mc, liq.gas_used)
        for op, case, g1, g3, note in mc_rows:
            print(f"{op:<18} {case:<70} {g1:>9,} {g3:>9,}  {note}", flush=True)
        per_token = oracle_read_breakdown(provider, mc)
        elapsed = time.time() - started

    return render(rows, breakdown, mc_rows, per_token, elapsed, project)


def collateral_scenarios(project, chain, roles: dict, n: int) -> dict:
    """The multi-collateral scenarios on a fresh exchange with the first `n` of COLLATERALS
    registered: alice deposits and withdraws, a collateral-margined taker settles, dave (a test
    account without a role) liquidates a USDC-only long, carol a collateral-margined long, and
    bob repays the latter's debt with `liquidateCollateral`. With n = 0 (no pool): only the
    capital-covered settle, the control of the fallback's."""
    r = roles
    ex = deploy_exchange(project, chain, r["owner"], r["matcher"], r["guardian"])
    suite = GasSuite(ex, chain, funder=r["owner"], keeper=r["keeper"])
    suite.start_funding()
    if n == 0:
        return {"ex": ex, "settle_covered": suite.capital_settle_scenario()}
    suite.add_collaterals(ape_deployer(project, r["owner"])[0], n)
    # first, so that the market's state is the one of the pool-less control's
    out = {"ex": ex, "settle_covered": suite.capital_settle_scenario()}
    out.update(suite.collateral_token_scenario(r["alice"]))
    out["settle_fallback"] = suite.collateral_settle_scenario()[1]
    out["liquidate_usdc"] = suite.liquidation_scenario(r["dave"])[2]
    suite.tick()
    ex.set_price(BTC_PRICE)
    liq = suite.collateral_liquidation_scenario(r["carol"], r["bob"])
    out.update({k: liq[k] for k in ("liquidate", "liquidate_collateral", "debt")})
    pool = project.CollateralPool.at(ex.market.collateralPool())
    # with 3 tokens the repayment sold all of WBTC and WETH and part of FRAX (bit 2)
    assert ex.market.pnlOf(liq["victim"].address) == 0
    assert pool.heldMask(liq["victim"].address) == (0b1 if n == 1 else 0b100)
    return out


def collateral_rows(provider, mc: dict, usdc_liquidate: int) -> list[tuple[str, str, int, int, str]]:
    """(operation, case, gas with 1 token, gas with 3 tokens, note)."""
    valued = {n: sum(int(f["gasUsed"], 16) for f in value_of_frames(provider, mc[n], "settle_fallback")) for n in (1, 3)}

    def g(n, key):
        return mc[n][key].gas_used

    def per_extra(key):
        return f"+{(g(3, key) - g(1, key)) // 2:,} per extra token held"

    return [
        (
            "depositCollateral",
            "first deposit of a token; the account holds no other / 2 others",
            g(1, "deposit_first_1"),
            g(3, "deposit_first_3"),
            f"account's first token with 3 registered: {g(3, 'deposit_first_1'):,}",
        ),
        ("depositCollateral", "repeat deposit; the account holds 1 / 3 tokens", g(1, "deposit_repeat"), g(3, "deposit_repeat"), ""),
        (
            "withdrawCollateral",
            "flat account (no oracle read)",
            g(1, "withdraw_flat"),
            g(3, "withdraw_flat"),
            "the account's token balance becomes non-zero",
        ),
        (
            "withdrawCollateral",
            "open position whose initial margin needs the collateral",
            g(1, "withdraw_open"),
            g(3, "withdraw_open"),
            f"prices every token held; {per_extra('withdraw_open')}",
        ),
        (
            "settle",
            "1 fill, steady: the taker's margin needs its collateral",
            g(1, "settle_fallback"),
            g(3, "settle_fallback"),
            f"+{g(1, 'settle_fallback') - g(1, 'settle_covered'):,} / +{g(3, 'settle_fallback') - g(3, 'settle_covered'):,} "
            f"over the next row (pool.valueOf: {valued[1]:,} / {valued[3]:,}); {per_extra('settle_fallback')}",
        ),
        (
            "settle",
            "1 fill, steady: capital covers both accounts (pool not called)",
            g(1, "settle_covered"),
            g(3, "settle_covered"),
            f"the same transaction on a market without a pool: {g(0, 'settle_covered'):,}{_exec_diff(mc, 'settle_covered')}",
        ),
        (
            "liquidate",
            "whole 1 BTC long of a collateral-margined account",
            g(1, "liquidate"),
            g(3, "liquidate"),
            f"{per_extra('liquidate')}",
        ),
        (
            "liquidate",
            "whole 1 BTC long of a USDC-only account, on the market with a pool",
            g(1, "liquidate_usdc"),
            g(3, "liquidate_usdc"),
            f"the pool values an account holding nothing; market without a pool: {usdc_liquidate:,}",
        ),
        (
            "liquidateCollateral",
            "flat account in debt, whole debt repaid: seizes part of 1 token / all of 2 and part of the 3rd",
            g(1, "liquidate_collateral"),
            g(3, "liquidate_collateral"),
            f"debt {mc[1]['debt'] / WAD:,.2f} / {mc[3]['debt'] / WAD:,.2f} USDC; the caller is flat (no market price read)",
        ),
    ]


def _exec_diff(mc: dict, key: str) -> str:
    """How the gas without calldata (signatures differ with the router's address) of `key` with
    1 and 3 tokens differs from the market without a pool."""
    base = mc[0][key].gas_used - calldata_gas(mc[0][key])
    diffs = {n: mc[n][key].gas_used - calldata_gas(mc[n][key]) - base for n in (1, 3)}
    if not any(diffs.values()):
        return " (calldata aside: equal)"
    return f" (calldata aside: {diffs[1]:+,} / {diffs[3]:+,})"


def value_of_frames(provider, scenario: dict, key: str) -> list[dict]:
    """The callTracer frames of `pool.valueOf` in the transaction `scenario[key]`."""
    pool = scenario["ex"].market.collateralPool().lower()
    selector = _selector("valueOf(address)")
    trace = provider.make_request("debug_traceTransaction", [scenario[key].txn_hash, {"tracer": "callTracer"}])
    found = []

    def walk(node):
        if node.get("to", "").lower() == pool and node["input"].startswith(selector):
            found.append(node)
        for child in node.get("calls", []):
            walk(child)

    walk(trace)
    return found


def oracle_read_breakdown(provider, mc: dict) -> list[tuple[str, int]]:
    """What one more held token adds to a margin check that asks the pool: the call frames of
    `pool.valueOf` in the 3-token withdrawal with a position open (callTracer), per token."""
    found = value_of_frames(provider, mc[3], "withdraw_open")
    assert len(found) == 1, len(found)
    value_of = found[0]
    oracles = value_of.get("calls", [])
    assert len(oracles) == 3, len(oracles)
    total = int(value_of["gasUsed"], 16)
    oracle_gas = sum(int(c["gasUsed"], 16) for c in oracles)
    feeds = [f for c in oracles for s in c.get("calls", []) for f in s.get("calls", [])]
    feed_gas = sum(int(f["gasUsed"], 16) for f in feeds)
    return [
        ("pool.valueOf, 3 tokens held (the call frame)", total),
        ("of which oracle.tryPrice, per token (call included)", oracle_gas // 3),
        ("of which MockV3Aggregator.latestRoundData, per token", feed_gas // len(feeds)),
        ("pool: cold registry and balance slots, oracle account access, arithmetic, per token", (total - oracle_gas) // 3),
    ]


def _selector(signature: str) -> str:
    from eth_utils import function_signature_to_4byte_selector

    return "0x" + function_signature_to_4byte_selector(signature).hex()


def _versions(project) -> dict:
    out = {name: importlib.metadata.version(name) for name in ("eth-ape", "ape-solidity", "ape-foundry")}
    try:
        compilers = project.manifest.compilers or []
        out["solc"] = ", ".join(sorted({c.version for c in compilers if c.name.lower() == "solidity"})) or "?"
    except Exception:  # noqa: BLE001 - report what we can
        out["solc"] = "?"
    try:
        line = subprocess.run(["anvil", "--version"], capture_output=True, text=True, check=True).stdout
        out["anvil"] = line.strip().splitlines()[0].replace("anvil Version: ", "anvil ")
    except Exception:  # noqa: BLE001
        out["anvil"] = "anvil ?"
    try:
        git = ["git", "-C", str(ROOT)]
        rev = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout
        status = [*git, "status", "--porcelain", "--untracked-files=no", "contracts"]
        dirty = subprocess.run(status, capture_output=True, text=True).stdout
        out["contracts"] = rev.strip() + (" + uncommitted changes" if dirty.strip() else "")
    except Exception:  # noqa: BLE001
        out["contracts"] = "?"
    return out


def render(rows, breakdown, mc_rows, per_token, elapsed, project) -> str:
    v = _versions(project)
    lines = [
        "# Gas per operation",
        "",
        f"Measured {_dt.date.today().isoformat()} by `benchmarks/gas.py` (contracts at {v['contracts']}) "
        f"on a local Anvil ({v['anvil']}); "
        f"solc {v['solc']} (optimizer on, 1,000 runs, no via-IR, cancun); eth-ape {v['eth-ape']}, "
        f"ape-solidity {v['ape-solidity']}, ape-foundry {v['ape-foundry']}. `gas_used` of the receipt: "
        "intrinsic 21,000 and calldata included. Market defaults of `tests/conftest.py`; fills of "
        "0.01 BTC at 60,000; every transaction 60 s after the previous one with a non-zero funding "
        f"rate, so each accrues funding. Run time {elapsed:.0f} s.",
        "",
        "| operation | case | gas | note |",
        "|---|---|---:|---|",
        *[f"| {op} | {case} | {gas:,} | {note} |" for op, case, gas, note in rows],
        "",
        "Steady state: both accounts already hold capital, a position and their profit-vesting word",
        "(written by the first fill that gave the account profit: funding, here); each fill has two",
        "fresh orders (new `filled` slots). Cold: the accounts have capital but never had a position.",
        "",
        "## Where a steady settle spends its gas: 1 fill, and 10 fills per fill",
        "",
        "From `debug_traceTransaction`: call frames (callTracer) and opcode charges by call depth",
        "(1 = router, 2 = market). SSTORE is charged before refunds (there are none here). What a",
        "batch pays once (intrinsic gas, the matcher and market reads, the oracle, FundingRate, the",
        "market's parameters and totals) is a tenth of it per fill in the 10-fill column.",
        "",
        "| part | 1 fill | 10 fills, per fill |",
        "|---|---:|---:|",
        *[f"| {name} | {one:,} | {ten:,} |" for (name, one), (_, ten) in breakdown],
        "",
        "## Multi-collateral: 1 and 3 collateral tokens",
        "",
        "A fresh exchange (same market defaults) with one, then one with three tokens registered",
        "through `router.setCollateral` (WETH, 18 decimals, 3,000 USD, weight 0.8, discount 5 %;",
        "WBTC, 8 decimals, 60,000 USD, 0.7, 10 %; FRAX, 18 decimals, 1 USD, 0.9, 2 %; each with its",
        "own MockV3Aggregator and ChainlinkOracle); an earlier deposit of every token for another",
        "account made the pool's totals non-zero. The account holds 1 resp. 3 of them. Deposits and",
        "withdrawals are the account's own transactions (mint and exact approve before a deposit);",
        "the margin checks in the withdrawal with a position (0.1 BTC long on 100 USDC of capital),",
        "the fallback settle (a 0.1 BTC short on 100 USDC and 1,000 USD of each token adds 0.01 BTC)",
        "and the liquidation (1 BTC long at 60,000 on 700 USDC and 5,400 USD of weighted collateral,",
        "price down to 56,500) all need the collateral, so the pool prices every token held.",
        "`liquidateCollateral` then repays the victim's whole debt, called by a flat account;",
        "it sells the lowest weight first (WBTC, WETH, FRAX). The capital-covered settle is the",
        "first transaction after the registration, and is compared with the same accounts and",
        "orders on a fresh market without a pool; the USDC-only liquidation is the main table's",
        "scenario, on the market with a pool.",
        "",
        "| operation | case | 1 token | 3 tokens | note |",
        "|---|---|---:|---:|---|",
        *[f"| {op} | {case} | {g1:,} | {g3:,} | {note} |" for op, case, g1, g3, note in mc_rows],
        "",
        "What a held token costs a margin check that asks the pool (call frames of the 3-token",
        "withdrawal with a position; the mock feed reads five cold slots: a live feed's cost differs,",
        "a Chainlink proxy calling its aggregator):",
        "",
        "| part | gas |",
        "|---|---:|",
        *[f"| {name} | {gas:,} |" for name, gas in per_token],
        "",
    ]
    return "\n".join(lines)


def previous_rows(text: str) -> dict[tuple[str, str], int]:
    """(operation, case) -> gas of the first table of a gas.md written by `render`."""
    out = {}
    for line in text.splitlines():
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[2].replace(",", "").isdigit():
            out[(cells[0], cells[1])] = int(cells[2].replace(",", ""))
    return out


def compare(old: str, new: str) -> str:
    """The rows of the main table against a previous gas.md (printed, not written)."""
    before, after = previous_rows(old), previous_rows(new)
    lines = ["| operation | case | before | after | change |", "|---|---|---:|---:|---:|"]
    for key, gas in after.items():
        if key in before:
            d = gas - before[key]
            lines.append(f"| {key[0]} | {key[1]} | {before[key]:,} | {gas:,} | {d:+,} |")
        else:
            lines.append(f"| {key[0]} | {key[1]} | (new) | {gas:,} | |")
    return "\n".join(lines)


def main() -> None:
    os.chdir(ROOT)  # ape's project is the working directory's
    # ape-solidity does not rebuild the contracts that embed a changed one (router, factory):
    # the Makefile's `compile` rebuilds everything when the sources changed.
    subprocess.run(["make", "-s", "compile"], cwd=ROOT, check=True)
    table = run()
    out = ROOT / "benchmarks" / "results" / "gas.md"
    old = out.read_text() if out.exists() else ""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    print()
    print(table)
    print(f"written to {out.relative_to(ROOT)}")
    if old:
        print()
        print("Against the previous benchmarks/results/gas.md:")
        print(compare(old, table))


if __name__ == "__main__":
    main()
