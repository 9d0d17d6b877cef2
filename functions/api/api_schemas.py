"""What the HTTP API accepts (pydantic request models) and returns (JSON shapes of the domain)."""

import re
from typing import Annotated, Any, Literal, TypedDict

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from tenure.documents.invoice_pdf import PDF_CONTENT_TYPE
from tenure.domain.customers import (
    BILLING_ADDRESS_MAX,
    BILLING_NAME_MAX,
    TAX_ID_MAX,
    BillingDetails,
    billing_details,
    valid_address,
    validate_phone,
    validate_timezone,
)
from tenure.domain.errors import ValidationFailedError
from tenure.domain.ids import DISPLAY_NAME_MAX, DISPLAY_NAME_PATTERN, ID_PATTERN
from tenure.domain.invoices import Invoice
from tenure.domain.item_spec import AddonSpec
from tenure.domain.moment_spec import Moment
from tenure.domain.offers import NO_CONTROL_CHARACTERS, REASON_TEXT_MAX
from tenure.domain.plan_spec import PlanSpec, TierSpec
from tenure.domain.pricing import MAX_ADDONS, MAX_QUANTITY, Items
from tenure.domain.programs import ProgramsSetting
from tenure.domain.programs_spec import Programs
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import iso
from tenure.services.documents import InvoicePdf
from tenure.views import (
    AuditView,
    ChargeView,
    CouponView,
    CustomerView,
    InvoiceView,
    OfferView,
    RefundView,
    SubscriptionView,
    invoice_view,
    subscription_view,
)

# Ids in paths: the entity id pattern, long enough for derived invoice ids
# (in_{subscription}_{kind}_{moment}). Anything else is a 422, never a store lookup.
PATH_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$"
# A run of 12-19 digits, spaces or dashes allowed between them: the length of a card number.
_CARD_NUMBER = re.compile(r"\d(?:[ -]?\d){11,18}")
# A provider's payment-method id: Stripe's pm_/tok_/card_ ids and Razorpay's token_ ids, or a
# UPI id (VPA, name@handle: Razorpay's test ids success@razorpay and failure@razorpay).
# Letters, digits, `_.-` and one `@` between a name and a handle; no spaces or controls.
PAYMENT_METHOD_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(@[A-Za-z0-9][A-Za-z0-9.\-]*)?$"
PAYMENT_METHOD_MAX = 100

IdField = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
# Each request model is built on its first use (defer_build), not when this module is
# imported: a container's first request imports it for one or two of its models, and
# building them all cost about 15 ms of that request.


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: IdField | None = Field(default=None, description="generated (cus_...) when absent")
    email: str = Field(max_length=254, description="an address the mailer can write to")
    # Printed on invoices, emails and pages, as a plan's name is: no control characters,
    # bidi overrides or isolates (an import checks the same, ids.display_name_refusal).
    name: str = Field(default="", max_length=DISPLAY_NAME_MAX, pattern=DISPLAY_NAME_PATTERN)
    locale: Literal["en", "ru", "ar"] = "en"
    timezone: str = Field(default="UTC", max_length=64, description="an IANA time zone name")
    provider: Literal["sandbox", "stripe", "razorpay"] | None = Field(
        default=None,
        description="the payment provider that charges this customer, one this deployment "
        "has configured; absent: the deployment's default (PAYMENT_PROVIDER)",
    )
    # What invoices print of the buyer (docs/invoices.md); checked by the domain's rules.
    billing_name: str | None = Field(default=None, max_length=BILLING_NAME_MAX)
    billing_address: str | None = Field(
        default=None, max_length=BILLING_ADDRESS_MAX, description="lines separated by \\n"
    )
    tax_id: str | None = Field(
        default=None, max_length=TAX_ID_MAX, description="e.g. a VAT number, DE123456789"
    )
    phone: str | None = Field(
        default=None,
        max_length=16,
        description="E.164, e.g. +919876543210: Razorpay's contact for this customer",
    )

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        try:
            return None if value is None else validate_phone(value)
        except ValidationFailedError as exc:
            raise ValueError(str(exc)) from exc

    def billing(self) -> BillingDetails | None:
        return billing_details(self.billing_name, self.billing_address, self.tax_id)

    @field_validator("email")
    @classmethod
    def _writable_address(cls, value: str) -> str:
        # The mailer's own rule (tenure.domain.customers), not a looser pattern of our own.
        if not valid_address(value):
            raise ValueError("must be an address the mailer can write to, like name@example.com")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            return validate_timezone(value)
        except ValidationFailedError as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc


class PaymentMethodAttach(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    payment_method: str = Field(
        pattern=PAYMENT_METHOD_PATTERN,
        max_length=PAYMENT_METHOD_MAX,
        description="a provider payment-method id (pm_..., Razorpay's token_...), a UPI id "
        "(name@handle) or a sandbox token; never a card number",
    )
    default: StrictBool = False

    @field_validator("payment_method", mode="before")
    @classmethod
    def _no_card_numbers(cls, value: Any) -> Any:
        # Runs before the pattern so the caller learns why; the value is never echoed or logged.
        if isinstance(value, str):
            compact = value.replace(" ", "").replace("-", "")
            if compact.isdigit() or _CARD_NUMBER.search(value):
                raise ValueError("raw card numbers are not accepted")
        return value


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: IdField | None = Field(default=None, description="generated (sub_...) when absent")
    customer: IdField
    plan: IdField
    coupon: IdField | None = Field(
        default=None, description="a coupon to redeem: it covers the first paid invoice on"
    )
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY, strict=True, description="seats")
    addons: list[AddonSpec] = Field(default_factory=list, max_length=MAX_ADDONS)

    def items(self) -> Items:
        return Items(self.quantity, tuple(a.to_item() for a in self.addons))


class ChangeItemsRequest(BaseModel):
    """Seats, add-ons (the whole list, replacing the current one) or both; `at: period_end`
    waits for the period's end (a downgrade without credit), else the change prorates now."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    quantity: int | None = Field(default=None, ge=1, le=MAX_QUANTITY, strict=True)
    addons: list[AddonSpec] | None = Field(default=None, max_length=MAX_ADDONS)
    at: Literal["now", "period_end"] = "now"


class ApplyCouponRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    coupon: IdField


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    at_period_end: StrictBool = False
    reason: str | None = Field(
        default=None,
        max_length=200,
        pattern=NO_CONTROL_CHARACTERS,
        description="an exit reason: too_expensive, not_using, missing_feature, switched or "
        "other (any other text without control characters is kept as given)",
    )
    reason_text: str | None = Field(
        default=None,
        max_length=REASON_TEXT_MAX,
        pattern=NO_CONTROL_CHARACTERS,
        description="the customer's own words about leaving, kept with the reason (at most "
        "1000 characters, no control characters such as line breaks)",
    )
    refund: Literal["none", "full", "policy"] = Field(
        default="none",
        description="with an immediate cancel: refund the period cut short in full, or as "
        "the refund policy says",
    )
    offers: StrictBool = Field(
        default=False,
        description="opt in to save offers: when the business configured some, nothing is "
        "canceled yet and they are answered (`offers`)",
    )
    decline_offers: StrictBool = Field(
        default=False, description="cancel now, declining the save offers presented"
    )


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    amount: int | None = Field(
        default=None,
        gt=0,
        strict=True,
        description="minor units, at most what is left to refund; absent: what the refund "
        "policy gives back now (all that is left when no policy is configured)",
    )
    reason: str | None = Field(default=None, max_length=200)
    note: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        pattern=NO_CONTROL_CHARACTERS,
        description="why, for the audit entry (never shown to the customer); required when "
        "the caller is a person's token",
    )


class PauseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    until: Moment | None = Field(
        default=None,
        description="when billing resumes by itself (ISO-8601 with a zone, in the future); "
        "open-ended when null",
    )

    @field_validator("until", mode="before")
    @classmethod
    def _iso_text_only(cls, value: Any) -> Any:
        # pydantic would also read 1780000000 as Unix seconds; seconds or milliseconds is a guess.
        if value is not None and not isinstance(value, str):
            raise ValueError("must be an ISO-8601 date-time with a zone, e.g. 2026-05-01T00:00:00Z")
        return value


class ChangePlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    plan: IdField


class CustomerUpdate(BaseModel):
    """The fields a PATCH changes; those left out stay. Each is checked as at creation (by
    the domain's rules); a billing field set to null is cleared. The provider cannot change:
    the customer's cards and provider customer live there."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    email: str | None = Field(default=None, max_length=254)
    name: str | None = Field(
        default=None, max_length=DISPLAY_NAME_MAX, pattern=DISPLAY_NAME_PATTERN
    )
    locale: str | None = Field(default=None, max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    billing_name: str | None = Field(default=None, max_length=BILLING_NAME_MAX)
    billing_address: str | None = Field(default=None, max_length=BILLING_ADDRESS_MAX)
    tax_id: str | None = Field(default=None, max_length=TAX_ID_MAX)
    provider: str | None = Field(default=None, description="refused: it cannot change")
    phone: str | None = Field(default=None, max_length=16, description="E.164; null clears it")

    def given(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class PriceChangeCreate(BaseModel):
    """A new price for a plan (docs/pricing.md): what is refused beyond these types (a past
    date, too little notice, another currency) is the domain's rule, named the same way."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    amount: int | None = Field(
        default=None, strict=True, description="the new price, in minor units (per unit)"
    )
    tiers: list[TierSpec] | None = Field(
        default=None,
        max_length=20,
        description="a tiered plan's new graduated table, instead of amount; last up_to null",
    )
    effective_at: Moment = Field(description="new subscribers pay it from here")
    notice_days: int = Field(default=30, strict=True, description="at least the minimum")
    grandfather: StrictBool = Field(
        default=False, description="earlier subscribers keep the price they pay"
    )
    currency: str | None = Field(
        default=None, min_length=3, max_length=3, description="if given, the plan's own"
    )


# -- responses: the shared views (tenure.views), and the API's envelopes around them ------------
class CustomerPage(TypedDict):
    data: list[CustomerView]
    has_more: bool
    next_cursor: str | None


class PlanPage(TypedDict):
    data: list[PlanSpec]


class CouponPage(TypedDict):
    data: list[CouponView]


class SubscriptionPage(TypedDict):
    data: list[SubscriptionView]


class InvoicePage(TypedDict):
    data: list[InvoiceView]


class SubscriptionChange(TypedDict):
    """What a subscription command changed: the subscription, and the invoice it raised if any."""

    subscription: SubscriptionView
    invoice: InvoiceView | None


class CancelChange(SubscriptionChange):
    """What a cancel did: the subscription (unchanged when save offers were presented),
    the offers presented, and the refunds made."""

    offers: list[OfferView]
    refunds: list[RefundView]


class RefundMade(TypedDict):
    """A refund and the invoice it was taken from, as they now stand."""

    refund: RefundView
    invoice: InvoiceView


def change_view(sub: Subscription, invoice: Invoice | None) -> SubscriptionChange:
    return {
        "subscription": subscription_view(sub),
        "invoice": invoice_view(invoice) if invoice is not None else None,
    }


# -- errors: what every route may answer besides its success, documented in /openapi.json -----
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "a stable code: validation_error, ..."},
        "message": {"type": "string"},
        "detail": {
            "type": "array",
            "description": "what was wrong with each field (validation errors)",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
_ERRORS = {
    400: "the body is not JSON",
    401: "missing or invalid bearer token",
    403: "the token lacks the scope this route needs (read, billing, admin)",
    404: "no such resource (or a resource the body names)",
    409: "the change conflicts with the resource's state, or its Idempotency-Key is in use",
    413: "the body is over the size limit",
    415: "the body is not sent as application/json",
    422: "the request is invalid; `detail` says where",
    503: "the API's tokens are misconfigured (every caller is refused until they are fixed), or "
    "a payment provider the request needed did not answer (retry)",
}
# Which errors each kind of route can answer: every route behind the token checks the token
# and the body size; only routes that take a body parse it, and only commands conflict.
_READ_ERRORS = (401, 403, 404, 413, 422, 503)
_WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 503)


def with_error_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Add each operation's error answers to an OpenAPI document, all of one Error shape
    (validation's 422 included: it carries `error` beside the usual `detail`)."""
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if not operation.get("security"):
                continue  # the open routes: they answer only their success
            codes = _WRITE_ERRORS if method in ("post", "put", "patch") else _READ_ERRORS
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses[str(code)] = {
                    "description": _ERRORS[code],
                    "content": {"application/json": {"schema": ref}},
                }
    return document


class RedeemPointsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    points: int = Field(ge=1, le=10**12, strict=True, description="how many points to redeem")


class InstallmentPlanCreate(BaseModel):
    """A one-off amount split into `count` interest-free instalments (docs/installments.md):
    the remainder of the division on the first, the first due at `start` (default: now)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str | None = Field(default=None, pattern=ID_PATTERN, description="default: generated")
    amount: int = Field(strict=True, ge=1, le=10**12, description="minor units, in total")
    currency: str = Field(min_length=3, max_length=3, description="ISO-4217 code")
    count: int = Field(strict=True, ge=2, le=12, description="how many instalments")
    every: Literal["week", "two_weeks", "month"]
    description: str = Field(min_length=1, max_length=200)
    start: Moment | None = None


class ProgramsUpdate(Programs):
    """The programs document, and the version it replaces."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, title="ProgramsUpdate")

    version: int = Field(
        ge=0,
        strict=True,
        description="the version this document replaces, as GET returned it (0: none yet)",
    )


class ProgramsView(Programs):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, title="ProgramsView")

    version: int = Field(description="counts the writes; send it back with the next PUT")
    updated_at: str | None = None


def programs_view(setting: ProgramsSetting) -> ProgramsView:
    return ProgramsView(
        **dict(setting.programs.spec()),
        version=setting.version,
        updated_at=iso(setting.updated_at),
    )


class RepaymentPlanChoose(BaseModel):
    """The customer's repayment plan for a collections case (docs/collections.md): the
    balance in `count` instalments, the remainder on the first, the first due now. The
    count's bounds are the business's (2-6 unless configured): outside them, 422."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    count: int = Field(strict=True, ge=2, le=12, description="how many instalments")
    every: Literal["week", "two_weeks"]


# -- operator actions (docs/operations.md "Operator actions") ----------------------------------
Note = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1000,
        pattern=NO_CONTROL_CHARACTERS,
        description="why, for the audit entry: 1-1000 characters, no control characters",
    ),
]


class OperatorNote(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    note: Note


class MarkPaidRequest(OperatorNote):
    reference: str = Field(
        min_length=1,
        max_length=200,
        pattern=NO_CONTROL_CHARACTERS,
        description="the payment's own reference (a bank transfer's, a cheque's)",
    )


class CreditAdjustRequest(OperatorNote):
    amount: int = Field(
        strict=True,
        ge=-100_000_000,
        le=100_000_000,
        description="minor units of the subscription's currency to add (negative: to take); "
        "the balance stays between 0 and 100000000",
    )


def _iso_only(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 date-time with a zone, e.g. 2026-05-01T00:00:00Z")
    return value


class ExtendTrialRequest(OperatorNote):
    until: Moment = Field(description="the trial's new end, later than its current one")

    _text = field_validator("until", mode="before")(_iso_only)


class RenewalDateRequest(OperatorNote):
    at: Moment = Field(description="when the subscription renews next (in the future)")

    _text = field_validator("at", mode="before")(_iso_only)


class CancelNowRequest(OperatorNote):
    reason: str | None = Field(default=None, max_length=200, pattern=NO_CONTROL_CHARACTERS)


class InvoiceActed(TypedDict):
    invoice: InvoiceView
    audit: AuditView


class RetryActed(InvoiceActed):
    charge: ChargeView


class SubscriptionActed(TypedDict):
    subscription: SubscriptionView
    audit: AuditView


class AuditPage(TypedDict):
    data: list[AuditView]
    has_more: bool
    next_cursor: str | None


class TimelineItemView(TypedDict):
    at: str
    type: str  # subscription.created, invoice.paid, charge, refund, email, audit, ...
    id: str
    detail: dict[str, str | int | bool | None]


class TimelinePage(TypedDict):
    data: list[TimelineItemView]
    has_more: bool
    next_cursor: str | None


# A document fetched with a bearer link (a portal link, a console session): kept out of
# caches, never sniffed, and its URL never sent on to another site.
PRIVATE_DOWNLOAD = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def pdf_response(pdf: InvoicePdf, headers: dict[str, str] | None = None) -> Response[Any]:
    """A PDF download: its bytes (base64-encoded through API Gateway) as an attachment named
    by the document, with `headers` beside."""
    disposition = {"Content-Disposition": f'attachment; filename="{pdf.filename}"'}
    return Response(200, PDF_CONTENT_TYPE, pdf.body, disposition | (headers or {}))
