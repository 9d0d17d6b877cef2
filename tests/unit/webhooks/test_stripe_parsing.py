"""Stripe's own example objects (fixtures3.json) in every event type Tenure handles parse."""

import copy
import json
from typing import Any

import pytest
from webhooks_harness import fixtures

from tenure.domain.charges import ChargeOutcome
from tenure.domain.invoices import DisputeStatus, RefundStatus
from tenure.payments import stripe_objects
from tenure.webhooks import stripe_events
from tenure.webhooks.errors import MalformedEventError
from tenure.webhooks.model import ProviderEventKind

RESOURCES = fixtures()
# Every type Tenure acts on, with the resource Stripe puts in data.object and the kind it means.
HANDLED = {
    "payment_intent.succeeded": ("payment_intent", ProviderEventKind.PAYMENT_UPDATED),
    "payment_intent.payment_failed": ("payment_intent", ProviderEventKind.PAYMENT_UPDATED),
    "payment_intent.requires_action": ("payment_intent", ProviderEventKind.PAYMENT_UPDATED),
    "payment_intent.processing": ("payment_intent", ProviderEventKind.PAYMENT_UPDATED),
    "charge.refunded": ("charge", ProviderEventKind.PAYMENT_REFUNDED),
    "refund.created": ("refund", ProviderEventKind.REFUND_UPDATED),
    "refund.updated": ("refund", ProviderEventKind.REFUND_UPDATED),
    "refund.failed": ("refund", ProviderEventKind.REFUND_UPDATED),
    "charge.refund.updated": ("refund", ProviderEventKind.REFUND_UPDATED),
    "charge.dispute.created": ("dispute", ProviderEventKind.DISPUTE_UPDATED),
    "charge.dispute.updated": ("dispute", ProviderEventKind.DISPUTE_UPDATED),
    "charge.dispute.closed": ("dispute", ProviderEventKind.DISPUTE_UPDATED),
    "payment_method.attached": ("payment_method", ProviderEventKind.PAYMENT_METHOD_ADDED),
    "payment_method.automatically_updated": (
        "payment_method",
        ProviderEventKind.PAYMENT_METHOD_UPDATED,
    ),
    "payment_method.detached": ("payment_method", ProviderEventKind.PAYMENT_METHOD_DETACHED),
    "setup_intent.succeeded": ("setup_intent", ProviderEventKind.PAYMENT_METHOD_ADDED),
    "customer.deleted": ("customer", ProviderEventKind.CUSTOMER_DELETED),
}
WEBHOOK_RESOURCES = sorted({resource for resource, _ in HANDLED.values()})


def envelope(event_type: str, obj: dict[str, Any], **data: Any) -> bytes:
    """Stripe's example event envelope, carrying `obj` as `event_type`."""
    event = copy.deepcopy(RESOURCES["event"])
    event["type"] = event_type
    event["data"] = {"object": copy.deepcopy(obj), **data}
    return json.dumps(event, indent=2).encode()


def test_the_fixture_file_holds_every_resource_the_webhooks_read() -> None:
    assert {"event", *WEBHOOK_RESOURCES} <= set(RESOURCES)
    assert RESOURCES["event"]["object"] == "event"


@pytest.mark.parametrize("event_type", sorted(HANDLED))
def test_each_handled_type_parses_from_stripes_example_object(event_type: str) -> None:
    resource, kind = HANDLED[event_type]
    parsed = stripe_events.parse(envelope(event_type, RESOURCES[resource]))
    assert parsed.provider == "stripe"
    assert parsed.event_id == RESOURCES["event"]["id"]
    assert parsed.type == event_type
    assert int(parsed.occurred_at.timestamp()) == RESOURCES["event"]["created"]
    if event_type == "setup_intent.succeeded":
        # The example SetupIntent saved no payment method: nothing for Tenure to act on.
        assert parsed.kind is ProviderEventKind.IGNORED
    else:
        assert parsed.kind is kind


@pytest.mark.parametrize("resource", ["event", *WEBHOOK_RESOURCES])
def test_unknown_types_are_ignored_cleanly_whatever_they_carry(resource: str) -> None:
    parsed = stripe_events.parse(envelope("issuing_card.shipped", RESOURCES[resource]))
    assert parsed.kind is ProviderEventKind.IGNORED
    assert parsed.event_id == RESOURCES["event"]["id"]


def test_stripes_own_example_event_is_an_unhandled_type() -> None:
    parsed = stripe_events.parse(json.dumps(RESOURCES["event"]).encode())
    assert (parsed.type, parsed.kind) == ("plan.created", ProviderEventKind.IGNORED)


