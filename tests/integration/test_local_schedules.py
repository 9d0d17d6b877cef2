"""`tenure serve`'s schedules: a tick runs the renewals and, each new hour, the reminders,
through the real handlers; sent emails land in the outbox."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tenure import bootstrap
from tenure.notify.timing import QuietHours, next_slot
from tenure_local.runtime import functions
from tenure_local.stack.local_stack import LocalStack
from tenure_local.stack.schedules import LocalSchedules


def zone_at_noon(now: datetime) -> str:
    """An IANA zone where it is about midday now, so an email is due within the hour."""
    offset = ((12 - now.hour + 12) % 24) - 12  # hours east of UTC, in -12..11
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # POSIX signs are inverted


@pytest.fixture
def outbox(
    local_stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    local_stack.reset_table()
    folder = tmp_path / "outbox"
    monkeypatch.setenv("TENURE_OUTBOX_DIR", str(folder))
    bootstrap.use(None)
    yield folder
    bootstrap.use(None)


def api(method: str, path: str, body: Any) -> dict[str, Any]:
    token = bootstrap.settings().api_token
    event = functions.http_event(method, path, body, {"authorization": f"Bearer {token}"})
    result = functions.invoke("api", event)
    assert result["statusCode"] < 300, result
    return dict(json.loads(result["body"]))


def test_a_tick_in_a_new_hour_sends_the_due_emails_into_the_outbox(
    local_stack: LocalStack, outbox: Path
) -> None:
    now = datetime.now(UTC)
    zone = zone_at_noon(now)
    api(
        "POST", "/v1/plans", {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}
    )
    api("POST", "/v1/customers", {"id": "ann", "email": "ann@example.com", "timezone": zone})
    api(
        "POST",
        "/v1/customers/ann/payment-methods",
        {"payment_method": "pm_card_visa", "default": True},
    )
    api("POST", "/v1/subscriptions", {"id": "sub-ann", "customer": "ann", "plan": "basic"})

    schedules = LocalSchedules(local_stack.client("sqs"), local_stack.env["RENEWAL_QUEUE_URL"])
    due = next_slot(now, zone, QuietHours())
    ran = schedules.tick(due)
    assert ran["reminders"]["sent"] == 1, ran
    (receipt,) = outbox.glob("*-ann-receipt.eml")
    assert b"ann@example.com" in receipt.read_bytes()
    again = schedules.tick(due)  # the same hour: the reminders do not run again
    assert "reminders" not in again
