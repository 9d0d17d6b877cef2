"""The Stripe adapter, through the official SDK, against a fake HTTP client that answers with
Stripe's own example objects (fixtures3.json): keys, retries, outcomes, amounts, logs."""

import copy
import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus

import pytest
import stripe

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money
from tenure.payments.gateway import (
    GatewayError,
    IdempotencyConflictError,
    InvalidRequestError,
    PaymentGateway,
    ProviderUnavailableError,
    RateLimitedError,
    StoredServerError,
)
from tenure.payments.stripe_gateway import StripeGateway

FIXTURES = Path(__file__).parents[2] / "fixtures" / "stripe" / "fixtures3.json"
API_KEY = "sk_test_do_not_log_me_123"
CREATE_KEY = "charge:inv_1:2:create"
CONFIRM_KEY = "charge:inv_1:2:confirm"


def fixture(name: str) -> dict[str, Any]:
    if not FIXTURES.exists():
        pytest.fail(f"Stripe fixtures not found at {FIXTURES}")
    resources: dict[str, dict[str, Any]] = json.loads(FIXTURES.read_text())["resources"]
    return copy.deepcopy(resources[name])


def intent(**changes: Any) -> dict[str, Any]:
    """Stripe's example PaymentIntent, as our create call would leave it, then `changes`."""
    pi = fixture("payment_intent")
    pi.update(
        id="pi_1",
        status="requires_confirmation",
        last_payment_error=None,
        next_action=None,
        customer="cus_alice",
        payment_method="pm_card_visa",
    )
    pi.update(changes)
    return pi


def card_error(code: str, decline_code: str | None, with_intent: bool = True) -> dict[str, Any]:
    error: dict[str, Any] = {
        "type": "card_error",
        "code": code,
        "message": "Your card was declined.",
        "charge": "ch_1",
        "doc_url": f"https://docs.stripe.com/error-codes/{code}",
    }
    if decline_code:
        error["decline_code"] = decline_code
    if with_intent:
        error["payment_intent"] = intent(
            status="requires_payment_method", last_payment_error=dict(error)
        )
    return {"error": error}


def api_error(kind: str, code: str | None = None, message: str = "") -> dict[str, Any]:
    return {"error": {"type": kind, "code": code, "message": message or kind}}


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, str]


Answer = tuple[int, dict[str, Any]] | tuple[int, dict[str, Any], dict[str, str]] | Exception


class FakeStripe(stripe.HTTPClient):
    """Answers each request with the next scripted answer and records what was sent."""

    name = "fake"

    def __init__(self, *answers: Answer) -> None:
        super().__init__()
        self.answers = list(answers)
        self.requests: list[Request] = []

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, **_: Any
    ) -> tuple[str, int, dict[str, str]]:
        # Blank values kept: an empty string is how a request unsets a field.
        sent = dict(parse_qsl(post_data or "", keep_blank_values=True))
        self.requests.append(Request(method, url, dict(headers or {}), sent))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body, *extra = answer
        headers = {"Request-Id": f"req_{len(self.requests)}", **(extra[0] if extra else {})}
        return json.dumps(body), status, headers

    def close(self) -> None:
        pass

    def keys(self) -> list[str | None]:
        return [r.headers.get("Idempotency-Key") for r in self.requests]


class TopOfRange(random.Random):
    """Jitter that always picks the ceiling, so the backoff ceilings can be read."""

    def uniform(self, a: float, b: float) -> float:
        return b


def a_gateway(*answers: Answer, **options: Any) -> tuple[StripeGateway, FakeStripe, list[float]]:
    fake = FakeStripe(*answers)
    sleeps: list[float] = []
    options.setdefault("rng", random.Random(7))
    gateway = StripeGateway(API_KEY, http_client=fake, sleep=sleeps.append, **options)
    return gateway, fake, sleeps


def create(gateway: StripeGateway, amount: Money = Money(1000, "USD")) -> str:
    return gateway.create_payment(
        amount=amount,
        customer_id="alice",
        payment_method="pm_card_visa",
        invoice_id="inv_1",
        attempt=2,
        idempotency_key=CREATE_KEY,
    )


# -- the port ---------------------------------------------------------------------------------
def test_the_stripe_adapter_is_a_payment_gateway() -> None:
    gateway: PaymentGateway = StripeGateway(API_KEY, http_client=FakeStripe())
    assert gateway.name == "stripe"


