"""Settings from the environment (SAM sets them; the local stack sets the same names).

Stdlib only: a frozen dataclass filled from `os.environ`. Importing pydantic (pydantic-settings
before it) cost ~100 ms of every cold start (see docs/benchmarks.md), for a dozen strings and
numbers. Numbers are parsed as pydantic's lax mode did: " 20 ", "1_000" and "2.0" are integers;
"2.5", "1e3" and "" are not.
"""

import contextlib
import dataclasses
import os
import re
from typing import Any, NamedTuple

# A portal link's lifetime, whoever sets it: long enough to load a page and fill a form, short
# enough that a link forwarded or left in a browser's history stops working within a week.
PORTAL_LINK_MIN_MINUTES = 5
PORTAL_LINK_MAX_MINUTES = 7 * 24 * 60
_INTEGER = re.compile(r"[+-]?\d+(?:_\d+)*(?:\.0+)?", re.ASCII)


class SettingsError(ValueError):
    """A setting's value is refused; the message names its environment variable."""


class Declared(NamedTuple):
    """A setting as `Settings.declared()` describes it."""

    alias: str  # its environment variable
    default: Any


def _env(
    alias: str,
    default: object,
    *,
    gt: float | None = None,
    ge: int | None = None,
    le: int | None = None,
) -> Any:
    """A field read from the environment variable `alias`; `gt`/`ge`/`le` bound numbers."""
    return dataclasses.field(default=default, metadata={"env": alias, "gt": gt, "ge": ge, "le": le})


def _convert(
    value: object, kind: object, gt: float | None, ge: int | None, le: int | None = None
) -> object:
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, not {type(value).__name__}")
        return value
    number: int | float | None = None
    if isinstance(value, str):
        text = value.strip()
        if kind is int and _INTEGER.fullmatch(text):
            number = int(text.partition(".")[0])
        elif kind is float and text.isascii():
            with contextlib.suppress(ValueError):
                number = float(text)
    elif isinstance(value, int) or (
        isinstance(value, float) and (kind is float or value.is_integer())
    ):
        number = int(value) if kind is int else float(value)
    if number is None:
        raise ValueError(f"must be {'an integer' if kind is int else 'a number'}, got {value!r}")
    if gt is not None and not number > gt:  # `not >` also refuses nan
        raise ValueError(f"must be greater than {gt}, got {value!r}")
    if ge is not None and not number >= ge:
        raise ValueError(f"must be at least {ge}, got {value!r}")
    if le is not None and not number <= le:
        raise ValueError(f"must be at most {le}, got {value!r}")
    return number


