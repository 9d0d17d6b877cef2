"""Change a customer's contact and billing details, and every copy Tenure keeps of them."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from tenure.domain.customers import (
    SUPPORTED_LOCALES,
    Customer,
    billing_details,
    validate_email,
    validate_phone,
    validate_timezone,
)
from tenure.domain.errors import ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.notices import Notice, NoticeStatus
from tenure.domain.privacy import refuse_erased
from tenure.domain.subscription import Subscription
from tenure.notify.timing import QuietHours, last_slot_by, next_slot
from tenure.ports import Commit, EmailMove
from tenure.services import provider_owed
from tenure.services.catalog import customer_subscriptions, write_past_listings
from tenure.services.context import Services

NAME_MAX = 200
CONTACT_FIELDS = ("email", "name", "locale", "timezone")
BILLING_FIELDS = ("billing_name", "billing_address", "tax_id")
# Not part of the contact the emails carry: a PATCH sets it, or clears it with null.
PHONE_FIELD = "phone"
UPDATABLE = (*CONTACT_FIELDS, *BILLING_FIELDS, PHONE_FIELD)


@dataclass(frozen=True, slots=True)
class CustomerChanges:
    """The fields a PATCH names, with their new values (a billing field set to None or ""
    is cleared; the contact fields cannot be cleared)."""

    given: dict[str, Any]


def update_customer(svc: Services, customer_id: str, changes: CustomerChanges) -> Customer:
    """Apply `changes` to the customer, checked as at creation; the subscriptions' and the
    pending emails' copies of the contact follow in the same commit, and an email waiting
    for its hour is moved into the new zone's hours. Refused whole (nothing written) when
    any field breaks its rule or nothing is named."""
    given = dict(changes.given)
    if not given:
        raise ValidationFailedError("body", "name at least one field to change")
    unknown = sorted(set(given) - set(UPDATABLE))
    if "provider" in unknown:
        raise ValidationFailedError(
            "provider",
            "cannot change: the customer's cards and provider customer live at that provider",
        )
    if unknown:
        raise ValidationFailedError(unknown[0], f"unknown field; updatable: {', '.join(UPDATABLE)}")
    # A new subscription or plan of the customer's, made meanwhile, is no reason to refuse.
    return write_past_listings(svc, customer_id, lambda customer: _update(svc, customer, given))


def _update(svc: Services, customer: Customer, given: dict[str, Any]) -> Customer:
    # Erased: its details are a pseudonym, and new ones would have it written to again.
    refuse_erased(customer, "update")
    updated = _checked(customer, given)
    changed = [
        name
        for name in UPDATABLE
        if name in given and _value(updated, name) != _value(customer, name)
    ]
    if not changed:
        return customer  # as asked already: nothing to write
    now = svc.clock.now()
    # The event names what changed, never the values: they are personal data.
    event = DomainEvent(
        EventType.CUSTOMER_UPDATED,
        customer.id,
        customer.id,
        now,
        customer.version,
        {"fields": changed},
    )
    # A phone changed after the provider's customer was made is sent there after this commit.
    provider_owed.owe_phone(customer, updated, now)
    change = Commit(customers=[updated], events=[event])
    if "email" in changed:  # the console's search finds the new address, never the old
        change.email_moves.append(EmailMove(customer.id, customer.email, updated.email))
    if updated.contact != customer.contact:
        _update_copies(svc, customer, updated, change, now)
    svc.commit_with_notices(change)
    return updated


def _checked(customer: Customer, given: dict[str, Any]) -> Customer:
    updated = replace(customer)
    if "email" in given:
        updated.email = validate_email(_text(given["email"], "email"))
    if "name" in given:
        name = _text(given["name"], "name", allow_empty=True)
        if len(name) > NAME_MAX:
            raise ValidationFailedError("name", f"must be at most {NAME_MAX} characters")
        updated.name = name
    if "locale" in given:
        locale = _text(given["locale"], "locale")
        if locale not in SUPPORTED_LOCALES:
            raise ValidationFailedError("locale", f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        updated.locale = locale
    if "timezone" in given:
        updated.timezone = validate_timezone(_text(given["timezone"], "timezone"))
    if PHONE_FIELD in given:
        number = given[PHONE_FIELD]
        updated.phone = None if number is None else validate_phone(number)
    if any(name in given for name in BILLING_FIELDS):
        held = customer.billing
        current = {
            "billing_name": held.name if held else None,
            "billing_address": held.address if held else None,
            "tax_id": held.tax_id if held else None,
        }
        for name in BILLING_FIELDS:
            if name in given and given[name] is not None and not isinstance(given[name], str):
                raise ValidationFailedError(name, "must be text, or null to clear it")
        current |= {name: given[name] for name in BILLING_FIELDS if name in given}
        updated.billing = billing_details(
            current["billing_name"], current["billing_address"], current["tax_id"]
        )
    return updated


def _text(value: Any, field: str, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ValidationFailedError(
            field, "must be non-empty text" if not allow_empty else "must be text"
        )
    return value


def _value(customer: Customer, name: str) -> Any:
    if name in CONTACT_FIELDS or name == PHONE_FIELD:
        return getattr(customer, name)
    billing = customer.billing
    if billing is None:
        return None
    return {
        "billing_name": billing.name,
        "billing_address": billing.address,
        "tax_id": billing.tax_id,
    }[name]


def _update_copies(
    svc: Services, before: Customer, after: Customer, change: Commit, now: datetime
) -> None:
    """The subscriptions that may still email take the new contact (their copy plans the
    emails to come); every email still waiting carries the new contact, and one whose hour
    falls in the night of the new zone moves to an hour of its day there."""
    subs: dict[str, Subscription] = {}
    # One just made is given the new contact too (the customer is written only while its
    # list is the one read).
    for sub in customer_subscriptions(svc, before):
        if sub.ended:
            continue
        sub.timezone = after.timezone
        sub.contact = after.contact
        change.subscriptions.append(sub)
        subs[sub.id] = sub
    hours = svc.reminders.quiet_hours if svc.reminders is not None else None
    for notice in svc.repo.list_notices(before.id):
        if notice.status is not NoticeStatus.SCHEDULED:
            continue
        if notice.contact is not None:
            notice.contact = after.contact
        _refresh_subscription_copy(notice, subs)
        if hours is not None and after.timezone != before.timezone:
            notice.due_at = retimed(notice.due_at, after.timezone, hours, now)
            notice.data = notice.data | {"zone": after.timezone}
        change.notices.append(notice)


def _refresh_subscription_copy(notice: Notice, subs: dict[str, Subscription]) -> None:
    """A notice's copy of its subscription that is the stored one takes the new zone and
    the version this commit writes, so the email is still written from its copies."""
    copy = notice.subscription
    if copy is None:
        return
    sub = subs.get(copy.id)
    if sub is None or copy.version != sub.version:
        return  # stale already: the send reads the subscription instead
    notice.subscription = replace(copy, timezone=sub.timezone, version=sub.version + 1)


def retimed(due: datetime, zone: str, hours: QuietHours, now: datetime) -> datetime:
    """When an email due at `due` goes out once its customer lives in `zone`: then, if that
    is an hour of the day there; else the last such hour before it (never before `now`), so
    that nothing it announces comes sooner after it than planned; else the first one after."""
    if hours.allows(due, zone):
        return due
    earlier = last_slot_by(due, zone, hours, not_before=now)
    return earlier if earlier is not None else next_slot(max(due, now), zone, hours)
