"""Collections cases: what a subscription that dunning left unpaid still owes, and the
repayment plan its customer chooses to pay it off (docs/collections.md).

A case opens when a subscription becomes unpaid, holding the lines of its owed invoices
(every amount explained). The customer pays it off by a repayment plan: an
`InstallmentPlan` (tenure.domain.installments) of the balance that names the case, so each
instalment is invoiced, claimed, charged, dunned, reminded and receipted by the machinery
every instalment rides. The case's own states:

    open -> in_plan -> settled | written_off
    in_plan -> open        (the plan was canceled before it finished: choose again)
    open -> settled        (the owed invoices got paid another way, e.g. a new card)

Settled: the balance reached zero. Written off: the repayment plan defaulted (dunning of an
instalment ended unpaid) and the rest is no longer collected.

A balance not in the currency's charge step (KWD 1.005: Stripe charges three-decimal
currencies only in tens of the minor unit) is collected in whole steps; the part under the
step, which no provider can charge, is forgiven when the rest is paid off (at once when
nothing else is owed), never rounded up: the customer is never charged more than they owe
(docs/collections.md).
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tenure.domain.errors import IllegalTransitionError, ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.ids import compact, digest
from tenure.domain.installments import Every, InstallmentPlan, check_count, parse_every
from tenure.domain.invoices import Invoice
from tenure.domain.money import Money, charge_step
from tenure.domain.timeutil import iso

REPAYMENT_DESCRIPTION = "Repayment of overdue balance"


class SettleAction(StrEnum):
    """What paying a case off does to its subscription."""

    REACTIVATE = "reactivate"  # active again from a new period, charged as a renewal
    CLOSE = "close"  # the case closes; the subscription stays unpaid and never renews


@dataclass(frozen=True, slots=True)
class CollectionsPolicy:
    """The business's collections terms (settings: TENURE_REPAYMENT_MIN_COUNT,
    TENURE_REPAYMENT_MAX_COUNT, TENURE_COLLECTIONS_SETTLE)."""

    min_count: int = 2
    max_count: int = 6
    settle: SettleAction = SettleAction.REACTIVATE
    # Only weekly and fortnightly plans: a debt spread over months is a loan, not a catch-up.
    every: tuple[Every, ...] = (Every.WEEK, Every.TWO_WEEKS)

    def __post_init__(self) -> None:
        if not 2 <= self.min_count <= self.max_count <= 12:
            raise ValueError(
                f"repayment counts must satisfy 2 <= min <= max <= 12, "
                f"got {self.min_count}..{self.max_count}"
            )


class CaseStatus(StrEnum):
    OPEN = "open"
    IN_PLAN = "in_plan"
    SETTLED = "settled"
    WRITTEN_OFF = "written_off"


@dataclass(frozen=True, slots=True)
class CaseLine:
    """One line of an owed invoice, as the customer will read it."""

    invoice_id: str
    period_start: datetime
    period_end: datetime
    description: str
    amount: int  # minor units; negative for discounts and credits

    def to_dict(self) -> dict[str, Any]:
        return {
            "invoice": self.invoice_id,
            "period_start": iso(self.period_start),
            "period_end": iso(self.period_end),
            "description": self.description,
            "amount": self.amount,
        }


def case_id_for(subscription_id: str, dunning_ended_at: datetime) -> str:
    """Stable for one subscription whose dunning ended unpaid at one moment (the failed
    attempt's, or the deadline's): a replay names one case, however late its outcome was
    recorded (a sweeper that confirms a decline after a crash opens the case minutes later
    than the calm run did, and must name the same case, its plans and their invoices)."""
    return f"cc_{digest(subscription_id, compact(dunning_ended_at), size=16)}"


@dataclass(slots=True)
class CollectionCase:
    id: str
    customer_id: str
    subscription_id: str
    currency: str
    lines: list[CaseLine]
    opened_at: datetime
    status: CaseStatus = CaseStatus.OPEN
    recovered: int = 0  # minor units paid towards the balance so far
    plan_id: str | None = None  # the standing (or last) repayment plan
    plans_made: int = 0  # how many plans were chosen: names the next one
    closed_at: datetime | None = None
    # Minor units no provider can charge, forgiven when the case settled: the balance left
    # under the currency's charge step (at most 9 fils in KWD); 0 in every other currency.
    forgiven: int = 0
    version: int = 0
    _events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def open(
        cls,
        customer_id: str,
        subscription_id: str,
        invoices: list[Invoice],
        at: datetime,
        dunning_ended_at: datetime | None = None,
    ) -> "CollectionCase | None":
        """The case for the owed `invoices` of a subscription that just became unpaid (`at`),
        its dunning having ended at `dunning_ended_at` (by default `at`), which names it;
        None when nothing is owed (every invoice was credited to zero)."""
        owed = sorted((i for i in invoices if i.owed), key=lambda i: (i.period_start, i.id))
        if not owed:
            return None
        currencies = {i.currency for i in owed}
        if len(currencies) != 1:
            # A subscription bills in one currency; two would be a bug upstream.
            raise ValueError(f"owed invoices of {subscription_id} mix currencies {currencies}")
        lines = [
            CaseLine(i.id, i.period_start, i.period_end, line.description, line.amount)
            for i in owed
            for line in i.lines
        ]
        case = cls(
            id=case_id_for(subscription_id, dunning_ended_at or at),
            customer_id=customer_id,
            subscription_id=subscription_id,
            currency=currencies.pop(),
            lines=lines,
            opened_at=at,
        )
        data = {"subscription_id": subscription_id, **case.money()}
        case._record(EventType.COLLECTION_CASE_OPENED, at, 0, data)
        return case

    # -- reading --------------------------------------------------------------------------
    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def balance(self) -> int:
        return self.total - self.recovered - self.forgiven

    @property
    def chargeable(self) -> int:
        """The part of the balance a provider can charge: whole charge steps (KWD 1.005 ->
        1.000); the rest is forgiven once this is paid."""
        return self.balance - self.balance % charge_step(self.currency)

    @property
    def invoice_ids(self) -> list[str]:
        return list(dict.fromkeys(line.invoice_id for line in self.lines))

    def money(self) -> dict[str, Any]:
        return {"balance": self.balance, "currency": self.currency}

    # -- changes --------------------------------------------------------------------------
    def choose_plan(
        self, count: object, every: object, policy: CollectionsPolicy, now: datetime
    ) -> InstallmentPlan:
        """The customer's repayment plan of the balance: `count` instalments `every` week or
        two weeks, the first due now, the remainder on the first. Refused (typed errors,
        nothing changed) on a case that is not open or a plan outside the policy."""
        if self.status is not CaseStatus.OPEN:
            raise IllegalTransitionError("choose a repayment plan", self.status, entity="case")
        n = check_count(count, policy.min_count, policy.max_count)
        interval = parse_every(every)
        if interval not in policy.every:
            allowed = ", ".join(policy.every)
            raise ValidationFailedError("every", f"must be one of {allowed}, got {every!r}")
        if self.balance > 0 and self.chargeable == 0:
            raise ValidationFailedError(
                "count",
                f"the balance ({self.balance} minor units of {self.currency}) is under the "
                f"least {self.currency} can be charged ({charge_step(self.currency)}): pay it "
                "in full, which forgives it",
            )
        if self.chargeable < n * charge_step(self.currency):
            # The balance is the case's, not the customer's to send: what they chose, and
            # can choose otherwise, is the count (a 422 on `count`, not on an absent field).
            raise ValidationFailedError("count", self._too_small_for(n))
        return self._plan(n, interval, now)

    def _too_small_for(self, n: int) -> str:
        """Why the balance does not split into `n` instalments, naming it as the customer
        sees it (KWD 0.025) and, when it is not all chargeable, the part that is charged
        and the part under the charge step that is forgiven (docs/collections.md)."""
        step = charge_step(self.currency)
        said = f"the balance, {Money(self.balance, self.currency)} ({self.balance} minor units),"
        under = self.balance - self.chargeable
        if under:
            said += (
                f" is charged as {self.chargeable} minor units (the {under} under "
                f"{self.currency}'s charge step of {step} are forgiven once it is paid), which"
            )
        return (
            f"{said} does not split into {n} positive instalments (at least {n * step} "
            "minor units needed); choose fewer"
        )

    def pay_in_full(self, now: datetime) -> InstallmentPlan | None:
        """The whole balance in one charge, now: a plan of one instalment, so the money
        moves by the same claim, key, dunning and receipt as every instalment. None when
        no provider could charge any of it (KWD 0.005): forgiven, the case settles now."""
        if self.status is not CaseStatus.OPEN:
            raise IllegalTransitionError("pay", self.status, entity="case")
        if self.balance > 0 and self.chargeable == 0:
            self._settle_if_paid(now)
            return None
        return self._plan(1, Every.WEEK, now)

    def _plan(self, n: int, interval: Every, now: datetime) -> InstallmentPlan:
        plan = InstallmentPlan.create(
            f"{self.id}_p{self.plans_made + 1}",
            self.customer_id,
            self.chargeable,  # in whole steps, so every instalment can be charged
            self.currency,
            n,
            interval,
            REPAYMENT_DESCRIPTION,
            now,
            now,
            min_count=1,
        )
        plan.collection_case_id = self.id
        self.plans_made += 1
        self.plan_id = plan.id
        self.status = CaseStatus.IN_PLAN
        data = {"plan": plan.id, "count": n, "every": str(interval), **self.money()}
        self._record(EventType.REPAYMENT_PLAN_CHOSEN, now, self.plans_made, data)
        return plan

    def cancel_plan(self, at: datetime) -> None:
        """The customer left the standing plan (its plan is canceled alongside): the case is
        open again for what is left, and another plan may be chosen."""
        if self.status is not CaseStatus.IN_PLAN:
            raise IllegalTransitionError("cancel the repayment plan", self.status, entity="case")
        self.status = CaseStatus.OPEN
        data = {"plan": self.plan_id, "recovered": self.recovered, **self.money()}
        self._record(EventType.REPAYMENT_PLAN_CANCELED, at, self.plans_made, data)

    def record_instalment_paid(self, amount: int, at: datetime) -> bool:
        """An instalment of the standing plan was paid. Returns whether the case settled."""
        if self.status is not CaseStatus.IN_PLAN:
            return False
        self.recovered += amount
        return self._settle_if_paid(at)

    def record_invoice_paid(self, invoice_id: str, at: datetime) -> bool:
        """One of the case's own invoices was paid directly (a new card retried it) before
        any plan: its lines are recovered, and the case settles when nothing is left.
        Returns whether the case changed."""
        if self.status is not CaseStatus.OPEN or invoice_id not in self.invoice_ids:
            return False
        self.recovered += sum(ln.amount for ln in self.lines if ln.invoice_id == invoice_id)
        self._settle_if_paid(at)
        return True

    def write_off(self, at: datetime) -> None:
        """The repayment plan defaulted: what is left is no longer collected."""
        if self.status is not CaseStatus.IN_PLAN:
            raise IllegalTransitionError("write off", self.status, entity="case")
        self.status = CaseStatus.WRITTEN_OFF
        self.closed_at = at
        data = {"recovered": self.recovered, **self.money()}
        self._record(EventType.COLLECTION_CASE_WRITTEN_OFF, at, 0, data)

    def pull_events(self) -> list[DomainEvent]:
        events, self._events = self._events, []
        return events

    def _settle_if_paid(self, at: datetime) -> bool:
        """Settle once nothing chargeable is left: what remains under the charge step is
        forgiven (only ever in a three-decimal currency)."""
        if self.chargeable > 0:
            return False
        self.forgiven += max(self.balance, 0)
        self.status = CaseStatus.SETTLED
        self.closed_at = at
        data: dict[str, Any] = {"recovered": self.recovered, "currency": self.currency}
        if self.forgiven:  # absent otherwise: the event reads as it always did
            data["forgiven"] = self.forgiven
        self._record(EventType.COLLECTION_CASE_SETTLED, at, 0, data)
        return True

    def _record(self, type_: EventType, at: datetime, seq: int, data: dict[str, Any]) -> None:
        self._events.append(DomainEvent(type_, self.id, self.customer_id, at, seq, data))
