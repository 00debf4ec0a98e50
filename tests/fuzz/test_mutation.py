"""The fuzz suite can fail: the same state machine, within the `ci` budget, finds bugs planted in
PerpMarket. Each mutant is the real source with one line changed, compiled with the project's
solc (tools/solc.js) into its own PerpMarketFactory, and deployed behind the real router."""

import json
import subprocess
from pathlib import Path

import pytest
from ape.contracts import ContractContainer
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from tests.fuzz.test_exchange_machine import ExchangeMachine
from tests.mirror import build_error_table

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
}


def _compile_factory(project, original: str, mutated: str) -> ContractContainer:
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
    code = result["contracts"]["contracts/PerpMarketFactory.sol"]["PerpMarketFactory"]["evm"]["bytecode"]["object"]
    base = project.PerpMarketFactory.contract_type
    contract_type = base.model_copy(
        update={"deployment_bytecode": base.deployment_bytecode.model_copy(update={"bytecode": "0x" + code})}
    )
    return ContractContainer(contract_type)


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_state_machine__finds_a_planted_bug(mutant, project, chain, make_exchange, alice, bob, carol, keeper):
    factory = _compile_factory(project, *MUTANTS[mutant])
    ExchangeMachine.ex = make_exchange(factory_container=factory)
    ExchangeMachine.chain = chain
    ExchangeMachine.table = build_error_table(project)
    ExchangeMachine.accounts = {"alice": alice, "bob": bob, "carol": carol, "keeper": keeper}
    ExchangeMachine.snapshot = chain.snapshot()
    ExchangeMachine.stats = {}
    with pytest.raises(AssertionError):
        # derandomize: the same examples every run, so the proof is not a matter of luck
        run_state_machine_as_test(
            ExchangeMachine, settings=settings(settings.get_profile("ci"), phases=_no_shrink(), derandomize=True)
        )


def _no_shrink():
    from hypothesis import Phase

    return [Phase.explicit, Phase.reuse, Phase.generate]  # finding it is the point; shrinking costs time
