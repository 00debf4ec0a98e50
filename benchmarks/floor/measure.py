"""The gas floor of `settle(Fill[])`: what the least implementation of issue 3's features pays.

    PYTHONPATH=/work/main /work/main/.venv/bin/python benchmarks/floor/measure.py

Compiles benchmarks/floor/SettleFloor.sol with the project's solc-js (0.8.28, optimizer on,
1,000 runs, cancun, as ape-config.yaml), runs it in process (pyrevm, `perpkit.evm.InProcessChain`
with a cold state per transaction: `ColdChain`) through the scenarios of `benchmarks/gas.py` (same
traders, order sizes, prices, expiry, nonces, accounts that already hold positions; per fill =
total gas // fills, intrinsic 21,000 and calldata included), and runs the real PerpRouter through
the same scenarios on the same EVM as a reference (it reproduces gas.py's Anvil figures to the
gas). Prints a markdown table and writes benchmarks/results/settle-floor.md. About 20 s.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import subprocess
import sys
import time
from itertools import count
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from eth_utils import keccak, to_checksum_address  # noqa: E402
from pyrevm import EVM, AccountInfo, CfgEnv, Env  # noqa: E402

from benchmarks.gas import EXPIRY, FILL_PRICE, FILL_SIZE, USDC, GasSuite, trader  # noqa: E402
from perpkit.evm import Artifact, InProcessChain, Reverted  # noqa: E402
from perpkit.orders import Order, fill_tuple, order_digest, sign_order  # noqa: E402
from tests.conftest import deploy_exchange  # noqa: E402
from tests.fuzz.suites import role  # noqa: E402

SOURCE = ROOT / "benchmarks" / "floor" / "SettleFloor.sol"
OUT = ROOT / "benchmarks" / "results" / "settle-floor.md"
GAS_MD = ROOT / "benchmarks" / "results" / "gas.md"
N_PAIRS = 100
ENGINE_MAKERS = 8  # benchmarks/engine.py: 100 maker orders of 8 makers against one taker order
# benchmarks/gas.py runs crank_scenario (2 traders, one settle: 2 orders) and collateral_scenario
# (one settle: 2 orders) before settle_scenario: its makers are trader(2..101), its takers
# trader(102..201), and its order nonces start at 4. The floor uses the same, so that its
# calldata is the router's byte for byte but for the signatures.
FIRST_TRADER = 2
FIRST_NONCE = 4

# Fixed costs of the EVM (Cancun), for the breakdown of a floor fill.
G_COLD_SLOAD, G_SSTORE_SET, G_SSTORE_RESET = 2_100, 20_000, 2_900
G_ECRECOVER, G_WARM_CALL = 3_000, 100


def log_gas(topics: int, data_words: int) -> int:
    return 375 + 375 * topics + 8 * 32 * data_words


G_ORDER_FILLED = log_gas(4, 4)  # 2,899
G_POSITION_CHANGED = log_gas(2, 5)  # 2,405


# ---------------------------------------------------------------- a node's gas on pyrevm

EMPTY_CODE_HASH = keccak(b"")
_ACCOUNT = re.compile(r"(0x[0-9a-f]{40}): Account \{")
_SLOT = re.compile(r"(\d+): StorageSlot \{ previous_or_original_value: \d+, present_value: (\d+) \}")


class ColdChain(InProcessChain):
    """`perpkit.evm.InProcessChain` whose every transaction starts from a cold state, as on a node.

    pyrevm 0.3's `message_call` never finalises its journal: every account and storage slot a
    transaction touched stays warm for all later ones, and a slot's "original value" (EIP-2200) is
    its value before the first transaction that wrote it. So on InProcessChain a second
    transaction reading an account's words pays 100 gas a slot, not 2,100, and rewriting them 100,
    not 2,900 (measured: PerpRouter's steady 1-fill settle 127,050 instead of Anvil's 215,050;
    the floor's steady 100-fill settle 72,285 a fill instead of 91,485). Before each transaction
    this class copies the state (code, nonces and every non-zero storage slot, read from the
    journal) into a new EVM, so that EIP-2929 / EIP-2200 charges start over, as between two
    transactions on Anvil; with it the router's figures equal gas.py's on Anvil to the gas."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._storage: dict[str, dict[int, int]] = {}

    def _carry_storage(self) -> None:
        """Every slot the journal holds (its present value) into `_storage`: pyrevm shows its
        journal only as Rust's debug text, so it is parsed from that."""
        state = self.evm.journal_str.split(", journal: [", 1)[0]
        heads = list(_ACCOUNT.finditer(state))
        for i, m in enumerate(heads):
            end = heads[i + 1].start() if i + 1 < len(heads) else len(state)
            slots = self._storage.setdefault(to_checksum_address(m.group(1)), {})
            for key, value in _SLOT.findall(state[m.end() : end]):
                slots[int(key)] = int(value)

    def cold(self) -> None:
        self._carry_storage()
        accounts = {**self.evm.db_accounts, **self.evm.journal_state}
        env = Env(cfg=CfgEnv(chain_id=self.chain_id), block=self._block_env(self.number, self.timestamp))
        evm = EVM(env=env, spec_id="CANCUN")
        for address, info in accounts.items():
            code = None
            if info.code_hash != EMPTY_CODE_HASH:  # revm pads analysed code with 33 zero bytes
                raw = bytes(info.code)
                lengths = [len(raw) - 33, *range(len(raw), -1, -1)]
                code = next(raw[:n] for n in lengths if n >= 0 and keccak(raw[:n]) == info.code_hash)
            if info.balance:  # set_balance would load the account into the journal (warm)
                raise NotImplementedError(f"{address} holds ether")
            evm.insert_account_info(address, AccountInfo(nonce=info.nonce, code=code))
        # insert_account_storage writes to the database only while the account is not in the
        # journal, then loads it there (warm); further slots would go through the journal as
        # dirty writes (original value 0). Reverting a checkpoint unloads the account again.
        for address, slots in self._storage.items():
            for key, value in slots.items():
                if value:
                    checkpoint = evm.snapshot()
                    evm.insert_account_storage(address, key, value)
                    evm.revert(checkpoint)
        assert not evm.journal_state, "the fresh state is not cold"
        self.evm = evm

    def transact(self, *args, **kw):
        self.cold()
        return super().transact(*args, **kw)


# ---------------------------------------------------------------- compile


def compile_floor() -> dict[str, Artifact]:
    standard = {
        "language": "Solidity",
        "sources": {SOURCE.name: {"content": SOURCE.read_text()}},
        "settings": {
            "optimizer": {"enabled": True, "runs": 1000},
            "evmVersion": "cancun",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    proc = subprocess.run(
        ["node", str(ROOT / "tools" / "solc.js"), "--standard-json"],
        input=json.dumps(standard), capture_output=True, text=True, check=True, cwd=ROOT,
    )
    out = json.loads(proc.stdout)
    errors = [e for e in out.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise SystemExit("\n".join(e["formattedMessage"] for e in errors))
    return {
        name: Artifact(name, c["abi"], bytes.fromhex(c["evm"]["bytecode"]["object"]))
        for name, c in out["contracts"][SOURCE.name].items()
    }


def solc_version() -> str:
    line = subprocess.run(["node", str(ROOT / "tools" / "solc.js"), "--version"], capture_output=True, text=True).stdout
    return line.strip().splitlines()[-1].replace("Version: ", "").replace(".Emscripten.clang", "")


def calldata_gas(data: bytes) -> int:
    return sum(4 if b == 0 else 16 for b in data)


# ---------------------------------------------------------------- the floor


class Floor:
    """One deployed floor contract and the orders it settles (market 0, as the benchmark's)."""

    def __init__(self, chain: InProcessChain, name: str):
        self.chain, self.name = chain, name
        self.matcher = role("matcher")
        self.contract = chain.deploy(name, sender=role("owner"))
        self.nonces = count(FIRST_NONCE)

    def order(self, signer, size: int) -> Order:
        return Order(signer.address, 0, size, FILL_PRICE, next(self.nonces), EXPIRY, False)

    def sign(self, order: Order, signer) -> bytes:
        return sign_order(order, signer.private_key, self.chain.chain_id, self.contract.address)

    def fills(self, pairs, size: int = FILL_SIZE) -> list:
        """As GasSuite.fills: one fresh pair of orders per (maker, taker); the maker buys."""
        out = []
        for maker, taker in pairs:
            mk, tk = self.order(maker, size), self.order(taker, -size)
            out.append(fill_tuple(mk, self.sign(mk, maker), tk, self.sign(tk, taker), size))
        return out

    def settle(self, fills):
        return self.contract.settle(fills, sender=self.matcher)

    def check(self, order: Order) -> None:
        """The contract's EIP-712 digest is perpkit's (so its signatures are PerpRouter's kind)."""
        got = self.contract.hashOrder(order.as_tuple())
        assert got == order_digest(order, self.chain.chain_id, self.contract.address), self.name


def one_maker_fills(order_fn, sign_fn, maker, takers, size: int = FILL_SIZE) -> list:
    """Variant (b): one maker order (buys len(takers) x size) taken by a fresh order of each taker."""
    mk = order_fn(maker, size * len(takers))
    mk_sig = sign_fn(mk, maker)
    out = []
    for t in takers:
        tk = order_fn(t, -size)
        out.append(fill_tuple(mk, mk_sig, tk, sign_fn(tk, t), size))
    return out


def engine_fills(order_fn, sign_fn, makers, taker, n: int, size: int = FILL_SIZE) -> list:
    """benchmarks/engine.py's shape: n fresh maker orders (sells) of `makers` in turn, all taken by
    one taker order (buys n x size)."""
    mks = []
    for i in range(n):
        m = makers[i % len(makers)]
        o = order_fn(m, -size)
        mks.append((o, sign_fn(o, m)))
    tk = order_fn(taker, size * n)
    tk_sig = sign_fn(tk, taker)
    return [fill_tuple(o, sig, tk, tk_sig, size) for o, sig in mks]


def floor_scenarios(chain: InProcessChain, name: str) -> dict:
    """gas.py's settle_scenario on the floor: fund 200 accounts, one cold fill, the other 99 pairs
    cold in one batch, then steady batches of 1, 10 and 100 fills (every account has capital and a
    position); then the one-maker and the engine shape on those accounts."""
    fl = Floor(chain, name)
    makers = [trader(FIRST_TRADER + k) for k in range(N_PAIRS)]
    takers = [trader(FIRST_TRADER + N_PAIRS + k) for k in range(N_PAIRS)]
    pairs = list(zip(makers, takers))
    fl.contract.fund([a.address for a in makers + takers], 10_000 * 10**18, sender=role("owner"))
    out = {"floor": fl}
    cold_1 = fl.fills(pairs[:1])
    fl.check(Order(*cold_1[0][0]))
    out["cold_1"] = fl.settle(cold_1)
    out["cold_rest"] = fl.settle(fl.fills(pairs[1:]))
    for n in (1, 10, 100):
        fills = fl.fills(pairs[:n])
        out[f"steady_{n}"] = fl.settle(fills)
        out[f"steady_{n}_calldata"] = calldata_gas(fl.contract.settle.encode_input(fills))
    out["one_maker"] = fl.settle(one_maker_fills(fl.order, fl.sign, makers[0], takers))
    out["engine"] = fl.settle(engine_fills(fl.order, fl.sign, makers[:ENGINE_MAKERS], takers[0], N_PAIRS))
    # the last steady batch did its work: the orders' `filled` words (unless variant (a)), positions
    last = Order(*fills[-1][2])
    done = fl.contract.filled(fl.contract.hashOrder(last.as_tuple()))
    assert done == (0 if name == "SettleFloorNoFilled" else FILL_SIZE), (name, done)
    acct = fl.contract.accounts(makers[0].address)
    assert acct[2] > 0 and acct[0] > 0, acct  # a long, with capital
    return out


# ---------------------------------------------------------------- the router, same EVM


class InProcessGasSuite(GasSuite):
    """benchmarks/gas.py's GasSuite on pyrevm: deposits one transaction each (no web3 batching)."""

    def deposit_for(self, traders, usdc: int) -> None:
        ex, funder = self.ex, self.funder
        ex.token.mint(funder, usdc * USDC * len(traders), sender=funder)
        if not self._approved:
            ex.token.approve(ex.router, 2**256 - 1, sender=funder)
            self._approved = True
        for t in traders:
            ex.router.depositFor(ex.market_id, t.address, usdc * USDC, sender=funder)


def router_scenarios() -> dict:
    """gas.py's run() up to its settle scenario (start_funding, crank_scenario, collateral_scenario,
    settle_scenario(100)), then the one-maker and the engine shape."""
    chain = ColdChain.from_build()
    owner, alice, bob, keeper, matcher, guardian = (
        role(r) for r in ("owner", "alice", "bob", "keeper", "matcher", "guardian")
    )

    def deploy(name, *args):
        return chain.deploy(name, *args, sender=owner)

    ex = deploy_exchange(deploy, chain.at, chain, owner, matcher, guardian)
    suite = InProcessGasSuite(ex, chain, funder=owner, keeper=keeper)
    suite.start_funding()
    suite.crank_scenario()
    suite.collateral_scenario(alice, bob)
    out = suite.settle_scenario(N_PAIRS)
    makers, takers = [m for m, _ in out["pairs"]], [t for _, t in out["pairs"]]
    assert makers[0].address == trader(FIRST_TRADER).address, "gas.py's traders moved: update FIRST_TRADER"

    def order_fn(signer, size):
        return ex.order(signer, size, FILL_PRICE, expiry=EXPIRY)

    def sign_fn(order, signer):
        return ex.sign(order, signer)

    suite.tick()
    out["one_maker"] = ex.router.settle(one_maker_fills(order_fn, sign_fn, makers[0], takers), sender=matcher)
    suite.tick()
    fills = engine_fills(order_fn, sign_fn, makers[:ENGINE_MAKERS], takers[0], N_PAIRS)
    out["engine"] = ex.router.settle(fills, sender=matcher)
    return out


def anvil_rows() -> dict[str, int]:
    """Per-fill figures of benchmarks/results/gas.md (Anvil), by case."""
    out = {}
    if not GAS_MD.exists():
        return out
    for line in GAS_MD.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] == "settle" and cells[2].replace(",", "").isdigit():
            out[cells[1]] = int(cells[2].replace(",", ""))
    return out


# ---------------------------------------------------------------- report


def per_fill(r: dict, key: str, n: int) -> int:
    return r[key].gas_used // n


def rows(floor: dict, nofill: dict, router: dict, anvil: dict) -> list[tuple]:
    """(case, floor, floor (a), router in process, router on Anvil) per fill."""

    def marginal(r):
        return (r["steady_100"].gas_used - r["steady_10"].gas_used) // 90

    def a(case):
        return anvil.get(case)

    out = [
        ("1 fill, cold (accounts with capital, no position)", floor["cold_1"].gas_used, nofill["cold_1"].gas_used,
         router["cold_1"].gas_used, a("1 fill, cold (both accounts never had a position)")),
        ("99 fills, cold: per fill", per_fill(floor, "cold_rest", 99), per_fill(nofill, "cold_rest", 99),
         per_fill(router, "cold_rest", 99), a("99 fills, cold: per fill")),
    ]
    for n in (1, 10, 100):
        case = f"{n} fill{'s' if n > 1 else ''}, steady: per fill"
        out.append((case, per_fill(floor, f"steady_{n}", n), per_fill(nofill, f"steady_{n}", n),
                    per_fill(router, f"steady_{n}", n), a(case)))
    out.append(("steady: marginal cost of one more fill, (g100 - g10) / 90", marginal(floor), marginal(nofill),
                marginal(router), a("steady: marginal cost of one more fill")))
    out.append(("(b) one maker order taken by 100 takers: per fill", per_fill(floor, "one_maker", N_PAIRS),
                per_fill(nofill, "one_maker", N_PAIRS),
                per_fill(router, "one_maker", N_PAIRS), None))
    out.append((f"(c) engine shape: 100 orders of {ENGINE_MAKERS} makers, one taker order: per fill",
                per_fill(floor, "engine", N_PAIRS), per_fill(nofill, "engine", N_PAIRS),
                per_fill(router, "engine", N_PAIRS), None))
    return out


def breakdown(floor: dict) -> list[tuple[str, int, int]]:
    """(part, gas of the steady 1-fill settle, per fill of the steady 100-fill settle). Every part
    but the last is a fixed EVM price (calldata counted from the bytes sent); the last is what the
    contract's own code costs: ABI decoding, the 4 keccaks, checks, memory, event encoding, loop."""
    one, hundred = floor["steady_1"].gas_used, floor["steady_100"].gas_used // 100
    fixed = [
        ("filled[maker], filled[taker]: cold read + zero -> non-zero write, x2", 2 * (G_COLD_SLOAD + G_SSTORE_SET)),
        ("2 accounts x 2 words (size/openNotional, capital/pnl): cold read + rewrite",
         4 * (G_COLD_SLOAD + G_SSTORE_RESET)),
        ("ecrecover x2 (precompile + warm call)", 2 * (G_ECRECOVER + G_WARM_CALL)),
        ("events: OrderFilled (4 topics, 4 words) + 2 PositionChanged (2 topics, 5 words)",
         G_ORDER_FILLED + 2 * G_POSITION_CHANGED),
    ]
    parts = [
        ("intrinsic (21,000 a transaction)", 21_000, 21_000 // 100),
        ("calldata (2 orders, 2 signatures, amount, ABI offsets)",
         floor["steady_1_calldata"], floor["steady_100_calldata"] // 100),
        *[(name, g, g) for name, g in fixed],
    ]
    hard = ("= fixed EVM prices only (no code at all)", sum(p[1] for p in parts), sum(p[2] for p in parts))
    rest = ("the floor contract's own code (decoding, 4 keccaks, checks, memory, loop)",
            one - hard[1], hundred - hard[2])
    return [("total", one, hundred), *parts, hard, rest]


def fmt(v) -> str:
    return "" if v is None else f"{v:,}"


def implications(floor: dict, nofill: dict, router: dict, parts) -> list[str]:
    one, ten, hundred = (floor[f"steady_{n}"].gas_used // n for n in (1, 10, 100))
    r1, r100 = router["steady_1"].gas_used, router["steady_100"].gas_used // 100
    a100 = nofill["steady_100"].gas_used // 100
    b, c = floor["one_maker"].gas_used // 100, floor["engine"].gas_used // 100
    hard1, hard100 = parts[-2][1], parts[-2][2]

    def verdict(floor_gas, target):
        if floor_gas <= target:
            return f"reachable: the floor leaves {target - floor_gas:,} for everything it omits"
        return f"unreachable: the floor is {floor_gas - target:,} above it"

    return [
        f"- One fill, target 150,000: floor {one:,} ({hard1:,} of fixed EVM prices, {one - hard1:,} of code);",
        f"  {verdict(one, 150_000)}. PerpRouter pays {r1:,}, {r1 - one:,} above the floor.",
        f"- 100 fills, target 60,000 a fill: floor {hundred:,} a fill ({hard100:,} of fixed EVM prices, 44,200",
        f"  of them the two fresh `filled` words); {verdict(hundred, 60_000)}",
        f"  (the fixed prices alone are {hard100 - 60_000:,} above it). PerpRouter pays {r100:,},",
        f"  {r100 - hundred:,} above the floor.",
        f"  10 fills: floor {ten:,} a fill.",
        f"- Without a fresh word per order, (a): {a100:,} a fill. With one fresh order word per fill and",
        f"  warm accounts, (c) the engine's shape (one taker order against 100 fresh maker orders of",
        f"  {ENGINE_MAKERS} makers): {c:,}. With one fresh order word and one cold account pair per fill, (b) one",
        f"  maker order against 100 fresh taker orders of 100 accounts: {b:,}.",
    ]


def render(table, parts, implied, elapsed) -> str:
    lines = [
        "# The gas floor of `settle`",
        "",
        f"Measured {_dt.date.today().isoformat()} by `benchmarks/floor/measure.py`: solc {solc_version()} "
        "(solc-js, optimizer on, 1,000 runs, no via-IR, cancun, as ape-config.yaml), pyrevm 0.3 (Cancun) "
        "through `perpkit.evm.InProcessChain` with a cold state rebuilt before every transaction (see "
        "below). Gas is the transaction's `gas_used`: intrinsic 21,000 and calldata included; per fill = "
        "total // fills, as `benchmarks/gas.py`. Same scenarios as gas.py's settle rows: 100 generated "
        "maker / taker pairs (the same addresses and nonces), fills of 0.01 BTC at 60,000, expiry 2^40, "
        "two fresh orders per fill; cold = the accounts have capital but no position; steady = every "
        f"account already holds capital and a position. Run time {elapsed:.0f} s.",
        "",
        "| case | floor | floor (a): no `filled` | PerpRouter, same EVM | PerpRouter, gas.md (Anvil) |",
        "|---|---:|---:|---:|---:|",
        *[f"| {c} | {fmt(f)} | {fmt(a)} | {fmt(r)} | {fmt(an)} |" for c, f, a, r, an in table],
        "",
        "PerpRouter, same EVM: the real PerpRouter + PerpMarket (fees, funding accrual, oracle, margin",
        "checks) driven through gas.py's own `GasSuite` on this harness, after gas.py's crank and deposit",
        "scenarios. These figures equal, to the gas, what gas.py measures on Anvil for the same",
        "contracts (215,050 / 135,545 / 127,629 for the current contracts, the figures in",
        "tests/unit/test_gas_ceilings.py); the last column is whatever benchmarks/results/gas.md holds",
        "(its header says which contracts it measured).",
        "(b): one maker order of 1 BTC, taken by a fresh 0.01 BTC order of each of the 100 takers, after",
        "the steady batches: the maker's `filled` word and account words are warm after the first fill.",
        "(c): the shape of the engine benchmark (README: 67,622 a fill there, on its own accounts): 100",
        f"fresh 0.01 BTC sell orders of {ENGINE_MAKERS} makers, all taken by one 1 BTC buy order of one taker.",
        "",
        "## What it implies for issue 3's targets",
        "",
        *implied,
        "",
        "## Where a floor fill goes (steady)",
        "",
        "| part | 1 fill | 100 fills, per fill |",
        "|---|---:|---:|",
        *[f"| {name} | {g1:,} | {g100:,} |" for name, g1, g100 in parts],
        "",
        "The funding a perpkit account carries would add, per fill, a third word per account",
        "(funding snapshot: 2 x 5,000 = 10,000 when the index moved since the account's last trade) and",
        "two FundingSettled events (2 x 1,637); the issue's feature list does not ask for them.",
        "",
        "## What the floor contract does and omits",
        "",
        "`benchmarks/floor/SettleFloor.sol`, `settle(Fill[] calldata)` with the structs of",
        "contracts/libraries/Types.sol (its calldata is PerpRouter's). Per fill: the EIP-712 struct hash",
        "of both orders (type hash + 7 words, hashed in scratch memory as PerpRouter does) and the",
        "digest with a domain separator cached in an immutable; `ecrecover` of both 65-byte signatures",
        "read from calldata, each signer required to be its order's trader; `filled[hash]` of both",
        "orders read, the amount required to fit, `filled + amount` written; both accounts' two packed",
        "words (int128 size / int128 openNotional, and uint128 capital / int128 pnl) read and written",
        "back changed (capital less 1 wei stands for the fee or realised PnL a real fill books there);",
        "`OrderFilled` and two `PositionChanged` with Events.sol's signatures. Variant (a),",
        "`SettleFloorNoFilled`, drops the `filled` read and write (replay protection by a nonce bitmap",
        "whose words are already warm and dirty would add ~200 gas per order, not counted).",
        "measure.py checks that the floor's digest is perpkit's EIP-712 digest, and that it rejects a",
        "wrong signer and an overfill.",
        "",
        "Omitted, as not in the issue's feature list or once per batch: matcher check, market lookup",
        "and the router -> market call, expiry / same-market / opposite-side / price-cross / minNonce /",
        "cancellation / reduce-only checks, ERC-1271 wallets and operators, malleable-s rejection,",
        "oracle read, funding accrual and per-account funding settlement, fee computation and the",
        "insurance fund, open interest and market totals, margin checks. The checks cost tens of gas",
        "each; the storage (funding snapshot, totals, minNonce, market address) and the cross-contract",
        "call are what separate the floor from the router.",
        "",
        "## The harness: a cold state per transaction",
        "",
        "pyrevm 0.3's `message_call` never finalises its journal, so on plain `InProcessChain` every",
        "account and storage slot stays warm for all later transactions and a slot's EIP-2200 original",
        "value is the one before the first transaction that wrote it: rewriting an account's word costs",
        "100 instead of 5,000. Measured that way PerpRouter's steady 1-fill settle reads 127,050 (Anvil:",
        "215,050) and the floor's 100-fill settle 72,285 a fill (91,485). `ColdChain` in measure.py",
        "copies the whole state (code, nonces, every non-zero slot) into a fresh EVM before each",
        "transaction, after which the router's figures match Anvil's exactly.",
        "",
    ]
    return "\n".join(lines)


def sanity(chain: InProcessChain) -> None:
    """The floor does verify: a fill signed by the wrong key, and an overfill, revert."""
    fl = Floor(chain, "SettleFloor")
    maker, taker = trader(FIRST_TRADER), trader(FIRST_TRADER + N_PAIRS)
    fl.contract.fund([maker.address, taker.address], 10**18, sender=role("owner"))
    mk, tk = fl.order(maker, FILL_SIZE), fl.order(taker, -FILL_SIZE)
    forged = fill_tuple(mk, fl.sign(mk, maker), tk, fl.sign(tk, maker), FILL_SIZE)
    overfill = fill_tuple(mk, fl.sign(mk, maker), tk, fl.sign(tk, taker), FILL_SIZE + 1)
    cases = ((forged, "InvalidSignature(address,bytes32)"), (overfill, "FillExceedsOrder(bytes32,uint256,uint256)"))
    for fill, error in cases:
        try:
            fl.settle([fill])
        except Reverted as err:
            assert err.data[:4] == keccak(text=error)[:4], (error, err)
        else:
            raise AssertionError(f"the floor accepted a fill that should raise {error}")


def main() -> None:
    started = time.time()
    artifacts = compile_floor()
    sanity(ColdChain(artifacts))
    floor = floor_scenarios(ColdChain(artifacts), "SettleFloor")
    nofill = floor_scenarios(ColdChain(artifacts), "SettleFloorNoFilled")
    router = router_scenarios()
    table = rows(floor, nofill, router, anvil_rows())
    parts = breakdown(floor)
    text = render(table, parts, implications(floor, nofill, router, parts), time.time() - started)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)
    print(f"written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
