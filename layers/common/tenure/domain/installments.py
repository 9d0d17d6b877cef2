"""Installment plans: a one-off amount split into scheduled, interest-free charges.

The schedule machinery (`Every`, `split_amount`, `due_dates`, `Instalment`,
`build_instalments`) knows nothing about what the money is for, so a collections repayment
plan builds its instalments the same way; `InstallmentPlan` is the aggregate that owns one
schedule for a customer's one-off purchase (docs/installments.md).

Rules:
- 2 to 12 instalments, every week, two weeks or month;
- the amount is divided evenly in minor units; the remainder of the division goes on the
  first instalment (so the first is the largest and later ones are equal); an amount that
  does not give every instalment at least one minor unit is refused;
- the n-th instalment is due at start + n intervals, anchored on the start like the billing
  calendar (Jan 31 -> Feb 28 -> Mar 31), the first at the start itself;
- an instalment is invoiced when due and collected like any invoice; a failed one is dunned
  while the plan stands (`past_due`); when dunning ends unpaid the instalment is written off
  and the plan `defaulted`: its later instalments are canceled, never charged.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tenure.domain.calendar import BIWEEKLY, MONTHLY, WEEKLY, Interval, add_intervals, ensure_utc
from tenure.domain.due import DueKind
from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.ids import compact, digest, is_valid_id
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tenure.domain.money import UnknownCurrencyError, charge_step, charged_currency, off_step
from tenure.domain.timeutil import iso

MIN_COUNT = 2
MAX_COUNT = 12
MAX_DESCRIPTION = 200
# How far ahead a plan may start: a year, as a checkout or an upgrade plans it; further is
# more likely a typo, and the schedule must stay inside the dates the calendar can hold.
MAX_START_AHEAD = timedelta(days=366)


class Every(StrEnum):
    """How far apart instalments fall."""

    WEEK = "week"
    TWO_WEEKS = "two_weeks"
    MONTH = "month"

    @property
    def interval(self) -> Interval:
        return {Every.WEEK: WEEKLY, Every.TWO_WEEKS: BIWEEKLY, Every.MONTH: MONTHLY}[self]


def parse_every(value: object, field_name: str = "every") -> Every:
    if isinstance(value, str) and value in Every.__members__.values():
        return Every(value)
    raise ValidationFailedError(field_name, f"must be one of {', '.join(Every)}, got {value!r}")


def check_count(count: object, low: int = MIN_COUNT, high: int = MAX_COUNT) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not low <= count <= high:
        raise ValidationFailedError("count", f"must be an integer from {low} to {high}")
    return count


def split_amount(amount: int, count: int, step: int = 1) -> list[int]:
    """`amount` minor units in `count` parts: equal multiples of `step` (money.charge_step:
    10 where providers charge three-decimal currencies only in tens), the remainder on the
    first. Refused (ValidationFailedError on `amount`) when a part would not be positive."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailedError("amount", "must be an integer number of minor units")
    steps, below = divmod(amount, step)
    share, remainder = divmod(steps, count)
    if share < 1:
        raise ValidationFailedError(
            "amount",
            f"{amount} minor units do not split into {count} positive instalments "
            f"(at least {count * step} needed)",
        )
    return [(share + remainder) * step + below, *([share * step] * (count - 1))]


def check_whole_steps(amount: int, currency: str, step: int) -> None:
    """Refuse (ValidationFailedError on `amount`) an amount that is not a whole number of
    `step`s: in a three-decimal currency the part below ten would make one instalment that
    Stripe cannot charge (KWD 1.001: no split of it ends every part in 0), so the plan
    could only default."""
    why = off_step(amount, currency, step)
    if why:
        raise ValidationFailedError("amount", why)


def due_dates(start: datetime, every: Every, count: int) -> list[datetime]:
    """When each instalment is due: the start, then anchored steps from it."""
    return [add_intervals(start, every.interval, n) for n in range(count)]


class InstalmentStatus(StrEnum):
    SCHEDULED = "scheduled"  # not due yet: no invoice
    OPEN = "open"  # invoiced, being collected
    PAST_DUE = "past_due"  # a collection failed: dunning runs
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"  # dunning ended unpaid
    CANCELED = "canceled"  # never charged: the plan defaulted before it came due


@dataclass(slots=True)
class Instalment:
    number: int  # 1-based
    due_at: datetime
    amount: int  # minor units of the plan's currency
    invoice_id: str | None = None
    status: InstalmentStatus = InstalmentStatus.SCHEDULED

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "due_at": iso(self.due_at),
            "amount": self.amount,
            "invoice": self.invoice_id,
            "status": str(self.status),
        }


def build_instalments(amount: int, count: int, every: Every, start: datetime) -> list[Instalment]:
    """The schedule of `count` instalments of `amount`, from `start`, validated."""
    check_count(count)
    parts = split_amount(amount, count)
    dates = due_dates(start, every, count)
    return [
        Instalment(n + 1, at, part) for n, (at, part) in enumerate(zip(dates, parts, strict=True))
    ]