# -- what is sent -----------------------------------------------------------------------------
def test_create_sends_the_payment_intent_with_its_key_metadata_and_no_confirmation() -> None:
    gateway, fake, _ = a_gateway(
        (200, intent()), provider_customer_for=lambda customer_id: f"cus_{customer_id}"
    )
    assert create(gateway) == "pi_1"
    (sent,) = fake.requests
    assert (sent.method, sent.url) == ("post", "https://api.stripe.com/v1/payment_intents")
    assert sent.headers["Idempotency-Key"] == CREATE_KEY
    assert sent.body == {
        "amount": "1000",
        "currency": "usd",
        "customer": "cus_alice",
        "payment_method": "pm_card_visa",
        "confirm": "false",
        "automatic_payment_methods[enabled]": "true",
        "automatic_payment_methods[allow_redirects]": "never",
        "metadata[tenure_invoice_id]": "inv_1",
        "metadata[tenure_attempt]": "2",
    }


def test_create_names_the_subscription_and_tenures_customer_when_given() -> None:
    gateway, fake, _ = a_gateway((200, intent()))
    gateway.create_payment(
        amount=Money(1000, "USD"),
        customer_id="cus_alice",
        payment_method="pm_card_visa",
        invoice_id="inv_1",
        attempt=2,
        idempotency_key=CREATE_KEY,
        subscription_id="sub-1",
        tenure_customer_id="alice",
    )
    (sent,) = fake.requests
    metadata = {k: v for k, v in sent.body.items() if k.startswith("metadata[")}
    assert metadata == {
        "metadata[tenure_invoice_id]": "inv_1",
        "metadata[tenure_attempt]": "2",
        "metadata[tenure_subscription_id]": "sub-1",
        "metadata[tenure_customer_id]": "alice",
    }


def test_confirm_is_off_session_with_its_own_key() -> None:
    gateway, fake, _ = a_gateway((200, intent(status="succeeded")))
    result = gateway.confirm_payment("pi_1", idempotency_key=CONFIRM_KEY)
    assert result.outcome is ChargeOutcome.SUCCEEDED
    (sent,) = fake.requests
    assert sent.url == "https://api.stripe.com/v1/payment_intents/pi_1/confirm"
    assert sent.body == {"off_session": "true"}
    assert sent.headers["Idempotency-Key"] == CONFIRM_KEY


def test_retrieve_is_a_get_without_a_key() -> None:
    gateway, fake, _ = a_gateway((200, intent(status="processing")))
    assert gateway.retrieve_payment("pi_1").outcome is ChargeOutcome.PENDING
    (sent,) = fake.requests
    assert (sent.method, sent.url) == ("get", "https://api.stripe.com/v1/payment_intents/pi_1")
    assert "Idempotency-Key" not in sent.headers


def test_a_refund_carries_its_key_and_amount() -> None:
    refund = fixture("refund")
    gateway, fake, _ = a_gateway((200, refund), (200, refund))
    assert (
        gateway.refund(
            payment_id="pi_1", amount=Money(400, "USD"), idempotency_key="refund:inv_1:1"
        )
        == refund["id"]
    )
    gateway.refund(payment_id="pi_1", amount=None, idempotency_key="refund:inv_1:2")
    assert [r.url for r in fake.requests] == ["https://api.stripe.com/v1/refunds"] * 2
    assert [r.body for r in fake.requests] == [
        {"payment_intent": "pi_1", "amount": "400"},
        {"payment_intent": "pi_1"},
    ]
    assert fake.keys() == ["refund:inv_1:1", "refund:inv_1:2"]


def test_a_customer_is_created_with_its_key_and_tenure_id() -> None:
    customer = fixture("customer")
    gateway, fake, _ = a_gateway((200, customer))
    cus = gateway.create_customer(
        customer_id="alice", email="alice@example.com", name="Alice", idempotency_key="cus:alice"
    )
    assert cus == customer["id"]
    assert fake.requests[0].body == {
        "email": "alice@example.com",
        "name": "Alice",
        "metadata[tenure_customer_id]": "alice",
    }
    assert fake.keys() == ["cus:alice"]


