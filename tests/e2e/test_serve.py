"""`tenure serve` on localhost: the API answers over real HTTP with the dev token."""

from collections.abc import Iterator

import pytest
import requests
from serve_process import serving

TOKEN = "e2e-token"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(tmp_path_factory.mktemp("serve"), {"TENURE_API_TOKEN": TOKEN}) as (url, log):
        yield url
    assert f"Dev token    {TOKEN}" in log.read_text()


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def test_health_and_the_openapi_document_need_no_token(base_url: str) -> None:
    assert requests.get(f"{base_url}/healthz", timeout=5).json() == {"status": "ok"}
    doc = requests.get(f"{base_url}/openapi.json", timeout=5).json()
    assert "/v1/subscriptions" in doc["paths"]


def test_the_api_refuses_a_request_without_the_token(base_url: str) -> None:
    assert requests.get(f"{base_url}/v1/plans", timeout=5).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert requests.get(f"{base_url}/v1/plans", headers=wrong, timeout=5).status_code == 401


def test_a_customer_subscribes_over_http_and_bad_input_changes_nothing(base_url: str) -> None:
    plan = {"id": "e2e-basic", "amount": 1000, "currency": "USD", "interval": "month"}
    assert (
        requests.post(f"{base_url}/v1/plans", json=plan, headers=auth(), timeout=5).status_code
        == 201
    )
    bad_plan = plan | {"id": "e2e-bad", "amount": -5}
    refused = requests.post(f"{base_url}/v1/plans", json=bad_plan, headers=auth(), timeout=5)
    assert refused.status_code == 422
    assert any("amount" in d["loc"] for d in refused.json()["detail"])
    assert requests.get(f"{base_url}/v1/plans", headers=auth(), timeout=5).json()
    ids = [
        p["id"]
        for p in requests.get(f"{base_url}/v1/plans", headers=auth(), timeout=5).json()["data"]
    ]
    assert "e2e-basic" in ids and "e2e-bad" not in ids

    customer = {"id": "e2e-alice", "email": "alice@example.com"}
    assert (
        requests.post(
            f"{base_url}/v1/customers", json=customer, headers=auth(), timeout=5
        ).status_code
        == 201
    )
    sub = {"id": "e2e-sub", "customer": "e2e-alice", "plan": "e2e-basic"}
    created = requests.post(f"{base_url}/v1/subscriptions", json=sub, headers=auth(), timeout=5)
    assert created.status_code == 201, created.text
    assert created.json()["subscription"]["status"] == "incomplete"  # no card on file yet
    fetched = requests.get(f"{base_url}/v1/subscriptions/e2e-sub", headers=auth(), timeout=5)
    assert fetched.json()["id"] == "e2e-sub"
    malformed = requests.post(
        f"{base_url}/v1/subscriptions",
        data="{not json",
        headers=auth() | {"Content-Type": "application/json"},
        timeout=5,
    )
    assert malformed.status_code == 400
    unknown = requests.get(f"{base_url}/v1/subscriptions/nope", headers=auth(), timeout=5)
    assert unknown.status_code == 404
