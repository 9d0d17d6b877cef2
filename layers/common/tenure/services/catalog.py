"""Plans and customers: create, read, list."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tenure.domain.customers import (
    BillingDetails,
    Customer,
    PaymentMethod,
    billing_details,
    validate_email,
    validate_phone,
    validate_provider,
    validate_timezone,
)
from tenure.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    NotFoundError,
    ValidationFailedError,
)
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.plans import Plan, PricedItem
from tenure.domain.pricing import Items, check_chargeable, check_items, check_tiers, priced_plan
from tenure.domain.privacy import refuse_erased
from tenure.domain.subscription import Subscription
from tenure.payments.gateway import CardDetails
from tenure.ports import Commit
from tenure.services.context import Services


def create_plan(svc: Services, plan: Plan) -> Plan:
    check_tiers(plan.tiers)  # checked again: a caller may have built it without PlanSpec
    check_chargeable(plan.amount, plan.tiers, plan.currency)
    if svc.repo.get_plan(plan.id) is not None:
        raise AlreadyExistsError("plan", plan.id)
    now = svc.clock.now()
    event = DomainEvent(EventType.PLAN_CREATED, plan.id, None, now, 0, {"amount": plan.amount})
    svc.commit_with_notices(Commit(plans=[plan], events=[event]))
    return plan


def get_plan(svc: Services, plan_id: str) -> Plan:
    plan = svc.repo.get_plan(plan_id)
    if plan is None:
        raise NotFoundError("plan", plan_id)
    return plan


def get_current_plan(svc: Services, plan_id: str) -> Plan:
    """The plan as stored now, never a container's kept copy: what its page shows and what
    a price change is added to (on a copy, the version-checked write could only fail)."""
    plan = svc.repo.get_current_plan(plan_id)
    if plan is None:
        raise NotFoundError("plan", plan_id)
    return plan


def items_prices(svc: Services, items: Items) -> dict[str, Plan]:
    """The add-ons `items` names, by id (NotFoundError for one not in the catalog)."""
    return {a.price: get_plan(svc, a.price) for a in items.addons}


def checked_items(
    svc: Services, plan: Plan, items: Items, now: datetime | None = None
) -> dict[str, Plan]:
    """Refuses items a subscription to `plan` cannot hold; their add-ons, by id (at what a
    new buyer pays at `now`, when given)."""
    prices = items_prices(svc, items)
    check_items(plan, items, prices)
    if now is None:
        return prices
    return {k: v.for_new_subscribers(now) for k, v in prices.items()}


def subscription_plan(
    svc: Services, sub: Subscription, period_start: datetime | None = None
) -> Plan:
    """The subscription's plan priced for its seats and add-ons: what its periods cost. Its
    unit price is the one it pays for the period starting at `period_start` (default: its
    current period), after any price change it noted (tenure.domain.prices)."""
    start = sub.current_period_start if period_start is None else period_start
    plan = sub.plan_at(get_plan(svc, sub.plan_id), start)
    return priced_plan(plan, sub.items, held_prices(svc, sub, sub.items, start))


def held_prices(
    svc: Services, sub: Subscription, items: Items, period_start: datetime
) -> dict[str, Plan]:
    """The add-ons `items` names, by id, each at the price `sub` pays for it for a period
    starting at `period_start` (a price change of an add-on reaches it as its plan's does)."""
    return {k: sub.addon_at(v, period_start) for k, v in items_prices(svc, items).items()}


def priced_items(
    svc: Services, sub: Subscription, items: Items | None = None
) -> tuple[PricedItem, ...]:
    """What each of the subscription's items (or `items`, a change it might make) costs a
    full period at the price it pays now: its plan first, then the add-ons. A plain
    subscription (one seat, no add-ons) is its plan at quantity 1."""
    items = sub.items if items is None else items
    start = sub.current_period_start
    plan = sub.plan_at(get_plan(svc, sub.plan_id), start)
    priced = priced_plan(plan, items, held_prices(svc, sub, items, start))
    if priced.items:
        return priced.items
    return (PricedItem(plan.name or plan.id, items.quantity, plan.amount, plan.amount),)


def subscription_plan_lookup(svc: Services, sub: Subscription | None, plan_id: str) -> Plan:
    """A plan lookup for the domain's rules about `sub`: its own plan priced for its items,
    any other plan as listed."""
    if sub is not None and plan_id == sub.plan_id:
        return subscription_plan(svc, sub)
    return get_plan(svc, plan_id)


def create_customer(
    svc: Services,
    customer_id: str,
    email: str,
    name: str = "",
    locale: str = "en",
    timezone: str = "UTC",
    provider: str | None = None,
    billing: BillingDetails | None = None,
    phone: str | None = None,
) -> Customer:
    """A new customer; `provider` names the payment provider that charges them (None: the
    deployment's default), refused unless this deployment can reach it."""
    validate_email(email)
    if phone is not None:
        validate_phone(phone)
    validate_timezone(timezone)
    if provider is not None:
        validate_provider(provider)
        svc.gateway_for(provider)
    if billing is not None:  # checked again: a caller may have built it without the rules
        billing = billing_details(billing.name, billing.address, billing.tax_id)
    if svc.repo.get_customer(customer_id) is not None:
        raise AlreadyExistsError("customer", customer_id)
    now = svc.clock.now()
    customer = Customer(
        id=customer_id,
        email=email,
        name=name,
        locale=locale,
        timezone=timezone,
        created_at=now,
        provider=provider,
        billing=billing,
        phone=phone,
    )
    event = DomainEvent(EventType.CUSTOMER_CREATED, customer_id, customer_id, now, 0, {})
    svc.commit_with_notices(Commit(customers=[customer], events=[event]))
    return customer


EMAIL_PREFIX_MAX = 254  # the longest address SMTP carries (RFC 5321)


def find_customers_by_email(svc: Services, prefix: str, limit: int) -> list[tuple[str, str]]:
    """(email, customer id) of the customers whose email starts with `prefix`, whatever its
    case, by email; nothing for a blank prefix or one longer than an email can be."""
    wanted = prefix.strip()
    if not wanted or len(wanted) > EMAIL_PREFIX_MAX:
        return []
    return svc.repo.find_customers_by_email(wanted, limit)


def backfill_customer_emails(svc: Services, page: int = 100) -> int:
    """Put every customer's email into the search index, a page of customers at a time:
    for customers created before the index existed. Safe to run again, and while customers
    are created (those are indexed by their own creation). Returns how many were written."""
    written, after = 0, None
    while True:
        customers, after = svc.repo.list_customers(page, after)
        written += svc.repo.index_customer_emails(customers)
        if after is None:
            return written


def save_payer(svc: Services, customer: Customer, change: Commit) -> None:
    """The customer's payment details (default payment method, provider customer) changed:
    write the customer, and give every subscription that may still be charged the new copy
    in the same commit, so that renewals charge without reading the customer.

    The subscriptions the customer lists are read by id (consistently) where the index of a
    customer's subscriptions, which lags, does not show them yet: the customer is written at
    the version read, so one listed meanwhile fails this commit. An unlisted subscription
    the index misses keeps its old copy, and its next charge's claim fails the check against
    the customer and reads it instead.

    The list is read once per change (`change.subscriptions_read`): the customer is written
    only while its list of subscriptions is still the one read, so a second listing for the
    same change could only find a subscription whose joining fails the commit anyway."""
    if not any(c is customer for c in change.customers):
        change.customers.append(customer)
    payer = customer.payer
    subs = customer_subscriptions(svc, customer, change.subscriptions_read.get(customer.id))
    change.subscriptions_read[customer.id] = subs
    for sub in subs:
        # Saved twice in one change (the provider customer made, then the card attached),
        # each subscription still gets one copy, the last: a transaction writes an item once.
        change.payer_copies[:] = [copy for copy in change.payer_copies if copy[0] != sub.id]
        if not sub.ended and sub.payer != payer:
            change.payer_copies.append((sub.id, payer))


def customer_subscriptions(
    svc: Services, customer: Customer, shown: list[Subscription] | None = None
) -> list[Subscription]:
    """The customer's subscriptions: `shown` (by default the index's, read now), and those
    the customer lists that the index (which lags) does not show yet, read by id and added
    to it."""
    subs = svc.repo.list_subscriptions(customer.id) if shown is None else shown
    known = {sub.id for sub in subs}
    for sub_id in sorted(customer.subscription_ids - known):
        if (listed := svc.repo.get_subscription(sub_id)) is not None:
            subs.append(listed)
    return subs


@dataclass(frozen=True, slots=True)
class ListsRead:
    """What a customer write read of the customer that a new subscription or plan can move
    without changing anything the write depends on: the customer's lists (which only grow,
    and join without moving the version), beside the version every write of it moves."""

    customer_id: str
    version: int
    subscription_ids: frozenset[str]
    installment_plan_ids: frozenset[str]

    @classmethod
    def of(cls, customer: Customer) -> "ListsRead":
        return cls(
            customer.id, customer.version, customer.subscription_ids, customer.installment_plan_ids
        )


# A customer write lost only to new subscriptions or plans joining the customer's lists is
# made again from a fresh read (write_past_listings): each lost try means another one joined,
# and twenty made at once need at most twenty tries.
LISTED_MEANWHILE_TRIES = 40


def only_listed_meanwhile(svc: Services, read: ListsRead) -> bool:
    """Whether a customer write whose commit failed lost only to a new subscription or
    installment plan joining the customer's lists since `read`: the customer's version did
    not move (no write of the customer came between) and a list grew. Its put writes the
    lists whole, so it is held to the ones it read (store: _list_kept); what joined them
    changed nothing the write depends on, and a fresh read makes it again (docs/api.md:
    only a 409 that wrote nothing, and never for a derived record's race)."""
    fresh = svc.repo.get_customer(read.customer_id)
    return (
        fresh is not None
        and fresh.version == read.version
        and fresh.erased_at is None
        and (
            fresh.subscription_ids != read.subscription_ids
            or fresh.installment_plan_ids != read.installment_plan_ids
        )
    )


def write_past_listings[T](svc: Services, customer_id: str, write: Callable[[Customer], T]) -> T:
    """`write(customer)` on a fresh read of the customer (NotFoundError: no such customer),
    made again while its commit lost only to new subscriptions or plans joining the
    customer's lists (only_listed_meanwhile); any other ConcurrencyError is raised as it
    came."""
    for _ in range(LISTED_MEANWHILE_TRIES - 1):
        customer = get_customer(svc, customer_id)
        read = ListsRead.of(customer)
        try:
            return write(customer)
        except ConcurrencyError:
            if not only_listed_meanwhile(svc, read):
                raise
    return write(get_customer(svc, customer_id))


def get_customer(svc: Services, customer_id: str) -> Customer:
    customer = svc.repo.get_customer(customer_id)
    if customer is None:
        raise NotFoundError("customer", customer_id)
    return customer


def find_customer(svc: Services, customer_id: str) -> Customer | None:
    """The customer, or None when there is none (for callers that answer that themselves)."""
    return svc.repo.get_customer(customer_id)


def list_customers(
    svc: Services, limit: int, after: str | None = None
) -> tuple[list[Customer], str | None]:
    """A page of customers and the cursor of the next one (None: this page is the last)."""
    return svc.repo.list_customers(limit, after)


def list_payment_methods(svc: Services, customer_id: str) -> list[PaymentMethod]:
    return svc.repo.list_payment_methods(customer_id)


def list_plans(svc: Services) -> list[Plan]:
    return svc.repo.list_plans()


def refuse_card_number(payment_method_id: str) -> None:
    """Tenure takes provider tokens only: a card number is refused before anything is done."""
    if payment_method_id.replace(" ", "").replace("-", "").isdigit():
        raise ValidationFailedError(
            "payment_method", "raw card numbers are never accepted; send a provider token"
        )


def attach_payment_method(
    svc: Services,
    customer_id: str,
    payment_method_id: str,
    provider: str,
    make_default: bool,
    details: CardDetails | None = None,
    *,
    customer: Customer | None = None,
    change: Commit | None = None,
) -> PaymentMethod:
    """Record a provider payment-method id (never a card number) on the customer.

    A caller that read the customer passes it, with what else must be written with the
    method (`change`, committed here even when the method was known already)."""
    customer = customer if customer is not None else get_customer(svc, customer_id)
    refuse_erased(customer, "attach a payment method to")
    change = change if change is not None else Commit()
    refuse_card_number(payment_method_id)
    existing = svc.repo.list_payment_methods(customer_id)
    now: datetime = svc.clock.now()
    known = next((pm for pm in existing if pm.id == payment_method_id), None)
    if known is not None:
        # Attaching a method the customer already has: at most it becomes the default again.
        if make_default and customer.default_payment_method != payment_method_id:
            customer.default_payment_method = payment_method_id
            change.events.append(
                DomainEvent(
                    EventType.DEFAULT_PAYMENT_METHOD_CHANGED,
                    customer_id,
                    customer_id,
                    now,
                    customer.version,
                    {"payment_method": payment_method_id},
                )
            )
            save_payer(svc, customer, change)
        if change.customers or change.events or change.provider_links:
            svc.commit_with_notices(change)
        return known
    method = PaymentMethod(payment_method_id, customer_id, provider, now)
    facts: dict[str, object] = {"payment_method": payment_method_id}
    if details is not None:
        method.brand, method.last4 = details["brand"], details["last4"]
        method.exp_month, method.exp_year = details["exp_month"], details["exp_year"]
        method.mandate_kind = details.get("mandate_kind")
        method.mandate_max_amount = details.get("mandate_max_amount")
        facts |= {
            "brand": method.brand,
            "last4": method.last4,
            "exp_month": method.exp_month,
            "exp_year": method.exp_year,
        }
    change.payment_methods.append(method)
    # Nor after an erasure committed since the customer was read (its brand and last four
    # digits would outlive it): the customer written here is held by its version instead.
    change.not_erased.append(customer_id)
    if make_default or customer.default_payment_method is None:
        customer.default_payment_method = payment_method_id
        save_payer(svc, customer, change)
    change.events.append(
        DomainEvent(
            EventType.PAYMENT_METHOD_ATTACHED,
            customer_id,
            customer_id,
            now,
            len(existing),  # the n-th method of this customer: unique, and the same on replay
            facts,
        )
    )
    svc.commit_with_notices(change)
    return method
