"""Import: write a batch read from another billing system, charging nothing, once.

Each plan is one commit, each customer another, with its payment methods and subscriptions:
a customer is imported whole or not at all. Ids are the source's own, so a second import of
the same source finds what the first wrote and changes nothing (and two imports racing
write each item once: every write is conditional on the item not existing). Nothing is
charged (the services hold no gateway) and no email goes out now: the emails planned are
those the subscriptions' coming renewals, trial ends and pause ends are owed anyway.
"""

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tenure.domain.errors import AlreadyExistsError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.imported import (
    IMPORTED_FROM,
    CustomerEntry,
    Finding,
    ImportBatch,
    ImportRefusedError,
    PlanEntry,
    subscription_from_terms,
)
from tenure.domain.mandates import other_currency
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.ports import Commit, ProviderLink
from tenure.services.context import Services


class Outcome(StrEnum):
    IMPORTED = "imported"
    WOULD_IMPORT = "would_import"  # --dry-run: it would have been imported
    UNCHANGED = "unchanged"  # imported before, by the same source
    REFUSED = "refused"  # it could not be imported; the run fails
    SKIPPED = "skipped"  # left out by design (an ended subscription, an object Tenure lacks)


@dataclass(frozen=True, slots=True)
class Line:
    """What became of one object or row of the source."""

    kind: str  # plan, customer, subscription, payment_method, or the source's object type
    id: str
    outcome: Outcome
    origin: str  # where it was read: file#object id, file:row
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"kind": self.kind, "id": self.id, "outcome": str(self.outcome)}
        out["origin"] = self.origin
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(slots=True)
class ImportReport:
    source: str
    dry_run: bool
    lines: list[Line] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """The rule for the exit code: anything refused fails the run."""
        return any(line.outcome is Outcome.REFUSED for line in self.lines)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            key = f"{line.kind}s {line.outcome}"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "refused": self.refused,
            "counts": self.counts(),
            "lines": [line.to_dict() for line in self.lines],
        }


def import_batch(
    svc: Services, batch: ImportBatch, *, dry_run: bool, start: int = 0, count: int | None = None
) -> ImportReport:
    """Write `batch` (nothing with `dry_run`, which reads what is stored to say what would
    happen). `start` and `count` take a slice of its customers (the plans are always taken),
    for a job that imports a large batch in pieces."""
    if svc.gateway is not None:
        raise ValueError("an import charges nothing: give it services without a gateway")
    report = ImportReport(batch.source, dry_run)
    report.lines.extend(_finding(f) for f in batch.findings)
    now = svc.clock.now()
    plans = {entry.id: _import_plan(svc, entry, report, dry_run, now) for entry in batch.plans}
    end = None if count is None else start + count
    for entry in batch.customers[start:end]:
        _import_customer(svc, batch.source, entry, plans, report, dry_run, now)
    return report


def _finding(found: Finding) -> Line:
    outcome = Outcome.REFUSED if found.refused else Outcome.SKIPPED
    return Line(found.kind, found.id, outcome, found.origin, found.reason)


def _import_plan(
    svc: Services, entry: PlanEntry, report: ImportReport, dry_run: bool, now: datetime
) -> Plan | None:
    """The plan subscriptions may be imported on, or None (the refusal is reported)."""
    if entry.plan is None:
        report.lines.append(
            Line("plan", entry.id, Outcome.REFUSED, entry.origin, entry.problem or "")
        )
        return None
    stored = svc.repo.get_plan(entry.id)
    if stored is not None:
        if _same_terms(stored, entry.plan):
            report.lines.append(Line("plan", entry.id, Outcome.UNCHANGED, entry.origin))
            return stored
        why = "a plan with this id already exists with other terms (amount, currency, interval)"
        report.lines.append(Line("plan", entry.id, Outcome.REFUSED, entry.origin, why))
        return None
    if dry_run:
        report.lines.append(Line("plan", entry.id, Outcome.WOULD_IMPORT, entry.origin))
        return entry.plan
    event = DomainEvent(
        EventType.PLAN_CREATED, entry.id, None, now, 0, {"amount": entry.plan.amount}
    )
    try:
        svc.commit_with_notices(Commit(plans=[entry.plan], events=[event]))
    except AlreadyExistsError:  # another import wrote it meanwhile: compare with that one
        return _import_plan(svc, entry, report, dry_run, now)
    report.lines.append(Line("plan", entry.id, Outcome.IMPORTED, entry.origin))
    return entry.plan


