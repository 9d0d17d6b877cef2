"""The amounts a subscription holds for its next invoices: its credit balance (what is owed
to the customer, adjusted by an operator, taken back by a refund, used by an invoice) and
a plan change's charge carried to the next period invoice.

An operator's adjustment is bounded by MAX_CREDIT, as is the balance it leaves."""

from datetime import datetime

from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.money import unchargeable
from tenure.domain.subscription.record import SubscriptionRecord
from tenure.domain.unused_credit import spend_kept

# A credit balance (and one adjustment of it) is at most this many minor units.
MAX_CREDIT = 100_000_000


class SubscriptionBalances(SubscriptionRecord):
    """A subscription's credit and carried charge."""

    __slots__ = ()

    # -- credit -----------------------------------------------------------------------------
    def adjust_credit(self, amount: int, now: datetime) -> None:
        """Add to (or, negative, take from) the credit the next invoices use; the balance
        never goes below zero nor above MAX_CREDIT."""
        self._require("adjust_credit")
        if amount == 0 or abs(amount) > MAX_CREDIT:
            raise ValidationFailedError("amount", f"must be non-zero and at most {MAX_CREDIT}")
        why = unchargeable(amount, self.currency)
        if why:  # KWD 0.005 of credit would leave the next invoice one Stripe cannot charge
            raise ValidationFailedError("amount", why)
        after = self.credit + amount
        if after < 0:
            raise ValidationFailedError(
                "amount", f"would take the credit below zero (it is {self.credit})"
            )
        if after > MAX_CREDIT:
            raise ValidationFailedError("amount", f"would take the credit above {MAX_CREDIT}")
        if amount < 0:  # from credit no invoice's unused time holds, first
            spend_kept(self.credit_kept, -amount - (self.credit - sum(self.credit_kept.values())))
        self.credit = after
        self._record(
            EventType.CREDIT_ADJUSTED, now, amount=amount, credit=after, currency=self.currency
        )

    def give_back_credit(self, amount: int, now: datetime, invoice_id: str, keep: bool) -> None:
        """A refund of `invoice_id` that took `amount` of its credit back (or kept a pause or
        change from crediting it) failed: the credit returns, whatever the status (as
        `take_back_credit` took it). `keep`: kept against the invoice (`credit_kept`); False
        only for an invoice credited before credit was kept, which its own share tells."""
        if amount <= 0:
            raise ValidationFailedError("amount", f"cannot give back {amount}")
        self.credit += amount
        if keep:
            self.credit_kept[invoice_id] = self.credit_kept.get(invoice_id, 0) + amount
        self._record(
            EventType.CREDIT_ADJUSTED,
            now,
            amount=amount,
            credit=self.credit,
            currency=self.currency,
            refunded_invoice=invoice_id,
        )

    def take_back_credit(self, amount: int, now: datetime, invoice_id: str) -> None:
        """A refund of `invoice_id` gave back `amount` of the unused time its credit held: the
        credit goes, whatever the status (a canceled subscription keeps its credit)."""
        if not 0 < amount <= self.credit:
            raise ValidationFailedError("amount", f"cannot take back {amount} of {self.credit}")
        self.credit -= amount
        if invoice_id in self.credit_kept:
            left = self.credit_kept[invoice_id] - amount
            if left > 0:
                self.credit_kept[invoice_id] = left
            else:
                del self.credit_kept[invoice_id]  # none held: the invoice says it is kept by id
        self._record(
            EventType.CREDIT_ADJUSTED,
            now,
            amount=-amount,
            credit=self.credit,
            currency=self.currency,
            refunded_invoice=invoice_id,
        )

    def take_credit(self, amount: int) -> None:
        if amount < 0 or amount > self.credit:
            raise ValidationFailedError("credit", "cannot use more credit than is available")
        self.credit -= amount
        # An invoice uses the credit invoices' unused time holds first, oldest first: once
        # used, a refund of those invoices has none of theirs left to take back.
        spend_kept(self.credit_kept, amount)
        spend_kept(self.credit_kept, sum(self.credit_kept.values()) - self.credit)

    # -- a carried charge -------------------------------------------------------------------
    def carry_to_next_invoice(self, amount: int) -> None:
        if amount <= 0:
            raise ValidationFailedError("amount", "only a positive charge is carried")
        self.carried += amount

    def take_carried(self) -> int:
        """What the next period invoice must add, now taken by it."""
        carried, self.carried = self.carried, 0
        return carried
