"""What a customer may do through a signed link: replace the card, confirm a payment that
needed authentication, pause, cancel at period end (saying why), keep or come back, and
redeem loyalty points.

The link names the customer; every use case here first checks that the invoice or
subscription it acts on is that customer's (`ForeignSubjectError` otherwise), then goes
through the same services the API and the webhooks use.

A page never reports failure for work that was committed: a card saved whose retry then
fails says the card is saved; a payment the provider confirmed whose settling then conflicts
says it is confirmed (the provider's webhook settles it); a pause or cancellation that meets
a concurrent change is tried again on what is stored now.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from tenure.domain.calendar import Interval, IntervalUnit, add_intervals
from tenure.domain.charges import Charge, ChargeOutcome
from tenure.domain.customers import Customer, PaymentMethod
from tenure.domain.discounts import period_lines
from tenure.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    DomainError,
    ValidationFailedError,
)
from tenure.domain.invoices import Invoice, InvoiceStatus, with_tax
from tenure.domain.money import charge_step
from tenure.domain.offers import SaveOffer
from tenure.domain.plans import Plan, PlanKind, PricedItem
from tenure.domain.points import PointsAccount, points_credit_line
from tenure.domain.pricing import Items
from tenure.domain.programs import OfferKind
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.payments.gateway import (
    CheckoutAnswer,
    CheckoutOrder,
    GatewayError,
    PaymentAuthentication,
    PaymentResult,
    UnverifiedCheckoutError,
)
from tenure.ports import Marker
from tenure.services import cancellation, cards, charging_settle, points, subscriptions
from tenure.services.catalog import (
    get_customer,
    get_plan,
    priced_items,
    subscription_plan,
    write_past_listings,
)
from tenure.services.context import Services

log = logging.getLogger(__name__)
# A conflict means another writer changed the subscription or invoice between our read and
# our commit (a renewal, a webhook); reading again and deciding again settles it. Three tries
# outlast any honest race; a fourth conflict is reported and nothing of ours was written.
CONFLICT_TRIES = 3


class ForeignSubjectError(DomainError):
    """The invoice or subscription is not the link's customer's (or does not exist)."""


class NothingToConfirmError(DomainError):
    """The invoice needs no authentication: paid, or its last attempt did not ask for it."""


class NothingToOpenError(DomainError):
    """A portal link was asked for a page that has nothing to show this customer now: no
    payment waits for confirmation, or there is no subscription to manage."""


class LinkAlreadyUsedError(DomainError):
    """This link already paused or canceled once; a replay of it cannot do so again."""

    def __init__(self, action: str) -> None:
        super().__init__(f"this link was already used to {action}")
        self.action = action


def _retrying_conflicts[T](attempt: Callable[[], T]) -> T:
    for _ in range(CONFLICT_TRIES - 1):
        try:
            return attempt()
        except ConcurrencyError:
            continue
    return attempt()


# -- the card -----------------------------------------------------------------------------------
@dataclass(slots=True)
class CardPage:
    """What the card page shows a customer: the money owed and the card on file."""

    customer: Customer
    owed: list[Invoice]  # open invoices with money due, oldest first
    card: PaymentMethod | None  # the default payment method, as stored
    last_declines: dict[str, str] = field(default_factory=dict)  # invoice id -> decline code
    retry_pending: bool = False  # the card was saved but retrying what is owed failed for now


def load_card_page(svc: Services, customer_id: str) -> CardPage:
    customer = get_customer(svc, customer_id)
    owed = owed_invoices(svc, customer_id)
    card = next(
        (
            m
            for m in svc.repo.list_payment_methods(customer_id)
            if m.id == customer.default_payment_method
        ),
        None,
    )
    return CardPage(customer, owed, card, _last_declines(svc, owed))


def owed_invoices(svc: Services, customer_id: str) -> list[Invoice]:
    """Open invoices with money due on the customer's subscriptions that still run, and the
    instalments of their standing plans still being collected (a new card retries those
    too, so the card page names them)."""
    found = [
        invoice
        for sub in svc.repo.list_subscriptions(customer_id)
        if sub.status is not SubscriptionStatus.CANCELED
        for invoice in svc.repo.list_invoices(sub.id)
        if invoice.status is InvoiceStatus.OPEN and invoice.total > 0
    ]
    instalments = (
        svc.repo.get_invoice(i) for i in cards.owed_instalment_invoices(svc, customer_id)
    )
    found += [i for i in instalments if i is not None and i.status is InvoiceStatus.OPEN]
    return sorted(found, key=lambda i: (i.created_at, i.id))


def card_subject_is_owned(svc: Services, customer_id: str, subject: str) -> None:
    """An update-card link names the customer or one of the customer's invoices."""
    if subject == customer_id:
        get_customer(svc, customer_id)
        return
    owned_invoice(svc, customer_id, subject)