@dataclasses.dataclass(frozen=True, init=False)
class Settings:
    """Each field is read from the environment variable named in its metadata ("env"); keyword
    arguments (by that name or by field name) override the environment; others are ignored."""

    def __init__(self, **overrides: Any) -> None:
        fields = dataclasses.fields(self)
        aliases = {field.name: field.metadata["env"] for field in fields}
        given = {aliases.get(key, key): value for key, value in overrides.items()}
        problems = []
        for field in fields:
            alias, meta = field.metadata["env"], field.metadata
            value = given.get(alias, os.environ.get(alias, field.default))
            try:
                value = _convert(value, field.type, meta["gt"], meta["ge"], meta["le"])
            except ValueError as exc:
                problems.append(f"{alias} {exc}")
            else:
                object.__setattr__(self, field.name, value)
        if problems:
            raise SettingsError("invalid settings: " + "; ".join(problems))

    environment: str = _env("ENVIRONMENT", "dev")
    table_name: str = _env("TABLE_NAME", "tenure")
    event_bus_name: str = _env("EVENT_BUS_NAME", "tenure")
    renewal_queue_url: str = _env("RENEWAL_QUEUE_URL", "")
    payment_provider: str = _env("PAYMENT_PROVIDER", "sandbox")
    # Provider requests per second for the whole deployment, split evenly among the renewals
    # charger's concurrent containers (docs/payments.md, "Provider rate limit"). 80 stays
    # under Stripe live mode's ~100/s, leaving room for calls the API and webhooks make.
    provider_rate_limit: float = _env("PROVIDER_RATE_LIMIT", 50.0, gt=0)
    # The charger's SQS MaximumConcurrency (template.yaml's ChargerMaxConcurrency).
    charger_max_concurrency: int = _env("CHARGER_MAX_CONCURRENCY", 20, ge=1)
    # The API token: given directly (local), or read from Secrets Manager by ARN (AWS).
    api_token: str = _env("TENURE_API_TOKEN", "")
    api_token_secret_arn: str = _env("API_TOKEN_SECRET_ARN", "")
    # The provider's API key: directly (local experiments) or from Secrets Manager (AWS).
    provider_api_key: str = _env("TENURE_PROVIDER_API_KEY", "")
    provider_api_key_secret_arn: str = _env("PROVIDER_API_KEY_SECRET_ARN", "")
    # Razorpay (docs/razorpay.md): its key id (not secret) and key secret, directly (local
    # experiments) or from Secrets Manager (AWS). With both, customers created with provider
    # razorpay are charged there; PAYMENT_PROVIDER=razorpay makes it every customer's default.
    razorpay_key_id: str = _env("RAZORPAY_KEY_ID", "")
    razorpay_key_secret: str = _env("TENURE_RAZORPAY_KEY_SECRET", "")
    razorpay_key_secret_arn: str = _env("RAZORPAY_KEY_SECRET_ARN", "")
    # Emails (docs/emails.md): who sends them, the business's name in them, SES's configuration
    # set, and where their signed links point. The link key: directly (local) or by ARN (AWS).
    mail_from: str = _env("SENDER_EMAIL", "billing@example.com")
    business_name: str = _env("TENURE_BUSINESS_NAME", "Tenure Demo")
    ses_configuration_set: str = _env("SES_CONFIGURATION_SET", "")
    public_url: str = _env("TENURE_PUBLIC_URL", "http://localhost:3000")
    link_secret: str = _env("TENURE_LINK_SECRET", "")
    link_secret_arn: str = _env("LINK_SECRET_ARN", "")
    # Local runs (`tenure simulate`, `tenure serve`) keep a copy of every email here as .eml.
    outbox_dir: str = _env("TENURE_OUTBOX_DIR", "")
    # Upcoming-renewal lead days per plan interval, e.g. "month=3,year=30/7" (docs/emails.md).
    reminder_leads: str = _env("TENURE_REMINDER_LEADS", "")
    link_ttl_days: int = _env("TENURE_LINK_TTL_DAYS", 14)
    # How long a portal link lasts unless the request names its own lifetime (docs/pages.md):
    # it sends a customer on at once, so a day by default; 5 minutes to 7 days.
    portal_link_ttl_minutes: int = _env(
        "TENURE_PORTAL_LINK_TTL_MINUTES",
        24 * 60,
        ge=PORTAL_LINK_MIN_MINUTES,
        le=PORTAL_LINK_MAX_MINUTES,
    )
    # Public by design (every browser that loads Stripe.js sees it): a plain setting.
    stripe_publishable_key: str = _env("TENURE_STRIPE_PUBLISHABLE_KEY", "")
    max_body_bytes: int = _env("TENURE_MAX_BODY_BYTES", 256 * 1024)
    # Local runs in several processes (`tenure serve --workers N`) share the sandbox
    # provider's memory through this file; empty: each process has its own.
    sandbox_state_file: str = _env("TENURE_SANDBOX_STATE", "")
    # The metrics function's daily report (docs/operations.md): the bucket it is kept in (empty:
    # none is written, as in simulations) and its currency (empty: the first currency found).
    report_bucket: str = _env("TENURE_REPORT_BUCKET", "")
    reporting_currency: str = _env("REPORTING_CURRENCY", "")
    # The imports function (docs/import.md): the bucket large exports are uploaded to.
    import_bucket: str = _env("TENURE_IMPORT_BUCKET", "")
    # Collections (docs/collections.md): the repayment plans a customer may choose (2-6
    # instalments by default, within 2-12) and what paying a case off does to its
    # subscription: `reactivate` (default) or `close`.
    repayment_min_count: int = _env("TENURE_REPAYMENT_MIN_COUNT", 2, ge=2)
    repayment_max_count: int = _env("TENURE_REPAYMENT_MAX_COUNT", 6, ge=2)
    collections_settle: str = _env("TENURE_COLLECTIONS_SETTLE", "reactivate")
    # India's e-mandates (docs/razorpay.md): a debit above this many paise needs the
    # customer's fresh authentication (RBI's limit, ₹15,000) instead of a debit on the mandate.
    mandate_fresh_auth_above: int = _env("TENURE_MANDATE_FRESH_AUTH_ABOVE", 1_500_000, ge=0)
    # A new mandate given on the card page may debit this much more than the largest debit
    # the customer faces now (a price change, a carried proration): percent (docs/razorpay.md).
    mandate_headroom_percent: int = _env("TENURE_MANDATE_HEADROOM_PERCENT", 50, ge=0, le=1000)
    # The shortest notice a plan's price change may give its subscribers, in days
    # (docs/pricing.md: 30 unless a business knows its own rules ask for more).
    min_price_notice_days: int = _env("MIN_PRICE_NOTICE_DAYS", 30, ge=0, le=366)
    # The outbound webhooks dispatcher's queue (docs/webhooks-outbound.md); empty: a delivery
    # handed back for a later try waits for a caller to send it (simulations).
    webhook_out_queue_url: str = _env("WEBHOOK_OUT_QUEUE_URL", "")
    # Legal numbers (docs/invoices.md): the seller's prefixes, how many gap-free series run
    # side by side (1: `INV-2026-000001`; more: `INV-B-2026-000001`, up to 26), and the
    # seller's details printed on invoices and credit notes.
    invoice_prefix: str = _env("TENURE_INVOICE_PREFIX", "INV")
    credit_note_prefix: str = _env("TENURE_CREDIT_NOTE_PREFIX", "CN")
    invoice_series: int = _env("TENURE_INVOICE_SERIES", 1, ge=1)
    seller_name: str = _env("TENURE_SELLER_NAME", "")
    seller_address: str = _env("TENURE_SELLER_ADDRESS", "")
    seller_tax_id: str = _env("TENURE_SELLER_TAX_ID", "")


def declared() -> dict[str, Declared]:
    """Every setting by field name: its environment variable and its default."""
    return {
        field.name: Declared(field.metadata["env"], field.default)
        for field in dataclasses.fields(Settings)
    }