def test_attaching_a_payment_method_returns_what_may_be_shown_of_the_card() -> None:
    method = fixture("payment_method")
    method["customer"] = "cus_alice"
    gateway, fake, _ = a_gateway((200, method))
    details = gateway.attach_payment_method(
        provider_customer_id="cus_alice", payment_method=method["id"], idempotency_key="pm:1"
    )
    assert details == {"brand": "visa", "last4": "4242", "exp_month": 8, "exp_year": 2030}
    (sent,) = fake.requests
    assert sent.url == f"https://api.stripe.com/v1/payment_methods/{method['id']}/attach"
    assert sent.body == {"customer": "cus_alice"}
    assert fake.keys() == ["pm:1"]


def test_a_card_stripe_refuses_at_attach_time_is_a_refused_request_with_its_code() -> None:
    gateway, fake, sleeps = a_gateway((402, card_error("card_declined", "do_not_honor", False)))
    with pytest.raises(InvalidRequestError) as refused:
        gateway.attach_payment_method(
            provider_customer_id="cus_alice", payment_method="pm_1", idempotency_key="pm:1"
        )
    assert refused.value.code == "do_not_honor"
    assert len(fake.requests) == 1 and sleeps == []


# -- amounts ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("money", "amount", "currency"),
    [
        (Money(500, "JPY"), "500", "jpy"),  # zero-decimal: yen, not hundredths
        (Money(5120, "KWD"), "5120", "kwd"),  # three decimals, last one 0
        (Money(5, "ISK"), "500", "isk"),  # zero-decimal in ISO, two decimals at Stripe
        (Money(1999, "EUR"), "1999", "eur"),
    ],
)
def test_amounts_reach_stripe_by_its_rules(money: Money, amount: str, currency: str) -> None:
    gateway, fake, _ = a_gateway((200, intent()))
    create(gateway, money)
    assert (fake.requests[0].body["amount"], fake.requests[0].body["currency"]) == (
        amount,
        currency,
    )


def test_an_amount_stripe_cannot_take_is_refused_before_anything_is_sent() -> None:
    gateway, fake, _ = a_gateway()
    with pytest.raises(InvalidRequestError) as refused:
        create(gateway, Money(5124, "KWD"))
    assert refused.value.code == "invalid_amount"
    assert fake.requests == []


# -- outcomes ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "decline_code", "expected"),
    [
        ("card_declined", "insufficient_funds", "insufficient_funds"),
        ("card_declined", "generic_decline", "generic_decline"),
        ("card_declined", "lost_card", "lost_card"),
        ("expired_card", None, "expired_card"),
    ],
)
def test_a_card_error_is_a_decline_with_its_code(
    code: str, decline_code: str | None, expected: str
) -> None:
    for with_intent in (True, False):
        gateway, fake, sleeps = a_gateway((402, card_error(code, decline_code, with_intent)))
        result = gateway.confirm_payment("pi_1", idempotency_key=CONFIRM_KEY)
        assert (result.payment_id, result.outcome, result.decline_code) == (
            "pi_1",
            ChargeOutcome.DECLINED,
            expected,
        )
        assert len(fake.requests) == 1 and sleeps == []  # a decline is never retried


def test_off_session_authentication_is_authentication_required() -> None:
    gateway, _, _ = a_gateway(
        (402, card_error("authentication_required", "authentication_required")),
        (402, card_error("authentication_required", None, with_intent=False)),
        (200, intent(status="requires_action", next_action={"type": "use_stripe_sdk"})),
    )
    for _ in range(3):
        result = gateway.confirm_payment("pi_1", idempotency_key=CONFIRM_KEY)
        assert (result.outcome, result.decline_code) == (
            ChargeOutcome.AUTHENTICATION_REQUIRED,
            "authentication_required",
        )


@pytest.mark.parametrize(
    ("changes", "outcome", "decline_code"),
    [
        ({"status": "succeeded"}, ChargeOutcome.SUCCEEDED, None),
        ({"status": "processing"}, ChargeOutcome.PENDING, None),
        ({"status": "requires_action"}, ChargeOutcome.AUTHENTICATION_REQUIRED, None),
        ({"status": "requires_confirmation"}, ChargeOutcome.UNKNOWN, None),
        ({"status": "requires_payment_method"}, ChargeOutcome.UNKNOWN, None),
        (
            {
                "status": "requires_payment_method",
                "last_payment_error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "stolen_card",
                },
            },
            ChargeOutcome.DECLINED,
            "stolen_card",
        ),
        (
            {
                "status": "requires_payment_method",
                "last_payment_error": {"type": "card_error", "code": "incorrect_cvc"},
            },
            ChargeOutcome.DECLINED,
            "incorrect_cvc",
        ),
    ],
)
def test_a_retrieved_payment_intent_maps_to_an_outcome(
    changes: dict[str, Any], outcome: ChargeOutcome, decline_code: str | None
) -> None:
    gateway, _, _ = a_gateway((200, intent(**changes)))
    result = gateway.retrieve_payment("pi_1")
    assert result.outcome is outcome
    if outcome is ChargeOutcome.DECLINED:
        assert result.decline_code == decline_code


