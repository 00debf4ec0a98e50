"""The fuzz suite can fail: the same state machine, within the `ci-inprocess` budget, finds bugs
planted in PerpMarket and CollateralPool. Each mutant is the real source with one line changed,
compiled with the project's solc (tools/solc.js) into the contract that deploys it (a PerpMarket
into its own PerpMarketFactory, a CollateralPool into its own PerpRouter, which creates the pools),
and deployed in the suite on the in-process EVM. Examples are derandomized, so the proof is the
same every run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from perpkit.evm import InProcessChain
from tests.fuzz.conftest import inprocess_profile
from tests.fuzz.machine import PEOPLE, machine_for
from tests.fuzz.suites import inprocess_suite, role

ROOT = Path(__file__).resolve().parents[2]

# name -> (source file, the contract whose creation code embeds it, original line, mutated line)
MUTANTS = {
    # The taker's margin is never checked after a fill: over-levered positions get through.
    "missing taker margin check": (
        "PerpMarket",
        "        _requireTradeMargin(takerAccount, taker, g, pr.mark, p, takerUp);\n",
        "",
    ),
    # Withdrawals ignore the initial-margin check of an open position (invariant 5).
    "withdrawal without margin check": (
        "PerpMarket",
        "        if (open) _requireMargin(account, a, g, mark, _params.initialMarginRatio, Equity.Withdrawal);\n",
        "",
    ),
    # Funding rounds in the trader's favour: a payer pays the floor, not the ceiling.
    "funding rounded for the trader": (
        "PerpMarket",
        "        int256 payment = size.mulDivCeil(cumulative - snapshot, INDEX_SCALE);\n",
        "        int256 payment = size.mulDivFloor(cumulative - snapshot, INDEX_SCALE);\n",
    ),
    # A liquidation writes the debt off as bad debt although collateral still backs it.
    "bad debt while collateral backs it": (
        "PerpMarket",
        "        if (a.size == 0 && a.pnl < 0 && !_holdsCollateral(account)) _absorbBadDebt(account, a, g);\n",
        "        if (a.size == 0 && a.pnl < 0) _absorbBadDebt(account, a, g);\n",
    ),
    # A failed collateral oracle waives the margin check of new risk too.
    "oracle waiver for new risk": (
        "PerpMarket",
        "        if (!allPriced && kind == Equity.Maintenance) return;\n",
        "        if (!allPriced) return;\n",
    ),
    # The liquidation test counts positive PnL at the haircut: a haircut makes solvent accounts
    # liquidatable (DESIGN section 6: maintenance counts PnL in full).
    "maintenance uses h": (
        "PerpMarket",
        "            if (kind == Equity.Maintenance) return capital + pnl;\n",
        "            if (kind == Equity.Maintenance) return capital + _effective(pnl, _haircut(g));\n",
    ),
    # Fresh profit is matured at once: the winners' profit leaves before the losers are swept.
    "warmup skipped": (
        "PerpMarket",
        "        if (block.timestamp >= end) return warming;\n",
        "        return warming;\n",
    ),
    # A loss realised on touch is left as negative pnl instead of being paid from capital.
    "loss not paid from capital": (
        "PerpMarket",
        "        uint256 take = uint256(-pnl).min(a.capital);\n",
        "        uint256 take = 0;\n",
    ),
    # Collateral is valued with its weight rounded up: by a wei, in the account's favour.
    "collateral value rounded up": (
        "CollateralPool",
        "        if (ok) value = (balanceOf[account][token] * _scale(c)).mulDivDown(price, WAD).mulWadDown(weight);\n",
        "        if (ok) value = (balanceOf[account][token] * _scale(c)).mulDivDown(price, WAD).mulWadUp(weight);\n",
    ),
}
EMBEDDED_IN = {"PerpMarket": "PerpMarketFactory", "CollateralPool": "PerpRouter"}


def _compile(source: str, original: str, mutated: str) -> tuple[str, bytes]:
    """(name, creation code) of the contract embedding `source` with `original` replaced."""
    outer = EMBEDDED_IN[source]
    sources = {str(p.relative_to(ROOT)): {"content": p.read_text()} for p in (ROOT / "contracts").rglob("*.sol")}
    path = f"contracts/{source}.sol"
    text = sources[path]["content"]
    assert text.count(original) == 1, f"the mutation no longer matches {source}.sol"
    sources[path]["content"] = text.replace(original, mutated)
    standard = {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "optimizer": {"enabled": True, "runs": 1000},
            "evmVersion": "cancun",
            "outputSelection": {f"contracts/{outer}.sol": {outer: ["evm.bytecode.object"]}},
        },
    }
    out = subprocess.run(
        ["node", str(ROOT / "tools" / "solc.js"), "--standard-json", "--base-path", str(ROOT)],
        input=json.dumps(standard), capture_output=True, text=True, check=True,
    )
    result = json.loads(out.stdout)
    errors = [e["formattedMessage"] for e in result.get("errors", []) if e["severity"] == "error"]
    assert not errors, errors
    return outer, bytes.fromhex(result["contracts"][f"contracts/{outer}.sol"][outer]["evm"]["bytecode"]["object"])


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_state_machine__finds_a_planted_bug(mutant):
    # Each mutant in a fresh interpreter: the same derandomized run as `python -m
    # tests.fuzz.test_mutation NAME`, whatever the test session ran before it.
    run = subprocess.run([sys.executable, "-m", "tests.fuzz.test_mutation", mutant], cwd=ROOT,
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, f"the state machine missed the mutant {mutant!r}:\n{run.stdout[-3000:]}{run.stderr[-3000:]}"


def hunt(mutant: str) -> bool:
    """Whether the state machine, within twice the in-process profile's examples (a run stops at
    the first failure, so the margin costs time only for a hard mutant), fails on `mutant`."""
    chain = InProcessChain.from_build()
    name, code = _compile(*MUTANTS[mutant])
    suite = inprocess_suite(chain, bytecodes={name: code})
    machine = machine_for(chain, suite, {p: role(p) for p in PEOPLE}, role("guardian"))
    profile = inprocess_profile()
    try:
        run_state_machine_as_test(machine, settings=settings(
            profile, max_examples=2 * profile.max_examples, phases=_no_shrink(), derandomize=True, database=None))
    except AssertionError as found:
        print(f"found {mutant!r}: {str(found).splitlines()[0][:300] if str(found) else 'AssertionError'}")
        return True
    print(f"missed {mutant!r}")
    return False


def _no_shrink():
    from hypothesis import Phase

    return [Phase.explicit, Phase.reuse, Phase.generate]  # finding it is the point; shrinking costs time


if __name__ == "__main__":
    sys.exit(0 if hunt(sys.argv[1]) else 1)
