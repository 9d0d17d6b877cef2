"""Customers, their contacts and payment methods to and from plain attribute maps."""

from typing import Any

from tenure.domain.customers import (
    BillingDetails,
    Contact,
    Customer,
    PaymentMethod,
    ProviderErasure,
)
from tenure.domain.provider_owed import PhoneSync, ProviderCustomerPending, RegistrationPayment
from tenure.store.codec_values import parse_time, require_time, time_text
from tenure.store.compact import CONTACT_DEFAULTS, compact


def customer_to_attrs(c: Customer) -> dict[str, Any]:
    return {
        "id": c.id,
        "email": c.email,
        "name": c.name,
        "locale": c.locale,
        "timezone": c.timezone,
        "created_at": time_text(c.created_at),
        "default_payment_method": c.default_payment_method,
        "provider_customer_id": c.provider_customer_id,
        "metadata": dict(c.metadata),
        # Written only when chosen: customers of the default provider keep their items.
        **({"provider": c.provider} if c.provider is not None else {}),
        # Written only once erased: every other customer keeps its item as it was.
        **({"erased_at": time_text(c.erased_at)} if c.erased_at is not None else {}),
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
        # Written only while a provider customer is being made, or could not be learned.
        **(
            {"provider_customer_pending": _pending_attrs(c.provider_customer_pending)}
            if c.provider_customer_pending is not None
            else {}
        ),
        # Written only once it lists one: older customers keep their items as they were.
        **({"subscriptions": set(c.subscription_ids)} if c.subscription_ids else {}),
        **({"installment_plans": set(c.installment_plan_ids)} if c.installment_plan_ids else {}),
    } | ({"billing": _billing_attrs(c.billing)} if c.billing is not None else {})


def _phone_sync_attrs(p: PhoneSync) -> dict[str, Any]:
    return {
        "phone": p.phone,
        "asked_at": time_text(p.asked_at),
        "next_try_at": time_text(p.next_try_at),
        "tries": p.tries,
        "sent_at": time_text(p.sent_at),
        "failure": p.failure,
    }


def _phone_sync(a: dict[str, Any] | None) -> PhoneSync | None:
    if not a:
        return None
    return PhoneSync(
        phone=a.get("phone"),
        asked_at=require_time(a["asked_at"]),
        next_try_at=require_time(a["next_try_at"]),
        tries=int(a.get("tries") or 0),
        sent_at=parse_time(a.get("sent_at")),
        failure=a.get("failure"),
    )


def _pending_attrs(p: ProviderCustomerPending) -> dict[str, Any]:
    return {
        "provider": p.provider,
        "idempotency_key": p.idempotency_key,
        "at": time_text(p.at),
        "next_try_at": time_text(p.next_try_at),
        "tries": p.tries,
        "failure": p.failure,
    }


def _pending(a: dict[str, Any] | None) -> ProviderCustomerPending | None:
    if not a:
        return None
    return ProviderCustomerPending(
        provider=a["provider"],
        idempotency_key=a["idempotency_key"],
        at=require_time(a["at"]),
        next_try_at=require_time(a["next_try_at"]),
        tries=int(a.get("tries") or 0),
        failure=a.get("failure"),
    )


def _registration_attrs(r: RegistrationPayment) -> dict[str, Any]:
    return {
        "payment_id": r.payment_id,
        "order_id": r.order_id,
        "amount": r.amount,
        "currency": r.currency,
        "at": time_text(r.at),
        "next_try_at": time_text(r.next_try_at),
        "tries": r.tries,
        "refund_id": r.refund_id,
        "refunded_at": time_text(r.refunded_at),
        "failure": r.failure,
    }


def _registration(a: dict[str, Any]) -> RegistrationPayment:
    return RegistrationPayment(
        payment_id=a["payment_id"],
        order_id=a["order_id"],
        amount=int(a["amount"]),
        currency=a["currency"],
        at=require_time(a["at"]),
        next_try_at=require_time(a["next_try_at"]),
        tries=int(a.get("tries") or 0),
        refund_id=a.get("refund_id"),
        refunded_at=parse_time(a.get("refunded_at")),
        failure=a.get("failure"),
    )


def _provider_erasure_attrs(e: ProviderErasure) -> dict[str, Any]:
    return {
        "asked_at": time_text(e.asked_at),
        "next_try_at": time_text(e.next_try_at),
        "tries": e.tries,
        "erased_at": time_text(e.erased_at),
        "failure": e.failure,
    }


def _provider_erasure(a: dict[str, Any] | None) -> ProviderErasure | None:
    if not a:
        return None
    return ProviderErasure(
        asked_at=require_time(a["asked_at"]),
        next_try_at=require_time(a["next_try_at"]),
        tries=int(a.get("tries") or 0),
        erased_at=parse_time(a.get("erased_at")),
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
        created_at=require_time(a["created_at"]),
        default_payment_method=a.get("default_payment_method"),
        provider_customer_id=a.get("provider_customer_id"),
        provider=a.get("provider"),
        version=int(a.get("version", 0)),
        metadata=dict(a.get("metadata") or {}),
        billing=_billing(a.get("billing")),
        erased_at=parse_time(a.get("erased_at")),
        phone=a.get("phone"),
        provider_erasure=_provider_erasure(a.get("provider_erasure")),
        phone_sync=_phone_sync(a.get("phone_sync")),
        registrations=tuple(_registration(r) for r in a.get("registrations") or ()),
        provider_customer_pending=_pending(a.get("provider_customer_pending")),
        subscription_ids=frozenset(a.get("subscriptions") or ()),
        installment_plan_ids=frozenset(a.get("installment_plans") or ()),
    )


def payment_method_to_attrs(p: PaymentMethod) -> dict[str, Any]:
    return {
        "id": p.id,
        "customer_id": p.customer_id,
        "provider": p.provider,
        "created_at": time_text(p.created_at),
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
        created_at=require_time(a["created_at"]),
        brand=a.get("brand"),
        last4=a.get("last4"),
        exp_month=int(a["exp_month"]) if a.get("exp_month") is not None else None,
        exp_year=int(a["exp_year"]) if a.get("exp_year") is not None else None,
        mandate_kind=a.get("mandate_kind"),
        mandate_max_amount=(
            int(a["mandate_max_amount"]) if a.get("mandate_max_amount") is not None else None
        ),
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
