"""Quiet hours: every send time is an hourly run inside 09:00–20:00 where the customer is."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.notify.policy import ReminderPolicy, parse_leads
from tenure.notify.timing import QuietHours, last_slot_by, next_slot, slot_before, slots_on

HOURS = QuietHours()
ZONES = ["UTC", "Asia/Tokyo", "Europe/Moscow", "America/Los_Angeles", "Asia/Kolkata"]


def local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def test_an_event_at_night_waits_for_nine_in_the_morning_local() -> None:
    # 23:30 in Tokyo is 14:30 UTC; the next slot is 09:00 Tokyo = 00:00 UTC next day.
    at = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    slot = next_slot(at, "Asia/Tokyo", HOURS)
    assert slot == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert local(slot, "Asia/Tokyo").hour == 9


def test_an_event_inside_the_window_goes_on_the_next_hourly_run() -> None:
    at = datetime(2026, 3, 2, 10, 20, tzinfo=UTC)
    assert next_slot(at, "UTC", HOURS) == datetime(2026, 3, 2, 11, tzinfo=UTC)
    on_the_hour = datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert next_slot(on_the_hour, "UTC", HOURS) == on_the_hour


def test_half_hour_zones_get_the_runs_that_land_inside_their_window() -> None:
    slots = slots_on(datetime(2026, 3, 2).date(), "Asia/Kolkata", HOURS)
    assert [local(s, "Asia/Kolkata").strftime("%H:%M") for s in slots][:2] == ["09:30", "10:30"]
    assert local(slots[-1], "Asia/Kolkata").strftime("%H:%M") == "19:30"


def test_a_reminder_three_days_before_keeps_the_local_time_of_day_when_it_is_decent() -> None:
    renews = datetime(2026, 4, 2, 6, 0, tzinfo=UTC)  # 15:00 in Tokyo
    slot = slot_before(renews, 3, "Asia/Tokyo", HOURS, not_before=renews - timedelta(days=30))
    assert slot is not None
    assert local(slot, "Asia/Tokyo").date() == local(renews, "Asia/Tokyo").date() - timedelta(3)
    assert local(slot, "Asia/Tokyo").hour == 15


def test_a_reminder_for_a_night_renewal_moves_within_its_day() -> None:
    renews = datetime(2026, 4, 2, 3, 0, tzinfo=UTC)  # 20:00 the day before in Los Angeles
    slot = slot_before(renews, 3, "America/Los_Angeles", HOURS, renews - timedelta(days=30))
    assert slot is not None
    there = local(slot, "America/Los_Angeles")
    assert there.date() == local(renews, "America/Los_Angeles").date() - timedelta(days=3)
    assert there.hour == 19  # the latest slot of that day, not the next morning


def test_a_reminder_whose_day_has_passed_is_not_planned() -> None:
    renews = datetime(2026, 4, 2, 12, tzinfo=UTC)
    assert slot_before(renews, 3, "UTC", HOURS, not_before=renews - timedelta(days=1)) is None


def test_a_reminder_planned_on_its_own_day_goes_at_the_next_slot() -> None:
    renews = datetime(2026, 4, 5, 8, tzinfo=UTC)  # the reminder's day is 2 April
    planned = datetime(2026, 4, 2, 12, 10, tzinfo=UTC)
    assert slot_before(renews, 3, "UTC", HOURS, planned) == datetime(2026, 4, 2, 13, tzinfo=UTC)


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1)),
    st.sampled_from(ZONES),
    st.integers(min_value=1, max_value=30),
)
def test_every_slot_is_on_the_hour_and_inside_the_window(
    naive: datetime, zone: str, days: int
) -> None:
    moment = naive.replace(tzinfo=UTC)
    for slot in (
        next_slot(moment, zone, HOURS),
        slot_before(moment, days, zone, HOURS, moment - timedelta(days=60)),
    ):
        assert slot is not None
        assert slot.minute == slot.second == 0
        assert 9 <= local(slot, zone).hour < 20


def test_lead_days_follow_the_billing_period() -> None:
    policy = ReminderPolicy()
    assert policy.renewal_leads(timedelta(days=7)) == (3,)
    assert policy.renewal_leads(timedelta(days=31)) == (3,)
    assert policy.renewal_leads(timedelta(days=91)) == (7,)
    assert policy.renewal_leads(timedelta(days=181)) == (30, 7)
    assert policy.renewal_leads(timedelta(days=365)) == (30, 7)
    assert policy.renewal_leads(timedelta(days=1)) == ()


def test_lead_days_can_be_configured_and_bad_settings_are_refused() -> None:
    assert parse_leads("month=5,year=60/14")["year"] == (60, 14)
    assert parse_leads("month=5")["month"] == (5,)
    with pytest.raises(ValueError, match="unknown plan interval"):
        parse_leads("fortnight=3")
    with pytest.raises(ValueError, match="whole days"):
        parse_leads("month=three")
    with pytest.raises(ValueError, match="positive"):
        parse_leads("month=0")


def test_the_last_slot_by_a_moment_at_night_is_the_evenings_last_run() -> None:
    # 03:10 in Kolkata on 5 March is 21:40 UTC on the 4th; the last run inside the window
    # before it is 19:30 Kolkata (14:00 UTC).
    latest = datetime(2026, 3, 4, 21, 40, tzinfo=UTC)
    slot = last_slot_by(latest, "Asia/Kolkata", HOURS, not_before=latest - timedelta(days=2))
    assert slot == datetime(2026, 3, 4, 14, tzinfo=UTC)
    assert local(slot, "Asia/Kolkata").hour == 19


def test_no_last_slot_when_the_window_closed_before_the_earliest_allowed() -> None:
    latest = datetime(2026, 3, 4, 21, 40, tzinfo=UTC)
    earliest = latest - timedelta(hours=5)
    assert last_slot_by(latest, "Asia/Kolkata", HOURS, not_before=earliest) is None


@given(
    latest=st.datetimes(datetime(2026, 1, 1), datetime(2027, 1, 1)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
    zone=st.sampled_from(ZONES),
)
def test_the_last_slot_by_is_an_hourly_run_in_the_window_no_later_than_asked(
    latest: datetime, zone: str
) -> None:
    slot = last_slot_by(latest, zone, HOURS, not_before=latest - timedelta(days=2))
    assert slot is not None and slot <= latest
    assert slot.minute == 0 and HOURS.allows(slot, zone)
    assert next_slot(slot + timedelta(minutes=1), zone, HOURS) > latest or slot == latest


def test_the_slots_of_a_day_are_the_callers_own_though_worked_out_once() -> None:
    day = datetime(2026, 3, 2).date()
    first = slots_on(day, "Europe/Berlin", HOURS)
    expected = list(first)
    first.clear()  # a caller changing its list changes nobody else's
    assert slots_on(day, "Europe/Berlin", HOURS) == expected
    assert len(expected) == HOURS.end - HOURS.start
    assert slots_on(day, "Europe/Berlin", QuietHours(start=10, end=12)) == expected[1:3]
