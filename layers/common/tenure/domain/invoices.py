"""Invoices with itemized lines; the total is always the sum of the lines."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tenure.domain.errors import IllegalTransitionError
from tenure.domain.money import Money
from tenure.domain.plans import Plan, TaxBehavior, tax_included_in, tax_on


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class InvoiceKind(StrEnum):
    FIRST = "first"  # the first paid period of a subscription
    RENEWAL = "renewal"
    PRORATION = "proration"  # a plan change in the middle of a period


class LineKind(StrEnum):
    PLAN = "plan"
    PRORATION = "proration"
    DISCOUNT = "discount"
    TAX = "tax"
    CREDIT = "credit"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    kind: LineKind
    description: str
    amount: int  # minor units of the invoice's currency; negative for discounts and credits


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

    def next_due(self) -> tuple[datetime, str] | None:
        if self.status is not InvoiceStatus.OPEN:
            return None
        if self.next_attempt_at is not None:
            return self.next_attempt_at, "retry"
        if self.dunning_ends_at is not None:
            return self.dunning_ends_at, "dunning_end"
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
    def total_money(self) -> Money:
        return Money(self.total, self.currency)

    def mark_paid(self, at: datetime) -> None:
        if self.status is not InvoiceStatus.OPEN:
            raise IllegalTransitionError("pay", self.status, entity="invoice")
        self.status = InvoiceStatus.PAID
        self.paid_at = at
        self.next_attempt_at = None
        self.dunning_ends_at = None

    def void(self) -> None:
        if self.status not in (InvoiceStatus.DRAFT, InvoiceStatus.OPEN):
            raise IllegalTransitionError("void", self.status, entity="invoice")
        self.status = InvoiceStatus.VOID
        self.next_attempt_at = None
        self.dunning_ends_at = None


def plan_lines(plan: Plan, period_index: int, description: str) -> list[InvoiceLine]:
    """Plan, intro discount and tax lines for one full period of `plan`."""
    lines = [InvoiceLine(LineKind.PLAN, description, plan.amount)]
    discount = plan.discount_for_period(period_index).amount_minor
    if discount:
        percent = f"{plan.percent_off_for_period(period_index).normalize():f}"
        lines.append(InvoiceLine(LineKind.DISCOUNT, f"Introductory {percent}% off", -discount))
    return lines


def with_tax(lines: list[InvoiceLine], plan: Plan) -> list[InvoiceLine]:
    """Add the tax line. Inclusive tax is split out of the gross so the total stays the price."""
    taxable = sum(line.amount for line in lines if line.kind is not LineKind.CREDIT)
    if plan.tax_rate == 0 or taxable == 0:
        return lines
    rate = f"{plan.tax_rate.normalize():f}"
    if plan.tax_behavior is TaxBehavior.EXCLUSIVE:
        return [*lines, InvoiceLine(LineKind.TAX, f"Tax {rate}%", tax_on(taxable, plan.tax_rate))]
    included = tax_included_in(taxable, plan.tax_rate)
    if not included:
        return lines
    # The gross lines already contain the tax: move it to its own line without changing the total.
    # Take it out of the largest charged line (never out of a credit for unused time).
    net_lines = list(lines)
    n = max(range(len(net_lines)), key=lambda i: net_lines[i].amount)
    line = net_lines[n]
    net_lines[n] = InvoiceLine(line.kind, line.description, line.amount - included)
    return [*net_lines, InvoiceLine(LineKind.TAX, f"Tax {rate}% (included)", included)]


def apply_credit(lines: list[InvoiceLine], credit_available: int) -> tuple[list[InvoiceLine], int]:
    """Use customer credit against a positive total; returns the lines and the credit used."""
    total = sum(line.amount for line in lines)
    used = min(max(credit_available, 0), max(total, 0))
    if not used:
        return lines, 0
    return [*lines, InvoiceLine(LineKind.CREDIT, "Credit applied", -used)], used