def begin_card_setup(svc: Services, customer_id: str, now: datetime) -> str:
    """A provider SetupIntent for the customer's new card; returns its client secret.

    The key names the card being replaced and the day: reloading the page reuses the same
    SetupIntent, and once the card has changed the next visit gets a fresh one."""

    def set_up(customer: Customer) -> str:
        gateway = svc.gateway_for(customer.provider)
        if gateway is None:
            raise ValidationFailedError("payment_method", "no payment provider is configured")
        provider_customer = cards.ensure_provider_customer(svc, customer)
        key = f"setup:{customer.id}:{customer.default_payment_method or '-'}:{now:%Y-%m-%d}"
        return gateway.create_setup_intent(
            provider_customer_id=provider_customer, idempotency_key=key
        )

    # A new subscription or plan of the customer's, made meanwhile, is no reason to refuse.
    return write_past_listings(svc, customer_id, set_up)


def replace_card(svc: Services, customer_id: str, payment_method: str, provider: str) -> CardPage:
    """The customer's new default card; what was owed is retried at once on it.

    Raises only when the card was not saved. A card saved whose retry failed for now is
    shown as such (`retry_pending`): the dunning schedule retries on the new card, and the
    customer is not told that nothing happened."""
    update = cards.update_payment_method(
        svc, customer_id, payment_method, provider, make_default=True
    )
    view = load_card_page(svc, customer_id)
    view.retry_pending = update.retry_pending
    return view


def _last_declines(svc: Services, invoices: list[Invoice]) -> dict[str, str]:
    declines = {}
    for invoice in invoices:
        last = latest_charge(svc, invoice)
        if last is not None and last.outcome is not ChargeOutcome.SUCCEEDED:
            declines[invoice.id] = last.decline_code or str(last.outcome)
    return declines


# -- confirming a payment -------------------------------------------------------------------------
@dataclass(slots=True)
class ConfirmPage:
    """What the confirmation page shows: an invoice whose payment waits for the customer."""

    customer: Customer
    invoice: Invoice
    charge: Charge | None  # the attempt that asked for authentication, if it still waits


def owned_invoice(svc: Services, customer_id: str, invoice_id: str) -> Invoice:
    invoice = svc.repo.get_invoice(invoice_id)
    if invoice is None or invoice.customer_id != customer_id:
        raise ForeignSubjectError(f"invoice {invoice_id} is not this customer's")
    return invoice


def latest_charge(svc: Services, invoice: Invoice) -> Charge | None:
    charges = svc.repo.list_charges(invoice.id)
    return max(charges, key=lambda c: c.attempt) if charges else None


def load_confirm_page(svc: Services, customer_id: str, invoice_id: str) -> ConfirmPage:
    invoice = owned_invoice(svc, customer_id, invoice_id)
    customer = get_customer(svc, customer_id)
    return ConfirmPage(customer, invoice, _awaiting_authentication(svc, invoice))


def _awaiting_authentication(svc: Services, invoice: Invoice) -> Charge | None:
    if invoice.status is not InvoiceStatus.OPEN:
        return None
    charge = latest_charge(svc, invoice)
    if (
        charge is None
        or charge.outcome is not ChargeOutcome.AUTHENTICATION_REQUIRED
        or not charge.payment_id
    ):
        return None
    return charge


def awaits_confirmation(svc: Services, invoice: Invoice) -> bool:
    """Whether the invoice's payment waits for the customer's 3-D Secure confirmation: what
    the confirm page (`confirm_payment`) can act on."""
    return _awaiting_authentication(svc, invoice) is not None


def payment_authentication(svc: Services, view: ConfirmPage) -> PaymentAuthentication:
    """What Stripe.js needs to let the customer authenticate the waiting payment."""
    gateway = svc.gateway_for(view.charge) if view.charge is not None else None
    if view.charge is None or view.charge.payment_id is None or gateway is None:
        raise NothingToConfirmError(f"invoice {view.invoice.id} has nothing to confirm")
    return gateway.payment_authentication(view.charge.payment_id)


