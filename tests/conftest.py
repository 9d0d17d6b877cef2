"""Hypothesis profiles for the whole suite, chosen by the HYPOTHESIS_PROFILE variable.

- `default` (when the variable is unset) is what `make test` runs: Hypothesis's own example
  counts, with each test's bounds (the webhook fuzz tests ask for 200). Under CI (`CI` set,
  as `.ci/run` sets it) the examples are derandomized: the gate runs the same cases on every
  clone, so what lands is never decided by a new draw (and no example has a deadline);
  a developer's `make test` and `make test-deep` keep exploring new ones.
- `deep` is what `make test-deep` runs: many more examples and longer stateful runs, for a
  nightly job or before a release. Tests that set `max_examples` themselves keep it unless
  they read the profile's (`settings.default.max_examples`), as the fuzz tests and the
  stateful lifecycle test do.
"""

import os
from pathlib import Path

import boto3
import pytest
from hypothesis import HealthCheck, settings

_CI = os.environ.get("CI", "") not in ("", "0", "false")
# Under CI, no per-example deadline either: a shared 2-core runner stalls an example for a
# few hundred ms now and then (seen: 270 ms, then 0.4 ms on the rerun), and speed is the
# benchmarks' to measure (make bench), never a unit test's.
settings.register_profile(
    "default", print_blob=True, derandomize=_CI, **({"deadline": None} if _CI else {})
)
settings.register_profile(
    "deep",
    max_examples=1000,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# -- the environment unit tests see ------------------------------------------------------------
# The integration tests' local stack writes its endpoints and credentials into os.environ for
# the whole session (tests/integration/conftest.py). A worker that runs integration files before
# unit files would hand them that environment: moto's mocks would then meet real-looking
# endpoints, and a test of "no credentials" would find some. Each unit test runs in the
# environment the session began with, and without boto3's default session (which keeps the
# credentials it found when it was made).
_SESSION_START_ENV = dict(os.environ)
_UNIT = Path(__file__).resolve().parent / "unit"


@pytest.fixture(autouse=True)
def _unit_tests_see_the_environment_the_session_began_with(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if _UNIT not in Path(str(request.node.path)).resolve().parents:
        return
    for key in set(os.environ) - set(_SESSION_START_ENV):
        monkeypatch.delenv(key)
    for key, value in _SESSION_START_ENV.items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
