"""Subscription use cases: subscribe, cancel, pause, resume, change plan, renew what is due."""

import copy
from dataclasses import dataclass
from datetime import datetime

from tenure.domain import mandates
from tenure.domain.collection import InvoiceCreated
from tenure.domain.customers import Customer
from tenure.domain.discounts import period_lines
from tenure.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    NotFoundError,
    StaleCopyError,
    ValidationFailedError,
)
from tenure.domain.ids import invoice_id
from tenure.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    apply_credit,
    carried_line,
    with_tax,
)
from tenure.domain.money import charge_step
from tenure.domain.numbering import NumberedKind
from tenure.domain.plans import Plan
from tenure.domain.points import points_credit_line
from tenure.domain.pricing import PLAIN, Item, Items, priced_plan
from tenure.domain.privacy import refuse_erased
from tenure.domain.programs import NO_PROGRAMS, Programs
from tenure.domain.subscription import DueKind, Proration, Subscription, SubscriptionStatus
from tenure.domain.timeutil import iso, utc
from tenure.domain.unused_credit import credit_unused, net_refunds, not_netted, withheld
from tenure.ports import Commit, Marker, Redemption
from tenure.services import coupons, pricing, unused_credit
from tenure.services.catalog import (
    checked_items,
    get_customer,
    get_plan,
    held_prices,
    subscription_plan,
)
from tenure.services.charging import (
    await_payment_method,
    charge_new_invoice,
    charge_new_invoice_from_copy,
    payer_for,
)
from tenure.services.context import Services


@dataclass(slots=True)
class Outcome:
    """What a use case changed, for the caller to show."""

    subscription: Subscription
    invoice: Invoice | None = None


def get_subscription(svc: Services, subscription_id: str) -> Subscription:
    sub = svc.repo.get_subscription(subscription_id)
    if sub is None:
        raise NotFoundError("subscription", subscription_id)
    return sub


def get_invoice(svc: Services, invoice_id_: str) -> Invoice:
    invoice = svc.repo.get_invoice(invoice_id_)
    if invoice is None:
        raise NotFoundError("invoice", invoice_id_)
    return invoice


def list_subscriptions(svc: Services, customer_id: str) -> list[Subscription]:
    return svc.repo.list_subscriptions(customer_id)


def list_invoices(svc: Services, subscription_id: str) -> list[Invoice]:
    return svc.repo.list_invoices(subscription_id)


# A subscribe whose commit lost to a change of its customer's contact (the copy it made is
# stale: listings.contact_holds) is made again from a fresh read. Nothing was written nor
# charged (the commit is the charge's claim), and each lost try means another change of the
# contact came first.
CONTACT_MOVED_TRIES = 5


def subscribe(
    svc: Services,
    subscription_id: str,
    customer_id: str,
    plan_id: str,
    coupon_id: str | None = None,
    items: Items = PLAIN,
) -> Outcome:
    """`coupon_id`: a coupon redeemed with it, counted in the same commit (see Redemption).
    `items`: seats of the plan and add-ons (tenure.domain.pricing). The subscription keeps a
    copy of its customer's contact as it is when it commits, whatever changed since the
    customer was read."""
    for _ in range(CONTACT_MOVED_TRIES - 1):
        try:
            return _subscribe(svc, subscription_id, customer_id, plan_id, coupon_id, items)
        except StaleCopyError as exc:
            if exc.what != "contact":
                raise
    return _subscribe(svc, subscription_id, customer_id, plan_id, coupon_id, items)


