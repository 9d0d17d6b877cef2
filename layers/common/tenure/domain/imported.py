"""Customers, plans and subscriptions brought from another billing system, in Tenure's words.

The readers of each source (tenure.imports) turn its objects or rows into these; the import
use case (tenure.services.imports) writes them. What a subscription may be to be taken over
is decided here, once for every source: its current period must fall on its billing cycle,
so that the first renewal Tenure makes is the one the old system would have made.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tenure.domain.calendar import add_intervals, period_index_at
from tenure.domain.customers import Customer, PaymentMethod
from tenure.domain.events import EventType
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.domain.timeutil import iso, utc

# The customer metadata key that says where an imported customer came from: a second import
# of the same source finds it and changes nothing.
IMPORTED_FROM = "imported_from"


def card_number_like(value: str) -> bool:
    """Whether a payment-method id is digits (a card number pasted where a provider token
    belongs): refused, and never repeated in a report."""
    digits = value.replace(" ", "").replace("-", "")
    return digits.isdigit() and len(digits) >= 8


CARD_NUMBER_REFUSAL = "its payment method is digits, like a card number: give the provider's token"


class ImportRefusedError(ValueError):
    """What a source says cannot be taken over as it is; the reason is for the report."""


class TermsStatus(StrEnum):
    """The states a subscription can be taken over in."""

    TRIALING = "trialing"
    ACTIVE = "active"
    PAUSED = "paused"  # no billing until `paused_until` (None: until resumed)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionTerms:
    """A subscription as the other system holds it: the facts Tenure keeps exactly."""

    id: str
    customer_id: str
    plan_id: str
    status: TermsStatus
    created_at: datetime
    anchor: datetime  # the billing cycle anchor: periods are counted from it
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None = None
    cancel_at_period_end: bool = False
    paused_until: datetime | None = None
    origin: str = ""  # where it was read (file and object or row), for the report


@dataclass(slots=True, kw_only=True)
class CustomerEntry:
    """One customer to import whole (with its payment methods and subscriptions) or not at all.
    `problems`: why the reader already refused it (the import then writes nothing of it)."""

    customer: Customer
    origin: str
    provider: str = "stripe"  # the payment provider its provider ids (cus_, pm_) belong to
    payment_methods: list[PaymentMethod] = field(default_factory=list)
    subscriptions: list[SubscriptionTerms] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class PlanEntry:
    """One plan to import; `plan` is None when the reader refused it (`problem` says why)."""

    id: str
    origin: str
    plan: Plan | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """Something of the source the import did not take: `refused` when it should have been
    imported and could not be (the run fails), else left out by design (a canceled
    subscription, an object type Tenure does not hold)."""

    origin: str
    kind: str
    id: str
    reason: str
    refused: bool


@dataclass(slots=True)
class ImportBatch:
    """Everything a source said, read and mapped, before anything is written."""

    source: str  # "stripe" or "csv": kept on each customer (IMPORTED_FROM)
    plans: list[PlanEntry] = field(default_factory=list)
    customers: list[CustomerEntry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def subscription_from_terms(terms: SubscriptionTerms, plan: Plan, now: datetime) -> Subscription:
    """The subscription Tenure holds for `terms`, on `plan`, taken over at `now`: the same
    anchor, current period and trial end, so that it next renews (or converts) exactly when
    the old system would have. Refused (ImportRefusedError) when the facts do not hold
    together or the current period is already over (the old system has billed the next one,
    or is about to: Tenure must not bill it a second time)."""
    now = utc(now)
    start, end = utc(terms.current_period_start), utc(terms.current_period_end)
    anchor = utc(terms.anchor)
    if end <= start:
        raise ImportRefusedError(
            f"its current period ends ({iso(end)}) before it starts ({iso(start)})"
        )
    if end <= now:
        raise ImportRefusedError(
            f"its current period ended at {iso(end)}: the old system bills the next one; "
            "export it again after that renewal"
        )
    if terms.status is TermsStatus.TRIALING:
        if terms.trial_end is None or utc(terms.trial_end) != end:
            raise ImportRefusedError(
                f"it is trialing, but its trial end ({iso(terms.trial_end)}) is not the end of "
                f"its current period ({iso(end)})"
            )
        if anchor != end:
            raise ImportRefusedError(
                f"it is trialing, but its billing anchor ({iso(anchor)}) is not its trial end "
                f"({iso(end)})"
            )
    if terms.paused_until is not None and utc(terms.paused_until) <= now:
        raise ImportRefusedError(f"its pause ended at {iso(terms.paused_until)} already")
    if terms.cancel_at_period_end and terms.status is TermsStatus.PAUSED:
        raise ImportRefusedError("it is paused and set to cancel: Tenure holds one or the other")
    periods, cycle = _position(terms, plan, anchor, start, end)
    trialing = terms.status is TermsStatus.TRIALING
    sub = Subscription(
        id=terms.id,
        customer_id=terms.customer_id,
        plan_id=plan.id,
        currency=plan.currency,
        status=SubscriptionStatus(terms.status.value),
        created_at=utc(terms.created_at),
        anchor=anchor,
        periods_since_anchor=periods,
        cycle=cycle,
        current_period_start=start,
        current_period_end=end,
        trial_end=utc(terms.trial_end) if terms.trial_end is not None else None,
        cancel_at_period_end=terms.cancel_at_period_end,
        # Paid time runs from the first paid period Tenure can see: the anchor's, or the
        # current one when the anchor lies ahead of it.
        continuity_start=None if trialing else min(anchor, start),
    )
    if terms.status is TermsStatus.PAUSED:
        sub.paused_at = now
        sub.paused_until = utc(terms.paused_until) if terms.paused_until else None
    facts: dict[str, object] = {
        "status": sub.status,
        "plan": plan.id,
        "period_start": iso(start),
        "period_end": iso(end),
    }
    if sub.trial_end is not None:
        facts["trial_end"] = iso(sub.trial_end)
    if sub.paused_at is not None:
        facts["paused_until"] = iso(sub.paused_until)
    if sub.cancel_at_period_end:
        facts["cancel_at"] = iso(end)
    sub.record_import(now, **facts)
    sub.sync_mrr(plan, now, EventType.SUBSCRIPTION_IMPORTED)
    return sub


def _position(
    terms: SubscriptionTerms, plan: Plan, anchor: datetime, start: datetime, end: datetime
) -> tuple[int, int]:
    """(periods since the anchor, paid cycle) of the current period, so that the renewal's
    own formula (the anchor plus n + 1 intervals) gives the next period's end."""
    if terms.status is TermsStatus.TRIALING:
        return -1, -1
    interval = plan.billing_interval
    if end == anchor:
        # A first period that ends on the anchor (a trial just converted, or a prorated
        # start before an anchor set ahead): the cycle proper starts at its end.
        return -1, 0
    if anchor <= start:
        n = period_index_at(anchor, interval, start)
        if (
            add_intervals(anchor, interval, n) == start
            and add_intervals(anchor, interval, n + 1) == end
        ):
            return n, n
    raise ImportRefusedError(
        f"its current period {iso(start)} to {iso(end)} does not fall on the billing cycle of "
        f"plan {plan.id} (every {interval.count} {plan.interval}) counted from its anchor "
        f"{iso(anchor)}"
    )
