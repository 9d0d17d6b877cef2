"""The sample events in events/api/ are real API Gateway v2 events the handler answers cleanly."""

import json
from pathlib import Path

import pytest
from api_harness import EVENTS_DIR, Api

from tenure import bootstrap
from tenure.settings import Settings

SAMPLES = sorted(EVENTS_DIR.glob("*.json"))


@pytest.fixture
def dev_api(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setenv("TENURE_API_TOKEN", "dev-token")  # the token the samples carry
    bootstrap.use(bootstrap.wiring().with_settings(Settings()))  # handlers read these
    return api


def test_the_four_documented_samples_are_there() -> None:
    names = {p.name for p in SAMPLES}

    assert {"healthz.json", "create-customer.json", "create-plan.json", "list-plans.json"} <= names


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_each_sample_succeeds_on_an_empty_store_and_again_when_repeated(
    dev_api: Api, sample: Path
) -> None:
    event = json.loads(sample.read_text())

    first = dev_api.invoke(event)
    second = dev_api.invoke(json.loads(sample.read_text()))

    assert first.status in (200, 201), first.text
    assert (second.status, second.text) == (first.status, first.text)


def test_the_samples_in_order_create_what_list_plans_shows(dev_api: Api) -> None:
    for name in ("create-customer.json", "create-plan.json"):
        dev_api.invoke(json.loads((EVENTS_DIR / name).read_text()))

    listed = dev_api.invoke(json.loads((EVENTS_DIR / "list-plans.json").read_text()))

    assert [p["id"] for p in listed.json["data"]] == ["example-monthly"]
    assert "cus_example" in dev_api.repo.customers
