"""A payment provider that does not answer, or refuses a call outright, while a request that
needs it runs (a first card makes the provider's customer, then attaches the card): the API
answers what happened, never a 500, and a retry with the same Idempotency-Key runs again."""

from collections.abc import Iterator
from types import ModuleType

import pytest
from api_harness import Api, pays_first_invoice, sandbox_api, sandbox_failing

from tenure.payments.gateway import (
    InvalidRequestError,
    ProviderUnavailableError,
    RateLimitedError,
)

PATH = "/v1/customers/carol/payment-methods"
CARD = {"payment_method": "pm_card_visa", "default": True}
KEY = {"Idempotency-Key": "carol-first-card"}


@pytest.fixture
def api(api_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The API charging through the sandbox, and carol, who has no card yet."""
    with sandbox_api(api_module, monkeypatch) as api:
        api.customer("carol")
        yield api


@pytest.mark.parametrize("call", ["create_customer", "attach_payment_method"])
@pytest.mark.parametrize(
    "error",
    [ProviderUnavailableError("sandbox: timed out"), RateLimitedError("sandbox: 429")],
    ids=["timeout", "rate-limited"],
)
def test_a_provider_that_does_not_answer_a_first_card_is_a_503_and_the_retry_stores_it(
    api: Api, monkeypatch: pytest.MonkeyPatch, call: str, error: Exception
) -> None:
    failing = sandbox_failing(monkeypatch, call, error)

    down = api.post(PATH, CARD, headers=KEY)

    assert (down.status, down.json["error"]) == (503, "service_unavailable"), down.text
    assert "did not answer" in down.json["message"]
    assert api.repo.list_payment_methods("carol") == []
    failing[0] = None
    again = api.post(PATH, CARD, headers=KEY)
    assert again.status == 201, again.text
    assert "idempotent-replayed" not in {h.lower() for h in again.headers}
    customer = api.repo.get_customer("carol")
    assert customer is not None and customer.default_payment_method == "pm_card_visa"
    assert customer.provider_customer_id is not None
    assert customer.provider_customer_pending is None


def test_a_provider_refusing_to_make_the_customer_is_a_422_that_names_its_code(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox_failing(
        monkeypatch, "create_customer", InvalidRequestError("bad email", code="email_invalid")
    )

    refused = api.post(PATH, CARD, headers=KEY)

    assert (refused.status, refused.json["error"]) == (422, "validation_error"), refused.text
    assert "email_invalid" in refused.text
    # No card, and no provider customer made nor thought to be (the mark written before the
    # call is taken back: docs/privacy.md)
    assert api.repo.list_payment_methods("carol") == []
    carol = api.repo.get_customer("carol")
    assert carol is not None and carol.provider_customer_id is None
    assert carol.provider_customer_pending is None
    assert api.repo.idempotency == {}  # the key released: a corrected retry runs


def test_a_refund_the_provider_does_not_answer_is_a_503_and_the_retry_refunds_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.plan("basic", 1000)
    invoice_id = pays_first_invoice(api, customer="carol")
    failing = sandbox_failing(monkeypatch, "refund", ProviderUnavailableError("sandbox: 502"))
    path, key = f"/v1/invoices/{invoice_id}/refund", {"Idempotency-Key": "refund-carol"}

    down = api.post(path, {"amount": 300}, headers=key)

    assert (down.status, down.json["error"]) == (503, "service_unavailable"), down.text
    assert down.json["message"] == "the payment provider did not answer; retry"
    assert api.repo.list_refunds(invoice_id) == []
    failing[0] = None
    again = api.post(path, {"amount": 300}, headers=key)
    assert again.status == 201, again.text
    assert [r.amount for r in api.repo.list_refunds(invoice_id)] == [300]
