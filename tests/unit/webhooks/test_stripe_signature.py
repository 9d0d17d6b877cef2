"""Stripe-Signature: accepted or rejected as Stripe specifies (and as stripe-python checks)."""

import hashlib
import hmac

import pytest
import stripe

from tenure.webhooks import stripe_events
from tenure.webhooks.errors import SignatureError

BODY = b'{\n  "id": "evt_1",\n  "object": "event",\n  "type": "payment_intent.succeeded"\n}'
NOW = 1_772_323_200
SECRET = "whsec_current"


def digest(body: bytes, secret: str, t: int) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def verify(
    header: str | None, body: bytes = BODY, now: int = NOW, secrets: tuple[str, ...] = (SECRET,)
) -> None:
    headers = {} if header is None else {"stripe-signature": header}
    stripe_events.verify(body, headers, secrets, now)


def test_a_valid_signature_is_accepted() -> None:
    verify(f"t={NOW},v1={digest(BODY, SECRET, NOW)}")


def test_a_signature_made_with_another_secret_is_rejected() -> None:
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(f"t={NOW},v1={digest(BODY, 'whsec_someone_else', NOW)}")


def test_a_tampered_body_is_rejected() -> None:
    header = f"t={NOW},v1={digest(BODY, SECRET, NOW)}"
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(header, body=BODY.replace(b"succeeded", b"failed"))


def test_a_missing_header_is_rejected() -> None:
    with pytest.raises(SignatureError, match="missing Stripe-Signature"):
        verify(None)
    with pytest.raises(SignatureError, match="missing Stripe-Signature"):
        verify("")


def test_any_of_several_v1_signatures_may_match() -> None:
    good = digest(BODY, SECRET, NOW)
    verify(f"t={NOW},v1={'0' * 64},v1={good},v0={'f' * 64}")
    verify(f"t={NOW},v1={good},v1={'0' * 64}")


def test_during_a_rollover_both_secrets_are_accepted() -> None:
    both = ("whsec_new", "whsec_old")
    verify(f"t={NOW},v1={digest(BODY, 'whsec_old', NOW)}", secrets=both)
    verify(f"t={NOW},v1={digest(BODY, 'whsec_new', NOW)}", secrets=both)
    with pytest.raises(SignatureError):
        verify(f"t={NOW},v1={digest(BODY, 'whsec_retired', NOW)}", secrets=both)


@pytest.mark.parametrize("age", [0, 1, 299, 300])
def test_a_timestamp_within_the_tolerance_is_accepted(age: int) -> None:
    t = NOW - age
    verify(f"t={t},v1={digest(BODY, SECRET, t)}")


@pytest.mark.parametrize("age", [301, 3600, 86_400 * 30])
def test_an_old_timestamp_is_rejected_even_with_a_valid_signature(age: int) -> None:
    t = NOW - age
    with pytest.raises(SignatureError, match="tolerance"):
        verify(f"t={t},v1={digest(BODY, SECRET, t)}")


@pytest.mark.parametrize("ahead", [301, 3600])
def test_a_timestamp_from_the_future_beyond_the_tolerance_is_rejected(ahead: int) -> None:
    t = NOW + ahead
    with pytest.raises(SignatureError, match="tolerance"):
        verify(f"t={t},v1={digest(BODY, SECRET, t)}")


def test_a_timestamp_slightly_ahead_is_accepted() -> None:
    t = NOW + 120  # clocks drift: within the tolerance either way
    verify(f"t={t},v1={digest(BODY, SECRET, t)}")


def test_the_signed_timestamp_cannot_be_swapped_for_a_fresh_one() -> None:
    old = NOW - 3600
    stolen = digest(BODY, SECRET, old)
    with pytest.raises(SignatureError, match="no signature matches"):
        verify(f"t={NOW},v1={stolen}")


@pytest.mark.parametrize(
    "header",
    [
        "v1=abc",  # no timestamp
        "t=,v1=abc",
        "t=12x,v1=abc",
        f"t={NOW}",  # no v1
        f"t={NOW},v0={'a' * 64}",  # only a scheme Tenure does not accept
        "garbage",
        "t=" + "9" * 5000,
    ],
)
def test_a_malformed_header_is_rejected(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(header)


@pytest.mark.parametrize(
    "timestamp",
    [
        "\u0663" * 10,  # Arabic-Indic digits: int() reads them, Stripe never sends them
        "\u00b2",  # a superscript two: str.isdigit() says yes, int() raises
        "1_772_323_200",  # int() takes underscores
        "-1",
        "+1772323200",
        " 1772323200",
        "1772323200.5",
        "1e9",
        "9" * 16,  # a 16-digit time is no time
    ],
)
def test_a_timestamp_that_is_not_ascii_digits_is_refused_before_any_hmac(timestamp: str) -> None:
    with pytest.raises(SignatureError, match="no valid timestamp"):
        verify(f"t={timestamp},v1={digest(BODY, SECRET, NOW)}")


def test_a_header_with_two_timestamps_is_refused_even_if_one_is_signed() -> None:
    good = digest(BODY, SECRET, NOW)
    with pytest.raises(SignatureError, match="more than one timestamp"):
        verify(f"t={NOW},v1={good},t={NOW}")


def test_empty_parts_and_parts_without_an_equals_sign_are_skipped() -> None:
    verify(f",,t={NOW},,junk,=,v1=,v1={digest(BODY, SECRET, NOW)},")


def test_no_secret_matches_nothing() -> None:
    with pytest.raises(SignatureError):
        verify(f"t={NOW},v1={digest(BODY, SECRET, NOW)}", secrets=())


def test_headers_signed_by_stripes_own_library_are_accepted_and_ours_pass_its_check() -> None:
    payload = BODY.decode()
    theirs = stripe.WebhookSignature.generate_signature_header(payload, SECRET, timestamp=NOW)
    verify(theirs)
    ours = stripe_events.sign(BODY, SECRET, NOW)["stripe-signature"]
    assert stripe.WebhookSignature.verify_header(payload, ours, SECRET, tolerance=None)


def test_the_sandboxs_signed_deliveries_are_accepted() -> None:
    from tenure.payments.stripe_objects import signed_delivery

    event = {"id": "evt_9", "object": "event", "type": "customer.created", "created": NOW}
    body, header = signed_delivery(event, SECRET)
    verify(header, body=body)
