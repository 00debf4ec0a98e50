"""A deep fuzz campaign: the exchange state machine in process, round after round, for a time budget.

    .venv/bin/python -m tests.fuzz.campaign --seed 7 --minutes 60 --examples 50 --steps 50
    make fuzz-deep SEED=7 MINUTES=60                      # the same

Round k runs `examples` examples of up to `steps` steps with hypothesis seed `seed * 1000 + k`,
shrinking on failure. A failure prints the falsifying steps and the round's seed, and the command
that replays it: `make fuzz-replay SEED=<round seed>` reruns that round in process and then on
Anvil (the reference), so a bug found in process is confirmed on a real node.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

def bound_machine():
    from perpkit.evm import InProcessChain
    from tests.fuzz.machine import PEOPLE, machine_for
    from tests.fuzz.suites import inprocess_suite, role

    chain = InProcessChain.from_build(ROOT)
    return chain, machine_for(chain, inprocess_suite(chain), {p: role(p) for p in PEOPLE}, role("guardian"))


def run_round(machine, seed: int, examples: int, steps: int) -> None:
    from hypothesis import settings
    from hypothesis.stateful import run_state_machine_as_test

    machine._hypothesis_internal_use_seed = seed  # what hypothesis.seed() sets; read by run_state_machine_as_test
    run_state_machine_as_test(
        machine, settings=settings(settings.get_profile("deep"), max_examples=examples, stateful_step_count=steps)
    )


@click.command()
@click.option("--seed", default=0, show_default=True, help="campaign seed: round k uses seed * 1000 + k")
@click.option("--minutes", default=60.0, show_default=True, help="time budget; the round running at the end finishes")
@click.option("--examples", default=50, show_default=True, help="examples per round")
@click.option("--steps", default=50, show_default=True, help="steps per example (at most)")
@click.option("--replay", type=int, default=None, help="run exactly one round with this hypothesis seed")
def main(seed: int, minutes: float, examples: int, steps: int, replay: int | None) -> None:
    os.environ.setdefault("HYPOTHESIS_PROFILE", "deep")
    import tests.fuzz.conftest  # noqa: F401  (registers the profiles)

    chain, machine = bound_machine()
    rounds = [replay] if replay is not None else None
    started, k, calls0 = time.perf_counter(), 0, chain.calls
    click.echo(f"fuzz campaign: seed {seed}, {minutes} min, rounds of {examples} examples x {steps} steps (in process)")
    while True:
        round_seed = rounds[k] if rounds else seed * 1000 + k
        t0 = time.perf_counter()
        steps0 = machine.steps
        try:
            run_round(machine, round_seed, examples, steps)
        except Exception:
            click.echo(f"\nFAILED in round {k} (hypothesis seed {round_seed}); the steps are printed above.", err=True)
            click.echo(f"replay in process and on Anvil: make fuzz-replay SEED={round_seed} EXAMPLES={examples} STEPS={steps}", err=True)
            raise
        elapsed = time.perf_counter() - started
        click.echo(
            f"round {k:4d}  seed {round_seed:8d}  {machine.steps - steps0:6d} steps in {time.perf_counter() - t0:6.1f} s"
            f"   total {machine.steps:8d} steps, {elapsed / 60:6.1f} min, {machine.steps / elapsed:6.1f} steps/s,"
            f" {(chain.calls - calls0) / elapsed:8.0f} EVM calls/s"
        )
        k += 1
        if rounds or elapsed >= minutes * 60:
            break
    click.echo(f"rule outcomes [accepted, refused]: {machine.stats}")
    click.echo(f"refusals by custom error: {machine.errors}")
    click.echo(f"no failure: {k} rounds, {machine.steps} steps, {chain.calls - calls0} EVM calls in {elapsed:.0f} s")


if __name__ == "__main__":
    main()
