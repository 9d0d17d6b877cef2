"""Invoices with itemized lines; the total is always the sum of the lines."""

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

from tenure.domain.due import DueKind
from tenure.domain.errors import IllegalTransitionError
from tenure.domain.money import Money, charge_step
from tenure.domain.plans import Plan, PricedItem, TaxBehavior, tax_included_in, tax_on


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class RefundStatus(StrEnum):
    """Where one refund stands at the provider (Stripe's refund statuses)."""

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class DisputeStatus(StrEnum):
    """Where a dispute (chargeback) of the invoice's payment stands; providers' own statuses
    map onto these four."""

    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"


# Status precedence: a status only ever moves to one of higher rank, so facts applied in any
# order end in the same place. A refund that failed or was canceled stays so; a lost dispute
# is final (a later "won" cannot give the money back).
REFUND_RANK = {
    RefundStatus.PENDING: 0,
    RefundStatus.REQUIRES_ACTION: 0,
    RefundStatus.SUCCEEDED: 1,
    RefundStatus.FAILED: 2,
    RefundStatus.CANCELED: 2,
}
DISPUTE_RANK = {
    DisputeStatus.NEEDS_RESPONSE: 0,
    DisputeStatus.UNDER_REVIEW: 1,
    DisputeStatus.WON: 2,
    DisputeStatus.LOST: 3,
}
# Refunds that take money back (a pending refund already counts, as it does at Stripe).
COUNTED_REFUNDS = frozenset(
    {RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION, RefundStatus.SUCCEEDED}
)


@dataclass(frozen=True, slots=True)
class RefundRecord:
    """One refund of the invoice's payment, as last reported by the provider."""

    amount: int  # minor units of the invoice's currency
    status: RefundStatus
    at: datetime  # when the provider reported this status (its clock, not ours)

    def outranks(self, other: "RefundRecord") -> bool:
        return (REFUND_RANK[self.status], self.at, self.amount) > (
            REFUND_RANK[other.status],
            other.at,
            other.amount,
        )


class InvoiceKind(StrEnum):
    FIRST = "first"  # the first paid period of a subscription
    RENEWAL = "renewal"
    PRORATION = "proration"  # a plan change in the middle of a period
    INSTALLMENT = "installment"  # one instalment of an installment plan (no subscription)


class LineKind(StrEnum):
    PLAN = "plan"
    PRORATION = "proration"
    DISCOUNT = "discount"
    TAX = "tax"
    CREDIT = "credit"
    COUPON = "coupon"  # a coupon's discount (tenure.domain.discounts), negative
    TENURE_DISCOUNT = "tenure_discount"  # the tenure ladder's step (tenure.domain.discounts)
    POINTS_CREDIT = "points_credit"  # loyalty points redeemed (tenure.domain.points), negative
    INSTALLMENT = "installment"  # one instalment of an installment plan


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    kind: LineKind
    description: str
    amount: int  # minor units of the invoice's currency; negative for discounts and credits


class OwedRefundStatus(StrEnum):
    """Where an owed refund stands, in the words of Stripe's refund statuses."""

    PENDING = "pending"  # still being tried under its key
    FAILED = "failed"  # the tries stopped without a refund: a person decides


class OwedRefundFailure(StrEnum):
    """Why the tries of an owed refund stopped (Stripe's `failure_reason`, in our terms)."""

    UNANSWERED = "provider_unanswered"  # no answer before the key's 23 hours ran out
    REFUSED = "provider_refused"  # the provider refused the refund for good


@dataclass(frozen=True, slots=True)
class OwedRefund:
    """A refund a cancellation asked for: recorded in the cancellation's own commit, before
    the provider is asked, so a crash or a provider that does not answer leaves it owed and
    due, never forgotten. `number` fixes its idempotency key (`refund:{invoice}:{number}`):
    every try sends the same request, so the provider refunds once. When the tries stop
    without a refund it stays on the invoice as failed (no longer due), so the customer's
    missing money shows in the API and state.json until a refund is recorded."""

    number: int
    amount: int  # minor units, in the invoice's currency, fixed when asked for
    basis: str  # how the amount was decided (refunds.RefundBasis)
    reason: str | None
    asked_at: datetime
    next_try_at: datetime
    tries: int = 0  # tries that ended without an answer (after the one at the cancellation)
    status: OwedRefundStatus = OwedRefundStatus.PENDING
    failed_at: datetime | None = None
    failure: OwedRefundFailure | None = None
    refunded_before: int = 0  # the invoice's amount refunded when it was asked for

    @property
    def pending(self) -> bool:
        return self.status is OwedRefundStatus.PENDING

    def tried_again(self, now: datetime, wait: timedelta) -> "OwedRefund":
        return replace(self, tries=self.tries + 1, next_try_at=now + wait)

    def given_up(self, now: datetime, failure: OwedRefundFailure) -> "OwedRefund":
        return replace(self, status=OwedRefundStatus.FAILED, failed_at=now, failure=failure)


