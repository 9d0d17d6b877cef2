"""Hypothesis profiles for the whole suite, chosen by the HYPOTHESIS_PROFILE variable.

- `default` (when the variable is unset) is what `make test` runs: Hypothesis's own example
  counts, with each test's bounds (the webhook fuzz tests ask for 200).
- `deep` is what `make test-deep` runs: many more examples and longer stateful runs, for a
  nightly job or before a release. Tests that set `max_examples` themselves keep it unless
  they read the profile's (`settings.default.max_examples`), as the fuzz tests and the
  stateful lifecycle test do.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", print_blob=True)
settings.register_profile(
    "deep",
    max_examples=1000,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