def _subscribe(
    svc: Services,
    subscription_id: str,
    customer_id: str,
    plan_id: str,
    coupon_id: str | None,
    items: Items,
) -> Outcome:
    # Its first invoice is numbered in the commit: the store may read the series' counter
    # with the customer (on DynamoDB, once a container and year).
    svc.repo.expect_numbering(NumberedKind.INVOICE, svc.clock.now())
    customer = get_customer(svc, customer_id)
    refuse_erased(customer, "subscribe")
    listed = get_plan(svc, plan_id)
    mandates.refuse_other_currency(svc.provider_of(customer.provider), listed.currency, "plan")
    now = svc.clock.now()
    joined = listed.for_new_subscribers(now)  # a price change in effect is its price
    plan = priced_plan(joined, items, checked_items(svc, joined, items, now))
    discount, redemptions = None, []
    if coupon_id is not None:
        discount, redemption = coupons.redeem(svc, coupon_id, plan, plan.currency)
        redemptions.append(redemption)
    # A taken id needs no read: the commit's must-not-exist condition refuses it.
    sub = Subscription.subscribe(subscription_id, customer_id, plan, now, discount)
    sub.items = items
    sub.timezone = customer.timezone
    sub.contact = customer.contact
    sub.copy_payer(customer.payer)
    # Listed on its customer by the commit that makes it, while the customer's card is still
    # the copy's (else it is made unlisted): every card change after finds it there.
    sub.listed = True
    # Joined while a new price is announced but not yet in effect: told as any subscriber.
    pricing.note_price_changes(svc, sub, listed, now)
    invoice = None
    if sub.status is SubscriptionStatus.INCOMPLETE:
        sub.incomplete_expires_at = now + svc.policy.incomplete_window
        invoice = _period_invoice(sub, plan, InvoiceKind.FIRST, now)
        _activate_if_settled(sub, plan, invoice)
    return _save(svc, sub, invoice, customer=customer, redemptions=redemptions)


def apply_coupon(svc: Services, subscription_id: str, coupon_id: str) -> Outcome:
    """Give a subscription a coupon; it covers the period invoices from the next one on (the
    current period was invoiced at its price already). The redemption is counted with it."""
    sub = get_subscription(svc, subscription_id)
    plan = subscription_plan(svc, sub)
    sub.check_can_take_discount()  # before the coupon's own checks: the clearer answer
    discount, redemption = coupons.redeem(svc, coupon_id, plan, sub.currency)
    sub.apply_discount(discount, svc.clock.now())
    return _save(svc, sub, None, redemptions=[redemption])


def cancel(
    svc: Services,
    subscription_id: str,
    at_period_end: bool,
    reason: str | None,
    claim: Marker | None = None,
    along: Commit | None = None,
) -> Outcome:
    """`claim`: a marker committed with the cancellation (a single-use link's), so the same
    claim cannot cancel twice. `along`: more that commits with it (an audit entry)."""
    sub = get_subscription(svc, subscription_id)
    sub.cancel(subscription_plan(svc, sub), svc.clock.now(), at_period_end, reason)
    return _save(svc, sub, None, claim=claim, along=along)


def pause(
    svc: Services, subscription_id: str, until: datetime | None, claim: Marker | None = None
) -> Outcome:
    """`claim`: as for `cancel`."""
    sub = get_subscription(svc, subscription_id)
    now = svc.clock.now()
    if until is not None and utc(until) <= now:
        raise ValidationFailedError("until", "must be in the future")
    credited = pause_crediting(svc, sub, subscription_plan(svc, sub), now, until)
    return _save(svc, sub, None, credited, claim=claim)


def pause_crediting(
    svc: Services, sub: Subscription, plan: Plan, now: datetime, until: datetime | None
) -> list[Invoice]:
    """Pause `sub` (in place): the unused rest of its period becomes credit, less what the
    period's refunds gave back already. Returns the period's invoices the credit is kept
    against (changed: to commit with the pause)."""
    period = unused_credit.period_invoices(svc, sub)
    kept_back = withheld(period, sub.unused_value(plan, now))
    credit = sub.pause(plan, now, until, not_netted(period))
    return credit_unused(period, credit, credit, sub.credit_kept, kept_back)


def resume(svc: Services, subscription_id: str) -> Outcome:
    sub = get_subscription(svc, subscription_id)
    return _resume(svc, sub, svc.clock.now())


def change_plan(svc: Services, subscription_id: str, plan_id: str) -> Outcome:
    sub = get_subscription(svc, subscription_id)
    invoice, credited = _switch_plan(svc, sub, plan_id, svc.clock.now())
    return _save(svc, sub, invoice, credited)


