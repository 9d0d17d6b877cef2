"""The sandbox provider: Stripe's test cards, idempotent replays, faults, async settling,
Stripe-shaped objects and signed events."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sandbox_pay
import stripe
from sandbox_clock import T0, Clock

from tenure.domain.charges import ChargeOutcome, is_hard_decline
from tenure.domain.money import Money
from tenure.payments.gateway import (
    IdempotencyConflictError,
    InvalidRequestError,
    PaymentGateway,
    PaymentResult,
    ProviderUnavailableError,
    RateLimitedError,
)
from tenure.payments.sandbox import (
    ASYNC_METHODS,
    SETTLE_AFTER_SECONDS,
    TEST_CARDS,
    SandboxGateway,
    payment_method_for,
    sign,
    signed_delivery,
)
from tenure.payments.stripe_objects import API_VERSION, payment_result

FIXTURES = Path(__file__).parents[2] / "fixtures" / "stripe" / "fixtures3.json"
USD_10 = Money(1000, "USD")

# What charging each of Stripe's public test cards does (https://docs.stripe.com/testing).
EXPECTED = {
    "4242424242424242": (ChargeOutcome.SUCCEEDED, None),
    "5555555555554444": (ChargeOutcome.SUCCEEDED, None),
    "378282246310005": (ChargeOutcome.SUCCEEDED, None),
    "4000000000000002": (ChargeOutcome.DECLINED, "generic_decline"),
    "4000000000009995": (ChargeOutcome.DECLINED, "insufficient_funds"),
    "4000000000009987": (ChargeOutcome.DECLINED, "lost_card"),
    "4000000000009979": (ChargeOutcome.DECLINED, "stolen_card"),
    "4000000000000069": (ChargeOutcome.DECLINED, "expired_card"),
    "4000000000000127": (ChargeOutcome.DECLINED, "incorrect_cvc"),
    "4000000000000119": (ChargeOutcome.DECLINED, "processing_error"),
    "4000002760003184": (ChargeOutcome.AUTHENTICATION_REQUIRED, "authentication_required"),
    "4000000000000341": (ChargeOutcome.DECLINED, "card_declined"),
}


def a_sandbox(now: int = T0) -> tuple[SandboxGateway, Clock]:
    clock = Clock(now)
    return SandboxGateway(clock=clock), clock


def create(
    gateway: SandboxGateway,
    card: str = "4242424242424242",
    *,
    invoice: str = "inv_1",
    attempt: int = 1,
    amount: Money = USD_10,
) -> str:
    method = payment_method_for(card)
    assert method is not None
    return gateway.create_payment(
        amount=amount,
        customer_id="alice",
        payment_method=method,
        invoice_id=invoice,
        attempt=attempt,
        idempotency_key=f"charge:{invoice}:{attempt}:create",
    )


def charge(gateway: SandboxGateway, card: str = "4242424242424242", *, invoice: str = "inv_1"):
    payment_id = create(gateway, card, invoice=invoice)
    return gateway.confirm_payment(payment_id, idempotency_key=f"charge:{invoice}:1:confirm")


def fixture(name: str) -> dict[str, Any]:
    if not FIXTURES.exists():
        pytest.fail(f"Stripe fixtures not found at {FIXTURES}")
    resources: dict[str, dict[str, Any]] = json.loads(FIXTURES.read_text())["resources"]
    return resources[name]


def types(gateway: SandboxGateway) -> list[str]:
    return [event["type"] for event in gateway.events]


# -- the port ---------------------------------------------------------------------------------
def test_the_sandbox_is_a_payment_gateway() -> None:
    gateway: PaymentGateway = SandboxGateway()
    assert gateway.name == "sandbox"


# -- test cards -------------------------------------------------------------------------------
def test_every_listed_test_card_has_an_expected_outcome() -> None:
    assert set(EXPECTED) == set(TEST_CARDS)


@pytest.mark.parametrize("card", sorted(EXPECTED))
def test_each_test_card_charges_as_stripe_documents(card: str) -> None:
    gateway, _ = a_sandbox()
    result = charge(gateway, card)
    assert (result.outcome, result.decline_code) == EXPECTED[card]
    assert gateway.retrieve_payment(result.payment_id) == result


def test_the_decline_codes_it_produces_are_classed_hard_or_soft_as_dunning_expects() -> None:
    declined = {code for outcome, code in EXPECTED.values() if outcome is ChargeOutcome.DECLINED}
    hard = {code for code in declined if is_hard_decline(code)}
    assert hard == {"lost_card", "stolen_card", "expired_card", "incorrect_cvc"}
    assert declined - hard == {
        "generic_decline",
        "insufficient_funds",
        "processing_error",
        "card_declined",
    }


def test_card_numbers_may_be_written_with_spaces() -> None:
    assert payment_method_for("4242 4242 4242 4242") == "pm_card_visa"
    assert payment_method_for("sandbox_async_fails") == "pm_sandbox_async_fails"
    assert payment_method_for("1234") is None


def test_a_payment_is_created_unconfirmed_and_retrieving_it_says_unknown() -> None:
    gateway, _ = a_sandbox()
    payment_id = create(gateway)
    assert gateway.retrieve_payment(payment_id).outcome is ChargeOutcome.UNKNOWN
    assert gateway.confirmations == 0
    assert gateway.payment_intent(payment_id)["status"] == "requires_confirmation"


# -- idempotency ------------------------------------------------------------------------------
def test_the_same_key_gives_the_same_payment_and_no_second_confirmation() -> None:
    gateway, _ = a_sandbox()
    first = create(gateway)
    assert create(gateway) == first
    one = gateway.confirm_payment(first, idempotency_key="charge:inv_1:1:confirm")
    two = gateway.confirm_payment(first, idempotency_key="charge:inv_1:1:confirm")
    assert one == two
    assert gateway.confirmations == 1
    assert types(gateway).count("payment_intent.succeeded") == 1


def test_a_new_attempt_is_a_new_payment() -> None:
    gateway, _ = a_sandbox()
    assert create(gateway, attempt=1) != create(gateway, attempt=2)


def test_a_key_reused_with_other_parameters_is_refused() -> None:
    gateway, _ = a_sandbox()
    create(gateway)
    with pytest.raises(IdempotencyConflictError):
        create(gateway, amount=Money(2000, "USD"))
    with pytest.raises(IdempotencyConflictError):
        create(gateway, card="4000000000009995")


def test_a_payment_confirmed_again_under_another_key_moves_no_money() -> None:
    gateway, _ = a_sandbox()
    result = charge(gateway)
    again = gateway.confirm_payment(result.payment_id, idempotency_key="another")
    assert again == result
    assert gateway.confirmations == 1


def test_an_unknown_payment_is_a_refused_request() -> None:
    gateway, _ = a_sandbox()
    with pytest.raises(InvalidRequestError) as refused:
        gateway.retrieve_payment("pi_nope")
    assert refused.value.code == "resource_missing"


def test_calls_are_counted_per_payment() -> None:
    gateway, _ = a_sandbox()
    result = charge(gateway)
    gateway.retrieve_payment(result.payment_id)
    gateway.confirm_payment(result.payment_id, idempotency_key="charge:inv_1:1:confirm")
    assert gateway.calls == {result.payment_id: 4}


# -- faults -----------------------------------------------------------------------------------
def test_a_timeout_after_the_charge_is_unknown_until_retrieved_then_succeeded() -> None:
    gateway, _ = a_sandbox()
    payment_id = create(gateway)
    gateway.fail_next("timeout")
    with pytest.raises(ProviderUnavailableError):
        gateway.confirm_payment(payment_id, idempotency_key="charge:inv_1:1:confirm")
    # Money moved on the provider's side although the caller never heard.
    assert gateway.confirmations == 1
    assert gateway.retrieve_payment(payment_id).outcome is ChargeOutcome.SUCCEEDED
    # Replaying the confirmation returns the saved answer and charges nothing more.
    replay = gateway.confirm_payment(payment_id, idempotency_key="charge:inv_1:1:confirm")
    assert replay.outcome is ChargeOutcome.SUCCEEDED
    assert gateway.confirmations == 1


def test_a_timeout_on_create_still_creates_the_payment_under_its_key() -> None:
    gateway, _ = a_sandbox()
    gateway.fail_next("timeout", on="create")
    with pytest.raises(ProviderUnavailableError):
        create(gateway)
    payment_id = create(gateway)  # the retry with the same key finds it
    assert gateway.retrieve_payment(payment_id).outcome is ChargeOutcome.UNKNOWN
    assert types(gateway).count("payment_intent.created") == 1


def test_a_rate_limit_refuses_before_anything_happens() -> None:
    gateway, _ = a_sandbox()
    payment_id = create(gateway)
    gateway.fail_next("rate_limit", times=2)
    for _ in range(2):
        with pytest.raises(RateLimitedError):
            gateway.confirm_payment(payment_id, idempotency_key="charge:inv_1:1:confirm")
    assert gateway.confirmations == 0
    assert gateway.retrieve_payment(payment_id).outcome is ChargeOutcome.UNKNOWN
    assert "charge.succeeded" not in types(gateway)
    result = gateway.confirm_payment(payment_id, idempotency_key="charge:inv_1:1:confirm")
    assert result.outcome is ChargeOutcome.SUCCEEDED
    assert gateway.calls[payment_id] == 5  # create, 2 refused, retrieve, confirm


def test_a_rate_limited_create_makes_no_payment() -> None:
    gateway, _ = a_sandbox()
    gateway.fail_next("rate_limit", on="create")
    with pytest.raises(RateLimitedError):
        create(gateway)
    assert gateway.events == []


def test_a_retrieve_can_time_out_too() -> None:
    gateway, _ = a_sandbox()
    result = charge(gateway)
    gateway.fail_next("timeout", on="retrieve")
    with pytest.raises(ProviderUnavailableError):
        gateway.retrieve_payment(result.payment_id)
    assert gateway.retrieve_payment(result.payment_id) == result


def test_faults_are_checked() -> None:
    gateway = SandboxGateway()
    with pytest.raises(ValueError):
        gateway.fail_next("explode")  # type: ignore[arg-type, unused-ignore]
    with pytest.raises(ValueError):
        gateway.fail_next("timeout", on="settle")  # type: ignore[arg-type, unused-ignore]
    with pytest.raises(ValueError):
        gateway.fail_next("timeout", times=0)
    with pytest.raises(ValueError):
        gateway.fail_next("server_error", on="confirm")


# -- async methods ----------------------------------------------------------------------------
def test_an_async_payment_is_pending_until_a_few_hours_have_passed() -> None:
    gateway, _ = a_sandbox()
    result = charge(gateway, "sandbox_async_succeeds")
    assert result.outcome is ChargeOutcome.PENDING
    assert gateway.settle_pending(T0 + SETTLE_AFTER_SECONDS - 1) == []
    assert gateway.retrieve_payment(result.payment_id).outcome is ChargeOutcome.PENDING
    settled = gateway.settle_pending(T0 + SETTLE_AFTER_SECONDS)
    assert [(r.payment_id, r.outcome) for r in settled] == [
        (result.payment_id, ChargeOutcome.SUCCEEDED)
    ]
    assert gateway.retrieve_payment(result.payment_id).outcome is ChargeOutcome.SUCCEEDED
    assert gateway.settle_pending(T0 + 10 * SETTLE_AFTER_SECONDS) == []  # settled once
    succeeded = [e for e in gateway.events if e["type"] == "payment_intent.succeeded"]
    assert [e["created"] for e in succeeded] == [T0 + SETTLE_AFTER_SECONDS]


def test_a_failing_async_payment_settles_as_a_soft_decline_with_events() -> None:
    gateway, _ = a_sandbox()
    result = charge(gateway, "sandbox_async_fails")
    assert result.outcome is ChargeOutcome.PENDING
    (settled,) = gateway.settle_pending(datetime.fromtimestamp(T0 + SETTLE_AFTER_SECONDS, UTC))
    assert (settled.outcome, settled.decline_code) == (ChargeOutcome.DECLINED, "debit_failed")
    assert not is_hard_decline(settled.decline_code)
    assert types(gateway)[-4:] == [
        "charge.pending",
        "payment_intent.processing",
        "charge.failed",
        "payment_intent.payment_failed",
    ]


def test_the_provider_settles_on_its_own_time_when_asked_later() -> None:
    gateway, clock = a_sandbox()
    result = charge(gateway, "sandbox_async_succeeds")
    clock.now += SETTLE_AFTER_SECONDS
    assert gateway.retrieve_payment(result.payment_id).outcome is ChargeOutcome.SUCCEEDED


def test_the_replayed_confirmation_of_a_settled_payment_returns_the_saved_answer() -> None:
    gateway, _ = a_sandbox()
    result = charge(gateway, "sandbox_async_succeeds")
    gateway.settle_pending(T0 + SETTLE_AFTER_SECONDS)
    replay = gateway.confirm_payment(result.payment_id, idempotency_key="charge:inv_1:1:confirm")
    assert replay.outcome is ChargeOutcome.PENDING  # as Stripe: the first response, saved
    assert gateway.retrieve_payment(result.payment_id).outcome is ChargeOutcome.SUCCEEDED


# -- customers, payment methods, refunds ------------------------------------------------------
def test_a_customer_is_created_once_per_key() -> None:
    gateway, _ = a_sandbox()
    first = gateway.create_customer(
        customer_id="alice", email="alice@example.com", name="Alice", idempotency_key="cus:alice"
    )
    again = gateway.create_customer(
        customer_id="alice", email="alice@example.com", name="Alice", idempotency_key="cus:alice"
    )
    assert first == again and first.startswith("cus_")
    assert types(gateway) == ["customer.created"]


def test_every_test_card_attaches_and_reports_brand_last4_and_expiry() -> None:
    gateway, _ = a_sandbox()
    cus = gateway.create_customer(
        customer_id="alice", email="a@example.com", name=None, idempotency_key="cus:alice"
    )
    for number, card in TEST_CARDS.items():
        details = gateway.attach_payment_method(
            provider_customer_id=cus, payment_method=card.payment_method, idempotency_key=number
        )
        assert details == {
            "brand": card.brand,
            "last4": number[-4:],
            "exp_month": 12,
            "exp_year": 2034,
        }
    debit = gateway.attach_payment_method(
        provider_customer_id=cus,
        payment_method=ASYNC_METHODS["sandbox_async_succeeds"],
        idempotency_key="debit",
    )
    assert debit["brand"] == "sepa_debit" and debit["exp_year"] is None


def test_attaching_to_an_unknown_customer_or_an_unknown_method_is_refused() -> None:
    gateway, _ = a_sandbox()
    with pytest.raises(InvalidRequestError):
        gateway.attach_payment_method(
            provider_customer_id="cus_nobody", payment_method="pm_card_visa", idempotency_key="k"
        )
    cus = gateway.create_customer(
        customer_id="alice", email="a@example.com", name=None, idempotency_key="cus:alice"
    )
    with pytest.raises(InvalidRequestError):
        gateway.attach_payment_method(
            provider_customer_id=cus, payment_method="pm_made_up", idempotency_key="k2"
        )


def test_a_refund_is_idempotent_and_cannot_exceed_the_charge() -> None:
    gateway, _ = a_sandbox()
    paid = charge(gateway)
    part = gateway.refund(
        payment_id=paid.payment_id, amount=Money(400, "USD"), idempotency_key="refund:1"
    )
    assert part.startswith("re_")
    assert (
        gateway.refund(
            payment_id=paid.payment_id, amount=Money(400, "USD"), idempotency_key="refund:1"
        )
        == part
    )
    with pytest.raises(InvalidRequestError) as too_much:
        gateway.refund(
            payment_id=paid.payment_id, amount=Money(700, "USD"), idempotency_key="refund:2"
        )
    assert too_much.value.code == "amount_too_large"
    rest = gateway.refund(payment_id=paid.payment_id, amount=None, idempotency_key="refund:3")
    charge_object = gateway.charge_for(paid.payment_id)
    assert charge_object is not None
    assert (charge_object["amount_refunded"], charge_object["refunded"]) == (1000, True)
    refunded = [e for e in gateway.events if e["type"] == "charge.refunded"]
    assert [e["data"]["object"]["amount_refunded"] for e in refunded] == [400, 1000]
    assert rest != part


def test_a_declined_payment_cannot_be_refunded() -> None:
    gateway, _ = a_sandbox()
    declined = charge(gateway, "4000000000009995")
    with pytest.raises(InvalidRequestError):
        gateway.refund(payment_id=declined.payment_id, amount=None, idempotency_key="refund:1")


def test_amounts_follow_stripes_rules() -> None:
    gateway, _ = a_sandbox()
    yen = create(gateway, amount=Money(500, "JPY"), invoice="inv_jpy")
    krona = create(gateway, amount=Money(5, "ISK"), invoice="inv_isk")
    assert gateway.payment_intent(yen)["amount"] == 500
    assert gateway.payment_intent(yen)["currency"] == "jpy"
    assert gateway.payment_intent(krona)["amount"] == 500
    with pytest.raises(InvalidRequestError):
        create(gateway, amount=Money(5124, "KWD"), invoice="inv_kwd")


# -- Stripe shapes and events -----------------------------------------------------------------
def test_objects_have_the_keys_of_stripes_own_examples() -> None:
    gateway, _ = a_sandbox()
    cus = gateway.create_customer(
        customer_id="alice", email="a@example.com", name=None, idempotency_key="cus:alice"
    )
    gateway.attach_payment_method(
        provider_customer_id=cus, payment_method="pm_card_visa", idempotency_key="pm"
    )
    paid = charge(gateway)
    gateway.refund(payment_id=paid.payment_id, amount=None, idempotency_key="refund:1")
    by_type = {e["type"]: e["data"]["object"] for e in gateway.events}
    built = {
        "customer": by_type["customer.created"],
        "payment_method": by_type["payment_method.attached"],
        "payment_intent": by_type["payment_intent.succeeded"],
        "charge": by_type["charge.succeeded"],
        "refund": by_type["refund.created"],
        "event": gateway.events[-1],
    }
    for name, obj in built.items():
        assert set(obj) == set(fixture(name)), name
        assert obj["object"] == fixture(name)["object"]
    card_details = built["charge"]["payment_method_details"]["card"]
    assert set(card_details) == set(fixture("charge")["payment_method_details"]["card"])
    assert set(built["payment_method"]["card"]) >= {"brand", "last4", "exp_month", "exp_year"}


def test_ids_look_like_stripes() -> None:
    gateway, _ = a_sandbox()
    paid = charge(gateway)
    gateway.refund(payment_id=paid.payment_id, amount=None, idempotency_key="refund:1")
    intent = gateway.payment_intent(paid.payment_id)
    assert intent["id"].startswith("pi_")
    assert intent["latest_charge"].startswith("ch_")
    assert all(e["id"].startswith("evt_") for e in gateway.events)
    assert gateway.events[-1]["data"]["object"]["refunds"]["data"][0]["id"].startswith("re_")


def test_a_decline_event_carries_the_card_error_like_stripe() -> None:
    gateway, _ = a_sandbox()
    declined = charge(gateway, "4000000000009995")
    (failed,) = [e for e in gateway.events if e["type"] == "payment_intent.payment_failed"]
    intent = failed["data"]["object"]
    error = intent["last_payment_error"]
    assert (intent["status"], error["type"], error["code"], error["decline_code"]) == (
        "requires_payment_method",
        "card_error",
        "card_declined",
        "insufficient_funds",
    )
    assert payment_result(intent) == declined
    assert failed["request"]["idempotency_key"] == "charge:inv_1:1:confirm"
    assert failed["api_version"] == API_VERSION


def test_event_snapshots_do_not_change_afterwards() -> None:
    gateway, _ = a_sandbox()
    paid = charge(gateway)
    gateway.refund(payment_id=paid.payment_id, amount=None, idempotency_key="refund:1")
    (succeeded,) = [e for e in gateway.events if e["type"] == "charge.succeeded"]
    assert succeeded["data"]["object"]["amount_refunded"] == 0


def test_events_are_stamped_by_the_clock() -> None:
    gateway, clock = a_sandbox()
    payment_id = create(gateway)
    clock.now += 60
    gateway.confirm_payment(payment_id, idempotency_key="charge:inv_1:1:confirm")
    assert [e["created"] for e in gateway.events] == [T0, T0 + 60, T0 + 60]
    assert [e["created"] for e in charge_events(SandboxGateway())] == [0, 0, 0]


def charge_events(gateway: SandboxGateway) -> list[dict[str, Any]]:
    charge(gateway)
    return gateway.events


def test_ids_objects_and_events_are_the_same_in_two_sandboxes() -> None:
    def run() -> tuple[list[str], list[dict[str, Any]]]:
        gateway, _ = a_sandbox()
        cus = gateway.create_customer(
            customer_id="alice", email="a@example.com", name="A", idempotency_key="cus:alice"
        )
        ids = [cus]
        for n, card in enumerate(sorted(EXPECTED)):
            ids.append(charge(gateway, card, invoice=f"inv_{n}").payment_id)
        ids.append(charge(gateway, "sandbox_async_succeeds", invoice="inv_async").payment_id)
        gateway.settle_pending(T0 + SETTLE_AFTER_SECONDS)
        ids.append(gateway.refund(payment_id=ids[1], amount=None, idempotency_key="refund:1"))
        return ids, gateway.events

    assert run() == run()


def test_events_are_signed_like_stripe_webhooks() -> None:
    gateway, _ = a_sandbox()
    charge(gateway)
    secret = "whsec_test_secret"
    for event in gateway.events:
        body, header = signed_delivery(event, secret)
        timestamp, signature = (part.split("=", 1)[1] for part in header.split(","))
        assert int(timestamp) == event["created"]
        expected = hmac.new(
            secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        assert hmac.compare_digest(signature, expected)
        assert json.loads(body) == event
        # The official SDK accepts the signature too (tolerance widened: stamps are sandbox time).
        stripe.WebhookSignature.verify_header(body, header, secret, tolerance=None)


def test_sign_uses_the_given_timestamp_and_detects_tampering() -> None:
    header = sign(b'{"id": "evt_1"}', "whsec_x", 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert header != sign(b'{"id": "evt_2"}', "whsec_x", 1_700_000_000)
    assert header != sign(b'{"id": "evt_1"}', "whsec_y", 1_700_000_000)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(b'{"id": "evt_2"}', header, "whsec_x", None)


# -- one request: create and confirm ----------------------------------------------------------
def pay(
    gateway: SandboxGateway,
    card: str = "4242424242424242",
    *,
    invoice: str = "inv_1",
    attempt: int = 1,
) -> PaymentResult:
    """Keyed as `create` keys its payment: the one request is about the payment it makes."""
    return sandbox_pay.pay(gateway, card, invoice, attempt, "charge:{invoice}:{attempt}:create")


def test_one_request_makes_the_payment_and_events_a_create_then_confirm_would() -> None:
    one, _ = a_sandbox()
    two, _ = a_sandbox()
    result = pay(one)
    payment_id = create(two, invoice="inv_1")
    two.confirm_payment(payment_id, idempotency_key="charge:inv_1:1:confirm")
    assert result.payment_id == payment_id
    assert result.outcome is ChargeOutcome.SUCCEEDED
    assert types(one) == types(two)
    assert one.confirmations == 1
    assert one.calls == {payment_id: 1}


def test_one_request_declines_as_the_card_does() -> None:
    gateway, _ = a_sandbox()
    result = pay(gateway, "4000000000009995")
    assert (result.outcome, result.decline_code) == (
        ChargeOutcome.DECLINED,
        "insufficient_funds",
    )


def test_one_request_replayed_returns_the_first_answer_and_moves_no_money() -> None:
    gateway, _ = a_sandbox()
    first = pay(gateway)
    assert pay(gateway) == first
    assert gateway.confirmations == 1


def test_one_request_replayed_with_another_card_is_refused_by_its_key() -> None:
    gateway, _ = a_sandbox()
    pay(gateway)
    with pytest.raises(IdempotencyConflictError):
        pay(gateway, "5555555555554444")


def test_a_saved_500_is_replayed_to_every_retry_of_its_key() -> None:
    gateway, _ = a_sandbox()
    gateway.fail_next("server_error", on="pay")
    for _ in range(2):
        with pytest.raises(ProviderUnavailableError):
            pay(gateway)
    # The first request moved the money; no retry of its key ever says so
    assert gateway.confirmations == 1
    assert "payment_intent.succeeded" in types(gateway)


def test_a_timeout_on_the_one_request_took_effect_and_its_replay_says_how() -> None:
    gateway, _ = a_sandbox()
    gateway.fail_next("timeout", on="pay")
    with pytest.raises(ProviderUnavailableError):
        pay(gateway)
    assert pay(gateway).outcome is ChargeOutcome.SUCCEEDED
    assert gateway.confirmations == 1


def test_a_rate_limited_one_request_makes_no_payment() -> None:
    gateway, _ = a_sandbox()
    gateway.fail_next("rate_limit", on="pay")
    with pytest.raises(RateLimitedError):
        pay(gateway)
    assert gateway.events == []


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_find_matches_the_invoice_and_attempt_among_the_customers_payments_in_range() -> None:
    gateway, clock = a_sandbox()
    pay(gateway, invoice="inv_1", attempt=1)
    clock.now += 3600
    made = pay(gateway, "4000000000009995", invoice="inv_1", attempt=2)
    found = gateway.find_payment(
        customer_id="cus_alice",
        invoice_id="inv_1",
        attempt=2,
        created_from=at(clock.now - 60),
        created_until=at(clock.now + 60),
    )
    assert found == made
    assert gateway.lists == 1


def test_find_answers_none_out_of_range_for_another_customer_or_another_attempt() -> None:
    gateway, _ = a_sandbox()
    pay(gateway)
    window = {"created_from": at(T0), "created_until": at(T0 + 60)}
    assert (
        gateway.find_payment(
            customer_id="cus_alice",
            invoice_id="inv_1",
            attempt=1,
            created_from=at(T0 + 1),
            created_until=at(T0 + 60),
        )
        is None
    )
    assert (
        gateway.find_payment(customer_id="cus_bob", invoice_id="inv_1", attempt=1, **window) is None
    )
    assert (
        gateway.find_payment(customer_id="cus_alice", invoice_id="inv_1", attempt=2, **window)
        is None
    )


def test_a_list_can_time_out() -> None:
    gateway, _ = a_sandbox()
    pay(gateway)
    gateway.fail_next("timeout", on="find")
    with pytest.raises(ProviderUnavailableError):
        gateway.find_payment(
            customer_id="cus_alice",
            invoice_id="inv_1",
            attempt=1,
            created_from=at(T0),
            created_until=at(T0),
        )


def test_a_refund_that_times_out_was_made_and_its_key_replays_it() -> None:
    gateway, _ = a_sandbox()
    paid = charge(gateway, "4242424242424242")
    gateway.fail_next("timeout", on="refund")
    with pytest.raises(ProviderUnavailableError):
        gateway.refund(payment_id=paid.payment_id, amount=None, idempotency_key="refund:in_1:1")
    again = gateway.refund(payment_id=paid.payment_id, amount=None, idempotency_key="refund:in_1:1")
    assert [e["data"]["object"]["id"] for e in gateway.events if e["type"] == "refund.created"] == [
        again
    ]


def test_a_rate_limited_refund_was_not_made() -> None:
    gateway, _ = a_sandbox()
    paid = charge(gateway, "4242424242424242")
    gateway.fail_next("rate_limit", on="refund")
    with pytest.raises(RateLimitedError):
        gateway.refund(payment_id=paid.payment_id, amount=None, idempotency_key="refund:in_1:1")
    assert [e for e in gateway.events if e["type"] == "refund.created"] == []
