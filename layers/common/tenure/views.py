"""The JSON shapes of Tenure's objects, one per kind, shared by what shows them: the HTTP
API's responses (and its OpenAPI document, through these TypedDicts) and `tenure
simulate`'s state.json. Moments are ISO 8601 UTC strings, money integer minor units."""

from datetime import datetime
from typing import NotRequired, TypedDict

from tenure.domain.audit import AuditEntry
from tenure.domain.charges import Charge
from tenure.domain.collection_cases import CollectionCase
from tenure.domain.credit_notes import CreditNote, refund_failed
from tenure.domain.customers import Customer, PaymentMethod
from tenure.domain.discounts import Coupon, Discount
from tenure.domain.installments import InstallmentPlan
from tenure.domain.invoices import Invoice
from tenure.domain.offers import SaveOffer
from tenure.domain.plans import Plan
from tenure.domain.points import PointsAccount
from tenure.domain.pricing import Items
from tenure.domain.refunds import Refund, refund_id, refund_status
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import iso


class CustomerView(TypedDict):
    id: str
    email: str
    name: str
    locale: str
    timezone: str
    default_payment_method: str | None
    created_at: str
    at_risk: bool  # a dispute was reported by the provider (webhooks)
    # Present only when the customer chose one (absent: the deployment's default provider).
    provider: NotRequired[str]
    # What invoices print of the buyer (docs/invoices.md); null when not given.
    billing_name: str | None
    billing_address: str | None
    tax_id: str | None
    # Present only once the customer's personal data was erased (docs/privacy.md).
    erased_at: NotRequired[str]
    # Present only when the customer gave one (E.164).
    phone: NotRequired[str]
    # Present only once an erasure was owed at the payment provider (docs/privacy.md).
    provider_erasure: NotRequired["ProviderErasureView"]
    # Present only once a phone change was owed at the payment provider (docs/razorpay.md).
    phone_sync: NotRequired["PhoneSyncView"]
    # Present only while a provider customer is being made and its id is not stored, or once
    # it could not be learned (a person looks: docs/privacy.md).
    provider_customer_pending: NotRequired["ProviderCustomerPendingView"]


class ProviderCustomerPendingView(TypedDict):
    status: str  # pending | unresolved
    provider: str
    since: str  # when the provider was asked to make it
    tries: int  # replays the provider did not answer
    failure: str | None  # why it could not be learned, when unresolved


class PhoneSyncView(TypedDict):
    status: str  # pending | sent | refused
    tries: int  # tries the provider did not answer
    sent_at: str | None
    failure: str | None  # the provider's refusal code, when refused


class ProviderErasureView(TypedDict):
    status: str  # pending | erased | refused
    tries: int  # tries the provider did not answer
    erased_at: str | None
    failure: str | None  # the provider's refusal code, when refused


class PaymentMethodView(TypedDict):
    id: str
    customer: str
    provider: str
    created_at: str


class DiscountView(TypedDict):
    coupon: str
    periods_left: int | None  # period invoices it still covers; null: forever
    starts: str  # it covers periods that start at or after this moment


class SubscriptionView(TypedDict):
    id: str
    customer: str
    plan: str
    status: str
    currency: str
    created_at: str
    current_period_start: str
    current_period_end: str
    trial_end: str | None
    cancel_at_period_end: bool
    canceled_at: str | None
    cancel_reason: str | None
    cancel_reason_text: str | None  # the customer's own words with the reason (<= 1000)
    paused_until: str | None
    credit: int
    mrr: int  # the subscription's monthly value now, in minor units (docs/metrics.md)
    # The coupon still to cover coming periods (null when none, or once it is used up).
    discount: DiscountView | None
    # Only when it holds more than its plan at one seat: the plan first, then the add-ons;
    # and a change of them waiting for the period's end (tenure.domain.pricing).
    items: NotRequired[list["ItemView"]]
    scheduled_items: NotRequired[list["ItemView"]]
    # The plan's price changes it noted (docs/pricing.md): each change and the start of its
    # first period at the new price (null: grandfathered). Absent while it noted none.
    price_steps: NotRequired[list["PriceStepView"]]


class ItemView(TypedDict):
    price: str  # the plan's or add-on's id
    quantity: int


