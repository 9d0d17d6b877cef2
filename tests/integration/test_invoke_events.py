"""Every sample event in events/<function>/ runs cleanly through its real handler."""

import json
from pathlib import Path

import pytest

from tenure_local.cli.webhooks import resign_sample
from tenure_local.runtime import functions
from tenure_local.stack.local_stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
EVENTS = sorted((REPO / "events").glob("*/*.json"))
# Handlers whose issue is still open answer honestly that they are not built yet.
NOT_BUILT: set[str] = set()


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_event_invokes_cleanly(local_stack: LocalStack, path: Path) -> None:
    event = json.loads(path.read_text())
    if path.parent.name == "webhooks":
        # Placeholder signatures (`t=SAMPLE`), signed now, as `tenure invoke` does.
        event = resign_sample(event)
    result = functions.invoke(path.parent.name, event)
    assert isinstance(result, dict)
    if "statusCode" in result:
        expected = 501 if path.parent.name in NOT_BUILT else 299
        if "rejected" in path.name:  # a sample of a refusal (events/webhooks/*-rejected-*)
            expected = 499
        assert result["statusCode"] <= expected, result
    if "batchItemFailures" in result:
        assert result["batchItemFailures"] == []


def test_there_is_a_sample_event_for_every_function() -> None:
    folders = {p.name for p in (REPO / "functions").iterdir() if (p / "app.py").exists()}
    assert folders <= {p.parent.name for p in EVENTS}
