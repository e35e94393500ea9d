"""Hypothesis profiles: "ci" (the default: fixed seed, no deadline) and "thorough".

Select with HYPOTHESIS_PROFILE=thorough: random seeds and ten times the examples (tests size
their example counts with `strategies.examples`, which scales with the profile).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", settings.get_profile("ci"), derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