@runtime_checkable
class ConfirmsOnSession(Protocol):
    """A provider whose payments the server can confirm with the customer present (the
    sandbox). Stripe's are confirmed by Stripe.js in the customer's browser instead."""

    def confirm_on_session(self, payment_id: str, *, idempotency_key: str) -> PaymentResult: ...


def confirm_on_session(
    svc: Services, customer_id: str, invoice_id: str
) -> tuple[ConfirmPage, PaymentResult]:
    """The customer confirms the waiting payment here and now; settled as a webhook would."""
    view = load_confirm_page(svc, customer_id, invoice_id)
    charge = view.charge
    if charge is None or charge.payment_id is None:
        raise NothingToConfirmError(f"invoice {invoice_id} has nothing to confirm")
    gateway = svc.gateway_for(charge)
    if not isinstance(gateway, ConfirmsOnSession):
        raise ValidationFailedError("payment", "this provider confirms payments in the browser")
    result = gateway.confirm_on_session(
        charge.payment_id, idempotency_key=f"{charge.idempotency_key}:on_session"
    )
    # The provider has moved the money: from here on, a failure to record it is not the
    # customer's failure. A conflict is retried; if recording still fails, the view is what
    # is stored and the provider's payment_intent.succeeded webhook settles the invoice.
    try:
        settled = _retrying_conflicts(
            lambda: settle_confirmed_payment(svc, customer_id, invoice_id, result)
        )
    except NothingToConfirmError:
        settled = load_confirm_page(svc, customer_id, invoice_id)  # settled meanwhile (a webhook)
    except DomainError as exc:
        log.warning("confirmed payment not yet settled", extra={"error": type(exc).__name__})
        settled = load_confirm_page(svc, customer_id, invoice_id)
    return settled, result


def settle_confirmed_payment(
    svc: Services,
    customer_id: str,
    invoice_id: str,
    result: PaymentResult,
    of_order: str | None = None,
) -> ConfirmPage:
    """The customer authenticated the payment on-session and the provider says how it
    ended: settled by the path a `payment_intent.succeeded` webhook takes. A payment made on
    the order the attempt waited as (`of_order`: Razorpay) settles that attempt."""
    view = load_confirm_page(svc, customer_id, invoice_id)
    charge = view.charge
    if charge is None or (of_order or result.payment_id) != charge.payment_id:
        raise NothingToConfirmError(f"invoice {invoice_id} has nothing to confirm")
    if result.outcome is ChargeOutcome.SUCCEEDED:
        charging_settle.settle_reported_payment(
            svc, view.invoice, charge, result, at=svc.clock.now()
        )
    return load_confirm_page(svc, customer_id, invoice_id)


@runtime_checkable
class VerifiesCheckout(Protocol):
    """A provider whose customers pay a waiting order in its own checkout (Razorpay), and
    whose checkout's answer the server verifies before believing it."""

    def verify_checkout(self, answer: CheckoutAnswer) -> PaymentResult: ...


@runtime_checkable
class ChecksOutInSandbox(Protocol):
    """A sandbox of such a provider, which can also play the customer in the checkout."""

    def checkout_in_sandbox(
        self, order: CheckoutOrder, pay_with: str
    ) -> CheckoutAnswer | PaymentResult: ...


def pays_in_checkout(svc: Services, view: ConfirmPage) -> bool:
    """Whether the waiting payment is paid in the provider's checkout (not confirmed with
    a client secret): the confirm page then opens the checkout, or the sandbox's stand-in."""
    gateway = svc.gateway_for(view.charge) if view.charge is not None else None
    return isinstance(gateway, VerifiesCheckout)


