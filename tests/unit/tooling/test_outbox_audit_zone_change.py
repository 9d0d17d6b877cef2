"""`tenure emails audit`: an email is judged by the hour in its customer's zone, and the
outputs hold only the customer's last zone. An email sent before the zone changed is not
judged by the later zone (which would call a right hour wrong), and is counted apart."""

import json
from pathlib import Path

from typer.testing import CliRunner

from tenure_local.cli.main import app
from tenure_local.runtime.outbox import audit

# 06:00 UTC: 09:30 in Tehran (the zone the customer had then), 20:00 in Kiritimati (later).
SENT = "Sun, 25 Apr 2027 06:00:00 +0000"


def write_run(folder: Path, *, changed_at: str | None) -> Path:
    outbox = folder / "outbox"
    outbox.mkdir(parents=True)
    (outbox / "20270425T060000Z-ar-upcoming_renewal.eml").write_text(
        f"From: a@example.com\nTo: f@example.com\nDate: {SENT}\n"
        "X-Tenure-Notice: s-ar:upcoming_renewal:2027-04-28T01:30:00Z:3\n"
        "Content-Language: ar\nContent-Type: text/plain\n\nhello\n"
    )
    state = {"customers": [{"id": "ar", "timezone": "Pacific/Kiritimati"}]}
    (folder / "state.json").write_text(json.dumps(state))
    events = []
    if changed_at is not None:
        data = {"fields": ["locale", "timezone"]}
        events.append(
            {"type": "CustomerUpdated", "entity_id": "ar", "occurred_at": changed_at, "data": data}
        )
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return folder


def test_an_email_sent_before_the_zone_changed_is_not_judged_by_the_later_zone(
    tmp_path: Path,
) -> None:
    result = audit(write_run(tmp_path, changed_at="2027-05-04T00:00:00Z"))

    assert result.clean and result.at_night == [] and result.before_zone_change == 1
    done = CliRunner().invoke(app, ["emails", "audit", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "1 email(s) sent before their customer's time zone changed" in done.output


def test_without_a_zone_change_the_same_hour_is_judged_in_the_customers_zone(
    tmp_path: Path,
) -> None:
    result = audit(write_run(tmp_path, changed_at=None))

    assert result.at_night == [
        "20270425T060000Z-ar-upcoming_renewal.eml: 2027-04-25 20:00 Pacific/Kiritimati"
    ]
    assert result.before_zone_change == 0


def test_an_email_sent_after_the_zone_changed_is_judged_in_the_new_zone(tmp_path: Path) -> None:
    result = audit(write_run(tmp_path, changed_at="2027-04-20T00:00:00Z"))

    assert len(result.at_night) == 1 and result.before_zone_change == 0