class PriceStepView(TypedDict):
    change: str
    starts: str | None


class CouponView(TypedDict):
    id: str
    name: str
    percent_off: str | None  # exact, as text: "12.5"
    amount_off: int | None  # minor units of `currency`
    currency: str | None
    duration: str  # once | repeating | forever
    duration_in_periods: int | None
    max_redemptions: int | None
    redeem_by: str | None
    plans: list[str]  # empty: every plan
    times_redeemed: int
    created_at: str


class InvoiceLineView(TypedDict):
    kind: str
    description: str
    amount: int


class OwedRefundView(TypedDict):
    """A refund a cancellation asked for that is not made yet (pending: still being tried) or
    whose tries stopped without a refund (failed: a person decides)."""

    refund: str  # the id the refund takes once made
    amount: int  # minor units of the invoice's currency
    status: str  # pending | failed
    policy: str  # full | prorated: how the amount was decided
    reason: str | None
    asked_at: str
    tries: int  # tries after the one at the cancellation that got no answer
    next_try_at: str | None  # while pending
    failed_at: str | None
    failure_reason: str | None  # provider_unanswered | provider_refused, once failed


class InvoiceView(TypedDict):
    id: str
    subscription: str
    customer: str
    kind: str
    period_start: str
    period_end: str
    currency: str
    total: int
    status: str
    lines: list[InvoiceLineView]
    created_at: str
    paid_at: str | None
    attempts: int
    next_attempt_at: str | None
    # Reported by the provider (webhooks): refunds made in its dashboard, disputes.
    amount_refunded: int
    refund_status: str | None
    disputed: bool
    dispute_status: str | None
    # A refund its subscription's cancellation owes and that is not made (null: none).
    refund_owed: OwedRefundView | None
    # The legal number (docs/invoices.md; null only for a draft) and what credit notes took
    # back of it, in minor units.
    number: str | None
    credited: int


class CreditNoteView(TypedDict):
    id: str
    number: str | None
    invoice: str
    invoice_number: str | None
    customer: str
    amount: int  # minor units of `currency`
    currency: str
    reason: str  # refund | adjustment
    created_at: str
    # Only on a note whose refund the provider reported failed (or canceled): the note stays
    # issued (as Stripe keeps it), naming the refund (state.json `refunds`) and its status.
    refund: NotRequired[str]
    refund_status: NotRequired[str]


class ChargeView(TypedDict):
    id: str
    invoice: str
    subscription: str
    customer: str
    idempotency_key: str
    payment_id: str | None
    amount: int
    currency: str
    outcome: str
    decline_code: str | None
    at: str
    calls: int


class RegistrationChargeView(TypedDict):
    """A payment that authorised a new mandate (docs/razorpay.md): among the charges, of no
    invoice or subscription, never revenue, and refunded in full (`refund`)."""

    id: str
    invoice: None
    subscription: None
    customer: str
    purpose: str  # "mandate_registration"
    idempotency_key: str  # the refund's key at the provider
    payment_id: str
    order_id: str
    amount: int
    currency: str
    outcome: str  # "succeeded": the provider captured it
    decline_code: None
    at: str
    calls: int
    refund: "RegistrationRefundView"


class RegistrationRefundView(TypedDict):
    status: str  # owed | refunded | refused
    provider_refund_id: str | None
    at: str | None
    tries: int  # tries the provider did not answer
    failure: str | None


class RefundView(TypedDict):
    id: str
    invoice: str
    subscription: str
    customer: str
    charge: str  # the payment attempt refunded
    provider_refund_id: str
    amount: int
    currency: str
    at: str
    reason: str | None
    note: str | None
    policy: str  # full | prorated | partial: why it is this amount
    status: str  # succeeded | pending | failed (Stripe's words), as the provider last said


def _at(moment: datetime) -> str:
    text = iso(moment)
    assert text is not None  # a required moment
    return text


