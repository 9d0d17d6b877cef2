"""Sample facts and links for every notice kind: email previews, tests and the bench.

The business's name is not a sample: previews take it from the settings
(`TENURE_BUSINESS_NAME`), as the emails and pages do.
"""

from datetime import UTC, datetime
from typing import Any

from tenure.domain.notices import EmailFacts, LineFact, NoticeKind
from tenure.notify.links import LinkClaims, LinkPurpose, page_url

SAMPLE_TIMEZONE = "America/New_York"
SAMPLE_BASE_URL = "https://billing.example.com"
# Signs the sample links only; real links are signed with the deployment's key.
_SAMPLE_KEY = b"sample-links-are-not-secret"

_NAME = "Zoë Ångström"
_PLAN = "Pro"
_LINES = (
    LineFact("Pro", 2500, "plan", "Pro"),
    LineFact("Introductory 10% off", -250, "intro_discount", percent="10"),
)
_TAX = 180  # 8% of the discounted 22.50
_TOTAL = 2430


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


# The invoice the receipts, refunds and failures are about: March, paid for on March 1.
_START, _END = _at("2026-03-01T14:00:00"), _at("2026-04-01T14:00:00")
_INVOICE: dict[str, Any] = {"invoice_id": "in_01JNV4Q8ZK3D", "period_start": _START, "period_end": _END}
_PAID_LINES = (
    LineFact("Pro", 2500, "plan", "Pro", start=_START, end=_END),
    LineFact("Introductory 10% off", -250, "intro_discount", percent="10"),
)


def sample_links(customer_id: str = "cus_sample", subject: str = "sub_sample") -> dict[str, str]:
    expires = _at("2026-04-30T00:00:00")

    def url(purpose: LinkPurpose) -> str:
        return page_url(
            SAMPLE_BASE_URL, _SAMPLE_KEY, LinkClaims(customer_id, purpose, subject, expires)
        )

    manage = url(LinkPurpose.MANAGE_SUBSCRIPTION)
    # One self-service page offers pause, cancel and coming back.
    return {
        "update_card": url(LinkPurpose.UPDATE_CARD),
        "confirm_payment": url(LinkPurpose.CONFIRM_PAYMENT),
        "pause": manage,
        "cancel": manage,
        "resubscribe": manage,
    }


_FACTS: dict[NoticeKind, EmailFacts] = {
    NoticeKind.UPCOMING_RENEWAL: EmailFacts(
        customer_name=_NAME,
        currency="USD",
        plan_name=_PLAN,
        amount=_TOTAL,
        lines=_LINES,
        tax=_TAX,
        when=_at("2026-03-14T14:00:00"),
        card_brand="visa",
        card_last4="4242",
    ),
    NoticeKind.TRIAL_ENDING: EmailFacts(
        customer_name=_NAME,
        currency="USD",
        plan_name=_PLAN,
        amount=2700,
        lines=(LineFact("Pro", 2500, "plan", "Pro"),),
        tax=200,
        when=_at("2026-03-10T09:00:00"),
    ),
    NoticeKind.PAYMENT_FAILED: EmailFacts(
        customer_name=_NAME,
        currency="USD",
        plan_name=_PLAN,
        amount=_TOTAL,
        when=_at("2026-03-01T14:00:00"),
        next_attempt_at=_at("2026-03-05T14:00:00"),
        attempt=1,
        decline_class="soft",
        card_brand="visa",
        card_last4="4242",
        **_INVOICE,
    ),
    NoticeKind.PAYMENT_ACTION_REQUIRED: EmailFacts(
        customer_name=_NAME,
        currency="USD",
        plan_name=_PLAN,
        amount=_TOTAL,
        when=_at("2026-03-08T14:00:00"),
        decline_class="action_required",
        **_INVOICE,
    ),
    NoticeKind.CARD_EXPIRING: EmailFacts(
        customer_name=_NAME,
        currency="USD",
        plan_name=_PLAN,
        card_brand="mastercard",
        card_last4="4444",
        card_exp_month=3,
        card_exp_year=2026,
    ),
    NoticeKind.PAUSE_ENDING: EmailFacts(
        customer_name=_NAME,
        currency="USD",
        plan_name=_PLAN,
        amount=_TOTAL,
        lines=_LINES,
        tax=_TAX,
        when=_at("2026-04-01T14:00:00"),
    ),
    NoticeKind.INSTALLMENT_DUE: EmailFacts(
        customer_name=_NAME,
        currency="USD",
        amount=12500,
        when=_at("2026-03-20T14:00:00"),
        installment_number=2,
        installment_count=4,
        invoice_id="in_01JNW2B7M0TE",
    ),
    NoticeKind.RECEIPT: EmailFacts(
        customer_name=_NAME,
        currency="USD",
        plan_name=_PLAN,
        amount=_TOTAL,
        lines=_PAID_LINES,
        tax=_TAX,
        when=_at("2026-03-01T14:02:00"),
        card_brand="visa",
        card_last4="4242",
        **_INVOICE,
    ),
    NoticeKind.REFUND_RECEIPT: EmailFacts(
        customer_name=_NAME,
        currency="USD",
        plan_name=_PLAN,
        amount=_TOTAL,
        refund_amount=1215,
        when=_at("2026-03-09T11:30:00"),
        **_INVOICE,
    ),
    NoticeKind.SUBSCRIPTION_ENDED: EmailFacts(
        customer_name=_NAME,
        currency="USD",
        plan_name=_PLAN,
        when=_at("2026-03-31T14:00:00"),
        ended_reason="voluntary",
    ),
}


def sample_facts(kind: NoticeKind | str) -> tuple[EmailFacts, dict[str, str]]:
    """Realistic facts for `kind` (a non-ASCII name, USD, a discount line, tax) and links."""
    return _FACTS[NoticeKind(kind)], sample_links()
