"""Which new subscriptions and installment plans a commit adds to their customer's lists, and
how, for both stores.

A subscription made `listed` (Subscription.listed) joins its customer's list in the commit
that makes it, so that every later change of the customer's card finds it without the
index of a customer's subscriptions, which lags. It may join only while the customer's
payment details are still the ones its copy holds: a card change committed in between has
passed it by, and it must keep the check of its customer that unlisted subscriptions keep.

A new subscription also holds to the contact it copied from its customer (contact_holds),
listed or not: a change of the contact committed meanwhile fails its commit.

A new installment (or repayment) plan always joins its customer's list, in the commit that
makes it and only while the customer is not erased, so that an erasure finds it without the
index of a customer's plans, which lags, and an erased customer is never left with a plan
that charges them (services.privacy).
"""

from dataclasses import dataclass, field

from tenure.domain.customers import Contact
from tenure.domain.installments import InstallmentPlan
from tenure.domain.subscription import Subscription
from tenure.ports import Commit


@dataclass(slots=True)
class Listings:
    # Subscriptions whose customer the commit writes in full: they join the list it writes
    # (the customer's version check covers them).
    with_customer: list[Subscription] = field(default_factory=list)
    # Subscriptions whose customer the commit does not write: each joins by an update of the
    # customer that holds only while its payment details are the copy's. The list only
    # grows, and every write of a customer holds only while it is the list read, so a card
    # change read before cannot land after.
    by_update: list[Subscription] = field(default_factory=list)


def listings(change: Commit) -> Listings:
    """The new listed subscriptions of `change`, by how they join their customer's list. One
    that cannot join in this commit (its customer written with other payment details, or
    checked by it: one item takes one operation) is made unlisted here."""
    found = Listings()
    written = {c.id: c for c in change.customers}
    checked = {p.customer_id for p in change.payer_checks}
    updated: dict[str, Subscription] = {}  # one update of a customer, for all its new ones
    for sub in change.subscriptions:
        if sub.version != 0 or not sub.listed:
            continue
        customer, first = written.get(sub.customer_id), updated.get(sub.customer_id)
        if customer is not None and customer.payer == sub.payer:
            found.with_customer.append(sub)
        elif customer is None and sub.customer_id not in checked:
            if first is None or first.payer == sub.payer:
                updated.setdefault(sub.customer_id, sub)
                found.by_update.append(sub)
            else:
                sub.listed = False
        else:
            sub.listed = False
    return found


def contact_holds(change: Commit) -> dict[str, Contact]:
    """The contact each new subscription of `change` copied from its customer, by customer,
    where the commit does not write the customer: the commit holds only while the customer's
    contact is still that copy, so a change of the contact committed after the subscribe read
    the customer cannot leave the new subscription with the old one (its reminders would be
    planned from it); the subscribe is made again from a fresh read instead. A customer the
    commit writes is held by its version; a customer not there holds nothing. A commit
    holding two contacts for one customer, or holding one and checking the customer
    otherwise (one item takes one operation), is a ValueError: no use case makes one."""
    written = {c.id for c in change.customers}
    checked = {p.customer_id for p in change.payer_checks} | set(change.not_erased)
    checked |= {c.customer_id for c in change.copy_checks}
    held: dict[str, Contact] = {}
    for sub in change.subscriptions:
        if sub.version != 0 or sub.contact is None or sub.customer_id in written:
            continue
        if sub.customer_id in checked:
            raise ValueError(f"customer {sub.customer_id} is both checked and held to a contact")
        if held.setdefault(sub.customer_id, sub.contact) != sub.contact:
            raise ValueError(f"customer {sub.customer_id} is held to two contacts")
    return held


@dataclass(slots=True)
class PlanListings:
    # New installment plans whose customer the commit writes in full: they join the list it
    # writes (the customer's version check covers them: an erasure moves the version).
    with_customer: list[InstallmentPlan] = field(default_factory=list)
    # New plans whose customer the commit does not write, by customer: each customer's join
    # by one update that holds only while the customer is there and not erased. The list
    # only grows, and every write of a customer holds only while it is the list read, so an
    # erasure read before cannot land after.
    by_update: dict[str, list[InstallmentPlan]] = field(default_factory=dict)


def plan_listings(change: Commit) -> PlanListings:
    """The new installment (and repayment) plans of `change`, by how they join their
    customer's list. Every new plan joins: a commit that also checks its customer (one item
    takes one operation) is a ValueError, as no use case makes one."""
    found = PlanListings()
    if not change.installment_plans:  # most commits: nothing to work out
        return found
    written = {c.id for c in change.customers}
    checked = {p.customer_id for p in change.payer_checks}
    checked |= {c.customer_id for c in change.copy_checks}
    for plan in change.installment_plans:
        if plan.version != 0:
            continue
        if plan.customer_id in written:
            found.with_customer.append(plan)
        elif plan.customer_id in checked:
            raise ValueError(f"customer {plan.customer_id} is both checked and given a plan")
        else:
            found.by_update.setdefault(plan.customer_id, []).append(plan)
    return found