@dataclass(frozen=True, slots=True)
class PlanChangePreview:
    """What changing plan now would do, before the customer confirms: `invoice` is the
    proration invoice it would raise (charged at once while open; None when nothing is
    invoiced), `credit` what the subscription would then hold for its next invoice, due on
    `next_invoice_at`."""

    plan: Plan
    at: datetime
    invoice: Invoice | None
    credit: int
    next_invoice_at: datetime

    @property
    def charged_now(self) -> int:
        open_ = self.invoice is not None and self.invoice.status is InvoiceStatus.OPEN
        return self.invoice.total if self.invoice is not None and open_ else 0


def preview_plan_change(svc: Services, subscription_id: str, plan_id: str) -> PlanChangePreview:
    """change_plan's own steps on a copy of the subscription, committing nothing: the amounts
    are the change's, not a second formula's (refused exactly as the change would be)."""
    sub = copy.deepcopy(get_subscription(svc, subscription_id))
    now = svc.clock.now()
    invoice, _ = _switch_plan(svc, sub, plan_id, now)
    return PlanChangePreview(
        get_plan(svc, plan_id), now, invoice, sub.credit, sub.current_period_end
    )


def change_items(
    svc: Services,
    subscription_id: str,
    quantity: int | None = None,
    addons: tuple[Item, ...] | None = None,
    at_period_end: bool = False,
) -> Outcome:
    """Change seats or add-ons (`addons` replaces the list; None keeps what is there): now,
    prorated to the second like a plan change (an increase invoiced at once, a decrease as
    credit), or at the period's end with nothing prorated."""
    if quantity is None and addons is None:
        raise ValidationFailedError("quantity", "give a quantity, add-ons or both")
    sub = get_subscription(svc, subscription_id)
    items = Items(
        sub.items.quantity if quantity is None else quantity,
        sub.items.addons if addons is None else addons,
    )
    now = svc.clock.now()
    if at_period_end:
        _priced_items(svc, sub, items, now)
        sub.schedule_items(items, now)
        return _save(svc, sub, None)
    return _save(svc, sub, *_change_items_now(svc, sub, items, now))


def preview_items_change(svc: Services, subscription_id: str, items: Items) -> PlanChangePreview:
    """change_items's own steps (a change made now) on a copy of the subscription,
    committing nothing: the preview's `plan` is the subscription's plan priced for `items`
    (refused exactly as the change would be)."""
    sub = copy.deepcopy(get_subscription(svc, subscription_id))
    now = svc.clock.now()
    invoice, _ = _change_items_now(svc, sub, items, now)
    new = _priced_items(svc, sub, items, now)
    return PlanChangePreview(new, now, invoice, sub.credit, sub.current_period_end)


def _priced_items(svc: Services, sub: Subscription, items: Items, now: datetime) -> Plan:
    """The subscription's plan priced for `items` (ValidationFailedError for items it
    cannot hold); an add-on `items` adds joins its price now, at what a new buyer pays."""
    start = sub.current_period_start
    plan = sub.plan_at(get_plan(svc, sub.plan_id), start)
    added = {a.price for a in items.addons} - {a.price for a in sub.items.addons}
    for addon in checked_items(svc, plan, items).values():
        if addon.id in added:
            sub.join_addon_prices(addon, now)
    return priced_plan(plan, items, held_prices(svc, sub, items, start))


def _change_items_now(
    svc: Services, sub: Subscription, items: Items, now: datetime
) -> tuple[Invoice | None, list[Invoice]]:
    """Move `sub` (in place) to `items` now; the proration invoice to raise, if any, and the
    period's invoices its unused time was credited against (to commit with it)."""
    new = _priced_items(svc, sub, items, now)
    old = subscription_plan(svc, sub)
    period = unused_credit.period_invoices(svc, sub)
    kept_back = withheld(period, sub.unused_value(old, now))
    proration = sub.change_items(old, new, items, now, not_netted(period))
    invoice = _proration_invoice(sub, new, proration, now) if proration else None
    credited = credited_against(sub, period, proration, kept_back)
    if (
        invoice is not None
        and invoice.status is InvoiceStatus.OPEN
        and _one_debit_a_cycle(svc, sub)
    ):
        sub.carry_to_next_invoice(invoice.total)  # as a plan change's is (docs/razorpay.md)
        invoice = None
    return invoice, credited


