"""Customers: who pays, how to reach them, and in which language and time zone."""

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from tenure.domain.due import DueKind
from tenure.domain.errors import ValidationFailedError
from tenure.domain.provider_owed import PhoneSync, ProviderCustomerPending, RegistrationPayment

SUPPORTED_LOCALES = ("en", "ru", "ar")
# The payment providers a customer may be charged through (Customer.provider); which of them a
# deployment can reach is the composition root's business (Services.gateway_for).
KNOWN_PROVIDERS = ("sandbox", "stripe", "razorpay")
MAX_ADDRESS_LENGTH = 254
# Characters that need quoting or mean something else in an address; a pragmatic check
# refuses them rather than accepting the quoted-local-part corner of RFC 5321.
_SPECIALS = re.compile(r'[\s<>()\[\],;:"\\]')
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")


def valid_address(addr: str) -> bool:
    """The one address rule, at every entry (API, scenario files, imports) and in the mailer,
    so that a customer the mailer could not write to is refused when created.

    A pragmatic check of a bare address (`local@domain.tld`), not RFC 5322's grammar:
    one @, a non-empty local part of at most 64 characters, a dotted domain of letters,
    digits and hyphens, ASCII only, no spaces or control characters, at most 254 in all.
    Internationalized domains are accepted in their punycode (xn--) form."""
    if not isinstance(addr, str) or not addr or len(addr) > MAX_ADDRESS_LENGTH:
        return False
    if not addr.isascii() or _ASCII_CONTROL.search(addr):  # the Cc characters of ASCII
        return False
    if addr.count("@") != 1 or _SPECIALS.search(addr):
        return False
    local, domain = addr.split("@")
    if not local or len(local) > 64 or local.startswith(".") or local.endswith("."):
        return False
    if ".." in local:
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return False
    return not labels[-1].isdigit()  # a dotted IPv4 is not a mail domain


def validate_email(addr: str) -> str:
    if not valid_address(addr):
        raise ValidationFailedError(
            "email", "must be an address the mailer can write to, like name@example.com"
        )
    return addr


# E.164: a plus, a country code that does not start with 0, at most 15 digits in all (and no
# number is shorter than 8 with its country code). ASCII digits only: `\d` would take others.
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def validate_phone(number: str) -> str:
    """A phone number in E.164 (`+919876543210`), as payment providers take a contact."""
    if not isinstance(number, str) or _E164.fullmatch(number) is None:
        raise ValidationFailedError(
            "phone",
            "must be an E.164 number: +, the country code and the number, like +919876543210",
        )
    return number


@cache
def _known_zones() -> frozenset[str]:
    # The zone files of this installation: listing them walks the tz database (~20 ms), and
    # they do not change while a process runs.
    return frozenset(available_timezones())


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailedError("timezone", f"unknown IANA time zone {name!r}") from exc
    if name not in _known_zones() and name != "UTC":
        raise ValidationFailedError("timezone", f"unknown IANA time zone {name!r}")
    return name


def validate_provider(name: str) -> str:
    if name not in KNOWN_PROVIDERS:
        raise ValidationFailedError(
            "provider", f"unknown payment provider {name!r}; known: {', '.join(KNOWN_PROVIDERS)}"
        )
    return name


@dataclass(slots=True)
class PaymentMethod:
    id: str  # the provider's payment-method id (pm_...) or a sandbox token
    customer_id: str
    provider: str
    created_at: datetime
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    # What a mandate allows (Razorpay's recurring payments): a card or a UPI mandate, and the
    # most one debit may take, in minor units of the charge's currency. None: not a mandate,
    # or the provider did not say.
    mandate_kind: str | None = None  # "card" | "upi"
    mandate_max_amount: int | None = None


@dataclass(frozen=True, slots=True)
class Payer:
    """What charging needs of a customer: the card Tenure charges and the provider's customer
    it belongs to. Subscriptions keep a copy (see `Subscription.payer`)."""

    customer_id: str
    payment_method: str | None
    provider_customer_id: str | None
    provider: str | None = None  # None: the deployment's default provider

    @property
    def can_pay(self) -> bool:
        return self.payment_method is not None


@dataclass(frozen=True, slots=True)
class Contact:
    """How to write to a customer: the address, the name, the language and the time zone.
    Notices carry a copy (see `Notice.contact`), so that an email is written without
    reading the customer; the send's claim checks the copy against the customer."""

    email: str
    name: str = ""
    locale: str = "en"
    timezone: str = "UTC"


# A buyer's details as invoices print them (docs/invoices.md): bounded, so an invoice and
# its item stay small, and free of control characters (a line break only in the address).
BILLING_NAME_MAX = 200
BILLING_ADDRESS_MAX = 500
TAX_ID_MAX = 32
TAX_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9 ./-]*"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class BillingDetails:
    """Who an invoice is made out to, when it is not simply the customer's name: a legal
    name, a postal address (lines separated by line breaks) and a tax id (e.g. a VAT
    number). Each is optional."""

    name: str | None = None
    address: str | None = None
    tax_id: str | None = None