def customer_view(c: Customer) -> CustomerView:
    view: CustomerView = {
        "id": c.id,
        "email": c.email,
        "name": c.name,
        "locale": c.locale,
        "timezone": c.timezone,
        "default_payment_method": c.default_payment_method,
        "created_at": _at(c.created_at),
        "at_risk": bool(c.metadata.get("at_risk")),
        "billing_name": c.billing.name if c.billing else None,
        "billing_address": c.billing.address if c.billing else None,
        "tax_id": c.billing.tax_id if c.billing else None,
    }
    if c.provider is not None:
        view["provider"] = c.provider
    if c.erased_at is not None:
        view["erased_at"] = _at(c.erased_at)
    if c.phone is not None:
        view["phone"] = c.phone
    if (erasure := c.provider_erasure) is not None:
        status = "pending" if erasure.pending else "refused" if erasure.failure else "erased"
        view["provider_erasure"] = {
            "status": status,
            "tries": erasure.tries,
            "erased_at": _at(erasure.erased_at) if erasure.erased_at else None,
            "failure": erasure.failure,
        }
    if (sync := c.phone_sync) is not None:
        view["phone_sync"] = {
            "status": "pending" if sync.pending else "refused" if sync.failure else "sent",
            "tries": sync.tries,
            "sent_at": _at(sync.sent_at) if sync.sent_at else None,
            "failure": sync.failure,
        }
    if (making := c.provider_customer_pending) is not None:
        view["provider_customer_pending"] = {
            "status": "pending" if making.pending else "unresolved",
            "provider": making.provider,
            "since": _at(making.at),
            "tries": making.tries,
            "failure": making.failure,
        }
    return view


def registration_charge_views(c: Customer) -> list[RegistrationChargeView]:
    """The customer's mandate registration payments, as charges of no invoice."""
    return [
        {
            "id": r.charge_id,
            "invoice": None,
            "subscription": None,
            "customer": c.id,
            "purpose": "mandate_registration",
            "idempotency_key": r.refund_key,
            "payment_id": r.payment_id,
            "order_id": r.order_id,
            "amount": r.amount,
            "currency": r.currency,
            "outcome": "succeeded",
            "decline_code": None,
            "at": _at(r.at),
            "calls": 0,
            "refund": {
                "status": "owed" if r.pending else "refused" if r.failure else "refunded",
                "provider_refund_id": r.refund_id,
                "at": _at(r.refunded_at) if r.refunded_at else None,
                "tries": r.tries,
                "failure": r.failure,
            },
        }
        for r in c.registrations
    ]


def payment_method_view(method: PaymentMethod) -> PaymentMethodView:
    return {
        "id": method.id,
        "customer": method.customer_id,
        "provider": method.provider,
        "created_at": _at(method.created_at),
    }


def subscription_view(s: Subscription) -> SubscriptionView:
    view: SubscriptionView = {
        "id": s.id,
        "customer": s.customer_id,
        "plan": s.plan_id,
        "status": str(s.status),
        "currency": s.currency,
        "created_at": _at(s.created_at),
        "current_period_start": _at(s.current_period_start),
        "current_period_end": _at(s.current_period_end),
        "trial_end": iso(s.trial_end),
        "cancel_at_period_end": s.cancel_at_period_end,
        "canceled_at": iso(s.canceled_at),
        "cancel_reason": s.cancel_reason,
        "cancel_reason_text": s.cancel_reason_text,
        "paused_until": iso(s.paused_until),
        "credit": s.credit,
        "mrr": s.mrr,
        "discount": _discount_view(s.discount),
    }
    if not s.items.plain:
        view["items"] = _items_view(s.plan_id, s.items)
    if s.scheduled_items is not None:
        view["scheduled_items"] = _items_view(s.plan_id, s.scheduled_items)
    if s.price_steps:
        view["price_steps"] = [
            {"change": step.change, "starts": iso(step.starts)} for step in s.price_steps
        ]
    return view


def _items_view(plan_id: str, items: Items) -> list[ItemView]:
    views: list[ItemView] = [{"price": plan_id, "quantity": items.quantity}]
    views.extend({"price": a.price, "quantity": a.quantity} for a in items.addons)
    return views


def _discount_view(d: Discount | None) -> DiscountView | None:
    if d is None:
        return None
    return {"coupon": d.coupon_id, "periods_left": d.periods_left, "starts": _at(d.starts)}


