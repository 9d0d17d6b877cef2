"""How Tenure's data is written to DynamoDB and read back: entities to and from plain
attribute maps, and plain maps to and from DynamoDB's typed attribute values (ints stay
ints). No key shapes here: see dynamodb.py."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from tenure.domain.audit import AuditAction, AuditEntry, Summary
from tenure.domain.charges import Charge, ChargeOutcome, ChargeStatus
from tenure.domain.collection_cases import CaseLine, CaseStatus, CollectionCase
from tenure.domain.credit_notes import CreditNote, CreditReason
from tenure.domain.customers import (
    BillingDetails,
    Contact,
    Customer,
    PaymentMethod,
    ProviderErasure,
)
from tenure.domain.discounts import Coupon, Discount, DiscountTerms, TenureDiscount
from tenure.domain.installments import (
    Every,
    InstallmentPlan,
    Instalment,
    InstalmentStatus,
    PlanStatus,
)
from tenure.domain.invoices import (
    DisputeStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    OwedRefund,
    OwedRefundFailure,
    OwedRefundStatus,
    RefundRecord,
    RefundStatus,
)
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus
from tenure.domain.offers import AttemptStatus, SaveAttempt, SaveOffer
from tenure.domain.plans import Plan, PlanKind, TaxBehavior, Tier
from tenure.domain.price_notices import PriceNoticeRun
from tenure.domain.prices import PriceChange, PriceStep
from tenure.domain.pricing import PLAIN, Item, Items
from tenure.domain.programs import ProgramsSetting, programs_from_json
from tenure.domain.provider_owed import PhoneSync, RegistrationPayment
from tenure.domain.refunds import Refund, RefundBasis
from tenure.domain.subscription import Subscription, SubscriptionStatus
from tenure.store.compact import (
    CHARGE_DEFAULTS,
    CONTACT_DEFAULTS,
    INVOICE_DEFAULTS,
    NOTICE_DEFAULTS,
    SUBSCRIPTION_DEFAULTS,
    compact,
    with_repeats,
    without_repeats,
)


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _req(value: Any) -> datetime:
    parsed = _parse(value)
    if parsed is None:
        raise ValueError("missing timestamp in stored item")
    return parsed


def customer_to_attrs(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "email": c.email,
        "name": c.name,
        "locale": c.locale,
        "timezone": c.timezone,
        "created_at": _dt(c.created_at),
        "default_payment_method": c.default_payment_method,
        "provider_customer_id": c.provider_customer_id,
        "metadata": dict(c.metadata),
        # Written only when chosen: customers of the default provider keep their items.
        **({"provider": c.provider} if c.provider is not None else {}),
        # Written only once erased: every other customer keeps its item as it was.
        **({"erased_at": _dt(c.erased_at)} if c.erased_at is not None else {}),
        # Written only when given, as the provider.
        **({"phone": c.phone} if c.phone is not None else {}),
        # Written only once an erasure is owed at the provider.
        **(
            {"provider_erasure": _provider_erasure_attrs(c.provider_erasure)}
            if c.provider_erasure is not None
            else {}
        ),
        # Written only once a phone was owed at the provider / a mandate was registered.
        **({"phone_sync": _phone_sync_attrs(c.phone_sync)} if c.phone_sync is not None else {}),
        **(
            {"registrations": [_registration_attrs(r) for r in c.registrations]}
            if c.registrations
            else {}
        ),
        # Written only once it lists one: older customers keep their items as they were.
        **({"subscriptions": set(c.subscription_ids)} if c.subscription_ids else {}),
    } | ({"billing": _billing_attrs(c.billing)} if c.billing is not None else {})


def _phone_sync_attrs(p: PhoneSync) -> dict[str, Any]:
    return {
        "phone": p.phone,
        "asked_at": _dt(p.asked_at),
        "next_try_at": _dt(p.next_try_at),
        "tries": p.tries,
        "sent_at": _dt(p.sent_at),
        "failure": p.failure,
    }


def _phone_sync(a: dict[str, Any] | None) -> PhoneSync | None:
    if not a:
        return None
    return PhoneSync(
        phone=a.get("phone"),
        asked_at=_req(a["asked_at"]),
        next_try_at=_req(a["next_try_at"]),
        tries=int(a.get("tries") or 0),
        sent_at=_parse(a.get("sent_at")),
        failure=a.get("failure"),
    )


def _registration_attrs(r: RegistrationPayment) -> dict[str, Any]:
    return {
        "payment_id": r.payment_id,
        "order_id": r.order_id,
        "amount": r.amount,
        "currency": r.currency,
        "at": _dt(r.at),
        "next_try_at": _dt(r.next_try_at),
        "tries": r.tries,
        "refund_id": r.refund_id,
        "refunded_at": _dt(r.refunded_at),
        "failure": r.failure,
    }


def _registration(a: dict[str, Any]) -> RegistrationPayment:
    return RegistrationPayment(
        payment_id=a["payment_id"],
        order_id=a["order_id"],
        amount=int(a["amount"]),
        currency=a["currency"],
        at=_req(a["at"]),
        next_try_at=_req(a["next_try_at"]),
        tries=int(a.get("tries") or 0),
        refund_id=a.get("refund_id"),
        refunded_at=_parse(a.get("refunded_at")),
        failure=a.get("failure"),
    )


def _provider_erasure_attrs(e: ProviderErasure) -> dict[str, Any]:
    return {
        "asked_at": _dt(e.asked_at),
        "next_try_at": _dt(e.next_try_at),
        "tries": e.tries,
        "erased_at": _dt(e.erased_at),
        "failure": e.failure,
    }


def _provider_erasure(a: dict[str, Any] | None) -> ProviderErasure | None:
    if not a:
        return None
    return ProviderErasure(
        asked_at=_req(a["asked_at"]),
        next_try_at=_req(a["next_try_at"]),
        tries=int(a.get("tries") or 0),
        erased_at=_parse(a.get("erased_at")),
        failure=a.get("failure"),
    )


def _billing_attrs(b: BillingDetails) -> dict[str, Any]:
    return {"name": b.name, "address": b.address, "tax_id": b.tax_id}


def _billing(a: dict[str, Any] | None) -> BillingDetails | None:
    return BillingDetails(a.get("name"), a.get("address"), a.get("tax_id")) if a else None


def customer_from_attrs(a: dict[str, Any]) -> Customer:
    return Customer(
        id=a["id"],
        email=a["email"],
        name=a.get("name") or "",
        locale=a.get("locale") or "en",
        timezone=a.get("timezone") or "UTC",
        created_at=_req(a["created_at"]),
        default_payment_method=a.get("default_payment_method"),
        provider_customer_id=a.get("provider_customer_id"),
        provider=a.get("provider"),
        version=int(a.get("version", 0)),
        metadata=dict(a.get("metadata") or {}),
        billing=_billing(a.get("billing")),
        erased_at=_parse(a.get("erased_at")),
        phone=a.get("phone"),
        provider_erasure=_provider_erasure(a.get("provider_erasure")),
        phone_sync=_phone_sync(a.get("phone_sync")),
        registrations=tuple(_registration(r) for r in a.get("registrations") or ()),
        subscription_ids=frozenset(a.get("subscriptions") or ()),
    )


def payment_method_to_attrs(p: PaymentMethod) -> dict[str, Any]:
    return {
        "id": p.id,
        "customer_id": p.customer_id,
        "provider": p.provider,
        "created_at": _dt(p.created_at),
        "brand": p.brand,
        "last4": p.last4,
        "exp_month": p.exp_month,
        "exp_year": p.exp_year,
        **({"mandate_kind": p.mandate_kind} if p.mandate_kind is not None else {}),
        **(
            {"mandate_max_amount": p.mandate_max_amount} if p.mandate_max_amount is not None else {}
        ),
    }


def payment_method_from_attrs(a: dict[str, Any]) -> PaymentMethod:
    return PaymentMethod(
        id=a["id"],
        customer_id=a["customer_id"],
        provider=a["provider"],
        created_at=_req(a["created_at"]),
        brand=a.get("brand"),
        last4=a.get("last4"),
        exp_month=int(a["exp_month"]) if a.get("exp_month") is not None else None,
        exp_year=int(a["exp_year"]) if a.get("exp_year") is not None else None,
        mandate_kind=a.get("mandate_kind"),
        mandate_max_amount=(
            int(a["mandate_max_amount"]) if a.get("mandate_max_amount") is not None else None
        ),
    )


def plan_to_attrs(p: Plan) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "amount": p.amount,
        "currency": p.currency,
        "interval": str(p.interval),
        "interval_count": p.interval_count,
        "trial_days": p.trial_days,
        "intro": [{"periods": i.periods, "percent_off": str(i.percent_off)} for i in p.intro],
        "tax_rate": str(p.tax_rate),
        "tax_behavior": str(p.tax_behavior),
        # Written only when set: the items of plans as they were stay as they were.
        **({"kind": str(p.kind)} if p.kind is not PlanKind.PLAN else {}),
        **({"tiers": [_tier_to_attrs(t) for t in p.tiers]} if p.tiers else {}),
        # Written only once there are some: plans without changes stay as they were.
        **(
            {"price_changes": [_price_change_to_attrs(c) for c in p.price_changes]}
            if p.price_changes
            else {}
        ),
    }


def _price_change_to_attrs(c: PriceChange) -> dict[str, Any]:
    return {
        "id": c.id,
        "amount": c.amount,
        "effective_at": _dt(c.effective_at),
        "notice_days": c.notice_days,
        "grandfather": c.grandfather,
        "announced_at": _dt(c.announced_at),
        **({"tiers": [_tier_to_attrs(t) for t in c.tiers]} if c.tiers else {}),
    }


def _price_change_from_attrs(a: dict[str, Any]) -> PriceChange:
    return PriceChange(
        id=a["id"],
        amount=int(a["amount"]),
        effective_at=_req(a["effective_at"]),
        notice_days=int(a["notice_days"]),
        grandfather=bool(a["grandfather"]),
        announced_at=_req(a["announced_at"]),
        tiers=tuple(_tier_from_attrs(t) for t in a.get("tiers") or ()),
    )


def _tier_to_attrs(t: Tier) -> dict[str, Any]:
    return {"up_to": t.up_to, "unit_amount": t.unit_amount, "flat_amount": t.flat_amount}


def _tier_from_attrs(a: dict[str, Any]) -> Tier:
    up_to = a.get("up_to")
    return Tier(
        up_to=int(up_to) if up_to is not None else None,
        unit_amount=int(a["unit_amount"]),
        flat_amount=int(a.get("flat_amount", 0)),
    )


def _items_to_attrs(i: Items) -> dict[str, Any]:
    return {
        "quantity": i.quantity,
        "addons": [{"price": a.price, "quantity": a.quantity} for a in i.addons],
    }


def _items_from_attrs(a: dict[str, Any]) -> Items:
    addons = tuple(Item(x["price"], int(x["quantity"])) for x in a.get("addons") or ())
    return Items(int(a.get("quantity", 1)), addons)


def plan_from_attrs(a: dict[str, Any]) -> Plan:
    return Plan(
        id=a["id"],
        name=a.get("name") or "",
        amount=int(a["amount"]),
        currency=a["currency"],
        interval=a["interval"],
        interval_count=int(a.get("interval_count", 1)),
        trial_days=int(a.get("trial_days", 0)),
        # Stored as text ("12.5", "exclusive"): Plan holds them as Decimal and enums.
        intro=a.get("intro") or (),
        tax_rate=a.get("tax_rate", "0"),
        tax_behavior=a.get("tax_behavior", TaxBehavior.EXCLUSIVE),
        kind=a.get("kind", PlanKind.PLAN),
        tiers=tuple(_tier_from_attrs(t) for t in a.get("tiers") or ()),
        price_changes=tuple(_price_change_from_attrs(c) for c in a.get("price_changes") or ()),
    )


def _terms_to_attrs(t: DiscountTerms) -> dict[str, Any]:
    return {
        "percent_off": str(t.percent_off) if t.percent_off is not None else None,
        "amount_off": t.amount_off,
        "currency": t.currency,
    }


def _terms_from_attrs(a: dict[str, Any]) -> DiscountTerms:
    percent = a.get("percent_off")
    amount = a.get("amount_off")
    return DiscountTerms(
        percent_off=Decimal(percent) if percent is not None else None,
        amount_off=int(amount) if amount is not None else None,
        currency=a.get("currency"),
    )


def coupon_to_attrs(c: Coupon) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        **_terms_to_attrs(c.terms),
        "duration": str(c.duration),
        "duration_in_periods": c.duration_in_periods,
        "max_redemptions": c.max_redemptions,
        "redeem_by": _dt(c.redeem_by),
        "plans": list(c.plans),
        "created_at": _dt(c.created_at),
        "times_redeemed": c.times_redeemed,
    }


def coupon_from_attrs(a: dict[str, Any]) -> Coupon:
    periods, most = a.get("duration_in_periods"), a.get("max_redemptions")
    return Coupon(
        id=a["id"],
        name=a.get("name") or "",
        terms=_terms_from_attrs(a),
        duration=a["duration"],
        duration_in_periods=int(periods) if periods is not None else None,
        max_redemptions=int(most) if most is not None else None,
        redeem_by=_parse(a.get("redeem_by")),
        plans=tuple(a.get("plans") or ()),
        created_at=_req(a["created_at"]),
        times_redeemed=int(a.get("times_redeemed", 0)),
        version=int(a.get("version", 0)),
    )


def _discount_to_attrs(d: Discount | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "coupon_id": d.coupon_id,
        "name": d.name,
        **_terms_to_attrs(d.terms),
        "plans": list(d.plans),
        "periods_left": d.periods_left,
        "starts": _dt(d.starts),
    }


def _discount_from_attrs(a: dict[str, Any] | None) -> Discount | None:
    if not a:
        return None
    left = a.get("periods_left")
    return Discount(
        coupon_id=a["coupon_id"],
        name=a.get("name") or a["coupon_id"],
        terms=_terms_from_attrs(a),
        plans=tuple(a.get("plans") or ()),
        periods_left=int(left) if left is not None else None,
        starts=_req(a["starts"]),
    )


def programs_to_attrs(setting: ProgramsSetting) -> dict[str, Any]:
    # As JSON text: the document is read and written whole, never queried inside, and its
    # exact percentages survive as written.
    return {
        "id": "programs",
        "document": setting.programs.model_dump_json(exclude_none=True),
        "updated_at": _dt(setting.updated_at),
    }


def programs_from_attrs(a: dict[str, Any]) -> ProgramsSetting:
    return ProgramsSetting(
        programs=programs_from_json(a["document"]),
        version=int(a.get("version", 0)),
        updated_at=_parse(a.get("updated_at")),
    )


_SUB_TIMES = (
    "created_at",
    "anchor",
    "current_period_start",
    "current_period_end",
    "trial_end",
    "canceled_at",
    "paused_at",
    "paused_until",
    "incomplete_expires_at",
)
_SUB_INTS = ("periods_since_anchor", "cycle", "credit", "mrr", "version")


def subscription_to_attrs(s: Subscription, *, whole: bool = False) -> dict[str, Any]:
    """The stored attributes; `whole`: every one, as items were written before
    store/compact.py (what `tenure export` writes)."""
    attrs: dict[str, Any] = {
        "id": s.id,
        "customer_id": s.customer_id,
        "plan_id": s.plan_id,
        "currency": s.currency,
        "status": str(s.status),
        "cancel_at_period_end": s.cancel_at_period_end,
        "cancel_reason": s.cancel_reason,
        **({"cancel_reason_text": s.cancel_reason_text} if s.cancel_reason_text else {}),
        **({"words_on": list(s.words_on)} if s.words_on else {}),
        "timezone": s.timezone,
        "payment_method": s.payment_method,
        "provider_customer_id": s.provider_customer_id,
    }
    if s.provider is not None:
        attrs["provider"] = s.provider
    for name in _SUB_TIMES:
        attrs[name] = _dt(getattr(s, name))
    for name in _SUB_INTS:
        attrs[name] = int(getattr(s, name))
    # Written only when there is one: items of subscriptions without coupons stay as they were.
    for name in ("discount", "period_discount"):
        if (value := getattr(s, name)) is not None:
            attrs[name] = _discount_to_attrs(value)
    # The same for the tenure discount's continuity: written once it has begun.
    if s.continuity_start is not None:
        attrs["continuity_start"] = _dt(s.continuity_start)
    if s.paused_seconds:
        attrs["paused_seconds"] = s.paused_seconds
    if s.points_pending:
        attrs["points_pending"] = s.points_pending
    if s.carried:
        attrs["carried"] = s.carried
    if s.period_tenure is not None:
        attrs["period_tenure"] = {
            "after_months": s.period_tenure.after_months,
            "percent_off": str(s.period_tenure.percent_off),
            "stack": s.period_tenure.stack,
        }
    if s.contact is not None:
        attrs["contact"] = contact_to_attrs(s.contact, whole=whole)
    if not s.items.plain:
        attrs["items"] = _items_to_attrs(s.items)
    if s.scheduled_items is not None:
        attrs["scheduled_items"] = _items_to_attrs(s.scheduled_items)
    if s.plan_since is not None:
        attrs["plan_since"] = _dt(s.plan_since)
    if s.price_steps:
        attrs["price_steps"] = [
            {"change": p.change, "starts": _dt(p.starts)} for p in s.price_steps
        ]
    if s.listed:  # written only when true: older items stay as they were
        attrs["listed"] = True
    if whole:
        return attrs
    if s.anchor == s.created_at:
        del attrs["anchor"]  # read back as created_at
    # Without what reads back the same when absent (store/compact.py).
    return compact(attrs, SUBSCRIPTION_DEFAULTS)


def _tenure_from_attrs(a: dict[str, Any] | None) -> TenureDiscount | None:
    if not a:
        return None
    return TenureDiscount(
        after_months=int(a["after_months"]),
        percent_off=Decimal(a["percent_off"]),
        stack=bool(a.get("stack", False)),
    )


def contact_to_attrs(c: Contact, *, whole: bool = False) -> dict[str, Any]:
    contact = {"email": c.email, "name": c.name, "locale": c.locale, "timezone": c.timezone}
    return contact if whole else compact(contact, CONTACT_DEFAULTS)


def contact_from_attrs(a: dict[str, Any] | None) -> Contact | None:
    if not a:
        return None
    return Contact(
        a["email"], a.get("name") or "", a.get("locale") or "en", a.get("timezone") or "UTC"
    )


def subscription_from_attrs(a: dict[str, Any]) -> Subscription:
    created_at = _req(a["created_at"])
    return Subscription(
        id=a["id"],
        customer_id=a["customer_id"],
        plan_id=a["plan_id"],
        currency=a["currency"],
        status=SubscriptionStatus(a["status"]),
        created_at=created_at,
        anchor=_parse(a.get("anchor")) or created_at,
        periods_since_anchor=int(a.get("periods_since_anchor", 0)),
        cycle=int(a.get("cycle", 0)),
        current_period_start=_req(a["current_period_start"]),
        current_period_end=_req(a["current_period_end"]),
        trial_end=_parse(a.get("trial_end")),
        cancel_at_period_end=bool(a.get("cancel_at_period_end")),
        canceled_at=_parse(a.get("canceled_at")),
        cancel_reason=a.get("cancel_reason"),
        cancel_reason_text=a.get("cancel_reason_text"),
        words_on=tuple(a.get("words_on") or ()),
        paused_at=_parse(a.get("paused_at")),
        paused_until=_parse(a.get("paused_until")),
        incomplete_expires_at=_parse(a.get("incomplete_expires_at")),
        credit=int(a.get("credit", 0)),
        mrr=int(a.get("mrr", 0)),
        timezone=a.get("timezone") or "UTC",
        payment_method=a.get("payment_method"),
        provider_customer_id=a.get("provider_customer_id"),
        provider=a.get("provider"),
        discount=_discount_from_attrs(a.get("discount")),
        period_discount=_discount_from_attrs(a.get("period_discount")),
        continuity_start=_parse(a.get("continuity_start")),
        paused_seconds=int(a.get("paused_seconds", 0)),
        points_pending=int(a.get("points_pending", 0)),
        carried=int(a.get("carried", 0)),
        items=_items_from_attrs(a["items"]) if a.get("items") else PLAIN,
        scheduled_items=(
            _items_from_attrs(a["scheduled_items"]) if a.get("scheduled_items") else None
        ),
        period_tenure=_tenure_from_attrs(a.get("period_tenure")),
        contact=contact_from_attrs(a.get("contact")),
        plan_since=_parse(a.get("plan_since")),
        price_steps=tuple(
            PriceStep(p["change"], _parse(p.get("starts"))) for p in a.get("price_steps") or ()
        ),
        listed=bool(a.get("listed", False)),
        version=int(a.get("version", 0)),
    )


def invoice_to_attrs(i: Invoice, *, whole: bool = False) -> dict[str, Any]:
    """Without what reads back the same when absent (store/compact.py); `whole`: every
    attribute, as items were written before (what `tenure export` writes)."""
    attrs = (
        {
            "id": i.id,
            "subscription_id": i.subscription_id,
            "customer_id": i.customer_id,
            "kind": str(i.kind),
            "period_start": _dt(i.period_start),
            "period_end": _dt(i.period_end),
            "currency": i.currency,
            "lines": [
                {"kind": str(line.kind), "description": line.description, "amount": line.amount}
                for line in i.lines
            ],
            "total": i.total,
            "status": str(i.status),
            "created_at": _dt(i.created_at),
            "paid_at": _dt(i.paid_at),
            "credit_applied": i.credit_applied,
            "attempts": i.attempts,
            "metadata": dict(i.metadata),
            "failures": i.failures,
            "first_failed_at": _dt(i.first_failed_at),
            "next_attempt_at": _dt(i.next_attempt_at),
            "dunning_ends_at": _dt(i.dunning_ends_at),
            "amount_refunded": i.amount_refunded,
            "refunds": {
                refund_id: {"amount": r.amount, "status": str(r.status), "at": _dt(r.at)}
                for refund_id, r in i.refunds.items()
            },
            "refunded_total_seen": i.refunded_total_seen,
            "refunded_total_at": _dt(i.refunded_total_at),
            "disputed": i.disputed,
            "dispute_id": i.dispute_id,
            "dispute_status": str(i.dispute_status) if i.dispute_status else None,
            "dispute_at": _dt(i.dispute_at),
        }
        | _owed_refund_attrs(i.refund_owed)
        | ({"installment_plan_id": i.installment_plan_id} if i.installment_plan_id else {})
        | ({"number": i.number} if i.number is not None else {})
        # Only once credited: an invoice never credited keeps the item it always had.
        | ({"credit_notes": i.credit_notes, "credited": i.credited} if i.credit_notes else {})
        # Only when they say more than the item always did.
        | ({"refunds_credited": i.refunds_credited} if i.refunds_credited != i.credited else {})
        | ({"credit_due_at": _dt(i.credit_due_at)} if i.credit_due_at is not None else {})
    )
    return attrs if whole else compact(attrs, INVOICE_DEFAULTS)


def _owed_refund_attrs(owed: OwedRefund | None) -> dict[str, Any]:
    # Only while owed: an invoice item without it is the item it always was.
    if owed is None:
        return {}
    return {
        "refund_owed": {
            "number": owed.number,
            "amount": owed.amount,
            "basis": owed.basis,
            "reason": owed.reason,
            "asked_at": _dt(owed.asked_at),
            "next_try_at": _dt(owed.next_try_at),
            "tries": owed.tries,
        }
        | ({"refunded_before": owed.refunded_before} if owed.refunded_before else {})
        # Only once failed: a pending owed refund's item is the item it always was.
        | (
            {
                "status": str(owed.status),
                "failed_at": _dt(owed.failed_at),
                "failure": str(owed.failure) if owed.failure else None,
            }
            if not owed.pending
            else {}
        )
    }


def _owed_refund(a: dict[str, Any] | None) -> OwedRefund | None:
    if not a:
        return None
    return OwedRefund(
        number=int(a["number"]),
        amount=int(a["amount"]),
        basis=str(a["basis"]),
        reason=a.get("reason"),
        asked_at=_req(a["asked_at"]),
        next_try_at=_req(a["next_try_at"]),
        tries=int(a.get("tries", 0)),
        status=OwedRefundStatus(a.get("status") or OwedRefundStatus.PENDING),
        failed_at=_parse(a.get("failed_at")),
        failure=OwedRefundFailure(a["failure"]) if a.get("failure") else None,
        refunded_before=int(a.get("refunded_before", 0)),
    )


def invoice_from_attrs(a: dict[str, Any]) -> Invoice:
    return Invoice(
        id=a["id"],
        subscription_id=a["subscription_id"],
        customer_id=a["customer_id"],
        kind=InvoiceKind(a["kind"]),
        period_start=_req(a["period_start"]),
        period_end=_req(a["period_end"]),
        currency=a["currency"],
        lines=[
            InvoiceLine(LineKind(line["kind"]), line["description"], int(line["amount"]))
            for line in a["lines"]
        ],
        status=InvoiceStatus(a["status"]),
        created_at=_req(a["created_at"]),
        paid_at=_parse(a.get("paid_at")),
        credit_applied=int(a.get("credit_applied", 0)),
        version=int(a.get("version", 0)),
        attempts=int(a.get("attempts", 0)),
        metadata=dict(a.get("metadata") or {}),
        failures=int(a.get("failures", 0)),
        first_failed_at=_parse(a.get("first_failed_at")),
        next_attempt_at=_parse(a.get("next_attempt_at")),
        dunning_ends_at=_parse(a.get("dunning_ends_at")),
        amount_refunded=int(a.get("amount_refunded", 0)),
        refunds={
            refund_id: RefundRecord(int(r["amount"]), RefundStatus(r["status"]), _req(r["at"]))
            for refund_id, r in (a.get("refunds") or {}).items()
        },
        refunded_total_seen=int(a.get("refunded_total_seen", 0)),
        refunded_total_at=_parse(a.get("refunded_total_at")),
        number=a.get("number"),
        credit_notes=int(a.get("credit_notes", 0)),
        credited=int(a.get("credited", 0)),
        # Absent: every note credited a refund (before adjustments were told apart), so a
        # close never credits those refunds again.
        refunds_credited=int(a.get("refunds_credited", a.get("credited", 0))),
        credit_due_at=_parse(a.get("credit_due_at")),
        disputed=bool(a.get("disputed", False)),
        dispute_id=a.get("dispute_id"),
        dispute_status=DisputeStatus(a["dispute_status"]) if a.get("dispute_status") else None,
        dispute_at=_parse(a.get("dispute_at")),
        refund_owed=_owed_refund(a.get("refund_owed")),
        installment_plan_id=a.get("installment_plan_id"),
    )


def price_run_to_attrs(r: PriceNoticeRun) -> dict[str, Any]:
    return {
        "change_id": r.change_id,
        "price_id": r.price_id,
        "started_at": _dt(r.started_at),
        "cursor": r.cursor,
        "pages": r.pages,
        "finished_at": _dt(r.finished_at),
    }


def price_run_from_attrs(a: dict[str, Any]) -> PriceNoticeRun:
    return PriceNoticeRun(
        change_id=a["change_id"],
        price_id=a["price_id"],
        started_at=_req(a["started_at"]),
        cursor=a.get("cursor"),
        pages=int(a.get("pages") or 0),
        finished_at=_parse(a.get("finished_at")),
        version=int(a.get("version") or 0),
    )


def installment_plan_to_attrs(p: InstallmentPlan) -> dict[str, Any]:
    return {
        "id": p.id,
        "customer_id": p.customer_id,
        "amount": p.amount,
        "currency": p.currency,
        "count": p.count,
        "every": str(p.every),
        "description": p.description,
        "start": _dt(p.start),
        "created_at": _dt(p.created_at),
        "status": str(p.status),
        "instalments": [
            {
                "number": i.number,
                "due_at": _dt(i.due_at),
                "amount": i.amount,
                "invoice_id": i.invoice_id,
                "status": str(i.status),
            }
            for i in p.instalments
        ],
    } | ({"collection_case_id": p.collection_case_id} if p.collection_case_id else {})


def installment_plan_from_attrs(a: dict[str, Any]) -> InstallmentPlan:
    return InstallmentPlan(
        id=a["id"],
        customer_id=a["customer_id"],
        amount=int(a["amount"]),
        currency=a["currency"],
        count=int(a["count"]),
        every=Every(a["every"]),
        description=a["description"],
        start=_req(a["start"]),
        created_at=_req(a["created_at"]),
        status=PlanStatus(a["status"]),
        instalments=[
            Instalment(
                number=int(i["number"]),
                due_at=_req(i["due_at"]),
                amount=int(i["amount"]),
                invoice_id=i.get("invoice_id"),
                status=InstalmentStatus(i["status"]),
            )
            for i in a["instalments"]
        ],
        collection_case_id=a.get("collection_case_id"),
        version=int(a.get("version", 0)),
    )


def collection_case_to_attrs(c: CollectionCase) -> dict[str, Any]:
    return {
        "id": c.id,
        "customer_id": c.customer_id,
        "subscription_id": c.subscription_id,
        "currency": c.currency,
        "lines": [
            {
                "invoice_id": ln.invoice_id,
                "period_start": _dt(ln.period_start),
                "period_end": _dt(ln.period_end),
                "description": ln.description,
                "amount": ln.amount,
            }
            for ln in c.lines
        ],
        "opened_at": _dt(c.opened_at),
        "status": str(c.status),
        "recovered": c.recovered,
        "plan_id": c.plan_id,
        "plans_made": c.plans_made,
        "closed_at": _dt(c.closed_at),
    }


def collection_case_from_attrs(a: dict[str, Any]) -> CollectionCase:
    return CollectionCase(
        id=a["id"],
        customer_id=a["customer_id"],
        subscription_id=a["subscription_id"],
        currency=a["currency"],
        lines=[
            CaseLine(
                invoice_id=ln["invoice_id"],
                period_start=_req(ln["period_start"]),
                period_end=_req(ln["period_end"]),
                description=ln["description"],
                amount=int(ln["amount"]),
            )
            for ln in a["lines"]
        ],
        opened_at=_req(a["opened_at"]),
        status=CaseStatus(a["status"]),
        recovered=int(a["recovered"]),
        plan_id=a.get("plan_id"),
        plans_made=int(a.get("plans_made", 0)),
        closed_at=_parse(a.get("closed_at")),
        version=int(a.get("version", 0)),
    )


def charge_to_attrs(c: Charge, *, whole: bool = False) -> dict[str, Any]:
    """Without what reads back the same when absent (store/compact.py); `whole`: every
    attribute, as items were written before (what `tenure export` writes)."""
    attrs = {
        "id": c.id,
        "invoice_id": c.invoice_id,
        "subscription_id": c.subscription_id,
        "customer_id": c.customer_id,
        "attempt": c.attempt,
        "amount": c.amount,
        "currency": c.currency,
        "at": _dt(c.at),
        "status": str(c.status),
        "outcome": str(c.outcome),
        "decline_code": c.decline_code,
        "payment_id": c.payment_id,
        "idempotency_key": c.idempotency_key,
        "lease_until": _dt(c.lease_until),
        "calls": c.calls,
        "payment_method": c.payment_method,
        "provider_customer": c.provider_customer,
        "provider": c.provider,
    }
    if whole:  # `provider` was written only when known
        return {k: v for k, v in attrs.items() if k != "provider" or v is not None}
    return compact(attrs, CHARGE_DEFAULTS)


def charge_from_attrs(a: dict[str, Any]) -> Charge:
    return Charge(
        id=a["id"],
        invoice_id=a["invoice_id"],
        subscription_id=a["subscription_id"],
        customer_id=a["customer_id"],
        attempt=int(a["attempt"]),
        amount=int(a["amount"]),
        currency=a["currency"],
        at=_req(a["at"]),
        status=ChargeStatus(a["status"]),
        outcome=ChargeOutcome(a["outcome"]),
        decline_code=a.get("decline_code"),
        payment_id=a.get("payment_id"),
        lease_until=_parse(a.get("lease_until")),
        calls=int(a.get("calls", 0)),
        version=int(a.get("version", 0)),
        payment_method=a.get("payment_method"),
        provider_customer=a.get("provider_customer"),
        provider=a.get("provider"),
    )


# What a notice's copies repeat of the notice itself: left out, read back from the notice.
_SUBSCRIPTION_REPEATS = {"id": "subscription_id", "customer_id": "customer_id"}
_INVOICE_REPEATS = {"subscription_id": "subscription_id", "customer_id": "customer_id"}


def notice_to_attrs(n: Notice, *, whole: bool = False) -> dict[str, Any]:
    """Without what reads back the same when absent (store/compact.py): its nulls, and what
    its copies repeat of it. `whole`: every attribute, as notices were written before (what
    `tenure export` writes)."""
    attrs: dict[str, Any] = {
        "id": n.key,
        "kind": str(n.kind),
        "customer_id": n.customer_id,
        "subscription_id": n.subscription_id,
        "due_at": _dt(n.due_at),
        "created_at": _dt(n.created_at),
        "status": str(n.status),
        "data": n.data,
        "sent_at": _dt(n.sent_at),
        "message_id": n.message_id,
        "reason": n.reason,
    }
    if not whole:
        attrs = compact(attrs, NOTICE_DEFAULTS)
    # Written only when there are copies: notices planned before them stay as they were.
    if n.contact is not None:
        attrs["contact"] = contact_to_attrs(n.contact, whole=whole)
    if n.subscription is not None:
        copied = subscription_to_attrs(n.subscription, whole=whole)
        attrs["subscription"] = (
            {k: v for k, v in copied.items() if v is not None}
            if whole
            else without_repeats(copied, attrs, _SUBSCRIPTION_REPEATS)
        )
    if n.invoice is not None:
        copied = _invoice_copy_attrs(n.invoice)
        attrs["invoice"] = copied if whole else without_repeats(copied, attrs, _INVOICE_REPEATS)
    return attrs


def _invoice_copy_attrs(invoice: Invoice) -> dict[str, Any]:
    """A notice's copy of an invoice, with its version, without the derived total (and,
    as the invoice's own item, without what reads back the same when absent): the notice
    is written to the table and its due index, so its size is paid twice."""
    copied = invoice_to_attrs(invoice)
    del copied["total"]
    return copied | {"version": invoice.version}


def notice_from_attrs(a: dict[str, Any]) -> Notice:
    """A notice from its attributes, of either shape: every attribute (items written before
    store/compact.py), or without what reads back the same. Its `id` may be left to its
    caller, who knows the key that holds it (DynamoRepository)."""
    sub, invoice = a.get("subscription"), a.get("invoice")
    return Notice(
        key=a["id"],
        kind=NoticeKind(a["kind"]),
        customer_id=a["customer_id"],
        subscription_id=a.get("subscription_id"),
        due_at=_req(a["due_at"]),
        created_at=_req(a["created_at"]),
        status=NoticeStatus(a["status"]),
        data=dict(a.get("data") or {}),
        sent_at=_parse(a.get("sent_at")),
        message_id=a.get("message_id"),
        reason=a.get("reason"),
        version=int(a.get("version", 0)),
        contact=contact_from_attrs(a.get("contact")),
        subscription=(
            subscription_from_attrs(with_repeats(sub, a, _SUBSCRIPTION_REPEATS)) if sub else None
        ),
        invoice=invoice_from_attrs(with_repeats(invoice, a, _INVOICE_REPEATS)) if invoice else None,
    )


# -- plain maps to DynamoDB's typed attribute values and back -------------------------------------
_ser = TypeSerializer()
_de = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_de.deserialize(v)) for k, v in item.items()}


def refund_to_attrs(r: Refund) -> dict[str, Any]:
    return {
        "entity": "refund",
        "id": r.id,
        "invoice_id": r.invoice_id,
        "subscription_id": r.subscription_id,
        "customer_id": r.customer_id,
        "charge_id": r.charge_id,
        "payment_id": r.payment_id,
        "provider_refund_id": r.provider_refund_id,
        "amount": r.amount,
        "currency": r.currency,
        "at": _dt(r.at),
        "basis": str(r.basis),
        "reason": r.reason,
        "note": r.note,
    }


def refund_from_attrs(a: dict[str, Any]) -> Refund:
    return Refund(
        id=a["id"],
        invoice_id=a["invoice_id"],
        subscription_id=a["subscription_id"],
        customer_id=a["customer_id"],
        charge_id=a["charge_id"],
        payment_id=a["payment_id"],
        provider_refund_id=a["provider_refund_id"],
        amount=int(a["amount"]),
        currency=a["currency"],
        at=_req(a["at"]),
        basis=RefundBasis(a["basis"]),
        reason=a.get("reason"),
        note=a.get("note"),
    )


def credit_note_to_attrs(n: CreditNote) -> dict[str, Any]:
    return {
        "id": n.id,
        "invoice_id": n.invoice_id,
        "customer_id": n.customer_id,
        "amount": n.amount,
        "currency": n.currency,
        "reason": str(n.reason),
        "created_at": _dt(n.created_at),
        "number": n.number,
        "invoice_number": n.invoice_number,
    }


def credit_note_from_attrs(a: dict[str, Any]) -> CreditNote:
    return CreditNote(
        id=a["id"],
        invoice_id=a["invoice_id"],
        customer_id=a["customer_id"],
        amount=int(a["amount"]),
        currency=a["currency"],
        reason=CreditReason(a["reason"]),
        created_at=_req(a["created_at"]),
        number=a.get("number"),
        invoice_number=a.get("invoice_number"),
    )


def save_attempt_to_attrs(a: SaveAttempt) -> dict[str, Any]:
    return {
        "id": a.subscription_id,
        "subscription_id": a.subscription_id,
        "customer_id": a.customer_id,
        "currency": a.currency,
        "offers": [o.to_dict() for o in a.offers],
        "presented_at": _dt(a.presented_at),
        "reason": a.reason,
        "reason_text": a.reason_text,
        "status": str(a.status),
        "decided_at": _dt(a.decided_at),
        "accepted": a.accepted,
        "presentations": a.presentations,
    }


def save_attempt_from_attrs(a: dict[str, Any]) -> SaveAttempt:
    offers = tuple(
        SaveOffer(
            id=o["id"],
            kind=o["kind"],
            months=int(o["months"]) if o.get("months") is not None else None,
            coupon=o.get("coupon"),
            plan=o.get("plan"),
        )
        for o in a.get("offers") or []
    )
    return SaveAttempt(
        subscription_id=a["subscription_id"],
        customer_id=a["customer_id"],
        currency=a["currency"],
        offers=offers,
        presented_at=_req(a["presented_at"]),
        reason=a.get("reason"),
        reason_text=a.get("reason_text"),
        status=AttemptStatus(a["status"]),
        decided_at=_parse(a.get("decided_at")),
        accepted=a.get("accepted"),
        presentations=int(a.get("presentations", 1)),
        version=int(a.get("version", 0)),
    )


def audit_to_attrs(e: AuditEntry) -> dict[str, Any]:
    return {
        "entity": "audit",
        "id": e.id,
        "at": _dt(e.at),
        "actor": e.actor,
        "action": str(e.action),
        "entity_id": e.entity,
        "customer_id": e.customer_id,
        "note": e.note,
        "reference": e.reference,
        "before": dict(e.before),
        "after": dict(e.after),
    }


def _summary(held: Any) -> Summary:
    # DynamoDB hands numbers back as Decimal: a summary holds whole numbers only.
    return {str(k): int(v) if isinstance(v, Decimal) else v for k, v in dict(held or {}).items()}


def audit_from_attrs(a: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=a["id"],
        at=_req(a["at"]),
        actor=a["actor"],
        action=AuditAction(a["action"]),
        entity=a["entity_id"],
        customer_id=a["customer_id"],
        note=a.get("note"),
        reference=a.get("reference"),
        before=_summary(a.get("before")),
        after=_summary(a.get("after")),
    )
