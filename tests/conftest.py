"""Hypothesis profiles for the whole suite, chosen by the HYPOTHESIS_PROFILE variable.

- `default` (when the variable is unset): Hypothesis's own example counts, so `make test`
  stays bounded; tests that ask for more (the webhook fuzz tests ask for 200) keep theirs.
- `deep`: 2,000 examples per test and no deadline, for a longer hunt:
  `HYPOTHESIS_PROFILE=deep .venv/bin/python -m pytest tests/unit/webhooks`.
Tests that set `max_examples` themselves keep it unless they read the profile's
(`settings.default.max_examples`), as the fuzz tests do.
"""

import os

from hypothesis import settings

settings.register_profile("default", print_blob=True)
settings.register_profile("deep", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
