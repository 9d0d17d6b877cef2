"""Sample facts and links for every notice kind: email previews, tests and the bench.

The business's name is not a sample: previews take it from the settings
(`TENURE_BUSINESS_NAME`), as the emails and pages do.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tenure.domain.notices import EmailFacts, LineFact, NoticeKind
from tenure.domain.timeutil import parse_iso
from tenure.notify.lines import invoice_facts
from tenure.notify.link_tokens import LinkClaims, LinkPurpose, page_url

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
_INVOICE: dict[str, Any] = {
    "invoice_id": "in_01JNV4Q8ZK3D",
    "period_start": _START,
    "period_end": _END,
}
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
        "manage": manage,
        "collections": url(LinkPurpose.COLLECTIONS),
    }


# What most samples share: the customer, the currency and the plan; the card on file; and
# the price of a renewal, with its discount and tax.
_PRO = EmailFacts(customer_name=_NAME, currency="USD", plan_name=_PLAN)
_VISA: dict[str, Any] = {"card_brand": "visa", "card_last4": "4242"}
_PRICE: dict[str, Any] = {"amount": _TOTAL, "lines": _LINES, "tax": _TAX}

_FACTS: dict[NoticeKind, EmailFacts] = {
    NoticeKind.UPCOMING_RENEWAL: replace(_PRO, when=_at("2026-03-14T14:00:00"), **_PRICE, **_VISA),
    NoticeKind.TRIAL_ENDING: replace(
        _PRO,
        amount=2700,
        lines=(LineFact("Pro", 2500, "plan", "Pro"),),
        tax=200,
        when=_at("2026-03-10T09:00:00"),
        card_on_file=True,
        **_VISA,
    ),
    NoticeKind.PAYMENT_FAILED: replace(
        _PRO,
        amount=_TOTAL,
        when=_at("2026-03-01T14:00:00"),
        next_attempt_at=_at("2026-03-05T14:00:00"),
        attempt=1,
        decline_class="soft",
        **_VISA,
        **_INVOICE,
    ),
    NoticeKind.PAYMENT_ACTION_REQUIRED: replace(
        _PRO,
        amount=_TOTAL,
        when=_at("2026-03-08T14:00:00"),
        decline_class="action_required",
        **_INVOICE,
    ),
    NoticeKind.CARD_EXPIRING: replace(
        _PRO, card_brand="mastercard", card_last4="4444", card_exp_month=3, card_exp_year=2026
    ),
    NoticeKind.PAUSE_ENDING: replace(_PRO, when=_at("2026-04-01T14:00:00"), **_PRICE),
    NoticeKind.INSTALLMENT_DUE: replace(
        _PRO,
        plan_name=None,  # an installment repays a balance, not a plan
        amount=12500,
        when=_at("2026-03-20T14:00:00"),
        installment_number=2,
        installment_count=4,
        installment_plan=True,
        invoice_id="in_01JNW2B7M0TE",
    ),
    NoticeKind.RECEIPT: replace(
        _PRO,
        **(_PRICE | {"lines": _PAID_LINES}),
        when=_at("2026-03-01T14:02:00"),
        **_VISA,
        **_INVOICE,
    ),
    NoticeKind.REFUND_RECEIPT: replace(
        _PRO, amount=_TOTAL, refund_amount=1215, when=_at("2026-03-09T11:30:00"), **_INVOICE
    ),
    NoticeKind.SUBSCRIPTION_ENDED: replace(
        _PRO, when=_at("2026-03-31T14:00:00"), ended_reason="voluntary"
    ),
    # The trial ended on March 1 with no card; the deadline is the end of dunning.
    NoticeKind.CARD_REQUIRED: replace(
        _PRO,
        **(_PRICE | {"lines": _PAID_LINES}),
        when=_at("2026-03-15T14:00:00"),
        **_INVOICE,
    ),
    # Two months went unpaid (February's with its tax line); the case opened on April 15.
    NoticeKind.COLLECTIONS_OPENED: replace(
        _PRO,
        amount=5180,
        lines=(
            LineFact("Pro", 2500, "plan", "Pro", start=_at("2026-02-01T14:00:00"), end=_START),
            LineFact("Tax 8%", 180, "case_tax"),
            LineFact("Pro", 2500, "plan", "Pro", start=_START, end=_END),
        ),
        when=_at("2026-04-15T14:00:00"),
    ),
    # A laptop in 4 monthly instalments: two paid, the third unpaid through dunning.
    NoticeKind.INSTALLMENT_PLAN_ENDED: replace(
        _PRO,
        plan_name="Laptop",
        amount=25000,
        when=_at("2026-05-16T14:00:00"),
        installment_number=3,
        installment_count=4,
        installment_plan=True,
        ended_reason="defaulted",
    ),
    # A renewal on a Razorpay mandate, announced the day before it is debited.
    NoticeKind.PRE_DEBIT: replace(
        _PRO, currency="INR", amount=149900, when=_at("2026-03-02T14:00:00"), **_INVOICE
    ),
    NoticeKind.PRICE_CHANGE: replace(
        _PRO, amount=2900, old_amount=2500, when=_at("2026-04-14T14:00:00")
    ),
}


def sample_facts(kind: NoticeKind | str) -> tuple[EmailFacts, dict[str, str]]:
    """Realistic facts for `kind` (a non-ASCII name, USD, a discount line, tax) and links."""
    return _FACTS[NoticeKind(kind)], sample_links()


# -- previews of real invoices --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RealSample:
    """Facts of one real invoice and where its customer lives, to preview in any language."""

    facts: EmailFacts
    timezone: str
    invoice_id: str  # which invoice it was, for the person previewing (never in the email)


def samples_from_state(state: Mapping[str, Any]) -> dict[NoticeKind, RealSample]:
    """The invoice emails (receipt, refund, failed payment, confirmation) of the invoices in a
    `tenure simulate` `state.json`, for the kinds it has an example of: the first paid
    invoice with the most lines, the first refunded one, the first declined and the first
    that asked for authentication. Raises ValueError for a file that is not such a state."""
    try:
        customers = {row["id"]: row for row in state["customers"]}
        invoices = [_invoice(row) for row in state["invoices"]]
        charges = list(state["charges"])
        # An instalment's invoice is named by its plan, as the real email names it.
        instalments = {
            str(item["invoice"]): (plan, item)
            for plan in state.get("installment_plans") or ()
            for item in plan["instalments"]
            if item.get("invoice")
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a `tenure simulate` state.json: {exc!r}") from exc
    found: dict[NoticeKind, RealSample] = {}

    def keep(kind: NoticeKind, invoice: Invoice, **more: Any) -> None:
        if kind in found:
            return
        who = customers.get(invoice.customer_id, {})
        name = str(who.get("name") or who.get("email") or "")
        facts = invoice_facts(invoice, name, **more)
        if invoice.id in instalments:
            plan, item = instalments[invoice.id]
            facts = replace(
                facts,
                plan_name=str(plan.get("description") or plan["id"]),
                installment_number=int(item["number"]),
                installment_count=int(plan["count"]),
                installment_plan=True,
            )
        found[kind] = RealSample(facts, str(who.get("timezone") or "UTC"), invoice.id)

    paid = [i for i in invoices if i.status is InvoiceStatus.PAID and i.paid_at is not None]
    for invoice in sorted(paid, key=lambda i: -len(i.lines)):
        keep(NoticeKind.RECEIPT, invoice, when=invoice.paid_at)
    for invoice in paid:
        if invoice.amount_refunded:
            keep(NoticeKind.REFUND_RECEIPT, invoice, refund_amount=invoice.amount_refunded)
    by_id = {invoice.id: invoice for invoice in invoices}
    for charge in charges:
        owed = by_id.get(str(charge.get("invoice")))
        if owed is None:
            continue
        more: dict[str, Any] = {"when": owed.created_at, "attempt": 1}
        if charge.get("outcome") == "authentication_required":
            keep(NoticeKind.PAYMENT_ACTION_REQUIRED, owed, **more)
        elif charge.get("outcome") == "declined":
            # Previewed as a first soft failure, with a retry to announce.
            retry = owed.created_at + timedelta(days=3)
            keep(
                NoticeKind.PAYMENT_FAILED,
                owed,
                decline_class="soft",
                next_attempt_at=retry,
                **more,
            )
    return found


def _invoice(row: Mapping[str, Any]) -> Invoice:
    def moment(key: str) -> datetime | None:
        value = row.get(key)
        return parse_iso(str(value)) if value else None

    start, end, created = moment("period_start"), moment("period_end"), moment("created_at")
    if start is None or end is None or created is None:
        raise ValueError(f"invoice {row.get('id')!r} lacks its period or creation time")
    return Invoice(
        id=str(row["id"]),
        subscription_id=str(row["subscription"]),
        customer_id=str(row["customer"]),
        kind=InvoiceKind(row["kind"]),
        period_start=start,
        period_end=end,
        currency=str(row["currency"]),
        lines=[
            InvoiceLine(LineKind(line["kind"]), str(line["description"]), int(line["amount"]))
            for line in row["lines"]
        ],
        status=InvoiceStatus(row["status"]),
        created_at=created,
        paid_at=moment("paid_at"),
        amount_refunded=int(row.get("amount_refunded") or 0),
    )