@dataclass(slots=True)
class Invoice:
    id: str
    subscription_id: str
    customer_id: str
    kind: InvoiceKind
    period_start: datetime
    period_end: datetime
    currency: str
    lines: list[InvoiceLine]
    status: InvoiceStatus
    created_at: datetime
    paid_at: datetime | None = None
    credit_applied: int = 0
    version: int = 0
    attempts: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    failures: int = 0  # failed payment attempts (declines), for the dunning schedule
    first_failed_at: datetime | None = None
    next_attempt_at: datetime | None = None  # the next scheduled retry (soft declines)
    dunning_ends_at: datetime | None = None  # when waiting for a new card ends (hard declines)
    # Refunds made at the provider (its dashboard or API), by refund id, and the latest total
    # the provider reported for the payment (when it does not list the refunds themselves).
    amount_refunded: int = 0
    refunds: dict[str, RefundRecord] = field(default_factory=dict)
    refunded_total_seen: int = 0
    refunded_total_at: datetime | None = None
    # A dispute (chargeback) of the payment: while open, dunning of this invoice is paused.
    disputed: bool = False
    dispute_id: str | None = None
    dispute_status: DisputeStatus | None = None
    dispute_at: datetime | None = None
    # A refund a cancellation asked for, written with the cancellation and due until made
    # (or kept as failed when the tries stopped without one).
    refund_owed: OwedRefund | None = None
    # An instalment's invoice belongs to its installment plan, not to a subscription
    # (`subscription_id` is then ""): the plan is what dunning's final action changes.
    installment_plan_id: str | None = None
    # The legal number (tenure.domain.numbering), given by the store in the commit that first
    # writes the invoice finalized: None before, never changed after (a void keeps it).
    number: str | None = None
    # Credit notes issued against it (tenure.domain.credit_notes): how many, and their sum.
    credit_notes: int = 0
    credited: int = 0
    # The part of `credited` that credits refunds (the rest are adjustments), and the day's
    # close at which refunds the provider reported are credited (None: nothing to look at).
    refunds_credited: int = 0
    credit_due_at: datetime | None = None
    # Of its payment, what was given back as credit for unused time (a pause, a plan or seat
    # change inside its period), the part of that which went to the subscription's credit
    # balance (the rest paid the new plan's time at once), and the part of
    # `amount_refunded` already set against unused time: tenure.domain.unused_credit.
    unused_credited: int = 0
    unused_to_balance: int = 0
    refunds_netted: int = 0
    # Credit its refunds kept from the customer, still kept: taken back from the balance, or
    # not given by a pause or change because a refund had given that time back already. A
    # refund that fails gives it back (tenure.domain.unused_credit.give_back).
    credit_taken_back: int = 0
    # Its subscription keeps what of its unused time the credit holds by invoice
    # (Subscription.credit_kept) from its first crediting on: not listed there then means
    # none held (entries are dropped at zero), unlike an invoice credited before credit was
    # kept, whose share of the balance tells.
    credit_kept_by_id: bool = False

    @property
    def finalized(self) -> bool:
        """Past draft: its lines are fixed and it carries (or is about to get) a number."""
        return self.status is not InvoiceStatus.DRAFT

    def next_due(self) -> tuple[datetime, DueKind] | None:
        if self.refund_owed is not None and self.refund_owed.pending:
            return self.refund_owed.next_try_at, DueKind.REFUND
        if self.credit_due_at is not None:
            return self.credit_due_at, DueKind.CREDIT
        if self.status is not InvoiceStatus.OPEN:
            return None
        if self.dispute_open:
            return None  # dunning waits while the bank decides
        if self.next_attempt_at is not None:
            return self.next_attempt_at, DueKind.RETRY
        if self.dunning_ends_at is not None:
            return self.dunning_ends_at, DueKind.DUNNING_END
        return None

    def mark_uncollectible(self) -> None:
        if self.status is not InvoiceStatus.OPEN:
            raise IllegalTransitionError("write off", self.status, entity="invoice")
        self.status = InvoiceStatus.UNCOLLECTIBLE
        self.next_attempt_at = None
        self.dunning_ends_at = None

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def late(self) -> bool:
        """Not paid by its first attempt: paid after a failure, or still unpaid after one, or
        written off. Once late, always late (failures only grow; a write-off is final)."""
        return self.failures > 0 or self.status is InvoiceStatus.UNCOLLECTIBLE

    @property
    def owed(self) -> bool:
        """Open with something to pay: the only invoices anyone collects."""
        return self.status is InvoiceStatus.OPEN and self.total > 0

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)

    def mark_paid(self, at: datetime) -> None:
        if self.status is not InvoiceStatus.OPEN:
            raise IllegalTransitionError("pay", self.status, entity="invoice")
        self.status = InvoiceStatus.PAID
        self.paid_at = at
        self.next_attempt_at = None
        self.dunning_ends_at = None
        if self.dispute_status is DisputeStatus.LOST:
            # The provider reported the lost dispute before the payment itself: paid, and
            # written off at once, as if the facts had come in order.
            self.status = InvoiceStatus.UNCOLLECTIBLE

    # -- refunds and disputes reported by the provider (webhooks) --------------------------
    def record_refund(
        self, refund_id: str, amount: int, status: RefundStatus, at: datetime
    ) -> bool:
        """Take in one refund's state; an older or lower-precedence report changes nothing.
        Returns whether the report was taken (`amount_refunded` follows)."""
        record = RefundRecord(amount, status, at)
        known = self.refunds.get(refund_id)
        if known is not None and not record.outranks(known):
            return False
        self.refunds[refund_id] = record
        self._recount_refunds()
        return True

    def record_refunded_total(self, amount_refunded: int, at: datetime) -> bool:
        """Take in the payment's refunded total as the provider reported it at `at` (the
        newest report wins). Returns whether the report was taken."""
        held_at = self.refunded_total_at
        if held_at is not None and (at, amount_refunded) <= (held_at, self.refunded_total_seen):
            return False
        self.refunded_total_at, self.refunded_total_seen = at, amount_refunded
        self._recount_refunds()
        return True

    def _recount_refunds(self) -> None:
        counted = sum(r.amount for r in self.refunds.values() if r.status in COUNTED_REFUNDS)
        total = self.refunded_total_seen
        if self.refunded_total_at is not None:
            # Refunds that failed after the provider's total was taken no longer count in it.
            total -= sum(
                r.amount
                for r in self.refunds.values()
                if r.status not in COUNTED_REFUNDS and r.at > self.refunded_total_at
            )
        self.amount_refunded = min(max(counted, total, 0), max(self.total, 0))

    def schedule_refund_credit(self, now: datetime) -> None:
        """The provider reported a refund of this invoice: look at what settled at the day's
        close (the next 00:00 UTC), or at the close already set when it is sooner."""
        close = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(), UTC)
        if self.credit_due_at is None or close < self.credit_due_at:
            self.credit_due_at = close

    @property
    def refunds_settled(self) -> int:
        """What the provider's refunds that succeeded took back, by their own reports."""
        return sum(r.amount for r in self.refunds.values() if r.status is RefundStatus.SUCCEEDED)

    def settle_failed_refund(self) -> bool:
        """Forget an owed refund whose tries failed once the provider reports its amount
        refunded on top of what was refunded when it was asked for (the refund a lost answer
        hid, or one made in the provider's dashboard): the money went back after all."""
        owed = self.refund_owed
        if owed is None or owed.pending:
            return False
        if self.amount_refunded < owed.refunded_before + owed.amount:
            return False
        self.refund_owed = None
        return True

    @property
    def refunds_reported(self) -> int:
        """Everything the provider ever reported refunded of the payment: what counts now and
        what failed after being reported. It only grows, so it tells one refund from another
        of the same amount made after one failed (a receipt each)."""
        failed = sum(r.amount for r in self.refunds.values() if r.status not in COUNTED_REFUNDS)
        return self.amount_refunded + failed

    @property
    def refund_status(self) -> str:
        """none | partial | full: how much of what was paid went back to the customer."""
        if self.amount_refunded <= 0:
            return "none"
        return "full" if self.amount_refunded >= self.total else "partial"

    @property
    def dispute_open(self) -> bool:
        return self.dispute_status in (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.UNDER_REVIEW)

    def record_dispute(self, dispute_id: str, status: DisputeStatus, at: datetime) -> bool:
        """Take in a dispute's state; a lower-precedence or older report changes nothing.

        A lost dispute writes the invoice off (the bank took the money back for good); one
        reported before the payment itself is applied when the payment is (`mark_paid`).
        Returns whether anything changed."""
        if self.dispute_status is not None and self.dispute_at is not None:
            held = (DISPUTE_RANK[self.dispute_status], self.dispute_at)
            if (DISPUTE_RANK[status], at) <= held:
                return False
        self.disputed = True
        self.dispute_id = dispute_id
        self.dispute_status = status
        self.dispute_at = at
        if status is DisputeStatus.LOST and self.status is InvoiceStatus.PAID:
            self.status = InvoiceStatus.UNCOLLECTIBLE
        return True

    def void(self) -> None:
        if self.status not in (InvoiceStatus.DRAFT, InvoiceStatus.OPEN):
            raise IllegalTransitionError("void", self.status, entity="invoice")
        self.status = InvoiceStatus.VOID
        self.next_attempt_at = None
        self.dunning_ends_at = None