def test_confirming_an_already_confirmed_payment_reports_its_state() -> None:
    # Past 24 h the confirm key is pruned; Stripe refuses a second confirmation and the
    # PaymentIntent itself says what happened.
    gateway, fake, _ = a_gateway(
        (400, api_error("invalid_request_error", "payment_intent_unexpected_state")),
        (200, intent(status="succeeded")),
    )
    result = gateway.confirm_payment("pi_1", idempotency_key=CONFIRM_KEY)
    assert result.outcome is ChargeOutcome.SUCCEEDED
    assert [r.method for r in fake.requests] == ["post", "get"]


# -- retries ----------------------------------------------------------------------------------
def test_a_rate_limit_is_retried_with_the_same_key_after_a_backoff() -> None:
    gateway, fake, sleeps = a_gateway(
        (429, api_error("invalid_request_error", "rate_limit")),
        (200, intent(status="succeeded")),
    )
    result = gateway.confirm_payment("pi_1", idempotency_key=CONFIRM_KEY)
    assert result.outcome is ChargeOutcome.SUCCEEDED
    assert fake.keys() == [CONFIRM_KEY, CONFIRM_KEY]
    assert fake.requests[0].body == fake.requests[1].body
    assert sleeps == [random.Random(7).uniform(0, 0.5)]  # full jitter under the first ceiling


def test_server_errors_are_retried_then_reported_unavailable_never_declined() -> None:
    gateway, fake, sleeps = a_gateway(
        *[(500, api_error("api_error"))] * 4, max_retries=3, rng=TopOfRange()
    )
    with pytest.raises(ProviderUnavailableError):
        gateway.confirm_payment("pi_1", idempotency_key=CONFIRM_KEY)
    assert fake.keys() == [CONFIRM_KEY] * 4
    assert sleeps == [0.5, 1.0, 2.0]  # exponential ceilings


def test_backoff_is_capped() -> None:
    gateway, _, sleeps = a_gateway(
        *[(503, api_error("api_error"))] * 7, max_retries=6, rng=TopOfRange(), max_delay=4.0
    )
    with pytest.raises(ProviderUnavailableError):
        create(gateway)
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jittered_sleeps_stay_under_their_ceilings_and_repeat_with_the_same_seed() -> None:
    def sleeps_with(seed: int) -> list[float]:
        answers = [(500, api_error("api_error"))] * 4
        gateway, _, sleeps = a_gateway(*answers, rng=random.Random(seed))
        with pytest.raises(ProviderUnavailableError):
            gateway.retrieve_payment("pi_1")
        return sleeps

    first = sleeps_with(3)
    assert all(0 <= s <= c for s, c in zip(first, [0.5, 1.0, 2.0], strict=True))
    assert first == sleeps_with(3)


def test_connection_failures_are_retried_then_unknown() -> None:
    timeouts = [stripe.APIConnectionError("Read timed out", should_retry=True)] * 4
    gateway, fake, sleeps = a_gateway(*timeouts)
    with pytest.raises(ProviderUnavailableError):
        gateway.confirm_payment("pi_1", idempotency_key=CONFIRM_KEY)
    assert fake.keys() == [CONFIRM_KEY] * 4 and len(sleeps) == 3


def test_a_timeout_then_an_answer_is_one_payment() -> None:
    gateway, fake, _ = a_gateway(
        stripe.APIConnectionError("Read timed out", should_retry=True), (200, intent())
    )
    assert create(gateway) == "pi_1"
    assert fake.keys() == [CREATE_KEY, CREATE_KEY]


def test_a_lasting_rate_limit_is_reported_as_such() -> None:
    gateway, fake, _ = a_gateway(*[(429, api_error("invalid_request_error", "rate_limit"))] * 4)
    with pytest.raises(RateLimitedError):
        create(gateway)
    assert len(fake.requests) == 4