def confirm_in_checkout(
    svc: Services, customer_id: str, invoice_id: str, answer: CheckoutAnswer
) -> tuple[ConfirmPage, PaymentResult]:
    """The customer paid the waiting order in the provider's checkout, whose answer came
    through their browser: believed once the provider's signature checks and the provider
    says the payment is that order's (UnverifiedCheckoutError otherwise, nothing settled),
    then settled as its webhook would settle it. Whichever of the page and the webhook comes
    second finds the attempt settled and changes nothing."""
    view = load_confirm_page(svc, customer_id, invoice_id)
    charge = view.charge
    if charge is None or charge.payment_id is None:
        raise NothingToConfirmError(f"invoice {invoice_id} has nothing to confirm")
    gateway = svc.gateway_for(charge)
    if not isinstance(gateway, VerifiesCheckout):
        raise ValidationFailedError("payment", "this provider takes no payment in a checkout")
    if answer.order_id != charge.payment_id:
        raise UnverifiedCheckoutError(
            "the checkout paid another order than the one waiting", code="order_mismatch"
        )
    result = gateway.verify_checkout(answer)
    order = charge.payment_id
    try:
        settled = _retrying_conflicts(
            lambda: settle_confirmed_payment(svc, customer_id, invoice_id, result, of_order=order)
        )
    except NothingToConfirmError:
        settled = load_confirm_page(svc, customer_id, invoice_id)  # the webhook came first
    except DomainError as exc:
        log.warning("checkout payment not yet settled", extra={"error": type(exc).__name__})
        settled = load_confirm_page(svc, customer_id, invoice_id)
    return settled, result


def pay_in_sandbox_checkout(
    svc: Services, customer_id: str, invoice_id: str, pay_with: str
) -> tuple[ConfirmPage, PaymentResult]:
    """Locally, the sandbox plays the customer in the checkout (paying with a test UPI id or
    card); its answer then goes the way a real checkout's does, signature and all."""
    view = load_confirm_page(svc, customer_id, invoice_id)
    auth = payment_authentication(svc, view)
    gateway = svc.gateway_for(view.charge)
    if auth.checkout is None or not isinstance(gateway, ChecksOutInSandbox):
        raise ValidationFailedError("payment", "only a sandbox plays the customer's checkout")
    answer = gateway.checkout_in_sandbox(auth.checkout, pay_with)
    if isinstance(answer, PaymentResult):
        return view, answer  # the payment failed in the checkout: the order still waits
    return confirm_in_checkout(svc, customer_id, invoice_id, answer)


# -- the subscription -----------------------------------------------------------------------------
@dataclass(slots=True)
class SubscriptionPage:
    """What the subscription page shows: its state, plan and next renewal's cost."""

    customer: Customer
    subscription: Subscription
    plan: Plan
    next_amount: int  # minor units the next renewal should cost (before any new credit)
    replaced_by: Subscription | None = None  # set after "come back"
    used: frozenset[str] = frozenset()  # the single-use actions the visiting link has used
    # Save offers presented instead of cancelling: (offer id, string key, its words' values)
    offers: tuple[tuple[str, str, dict[str, str]], ...] = ()
    # The customer's loyalty points while the program is on (None: off, nothing to show),
    # and what one point is worth.
    points: PointsAccount | None = None
    point_value_minor: int = 0
    # The pauses the page offers while the subscription may pause: (months, resumes on),
    # the dates worked out as the pause itself works them out (`pause_until`).
    pause_choices: tuple[tuple[int, datetime], ...] = ()
    # The plans the customer may switch to now (the same currency, not the current one), and
    # what switching to the one they picked would do, shown before they confirm.
    plan_choices: tuple[Plan, ...] = ()
    preview: subscriptions.PlanChangePreview | None = None
    invoices: list[Invoice] = field(default_factory=list)  # newest first, to download
    # Its items (the plan at its seats, then add-ons) and what each costs a period; the
    # add-ons it may take while it may change items (its currency and interval); and what
    # changing to the items asked for would do, shown before the customer confirms.
    items: tuple[PricedItem, ...] = ()
    addon_choices: tuple[Plan, ...] = ()
    items_asked: Items | None = None
    items_preview: subscriptions.PlanChangePreview | None = None

    @property
    def items_changeable(self) -> bool:
        return _may_change_items(self.subscription)


def owned_subscription(svc: Services, customer_id: str, subscription_id: str) -> Subscription:
    sub = svc.repo.get_subscription(subscription_id)
    if sub is None or sub.customer_id != customer_id:
        raise ForeignSubjectError(f"subscription {subscription_id} is not this customer's")
    return sub