def plan_lines(plan: Plan, period_index: int, description: str) -> list[InvoiceLine]:
    """Plan, intro discount and tax lines for one full period of `plan`: one plan line per
    item when it is priced for a subscription's items (tenure.domain.pricing)."""
    lines = [InvoiceLine(LineKind.PLAN, description, plan.amount)]
    if plan.items:
        # The description names the plan then the period: each item names itself instead.
        period = description.removeprefix(plan.name or plan.id)
        lines = [
            InvoiceLine(LineKind.PLAN, item_description(item) + period, item.amount)
            for item in plan.items
        ]
    discount = plan.discount_for_period(period_index).amount_minor
    if discount:
        percent = f"{plan.percent_off_for_period(period_index).normalize():f}"
        lines.append(InvoiceLine(LineKind.DISCOUNT, f"Introductory {percent}% off", -discount))
    return lines


def item_description(item: PricedItem) -> str:
    """ "Team: 5 × 1000" (minor units each), or "Team: 12 units" when tiers price it; read
    back by tenure.notify.lines, which words it in the customer's language."""
    if item.unit_amount is None:
        return f"{item.name}: {item.quantity} units"
    return f"{item.name}: {item.quantity} × {item.unit_amount}"


def with_tax(lines: list[InvoiceLine], plan: Plan) -> list[InvoiceLine]:
    """Add the tax line. Inclusive tax is split out of the gross so the total stays the price."""
    taxable = sum(line.amount for line in lines if line.kind is not LineKind.CREDIT)
    if plan.tax_rate == 0 or taxable == 0:
        return lines
    rate = f"{plan.tax_rate.normalize():f}"
    step = charge_step(plan.currency)  # KWD tax in tens of fils, as Stripe charges it
    if plan.tax_behavior is TaxBehavior.EXCLUSIVE:
        tax = tax_on(taxable, plan.tax_rate, step)
        return [*lines, InvoiceLine(LineKind.TAX, f"Tax {rate}%", tax)]
    included = tax_included_in(taxable, plan.tax_rate, step)
    if not included:
        return lines
    # The gross lines already contain the tax: move it to its own line without changing the total.
    # Take it out of the largest charged line (never out of a credit for unused time).
    net_lines = list(lines)
    n = max(range(len(net_lines)), key=lambda i: net_lines[i].amount)
    line = net_lines[n]
    net_lines[n] = InvoiceLine(line.kind, line.description, line.amount - included)
    return [*net_lines, InvoiceLine(LineKind.TAX, f"Tax {rate}% (included)", included)]


def carried_line(amount: int) -> InvoiceLine:
    """A plan change's charge that rides this invoice (tax included, as it was worked out)."""
    return InvoiceLine(LineKind.PRORATION, "Plan change carried from the last period", amount)


def apply_credit(lines: list[InvoiceLine], credit_available: int) -> tuple[list[InvoiceLine], int]:
    """Use customer credit against a positive total; returns the lines and the credit used."""
    total = sum(line.amount for line in lines)
    used = min(max(credit_available, 0), max(total, 0))
    if not used:
        return lines, 0
    return [*lines, InvoiceLine(LineKind.CREDIT, "Credit applied", -used)], used