def test_a_key_in_use_by_a_concurrent_request_is_retried() -> None:
    gateway, fake, _ = a_gateway(
        (409, api_error("idempotency_error", "idempotency_key_in_use")), (200, intent())
    )
    assert create(gateway) == "pi_1"
    assert fake.keys() == [CREATE_KEY, CREATE_KEY]


class PacedRequests:
    """A throttle that notes how many requests the fake had seen when each token was taken."""

    def __init__(self) -> None:
        self.fake: FakeStripe | None = None
        self.seen_at_token: list[int] = []

    def acquire(self) -> float:
        assert self.fake is not None
        self.seen_at_token.append(len(self.fake.requests))
        return 0.0


def test_every_http_attempt_takes_a_token_before_it_is_sent_retries_included() -> None:
    # Given a paced gateway whose confirm meets a 429, a 500, then succeeds
    throttle = PacedRequests()
    gateway, fake, _ = a_gateway(
        (429, api_error("invalid_request_error", "rate_limit")),
        (500, api_error("api_error")),
        (200, intent(status="succeeded")),
        throttle=throttle,
    )
    throttle.fake = fake
    # When it is confirmed
    gateway.confirm_payment("pi_1", idempotency_key=CONFIRM_KEY)
    # Then each of the three requests waited for its own token first
    assert throttle.seen_at_token == [0, 1, 2]


def test_the_read_after_an_unexpected_state_takes_its_own_token() -> None:
    throttle = PacedRequests()
    gateway, fake, _ = a_gateway(
        (400, api_error("invalid_request_error", "payment_intent_unexpected_state")),
        (200, intent(status="succeeded")),
        throttle=throttle,
    )
    throttle.fake = fake
    gateway.confirm_payment("pi_1", idempotency_key=CONFIRM_KEY)
    assert throttle.seen_at_token == [0, 1]


def test_stripe_saying_not_to_retry_is_obeyed() -> None:
    gateway, fake, sleeps = a_gateway(
        (500, api_error("api_error"), {"Stripe-Should-Retry": "false"})
    )
    with pytest.raises(ProviderUnavailableError):
        gateway.confirm_payment("pi_1", idempotency_key=CONFIRM_KEY)
    assert len(fake.requests) == 1 and sleeps == []


def test_the_sdk_does_not_retry_on_its_own() -> None:
    gateway, fake, _ = a_gateway((500, api_error("api_error")), max_retries=0)
    with pytest.raises(ProviderUnavailableError):
        gateway.retrieve_payment("pi_1")
    assert len(fake.requests) == 1


# -- refusals ---------------------------------------------------------------------------------
def test_a_refused_request_is_not_retried() -> None:
    gateway, fake, sleeps = a_gateway(
        (404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                         "param": "intent", "message": "No such payment_intent: 'pi_x'"}}),
    )  # fmt: skip
    with pytest.raises(InvalidRequestError) as refused:
        gateway.retrieve_payment("pi_x")
    assert (refused.value.code, refused.value.param) == ("resource_missing", "intent")
    assert len(fake.requests) == 1 and sleeps == []


def test_a_key_reused_with_other_parameters_is_a_conflict() -> None:
    gateway, _, _ = a_gateway((400, api_error("idempotency_error", None, "Keys for idempotent")))
    with pytest.raises(IdempotencyConflictError):
        create(gateway)


def test_a_bad_api_key_is_a_gateway_error() -> None:
    gateway, _, _ = a_gateway((401, api_error("invalid_request_error", None, "Invalid API Key")))
    with pytest.raises(GatewayError) as failed:
        create(gateway)
    assert API_KEY not in str(failed.value)


