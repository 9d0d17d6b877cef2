"""The automated trail on both stores (the fake and DynamoDB Local): the days kept for changes
no record names, the portal link beside the source, and an automated actor's listing across
the table, page after page, whatever the read budget (docs/operations.md)."""

from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.audit import (
    SYSTEM_DUNNING,
    SYSTEM_PORTAL,
    SYSTEM_RENEWALS,
    AuditAction,
    AuditEntry,
    new_entry,
)
from tenure.domain.events import DomainEvent, EventType
from tenure.fakes import FixedClock
from tenure.ports import Commit, Repository
from tenure.services import audit_listing, catalog, timeline
from tenure.services.context import Services
from tenure.store import history

T = datetime(2026, 3, 2, 9, tzinfo=UTC)
CREDIT = EventType.CREDIT_GRANTED


def credit(entity: str, customer: str, at: datetime, seq: int = 0) -> DomainEvent:
    return DomainEvent(CREDIT, entity, customer, at, seq)


def test_an_automated_commit_keeps_the_days_its_records_do_not_name(repo: Repository) -> None:
    later = T + timedelta(days=3)
    repo.commit(Commit(events=[credit("sub-1", "alice", T)], source=SYSTEM_RENEWALS))
    repo.commit(Commit(events=[credit("sub-1", "alice", later)], source=SYSTEM_RENEWALS))
    repo.commit(Commit(events=[credit("sub-1", "alice", later, 1)], source=SYSTEM_RENEWALS))
    repo.commit(Commit(events=[credit("sub-2", "bob", T + timedelta(days=9))]))  # a person's
    assert repo.activity_days("alice", 10) == ["2026-03-02", "2026-03-05"]
    assert repo.activity_days("alice", 1) == ["2026-03-05"]  # the newest
    assert repo.activity_days("bob", 10) == []


def test_a_change_on_a_day_no_record_names_is_in_the_trail_and_timeline(
    repo: Repository,
) -> None:
    # Given alice, created on 2 March, and a change she made on a page a week later that
    # wrote no invoice, attempt or email
    svc = Services(repo=repo, clock=FixedClock(T), reminders=None)
    catalog.create_customer(svc, "alice", "alice@example.com")
    later = T + timedelta(days=7)
    svc.clock = FixedClock(later)
    with svc.acting_as(SYSTEM_PORTAL, via="update_card lnk_0123456789ab"):
        svc.commit(Commit(events=[credit("alice", "alice", later)]))
    # Then her trail and her timeline show it, naming the link
    [entry] = timeline.audit_entries(svc, entity="alice", actor=None, limit=10, after=None)[0]
    assert (entry.actor, entry.at, entry.after["link"]) == (
        SYSTEM_PORTAL,
        later,
        "update_card lnk_0123456789ab",
    )
    items, _ = timeline.customer_timeline(svc, "alice", limit=50)
    assert [i.id for i in items if i.type == "audit"] == [entry.id]


def test_what_an_actor_acted_through_is_kept_beside_the_source(repo: Repository) -> None:
    via = "update_card lnk_0123456789ab"
    repo.commit(Commit(events=[credit("sub-1", "alice", T)], source=SYSTEM_PORTAL, via=via))
    repo.commit(Commit(events=[credit("sub-1", "alice", T, 1)], source=SYSTEM_RENEWALS))
    found = repo.sourced_events("alice", ["2026-03-02"])
    assert [(s, v) for _, s, v in found] == [(SYSTEM_PORTAL, via), (SYSTEM_RENEWALS, None)]
    assert "via" not in found[0][0]  # beside the event, never in its public form


def test_an_actors_events_are_read_newest_first_within_its_window(repo: Repository) -> None:
    for n in range(4):
        at = T + timedelta(days=n)
        repo.commit(Commit(events=[credit(f"sub-{n}", "alice", at)], source=SYSTEM_RENEWALS))
    repo.commit(Commit(events=[credit("sub-9", "bob", T)], source=SYSTEM_DUNNING))
    found, rest = repo.automated_events(
        SYSTEM_RENEWALS, upto=T + timedelta(days=2), since=T + timedelta(days=1), budget=1000
    )
    assert [e["entity_id"] for e, _, _ in found] == ["sub-2", "sub-1"] and rest is None


def test_the_stored_entries_of_an_actor_come_newest_first_below_a_bound(repo: Repository) -> None:
    entries = [_erasure(T + timedelta(hours=n), f"c{n}") for n in range(4)]
    repo.commit(Commit(audit=entries))
    found = repo.list_actor_audit_newest(
        SYSTEM_RENEWALS, before=entries[3].order, since=T + timedelta(hours=1), limit=5
    )
    assert [e.id for e in found] == [entries[2].id, entries[1].id]
    assert len(repo.list_actor_audit_newest(SYSTEM_RENEWALS, before="~", since=T, limit=2)) == 2


@pytest.mark.parametrize("budget", [1, 3, 1000])
def test_the_listing_gives_each_entry_once_whatever_the_read_budget(
    repo: Repository, budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small pages of DynamoDB reads, so a small budget ends a page inside a day and a moment
    monkeypatch.setattr(history, "AUTOMATED_QUERY_PAGE", 2)
    monkeypatch.setattr(audit_listing, "READ_BUDGET", budget)
    # Given the renewals' work over three days, two commits of one moment about one invoice
    # (a claim and its settlement: one entry), other actors' work between, a stored entry
    svc = Services(repo=repo, clock=FixedClock(T + timedelta(days=4)))
    for n in range(9):
        at = T + timedelta(hours=7 * n)
        svc.repo.commit(Commit(events=[credit(f"sub-{n}", "alice", at)], source=SYSTEM_RENEWALS))
        svc.repo.commit(Commit(events=[credit(f"in-{n}", "alice", at)], source=SYSTEM_RENEWALS))
        svc.repo.commit(Commit(events=[credit(f"in-{n}", "alice", at, 1)], source=SYSTEM_RENEWALS))
        svc.repo.commit(Commit(events=[credit(f"d-{n}", "bob", at)], source=SYSTEM_DUNNING))
    svc.repo.commit(Commit(audit=[_erasure(T + timedelta(hours=30), "carol")]))
    # When system:renewals is read three entries a page
    seen: list[AuditEntry] = []
    after = None
    pages = 0
    while True:
        page, after = timeline.audit_entries(
            svc, entity=None, actor=SYSTEM_RENEWALS, limit=3, after=after, since="2026-03-01"
        )
        seen += page
        pages += 1
        assert pages < 100
        if after is None:
            break
    # Then each entry came once, newest first: 9 subscriptions, 9 invoices, the erasure
    assert len(seen) == len({e.id for e in seen}) == 19
    assert [e.order for e in seen] == sorted((e.order for e in seen), reverse=True)
    invoice = [e for e in seen if e.entity == "in-4"]
    assert len(invoice) == 1 and invoice[0].after["events"] == "CreditGranted"
    assert {e.actor for e in seen} == {SYSTEM_RENEWALS}


def _erasure(at: datetime, customer: str) -> AuditEntry:
    return new_entry(
        at=at,
        actor=SYSTEM_RENEWALS,
        action=AuditAction.ERASE,
        entity=customer,
        customer_id=customer,
        note=None,
        before={},
        after={},
    )
