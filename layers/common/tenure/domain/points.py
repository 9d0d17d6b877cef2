"""Loyalty points: earned on paid invoices, redeemed as a credit on the next invoice,
reversed in proportion when a payment is refunded.

A customer's points live in one account: `balance` (points that can be redeemed) and
`pending` (points redeemed and waiting for the next period invoice of the subscription they
were given to). Every change of it is a `PointsMove`: how the balance and the pending
points move, on what condition (a redemption only while the balance covers it, so two
concurrent redemptions cannot overdraw), and the history entry it leaves. History entries
are `earned` (+), `redeemed` (−, on the invoice they credited) and `reversed` (−, the share
of an invoice's points a refund takes back); earned + redeemed + reversed = balance + pending.

A redemption moves points from the balance to `pending` and onto the subscription whose
next invoice comes first (`Subscription.points_pending`), so the renewal that builds that
invoice reads nothing: it writes a `points_credit` line of as many of those points as the
invoice can take (`points_credit_line`: never below zero, whole points only), and the rest
goes back to the balance.

A refund reverses `floor(points earned × amount refunded so far ÷ amount paid)` minus what
earlier refunds of the invoice reversed already, all of it, even when the points were spent
meanwhile: the balance then goes below zero (decided, as loyalty programs commonly do: a
refund never leaves the customer both the money and the credit its points bought). Later
earnings make up for the deficit first, and nothing can be redeemed until the balance
covers the redemption again; the history shows the whole reversal.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from math import gcd

from tenure.domain.invoices import InvoiceLine, LineKind


class PointsKind(StrEnum):
    EARNED = "earned"
    REDEEMED = "redeemed"
    REVERSED = "reversed"


@dataclass(frozen=True, slots=True)
class PointsEntry:
    """One line of a customer's points history; `points` is signed (+ earned)."""

    customer_id: str
    at: datetime
    kind: PointsKind
    points: int
    invoice: str | None = None
    # earned: the amount paid that earned it; reversed: the invoice's amount refunded so far
    # (minor units), which the next refund's reversal counts from.
    amount: int = 0


# At one moment, the story's order: points credited on an invoice, earned by its payment,
# taken back by its refund.
KIND_RANK = {PointsKind.REDEEMED: 0, PointsKind.EARNED: 1, PointsKind.REVERSED: 2}


def entry_order(entry: PointsEntry) -> tuple[datetime, int, str, int]:
    """History order: by time, then kind, invoice and refund (the store's key order)."""
    return (entry.at, KIND_RANK[entry.kind], entry.invoice or "", entry.amount)


@dataclass(frozen=True, slots=True)
class PointsMove:
    """One change of a customer's points account, committed with the change that caused it.
    `at_least`: the balance must be at least this before the move, or the commit fails
    as a whole (ValidationFailedError on `points`)."""

    customer_id: str
    balance: int = 0  # added to the balance (negative: taken from it)
    pending: int = 0  # added to the points waiting for an invoice
    entry: PointsEntry | None = None  # written once: a second commit with it fails
    at_least: int | None = None


@dataclass(frozen=True, slots=True)
class PointsAccount:
    customer_id: str
    balance: int = 0
    pending: int = 0
    entries: tuple[PointsEntry, ...] = ()  # oldest first


def not_enough(customer_id: str, points: int, balance: int | None = None) -> str:
    """Why a redemption is refused: the balance does not cover it (None: it moved meanwhile)."""
    if balance is None:
        return f"customer {customer_id!r} no longer has {points} points to redeem"
    if balance < 0:
        return (
            f"customer {customer_id!r} owes {-balance} point{'' if balance == -1 else 's'} "
            "that a refund took back after they were spent; points earned later make up for "
            "them before any can be redeemed"
        )
    return f"customer {customer_id!r} has {balance} points, fewer than the {points} asked"


def points_credit_description(points: int) -> str:
    """The stored English of a points line: "Loyalty points redeemed (500 points)"."""
    return f"Loyalty points redeemed ({points} points)"


def points_credit_line(
    lines: list[InvoiceLine], points: int, point_value_minor: int, step: int = 1
) -> tuple[list[InvoiceLine], int]:
    """`lines` with a credit of up to `points` points at `point_value_minor` each, never
    taking the total below zero and using whole points only; and the points used. `step`
    (money.charge_step): the credit is a whole number of steps, so a KWD invoice stays
    chargeable (at 5 fils a point, points are used in pairs; the odd one waits)."""
    total = sum(line.amount for line in lines)
    if points <= 0 or point_value_minor <= 0 or total <= 0:
        return lines, 0
    used = min(points, total // point_value_minor)
    if step > 1:
        together = step // gcd(step, point_value_minor)  # points whose value is whole steps
        used -= used % together
    if not used:
        return lines, 0
    credit = InvoiceLine(
        LineKind.POINTS_CREDIT, points_credit_description(used), -used * point_value_minor
    )
    return [*lines, credit], used


def points_to_reverse(earned: int, paid: int, refunded_so_far: int, reversed_so_far: int) -> int:
    """What a refund takes back of the points an invoice earned: the refunded share of them,
    rounded down, less what earlier refunds took back already (never below zero)."""
    if earned <= 0 or paid <= 0:
        return 0
    share = earned * min(max(refunded_so_far, 0), paid) // paid
    return max(share - reversed_so_far, 0)


def points_to_give_back(earned: int, paid: int, refunded_so_far: int, reversed_so_far: int) -> int:
    """What comes back of the points earlier refunds took back, now that less is refunded (a
    refund failed): what was reversed past the refunded share now (never below zero)."""
    if earned <= 0 or paid <= 0:
        return 0
    share = earned * min(max(refunded_so_far, 0), paid) // paid
    return max(reversed_so_far - share, 0)