# -- logs -------------------------------------------------------------------------------------
def test_no_card_data_personal_data_or_secrets_reach_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="tenure")  # a simulation earlier may have quieted it
    method = fixture("payment_method")
    gateway, _, _ = a_gateway(
        (200, fixture("customer")),
        (200, method),
        (200, intent()),
        (500, api_error("api_error")),
        (402, card_error("card_declined", "insufficient_funds")),
        stripe.APIConnectionError("Read timed out", should_retry=True),
        (200, intent(status="succeeded")),
    )
    errors = []
    gateway.create_customer(
        customer_id="alice", email="alice@example.com", name="Alice Secret", idempotency_key="c"
    )
    gateway.attach_payment_method(
        provider_customer_id="cus_alice", payment_method=method["id"], idempotency_key="p"
    )
    create(gateway)
    gateway.confirm_payment("pi_1", idempotency_key=CONFIRM_KEY)
    gateway.retrieve_payment("pi_1")
    try:
        a_gateway(*[stripe.APIConnectionError("timed out", should_retry=True)] * 4)[0].refund(
            payment_id="pi_1", amount=None, idempotency_key="r"
        )
    except ProviderUnavailableError as error:
        errors.append(str(error))
    logged = caplog.text + "\n".join(errors)
    assert "stripe request retried" in caplog.text  # the capture works
    assert "payment confirmed" in caplog.text
    for secret in (API_KEY, "alice@example.com", "Alice Secret", "4242424242424242"):
        assert secret not in logged
        assert quote_plus(secret) not in logged  # nor form-encoded, as request bodies are
    assert method["card"]["fingerprint"] not in logged
    assert "Post details" not in caplog.text  # the SDK's request-body logging stays off


# -- one request per attempt: create and confirm, and the list that reconciles it ------------
def pay(gateway: StripeGateway) -> Any:
    return gateway.create_and_confirm_payment(
        amount=Money(1000, "USD"),
        customer_id="alice",
        payment_method="pm_card_visa",
        invoice_id="inv_1",
        attempt=2,
        idempotency_key=CREATE_KEY,
        subscription_id="sub-1",
    )


def test_one_request_creates_and_confirms_off_session_under_the_attempts_key() -> None:
    gateway, fake, _ = a_gateway(
        (200, intent(status="succeeded")),
        provider_customer_for=lambda customer_id: f"cus_{customer_id}",
    )
    result = pay(gateway)
    assert (result.payment_id, result.outcome) == ("pi_1", ChargeOutcome.SUCCEEDED)
    (sent,) = fake.requests
    assert (sent.method, sent.url) == ("post", "https://api.stripe.com/v1/payment_intents")
    assert sent.headers["Idempotency-Key"] == CREATE_KEY
    assert sent.body == {
        "amount": "1000",
        "currency": "usd",
        "customer": "cus_alice",
        "payment_method": "pm_card_visa",
        "confirm": "true",
        "off_session": "true",
        "automatic_payment_methods[enabled]": "true",
        "automatic_payment_methods[allow_redirects]": "never",
        "metadata[tenure_invoice_id]": "inv_1",
        "metadata[tenure_attempt]": "2",
        "metadata[tenure_subscription_id]": "sub-1",
    }


def test_a_decline_of_the_one_request_is_an_outcome_with_the_payment_it_created() -> None:
    gateway, fake, sleeps = a_gateway((402, card_error("card_declined", "insufficient_funds")))
    result = pay(gateway)
    assert (result.payment_id, result.outcome, result.decline_code) == (
        "pi_1",
        ChargeOutcome.DECLINED,
        "insufficient_funds",
    )
    assert len(fake.requests) == 1 and sleeps == []


def test_a_one_request_that_needs_the_customer_is_authentication_required() -> None:
    gateway, _, _ = a_gateway((402, card_error("authentication_required", None)))
    result = pay(gateway)
    assert (result.payment_id, result.outcome) == ("pi_1", ChargeOutcome.AUTHENTICATION_REQUIRED)


def test_a_saved_500_for_the_one_request_is_unavailable_after_the_retries_with_one_key() -> None:
    error = (500, api_error("api_error"))
    gateway, fake, _ = a_gateway(error, error, error, error)
    with pytest.raises(ProviderUnavailableError):
        pay(gateway)
    assert fake.keys() == [CREATE_KEY] * 4


def test_a_500_stripe_replays_from_the_key_is_reported_as_stored_without_more_retries() -> None:
    # The first answer is a 500; the retry under the same key gets that saved answer back,
    # marked as a replay: retrying more would only repeat it.
    replayed = {"Idempotent-Replayed": "true"}
    gateway, fake, _ = a_gateway(
        (500, api_error("api_error")), (500, api_error("api_error"), replayed), (200, intent())
    )
    with pytest.raises(StoredServerError):
        pay(gateway)
    assert fake.keys() == [CREATE_KEY] * 2


def listed(*intents: dict[str, Any], has_more: bool = False) -> dict[str, Any]:
    return {
        "object": "list",
        "url": "/v1/payment_intents",
        "has_more": has_more,
        "data": list(intents),
    }