def coupon_view(c: Coupon) -> CouponView:
    t = c.terms
    return {
        "id": c.id,
        "name": c.name,
        "percent_off": f"{t.percent_off.normalize():f}" if t.percent_off is not None else None,
        "amount_off": t.amount_off,
        "currency": t.currency,
        "duration": str(c.duration),
        "duration_in_periods": c.duration_in_periods,
        "max_redemptions": c.max_redemptions,
        "redeem_by": iso(c.redeem_by),
        "plans": list(c.plans),
        "times_redeemed": c.times_redeemed,
        "created_at": _at(c.created_at),
    }


def invoice_view(i: Invoice) -> InvoiceView:
    return {
        "id": i.id,
        "subscription": i.subscription_id,
        "customer": i.customer_id,
        "kind": str(i.kind),
        "period_start": _at(i.period_start),
        "period_end": _at(i.period_end),
        "currency": i.currency,
        "total": i.total,
        "status": str(i.status),
        "lines": [
            {"kind": str(line.kind), "description": line.description, "amount": line.amount}
            for line in i.lines
        ],
        "created_at": _at(i.created_at),
        "paid_at": iso(i.paid_at),
        "attempts": i.attempts,
        "next_attempt_at": iso(i.next_attempt_at),
        "amount_refunded": i.amount_refunded,
        "refund_status": i.refund_status,
        "disputed": i.disputed,
        "dispute_status": str(i.dispute_status) if i.dispute_status else None,
        "refund_owed": _owed_refund_view(i),
        "number": i.number,
        "credited": i.credited,
    }


class PartyView(TypedDict):
    """Who an invoice is from or made out to, as it prints them (docs/invoices.md)."""

    name: str | None
    address: str | None
    tax_id: str | None


class InvoiceDetailView(InvoiceView):
    """One invoice as `GET /v1/invoices/{id}` shows it: with its credit notes, and the
    seller and buyer it is made out between."""

    credit_notes: list[CreditNoteView]
    seller: PartyView
    buyer: PartyView


class CreditNotePage(TypedDict):
    data: list[CreditNoteView]


def invoice_detail_view(
    i: Invoice, notes: list[CreditNote], seller: PartyView, buyer: Customer | None
) -> InvoiceDetailView:
    billing = buyer.billing if buyer is not None else None
    return {
        **invoice_view(i),
        "credit_notes": [credit_note_view(n, i) for n in notes],
        "seller": seller,
        "buyer": {
            # The legal name when given, else the name the customer goes by.
            "name": (billing.name if billing and billing.name else None)
            or (buyer.name if buyer is not None and buyer.name else None),
            "address": billing.address if billing else None,
            "tax_id": billing.tax_id if billing else None,
        },
    }


def credit_note_view(n: CreditNote, invoice: Invoice | None = None) -> CreditNoteView:
    """`invoice`: the credited invoice, which tells whether the note's refund failed."""
    view: CreditNoteView = {
        "id": n.id,
        "number": n.number,
        "invoice": n.invoice_id,
        "invoice_number": n.invoice_number,
        "customer": n.customer_id,
        "amount": n.amount,
        "currency": n.currency,
        "reason": str(n.reason),
        "created_at": _at(n.created_at),
    }
    failed = refund_failed(n, invoice) if invoice is not None else None
    if failed is not None and n.refund_id is not None:
        view["refund"], view["refund_status"] = n.refund_id, str(failed)
    return view


def _owed_refund_view(i: Invoice) -> OwedRefundView | None:
    owed = i.refund_owed
    if owed is None:
        return None
    return {
        "refund": refund_id(i.id, owed.number),
        "amount": owed.amount,
        "status": str(owed.status),
        "policy": owed.basis,
        "reason": owed.reason,
        "asked_at": _at(owed.asked_at),
        "tries": owed.tries,
        "next_try_at": iso(owed.next_try_at) if owed.pending else None,
        "failed_at": iso(owed.failed_at),
        "failure_reason": str(owed.failure) if owed.failure else None,
    }


