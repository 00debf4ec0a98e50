"""The fuzz suite can fail: the same state machine, within the `ci-inprocess` budget, finds bugs
planted in PerpMarket. Each mutant is the real source with one line changed, compiled with the
project's solc (tools/solc.js) into its own PerpMarketFactory, and deployed behind the real router
on the in-process EVM. Examples are derandomized, so the proof is the same every run."""

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from perpkit.evm import InProcessChain
from tests.fuzz.conftest import inprocess_profile
from tests.fuzz.machine import PEOPLE, machine_for
from tests.fuzz.suites import inprocess_suite, role

ROOT = Path(__file__).resolve().parents[2]

MUTANTS = {
    # The taker's margin is never checked after a fill: over-levered positions get through.
    "missing taker margin check": (
        "        _requireMargin(takerAccount, taker, g, pr.mark, takerUp ? p.initialMarginRatio : p.maintenanceMarginRatio);\n",
        "",
    ),
    # Withdrawals ignore the initial-margin check of an open position (invariant 5).
    "withdrawal without margin check": (
        "        if (open) _requireMargin(account, a, g, pr.mark, _params.initialMarginRatio);\n",
        "",
    ),
    # Funding rounds in the trader's favour: a payer pays the floor, not the ceiling.
    "funding rounded for the trader": (
        "        int256 payment = size.mulDivCeil(cumulative - snapshot, INDEX_SCALE);\n",
        "        int256 payment = size.mulDivFloor(cumulative - snapshot, INDEX_SCALE);\n",
    ),
}


def _compile_factory(original: str, mutated: str) -> bytes:
    """The creation code of a PerpMarketFactory whose PerpMarket has `original` replaced."""
    sources = {str(p.relative_to(ROOT)): {"content": p.read_text()} for p in (ROOT / "contracts").rglob("*.sol")}
    market = sources["contracts/PerpMarket.sol"]["content"]
    assert market.count(original) == 1, "the mutation no longer matches PerpMarket.sol"
    sources["contracts/PerpMarket.sol"]["content"] = market.replace(original, mutated)
    standard = {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "optimizer": {"enabled": True, "runs": 1000},
            "evmVersion": "cancun",
            "outputSelection": {"contracts/PerpMarketFactory.sol": {"PerpMarketFactory": ["evm.bytecode.object"]}},
        },
    }
    out = subprocess.run(
        ["node", str(ROOT / "tools" / "solc.js"), "--standard-json", "--base-path", str(ROOT)],
        input=json.dumps(standard), capture_output=True, text=True, check=True,
    )
    result = json.loads(out.stdout)
    errors = [e["formattedMessage"] for e in result.get("errors", []) if e["severity"] == "error"]
    assert not errors, errors
    return bytes.fromhex(result["contracts"]["contracts/PerpMarketFactory.sol"]["PerpMarketFactory"]["evm"]["bytecode"]["object"])


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_state_machine__finds_a_planted_bug(mutant):
    chain = InProcessChain.from_build()
    suite = inprocess_suite(chain, factory_bytecode=_compile_factory(*MUTANTS[mutant]))
    machine = machine_for(chain, suite, {p: role(p) for p in PEOPLE}, role("guardian"))
    with pytest.raises(AssertionError):
        run_state_machine_as_test(machine, settings=settings(inprocess_profile(), phases=_no_shrink(), derandomize=True))


def _no_shrink():
    from hypothesis import Phase

    return [Phase.explicit, Phase.reuse, Phase.generate]  # finding it is the point; shrinking costs time