def load_subscription_page(
    svc: Services, customer_id: str, subscription_id: str, link: "LinkUse | None" = None
) -> SubscriptionPage:
    sub = owned_subscription(svc, customer_id, subscription_id)
    plan = subscription_plan(svc, sub, sub.current_period_end)  # the next period's
    label, discount = plan.name or plan.id, sub.next_period_discount()
    programs = svc.repo.get_programs().programs
    tenure = sub.next_period_tenure(programs)
    lines = with_tax(period_lines(plan, max(sub.cycle + 1, 0), label, discount, tenure), plan)
    if sub.points_pending and programs.loyalty is not None:
        value = programs.loyalty.point_value_minor
        lines, _ = points_credit_line(lines, sub.points_pending, value, charge_step(plan.currency))
    next_amount = max(sum(line.amount for line in lines) - sub.credit, 0)
    used = frozenset(
        action
        for action in SINGLE_USE_ACTIONS
        if link is not None and svc.repo.has_marker(link.marker_key(action))
    )
    account = svc.repo.get_points(customer_id) if programs.loyalty is not None else None
    now = svc.clock.now()
    pausable = sub.status is SubscriptionStatus.ACTIVE and not sub.cancel_at_period_end
    return SubscriptionPage(
        get_customer(svc, customer_id),
        sub,
        plan,
        next_amount,
        used=used,
        points=account,
        point_value_minor=programs.loyalty.point_value_minor if programs.loyalty else 0,
        pause_choices=tuple((m, pause_until(now, m)) for m in PAUSE_MONTHS) if pausable else (),
        plan_choices=_plan_choices(svc, sub),
        invoices=customer_invoices(svc, customer_id),
        items=priced_items(svc, sub),
        addon_choices=_addon_choices(svc, sub),
    )


def _plan_choices(svc: Services, sub: Subscription) -> tuple[Plan, ...]:
    """Plans the page offers to switch to: a running subscription (not one owing money or
    about to end: those have their own way out) moves to another plan in its currency."""
    running = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)
    if sub.status not in running or sub.cancel_at_period_end:
        return ()
    plans = svc.repo.list_plans()
    found = [
        p
        for p in plans
        if p.id != sub.plan_id and p.currency == sub.currency and p.kind is PlanKind.PLAN
    ]
    return tuple(sorted(found, key=lambda p: (p.amount, p.id)))


def _may_change_items(sub: Subscription) -> bool:
    running = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)
    return sub.status in running and not sub.cancel_at_period_end


def _addon_choices(svc: Services, sub: Subscription) -> tuple[Plan, ...]:
    """The add-ons the page offers beside the plan: those the subscription could hold (its
    currency and interval), while it may change items, in the catalog's order."""
    if not _may_change_items(sub):
        return ()
    interval = get_plan(svc, sub.plan_id).billing_interval
    return tuple(
        p
        for p in svc.repo.list_plans()
        if p.kind is PlanKind.ADDON
        and p.currency == sub.currency
        and p.billing_interval == interval
    )


def _refuse_items_change(view: SubscriptionPage, items: Items) -> None:
    """Only what the page offers: a running subscription, add-ons among its choices, and a
    change (ValidationFailedError on `items` otherwise)."""
    if not _may_change_items(view.subscription):
        raise ValidationFailedError("items", "these items cannot be changed now")
    offered = {p.id for p in view.addon_choices}
    if any(a.price not in offered for a in items.addons):
        raise ValidationFailedError("items", "this add-on is not offered to this subscription")
    if items == view.subscription.items:
        raise ValidationFailedError("items", "the subscription already has these items")


def preview_items_change(
    svc: Services, customer_id: str, subscription_id: str, items: Items, link: "LinkUse"
) -> SubscriptionPage:
    """The page with what changing to `items` now would charge or credit, changing nothing
    (subscriptions.preview_items_change: the change's own amounts)."""
    view = load_subscription_page(svc, customer_id, subscription_id, link)
    _refuse_items_change(view, items)
    view.items_asked = items
    view.items_preview = subscriptions.preview_items_change(svc, subscription_id, items)
    return view


def change_items(
    svc: Services, customer_id: str, subscription_id: str, items: Items, link: "LinkUse"
) -> SubscriptionPage:
    """Change to `items` now, as the API does (a proration invoice charged at once, or
    credit for the next invoice). A double submit finds the items already changed and is
    answered as done, changing nothing more."""

    def attempt() -> None:
        view = load_subscription_page(svc, customer_id, subscription_id, link)
        if view.subscription.items == items:
            return
        _refuse_items_change(view, items)
        subscriptions.change_items(svc, subscription_id, items.quantity, items.addons)

    _retrying_conflicts(attempt)
    return load_subscription_page(svc, customer_id, subscription_id, link)


