"""Reads and writes of the unused time credited against a period's invoices
(tenure.domain.unused_credit): what a pause or a change nets, what a refund may give back
and takes back from the credit balance."""

from datetime import datetime

from tenure.domain.invoices import Invoice
from tenure.domain.subscription import Subscription
from tenure.domain.unused_credit import give_back, kept_for, take_back, used, used_later
from tenure.services.context import Services


def period_invoices(svc: Services, sub: Subscription) -> list[Invoice]:
    """The invoices that paid for the current period (its own and its prorations')."""
    paid_for = svc.repo.list_invoices(sub.id, since=sub.current_period_start)
    end = sub.current_period_end
    return [i for i in paid_for if i.period_end <= end]


def credit_holder(svc: Services, invoice: Invoice) -> Subscription | None:
    """The subscription whose credit may hold `invoice`'s unused time (None: none was
    credited, so nothing to read)."""
    if invoice.unused_credited <= 0 or not invoice.subscription_id:
        return None
    return svc.repo.get_subscription(invoice.subscription_id)


def used_credit(svc: Services, invoice: Invoice, ending: bool = False) -> int:
    """What of `invoice`'s payment was given back as credit and used: not refundable.
    `ending`: for a cancellation that cuts the period short, which gives back the new plan's
    time too, so only what later invoices used of the credit counts."""
    sub = credit_holder(svc, invoice)
    if sub is None:
        return used_later(invoice, 0) if ending else used(invoice, 0)
    kept = kept_for(invoice, sub.credit_kept)
    return used_later(invoice, sub.credit, kept) if ending else used(invoice, sub.credit, kept)


def take_back_refunded(
    svc: Services, invoice: Invoice, refund: int, at: datetime
) -> Subscription | None:
    """A refund of `refund` of `invoice`, about to be committed with it: the subscription,
    its credit less what the refund gave back of it (to commit along), or None when the
    refund takes no credit back (`invoice` is netted all the same)."""
    sub = credit_holder(svc, invoice)
    if sub is None:
        take_back(invoice, 0, refund)  # netted all the same
        return None
    taken = take_back(invoice, sub.credit, refund, kept_for(invoice, sub.credit_kept))
    if taken <= 0:
        return None
    sub.take_back_credit(taken, at, invoice.id)
    return sub


def give_back_refunded(svc: Services, invoice: Invoice, at: datetime) -> Subscription | None:
    """The refunds of `invoice` went down (one failed), about to be committed with it: the
    subscription with the credit their take-back took given back (to commit along), or None
    when none was taken (`invoice` is un-netted all the same)."""
    back = give_back(invoice)
    if back <= 0 or not invoice.subscription_id:
        return None
    sub = svc.repo.get_subscription(invoice.subscription_id)
    if sub is None:
        return None
    # Kept against the invoice, unless it was credited before credit was kept: then its
    # share of the balance (which `back` just joined) is what tells what it holds.
    keep = kept_for(invoice, sub.credit_kept) is not None or invoice.unused_to_balance == back
    sub.give_back_credit(back, at, invoice.id, keep)
    return sub
