"""`tenure serve` with its providers' sandboxes kept in a file, shared by the Razorpay browser
tests: a test may write a customer's past into the same Razorpay sandbox the server uses."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from serve_process import serving

from tenure_local.stack.local_stack import LocalStack

TOKEN = "e2e-razorpay-token"
LINK_KEY = "e2e-razorpay-link-key"


@dataclass(frozen=True)
class Served:
    url: str
    stack: dict[str, str]
    sandbox_state: str


@pytest.fixture(scope="module", name="served")
def razorpay_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve-razorpay")
    state = folder / "stack.json"
    sandbox_state = str(folder / "sandbox.pickle")
    env = {
        "TENURE_API_TOKEN": TOKEN,
        "TENURE_LINK_SECRET": LINK_KEY,
        "TENURE_STACK_STATE": str(state),
        # The providers' sandboxes kept in a file, so this test can write the customer's past
        # into the same Razorpay sandbox the server confirms the payment with.
        "TENURE_SANDBOX_STATE": sandbox_state,
    }
    # No schedules: the served stack must not work the seeded past at today's time.
    with serving(folder, env, ("--no-schedules",)) as (url, _log):
        stack = LocalStack.attach(state)
        assert stack is not None, "the served stack did not record itself"
        yield Served(url, stack, sandbox_state)
