"""The exchange state machine (tests/fuzz/machine.py) on Anvil, the reference, and in process on
pyrevm, within the loaded hypothesis profile's budget (tests/fuzz/conftest.py)."""

import os

from hypothesis.stateful import run_state_machine_as_test

from perpkit.evm import InProcessChain
from tests.fuzz.conftest import inprocess_profile
from tests.fuzz.machine import PEOPLE, machine_for
from tests.fuzz.suites import anvil_suite, inprocess_suite, role
from tests.mirror import build_error_table


def _assert_reached_interesting_paths(machine):
    print("fuzz rule outcomes [accepted, refused]:", machine.stats, "steps:", machine.steps)
    print("refusals:", machine.errors)
    assert machine.stats["trade"][0] > 0 and machine.stats["trade"][1] > 0
    assert machine.stats["deposit collateral"][0] > 0  # every example starts with one


def test_exchange_machine_on_anvil__contract_matches_model_and_invariants_hold(
    project, chain, owner, matcher, guardian, alice, bob, carol, keeper
):
    suite = anvil_suite(project, chain, owner, matcher, guardian)
    machine = machine_for(chain, suite, {"alice": alice, "bob": bob, "carol": carol, "keeper": keeper}, guardian)
    machine.table = build_error_table(project)
    replay = os.environ.get("FUZZ_REPLAY_SEED")
    if replay:  # `make fuzz-replay`: the round the campaign ran in process, the same draws
        machine._hypothesis_internal_use_seed = int(replay)
    run_state_machine_as_test(machine)
    if not replay:
        _assert_reached_interesting_paths(machine)


def test_exchange_machine_in_process__contract_matches_model_and_invariants_hold():
    chain = InProcessChain.from_build()
    machine = machine_for(chain, inprocess_suite(chain), {p: role(p) for p in PEOPLE}, role("guardian"))
    run_state_machine_as_test(machine, settings=inprocess_profile())
    _assert_reached_interesting_paths(machine)
    assert machine.stats["liquidate"][0] > 0  # the deeper run reaches liquidations too
    assert machine.stats["liquidate collateral"][0] > 0  # and sales of collateral against debt
