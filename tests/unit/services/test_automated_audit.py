"""Automated changes are attributable without an item more: renewals, dunning and provider
events store their actor as the source of the events they commit, and the audit trail and
the timeline read them back from those events (docs/operations.md)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tenure.domain.audit import (
    SYSTEM_DUNNING,
    SYSTEM_RENEWALS,
    SYSTEM_WEBHOOKS,
    AuditAction,
    Sourced,
    automated_entries,
)
from tenure.domain.events import DomainEvent, EventType
from tenure.ports import Commit
from tenure.services import operator_actions as ops
from tenure.services import subscriptions, timeline

INSUFFICIENT_FUNDS = "4000000000009995"
T = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _event(kind: EventType, entity: str, customer: str | None, seq: int = 0) -> dict[str, Any]:
    return DomainEvent(kind, entity, customer, T, seq).to_dict()


def entries_of(shop: Any, entity: str, actor: str | None = None) -> list[Any]:
    page, cursor = timeline.audit_entries(
        shop.svc, entity=entity, actor=actor, limit=100, after=None
    )
    assert cursor is None
    return page


def test_a_renewal_is_listed_as_the_renewals_work_and_stores_no_entry(paid_shop: Any) -> None:
    # Given alice's first month paid through the API (a caller, not an automated actor)
    assert entries_of(paid_shop, "sub-1") == []
    # When the charger renews her at the end of the period
    paid_shop.run_due(until=paid_shop.sub().current_period_end)
    # Then the subscription's trail names system:renewals, read from the renewal's events
    [renewed] = entries_of(paid_shop, "sub-1")
    assert (renewed.actor, renewed.action) == (SYSTEM_RENEWALS, AuditAction.SYSTEM_CHANGE)
    assert renewed.customer_id == "alice"
    assert "SubscriptionRenewed" in str(renewed.after["events"])
    # And the renewal's invoice has its own entry, with its own events
    invoice = paid_shop.invoice_starting(paid_shop.sub().current_period_start)
    [paid] = entries_of(paid_shop, invoice.id)
    assert paid.actor == SYSTEM_RENEWALS and "InvoicePaid" in str(paid.after["events"])
    # And no audit item was written for it: the stored trail is people's only
    assert paid_shop.repo.audit == []


def test_a_dunning_retry_is_listed_as_dunnings_work(make_shop: Callable[..., Any]) -> None:
    # Given a renewal declined for insufficient funds
    shop = make_shop()
    shop.add_card("4242424242424242")
    shop.subscribe()
    shop.add_card(INSUFFICIENT_FUNDS)
    renewed_at = shop.sub().current_period_end
    shop.run_due(until=renewed_at)
    invoice = shop.invoice_starting(renewed_at)
    assert {e.actor for e in entries_of(shop, invoice.id)} == {SYSTEM_RENEWALS}
    # When its first retry comes due and fails again
    shop.run_due(until=renewed_at + timedelta(days=4))
    # Then the retry's failure is dunning's
    dunning = entries_of(shop, invoice.id, SYSTEM_DUNNING)
    assert len(dunning) == 1
    assert "PaymentFailed" in str(dunning[0].after["events"])


def test_a_use_case_called_without_an_actor_is_not_listed_as_automated(paid_shop: Any) -> None:
    # When the renewal is processed directly, as the API or a test does, outside any actor
    paid_shop.clock.set(paid_shop.sub().current_period_end)
    subscriptions.process_due(paid_shop.svc, "sub-1")
    # Then it is renewed, and nobody is named for it
    assert len(paid_shop.invoices()) == 2
    assert entries_of(paid_shop, "sub-1") == []


def test_people_and_automated_entries_page_together_in_one_order(paid_shop: Any) -> None:
    # Given two renewals of sub-1 and an operator's credit adjustment between them
    svc = paid_shop.svc
    paid_shop.run_due(until=paid_shop.sub().current_period_end)
    paid_shop.clock.advance(timedelta(days=1))
    ops.adjust_credit(svc, "sub-1", 100, actor="support-anna", note="goodwill")
    paid_shop.run_due(until=paid_shop.sub().current_period_end)
    whole = entries_of(paid_shop, "sub-1")
    assert [e.actor for e in whole] == [SYSTEM_RENEWALS, "support-anna", SYSTEM_RENEWALS]
    # When the trail is read a page of one at a time
    seen, after = [], None
    while True:
        page, after = timeline.audit_entries(svc, entity="sub-1", actor=None, limit=1, after=after)
        seen += page
        if after is None:
            break
    # Then every entry comes once, in the same order, and a cursor read again gives the same
    assert [e.id for e in seen] == [e.id for e in whole]
    again, _ = timeline.audit_entries(
        svc, entity="sub-1", actor=None, limit=1, after=whole[0].order
    )
    assert [e.id for e in again] == [whole[1].id]


def test_an_actor_filter_keeps_its_own_kind_only(paid_shop: Any) -> None:
    svc = paid_shop.svc
    paid_shop.run_due(until=paid_shop.sub().current_period_end)
    ops.adjust_credit(svc, "sub-1", 100, actor="support-anna", note="goodwill")
    assert [e.actor for e in entries_of(paid_shop, "sub-1", "support-anna")] == ["support-anna"]
    assert [e.actor for e in entries_of(paid_shop, "sub-1", SYSTEM_RENEWALS)] == [SYSTEM_RENEWALS]
    assert entries_of(paid_shop, "sub-1", SYSTEM_WEBHOOKS) == []
    # An operator's own listing across entities still works as before
    page, _ = timeline.audit_entries(svc, entity=None, actor="support-anna", limit=10, after=None)
    assert [e.entity for e in page] == ["sub-1"]


def test_the_timeline_shows_automated_changes_as_audit_items(paid_shop: Any) -> None:
    paid_shop.run_due(until=paid_shop.sub().current_period_end)
    items, _ = timeline.customer_timeline(paid_shop.svc, "alice", limit=200)
    audits = [i for i in items if i.type == "audit"]
    assert {i.detail["actor"] for i in audits} == {SYSTEM_RENEWALS}
    assert all(i.detail["events"] for i in audits)
    assert [i.order for i in items] == sorted(i.order for i in items)


def test_acting_as_gives_the_outer_actor_back_on_leaving(paid_shop: Any) -> None:
    svc = paid_shop.svc
    credit = EventType.CREDIT_GRANTED
    with svc.acting_as(SYSTEM_RENEWALS):
        with svc.acting_as(SYSTEM_DUNNING):
            svc.commit(Commit(events=[DomainEvent(credit, "sub-1", "alice", T, 1)]))
        svc.commit(Commit(events=[DomainEvent(credit, "sub-1", "alice", T, 2)]))
    svc.commit(Commit(events=[DomainEvent(credit, "sub-1", "alice", T, 3)]))
    found = svc.repo.sourced_events("alice", ["2026-03-02"])
    assert [(e["id"], s) for e, s, _ in found] == sorted(
        [
            (DomainEvent(credit, "sub-1", "alice", T, 1).id, SYSTEM_DUNNING),
            (DomainEvent(credit, "sub-1", "alice", T, 2).id, SYSTEM_RENEWALS),
        ]
    )


def test_automated_entries_group_a_commits_events_by_entity() -> None:
    paid = _event(EventType.INVOICE_PAID, "in_1", "alice")
    renewed = _event(EventType.SUBSCRIPTION_RENEWED, "sub-1", "alice")
    created = _event(EventType.INVOICE_CREATED, "in_1", "alice", 1)
    plan = _event(EventType.PLAN_CREATED, "basic", None)
    sourced: list[Sourced] = [
        (paid, SYSTEM_RENEWALS, None),
        (renewed, SYSTEM_RENEWALS, None),
        (created, SYSTEM_RENEWALS, None),
    ]
    entries = automated_entries(
        [*sourced, (plan, SYSTEM_RENEWALS, None), (paid, "support-anna", None)]
    )
    assert {(e.entity, frozenset(str(e.after["events"]).split())) for e in entries} == {
        ("in_1", frozenset({"InvoicePaid", "InvoiceCreated"})),
        ("sub-1", frozenset({"SubscriptionRenewed"})),
    }
    # The same events give the same entries, whatever order they are read in
    assert automated_entries(sourced[::-1]) == automated_entries(sourced)