def preview_plan_change(
    svc: Services, customer_id: str, subscription_id: str, plan_id: str, link: "LinkUse"
) -> SubscriptionPage:
    """The page with what switching to `plan_id` now would charge or credit, changing
    nothing. Only a plan the page offers (ValidationFailedError on `plan` otherwise)."""
    view = load_subscription_page(svc, customer_id, subscription_id, link)
    _offered_plan(view.plan_choices, plan_id)
    view.preview = subscriptions.preview_plan_change(svc, subscription_id, plan_id)
    return view


def change_plan(
    svc: Services, customer_id: str, subscription_id: str, plan_id: str, link: "LinkUse"
) -> SubscriptionPage:
    """Switch to `plan_id` as the API does (subscriptions.change_plan: a proration invoice
    charged at once, or credit for the next invoice). A double submit finds the plan already
    switched and is answered as done, changing nothing more."""

    def attempt() -> None:
        sub = owned_subscription(svc, customer_id, subscription_id)
        if sub.plan_id == plan_id:
            return
        _offered_plan(_plan_choices(svc, sub), plan_id)
        subscriptions.change_plan(svc, subscription_id, plan_id)

    _retrying_conflicts(attempt)
    return load_subscription_page(svc, customer_id, subscription_id, link)


def _offered_plan(choices: tuple[Plan, ...], plan_id: str) -> Plan:
    for plan in choices:
        if plan.id == plan_id:
            return plan
    raise ValidationFailedError("plan", "this plan is not offered to this subscription now")


# How long a customer may pause on the page: a month to a quarter. Longer breaks are the
# business's call (the API takes any `until`), not a button.
PAUSE_MONTHS = (1, 2, 3)


def pause_until(now: datetime, months: int) -> datetime:
    """When a pause of `months` taken at `now` ends: the same day of the month, clamped to
    the month's length (Jan 31 + 1 month is Feb 28/29), as a pause save offer counts it."""
    if months not in PAUSE_MONTHS:
        raise ValidationFailedError(
            "months", f"a pause is {PAUSE_MONTHS[0]} to {PAUSE_MONTHS[-1]} months"
        )
    return add_intervals(now, Interval(IntervalUnit.MONTH, months), 1)


SUBSCRIPTION_ACTIONS = ("pause", "cancel", "keep", "come_back", "accept_offer", "decline_offers")
# What a replayed link must not do twice: each is claimed once per link, in the commit that
# does it. "keep" only undoes these, and "come back" is once per ended subscription anyway.
SINGLE_USE_ACTIONS = ("pause", "cancel")


@dataclass(frozen=True, slots=True)
class LinkUse:
    """The signed link a page action came through: `link_id` names it (a digest, never the
    link itself), `expires_at` is its expiry, after which its markers may go."""

    link_id: str
    expires_at: datetime

    def marker_key(self, action: str) -> str:
        return f"link:{self.link_id}:{action}"

    def claim(self, action: str) -> Marker:
        return Marker(self.marker_key(action), self.expires_at)


def change_subscription(
    svc: Services,
    customer_id: str,
    subscription_id: str,
    action: str,
    link: LinkUse,
    offer: str | None = None,
    reason: str | None = None,
    reason_text: str | None = None,
    months: int | None = None,
) -> SubscriptionPage:
    """Apply one of SUBSCRIPTION_ACTIONS through the subscription services:
    - pause: billing stops now for `months` (one of PAUSE_MONTHS), or for one period's
      length when none is given (the unused rest becomes credit);
    - cancel: at the end of the paid period, with the exit `reason` the customer chose and
      their own words (`reason_text`); "customer_self_service" when none was given;
    - keep: withdraw a scheduled cancellation, or end a pause now;
    - come_back: a new subscription on the same plan, charged as any new one;
    - with save offers configured, cancel presents them first (nothing is canceled):
      accept_offer (with `offer`) applies one, decline_offers cancels as cancel would.
    Pause and cancel are single-use per link: each claims a marker in the commit that makes
    the change, so a replayed link cannot pause or cancel again (LinkAlreadyUsedError) — but
    a double submit, finding the change already made, is answered as done. A double submit
    of "come back" finds the subscription the first one made."""
    if action not in SUBSCRIPTION_ACTIONS:
        raise ValidationFailedError("action", f"unknown action {action!r}")
    if months is not None:
        pause_until(svc.clock.now(), months)  # out of bounds: refused before anything is read
    if action == "come_back":
        sub = owned_subscription(svc, customer_id, subscription_id)
        return _come_back(svc, customer_id, sub, link)
    if action == "accept_offer":
        owned_subscription(svc, customer_id, subscription_id)
        cancellation.accept_offer(svc, subscription_id, offer or "")
        return load_subscription_page(svc, customer_id, subscription_id, link)
    presented: list[SaveOffer] = []
    _retrying_conflicts(
        lambda: presented.extend(
            _change_once(
                svc, customer_id, subscription_id, action, link, reason, reason_text, months
            )
        )
    )
    view = load_subscription_page(svc, customer_id, subscription_id, link)
    view.offers = tuple(_offer_words(svc, o) for o in presented)
    return view


