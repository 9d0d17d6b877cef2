"""Charge attempts: one per (invoice, attempt), claimed before any money moves."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tenure.domain.due import ChargeRef, DueKind


class ChargeOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    AUTHENTICATION_REQUIRED = "authentication_required"
    PENDING = "pending"  # async methods settle later
    UNKNOWN = "unknown"  # timeout or 5xx: never treated as failed


class ChargeStatus(StrEnum):
    CHARGING = "charging"  # claimed; the provider may or may not have moved money yet
    SETTLED = "settled"


# Declines that retrying cannot fix: the customer must give a new card.
HARD_DECLINES = frozenset(
    {
        "lost_card",
        "stolen_card",
        "expired_card",
        "incorrect_cvc",
        "incorrect_number",
        "invalid_account",
        "pickup_card",
        "restricted_card",
        "fraudulent",
        "card_not_supported",
        "currency_not_supported",
        "do_not_honor",
    }
)


def is_hard_decline(code: str | None) -> bool:
    return code in HARD_DECLINES


def idempotency_key(invoice_id: str, attempt: int) -> str:
    """The key of one attempt; provider calls add their verb (`:create`, `:confirm`)."""
    return f"charge:{invoice_id}:{attempt}"


@dataclass(slots=True)
class Charge:
    id: str
    invoice_id: str
    subscription_id: str
    customer_id: str
    attempt: int
    amount: int
    currency: str
    at: datetime
    status: ChargeStatus = ChargeStatus.CHARGING
    outcome: ChargeOutcome = ChargeOutcome.UNKNOWN
    decline_code: str | None = None
    payment_id: str | None = None
    lease_until: datetime | None = None  # past this, a `charging` attempt is reconciled
    calls: int = 0  # gateway calls made for this attempt
    version: int = 0
    # What the attempt's one request charges, stored with its claim: a replay of the request
    # is then the identical request, whatever card the customer has on file by then.
    payment_method: str | None = None
    provider_customer: str | None = None
    # The provider the attempt was made through (None: the deployment's default): its
    # reconciliation and refunds go to the same one.
    provider: str | None = None

    @property
    def ref(self) -> ChargeRef:
        return ChargeRef(self.invoice_id, self.attempt)

    @property
    def due_id(self) -> str:
        return str(self.ref)

    def next_due(self) -> tuple[datetime, DueKind] | None:
        if self.status is ChargeStatus.CHARGING and self.lease_until is not None:
            return self.lease_until, DueKind.RECONCILE
        return None

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.invoice_id, self.attempt)
