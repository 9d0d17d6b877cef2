"""In-memory adapters for the ports, for unit tests and quick experiments."""

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from tenure.domain.audit import AuditEntry, Sourced, unnamed_days
from tenure.domain.charges import Charge
from tenure.domain.collection_cases import CollectionCase
from tenure.domain.credit_notes import CreditNote
from tenure.domain.customers import Customer, PaymentMethod
from tenure.domain.discounts import Coupon
from tenure.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    NotFoundError,
    StaleCopyError,
    ValidationFailedError,
)
from tenure.domain.events import MrrLedgerEntry
from tenure.domain.installments import InstallmentPlan
from tenure.domain.invoices import Invoice
from tenure.domain.mrr import CustomerMrr, record_entries
from tenure.domain.notices import Notice
from tenure.domain.numbering import NumberedKind, Numbering, numbering_year
from tenure.domain.offers import SaveAttempt
from tenure.domain.plans import Plan
from tenure.domain.points import PointsAccount, entry_order, not_enough
from tenure.domain.price_notices import PriceNoticeRun
from tenure.domain.programs import NO_PROGRAMS, ProgramsSetting
from tenure.domain.refunds import Refund
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import utc
from tenure.fakes_copy import clone
from tenure.fakes_events import EventOrder, PackedEvents
from tenure.fakes_idempotency import InMemoryIdempotency
from tenure.fakes_index import DueIndex, Indexed, owned
from tenure.fakes_packed import PackedIndexed
from tenure.fakes_privacy import InMemoryPrivacy
from tenure.fakes_webhooks_out import InMemoryWebhookOut
from tenure.listings import PlanListings, contact_holds, listings, plan_listings
from tenure.ports import (
    Commit,
    CopyCheck,
    DueItem,
    EventReads,
    IdempotencyRecord,
    MrrRead,
    programs_moved,
    used_up,
)
from tenure.store.dynamodb import DUE_SHARDS


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime) -> None:
        self._now = utc(now)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = utc(moment)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class InMemoryRepository(InMemoryWebhookOut, InMemoryPrivacy, InMemoryIdempotency):
    """The Repository port on dicts, with the same version checks as the DynamoDB store."""

    def __init__(self, numbering: Numbering = Numbering()) -> None:
        self.numbering = numbering
        # Last number of each series (kind, series, year). One writer: always the home series.
        self.counters: dict[tuple[str, int, int], int] = {}
        self.credit_notes: dict[str, CreditNote] = Indexed(None, "credit_note", "invoice_id")
        self.payment_methods: dict[tuple[str, str], PaymentMethod] = Indexed(
            None, "payment_method", "customer_id"
        )
        self.plans: dict[str, Plan] = {}
        self.coupons: dict[str, Coupon] = {}
        # The sharded due index, kept as the table's is: by every write of an item with work
        # ahead (including a test's `repo.notices[key] = notice`), not rebuilt on each read.
        self._work = DueIndex()
        self._owed = DueIndex()
        # A customer is its own owner; due only while an erasure at the provider is owed.
        self.customers: dict[str, Customer] = Indexed(self._work, "customer", "id")
        self.subscriptions: dict[str, Subscription] = Indexed(
            self._work, "subscription", "customer_id"
        )
        # Those with no work ahead are held packed (tenure.fakes_packed): most, and seldom read.
        self.invoices: dict[str, Invoice] = PackedIndexed(self._work, "invoice", "subscription_id")
        self.charges: dict[str, Charge] = PackedIndexed(self._work, "charge", "invoice_id")
        self.installment_plans: dict[str, InstallmentPlan] = Indexed(
            self._work, "installment_plan", "customer_id"
        )
        # No work of their own is due.
        self.collection_cases: dict[str, CollectionCase] = Indexed(
            None, "collection_case", "customer_id"
        )
        self.price_runs: dict[str, PriceNoticeRun] = Indexed(self._work, "price_run", "price_id")
        self.price_member_ids: dict[str, set[str]] = {}  # price id -> subscription ids
        self.programs = ProgramsSetting(NO_PROGRAMS)
        self.points: dict[str, PointsAccount] = {}
        self.refunds: dict[str, Refund] = Indexed(None, "refund", "invoice_id")
        self.save_attempts: dict[str, SaveAttempt] = {}
        self.events = PackedEvents()  # the stored dicts, pickled: a copy on every read
        self.ledger: list[MrrLedgerEntry] = []
        self.idempotency: dict[str, IdempotencyRecord] = {}
        # Idempotency key -> the customer its request was about (the DynamoDB store's GSI1).
        self.idempotency_customers: dict[str, str] = {}
        self.markers: dict[str, datetime] = {}
        self.provider_links: dict[tuple[str, str], str] = {}
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.customer_mrr: dict[str, CustomerMrr] = {}  # what commit stamps ledger entries from
        self.notices: dict[str, Notice] = PackedIndexed(self._owed, "notice", "customer_id")
        self.suppressed: dict[str, str] = {}
        self.late: dict[str, set[tuple[datetime, str]]] = {}  # customer -> late invoices
        self.audit: list[AuditEntry] = []  # in time order (AuditEntry.order)
        # The email search index: (email in lower case, customer id), written on creation.
        self.email_index: set[tuple[str, str]] = set()
        self.commits = 0
        self.event_sources: dict[str, str] = {}  # event id -> its automated actor (Commit.source)
        self.event_vias: dict[str, str] = {}  # event id -> what its actor acted through
        self.days_kept: dict[str, set[str]] = {}  # customer -> its `ADAY#` days
        self._audit_ids: set[str] = set()
        # The events' and ledger entries' places in the table's key order, as (sort key,
        # position in `events` / `ledger`): a day's read finds its range by bisection.
        self._event_order = EventOrder()
        self._ledger_order: list[tuple[datetime, str, str, int]] = []

    def get_customer(self, customer_id: str) -> Customer | None:
        return clone(self.customers.get(customer_id))

    def expect_numbering(self, kind: NumberedKind, at: datetime) -> None:
        """Numbers are taken in memory here: nothing to read ahead."""

    def list_customers(
        self, limit: int, after: str | None = None
    ) -> tuple[list[Customer], str | None]:
        ordered = sorted(self.customers.values(), key=lambda c: (c.created_at, c.id))
        keys = [f"{c.created_at.isoformat()}#{c.id}" for c in ordered]
        start = (
            0 if after is None else next((i for i, k in enumerate(keys) if k > after), len(keys))
        )
        page = ordered[start : start + limit]
        more = start + limit < len(ordered)
        return clone(page), keys[start + limit - 1] if more else None

    def find_customers_by_email(self, prefix: str, limit: int) -> list[tuple[str, str]]:
        wanted = prefix.lower()
        if not wanted:
            return []
        return sorted(e for e in self.email_index if e[0].startswith(wanted))[:limit]

    def index_customer_emails(self, customers: list[Customer]) -> int:
        self.email_index.update((c.email.lower(), c.id) for c in customers)
        return len(customers)

    def list_payment_methods(self, customer_id: str) -> list[PaymentMethod]:
        found = owned(self.payment_methods, customer_id)
        return clone(sorted(found, key=lambda m: m.id))  # the table's key order

    def get_plan(self, plan_id: str) -> Plan | None:
        return self.plans.get(plan_id)

    def get_current_plan(self, plan_id: str) -> Plan | None:
        return self.plans.get(plan_id)

    def list_plans(self) -> list[Plan]:
        return sorted(self.plans.values(), key=lambda p: p.id)

    def get_coupon(self, coupon_id: str) -> Coupon | None:
        return clone(self.coupons.get(coupon_id))

    def list_coupons(self) -> list[Coupon]:
        return clone(sorted(self.coupons.values(), key=lambda c: c.id))

    def get_programs(self) -> ProgramsSetting:
        return self.programs

    def get_current_programs(self) -> ProgramsSetting:
        return self.programs

    def get_points(self, customer_id: str) -> PointsAccount:
        return self.points.get(customer_id, PointsAccount(customer_id))

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        return clone(self.subscriptions.get(subscription_id))

    def get_subscription_with_customer(
        self, subscription_id: str, customer_id: str
    ) -> tuple[Subscription | None, Customer | None]:
        return self.get_subscription(subscription_id), self.get_customer(customer_id)

    def _list_new_subscriptions(self, change: Commit) -> None:
        """As the DynamoDB store: new listed subscriptions join their customer's list, or are
        made unlisted when a card change came first (tenure.listings)."""
        joining = listings(change)
        for sub in joining.with_customer:
            owner = next(c for c in change.customers if c.id == sub.customer_id)
            owner.subscription_ids = owner.subscription_ids | {sub.id}
        for sub in joining.by_update:
            held = self.customers.get(sub.customer_id)
            if held is None or held.payer != sub.payer:
                sub.listed = False
                continue
            held.subscription_ids = held.subscription_ids | {sub.id}

    def _list_new_plans(self, change: Commit, joining: PlanListings) -> None:
        """As the DynamoDB store: new installment plans join their customer's list."""
        for ipl in joining.with_customer:
            owner = next(c for c in change.customers if c.id == ipl.customer_id)
            owner.installment_plan_ids = owner.installment_plan_ids | {ipl.id}
        for customer_id, plans in joining.by_update.items():
            held = self.customers[customer_id]
            held.installment_plan_ids = held.installment_plan_ids | {p.id for p in plans}

    def list_subscriptions(self, customer_id: str) -> list[Subscription]:
        subs = owned(self.subscriptions, customer_id)
        return clone(sorted(subs, key=lambda s: (s.created_at, s.id)))

    def get_installment_plan(self, plan_id: str) -> InstallmentPlan | None:
        return clone(self.installment_plans.get(plan_id))

    def list_installment_plans(self, customer_id: str) -> list[InstallmentPlan]:
        found = owned(self.installment_plans, customer_id)
        return clone(sorted(found, key=lambda p: (p.created_at, p.id)))

    def get_collection_case(self, case_id: str) -> CollectionCase | None:
        return clone(self.collection_cases.get(case_id))

    def list_collection_cases(self, customer_id: str) -> list[CollectionCase]:
        found = owned(self.collection_cases, customer_id)
        return clone(sorted(found, key=lambda c: (c.opened_at, c.id)))

    def get_invoice(self, invoice_id: str) -> Invoice | None:
        return _held(self.invoices).copy_of(invoice_id)

    def list_invoices(self, subscription_id: str, since: datetime | None = None) -> list[Invoice]:
        found = [
            i
            for i in _held(self.invoices).copies_owned_by(subscription_id)
            if since is None or i.period_start >= since
        ]
        return sorted(found, key=lambda i: (i.period_start, i.id))

    def list_charges(self, invoice_id: str) -> list[Charge]:
        found = _held(self.charges).copies_owned_by(invoice_id)
        return sorted(found, key=lambda c: c.attempt)

    def get_save_attempt(self, subscription_id: str) -> SaveAttempt | None:
        found = self.save_attempts.get(subscription_id)
        return found.copy() if found is not None else None

    def list_credit_notes(self, invoice_id: str) -> list[CreditNote]:
        found = owned(self.credit_notes, invoice_id)
        return clone(sorted(found, key=lambda n: (n.created_at, n.id)))

    def price_members(
        self, price_id: str, limit: int, after: str | None = None
    ) -> tuple[list[str], str | None]:
        members = sorted(self.price_member_ids.get(price_id, ()))
        start = 0 if after is None else bisect.bisect_right(members, after)
        page = members[start : start + limit]
        # As a query with a limit: a full page says there may be more, even when there is not.
        return page, (page[-1] if len(page) == limit else None)

    def get_price_run(self, change_id: str) -> PriceNoticeRun | None:
        run = self.price_runs.get(change_id)
        return None if run is None else clone(run)

    def list_refunds(self, invoice_id: str) -> list[Refund]:
        found = owned(self.refunds, invoice_id)
        return sorted(found, key=lambda r: (r.at, r.id))

    def due(self, now: datetime, limit: int = 100) -> list[DueItem]:
        return self._due_items(self._work.page(now, limit))

    def due_pages(self, now: datetime, page: int = 1000) -> Iterator[list[DueItem]]:
        starts: dict[int, str | None] = dict.fromkeys(range(DUE_SHARDS))
        while starts:
            found, starts = self._work.page_from(now, page, starts)
            if found:
                yield self._due_items(found)

    def _due_items(self, found: list[tuple[str, str]]) -> list[DueItem]:
        items = []
        for source, key in found:
            if source == "subscription":
                sub = self.subscriptions[key]
                at, kind = _due_of(sub)
                items.append(DueItem(sub.id, at, kind, sub.customer_id, clone(sub)))
            elif source == "invoice":
                invoice = self.invoices[key]
                at, kind = _due_of(invoice)
                items.append(DueItem(invoice.id, at, kind, invoice.customer_id))
            elif source == "customer":
                customer = self.customers[key]
                at, kind = _due_of(customer)
                items.append(DueItem(customer.id, at, kind, customer.id))
            elif source == "installment_plan":
                plan = self.installment_plans[key]
                at, kind = _due_of(plan)
                items.append(DueItem(plan.id, at, kind, plan.customer_id))
            elif source == "price_run":
                run = self.price_runs[key]
                at, kind = _due_of(run)
                items.append(DueItem(run.change_id, at, kind, None))
            else:
                charge = self.charges[key]
                at, kind = _due_of(charge)
                items.append(DueItem(charge.due_id, at, kind, charge.customer_id))
        return sorted(items, key=lambda d: (d.due_at, d.entity_id))

    def next_due_at(self) -> datetime | None:
        return self._work.first_at()

    def due_notices(self, now: datetime, limit: int = 100) -> list[Notice]:
        entries, starts = self._owed.page_from(now, limit, dict.fromkeys(range(DUE_SHARDS)))
        for shard, start in sorted(starts.items()):  # as the store: the fuller shards fill in
            if len(entries) >= limit:
                break
            entries += self._owed.page_from(now, 0, {shard: start}, limit - len(entries))[0]
        found = [self.notices[key] for _, key in entries]
        return clone(sorted(found, key=lambda n: (n.due_at, n.key)))

    def next_notice_at(self) -> datetime | None:
        return self._owed.first_at()

    def is_suppressed(self, email: str) -> bool:
        return email.strip().lower() in self.suppressed

    def suppress(self, email: str, reason: str, at: datetime) -> None:
        self.suppressed[email.strip().lower()] = reason

    def late_invoices(self, customer_id: str) -> list[tuple[datetime, str]]:
        return sorted(self.late.get(customer_id, ()))

    def get_notice(self, key: str) -> Notice | None:
        return _held(self.notices).copy_of(key)

    def list_notices(self, customer_id: str) -> list[Notice]:
        found = _held(self.notices).copies_owned_by(customer_id)
        return sorted(found, key=lambda n: (n.created_at, n.key))

    def get_charge(self, invoice_id: str, attempt: int) -> Charge | None:
        for charge in _held(self.charges).copies_owned_by(invoice_id):
            if charge.attempt == attempt:
                return charge
        return None

    def events_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """In the table's order: by moment, then by event id (not by commit)."""
        events = self.events
        return [events[n] for n in self._event_order.places_between(start, end)]

    def iter_events_between(self, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        """events_between one event at a time, for local tooling that writes a year of them
        out: the events stay packed but for the one being read."""
        events = self.events
        return (events[n] for n in self._event_order.places_between(start, end))

    def ledger_between(self, start: datetime, end: datetime) -> list[MrrLedgerEntry]:
        """In the table's order: by moment, subscription and MRR after (as text, as the key
        holds it); entries of one commit that tie keep their order."""
        order = self._ledger_order
        first = bisect.bisect_left(order, (start,))
        last = bisect.bisect_left(order, (end,))
        return [self.ledger[n] for *_, n in order[first:last]]

    def commit(self, change: Commit) -> None:
        stored: dict[str, dict[str, Any]] = {
            "customer": self.customers,
            "subscription": self.subscriptions,
            "invoice": self.invoices,
            "charge": self.charges,
            "installment_plan": self.installment_plans,
            "collection_case": self.collection_cases,
            "price_run": self.price_runs,
        }
        versioned: list[tuple[str, Any]] = [
            *(("customer", c) for c in change.customers),
            *(("subscription", s) for s in change.subscriptions),
            *(("invoice", i) for i in change.invoices),
            *(("charge", c) for c in change.charges),
            *(("installment_plan", p) for p in change.installment_plans),
            *(("collection_case", c) for c in change.collection_cases),
            *(("price_run", r) for r in change.price_runs),
        ]
        # Check everything first: all or nothing, like a transaction.
        for move in change.points:
            # Conditions are on the balance before the commit, as the DynamoDB store's are,
            # and checked first, as the store reports them first.
            before = self.get_points(move.customer_id)
            if move.at_least is not None and before.balance < move.at_least:
                raise ValidationFailedError("points", not_enough(move.customer_id, move.at_least))
            taken = {entry_order(e) for e in before.entries}
            if move.entry is not None and entry_order(move.entry) in taken:
                raise AlreadyExistsError("points entry", str(move.entry.invoice))
        for kind, entity in versioned:
            current = stored[kind].get(entity.id)
            if entity.version == 0 and current is not None:
                raise AlreadyExistsError(kind, entity.id)
            if entity.version and (current is None or current.version != entity.version):
                raise ConcurrencyError(f"{kind} {entity.id} changed meanwhile")
            # A subscription joined the customer's list: the version does not move for it.
            listed = current.subscription_ids if kind == "customer" and current else None
            if listed is not None and entity.version and listed != entity.subscription_ids:
                raise ConcurrencyError(f"{kind} {entity.id} changed meanwhile")
            plans = current.installment_plan_ids if kind == "customer" and current else None
            if plans is not None and plans != entity.installment_plan_ids:
                raise ConcurrencyError(f"{kind} {entity.id} changed meanwhile")
        for plan in change.plans:
            if plan.id in self.plans:
                raise AlreadyExistsError("plan", plan.id)
        for plan in change.plan_updates:
            held_plan = self.plans.get(plan.id)
            if held_plan is None or len(held_plan.price_changes) != len(plan.price_changes) - 1:
                raise ConcurrencyError(f"plan {plan.id} changed meanwhile")
        for method in change.payment_methods:
            if (method.customer_id, method.id) in self.payment_methods:
                raise AlreadyExistsError("payment method", method.id)
        for coupon in change.coupons:
            if coupon.id in self.coupons:
                raise AlreadyExistsError("coupon", coupon.id)
        for redemption in change.redemptions:
            stored_coupon = self.coupons.get(redemption.coupon_id)
            if stored_coupon is None or stored_coupon.exhausted:
                raise ValidationFailedError("coupon", used_up(redemption.coupon_id))
        for marker in change.markers:
            if marker.key in self.markers:
                raise AlreadyExistsError("marker", marker.key)
        for refund in change.refunds:
            if refund.id in self.refunds:
                raise AlreadyExistsError("refund", refund.id)
        for note in change.credit_notes:
            if note.id in self.credit_notes:
                raise AlreadyExistsError("credit_note", note.id)
        for setting in change.programs:
            if setting.version != self.programs.version:
                raise ConcurrencyError(programs_moved(setting.version))
        for attempt in change.save_attempts:
            held = self.save_attempts.get(attempt.subscription_id)
            if (held.version if held is not None else 0) != attempt.version:
                raise ConcurrencyError(
                    f"save attempt of {attempt.subscription_id} changed meanwhile"
                )
        for notice in change.notices:
            current_notice = self.notices.get(notice.key)
            if notice.version and (
                current_notice is None or current_notice.version != notice.version
            ):
                raise ConcurrencyError(f"notice {notice.key} changed meanwhile")
        change.check_payer_operations()
        for sub_id, payer in change.payer_copies:
            target = self.subscriptions.get(sub_id)
            if target is None or target.customer_id != payer.customer_id:
                raise ConcurrencyError(f"subscription {sub_id} is not there to take a payer")
        for payer in change.payer_checks:
            owner = self.customers.get(payer.customer_id)
            if owner is None or owner.payer != payer:
                raise ConcurrencyError(f"customer {payer.customer_id}'s payment details changed")
        for sub in listings(change).by_update:  # as the store's listing update: not erased
            owner = self.customers.get(sub.customer_id)
            if owner is not None and owner.erased_at is not None:
                raise ConcurrencyError(f"customer {sub.customer_id} changed meanwhile")
        for customer_id in change.not_erased:  # as the store's check: there and not erased
            owner = self.customers.get(customer_id)
            if owner is None or owner.erased_at is not None:
                raise ConcurrencyError(f"customer {customer_id} changed meanwhile")
        plans_joining = plan_listings(change)
        for customer_id in plans_joining.by_update:  # as the store's: there and not erased
            if (owner := self.customers.get(customer_id)) is None:
                raise NotFoundError("customer", customer_id)
            if owner.erased_at is not None:
                raise ConcurrencyError(f"customer {customer_id} changed meanwhile")
        for customer_id, contact in contact_holds(change).items():  # as the store's checks
            holder = self.customers.get(customer_id)
            if holder is not None and holder.contact != contact:
                raise StaleCopyError("contact", f"customer {customer_id}'s contact changed")
        for check in change.copy_checks:
            self._check_copy(check)
        # Each id once (it is worked out from the event's parts on every use), and one string
        # for the order and the sources to share. An id names its moment: an event recorded
        # before is found at its moment's place in the order (no set of every id is kept).
        event_ids = [e.id for e in change.events]
        for event_id, event in zip(event_ids, change.events, strict=True):
            if self._event_order.holds(utc(event.occurred_at).replace(microsecond=0), event_id):
                raise ConcurrencyError(f"event {event_id} already recorded")
        for entry in change.audit:
            if entry.id in self._audit_ids:
                raise AlreadyExistsError("audit", entry.id)
        self._number(change)
        self._list_new_subscriptions(change)
        self._list_new_plans(change, plans_joining)
        created = [c for c in change.customers if c.version == 0]  # indexed by email
        for kind, entity in versioned:
            entity.version += 1
            if kind in ("invoice", "charge"):
                _held(stored[kind]).keep(entity.id, entity)
                continue
            clean = clone(entity)
            if isinstance(clean, Subscription):
                clean.events, clean.ledger = [], []
            if isinstance(clean, InstallmentPlan | CollectionCase):
                clean.pull_events()
            stored[kind][entity.id] = clean
        for sub_id, payer in change.payer_copies:
            self.subscriptions[sub_id].copy_payer(payer)
            self.subscriptions[sub_id].version += 1
        for plan in [*change.plans, *change.plan_updates]:
            self.plans[plan.id] = plan
        for price_id, sub_id in change.price_members:
            self.price_member_ids.setdefault(price_id, set()).add(sub_id)
        self.refunds.update((r.id, r) for r in change.refunds)
        self.credit_notes.update((n.id, clone(n)) for n in change.credit_notes)
        for setting in change.programs:
            self.programs = replace(setting, version=setting.version + 1)
        for move in change.points:
            account = self.get_points(move.customer_id)
            entries = (*account.entries, move.entry) if move.entry else account.entries
            self.points[move.customer_id] = PointsAccount(
                move.customer_id,
                account.balance + move.balance,
                account.pending + move.pending,
                tuple(sorted(entries, key=entry_order)),
            )
        for attempt in change.save_attempts:
            attempt.version += 1
            self.save_attempts[attempt.subscription_id] = attempt.copy()
        for invoice in change.invoices:
            if invoice.late:
                late = self.late.setdefault(invoice.customer_id, set())
                late.add((invoice.period_start, invoice.id))
        for coupon in change.coupons:
            coupon.version += 1
            self.coupons[coupon.id] = clone(coupon)
        for redemption in change.redemptions:
            self.coupons[redemption.coupon_id].times_redeemed += 1
            self.coupons[redemption.coupon_id].version += 1
        for method in change.payment_methods:
            self.payment_methods[(method.customer_id, method.id)] = clone(method)
        self.email_index.update((c.email.lower(), c.id) for c in created)
        for email_move in change.email_moves:
            if email_move.old is not None:
                self.email_index.discard((email_move.old.lower(), email_move.customer_id))
            if email_move.new is not None:
                self.email_index.add((email_move.new.lower(), email_move.customer_id))
        for notice in change.notices:
            notice.version += 1
            _held(self.notices).keep(notice.key, notice)
        for key in change.released_markers:
            self.markers.pop(key, None)
        self.markers.update((m.key, m.expires_at) for m in change.markers)
        self.provider_links.update(
            ((link.provider, link.object_id), link.tenure_id) for link in change.provider_links
        )
        for event_id, event in zip(event_ids, change.events, strict=True):
            stored_event = event.to_dict()
            place = len(self.events)
            self.events.append(stored_event)
            self._event_order.add(_at(stored_event["occurred_at"]), event_id, place)
        if change.source is not None:
            self.event_sources.update((i, change.source) for i in event_ids)
            if change.via is not None:
                self.event_vias.update((i, change.via) for i in event_ids)
            for customer_id, day in unnamed_days(
                change.events, change.invoices, change.charges, change.installment_plans
            ):
                self.days_kept.setdefault(customer_id, set()).add(day)
        for line in record_entries(change.ledger, self.customer_mrr):
            at = (line.at, line.subscription_id, str(line.after), len(self.ledger))
            self.ledger.append(line)
            bisect.insort(self._ledger_order, at)
        for entry in change.audit:
            bisect.insort(self.audit, entry, key=lambda e: e.order)
            self._audit_ids.add(entry.id)
        self.commits += 1

    def commit_each(self, changes: Sequence[Commit]) -> list[Exception | None]:
        """One by one: what the store's packed transactions leave is the same."""
        results: list[Exception | None] = []
        for change in changes:
            try:
                self.commit(change)
                results.append(None)
            except (ConcurrencyError, AlreadyExistsError, StaleCopyError) as exc:
                results.append(exc)
        return results

    def _number(self, change: Commit) -> None:
        """Give the commit's finalized new invoices and its credit notes their numbers, in
        the order the DynamoDB store does (invoices, then credit notes, as listed)."""
        numbered: list[tuple[NumberedKind, datetime, Invoice | CreditNote]] = [
            (NumberedKind.INVOICE, i.created_at, i)
            for i in change.invoices
            if i.number is None and i.finalized
        ]
        numbered += [(NumberedKind.CREDIT_NOTE, n.created_at, n) for n in change.credit_notes]
        for kind, at, entity in numbered:
            key = (str(kind), self.numbering.home, numbering_year(at))
            self.counters[key] = self.counters.get(key, 0) + 1
            entity.number = self.numbering.format(kind, key[1], key[2], self.counters[key])

    def _check_copy(self, check: CopyCheck) -> None:
        holder = self.customers.get(check.customer_id)
        if holder is None or holder.contact != check.contact:
            raise StaleCopyError("contact", f"customer {check.customer_id}'s contact changed")
        if check.contact.email.strip().lower() in self.suppressed:
            raise StaleCopyError("suppressed", "the address was suppressed")
        if check.subscription_id is not None:
            sub = self.subscriptions.get(check.subscription_id)
            if sub is None or sub.version != check.subscription_version:
                raise StaleCopyError("subscription", f"{check.subscription_id} changed")
        if check.invoice_id is not None:
            invoice = self.invoices.get(check.invoice_id)
            if invoice is None or invoice.version != check.invoice_version:
                raise StaleCopyError("invoice", f"{check.invoice_id} changed")
        late = len(self.late.get(check.customer_id, ()))
        if check.late_under is not None and late >= check.late_under:
            raise StaleCopyError("late_payments", f"{check.customer_id} paid late before")

    def has_marker(self, key: str) -> bool:
        return key in self.markers

    def list_audit(
        self,
        *,
        entity: str | None = None,
        actor: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> tuple[list[AuditEntry], str | None]:
        if entity is None and actor is None:
            raise ValueError("name an entity or an actor")
        found = [
            e
            for e in self.audit
            if (entity is None or e.entity == entity)
            and (actor is None or e.actor == actor)
            and (after is None or e.order > after)
        ]
        page = found[:limit]
        return page, (page[-1].order if len(found) > limit and page else None)

    def list_customer_audit(self, customer_id: str, limit: int) -> list[AuditEntry]:
        found = [e for e in self.audit if e.customer_id == customer_id]
        return found[-limit:] if limit > 0 else []

    def sourced_events(self, customer_id: str, days: list[str]) -> list[Sourced]:
        wanted = set(days)
        found: list[Sourced] = [
            (dict(e), self.event_sources[e["id"]], self.event_vias.get(e["id"]))
            for e in self.events
            if e["id"] in self.event_sources
            and str(e["occurred_at"])[:10] in wanted
            and e.get("customer_id") == customer_id
        ]
        return sorted(found, key=lambda f: (_at(str(f[0]["occurred_at"])), str(f[0]["id"])))

    def activity_days(self, customer_id: str, limit: int) -> list[str]:
        days = sorted(self.days_kept.get(customer_id, ()))
        return days[-limit:] if limit > 0 else []

    def automated_events(
        self, actor: str, *, upto: datetime, since: datetime, budget: int
    ) -> tuple[list[Sourced], datetime | None]:
        # (Everything in one read: the budget bounds the DynamoDB store's reads, not a list's.)
        # From `since`'s whole second, as the store's keys are.
        first = since.replace(microsecond=0)
        found: list[Sourced] = [
            (dict(e), actor, self.event_vias.get(e["id"]))
            for e in self.events
            if self.event_sources.get(e["id"]) == actor and first <= _at(e["occurred_at"]) <= upto
        ]
        found.sort(key=lambda f: (str(f[0]["occurred_at"]), str(f[0]["id"])), reverse=True)
        return found, None

    def list_actor_audit_newest(
        self, actor: str, *, before: str, since: datetime, limit: int
    ) -> list[AuditEntry]:
        found = [e for e in self.audit if e.actor == actor and e.at >= since and e.order < before]
        return found[::-1][:limit]

    def find_provider_object(self, provider: str, object_id: str) -> str | None:
        return self.provider_links.get((provider, object_id))

    def read_for_event(
        self,
        marker: str,
        *,
        link: tuple[str, str] | None = None,
        invoice_id: str | None = None,
        attempt: int | None = None,
        subscription_id: str | None = None,
        customer_id: str | None = None,
        points_of: str | None = None,
    ) -> EventReads:
        return EventReads(
            marked=self.has_marker(marker),
            linked=self.find_provider_object(*link) if link else None,
            invoice=self.get_invoice(invoice_id) if invoice_id else None,
            charge=(
                self.get_charge(invoice_id, attempt) if invoice_id and attempt is not None else None
            ),
            subscription=self.get_subscription(subscription_id) if subscription_id else None,
            # Returned as the DynamoDB store returns it; this store's commit reads the current
            # state anyway (nothing can move between a read and a commit in one process).
            mrr=(
                MrrRead(customer_id, clone(self.customer_mrr.get(customer_id)))
                if customer_id
                else None
            ),
            points=(
                PointsAccount(points_of) if points_of and points_of not in self.points else None
            ),
        )

    def save_snapshot(self, day: str, data: dict[str, Any]) -> None:
        self.snapshots[day] = clone(data)

    def get_snapshot(self, day: str) -> dict[str, Any] | None:
        return clone(self.snapshots.get(day))

    def get_snapshots(self, days: list[str]) -> dict[str, dict[str, Any]]:
        return {d: clone(self.snapshots[d]) for d in days if d in self.snapshots}

    def get_invoices(self, invoice_ids: list[str]) -> dict[str, Invoice]:
        held = _held(self.invoices)
        return {i: held.copy_of(i) for i in invoice_ids if i in held}  # type: ignore[misc]


class _Due(Protocol):
    def next_due(self) -> tuple[datetime, str] | None: ...


def _due_of(entity: _Due) -> tuple[datetime, Any]:
    due = entity.next_due()
    assert due is not None  # it is in the index only while it has work ahead
    return due


def _held[V](items: dict[Any, V]) -> Indexed[V]:
    """One of the store's owner-indexed dicts, as what it is."""
    return cast(Indexed[V], items)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
