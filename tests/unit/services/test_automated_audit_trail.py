"""Every automated change about a customer is found, an automated actor is listed across the
table, and a portal link is named in the entries of what was done through it
(docs/operations.md, "Automated changes")."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.domain.audit import (
    SYSTEM_PORTAL,
    SYSTEM_RENEWALS,
    SYSTEM_WEBHOOKS,
    AuditAction,
    link_name,
    new_entry,
    unnamed_days,
)
from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.ports import Commit
from tenure.services import privacy, subscriptions, timeline

CREDIT = EventType.CREDIT_GRANTED


def listing(
    shop: Any,
    actor: str,
    *,
    limit: int = 100,
    after: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> tuple[list[Any], str | None]:
    return timeline.audit_entries(
        shop.svc, entity=None, actor=actor, limit=limit, after=after, since=since, until=until
    )


def every_page(shop: Any, actor: str, limit: int, since: str) -> list[Any]:
    seen: list[Any] = []
    after = None
    while True:
        page, after = listing(shop, actor, limit=limit, after=after, since=since)
        seen += page
        if after is None:
            return seen


def automated_commit(
    shop: Any, at: datetime, *events: DomainEvent, actor: str = SYSTEM_RENEWALS
) -> None:
    shop.clock.set(at)
    with shop.svc.acting_as(actor):
        shop.svc.commit(Commit(events=list(events)))


def test_a_pause_made_on_a_page_on_a_day_no_record_names_is_in_the_trail_and_timeline(
    paid_shop: Any,
) -> None:
    # Given alice, who paid on 2 March, and no emails (one sent that day would name it)
    paid_shop.svc.reminders = None
    start = paid_shop.sub().current_period_start
    # When she pauses on her page a week later: no invoice, no attempt, no email that day
    paid_shop.clock.set(start + timedelta(days=7))
    with paid_shop.svc.acting_as(SYSTEM_PORTAL, via="manage_subscription lnk_0123456789ab"):
        subscriptions.pause(paid_shop.svc, "sub-1", until=start + timedelta(days=20))
    # Then the subscription's trail and her timeline show it, as the portal's work
    trail, _ = timeline.audit_entries(
        paid_shop.svc, entity="sub-1", actor=None, limit=100, after=None
    )
    assert [(e.actor, e.at) for e in trail] == [(SYSTEM_PORTAL, start + timedelta(days=7))]
    assert trail[0].after["events"] == "SubscriptionPaused"
    items, _ = timeline.customer_timeline(paid_shop.svc, "alice", limit=200)
    [shown] = [i for i in items if i.type == "audit"]
    assert shown.id == trail[0].id
    assert shown.detail["link"] == "manage_subscription lnk_0123456789ab"


def test_a_renewal_keeps_no_day_its_own_records_do_not_name(paid_shop: Any) -> None:
    # When the charger renews alice (its invoice created, charged and paid that day)
    paid_shop.run_due(until=paid_shop.sub().current_period_end)
    # Then nothing more was kept for the trail: the renewal costs no write more
    assert paid_shop.repo.activity_days("alice", 100) == []
    renewed = [
        e.actor
        for e in timeline.audit_entries(
            paid_shop.svc, entity="sub-1", actor=None, limit=100, after=None
        )[0]
    ]
    assert renewed == [SYSTEM_RENEWALS]


def test_only_the_days_a_commits_own_invoices_and_attempts_do_not_name_are_kept() -> None:
    at = datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)
    late = at + timedelta(seconds=2)  # the next day
    events = [
        DomainEvent(CREDIT, "sub-1", "alice", at, 0),
        DomainEvent(CREDIT, "sub-1", "alice", late, 0),
        DomainEvent(EventType.PLAN_CREATED, "basic", None, late, 0),  # nobody's
        DomainEvent(CREDIT, "sub-2", "bob", late, 0),
    ]
    assert unnamed_days(events, [], []) == [
        ("alice", "2026-03-02"),
        ("alice", "2026-03-03"),
        ("bob", "2026-03-03"),
    ]


def test_a_kept_day_is_read_and_an_automated_change_of_no_record_is_found(paid_shop: Any) -> None:
    # Given an automated change of alice's on a day none of her records names
    at = datetime(2026, 3, 20, 12, tzinfo=UTC)
    automated_commit(paid_shop, at, DomainEvent(CREDIT, "sub-1", "alice", at, 0))
    # Then the day was kept for her, and her trail finds the change
    assert paid_shop.repo.activity_days("alice", 100) == ["2026-03-20"]
    [entry] = timeline.audit_entries(
        paid_shop.svc, entity="sub-1", actor=SYSTEM_RENEWALS, limit=10, after=None
    )[0]
    assert entry.at == at and entry.after["events"] == "CreditGranted"


def test_an_automated_actor_is_listed_across_the_table_newest_first(paid_shop: Any) -> None:
    # Given renewals' work on three days for two customers, and a webhook's on one
    days = [datetime(2026, 3, d, 9, tzinfo=UTC) for d in (3, 5, 9)]
    for n, at in enumerate(days):
        customer = "alice" if n % 2 == 0 else "bob"
        automated_commit(paid_shop, at, DomainEvent(CREDIT, f"sub-r{n}", customer, at, 0))
    hooked = datetime(2026, 3, 6, tzinfo=UTC)
    automated_commit(
        paid_shop, hooked, DomainEvent(CREDIT, "sub-9", "bob", hooked, 0), actor=SYSTEM_WEBHOOKS
    )
    paid_shop.clock.set(datetime(2026, 3, 10, tzinfo=UTC))
    # When system:renewals is listed with no entity
    page, cursor = listing(paid_shop, SYSTEM_RENEWALS)
    # Then its own changes come, newest first, and nothing of the webhooks'
    assert [(e.at, e.entity) for e in page] == [
        (days[2], "sub-r2"),
        (days[1], "sub-r1"),
        (days[0], "sub-r0"),
    ]
    assert all(e.actor == SYSTEM_RENEWALS for e in page) and cursor is None
    assert [e.entity for e in listing(paid_shop, SYSTEM_WEBHOOKS)[0]] == ["sub-9"]


def test_the_listing_pages_with_a_cursor_each_entry_once(paid_shop: Any) -> None:
    at = datetime(2026, 3, 4, 9, tzinfo=UTC)
    for n in range(7):
        moment = at + timedelta(hours=n // 2)  # two changes share most moments
        automated_commit(paid_shop, moment, DomainEvent(CREDIT, f"sub-x{n}", "alice", moment, 0))
    paid_shop.clock.set(at + timedelta(days=1))
    whole, _ = listing(paid_shop, SYSTEM_RENEWALS, since="2026-03-04")
    paged = every_page(paid_shop, SYSTEM_RENEWALS, 2, since="2026-03-04")
    assert [e.id for e in paged] == [e.id for e in whole]
    assert len(whole) == 7
    assert [e.order for e in whole] == sorted((e.order for e in whole), reverse=True)


def test_the_listing_looks_back_a_month_unless_told_and_keeps_to_its_window(
    paid_shop: Any,
) -> None:
    old = datetime(2026, 1, 15, tzinfo=UTC)
    recent = datetime(2026, 3, 10, tzinfo=UTC)
    automated_commit(paid_shop, old, DomainEvent(CREDIT, "sub-old", "alice", old, 0))
    automated_commit(paid_shop, recent, DomainEvent(CREDIT, "sub-new", "alice", recent, 0))
    paid_shop.clock.set(datetime(2026, 3, 20, tzinfo=UTC))
    assert [e.entity for e in listing(paid_shop, SYSTEM_RENEWALS)[0]] == ["sub-new"]
    window = listing(paid_shop, SYSTEM_RENEWALS, since="2026-01-01", until="2026-02-01T00:00:00Z")
    assert [e.entity for e in window[0]] == ["sub-old"]


def test_an_automated_actors_stored_entries_are_listed_with_its_changes(paid_shop: Any) -> None:
    at = datetime(2026, 3, 12, tzinfo=UTC)
    stored = new_entry(
        at=at,
        actor=SYSTEM_RENEWALS,
        action=AuditAction.ERASE,
        entity="alice",
        customer_id="alice",
        note=None,
        before={},
        after={},
    )
    paid_shop.svc.commit(Commit(audit=[stored]))
    later = at + timedelta(hours=1)
    automated_commit(paid_shop, later, DomainEvent(CREDIT, "sub-z", "alice", later, 0))
    paid_shop.clock.set(at + timedelta(days=1))
    page, _ = listing(paid_shop, SYSTEM_RENEWALS, since="2026-03-12")
    assert [e.action for e in page] == [AuditAction.SYSTEM_CHANGE, AuditAction.ERASE]


@pytest.mark.parametrize(
    ("actor", "window", "cursor", "field"),
    [
        ("system:nobody", {}, None, "actor"),
        ("Support Anna", {}, None, "actor"),
        (SYSTEM_RENEWALS, {}, "2026-03-02T09:00:00Z#x", "cursor"),
        (SYSTEM_RENEWALS, {}, "2026-13-45T09:00:00.000000Z#aud_1", "cursor"),
        (SYSTEM_RENEWALS, {"since": "yesterday"}, None, "since"),
        (SYSTEM_RENEWALS, {"since": "2026-03-05", "until": "2026-03-01"}, None, "since"),
        (SYSTEM_RENEWALS, {"since": "2024-01-01", "until": "2026-03-01"}, None, "since"),
    ],
)
def test_a_bad_actor_cursor_or_window_is_refused_naming_its_field(
    paid_shop: Any, actor: str, window: dict[str, str], cursor: str | None, field: str
) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        listing(
            paid_shop, actor, after=cursor, since=window.get("since"), until=window.get("until")
        )
    assert refused.value.field == field


def test_a_window_with_an_entity_is_refused(paid_shop: Any) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        timeline.audit_entries(
            paid_shop.svc, entity="sub-1", actor=None, limit=5, after=None, since="2026-03-01"
        )
    assert refused.value.field == "since"


def test_an_unknown_system_actor_with_an_entity_is_refused_too(paid_shop: Any) -> None:
    with pytest.raises(ValidationFailedError):
        timeline.audit_entries(
            paid_shop.svc, entity="sub-1", actor="system:nobody", limit=5, after=None
        )


def test_a_change_made_through_a_portal_link_names_the_link_never_its_token(
    paid_shop: Any,
) -> None:
    token = "v1.eyJjIjoiYWxpY2UifQ.c2lnbmF0dXJl"
    via = link_name("manage_subscription", token)
    at = datetime(2026, 3, 21, tzinfo=UTC)
    paid_shop.clock.set(at)
    with paid_shop.svc.acting_as(SYSTEM_PORTAL, via=via):
        paid_shop.svc.commit(Commit(events=[DomainEvent(CREDIT, "sub-1", "alice", at, 0)]))
    [entry] = timeline.audit_entries(
        paid_shop.svc, entity="sub-1", actor=SYSTEM_PORTAL, limit=5, after=None
    )[0]
    assert entry.after["link"] == via
    assert str(via).startswith("manage_subscription lnk_") and token not in str(entry.after)
    # The same link is named the same way each time; another link differently
    assert link_name("manage_subscription", token) == via
    assert link_name("manage_subscription", token + "x") != via


def test_a_commit_outside_the_portal_names_no_link(paid_shop: Any) -> None:
    at = datetime(2026, 3, 21, tzinfo=UTC)
    automated_commit(paid_shop, at, DomainEvent(CREDIT, "sub-1", "alice", at, 0))
    [entry] = timeline.audit_entries(
        paid_shop.svc, entity="sub-1", actor=SYSTEM_RENEWALS, limit=5, after=None
    )[0]
    assert "link" not in entry.after


def test_an_export_finds_a_change_made_on_a_day_only_a_kept_day_names(paid_shop: Any) -> None:
    # Given alice, who paused on her page a week after paying, on a day no record of hers names
    paid_shop.svc.reminders = None
    start = paid_shop.sub().current_period_start
    paid_shop.clock.set(start + timedelta(days=7))
    with paid_shop.svc.acting_as(SYSTEM_PORTAL, via="manage_subscription lnk_0123456789ab"):
        subscriptions.pause(paid_shop.svc, "sub-1", until=start + timedelta(days=20))
    # When her records are gathered, as an export or an erasure gathers them
    found = privacy.customer_records(paid_shop.svc, "alice")
    # Then the pause is among her events: the kept day is read as the timeline reads it
    paused_on = (start + timedelta(days=7)).strftime("%Y-%m-%d")
    assert paused_on in found.event_days
    assert "SubscriptionPaused" in [e["type"] for e in found.events]
