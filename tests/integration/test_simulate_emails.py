"""`tenure simulate` sends real emails: into DIR/outbox, once each, by day where the customer
lives, in their language; and the renewal reminder looks right in a browser."""

import email
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tenure_local.browser import chromium_path
from tenure_local.cli.emails import screenshot_reminders
from tenure_local.runtime.outbox import audit
from tenure_local.simulator.scenario import parse
from tenure_local.simulator.simulate import Simulator
from tenure_local.stack.local_stack import LocalStack

ZONES = {"tokyo": "Asia/Tokyo", "moscow": "Europe/Moscow", "la": "America/Los_Angeles"}
LOCALES = {"tokyo": "en", "moscow": "ru", "la": "ar"}


def scenario() -> dict[str, Any]:
    return {
        "start": "2026-03-01T00:00:00Z",
        "until": "2026-07-05T00:00:00Z",
        "plans": [
            {
                "id": "basic",
                "name": "Basic",
                "amount": 1000,
                "currency": "USD",
                "interval": "month",
            },
        ],
        "customers": [
            {
                "id": who,
                "email": f"{who}@example.com",
                "name": who.title(),
                "timezone": zone,
                "locale": LOCALES[who],
                "card": "4242424242424242",
            }
            for who, zone in ZONES.items()
        ],
        "actions": [
            # 02:00 UTC: night in Los Angeles, 11:00 in Tokyo, 05:00 in Moscow.
            {
                "at": "2026-03-02T02:00:00Z",
                "do": "subscribe",
                "customer": who,
                "plan": "basic",
                "id": f"sub-{who}",
            }
            for who in ZONES
        ]
        + [
            {
                "at": "2026-05-10T00:00:00Z",
                "do": "cancel",
                "subscription": "sub-moscow",
                "at_period_end": True,
                "reason": "too_expensive",
            },
        ],
    }


@pytest.fixture(scope="module")
def outcome(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("emails") / "out"
    Simulator(parse(scenario()), out, measure_raw_speed=False, stack=local_stack).run()
    return out


def kinds_of(out: Path, who: str) -> list[tuple[str, datetime]]:
    found = []
    for path in sorted((out / "outbox").glob(f"*-{who}-*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        kind = path.stem.split(f"-{who}-", 1)[1]
        found.append((kind, message["Date"].datetime))
    return found


def test_no_email_is_sent_twice_or_at_night(outcome: Path) -> None:
    result = audit(outcome)
    assert result.emails > 0
    assert result.clean, (result.duplicates, result.at_night, result.unreadable)


def test_four_monthly_renewals_get_four_reminders_three_local_days_before(outcome: Path) -> None:
    for who in ("tokyo", "la"):
        zone = ZoneInfo(ZONES[who])
        reminders = [at for kind, at in kinds_of(outcome, who) if kind == "upcoming_renewal"]
        renewals = [datetime(2026, m, 2, 2, tzinfo=UTC) for m in (4, 5, 6, 7)]
        assert [r.astimezone(zone).date() for r in reminders] == [
            d.astimezone(zone).date() - timedelta(days=3) for d in renewals
        ], who
        assert all(9 <= r.astimezone(zone).hour < 20 for r in reminders)


def test_a_subscription_ending_at_period_end_gets_no_reminder_for_its_last_period(
    outcome: Path,
) -> None:
    sent = kinds_of(outcome, "moscow")
    reminders = [at for kind, at in sent if kind == "upcoming_renewal"]
    assert len(reminders) == 2  # before 2 April and 2 May; not before the end on 2 June
    assert [kind for kind, _ in sent].count("subscription_ended") == 1
    russian = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted((outcome / "outbox").glob("*-moscow-*.eml"))
    ]
    assert {m["Content-Language"] for m in russian} == {"ru"}


def test_the_renewal_reminder_screenshots_are_kept_with_the_report(outcome: Path) -> None:
    if chromium_path() is None:
        pytest.fail("Chromium is missing: `make browser` installs it")
    pngs = screenshot_reminders(outcome)
    assert sorted(p.name for p in pngs) == ["upcoming_renewal.ar.png", "upcoming_renewal.en.png"]
    for png in pngs:
        assert png.parent == outcome / "emails" and png.stat().st_size > 10_000
    html = (outcome / "emails" / "upcoming_renewal.ar.html").read_text()
    assert 'dir="rtl"' in html
