"""Speed of the fuzz suite: the exchange state machine on Anvil and in process, and forge's
invariant runner on the same contracts as the yardstick.

    .venv/bin/python benchmarks/fuzz.py            # prints the table, writes benchmarks/results/fuzz.md
    .venv/bin/python benchmarks/fuzz.py --quick    # smaller budgets, no file

Counted for the state machine (tests/fuzz/machine.py, two markets, every step compared with the
model to the wei and every invariant checked):

* steps: rules run (each followed by the comparison and the invariants);
* EVM calls: top-level message calls, transactions and views alike (a step makes ~90: its
  transactions, then the views of both markets that the comparison and the invariants read). On
  Anvil a view is one `eth_call` (batched per comparison) and a transaction one mined block.

forge's figures come from benchmarks/forge_yardstick.py (handler calls, and invariant checks).
Budgets are fixed examples x steps with a fixed seed, so each side runs the same kind of work.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HYPOTHESIS_PROFILE", "ci")
import tests.fuzz.conftest  # noqa: E402,F401  (registers the hypothesis profiles)
from tests.fuzz.machine import PEOPLE, machine_for  # noqa: E402

SEED = 1


def _run(machine, examples: int, steps: int, calls) -> dict:
    from hypothesis import settings
    from hypothesis.stateful import run_state_machine_as_test

    machine._hypothesis_internal_use_seed = SEED
    c0, cpu0, t0 = calls(), time.process_time(), time.perf_counter()
    run_state_machine_as_test(
        machine, settings=settings(settings.get_profile("ci"), max_examples=examples, stateful_step_count=steps)
    )
    seconds = time.perf_counter() - t0
    n_calls = calls() - c0
    return {
        "examples": examples,
        "steps": machine.steps,
        "evm_calls": n_calls,
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu0,
        "steps_per_s": machine.steps / seconds,
        "calls_per_s": n_calls / seconds,
    }


def in_process(examples: int, steps: int) -> dict:
    from perpkit.evm import InProcessChain
    from tests.fuzz.suites import inprocess_suite, role

    chain = InProcessChain.from_build(ROOT)
    machine = machine_for(chain, inprocess_suite(chain), {p: role(p) for p in PEOPLE}, role("guardian"))
    return _run(machine, examples, steps, lambda: chain.calls)


def on_anvil(examples: int, steps: int) -> dict:
    """Through ape on the Anvil that ape-foundry starts (as `make test` runs it). EVM calls are
    counted at the JSON-RPC layer: eth_call and eth_sendRawTransaction / eth_sendTransaction."""
    from ape import accounts, chain, networks, project

    from tests.fuzz.suites import anvil_suite
    from tests.mirror import build_error_table

    os.chdir(ROOT)
    with networks.ethereum.local.use_provider("foundry") as provider:
        ta = accounts.test_accounts
        owner, alice, bob, keeper, carol, matcher, guardian = (ta[i] for i in range(7))
        counter = _count_rpc(provider.web3)
        machine = machine_for(
            chain, anvil_suite(project, chain, owner, matcher, guardian),
            {"alice": alice, "bob": bob, "carol": carol, "keeper": keeper}, guardian,
        )
        machine.table = build_error_table(project)
        return _run(machine, examples, steps, lambda: counter["n"])


def _count_rpc(w3) -> dict:
    """Count EVM-executing requests going through web3's provider (batches included)."""
    counter = {"n": 0}
    provider = w3.provider
    executing = {"eth_call", "eth_sendRawTransaction", "eth_sendTransaction"}
    make_request, make_batch = provider.make_request, getattr(provider, "make_batch_request", None)

    def request(method, params):
        counter["n"] += method in executing
        return make_request(method, params)

    provider.make_request = request
    if make_batch is not None:
        def batch(requests):
            counter["n"] += sum(1 for method, _ in requests if method in executing)
            return make_batch(requests)

        provider.make_batch_request = batch
    return counter


def render(rows: list[tuple[str, dict]], forge: dict | None) -> str:
    today = _dt.date.today().isoformat()
    lines = [
        "# Fuzz suite speed",
        "",
        f"Measured {today} on {os.cpu_count()} CPUs with `.venv/bin/python benchmarks/fuzz.py` (hypothesis seed {SEED}).",
        "The state machine of tests/fuzz/machine.py (two markets; every step compared with the model and",
        "every invariant checked) on Anvil through ape, and in process on pyrevm from the same build.",
        "",
        "| engine | examples | steps | EVM calls | seconds | steps/s | EVM calls/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {r['examples']} | {r['steps']:,} | {r['evm_calls']:,} | {r['seconds']:.1f} | "
            f"{r['steps_per_s']:,.1f} | {r['calls_per_s']:,.0f} |"
        )
    if forge:
        lines.append(
            f"| forge {forge['forge'].split()[0]} invariant runner (handler calls / with checks) | {forge['runs']} runs | "
            f"depth {forge['depth']} | {forge['calls']:,} / {forge['evm_calls']:,} | {forge['seconds']:.1f} | "
            f"{forge['calls_per_s']:,.0f} handler calls/s | {forge['evm_calls_per_s']:,.0f} |"
        )
    by = dict(rows)
    if "in process (pyrevm)" in by and "Anvil (ape)" in by:
        ratio = by["in process (pyrevm)"]["steps_per_s"] / by["Anvil (ape)"]["steps_per_s"]
        lines += ["", f"In process / Anvil: {ratio:,.0f}x the steps per second."]
    if forge and "in process (pyrevm)" in by:
        ratio = by["in process (pyrevm)"]["calls_per_s"] / forge["evm_calls_per_s"]
        lines += [f"In process / forge: {ratio:.1f}x the EVM calls per second (forge's handler calls plus invariant checks)."]
    lines += [
        "",
        "A forge handler call is one top-level call that makes several inner ones (a deposit: mint,",
        "approve, router.deposit); the Python machine sends those as separate calls and, after every",
        "step, reads ~40 views per market to compare with the model, which forge's invariant does not.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets, nothing written")
    parser.add_argument("--no-forge", action="store_true")
    args = parser.parse_args()
    anvil_budget, inproc_budget = ((2, 10), (20, 30)) if args.quick else ((5, 20), (200, 40))
    rows = [("in process (pyrevm)", in_process(*inproc_budget))]
    print(rows[-1])
    rows.append(("Anvil (ape)", on_anvil(*anvil_budget)))
    print(rows[-1])
    forge = None
    if not args.no_forge:
        from benchmarks.forge_yardstick import measure

        forge = measure(64 if args.quick else 256, 100, repeat=1 if args.quick else 3)
    table = render(rows, forge)
    print(table)
    if not args.quick:
        out = ROOT / "benchmarks" / "results" / "fuzz.md"
        out.write_text(table)
        print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
