"""Mandates: the debits India's e-mandate rules (RBI) govern, and what each rule allows.

A debit is on a mandate when the payer's provider is one whose recurring payments ride an
e-mandate (Razorpay's card and UPI mandates). Such a debit needs, before money moves:
- a pre-debit notice sent at least 24 hours earlier, for that very amount;
- an amount within the mandate's maximum (above it the mandate cannot carry it: the
  customer must set up a new one);
- a fresh authentication by the customer above the no-authentication limit (₹15,000).
The rules are checked where money moves (the charger), so no path can debit early even if
its scheduling is wrong. The reasoning and the choices made: docs/razorpay.md.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tenure.domain.errors import ValidationFailedError
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus, notice_key

# Providers whose recurring debits ride a mandate. Another mandate provider joins here.
MANDATE_PROVIDERS = frozenset({"razorpay"})
# RBI: the customer is told of each debit at least 24 hours before it.
NOTICE_LEAD = timedelta(hours=24)
# RBI's limit for a recurring debit without an additional factor of authentication, in
# paise (₹15,000); a setting (TENURE_MANDATE_FRESH_AUTH_ABOVE).
FRESH_AUTH_ABOVE_MINOR = 1_500_000
FRESH_AUTH_CURRENCY = "INR"
# The currency of every mandate's debits (Razorpay's recurring payments are INR only).
MANDATE_CURRENCY = "INR"


def on_mandate(provider: str | None) -> bool:
    """Whether a debit through `provider` (the payer's, already defaulted) is on a mandate."""
    return provider in MANDATE_PROVIDERS


def refuse_other_currency(provider: str | None, currency: str, field: str) -> None:
    """A payer on a mandate is billed in the mandate's currency only: Razorpay's recurring
    payments (UPI AutoPay, e-mandates) are in INR, and a mandate registered here is one in
    INR. Anything else could never be debited, so it is refused (422 on `field`) before
    anything is written."""
    why = other_currency(provider, currency, field)
    if why:
        raise ValidationFailedError(field, why)


def other_currency(
    provider: str | None, currency: str, field: str, who: str = "the customer"
) -> str | None:
    """Why `who`, paying through `provider`, cannot be billed in `currency` (None: they can)."""
    if not on_mandate(provider) or currency == MANDATE_CURRENCY:
        return None
    return (
        f"{who} pays through {provider}, whose recurring payments are in "
        f"{MANDATE_CURRENCY} only; expected a {MANDATE_CURRENCY} {field}, not {currency}"
    )


def one_debit_per_cycle(provider: str | None, mandate_kind: str | None) -> bool:
    """Whether only one debit a billing cycle can succeed on the payer's mandate (UPI
    AutoPay), so that a plan change's charge must ride the next renewal's debit."""
    return on_mandate(provider) and mandate_kind == "upi"


@dataclass(frozen=True, slots=True)
class MandatePolicy:
    fresh_auth_above_minor: int = FRESH_AUTH_ABOVE_MINOR
    fresh_auth_currency: str = FRESH_AUTH_CURRENCY
    notice_lead: timedelta = NOTICE_LEAD

    def __post_init__(self) -> None:
        if self.fresh_auth_above_minor < 0:
            raise ValueError("the fresh-authentication limit cannot be negative")
        if self.notice_lead < timedelta(hours=24):
            raise ValueError("a pre-debit notice must lead its debit by at least 24 hours")

    def needs_fresh_auth(self, amount_minor: int, currency: str) -> bool:
        return currency == self.fresh_auth_currency and amount_minor > self.fresh_auth_above_minor


class Verdict(StrEnum):
    DEBIT = "debit"  # the notice went out long enough ago: money may move now
    NOTICE_FIRST = "notice_first"  # no notice for this debit yet: send one, debit after it
    WAIT = "wait"  # the notice is on its way or too recent: debit at `debit_at`
    UNANNOUNCED = "unannounced"  # the notice could not be sent: this debit is never made
    OVER_LIMIT = "over_limit"  # above the mandate's maximum: a new mandate is needed
    FRESH_AUTH = "fresh_auth"  # above the no-authentication limit: the customer confirms


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    debit_at: datetime | None = None  # NOTICE_FIRST and WAIT: the earliest the debit may be


def pre_debit_key(invoice_id: str, debit: int, amount_minor: int) -> str:
    """The notice of the `debit`-th debit of an invoice (1: the first, 2: the first retry),
    for that amount: a debit of another amount is another debit and needs its own notice."""
    return notice_key(invoice_id, NoticeKind.PRE_DEBIT, f"d{debit}", amount_minor)


def renewal_key(invoice_id: str) -> str:
    """The notice of a renewal announced ahead, before its invoice (whose id is known) and
    its amount (worked out when the email is sent) exist."""
    return notice_key(invoice_id, NoticeKind.PRE_DEBIT, "d1", "ahead")


def announces(notice: Notice, amount_minor: int) -> bool:
    """Whether a renewal's notice announced ahead stands for a first debit of this amount:
    sent with that amount, or still to be sent (the amount is written when it goes out)."""
    if notice.status is NoticeStatus.SCHEDULED:
        return True
    return notice.status is NoticeStatus.SENT and notice.data.get("amount") == amount_minor


def decide(
    *,
    amount_minor: int,
    currency: str,
    mandate_max_minor: int | None,
    notice: Notice | None,
    now: datetime,
    policy: MandatePolicy,
) -> Decision:
    """What a debit on a mandate may do now, from its notice as stored (None: none yet).

    The cap comes first (no notice can make an over-limit debit possible), then the fresh
    authentication (the customer is present and confirms it: no debit on the mandate), then
    the notice: sent at least `notice_lead` ago, else the debit waits for it."""
    if mandate_max_minor is not None and amount_minor > mandate_max_minor:
        return Decision(Verdict.OVER_LIMIT)
    if policy.needs_fresh_auth(amount_minor, currency):
        return Decision(Verdict.FRESH_AUTH)
    if notice is None:
        return Decision(Verdict.NOTICE_FIRST)
    if notice.status is NoticeStatus.SENT and notice.sent_at is not None:
        ready_at = notice.sent_at + policy.notice_lead
        return Decision(Verdict.DEBIT) if ready_at <= now else Decision(Verdict.WAIT, ready_at)
    if notice.status is NoticeStatus.SCHEDULED:
        return Decision(Verdict.WAIT, max(notice.due_at, now) + policy.notice_lead)
    # Skipped, suppressed, failed, or claimed and never known to have gone out: the debit
    # it announced may never be made under it.
    return Decision(Verdict.UNANNOUNCED)