def test_payment_intent_facts_come_from_the_object_and_tenures_metadata() -> None:
    intent = copy.deepcopy(RESOURCES["payment_intent"])
    intent.update(
        status="succeeded",
        last_payment_error=None,
        metadata={"tenure_invoice_id": "in_1", "tenure_attempt": "2"},
    )
    facts = stripe_events.parse(envelope("payment_intent.succeeded", intent)).payment
    assert facts is not None
    assert (facts.payment_id, facts.outcome) == (intent["id"], ChargeOutcome.SUCCEEDED)
    assert (facts.invoice_id, facts.attempt) == ("in_1", 2)
    assert (facts.subscription_id, facts.customer_id) == (None, None)  # an older payment


def test_a_payment_names_its_subscription_and_customer_when_tenure_wrote_them() -> None:
    intent = copy.deepcopy(RESOURCES["payment_intent"])
    intent.update(
        status="succeeded",
        last_payment_error=None,
        metadata=stripe_objects.payment_metadata("in_1", 2, "sub-1", "alice"),
    )
    facts = stripe_events.parse(envelope("payment_intent.succeeded", intent)).payment
    assert facts is not None
    assert (facts.invoice_id, facts.attempt) == ("in_1", 2)
    assert (facts.subscription_id, facts.customer_id) == ("sub-1", "alice")


def test_a_failed_payment_carries_the_issuers_decline_code() -> None:
    intent = copy.deepcopy(RESOURCES["payment_intent"])
    intent["last_payment_error"] = {"code": "card_declined", "decline_code": "insufficient_funds"}
    facts = stripe_events.parse(envelope("payment_intent.payment_failed", intent)).payment
    assert facts is not None
    assert (facts.outcome, facts.decline_code) == (ChargeOutcome.DECLINED, "insufficient_funds")


def test_refund_dispute_and_card_facts() -> None:
    refund = stripe_events.parse(envelope("refund.updated", RESOURCES["refund"])).refund
    assert refund is not None
    assert (refund.amount, refund.currency, refund.status) == (100, "USD", RefundStatus.SUCCEEDED)
    dispute = stripe_events.parse(envelope("charge.dispute.created", RESOURCES["dispute"])).dispute
    assert dispute is not None
    assert dispute.status is DisputeStatus.NEEDS_RESPONSE  # warning_needs_response
    assert dispute.provider_status == "warning_needs_response"
    method = stripe_events.parse(
        envelope("payment_method.automatically_updated", RESOURCES["payment_method"])
    ).payment_method
    assert method is not None
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == (
        "visa",
        "4242",
        8,
        2030,
    )


def test_a_detached_method_names_its_former_customer_from_previous_attributes() -> None:
    body = envelope(
        "payment_method.detached",
        RESOURCES["payment_method"],
        previous_attributes={"customer": "cus_former"},
    )
    method = stripe_events.parse(body).payment_method
    assert method is not None and method.provider_customer_id == "cus_former"


def test_a_setup_intent_that_saved_a_card_adds_it() -> None:
    intent = copy.deepcopy(RESOURCES["setup_intent"])
    intent.update(status="succeeded", payment_method="pm_123", customer="cus_123")
    parsed = stripe_events.parse(envelope("setup_intent.succeeded", intent))
    assert parsed.kind is ProviderEventKind.PAYMENT_METHOD_ADDED
    assert parsed.payment_method is not None
    assert parsed.payment_method.payment_method_id == "pm_123"


def test_a_zero_decimal_currency_keeps_its_amount() -> None:
    refund = copy.deepcopy(RESOURCES["refund"])
    refund.update(currency="jpy", amount=500)
    facts = stripe_events.parse(envelope("refund.created", refund)).refund
    assert facts is not None and (facts.amount, facts.currency) == (500, "JPY")


def test_a_status_tenure_does_not_know_is_acknowledged_and_ignored() -> None:
    dispute = copy.deepcopy(RESOURCES["dispute"])
    dispute["status"] = "some_future_status"
    assert (
        stripe_events.parse(envelope("charge.dispute.updated", dispute)).kind
        is ProviderEventKind.IGNORED
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2, 3]",
        b'{"id": "evt_1", "type": "payment_intent.succeeded"}',  # no created, no data
        b'{"id": "evt_1", "type": "x", "created": 1, "data": {"object": []}}',
        b'{"id": "evt_1", "type": "x", "created": NaN, "data": {"object": {}}}',
        b"\xff\xfe not utf-8",
        b"[" * 100_000,
    ],
)
def test_a_malformed_body_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedEventError):
        stripe_events.parse(body)


def test_a_handled_type_whose_object_has_no_id_is_malformed() -> None:
    intent = copy.deepcopy(RESOURCES["payment_intent"])
    del intent["id"]
    with pytest.raises(MalformedEventError, match="no id"):
        stripe_events.parse(envelope("payment_intent.succeeded", intent))