def find(gateway: StripeGateway) -> Any:
    return gateway.find_payment(
        customer_id="alice",
        invoice_id="inv_1",
        attempt=2,
        created_from=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        created_until=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )


def metadata(invoice_id: str, attempt: int) -> dict[str, str]:
    return {"tenure_invoice_id": invoice_id, "tenure_attempt": str(attempt)}


def test_find_lists_the_customers_payments_in_the_range_and_matches_the_metadata() -> None:
    gateway, fake, _ = a_gateway(
        (
            200,
            listed(
                intent(id="pi_other", status="succeeded", metadata=metadata("inv_1", 1)),
                intent(id="pi_2", status="succeeded", metadata=metadata("inv_1", 2)),
            ),
        ),
        provider_customer_for=lambda customer_id: f"cus_{customer_id}",
    )
    found = find(gateway)
    assert found is not None
    assert (found.payment_id, found.outcome) == ("pi_2", ChargeOutcome.SUCCEEDED)
    (sent,) = fake.requests
    assert sent.method == "get"
    url, _, query = sent.url.partition("?")
    assert url == "https://api.stripe.com/v1/payment_intents"
    assert dict(parse_qsl(query)) == {
        "customer": "cus_alice",
        "created[gte]": "1772355600",
        "created[lte]": "1772442000",
        "limit": "100",
    }
    assert "Idempotency-Key" not in sent.headers


def test_find_pages_through_the_list_and_answers_none_when_nothing_matches() -> None:
    gateway, fake, _ = a_gateway(
        (200, listed(intent(id="pi_a", metadata=metadata("inv_9", 2)), has_more=True)),
        (200, listed(intent(id="pi_b", metadata={}))),
    )
    assert find(gateway) is None
    assert len(fake.requests) == 2
    assert dict(parse_qsl(fake.requests[1].url.partition("?")[2]))["starting_after"] == "pi_a"


def test_a_list_that_stays_unanswered_is_unavailable() -> None:
    error = (503, api_error("api_error"))
    gateway, _, _ = a_gateway(error, error, error, error)
    with pytest.raises(ProviderUnavailableError):
        find(gateway)


def test_a_decline_of_the_one_request_without_its_payment_is_still_a_decline() -> None:
    gateway, _, _ = a_gateway((402, card_error("card_declined", "do_not_honor", False)))
    result = pay(gateway)
    assert (result.payment_id, result.outcome, result.decline_code) == (
        "",
        ChargeOutcome.DECLINED,
        "do_not_honor",
    )


# -- erasure -----------------------------------------------------------------------------------
def test_an_erasure_updates_the_customer_to_the_pseudonym_and_unsets_the_rest() -> None:
    customer = fixture("customer")
    gateway, fake, _ = a_gateway((200, customer))
    gateway.erase_customer(
        provider_customer_id="cus_alice",
        email="erased-0123456789abcdef@invalid",
        name="erased-0123456789abcdef",
        idempotency_key="erase:alice",
    )
    (sent,) = fake.requests
    assert (sent.method, sent.url) == ("post", "https://api.stripe.com/v1/customers/cus_alice")
    assert sent.body == {
        "name": "erased-0123456789abcdef",
        "email": "erased-0123456789abcdef@invalid",
        "phone": "",
        "description": "",
        "address": "",
        "shipping": "",
    }
    assert fake.keys() == ["erase:alice"]


def test_an_erasure_of_a_customer_stripe_no_longer_has_is_already_done() -> None:
    missing = {"error": {"type": "invalid_request_error", "code": "resource_missing",
                         "message": "No such customer: 'cus_gone'", "param": "id"}}  # fmt: skip
    gateway, fake, _ = a_gateway((404, missing))
    gateway.erase_customer(
        provider_customer_id="cus_gone", email="e@invalid", name="e", idempotency_key="erase:x"
    )
    assert len(fake.requests) == 1


def test_an_erasure_stripe_refuses_for_another_reason_is_raised() -> None:
    gateway, _, _ = a_gateway((400, api_error("invalid_request_error", "parameter_invalid")))
    with pytest.raises(InvalidRequestError) as refused:
        gateway.erase_customer(
            provider_customer_id="cus_1", email="e@invalid", name="e", idempotency_key="erase:x"
        )
    assert refused.value.code == "parameter_invalid"