def _offer_words(svc: Services, offer: SaveOffer) -> tuple[str, str, dict[str, str]]:
    """An offer as the page words it: never a coupon's or a plan's id, their names."""
    if offer.kind is OfferKind.PAUSE:
        return offer.id, "offer_pause", {"months": str(offer.months or 1)}
    if offer.kind is OfferKind.COUPON:
        coupon = svc.repo.get_coupon(offer.coupon or "")
        named = (coupon.name or coupon.terms.describe()) if coupon is not None else ""
        return offer.id, "offer_coupon", {"coupon": named}
    plan = get_plan(svc, offer.plan or "")
    return offer.id, "offer_change_plan", {"plan": plan.name or plan.id}


def _change_once(
    svc: Services,
    customer_id: str,
    subscription_id: str,
    action: str,
    link: LinkUse,
    reason: str | None = None,
    reason_text: str | None = None,
    months: int | None = None,
) -> tuple[SaveOffer, ...]:
    """Make the change; the save offers presented instead of a cancellation, if any."""
    sub = owned_subscription(svc, customer_id, subscription_id)
    claimed = "cancel" if action == "decline_offers" else action  # declining cancels
    if claimed in SINGLE_USE_ACTIONS and svc.repo.has_marker(link.marker_key(claimed)):
        if _already_done(sub, claimed):
            return ()  # a double submit: the first one did it
        raise LinkAlreadyUsedError(claimed)
    try:
        if action == "pause":
            now = svc.clock.now()
            if months is None:
                until = now + (sub.current_period_end - sub.current_period_start)
            else:
                until = pause_until(now, months)
            subscriptions.pause(svc, sub.id, until, claim=link.claim(action))
        elif action in ("cancel", "decline_offers"):
            # The page offers what the business configured before it cancels; declining
            # them (or none configured) cancels at the period end, as it always did.
            done = cancellation.request_cancel(
                svc,
                sub.id,
                at_period_end=True,
                reason=reason or "customer_self_service",
                reason_text=reason_text,
                offers=action == "cancel",
                decline_offers=action == "decline_offers",
                claim=link.claim("cancel"),
            )
            return done.offers
        else:
            subscriptions.resume(svc, sub.id)
    except AlreadyExistsError as exc:
        if exc.kind != "marker":
            raise
        # A concurrent submit of the same link claimed it first: read again, decide again.
        raise ConcurrencyError(f"link {link.link_id} claimed meanwhile") from exc
    return ()


def redeem_points(
    svc: Services,
    customer_id: str,
    subscription_id: str,
    count: int,
    link: LinkUse,
    form: str,
) -> SubscriptionPage:
    """Redeem `count` of the customer's points for a credit on their next invoice, as the API
    does (ValidationFailedError on `points`, nothing written: the program off, beyond the
    balance, nothing to invoice). Once per rendered form (`form` names it) and count: a
    double submit finds the first one's marker and is answered as done, redeeming nothing
    more; a new page (a new form) redeems again."""
    owned_subscription(svc, customer_id, subscription_id)
    digest = hashlib.sha256(form.encode()).hexdigest()[:32]
    try:
        points.redeem_points(
            svc, customer_id, count, claim=link.claim(f"redeem_points:{digest}:{count}")
        )
    except AlreadyExistsError as exc:
        if exc.kind != "marker":
            raise
    return load_subscription_page(svc, customer_id, subscription_id, link)


def _already_done(sub: Subscription, action: str) -> bool:
    if action == "pause":
        return sub.status is SubscriptionStatus.PAUSED
    return sub.cancel_at_period_end or sub.status is SubscriptionStatus.CANCELED


def comeback_id(sub: Subscription) -> str:
    # The ended subscription never changes again, so its version names this comeback.
    return f"{sub.id}.r{sub.version}"


