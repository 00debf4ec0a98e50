"""Hypothesis profiles of the fuzz suite.

- `ci` (default, part of `make test`): the machine on Anvil, 10 examples of 15 steps; in process
  (`ci-inprocess`), 150 examples of 30 steps.
- `deep` (`make fuzz-deep`): the campaign in process (tests/fuzz/campaign.py), rounds of
  FUZZ_EXAMPLES examples of FUZZ_STEPS steps, with shrinking; `deep` on Anvil is the same budget,
  for `make fuzz-replay` to confirm a failure found in process.
"""

import os

from hypothesis import HealthCheck, Phase, settings

_COMMON = dict(deadline=None, suppress_health_check=list(HealthCheck), print_blob=True, database=None)
_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 50))
_STEPS = int(os.environ.get("FUZZ_STEPS", 50))
_ALL_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]

settings.register_profile("ci", max_examples=10, stateful_step_count=15, **_COMMON)
settings.register_profile("ci-inprocess", max_examples=150, stateful_step_count=30, **_COMMON)
settings.register_profile("deep", max_examples=_EXAMPLES, stateful_step_count=_STEPS, phases=_ALL_PHASES, **_COMMON)
settings.register_profile("deep-inprocess", parent=settings.get_profile("deep"))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def inprocess_profile() -> settings:
    """The in-process twin of the loaded profile."""
    return settings.get_profile(f"{os.environ.get('HYPOTHESIS_PROFILE', 'ci')}-inprocess")