def credited_against(
    sub: Subscription, period: list[Invoice], proration: Proration | None, kept_back: int = 0
) -> list[Invoice]:
    """The invoices of the period a change of `sub` kept its unused time against (changed);
    `kept_back`: what of it refunds of the period gave back already (unused_credit.withheld,
    read before the change)."""
    if proration is None:
        return []
    unused, to_balance = proration.unused, proration.credit_granted
    return credit_unused(period, unused, to_balance, sub.credit_kept, kept_back)


def _switch_plan(
    svc: Services, sub: Subscription, plan_id: str, now: datetime
) -> tuple[Invoice | None, list[Invoice]]:
    """Move `sub` (in place) to `plan_id`; the proration invoice to raise, if any, and the
    invoices credited (as `_change_items_now`)."""
    old = subscription_plan(svc, sub)
    # Joining the plan now, it pays what a new subscriber pays now (docs/pricing.md).
    target = get_plan(svc, plan_id).for_new_subscribers(now)
    # Seats and add-ons move with it: the new plan must be able to hold them.
    checked_items(svc, target, sub.items)
    new = priced_plan(target, sub.items, held_prices(svc, sub, sub.items, sub.current_period_start))
    period = unused_credit.period_invoices(svc, sub)
    kept_back = withheld(period, sub.unused_value(old, now))
    proration = sub.change_plan(old, new, now, not_netted(period))
    invoice = _proration_invoice(sub, new, proration, now) if proration else None
    credited = credited_against(sub, period, proration, kept_back)
    owed = invoice is not None and invoice.status is InvoiceStatus.OPEN
    if invoice is not None and owed and _one_debit_a_cycle(svc, sub):
        # Folded into the next renewal's invoice, the one debit this cycle (docs/razorpay.md)
        sub.carry_to_next_invoice(invoice.total)
        return None, credited
    return invoice, credited


def _one_debit_a_cycle(svc: Services, sub: Subscription) -> bool:
    """Whether the subscription is paid by a mandate that allows one debit a cycle (UPI):
    read only for a payer on a mandate."""
    provider = sub.provider or (svc.gateway.name if svc.gateway is not None else None)
    if not mandates.on_mandate(provider) or sub.payment_method is None:
        return False
    methods = svc.repo.list_payment_methods(sub.customer_id)
    kind = next((m.mandate_kind for m in methods if m.id == sub.payment_method), None)
    return mandates.one_debit_per_cycle(provider, kind)


def process_due(
    svc: Services,
    subscription_id: str,
    now: datetime | None = None,
    *,
    customer_id: str | None = None,
    snapshot: Subscription | None = None,
) -> Outcome | None:
    """Do whatever is due for one subscription: renew, convert a trial, end a cancel or a pause.

    Safe to call twice: when nothing is due any more (another worker did it), it does nothing.
    `snapshot` is the subscription as the due index gave it (see `DueItem`): the work starts
    from it without reading, and since every write is version-checked against it, a snapshot
    that was behind changes nothing and the work is done again from what is stored. Without
    one, `customer_id` (the due index gives it) lets the subscription and its customer be read
    in one request."""
    now = svc.clock.now() if now is None else utc(now)
    if snapshot is not None and snapshot.id == subscription_id:
        try:
            return _process_due(svc, snapshot, now, None, payer_copy=True)
        except (ConcurrencyError, AlreadyExistsError, NotFoundError):
            pass  # the index was behind the table (or another worker was first): read
    customer: Customer | None = None
    if customer_id:
        sub, customer = svc.repo.get_subscription_with_customer(subscription_id, customer_id)
    else:
        sub = svc.repo.get_subscription(subscription_id)
    if sub is None:
        return None
    if customer is None or customer.id != sub.customer_id:  # no hint, or a wrong one
        customer = svc.repo.get_customer(sub.customer_id)
    return _process_due(svc, sub, now, customer, payer_copy=False)


