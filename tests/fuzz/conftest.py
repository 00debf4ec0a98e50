"""Hypothesis profiles of the fuzz suite: `ci` (default, bounded: part of `make test`) and `deep`
(`make fuzz-deep`, with its own seed and budget)."""

import os

from hypothesis import HealthCheck, Phase, settings

_COMMON = dict(deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
settings.register_profile("ci", max_examples=10, stateful_step_count=15, **_COMMON)
settings.register_profile(
    "deep",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 400)),
    stateful_step_count=int(os.environ.get("FUZZ_STEPS", 40)),
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    **_COMMON,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
