"""The Foundry yardstick for the fuzz suite (issue 6): forge's invariant fuzzer, calls per second.

    .venv/bin/python benchmarks/forge_yardstick.py                  # runs=256 depth=100 seed=1
    .venv/bin/python benchmarks/forge_yardstick.py --runs 64 --depth 50 --no-write

benchmarks/forge/ is a Foundry project over the same contracts (../../contracts), compiled with
the project's solc-js 0.8.28 (.solcx/solc-v0.8.28, which tools/setup.sh writes) at the settings of
ape-config.yaml. Its test deploys the suite as tests/conftest.py `make_exchange` does, and a
Handler carries the actions of tests/fuzz/test_exchange_machine.py (deposit, withdraw, trades
signed with vm.sign and settled by the matcher, price moves, quotes, waits, cranks, funding,
liquidations). One invariant function checks: token balance x collateralScale == vault,
vault >= capitalTotal + insuranceFund, open interest longs == shorts, haircut <= 1.

What is measured: `forge build` first (its time is reported, not counted), then
`forge test --fuzz-seed SEED` with FOUNDRY_INVARIANT_RUNS / FOUNDRY_INVARIANT_DEPTH, timed from
process start to exit (wall time: start-up, setUp, the campaign). Counted, from forge's own
result (`--json`, the same numbers as its metrics table):

* handler calls: the top-level EVM calls forge makes into the Handler, runs x depth, reverted
  ones included (a refused action reverts the handler call; forge rolls it back and goes on).
  A handler call makes several inner calls (a deposit: mint, approve, router.deposit -> market),
  which are not counted separately.
* invariant checks: not printed by forge. The invariant function runs after every handler call
  that did not revert (check_interval = 1) and 3 more times per campaign (the setUp state and
  forge's own bookkeeping), so checks = calls - reverts + 3. Measured on forge 1.7.1 with a probe
  invariant that appends a line to a file (vm.writeLine) at runs x depth = 1x10, 4x10, 32x10,
  8x40 and 16x50: always calls - reverts + 3. Each check is one more top-level EVM call.

calls/s = handler calls / wall seconds; "with checks" adds the invariant checks.

`measure(runs, depth)` returns the numbers as a dict for other benchmarks.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "benchmarks" / "forge"
FORGE = ROOT / "node_modules" / ".bin" / "forge"
RESULTS = ROOT / "benchmarks" / "results" / "forge.md"
TEST_CONTRACT = "ExchangeInvariantTest"
INVARIANT = "invariant_market()"

DEFAULT_RUNS = 256
DEFAULT_DEPTH = 100
DEFAULT_SEED = 1
EXTRA_CHECKS = 3  # invariant checks per campaign besides one per non-reverted call (forge 1.7.1)

_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}


def _forge() -> str:
    if not FORGE.exists():
        raise SystemExit(f"{FORGE} is missing: run tools/setup.sh (npm install --ignore-scripts)")
    return str(FORGE)


def _duration(text: str) -> float:
    """forge's humantime durations ("6s 157ms 3µs 12ns") in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|µs|us|ns|h|m|s)\b", text)
    if not parts:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


def forge_version() -> str:
    """E.g. '1.7.1 (4072e48)'."""
    out = subprocess.run([_forge(), "--version"], capture_output=True, text=True, check=True).stdout
    version = re.search(r"Version:\s*(\S+)", out)
    commit = re.search(r"Commit SHA:\s*([0-9a-f]{7})", out)
    return f"{version.group(1) if version else out.strip()}" + (f" ({commit.group(1)})" if commit else "")


