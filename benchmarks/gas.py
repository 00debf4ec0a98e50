"""Gas per operation of the perpkit suite on a local Anvil (started and stopped by ape).

    .venv/bin/python benchmarks/gas.py          # prints the table, writes benchmarks/results/gas.md

Measures `receipt.gas_used` (intrinsic 21,000 and calldata included) of deposit, withdraw, settle
with 1 / 10 / 100 fills (steady state and cold), crank with 1 and 1,000 open positions,
recordQuote and liquidate, and breaks a steady 10-fill settle down by call frame and opcode.

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
from pathlib import Path

from perpkit.devkeys import DevSigner, dev_signer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.conftest import (  # noqa: E402  (pure helpers: importing them needs no pytest session)
    BTC_PRICE,
    WAD,
    Exchange,
    ape_deployer,
)
from tests.conftest import deploy_exchange as deploy_conftest_exchange  # noqa: E402

USDC = 10**6
FILL_SIZE = WAD // 100  # 0.01 BTC per fill
FILL_PRICE = BTC_PRICE * WAD
EXPIRY = 2**40  # fixed, so that calldata (and its gas) does not depend on the clock
STEP = 60  # seconds between measured transactions: every one accrues funding


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
        web3, nonce = provider.web3, funder.nonce
        provider.auto_mine = False
        try:
            hashes = [
                web3.eth.send_transaction(
                    {
                        "from": funder.address,
                        "to": ex.router.address,
                        "data": ex.router.depositFor.encode_input(ex.market_id, t.address, usdc * USDC),
                        "gas": 300_000,
                        "nonce": nonce + k,
                    }
                )
                for k, t in enumerate(traders)
            ]
            while int(provider.make_request("txpool_status", [])["pending"], 16):
                provider.mine(1)
        finally:
            provider.auto_mine = True
        failed = [h for h in hashes if web3.eth.get_transaction_receipt(h)["status"] != 1]
        assert not failed, f"{len(failed)} depositFor reverted"

    def fills(self, pairs, size: int = FILL_SIZE, price: int = FILL_PRICE) -> list:
        """One fresh fill per (maker, taker): the maker buys `size` from the taker at `price`."""
        ex, out = self.ex, []
        for maker, taker in pairs:
            mk = ex.order(maker, size, price, expiry=EXPIRY)
            tk = ex.order(taker, -size, price, expiry=EXPIRY)
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
        """Fresh funded pairs: one cold fill, the other pairs' cold fills in one batch, then
        steady-state batches of each size (every account already has capital and a position)."""
        makers, takers = self.new_traders(n_pairs), self.new_traders(n_pairs)
        pairs = list(zip(makers, takers))
        out = {"pairs": pairs, "cold_1": self.settle(pairs[:1])}
        if n_pairs > 1:
            out["cold_rest"] = self.settle(pairs[1:])
        for n in steady_sizes:
            out[f"steady_{n}"] = self.settle(pairs[:n])
        return out

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


# ---------------------------------------------------------------- analysis


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
        for n in (1, 10, 100):
            g = st[f"steady_{n}"].gas_used
            row("settle", f"{n} fill{'s' if n > 1 else ''}, steady: per fill", g // n, f"total {g:,}")
        marginal = (st["steady_100"].gas_used - st["steady_10"].gas_used) // 90
        row("settle", "steady: marginal cost of one more fill", marginal, "(g100 - g10) / 90")

        # ---- liquidate
        victim, counterparty, liq = suite.liquidation_scenario(carol)
        row("liquidate", "whole 1 BTC position, no bad debt", liq.gas_used, "the liquidator opens a position")
        suite.tick()
        ex.set_price(BTC_PRICE)

        # ---- crank with 1,000 open positions: the same FundingRate state as the first one
        known = [alice, bob, carol, *pair, *makers, *takers, victim, counterparty]

        def open_count(accts):
            return sum(1 for a in accts if ex.market.positionOf(a.address)[0] != 0)

        need = 1_000 - open_count(known)
        assert need > 0 and need % 2 == 0, need
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

        # ---- where a steady 10-fill settle spends its gas
        breakdown = fill_breakdown(provider, st["steady_10"], ex, 10)
        elapsed = time.time() - started

    return render(rows, breakdown, elapsed, project)


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


def render(rows, breakdown, elapsed, project) -> str:
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
        "Steady state: both accounts already hold capital and a position; each fill has two fresh",
        "orders (new `filled` slots). Cold: the accounts have capital but never had a position.",
        "",
        "## Where a steady 10-fill settle spends its gas (per fill)",
        "",
        "From `debug_traceTransaction`: call frames (callTracer) and opcode charges by call depth",
        "(1 = router, 2 = market). SSTORE is charged before refunds (there are none here).",
        "",
        "| part | gas per fill |",
        "|---|---:|",
        *[f"| {name} | {gas:,} |" for name, gas in breakdown],
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    os.chdir(ROOT)  # ape's project is the working directory's
    # ape-solidity does not rebuild the contracts that embed a changed one (router, factory):
    # the Makefile's `compile` rebuilds everything when the sources changed.
    subprocess.run(["make", "-s", "compile"], cwd=ROOT, check=True)
    table = run()
    out = ROOT / "benchmarks" / "results" / "gas.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    print()
    print(table)
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
