"""The sample webhook events invoke cleanly through the real handler on the local stack."""

import json
from pathlib import Path

import pytest

from tenure import bootstrap
from tenure_local.cli.webhooks import resign_sample
from tenure_local.runtime import functions
from tenure_local.stack.local_stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted((REPO / "events" / "webhooks").glob("*.json"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_each_sample_is_answered_as_its_name_says(local_stack: LocalStack, path: Path) -> None:
    bootstrap.use(None)
    event = resign_sample(json.loads(path.read_text()))  # what `tenure invoke webhooks` does
    result = functions.invoke("webhooks", event)
    body = json.loads(result["body"])
    if "rejected" in path.name:
        assert result["statusCode"] == 400, body
        assert body["error"] == "invalid_signature"
    else:
        assert result["statusCode"] == 200, body
        assert body["received"] is True
    bootstrap.use(None)


def test_at_least_one_sample_is_accepted_and_one_refused() -> None:
    names = [p.name for p in SAMPLES]
    assert any("rejected" in n for n in names)
    assert sum("rejected" not in n for n in names) >= 5