def _same_terms(a: Plan, b: Plan) -> bool:
    return (a.amount, a.currency, a.interval, a.interval_count) == (
        b.amount,
        b.currency,
        b.interval,
        b.interval_count,
    )


def _import_customer(
    svc: Services,
    source: str,
    entry: CustomerEntry,
    plans: dict[str, Plan | None],
    report: ImportReport,
    dry_run: bool,
    now: datetime,
) -> None:
    customer = entry.customer
    problems = list(entry.problems)
    stored = svc.repo.get_customer(customer.id)
    if stored is not None:
        if stored.metadata.get(IMPORTED_FROM) == source:
            # Imported before: left as it is, but a subscription the source has gained since
            # is said, not silently dropped (an import never updates what it wrote).
            new = [t.id for t in entry.subscriptions if svc.repo.get_subscription(t.id) is None]
            if new:
                why = (
                    f"imported before without subscription {', '.join(new)}: an import "
                    "does not change a customer it wrote; add it through the API"
                )
                _report_customer(report, entry, Outcome.REFUSED, why)
            else:
                _report_customer(report, entry, Outcome.UNCHANGED, "imported before")
        else:
            why = f"customer id {customer.id} is taken by a customer not imported from {source}"
            _report_customer(report, entry, Outcome.REFUSED, why)
        return
    subs: list[Subscription] = []
    for terms in entry.subscriptions:
        plan = plans.get(terms.plan_id)
        if plan is None:
            problems.append(f"subscription {terms.id}: its plan {terms.plan_id} is refused")
            continue
        # As the API refuses subscribing a payer on a mandate to a plan in another currency:
        # Razorpay's recurring debits are in INR only, so no renewal could be charged.
        other = other_currency(svc.provider_of(customer.provider), plan.currency, "plan")
        if other:
            problems.append(f"subscription {terms.id}: {other}")
            continue
        try:
            subs.append(subscription_from_terms(terms, plan, now))
        except ImportRefusedError as exc:
            problems.append(f"subscription {terms.id}: {exc}")
    problems.extend(_taken(svc, entry))
    if problems:
        _report_customer(report, entry, Outcome.REFUSED, "; ".join(problems))
        return
    if dry_run:
        _report_customer(report, entry, Outcome.WOULD_IMPORT)
        return
    # Copies: a commit moves the versions of what it writes, and the batch stays as read (a
    # job or a retry may import it again).
    customer = copy.deepcopy(customer)
    change = Commit(customers=[customer], payment_methods=copy.deepcopy(entry.payment_methods))
    facts = {IMPORTED_FROM: source}
    change.events.append(
        DomainEvent(EventType.CUSTOMER_CREATED, customer.id, customer.id, now, 0, facts)
    )
    if customer.provider_customer_id is not None:
        link = ProviderLink(entry.provider, customer.provider_customer_id, customer.id)
        change.provider_links.append(link)
    for sub in subs:
        sub.timezone = customer.timezone
        sub.contact = customer.contact
        sub.copy_payer(customer.payer)
        change.add_subscription(sub)
    try:
        svc.commit_with_notices(change)
    except AlreadyExistsError:
        # Another import of the same source came first (or took an id meanwhile): what is
        # stored now decides, as on a second run.
        _import_customer(svc, source, entry, plans, report, dry_run, now)
        return
    _report_customer(report, entry, Outcome.IMPORTED)


def _taken(svc: Services, entry: CustomerEntry) -> Iterator[str]:
    """Ids of the entry that something else already holds."""
    provider_id = entry.customer.provider_customer_id
    if provider_id is not None:
        linked = svc.repo.find_provider_object(entry.provider, provider_id)
        if linked is not None and linked != entry.customer.id:
            yield f"{entry.provider} customer {provider_id} is already Tenure's customer {linked}"
    for terms in entry.subscriptions:
        if svc.repo.get_subscription(terms.id) is not None:
            yield f"subscription id {terms.id} is taken"


def _report_customer(
    report: ImportReport, entry: CustomerEntry, outcome: Outcome, reason: str = ""
) -> None:
    """One line for the customer and one for each of its subscriptions: they share a fate."""
    report.lines.append(Line("customer", entry.customer.id, outcome, entry.origin, reason))
    shared = "with its customer" if outcome is Outcome.REFUSED else ""
    for terms in entry.subscriptions:
        report.lines.append(Line("subscription", terms.id, outcome, terms.origin, shared))


def refused_lines(report: ImportReport) -> Sequence[Line]:
    return [line for line in report.lines if line.outcome is Outcome.REFUSED]