def build() -> float:
    """`forge build` (solc-js through .solcx/solc-v0.8.28); returns its wall seconds."""
    solc = ROOT / ".solcx" / "solc-v0.8.28"
    if not solc.exists():
        raise SystemExit(f"{solc} is missing: run tools/setup.sh")
    start = time.perf_counter()
    done = subprocess.run([_forge(), "build"], cwd=PROJECT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"forge build failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def run_campaign(runs: int, depth: int, seed: int = DEFAULT_SEED) -> dict:
    """One `forge test` of the invariant (already built); the parsed result and the wall time."""
    env = dict(os.environ, FOUNDRY_INVARIANT_RUNS=str(runs), FOUNDRY_INVARIANT_DEPTH=str(depth))
    cmd = [_forge(), "test", "--match-contract", TEST_CONTRACT, "--fuzz-seed", str(seed), "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = done.stdout
    try:
        report = json.loads(text[text.index("{") :])
    except ValueError as exc:
        raise SystemExit(f"forge test printed no JSON (exit {done.returncode}):\n{done.stdout}\n{done.stderr}") from exc
    (suite,) = [s for name, s in report.items() if name.endswith(":" + TEST_CONTRACT)]
    result = suite["test_results"][INVARIANT]
    if result["status"] != "Success":
        raise SystemExit(f"the invariant failed: {result.get('reason')}\n{json.dumps(result.get('counterexample'))[:4000]}")
    inv = result["kind"]["Invariant"]
    per_action = {
        key.rsplit(".", 1)[-1]: (m["calls"], m["reverts"]) for key, m in sorted(inv.get("metrics", {}).items())
    }
    return {
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "campaign_seconds": _duration(result["duration"]),
        "runs": inv["runs"],
        "calls": inv["calls"],
        "reverts": inv["reverts"],
        "per_action": per_action,
    }


def measure(runs: int = DEFAULT_RUNS, depth: int = DEFAULT_DEPTH, *, seed: int = DEFAULT_SEED, repeat: int = 1) -> dict:
    """Build, then run the campaign `repeat` times (same seed: same calls); the median times.

    Counts are the first campaign's: forge's invariant fuzzer is not quite deterministic under a
    fixed seed (the revert count can differ by a few between identical runs; reverts_seen lists
    them). Keys:

    forge, nproc, load (1-minute load average before the runs), runs, depth, seed,
    calls (handler calls, reverted included), reverts, reverts_seen, checks (invariant checks),
    evm_calls (calls + checks), seconds (median wall time of `forge test`), campaign_seconds
    (forge's own test duration), cpu_seconds (user + sys of `forge test`), calls_per_s,
    evm_calls_per_s, campaign_calls_per_s, cpu_calls_per_s, build_seconds, repeat,
    per_action {action: (calls, reverts)}.
    """
    build_seconds = build()
    load = os.getloadavg()[0]
    samples = [run_campaign(runs, depth, seed) for _ in range(max(1, repeat))]
    first = samples[0]
    seconds = statistics.median(s["wall_seconds"] for s in samples)
    campaign = statistics.median(s["campaign_seconds"] for s in samples)
    cpu = statistics.median(s["cpu_seconds"] for s in samples)
    calls, reverts = first["calls"], first["reverts"]
    checks = calls - reverts + EXTRA_CHECKS
    revert_counts = sorted({s["reverts"] for s in samples})
    return {
        "forge": forge_version(),
        "nproc": os.cpu_count(),
        "load": load,
        "runs": first["runs"],
        "depth": depth,
        "seed": seed,
        "calls": calls,
        "reverts": reverts,
        "reverts_seen": revert_counts,
        "checks": checks,
        "evm_calls": calls + checks,
        "seconds": seconds,
        "campaign_seconds": campaign,
        "cpu_seconds": cpu,
        "calls_per_s": calls / seconds,
        "evm_calls_per_s": (calls + checks) / seconds,
        "campaign_calls_per_s": calls / campaign,
        "cpu_calls_per_s": calls / cpu,
        "build_seconds": build_seconds,
        "repeat": len(samples),
        "per_action": first["per_action"],
    }


def _spread(r: dict) -> str:
    seen = r.get("reverts_seen") or [r["reverts"]]
    return "" if len(seen) == 1 else f" (repeats: {min(seen):,}-{max(seen):,})"


def _table(r: dict) -> str:
    rows = [
        ("forge", r["forge"]),
        ("machine (nproc)", str(r["nproc"])),
        ("load average (1 min) before the runs", f"{r['load']:.2f}"),
        ("runs x depth (seed)", f"{r['runs']} x {r['depth']} ({r['seed']})"),
        ("handler calls (top-level EVM calls)", f"{r['calls']:,}"),
        ("of which reverted", f"{r['reverts']:,}" + _spread(r)),
        ("invariant checks (calls - reverts + 3)", f"{r['checks']:,}"),
        ("top-level EVM calls with the checks", f"{r['evm_calls']:,}"),
        ("seconds (wall, `forge test`)", f"{r['seconds']:.2f}"),
        ("seconds (forge's campaign duration)", f"{r['campaign_seconds']:.2f}"),
        ("CPU seconds of `forge test` (user + sys)", f"{r['cpu_seconds']:.2f}"),
        ("**handler calls / s** (wall)", f"**{r['calls_per_s']:,.0f}**"),
        ("EVM calls with checks / s (wall)", f"{r['evm_calls_per_s']:,.0f}"),
        ("handler calls / s (campaign only)", f"{r['campaign_calls_per_s']:,.0f}"),
        ("handler calls / CPU second", f"{r['cpu_calls_per_s']:,.0f}"),
        ("compile (`forge build`, not counted)", f"{r['build_seconds']:.1f} s"),
    ]
    lines = ["| what | value |", "|---|---:|"] + [f"| {a} | {b} |" for a, b in rows]
    lines += ["", "| action | calls | reverted |", "|---|---:|---:|"]
    lines += [f"| {name} | {c:,} | {rv:,} |" for name, (c, rv) in r["per_action"].items()]
    return "\n".join(lines)


def write_markdown(r: dict, path: Path = RESULTS) -> None:
    today = _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    body = f"""# Foundry yardstick: forge invariant fuzzing of the exchange

`benchmarks/forge_yardstick.py --runs {r['runs']} --depth {r['depth']} --seed {r['seed']}`, {today},
forge {r['forge']}, {r['nproc']} CPUs; median of {r['repeat']} run(s).

{_table(r)}

The project in `benchmarks/forge/` compiles `contracts/` with the pinned solc-js 0.8.28
(cancun, optimizer 1000 runs, as ape-config.yaml), deploys the suite as tests/conftest.py
`make_exchange` does and fuzzes a Handler with the actions of
tests/fuzz/test_exchange_machine.py; one invariant (token balance x scale == vault, vault >=
capital + insurance, longs == shorts, haircut <= 1) is checked after every call.

Counting: a handler call is one top-level EVM call from forge into the Handler, reverted calls
included (an action the contracts refuse reverts the handler call); its inner calls (e.g. a
deposit's mint, approve and router.deposit) are not counted separately. Forge does not print
its invariant checks: it runs the invariant after every handler call that did not revert and 3
more times per campaign, so checks = calls - reverts + 3 (measured on forge 1.7.1 with a probe
invariant that appends to a file; see the docstring of the script). Wall seconds are `forge test` from start to
exit after a `forge build` (compile excluded); the campaign duration is forge's own timing of
the test; CPU seconds close to wall seconds mean forge fuzzed on one core, and wall seconds well
above CPU seconds mean other work shared the machine (see the load average): then handler calls
per CPU second is the steadier figure. The same seed gives
the same calls but not always the same reverts: forge 1.7.1's invariant fuzzer is not fully
deterministic (a few reverts more or less between identical runs).

`benchmarks/forge/solc` answers forge's `solc --version` (asked on every `forge test`) from a
cache: through solc-js it costs about 0.5 s of start-up per run, which is not fuzzing.
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"invariant runs (default {DEFAULT_RUNS})")
    ap.add_argument("--depth", type=int, default=DEFAULT_DEPTH, help=f"calls per run (default {DEFAULT_DEPTH})")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"--fuzz-seed (default {DEFAULT_SEED})")
    ap.add_argument("--repeat", type=int, default=3, help="campaigns to time, median reported (default 3)")
    ap.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    r = measure(args.runs, args.depth, seed=args.seed, repeat=args.repeat)
    print(_table(r))
    if not args.no_write:
        write_markdown(r)
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