def _come_back(
    svc: Services, customer_id: str, sub: Subscription, link: LinkUse
) -> SubscriptionPage:
    if sub.status is not SubscriptionStatus.CANCELED:
        raise ValidationFailedError("action", "only an ended subscription can come back")
    new_id = comeback_id(sub)
    if svc.repo.get_subscription(new_id) is None:
        try:
            subscriptions.subscribe(svc, new_id, customer_id, sub.plan_id)
        except (DomainError, GatewayError) as exc:
            # Once the new subscription is stored the comeback happened, whatever failed after
            # it (a second submit that made it first, a later step of collecting its invoice,
            # which the schedule takes over): the page says so rather than "nothing changed".
            if svc.repo.get_subscription(new_id) is None:
                raise
            log.warning("comeback stored, a later step failed", extra={"error": type(exc).__name__})
    view = load_subscription_page(svc, customer_id, sub.id, link)
    view.replaced_by = subscriptions.get_subscription(svc, new_id)
    return view


# -- invoices -----------------------------------------------------------------------------------
# The page lists this many, newest first: years of monthly invoices, and a bounded page.
INVOICES_LISTED = 36


def customer_invoices(svc: Services, customer_id: str) -> list[Invoice]:
    """The customer's invoices (subscriptions' and instalments'), newest first, at most
    INVOICES_LISTED: what the portal lists for download."""
    found = [
        i
        for sub in svc.repo.list_subscriptions(customer_id)
        for i in svc.repo.list_invoices(sub.id)
    ]
    for plan in svc.repo.list_installment_plans(customer_id):
        for instalment in plan.instalments:
            invoice = svc.repo.get_invoice(instalment.invoice_id) if instalment.invoice_id else None
            if invoice is not None:
                found.append(invoice)
    shown = [i for i in found if i.status is not InvoiceStatus.DRAFT]
    return sorted(shown, key=lambda i: (i.created_at, i.id), reverse=True)[:INVOICES_LISTED]


@dataclass(slots=True)
class InvoicePage:
    """One of the customer's invoices, as its printable receipt page shows it."""

    customer: Customer
    invoice: Invoice


def load_invoice_page(
    svc: Services, customer_id: str, subscription_id: str, invoice_id: str
) -> InvoicePage:
    """An invoice opened from the manage page's list: the link's subscription must be the
    customer's (ForeignSubjectError), and the invoice too (InvoiceNotShownError: to the
    customer an invoice that is not theirs does not exist)."""
    owned_subscription(svc, customer_id, subscription_id)
    invoice = svc.repo.get_invoice(invoice_id) if invoice_id else None
    if (
        invoice is None
        or invoice.customer_id != customer_id
        or invoice.status is InvoiceStatus.DRAFT
    ):
        raise InvoiceNotShownError(invoice_id)
    return InvoicePage(get_customer(svc, customer_id), invoice)


class InvoiceNotShownError(DomainError):
    """No invoice of the link's customer has this id (another customer's, or none)."""


# -- portal links -------------------------------------------------------------------------------
def portal_subject(svc: Services, customer_id: str, purpose: str) -> str:
    """What a portal link for `purpose` opens for this customer (the page's subject): the
    customer for the card page, the payment waiting for confirmation (the oldest, if
    several), or the subscription to manage (the latest that has not ended, else the latest
    that has: its page offers to come back). NotFoundError for an unknown customer,
    NothingToOpenError when the page would have nothing to act on."""
    get_customer(svc, customer_id)
    if purpose == "update_card":
        return customer_id
    if purpose == "confirm_payment":
        for invoice in owed_invoices(svc, customer_id):
            if _awaiting_authentication(svc, invoice) is not None:
                return invoice.id
        raise NothingToOpenError("no payment of this customer waits for confirmation")
    if purpose == "manage_subscription":
        subs = sorted(svc.repo.list_subscriptions(customer_id), key=lambda s: (s.created_at, s.id))
        running = [s for s in subs if s.status is not SubscriptionStatus.CANCELED]
        if running or subs:
            return (running or subs)[-1].id
        raise NothingToOpenError("this customer has no subscription to manage")
    if purpose == "collections":
        # The latest case still waiting for the customer's choice; one in a plan, settled
        # or written off has nothing for the page to offer.
        waiting = [c for c in svc.repo.list_collection_cases(customer_id) if c.status == "open"]
        if waiting:
            return waiting[-1].id
        raise NothingToOpenError("this customer has no open collections case")
    raise ValidationFailedError("purpose", f"unknown purpose {purpose!r}")