def billing_details(
    name: str | None = None, address: str | None = None, tax_id: str | None = None
) -> BillingDetails | None:
    """The details, checked (ValidationFailedError naming the field); blank ones are left
    out, and None when none is given."""
    name, address, tax_id = (v.strip() if v else None for v in (name, address, tax_id))
    given = {"billing_name": name, "billing_address": address, "tax_id": tax_id}
    bounds = {"billing_name": BILLING_NAME_MAX, "billing_address": BILLING_ADDRESS_MAX}
    for field_name, value in given.items():
        if not value:
            continue
        longest = bounds.get(field_name, TAX_ID_MAX)
        if len(value) > longest:
            raise ValidationFailedError(field_name, f"must be at most {longest} characters")
        if _CONTROL.search(value.replace("\n", " ") if field_name == "billing_address" else value):
            raise ValidationFailedError(field_name, "must not hold control characters")
    if tax_id and not re.fullmatch(TAX_ID_PATTERN, tax_id):
        raise ValidationFailedError(
            "tax_id", "must be letters, digits, spaces, '.', '/' or '-', like DE123456789"
        )
    if not (name or address or tax_id):
        return None
    return BillingDetails(name or None, address or None, tax_id or None)


@dataclass(frozen=True, slots=True)
class ProviderErasure:
    """An erasure still owed at the payment provider: the provider's customer record keeps
    the name and email Tenure gave it until the provider is told (docs/privacy.md). Set in
    the erasure's own commit and due from then on, so a provider that does not answer
    delays it, never loses it, and never holds the local erasure back.

    `erased_at` is set once the provider answered; `failure` once it refused for good (a
    person decides; it is no longer due)."""

    asked_at: datetime
    next_try_at: datetime
    tries: int = 0  # tries that ended without an answer
    erased_at: datetime | None = None
    failure: str | None = None

    @property
    def pending(self) -> bool:
        return self.erased_at is None and self.failure is None

    def tried_again(self, now: datetime, wait: timedelta) -> "ProviderErasure":
        return replace(self, tries=self.tries + 1, next_try_at=now + wait)

    def done(self, now: datetime) -> "ProviderErasure":
        return replace(self, erased_at=now)

    def refused(self, code: str) -> "ProviderErasure":
        return replace(self, failure=code)


@dataclass(slots=True)
class Customer:
    id: str
    email: str
    created_at: datetime
    name: str = ""
    locale: str = "en"
    timezone: str = "UTC"
    default_payment_method: str | None = None
    provider_customer_id: str | None = None
    # The provider that charges this customer, chosen when the customer is created (its
    # tokens and provider customer live there). None: the deployment's default provider.
    provider: str | None = None
    version: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    billing: BillingDetails | None = None  # what invoices print of the buyer, if given
    # When the customer's personal data was erased (docs/privacy.md): never written to, never
    # charged by a new action again. None: not erased.
    erased_at: datetime | None = None
    # A phone number (E.164) when the customer gave one: what Razorpay takes as the contact on
    # its customer and on every recurring payment. None: not given.
    phone: str | None = None
    # The erasure still owed at the provider, or what became of it (None: never owed).
    provider_erasure: ProviderErasure | None = None
    # A phone given or changed after the provider's customer was made, not yet sent there.
    phone_sync: PhoneSync | None = None
    # The payments that authorised new mandates, each refunded (or owed a refund).
    registrations: tuple[RegistrationPayment, ...] = ()
    # A provider customer being made (written before the provider is called) whose id is not
    # stored yet, or one that could not be learned (a person looks). None: nothing unknown.
    provider_customer_pending: ProviderCustomerPending | None = None
    # The subscriptions made for this customer since their record lists them, each added in
    # the transaction that creates it: a card change reads them with the customer, and so
    # reaches each, where the index of a customer's subscriptions may lag (catalog.save_payer).
    subscription_ids: frozenset[str] = frozenset()
    # The installment (and repayment) plans made for this customer since their record lists
    # them, each added in the transaction that creates it, and only while the customer is not
    # erased: an erasure reads them with the customer, where the index of a customer's plans
    # may lag (services.privacy), and an erasure read before one joined fails on the list.
    installment_plan_ids: frozenset[str] = frozenset()

    def next_due(self) -> tuple[datetime, DueKind] | None:
        erasure = self.provider_erasure
        if erasure is not None and erasure.pending:
            return erasure.next_try_at, DueKind.PROVIDER_ERASE
        owed = [
            (r.next_try_at, DueKind.REGISTRATION_REFUND) for r in self.registrations if r.pending
        ]
        if self.phone_sync is not None and self.phone_sync.pending:
            owed.append((self.phone_sync.next_try_at, DueKind.PROVIDER_PHONE))
        if (making := self.provider_customer_pending) is not None and making.pending:
            owed.append((making.next_try_at, DueKind.PROVIDER_CUSTOMER))
        return min(owed) if owed else None

    @property
    def payer(self) -> Payer:
        return Payer(self.id, self.default_payment_method, self.provider_customer_id, self.provider)

    @property
    def contact(self) -> Contact:
        return Contact(self.email, self.name, self.locale, self.timezone)