def _process_due(
    svc: Services,
    sub: Subscription,
    now: datetime,
    customer: Customer | None,
    *,
    payer_copy: bool,
) -> Outcome | None:
    """The due work, from `sub` and its `customer` as read; or, with `payer_copy`, from the
    subscription's copy of its payment details (checked when the charge claims: a wrong copy
    fails the commit, and the caller starts again from what is stored)."""
    due = sub.next_due()
    if due is None or due[0] > now:
        return None
    due_at, kind = due
    if kind is DueKind.RENEWAL:
        sub.take_scheduled_items(now)  # the new period is priced with them
    plan = subscription_plan(svc, sub)
    if kind is DueKind.PAUSE_END:
        return _resume(svc, sub, due_at, customer, payer_copy=payer_copy)
    if kind is DueKind.EXPIRE:
        sub.expire(plan, due_at)
        invoices = [i for i in svc.repo.list_invoices(sub.id) if i.status is InvoiceStatus.OPEN]
        for open_invoice in invoices:
            open_invoice.void()  # Stripe voids the first invoice of an expired subscription
        return _save(svc, sub, None, extra_invoices=invoices)
    was_trial = sub.status is SubscriptionStatus.TRIALING
    ends_unpaid = was_trial and svc.policy.cancel_trial_without_payment_method
    if ends_unpaid and not sub.cancel_at_period_end:
        payer, customer = payer_for(svc, sub, customer, payer_copy)
        if payer is None or not payer.can_pay:
            reason = "trial_ended_without_payment_method"
            sub.cancel(plan, due_at, at_period_end=True, reason=reason)
    programs = svc.repo.get_programs().programs
    pricing.note_price_changes(svc, sub, get_plan(svc, sub.plan_id), now)
    plan = subscription_plan(svc, sub, sub.current_period_end)  # the period it opens
    needs_invoice = sub.renew(plan, now, programs)
    invoice = None
    if needs_invoice:
        kind_ = InvoiceKind.FIRST if was_trial else InvoiceKind.RENEWAL
        invoice = _period_invoice(sub, plan, kind_, sub.current_period_start, programs)
    return _save(svc, sub, invoice, customer=customer, payer_copy=payer_copy)


# -- helpers --------------------------------------------------------------------------------
def _resume(
    svc: Services,
    sub: Subscription,
    at: datetime,
    customer: Customer | None = None,
    payer_copy: bool = False,
) -> Outcome:
    plan = subscription_plan(svc, sub, at)  # the period the resume opens
    invoice = None
    programs = svc.repo.get_programs().programs
    # Refunds of the paused period made before the pause were netted by it, and those made
    # during it took their share of its credit back (tenure.domain.unused_credit). What no
    # pause or refund netted (a pause made before credit was kept against its invoices) is
    # taken from the credit now, so the same unused time is never both refunded and credited.
    netted: list[Invoice] = []
    if sub.status is SubscriptionStatus.PAUSED and sub.credit > 0:
        period = unused_credit.period_invoices(svc, sub)
        if taken := min(sub.credit, not_netted(period)):
            sub.adjust_credit(-taken, at)
            netted = net_refunds(period)
    if sub.resume(plan, at, programs):
        invoice = _period_invoice(sub, plan, InvoiceKind.RENEWAL, at, programs)
    return _save(svc, sub, invoice, netted, customer=customer, payer_copy=payer_copy)


def _period_invoice(
    sub: Subscription,
    plan: Plan,
    kind: InvoiceKind,
    now: datetime,
    programs: Programs = NO_PROGRAMS,
) -> Invoice:
    """A period's invoice: plan, intro, discounts, tax, then the loyalty points redeemed for
    it (at the programs' point value now; none while the program is off) and credit."""
    label = (
        f"{plan.name or plan.id} ({iso(sub.current_period_start)} – {iso(sub.current_period_end)})"
    )
    lines = period_lines(plan, max(sub.cycle, 0), label, sub.period_discount, sub.period_tenure)
    lines = with_tax(lines, plan)
    if sub.carried:
        lines.append(carried_line(sub.take_carried()))
    used = 0
    if sub.points_pending:
        value = programs.loyalty.point_value_minor if programs.loyalty else 0
        step = charge_step(plan.currency)
        lines, used = points_credit_line(lines, sub.points_pending, value, step)
    invoice = _new_invoice(sub, kind, sub.current_period_start, sub.current_period_end, lines, now)
    if sub.points_pending:
        sub.credit_points(invoice.id, used, now)
    return invoice


