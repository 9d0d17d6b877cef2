"""Customers: who pays, how to reach them, and in which language and time zone."""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from tenure.domain.errors import ValidationFailedError

SUPPORTED_LOCALES = ("en", "ru", "ar")


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailedError("timezone", f"unknown IANA time zone {name!r}") from exc
    if name not in available_timezones() and name != "UTC":
        raise ValidationFailedError("timezone", f"unknown IANA time zone {name!r}")
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


@dataclass(frozen=True, slots=True)
class Payer:
    """What charging needs of a customer: the card Tenure charges and the provider's customer
    it belongs to. Subscriptions keep a copy (see `Subscription.payer`)."""

    customer_id: str
    payment_method: str | None
    provider_customer_id: str | None

    @property
    def can_pay(self) -> bool:
        return self.payment_method is not None


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
    version: int = 0
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def payer(self) -> Payer:
        return Payer(self.id, self.default_payment_method, self.provider_customer_id)