def with_created(created: Any) -> bytes:
    event = json.loads(envelope("refund.created", RESOURCES["refund"]))
    event["created"] = created
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    "created",
    [-1, -(10**12), 4102444800, 10**20, 2**63, 1.5, "\u0663", "\u00b2", "1_000", True, None, "x"],
)
def test_an_event_time_out_of_range_or_not_ascii_digits_is_malformed(created: Any) -> None:
    with pytest.raises(MalformedEventError, match="created is not a unix time"):
        stripe_events.parse(with_created(created))


@pytest.mark.parametrize("created", [0, 1, "1772323200", 4102444799])
def test_an_event_time_from_1970_to_2100_is_read(created: Any) -> None:
    parsed = stripe_events.parse(with_created(created))
    assert int(parsed.occurred_at.timestamp()) == int(created)


@pytest.mark.parametrize("amount", [-1, 10**15 + 1, 10**40, 1.5, "\u0663", "\u00b2", [], True])
def test_an_amount_that_is_not_a_whole_number_of_minor_units_is_malformed(amount: Any) -> None:
    refund = copy.deepcopy(RESOURCES["refund"])
    refund["amount"] = amount
    with pytest.raises(MalformedEventError, match="amount is not a whole number"):
        stripe_events.parse(envelope("refund.created", refund))


@pytest.mark.parametrize("currency", ["usdollar", "\u0663\u0663\u0663", 840, {"a": 1}, "u d"])
def test_a_currency_that_is_not_three_letters_is_malformed_without_echoing_it(
    currency: Any,
) -> None:
    dispute = copy.deepcopy(RESOURCES["dispute"])
    dispute["currency"] = currency
    with pytest.raises(MalformedEventError) as refused:
        stripe_events.parse(envelope("charge.dispute.created", dispute))
    assert refused.value.message == "the event's currency is not a three-letter code"


@pytest.mark.parametrize("event_id", ["e" * 256, "evt 1", "evt_\u0663", "", 7])
def test_an_event_id_that_cannot_be_a_key_is_malformed(event_id: Any) -> None:
    event = json.loads(envelope("refund.created", RESOURCES["refund"]))
    event["id"] = event_id
    with pytest.raises(MalformedEventError, match="id and type are required"):
        stripe_events.parse(json.dumps(event).encode())


@pytest.mark.parametrize("error", [[1], "card_declined", 3, {"decline_code": {"x": 1}}])
def test_a_last_payment_error_of_another_shape_is_read_without_a_code(error: Any) -> None:
    intent = copy.deepcopy(RESOURCES["payment_intent"])
    intent.update(status="requires_payment_method", last_payment_error=error)
    payment = stripe_events.parse(envelope("payment_intent.payment_failed", intent)).payment
    assert payment is not None and payment.decline_code is None


@pytest.mark.parametrize("attempt", ["\u0663", "\u00b2", "0", "10000", "-1", 2.0, "1_0"])
def test_metadata_that_is_not_an_attempt_number_is_no_hint(attempt: Any) -> None:
    intent = copy.deepcopy(RESOURCES["payment_intent"])
    intent.update(
        status="succeeded", metadata={"tenure_invoice_id": "in_1", "tenure_attempt": attempt}
    )
    payment = stripe_events.parse(envelope("payment_intent.succeeded", intent)).payment
    assert payment is not None and (payment.invoice_id, payment.attempt) == ("in_1", None)


def test_card_details_out_of_range_are_left_out() -> None:
    method = copy.deepcopy(RESOURCES["payment_method"])
    method["card"].update(
        exp_month=13, exp_year=10**30, last4="\u0663\u0663\u0663\u0663", brand="b" * 300
    )
    facts = stripe_events.parse(envelope("payment_method.attached", method)).payment_method
    assert facts is not None
    assert (facts.exp_month, facts.exp_year, facts.last4, facts.brand) == (None, None, None, None)


@pytest.mark.parametrize("listed", [5, "re_1", {"re_1": {}}, [1, "x", None]])
def test_a_charges_refund_list_of_another_shape_lists_no_refunds(listed: Any) -> None:
    charge = copy.deepcopy(RESOURCES["charge"])
    charge.update(amount_refunded=100, refunds={"data": listed})
    total = stripe_events.parse(envelope("charge.refunded", charge)).refund_total
    assert total is not None and (total.amount_refunded, total.refunds) == (100, ())


def test_a_charges_refund_total_names_the_customer_its_metadata_names() -> None:
    charge = copy.deepcopy(RESOURCES["charge"])
    charge.update(
        amount_refunded=100, metadata={"tenure_invoice_id": "in_1", "tenure_customer_id": "alice"}
    )
    total = stripe_events.parse(envelope("charge.refunded", charge)).refund_total
    assert total is not None and (total.invoice_id, total.customer_id) == ("in_1", "alice")