def charge_view(c: Charge) -> ChargeView:
    return {
        "id": c.id,
        "invoice": c.invoice_id,
        "subscription": c.subscription_id,
        "customer": c.customer_id,
        "idempotency_key": c.idempotency_key,
        "payment_id": c.payment_id,
        "amount": c.amount,
        "currency": c.currency,
        "outcome": str(c.outcome),
        "decline_code": c.decline_code,
        "at": _at(c.at),
        "calls": c.calls,
    }


class PointsEntryView(TypedDict):
    at: str
    kind: str  # earned | redeemed | reversed
    points: int  # signed: + earned, - redeemed or reversed
    invoice: str | None


class PointsView(TypedDict):
    customer: str
    balance: int  # points that can be redeemed (below zero after a reversal of spent points)
    pending: int  # redeemed, waiting for the next invoice to credit them
    entries: list[PointsEntryView]  # oldest first


def points_view(account: PointsAccount) -> PointsView:
    return {
        "customer": account.customer_id,
        "balance": account.balance,
        "pending": account.pending,
        "entries": [
            {"at": _at(e.at), "kind": str(e.kind), "points": e.points, "invoice": e.invoice}
            for e in account.entries
        ],
    }


def refund_view(r: Refund, invoice: Invoice | None) -> RefundView:
    """`invoice`: the refunded invoice, whose provider reports tell the refund's status
    (None: not read, the refund just made: pending)."""
    return {
        "id": r.id,
        "invoice": r.invoice_id,
        "subscription": r.subscription_id,
        "customer": r.customer_id,
        "charge": r.charge_id,
        "provider_refund_id": r.provider_refund_id,
        "amount": r.amount,
        "currency": r.currency,
        "at": _at(r.at),
        "reason": r.reason,
        "note": r.note,
        "policy": str(r.basis),
        "status": str(refund_status(invoice, r) if invoice is not None else "pending"),
    }


class OfferView(TypedDict, total=False):
    id: str
    kind: str  # pause | coupon | change_plan
    months: int  # with pause
    coupon: str  # with coupon
    plan: str  # with change_plan


def offer_view(o: SaveOffer) -> OfferView:
    """A save offer as presented: its id, kind and the one term its kind takes."""
    shown: OfferView = {"id": o.id, "kind": str(o.kind)}
    if o.months is not None:
        shown["months"] = o.months
    if o.coupon is not None:
        shown["coupon"] = o.coupon
    if o.plan is not None:
        shown["plan"] = o.plan
    return shown


class InstalmentView(TypedDict):
    number: int
    due_at: str
    amount: int  # minor units of the plan's currency
    invoice: str | None  # the instalment's invoice, once it came due
    status: str  # scheduled | open | past_due | paid | uncollectible | canceled


class InstallmentPlanView(TypedDict):
    id: str
    customer: str
    amount: int
    currency: str
    count: int
    every: str  # week | two_weeks | month
    description: str
    start: str
    status: str  # active | completed | defaulted | canceled
    instalments: list[InstalmentView]


class InstallmentPlanPage(TypedDict):
    data: list[InstallmentPlanView]


def installment_plan_view(plan: InstallmentPlan) -> InstallmentPlanView:
    return {
        "id": plan.id,
        "customer": plan.customer_id,
        "amount": plan.amount,
        "currency": plan.currency,
        "count": plan.count,
        "every": str(plan.every),
        "description": plan.description,
        "start": _at(plan.start),
        "status": str(plan.status),
        "instalments": [
            {
                "number": i.number,
                "due_at": _at(i.due_at),
                "amount": i.amount,
                "invoice": i.invoice_id,
                "status": str(i.status),
            }
            for i in plan.instalments
        ],
    }


class CaseLineView(TypedDict):
    invoice: str
    period_start: str
    period_end: str
    description: str
    amount: int  # minor units; negative for discounts and credits


class RepaymentPlanView(TypedDict):
    id: str
    count: int
    every: str  # week | two_weeks
    status: str  # active | completed | defaulted | canceled
    instalments: list[InstalmentView]


class CollectionCaseView(TypedDict):
    id: str
    customer: str
    subscription: str
    currency: str
    total: int  # what the case opened with: the sum of its lines
    recovered: int
    # Minor units no provider could charge, forgiven when the case settled (the balance
    # left under a three-decimal currency's step of 10): present only when not 0.
    forgiven: NotRequired[int]
    balance: int  # total - recovered - forgiven
    status: str  # open | in_plan | settled | written_off
    opened_at: str
    closed_at: str | None
    lines: list[CaseLineView]
    plan: RepaymentPlanView | None  # the standing (or last) repayment plan