def _numbered(dates: list[datetime], parts: list[int]) -> list[Instalment]:
    pairs = zip(dates, parts, strict=True)
    return [Instalment(n, at, part) for n, (at, part) in enumerate(pairs, start=1)]


class PlanStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    DEFAULTED = "defaulted"
    CANCELED = "canceled"  # ended on request (or a repayment plan left): nothing charged after


def instalment_invoice_id(plan_id: str, number: int) -> str:
    return f"in_{plan_id}_installment_{number:02d}"


@dataclass(slots=True)
class InstallmentPlan:
    id: str
    customer_id: str
    amount: int
    currency: str
    count: int
    every: Every
    description: str
    start: datetime
    created_at: datetime
    status: PlanStatus = PlanStatus.ACTIVE
    instalments: list[Instalment] = field(default_factory=list)
    # A repayment plan: the collections case whose balance it pays off
    # (tenure.domain.collection_cases); None for a customer's one-off purchase.
    collection_case_id: str | None = None
    version: int = 0
    _events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def create(
        cls,
        plan_id: str,
        customer_id: str,
        amount: object,
        currency: object,
        count: object,
        every: object,
        description: object,
        start: datetime,
        now: datetime,
        min_count: int = MIN_COUNT,
    ) -> "InstallmentPlan":
        """A new plan, every rule checked (ValidationFailedError naming the field).
        `min_count`: 1 only for a collections case paid in full (one charge, now). An
        amount not in the currency's charge steps is refused, a collections case's too: it
        plans the part of its balance that can be charged (CollectionCase.chargeable)."""
        if not isinstance(plan_id, str) or not is_valid_id(plan_id):
            raise ValidationFailedError("id", "must be 1-64 letters, digits, '_', '.', '-'")
        try:
            code = charged_currency(currency)  # type: ignore[arg-type]
        except UnknownCurrencyError as exc:
            raise ValidationFailedError("currency", str(exc)) from exc
        if not isinstance(description, str) or not description.strip():
            raise ValidationFailedError("description", "must be a non-empty string")
        if len(description) > MAX_DESCRIPTION:
            raise ValidationFailedError(
                "description", f"must be at most {MAX_DESCRIPTION} characters"
            )
        if not description.isprintable():
            # It is printed on invoices, receipts and emails: no control or format characters.
            raise ValidationFailedError("description", "must not hold control characters")
        n = check_count(count, min_count)
        interval = parse_every(every)
        step = charge_step(code)
        parts = split_amount(amount, n, step)  # type: ignore[arg-type]
        check_whole_steps(sum(parts), code, step)
        start = ensure_utc(start)
        if start < now:
            raise ValidationFailedError("start", "must not be in the past")
        if start > now + MAX_START_AHEAD:
            raise ValidationFailedError("start", "must be within a year from now")
        dates = due_dates(start, interval, n)
        plan = cls(
            id=plan_id,
            customer_id=customer_id,
            amount=sum(parts),
            currency=code,
            count=n,
            every=interval,
            description=description.strip(),
            start=start,
            created_at=now,
            instalments=[
                Instalment(k + 1, at, part)
                for k, (at, part) in enumerate(zip(dates, parts, strict=True))
            ],
        )
        plan._record(EventType.INSTALLMENT_PLAN_CREATED, now, 0, plan.summary())
        return plan

    # -- reading --------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        return {
            "amount": self.amount,
            "currency": self.currency,
            "count": self.count,
            "every": str(self.every),
        }

    def instalment(self, number: int) -> Instalment:
        return self.instalments[number - 1]

    def by_invoice(self, invoice_id: str) -> Instalment | None:
        return next((i for i in self.instalments if i.invoice_id == invoice_id), None)

    def next_scheduled(self) -> Instalment | None:
        if self.status is not PlanStatus.ACTIVE:
            return None
        return next((i for i in self.instalments if i.status is InstalmentStatus.SCHEDULED), None)

    def next_due(self) -> tuple[datetime, DueKind] | None:
        """The next instalment to invoice, while the plan stands."""
        upcoming = self.next_scheduled()
        return (upcoming.due_at, DueKind.INSTALLMENT) if upcoming is not None else None

    @property
    def collected(self) -> int:
        return sum(i.amount for i in self.instalments if i.status is InstalmentStatus.PAID)

    # -- changes --------------------------------------------------------------------------
    def invoice_next(self, now: datetime) -> Invoice | None:
        """The next instalment's invoice when it is due at `now` (None otherwise): one line,
        "Instalment n of N: description". Its id is derived from the plan and the number,
        so a replay names the same invoice."""
        upcoming = self.next_scheduled()
        if upcoming is None or upcoming.due_at > now:
            return None
        invoice = Invoice(
            id=instalment_invoice_id(self.id, upcoming.number),
            subscription_id="",
            customer_id=self.customer_id,
            kind=InvoiceKind.INSTALLMENT,
            period_start=upcoming.due_at,
            period_end=upcoming.due_at,
            currency=self.currency,
            lines=[
                InvoiceLine(
                    LineKind.INSTALLMENT,
                    f"Instalment {upcoming.number} of {self.count}: {self.description}",
                    upcoming.amount,
                )
            ],
            status=InvoiceStatus.OPEN,
            created_at=now,
            installment_plan_id=self.id,
        )
        upcoming.invoice_id = invoice.id
        upcoming.status = InstalmentStatus.OPEN
        data = {"number": upcoming.number, "invoice": invoice.id, "amount": upcoming.amount}
        self._record(EventType.INSTALLMENT_INVOICED, now, upcoming.number, data)
        return invoice

    def record_paid(self, invoice_id: str, at: datetime) -> bool:
        """The instalment's invoice was paid. Returns whether the plan changed."""
        item = self.by_invoice(invoice_id)
        if item is None or item.status not in (InstalmentStatus.OPEN, InstalmentStatus.PAST_DUE):
            return False
        item.status = InstalmentStatus.PAID
        data = {"number": item.number, "invoice": invoice_id, "amount": item.amount}
        self._record(EventType.INSTALLMENT_PAID, at, item.number, data)
        if self.status is PlanStatus.ACTIVE and all(
            i.status is InstalmentStatus.PAID for i in self.instalments
        ):
            self.status = PlanStatus.COMPLETED
            self._record(EventType.INSTALLMENT_PLAN_COMPLETED, at, 0, self.summary())
        return True

    def record_failed(self, invoice_id: str, at: datetime) -> bool:
        """A collection of the instalment failed: past due while dunning runs."""
        item = self.by_invoice(invoice_id)
        if item is None or item.status is not InstalmentStatus.OPEN:
            return False
        item.status = InstalmentStatus.PAST_DUE
        data = {"number": item.number, "invoice": invoice_id}
        self._record(EventType.INSTALLMENT_PAST_DUE, at, item.number, data)
        return True

    def default(self, invoice_id: str, at: datetime) -> None:
        """Dunning of the instalment ended unpaid: it is written off, the plan defaulted,
        and the instalments not yet invoiced are canceled."""
        item = self.by_invoice(invoice_id)
        if (
            item is not None
            and self.status is PlanStatus.DEFAULTED
            and item.status in (InstalmentStatus.OPEN, InstalmentStatus.PAST_DUE)
        ):
            # A later instalment invoiced while an earlier one was still being dunned (weekly
            # plans) ends its own dunning after the plan defaulted: written off too.
            item.status = InstalmentStatus.UNCOLLECTIBLE
            return
        if item is None or self.status is not PlanStatus.ACTIVE:
            raise IllegalTransitionError("default", self.status, entity="installment plan")
        item.status = InstalmentStatus.UNCOLLECTIBLE
        for later in self.instalments:
            if later.status is InstalmentStatus.SCHEDULED:
                later.status = InstalmentStatus.CANCELED
        self.status = PlanStatus.DEFAULTED
        data = {"number": item.number, "invoice": invoice_id, "collected": self.collected}
        self._record(EventType.INSTALLMENT_PLAN_DEFAULTED, at, 0, data)

    def cancel(self, at: datetime) -> list[str]:
        """End the plan on request: nothing is charged from `at` on. The instalments not yet
        invoiced are canceled, and so is one being collected (invoiced, maybe past due): its
        invoice ids are returned, for the caller to void in the same commit. A plan paid in
        full, defaulted or canceled already is refused."""
        if self.status is not PlanStatus.ACTIVE:
            raise IllegalTransitionError("cancel", self.status, entity="installment plan")
        voided: list[str] = []
        canceled: list[int] = []
        for item in self.instalments:
            if item.status in (InstalmentStatus.OPEN, InstalmentStatus.PAST_DUE):
                voided.append(item.invoice_id or "")
            elif item.status is not InstalmentStatus.SCHEDULED:
                continue
            item.status = InstalmentStatus.CANCELED
            canceled.append(item.number)
        self.status = PlanStatus.CANCELED
        data = {"canceled": canceled, "voided": voided, "collected": self.collected}
        self._record(EventType.INSTALLMENT_PLAN_CANCELED, at, 0, data)
        return [v for v in voided if v]

    def cancel_between_instalments(self, at: datetime) -> None:
        """Cancel, refused while an instalment is being collected (its invoice is open): the
        money path owns it until it is paid or written off (a repayment plan the customer
        leaves, whose case takes the balance back)."""
        collecting = (InstalmentStatus.OPEN, InstalmentStatus.PAST_DUE)
        if self.status is PlanStatus.ACTIVE and any(
            i.status in collecting for i in self.instalments
        ):
            raise IllegalTransitionError(
                "cancel",
                self.status,
                "an instalment is being collected; cancel once it is paid",
                entity="installment plan",
            )
        self.cancel(at)

    def pull_events(self) -> list[DomainEvent]:
        events, self._events = self._events, []
        return events

    def _record(self, type_: EventType, at: datetime, seq: int, data: dict[str, Any]) -> None:
        self._events.append(DomainEvent(type_, self.id, self.customer_id, at, seq, data))


def plan_id_for(customer_id: str, created_at: datetime, key: str) -> str:
    """An id for a plan made through the API without one: stable for one request."""
    return f"ipl_{digest(customer_id, compact(created_at), key, size=16)}"
