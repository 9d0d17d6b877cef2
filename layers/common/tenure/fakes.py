"""In-memory adapters for the ports, for unit tests and quick experiments."""

import copy
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from tenure.domain.charges import Charge
from tenure.domain.customers import Customer, PaymentMethod
from tenure.domain.discounts import Coupon
from tenure.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    StaleCopyError,
    ValidationFailedError,
)
from tenure.domain.events import MrrLedgerEntry
from tenure.domain.invoices import Invoice
from tenure.domain.mrr import CustomerMrr, record_entries
from tenure.domain.notices import Notice
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import utc
from tenure.ports import Commit, CopyCheck, DueItem, EventReads, IdempotencyRecord, MrrRead, used_up


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


class InMemoryRepository:
    """The Repository port on dicts, with the same version checks as the DynamoDB store."""

    def __init__(self) -> None:
        self.customers: dict[str, Customer] = {}
        self.payment_methods: dict[tuple[str, str], PaymentMethod] = {}
        self.plans: dict[str, Plan] = {}
        self.coupons: dict[str, Coupon] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.invoices: dict[str, Invoice] = {}
        self.charges: dict[str, Charge] = {}
        self.events: list[dict[str, Any]] = []
        self.ledger: list[MrrLedgerEntry] = []
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.markers: dict[str, datetime] = {}
        self.provider_links: dict[tuple[str, str], str] = {}
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.customer_mrr: dict[str, CustomerMrr] = {}  # what commit stamps ledger entries from
        self.notices: dict[str, Notice] = {}
        self.suppressed: dict[str, str] = {}
        self.late: dict[str, set[tuple[datetime, str]]] = {}  # customer -> late invoices
        self.commits = 0

    def get_customer(self, customer_id: str) -> Customer | None:
        return copy.deepcopy(self.customers.get(customer_id))

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
        return copy.deepcopy(page), keys[start + limit - 1] if more else None

    def list_payment_methods(self, customer_id: str) -> list[PaymentMethod]:
        return [copy.deepcopy(m) for (c, _), m in self.payment_methods.items() if c == customer_id]

    def get_plan(self, plan_id: str) -> Plan | None:
        return self.plans.get(plan_id)

    def list_plans(self) -> list[Plan]:
        return sorted(self.plans.values(), key=lambda p: p.id)

    def get_coupon(self, coupon_id: str) -> Coupon | None:
        return copy.deepcopy(self.coupons.get(coupon_id))

    def list_coupons(self) -> list[Coupon]:
        return copy.deepcopy(sorted(self.coupons.values(), key=lambda c: c.id))

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        return copy.deepcopy(self.subscriptions.get(subscription_id))

    def get_subscription_with_customer(
        self, subscription_id: str, customer_id: str
    ) -> tuple[Subscription | None, Customer | None]:
        return self.get_subscription(subscription_id), self.get_customer(customer_id)

    def list_subscriptions(self, customer_id: str) -> list[Subscription]:
        subs = [s for s in self.subscriptions.values() if s.customer_id == customer_id]
        return copy.deepcopy(sorted(subs, key=lambda s: (s.created_at, s.id)))

    def get_invoice(self, invoice_id: str) -> Invoice | None:
        return copy.deepcopy(self.invoices.get(invoice_id))

    def list_invoices(self, subscription_id: str, since: datetime | None = None) -> list[Invoice]:
        found = [
            i
            for i in self.invoices.values()
            if i.subscription_id == subscription_id and (since is None or i.period_start >= since)
        ]
        return copy.deepcopy(sorted(found, key=lambda i: (i.period_start, i.id)))

    def list_charges(self, invoice_id: str) -> list[Charge]:
        found = [c for c in self.charges.values() if c.invoice_id == invoice_id]
        return copy.deepcopy(sorted(found, key=lambda c: c.attempt))

    def _all_due(self) -> list[DueItem]:
        items = []
        for sub in self.subscriptions.values():
            if (due := sub.next_due()) is not None:
                snapshot = copy.deepcopy(sub)
                items.append(DueItem(sub.id, due[0], due[1], sub.customer_id, snapshot))
        for invoice in self.invoices.values():
            if (work := invoice.next_due()) is not None:
                items.append(DueItem(invoice.id, work[0], work[1], invoice.customer_id))
        for charge in self.charges.values():
            if (work := charge.next_due()) is not None:
                items.append(DueItem(charge.due_id, work[0], work[1], charge.customer_id))
        return sorted(items, key=lambda d: (d.due_at, d.entity_id))

    def due(self, now: datetime, limit: int = 100) -> list[DueItem]:
        return [d for d in self._all_due() if d.due_at <= now][:limit]

    def due_pages(self, now: datetime, page: int = 1000) -> Iterator[list[DueItem]]:
        due = [d for d in self._all_due() if d.due_at <= now]
        for start in range(0, len(due), page):
            yield due[start : start + page]

    def next_due_at(self) -> datetime | None:
        return min((d.due_at for d in self._all_due()), default=None)

    def due_notices(self, now: datetime, limit: int = 100) -> list[Notice]:
        due = [n for n in self.notices.values() if (d := n.next_due()) and d[0] <= now]
        due.sort(key=lambda n: (n.due_at, n.key))
        return copy.deepcopy(due[:limit])

    def next_notice_at(self) -> datetime | None:
        return min((d[0] for n in self.notices.values() if (d := n.next_due())), default=None)

    def is_suppressed(self, email: str) -> bool:
        return email.strip().lower() in self.suppressed

    def suppress(self, email: str, reason: str, at: datetime) -> None:
        self.suppressed[email.strip().lower()] = reason

    def late_invoices(self, customer_id: str) -> list[tuple[datetime, str]]:
        return sorted(self.late.get(customer_id, ()))

    def get_notice(self, key: str) -> Notice | None:
        return copy.deepcopy(self.notices.get(key))

    def list_notices(self, customer_id: str) -> list[Notice]:
        found = [n for n in self.notices.values() if n.customer_id == customer_id]
        return copy.deepcopy(sorted(found, key=lambda n: (n.created_at, n.key)))

    def get_charge(self, invoice_id: str, attempt: int) -> Charge | None:
        for charge in self.charges.values():
            if (charge.invoice_id, charge.attempt) == (invoice_id, attempt):
                return copy.deepcopy(charge)
        return None

    def events_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return [e for e in self.events if start <= _at(e["occurred_at"]) < end]

    def ledger_between(self, start: datetime, end: datetime) -> list[MrrLedgerEntry]:
        return [e for e in self.ledger if start <= e.at < end]

    def commit(self, change: Commit) -> None:
        stored: dict[str, dict[str, Any]] = {
            "customer": self.customers,
            "subscription": self.subscriptions,
            "invoice": self.invoices,
            "charge": self.charges,
        }
        versioned: list[tuple[str, Any]] = [
            *(("customer", c) for c in change.customers),
            *(("subscription", s) for s in change.subscriptions),
            *(("invoice", i) for i in change.invoices),
            *(("charge", c) for c in change.charges),
        ]
        # Check everything first: all or nothing, like a transaction.
        for kind, entity in versioned:
            current = stored[kind].get(entity.id)
            if entity.version == 0 and current is not None:
                raise AlreadyExistsError(kind, entity.id)
            if entity.version and (current is None or current.version != entity.version):
                raise ConcurrencyError(f"{kind} {entity.id} changed meanwhile")
        for plan in change.plans:
            if plan.id in self.plans:
                raise AlreadyExistsError("plan", plan.id)
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
        for check in change.copy_checks:
            self._check_copy(check)
        seen = {e["id"] for e in self.events}
        for event in change.events:
            if event.id in seen:
                raise ConcurrencyError(f"event {event.id} already recorded")
        for kind, entity in versioned:
            entity.version += 1
            clean = copy.deepcopy(entity)
            if isinstance(clean, Subscription):
                clean.events, clean.ledger = [], []
            stored[kind][entity.id] = clean
        for sub_id, payer in change.payer_copies:
            self.subscriptions[sub_id].copy_payer(payer)
            self.subscriptions[sub_id].version += 1
        for plan in change.plans:
            self.plans[plan.id] = plan
        for invoice in change.invoices:
            if invoice.late:
                late = self.late.setdefault(invoice.customer_id, set())
                late.add((invoice.period_start, invoice.id))
        for coupon in change.coupons:
            coupon.version += 1
            self.coupons[coupon.id] = copy.deepcopy(coupon)
        for redemption in change.redemptions:
            self.coupons[redemption.coupon_id].times_redeemed += 1
            self.coupons[redemption.coupon_id].version += 1
        for method in change.payment_methods:
            self.payment_methods[(method.customer_id, method.id)] = copy.deepcopy(method)
        for notice in change.notices:
            notice.version += 1
            self.notices[notice.key] = copy.deepcopy(notice)
        for key in change.released_markers:
            self.markers.pop(key, None)
        self.markers.update((m.key, m.expires_at) for m in change.markers)
        self.provider_links.update(
            ((link.provider, link.object_id), link.tenure_id) for link in change.provider_links
        )
        self.events.extend(e.to_dict() for e in change.events)
        self.ledger.extend(record_entries(change.ledger, self.customer_mrr))
        self.commits += 1

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
        late = len(self.late.get(check.customer_id, ()))
        if check.late_under is not None and late >= check.late_under:
            raise StaleCopyError("late_payments", f"{check.customer_id} paid late before")

    def has_marker(self, key: str) -> bool:
        return key in self.markers

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
                MrrRead(customer_id, copy.deepcopy(self.customer_mrr.get(customer_id)))
                if customer_id
                else None
            ),
        )

    def save_snapshot(self, day: str, data: dict[str, Any]) -> None:
        self.snapshots[day] = copy.deepcopy(data)

    def get_snapshot(self, day: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.snapshots.get(day))

    def get_snapshots(self, days: list[str]) -> dict[str, dict[str, Any]]:
        return {d: copy.deepcopy(self.snapshots[d]) for d in days if d in self.snapshots}

    def get_invoices(self, invoice_ids: list[str]) -> dict[str, Invoice]:
        return {i: copy.deepcopy(self.invoices[i]) for i in invoice_ids if i in self.invoices}

    def claim_idempotency(
        self, key: str, fingerprint: str, now: datetime
    ) -> IdempotencyRecord | None:
        existing = self.idempotency.get(key)
        if existing is not None:
            return copy.deepcopy(existing)
        self.idempotency[key] = IdempotencyRecord(key, fingerprint, "in_progress")
        return None

    def complete_idempotency(self, key: str, response: dict[str, Any], now: datetime) -> None:
        record = self.idempotency[key]
        record.status, record.response = "done", response

    def release_idempotency(self, key: str) -> None:
        self.idempotency.pop(key, None)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