class CollectionCasePage(TypedDict):
    data: list[CollectionCaseView]


def collection_case_view(case: CollectionCase, plan: InstallmentPlan | None) -> CollectionCaseView:
    """The case, with its repayment plan when one was chosen (`plan` must be case.plan_id's)."""
    view = _case_view(case, plan)
    if case.forgiven:  # absent otherwise: a case reads as it always did
        view["forgiven"] = case.forgiven
    return view


def _case_view(case: CollectionCase, plan: InstallmentPlan | None) -> CollectionCaseView:
    return {
        "id": case.id,
        "customer": case.customer_id,
        "subscription": case.subscription_id,
        "currency": case.currency,
        "total": case.total,
        "recovered": case.recovered,
        "balance": case.balance,
        "status": str(case.status),
        "opened_at": _at(case.opened_at),
        "closed_at": iso(case.closed_at),
        "lines": [
            {
                "invoice": ln.invoice_id,
                "period_start": _at(ln.period_start),
                "period_end": _at(ln.period_end),
                "description": ln.description,
                "amount": ln.amount,
            }
            for ln in case.lines
        ],
        "plan": None
        if plan is None
        else {
            "id": plan.id,
            "count": plan.count,
            "every": str(plan.every),
            "status": str(plan.status),
            "instalments": installment_plan_view(plan)["instalments"],
        },
    }


class AuditView(TypedDict):
    id: str
    at: str
    actor: str  # a token's name, or system:renewals, system:webhooks, ...
    action: str
    entity: str  # the id of the object acted on
    customer: str
    note: str | None
    reference: str | None
    before: dict[str, str | int | bool | None]
    after: dict[str, str | int | bool | None]


def audit_view(e: AuditEntry) -> AuditView:
    return {
        "id": e.id,
        "at": _at(e.at),
        "actor": e.actor,
        "action": str(e.action),
        "entity": e.entity,
        "customer": e.customer_id,
        "note": e.note,
        "reference": e.reference,
        "before": dict(e.before),
        "after": dict(e.after),
    }


class PriceChangeView(TypedDict):
    id: str
    amount: int  # minor units of the plan's currency
    effective_at: str  # new subscribers pay it from here
    notice_days: int  # earlier subscribers are emailed at least this long before paying it
    grandfather: bool  # earlier subscribers keep their price
    announced_at: str
    tiers: NotRequired[list["TierView"]]  # a tiered plan's new table (its amount is then 0)


class TierView(TypedDict):
    up_to: int | None
    unit_amount: int
    flat_amount: int


class PlanPricesView(TypedDict):
    """A plan's price now and its history: `amount` is the price it was created with,
    `current_amount` what a new subscriber pays now, `scheduled` the changes to come."""

    id: str
    amount: int
    currency: str
    current_amount: int
    price_changes: list[PriceChangeView]
    scheduled: list[PriceChangeView]


def price_change_view(plan: Plan, n: int) -> PriceChangeView:
    change = plan.price_changes[n]
    view: PriceChangeView = {
        "id": change.id,
        "amount": change.amount,
        "effective_at": _at(change.effective_at),
        "notice_days": change.notice_days,
        "grandfather": change.grandfather,
        "announced_at": _at(change.announced_at),
    }
    if change.tiers:
        view["tiers"] = [
            {"up_to": t.up_to, "unit_amount": t.unit_amount, "flat_amount": t.flat_amount}
            for t in change.tiers
        ]
    return view


def plan_prices_view(plan: Plan, now: datetime) -> PlanPricesView:
    shown = [price_change_view(plan, n) for n in range(len(plan.price_changes))]
    return {
        "id": plan.id,
        "amount": plan.amount,
        "currency": plan.currency,
        "current_amount": plan.amount_for_new_subscribers(now),
        "price_changes": shown,
        "scheduled": [
            view
            for view, change in zip(shown, plan.price_changes, strict=True)
            if change.effective_at > now
        ],
    }