def save_with(
    svc: Services,
    sub: Subscription,
    invoice: Invoice | None,
    along: Commit,
    redemptions: list[Redemption] | None = None,
) -> Outcome:
    """Commit a change of `sub` made by another use case (a save offer accepted, a
    cancellation after offers) with what that use case writes along (`along`)."""
    return _save(svc, sub, invoice, redemptions=redemptions, along=along)


def proration_invoice(
    sub: Subscription, plan: Plan, proration: Proration, now: datetime
) -> Invoice | None:
    """The invoice a plan change raises, if any (for other use cases that change plans)."""
    return _proration_invoice(sub, plan, proration, now)


def _proration_invoice(
    sub: Subscription, plan: Plan, proration: Proration, now: datetime
) -> Invoice | None:
    restarted = any(line.kind is LineKind.PLAN for line in proration.lines)
    if proration.total <= 0 and not restarted:
        return None  # a downgrade inside the period: only credit, used by the next invoice
    lines = with_tax(proration.lines, plan) if proration.total > 0 else proration.lines
    kind = InvoiceKind.PRORATION
    # Two changes in the same second are two invoices: the version tells them apart.
    return _new_invoice(
        sub, kind, proration.period_start, proration.period_end, lines, now, f"v{sub.version}"
    )


def _new_invoice(
    sub: Subscription,
    kind: InvoiceKind,
    start: datetime,
    end: datetime,
    lines: list[InvoiceLine],
    now: datetime,
    suffix: str = "",
) -> Invoice:
    lines, used = apply_credit(lines, sub.credit)
    sub.take_credit(used)
    invoice = Invoice(
        id=invoice_id(sub.id, kind, start) + (f"_{suffix}" if suffix else ""),
        subscription_id=sub.id,
        customer_id=sub.customer_id,
        kind=kind,
        period_start=start,
        period_end=end,
        currency=sub.currency,
        lines=lines,
        status=InvoiceStatus.OPEN,
        created_at=now,
        credit_applied=used,
    )
    if invoice.total == 0:
        invoice.mark_paid(now)  # nothing to collect
    return invoice


def _activate_if_settled(sub: Subscription, plan: Plan, invoice: Invoice | None) -> None:
    """A first invoice that is paid on creation (free period, credit) activates at once."""
    if (
        invoice is not None
        and invoice.status is InvoiceStatus.PAID
        and sub.status is SubscriptionStatus.INCOMPLETE
    ):
        sub.activate(plan, invoice.created_at)


def _save(
    svc: Services,
    sub: Subscription,
    invoice: Invoice | None,
    extra_invoices: list[Invoice] | None = None,
    customer: Customer | None = None,
    payer_copy: bool = False,
    claim: Marker | None = None,
    redemptions: list[Redemption] | None = None,
    along: Commit | None = None,
) -> Outcome:
    """Commit the change; a new open invoice is charged, its claim in the same commit.
    `payer_copy`: charge from the subscription's copy of the customer's payment details
    (see `charge_new_invoice_from_copy`). `claim`: a marker that must not exist, written
    with the change. `along`: more that commits with it (a save offer's decision)."""
    change = along or Commit()
    change.markers.extend([claim] if claim is not None else [])
    change.redemptions.extend(redemptions or [])
    change.add_subscription(sub)
    change.invoices.extend(extra_invoices or [])
    if invoice is not None:
        change.invoices.append(invoice)
        change.events.append(InvoiceCreated.of(invoice).to_event())
    if invoice is None or invoice.status is not InvoiceStatus.OPEN or svc.gateway is None:
        svc.commit_with_notices(change)
        return Outcome(sub, invoice)
    # Either the invoice is created already claimed, with its payment id, in one commit, or
    # (nothing to charge it with) it is created alone and due at once for the schedule.
    if customer is None and payer_copy:
        charge = charge_new_invoice_from_copy(svc, invoice, sub, change)
    else:
        charge = charge_new_invoice(svc, invoice, sub, change, customer)
    held = invoice.next_attempt_at is not None  # a debit on a mandate waiting for its notice
    if charge is None and sub.status is not SubscriptionStatus.INCOMPLETE and not held:
        await_payment_method(svc, invoice.id)
        return Outcome(get_subscription(svc, sub.id), get_invoice(svc, invoice.id))
    return Outcome(sub, invoice)  # updated in place by the charge
