"""Hypothesis profiles for the whole suite, chosen by the HYPOTHESIS_PROFILE variable.

`default` is what `make test` runs: Hypothesis's own defaults, with each test's bounds.
`deep` is what `make test-deep` runs: many more examples and longer stateful runs, for a
nightly job or before a release; the stateful lifecycle test takes its numbers from here.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", settings.get_profile("default"))
settings.register_profile(
    "deep",
    max_examples=1000,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
