"""Unused time given back as credit, kept against the invoices that paid for it.

A pause credits the unused rest of the paid period to the resume; a plan or seat change
inside the period gives it back as an "Unused time" line (paying the new plan's time at once,
and any rest going to the subscription's credit). A refund of the same invoices gives money
back too. The same money must never go back twice, whichever comes first:

- A refund made first is set against the unused time of the next pause or change of that
  period (`refunds_netted` counts what was, so it is never set against it twice).
- A refund made after takes back, first, the credit that invoice's unused time left on the
  subscription's balance (`unused_to_balance`, at most what the balance still holds: never
  credit that came from elsewhere), turning it into money; and what of the unused time was
  used already (the new plan's time, a resume invoice) cannot be refunded any more.
- A refund the provider reports failed after it was taken gives that credit back
  (`credit_taken_back` counts what is still taken), once, whatever the order of the reports.

This is Stripe's rule for a paid invoice's credit notes (refunds plus credits to the customer
balance never exceed the invoice's total), with the refund of a credit still held done as
Stripe's support article on refunding a credit balance after a downgrade says: refund the
charge and take the amount off the balance.
"""

from tenure.domain.invoices import Invoice, InvoiceStatus


def kept_for(invoice: Invoice, kept: dict[str, int]) -> int | None:
    """What the subscription's `kept` (its `credit_kept`) holds of `invoice`'s unused time:
    0 when kept by id and not listed (used up, its entry dropped), None when the invoice
    was credited before credit was kept (its share of the balance tells)."""
    found = kept.get(invoice.id)
    if found is None and invoice.credit_kept_by_id:
        return 0
    return found


def held(invoice: Invoice, credit: int, kept: int | None = None) -> int:
    """What of `invoice`'s unused time the subscription's credit (`credit`) still holds:
    `kept`, what the subscription keeps of it (`Subscription.credit_kept`), or for an
    invoice credited before that was kept (None), at most its part of the balance."""
    return max(min(invoice.unused_to_balance if kept is None else kept, credit), 0)


def used(invoice: Invoice, credit: int, kept: int | None = None) -> int:
    """What of `invoice`'s unused time was given back and used already: not refundable."""
    return invoice.unused_credited - held(invoice, credit, kept)


def used_later(invoice: Invoice, credit: int, kept: int | None = None) -> int:
    """What of the credit `invoice`'s unused time left on the balance later invoices used
    (a renewal, the resume invoice): not refundable even when the subscription ends now,
    unlike the part that paid the new plan's time in the period the end cuts short."""
    return invoice.unused_to_balance - held(invoice, credit, kept)


def spend_kept(kept: dict[str, int], amount: int) -> None:
    """`amount` of the credit the invoices in `kept` hold was used: from the oldest first.
    An entry used up is dropped (the invoice says it is kept by id: not listed is none
    held), so a subscription's item does not grow by an entry per invoice forever."""
    for invoice_id, holds in list(kept.items()):
        if amount <= 0:
            return
        part = min(holds, amount)
        amount -= part
        if holds - part > 0:
            kept[invoice_id] = holds - part
        else:
            del kept[invoice_id]


def not_netted(invoices: list[Invoice]) -> int:
    """What refunds of `invoices` gave back that no unused time was set against yet."""
    return sum(max(i.amount_refunded - i.refunds_netted, 0) for i in invoices)


def net_refunds(invoices: list[Invoice], withheld: int = 0) -> list[Invoice]:
    """Record that the refunds of `invoices` were set against their unused time (the caller
    subtracted `not_netted`, of which `withheld` was credit the pause or change did not
    give: counted as taken back, for a refund that fails to give back); the invoices
    changed, to commit with the change."""
    changed = [i for i in invoices if i.amount_refunded > i.refunds_netted]
    for invoice in changed:
        part = min(invoice.amount_refunded - invoice.refunds_netted, max(withheld, 0))
        invoice.credit_taken_back += part
        withheld -= part
        invoice.refunds_netted = invoice.amount_refunded
    return changed


def spread(
    invoices: list[Invoice], unused: int, to_balance: int, kept: dict[str, int]
) -> list[Invoice]:
    """Keep `unused` (of which `to_balance` went to the credit balance, whose holder keeps it
    by invoice in `kept`) against the paid invoices it came from, each up to what is left
    of its payment; the invoices changed."""
    changed = []
    for invoice in invoices:
        if unused <= 0:
            break
        if invoice.status is not InvoiceStatus.PAID:
            continue
        room = invoice.total - invoice.amount_refunded - invoice.unused_credited
        part = min(max(room, 0), unused)
        if part <= 0:
            continue
        balance = min(part, to_balance)
        invoice.unused_credited += part
        invoice.unused_to_balance += balance
        if balance > 0:
            kept[invoice.id] = kept.get(invoice.id, 0) + balance
            invoice.credit_kept_by_id = True
        unused, to_balance = unused - part, to_balance - balance
        changed.append(invoice)
    return changed


def take_back(invoice: Invoice, credit: int, refund: int, kept: int | None = None) -> int:
    """A refund of `refund` made of `invoice` whose unused time was credited: the credit it
    takes back from the balance (`credit` before it), recorded on the invoice. The whole
    refund is netted then: what it gives back past that credit is time used (the period's
    consumed days), never again unused time for a later change to set it against."""
    if invoice.unused_credited <= 0 or refund <= 0:
        return 0  # nothing credited yet: the next pause or change of the period nets it
    taken = min(refund, held(invoice, credit, kept))
    invoice.unused_credited -= taken
    invoice.unused_to_balance -= taken
    invoice.refunds_netted += refund
    invoice.credit_taken_back += taken
    return taken


def give_back(invoice: Invoice) -> int:
    """The refunds of `invoice` went down (the provider reported one failed): what was
    netted of them past what now counts is no longer given back, and the credit their
    take-back took from the balance returns to it first. Returns that credit (recorded on the
    invoice as held again); 0 when nothing netted is undone, so a report taken twice or
    out of order gives nothing back twice."""
    over = invoice.refunds_netted - invoice.amount_refunded
    if over <= 0:
        return 0
    invoice.refunds_netted = invoice.amount_refunded
    back = min(over, invoice.credit_taken_back)
    invoice.credit_taken_back -= back
    invoice.unused_credited += back
    invoice.unused_to_balance += back
    return back


def credit_unused(
    invoices: list[Invoice],
    unused: int,
    to_balance: int,
    kept: dict[str, int],
    withheld: int = 0,
) -> list[Invoice]:
    """A pause or change of the period of `invoices` gave back `unused` (`to_balance` of it
    as credit, kept by invoice in `kept`, the subscription's `credit_kept`), less what their
    refunds not yet netted gave back (`withheld` of the unused time, see `withheld`): net
    those refunds and keep the unused time against the invoices. The invoices changed, each
    once, in order."""
    changed = {i.id: i for i in net_refunds(invoices, withheld)}
    changed |= {i.id: i for i in spread(invoices, unused, to_balance, kept)}
    return [i for i in invoices if i.id in changed]


def withheld(invoices: list[Invoice], unused: int) -> int:
    """What of `unused` (the rest of the period, before refunds) a pause or change now does
    not give back because refunds of the period's `invoices` gave it back already."""
    return min(not_netted(invoices), max(unused, 0))
