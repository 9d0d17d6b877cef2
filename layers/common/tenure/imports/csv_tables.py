"""Reads Tenure's import CSV format (customers.csv, plans.csv, subscriptions.csv).

A plain format any billing system's export can be mapped to (docs/import.md shows the
mapping from Chargebee's): one header row, UTF-8, comma-separated, times in ISO 8601 with
their offset (`2026-03-15T08:00:00Z`), amounts in minor units. A row that cannot be read is
refused on its own, with its file and line; a customer is refused whole when any of its
subscription rows is.
"""

import csv
import io
from collections.abc import Callable, Mapping
from datetime import datetime

from tenure.domain.calendar import IntervalUnit
from tenure.domain.customers import (
    SUPPORTED_LOCALES,
    Customer,
    PaymentMethod,
    billing_details,
    valid_address,
    validate_provider,
    validate_timezone,
)
from tenure.domain.errors import DomainError, ValidationFailedError
from tenure.domain.ids import display_name_refusal, is_valid_id
from tenure.domain.imported import (
    CARD_NUMBER_REFUSAL,
    IMPORTED_FROM,
    CustomerEntry,
    Finding,
    ImportBatch,
    PlanEntry,
    SubscriptionTerms,
    TermsStatus,
    card_number_like,
)
from tenure.domain.money import (
    UnchargedCurrencyError,
    UnknownCurrencyError,
    charged_currency,
    unchargeable,
)
from tenure.domain.plans import Plan
from tenure.domain.timeutil import utc

SOURCE = "csv"
DEFAULT_PROVIDER = "stripe"
FILES = ("customers.csv", "plans.csv", "subscriptions.csv")
# Each file's columns: required ones first, then the optional ones.
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "customers.csv": (
        ("id", "email"),
        (
            "name",
            "locale",
            "timezone",
            "created_at",
            "payment_provider",
            "provider_customer_id",
            "payment_method",
            "billing_name",
            "billing_address",
            "tax_id",
        ),
    ),
    "plans.csv": (
        ("id", "amount_minor", "currency", "interval"),
        ("name", "interval_count", "trial_days"),
    ),
    "subscriptions.csv": (
        (
            "id",
            "customer_id",
            "plan_id",
            "status",
            "billing_anchor",
            "current_period_start",
            "current_period_end",
        ),
        ("created_at", "trial_end", "cancel_at_period_end", "paused_until"),
    ),
}
_STATUSES = {
    "trialing": TermsStatus.TRIALING,
    "active": TermsStatus.ACTIVE,
    "paused": TermsStatus.PAUSED,
}
_ENDED = ("canceled", "cancelled")
Row = dict[str, str]


class UnreadableError(ValueError):
    """A file that cannot be read as the format at all (nothing of it is imported)."""


class _BadRow(ValueError):
    pass


def parse_table(name: str, text: str) -> list[tuple[str, Row]]:
    """The rows of one file, each with where it was (`customers.csv:3`), values stripped."""
    required, optional = COLUMNS[name]
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), strict=True)
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as exc:
        raise UnreadableError(f"{name}: {exc}") from exc
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required + optional]
    if missing or unknown or len(set(header)) != len(header):
        parts = [f"missing columns {', '.join(missing)}" if missing else ""]
        parts.append(f"unknown columns {', '.join(unknown)}" if unknown else "")
        parts.append("a column twice" if len(set(header)) != len(header) else "")
        raise UnreadableError(f"{name}: {'; '.join(p for p in parts if p)} (docs/import.md)")
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            origin = f"{name}:{reader.line_num}"
            if None in row or any(v is None for v in row.values()):
                rows.append((origin, {"": "wrong number of fields"}))
                continue
            rows.append((origin, {k: v.strip() for k, v in row.items()}))
    except csv.Error as exc:
        raise UnreadableError(f"{name}:{reader.line_num}: {exc}") from exc
    return rows


def read_tables(tables: Mapping[str, str], now: datetime) -> ImportBatch:
    """Map the three files' text (by file name; plans.csv and subscriptions.csv may be
    absent) to a batch."""
    if "customers.csv" not in tables:
        raise UnreadableError("customers.csv is missing")
    parsed = {name: parse_table(name, text) for name, text in tables.items() if name in FILES}
    batch = ImportBatch(SOURCE)
    plans = _unique(batch, "plan", parsed.get("plans.csv", []))
    for plan_id, (origin, row) in plans.items():
        batch.plans.append(_plan_entry(plan_id, origin, row))
    usable = {p.id: p for p in batch.plans if p.plan is not None}
    customers = _unique(batch, "customer", parsed["customers.csv"])
    entries: dict[str, CustomerEntry] = {}
    for cus_id, (origin, row) in customers.items():
        entries[cus_id] = _customer_entry(cus_id, origin, row, now)
    for sub_id, (origin, row) in _unique(
        batch, "subscription", parsed.get("subscriptions.csv", [])
    ).items():
        owner = entries.get(row.get("customer_id", ""))
        if owner is None:
            batch.findings.append(
                Finding(
                    origin,
                    "subscription",
                    sub_id,
                    f"its customer {row.get('customer_id')!r} is not in customers.csv",
                    refused=True,
                )
            )
            continue
        status = row.get("status", "").lower()
        if status in _ENDED:
            batch.findings.append(
                Finding(origin, "subscription", sub_id, f"{status}: ended", refused=False)
            )
            continue
        try:
            owner.subscriptions.append(_terms(sub_id, origin, row, usable))
        except _BadRow as exc:
            owner.problems.append(f"subscription {sub_id} ({origin}): {exc}")
    batch.customers = list(entries.values())
    return batch


def _unique(
    batch: ImportBatch, kind: str, rows: list[tuple[str, Row]]
) -> dict[str, tuple[str, Row]]:
    """Rows by id: an id on rows that differ is refused on each of them (which is meant
    cannot be known); the same row twice is one row. Unreadable rows are refused here."""
    by_id: dict[str, list[tuple[str, Row]]] = {}
    for origin, row in rows:
        if "" in row:
            batch.findings.append(Finding(origin, kind, "?", row[""], refused=True))
            continue
        row_id = row.get("id", "")
        if not is_valid_id(row_id):
            why = f"its id {row_id!r} is not an id (letters, digits, _ . -; 64 at most)"
            batch.findings.append(Finding(origin, kind, row_id, why, refused=True))
            continue
        by_id.setdefault(row_id, []).append((origin, row))
    out = {}
    for row_id, found in by_id.items():
        if any(row != found[0][1] for _, row in found[1:]):
            where = ", ".join(origin for origin, _ in found)
            for origin, _ in found:
                why = f"duplicate id on rows that differ ({where})"
                batch.findings.append(Finding(origin, kind, row_id, why, refused=True))
            continue
        out[row_id] = found[0]
    return out


def _plan_entry(plan_id: str, origin: str, row: Row) -> PlanEntry:
    """The row's plan, by the API's rules for a new plan: a name it may show, a price its
    currency can be charged in (KWD 1.001 cannot: docs/pricing.md)."""
    try:
        currency = _read(row, "currency", charged_currency, "an ISO 4217 code")
        amount = _whole(row, "amount_minor", 0, 10**12)
        why = unchargeable(amount, currency)
        if why:
            raise _BadRow(f"amount_minor: {why}")
        plan = Plan(
            id=plan_id,
            name=_name(row),
            amount=amount,
            currency=currency,
            interval=_read(row, "interval", IntervalUnit, "day, week, month or year"),
            interval_count=_whole(row, "interval_count", 1, 365, default=1),
            trial_days=_whole(row, "trial_days", 0, 730, default=0),
        )
    except _BadRow as exc:
        return PlanEntry(id=plan_id, origin=origin, problem=str(exc))
    return PlanEntry(id=plan_id, origin=origin, plan=plan)


def _customer_entry(cus_id: str, origin: str, row: Row, now: datetime) -> CustomerEntry:
    problems = []
    created = now
    try:
        created = _moment(row, "created_at") or now
    except _BadRow as exc:
        problems.append(str(exc))
    try:
        name = _name(row)
    except _BadRow as exc:
        problems.append(str(exc))
        name = ""
    provider = row.get("payment_provider") or DEFAULT_PROVIDER
    customer = Customer(
        id=cus_id,
        email=row["email"],
        name=name,
        created_at=created,
        provider_customer_id=row.get("provider_customer_id") or None,
        default_payment_method=row.get("payment_method") or None,
        metadata={IMPORTED_FROM: SOURCE},
    )
    # The buyer's details invoices print (docs/invoices.md); an address's lines are separated
    # by "\n" in the cell (a CSV cell may hold line breaks when quoted).
    try:
        customer.billing = billing_details(
            row.get("billing_name") or None,
            (row.get("billing_address") or "").replace("\\n", "\n") or None,
            row.get("tax_id") or None,
        )
    except ValidationFailedError as exc:
        problems.append(str(exc))
    # A provider other than the deployment's default is named on the customer, so that its
    # renewals are charged there (docs/razorpay.md).
    if provider != DEFAULT_PROVIDER:
        try:
            customer.provider = validate_provider(provider)
        except ValidationFailedError as exc:
            problems.append(str(exc))
    if not valid_address(customer.email):
        problems.append(f"email {customer.email!r} is not an address Tenure can write to")
    locale = row.get("locale") or "en"
    if locale not in SUPPORTED_LOCALES:
        problems.append(f"locale {locale!r} is not one of {', '.join(SUPPORTED_LOCALES)}")
    customer.locale = locale
    try:
        customer.timezone = validate_timezone(row.get("timezone") or "UTC")
    except DomainError as exc:
        problems.append(str(exc))
    if customer.default_payment_method and card_number_like(customer.default_payment_method):
        problems.append(CARD_NUMBER_REFUSAL)
        customer.default_payment_method = None
    if customer.default_payment_method and not customer.provider_customer_id:
        problems.append("payment_method needs the provider_customer_id it belongs to")
    entry = CustomerEntry(customer=customer, origin=origin, provider=provider, problems=problems)
    if customer.default_payment_method:
        method = PaymentMethod(customer.default_payment_method, cus_id, provider, created)
        entry.payment_methods.append(method)
    return entry


def _terms(sub_id: str, origin: str, row: Row, plans: Mapping[str, PlanEntry]) -> SubscriptionTerms:
    status = _read(row, "status", lambda s: _STATUSES[s.lower()], "trialing, active, paused")
    entry = plans.get(row["plan_id"])
    if entry is None or entry.plan is None:
        raise _BadRow(f"its plan {row['plan_id']!r} is not a usable row of plans.csv")
    start = _required_moment(row, "current_period_start")
    anchor = _required_moment(row, "billing_anchor")
    return SubscriptionTerms(
        id=sub_id,
        customer_id=row["customer_id"],
        plan_id=entry.plan.id,
        status=status,
        created_at=_moment(row, "created_at") or min(anchor, start),
        anchor=anchor,
        current_period_start=start,
        current_period_end=_required_moment(row, "current_period_end"),
        trial_end=_moment(row, "trial_end"),
        cancel_at_period_end=_read(
            row, "cancel_at_period_end", _boolean, "true or false", default=False
        ),
        paused_until=_moment(row, "paused_until"),
        origin=origin,
    )


def _read[T](
    row: Row, column: str, parse: Callable[[str], T], expected: str, default: T | None = None
) -> T:
    text = row.get(column, "")
    if not text:
        if default is not None:
            return default
        raise _BadRow(f"{column} is empty")
    try:
        return parse(text)
    except UnchargedCurrencyError as exc:  # a known code: say why it is refused
        raise _BadRow(f"{column}: {exc}") from exc
    except UnknownCurrencyError as exc:
        raise _BadRow(f"{column}: unknown currency {text!r}") from exc
    except (ValueError, KeyError) as exc:
        raise _BadRow(f"{column} {text!r} is not {expected}") from exc


def _name(row: Row) -> str:
    """The row's `name` as the API takes a name it shows to customers."""
    name = row.get("name", "")
    why = display_name_refusal(name)
    if why:
        raise _BadRow(f"name {why}")
    return name


def _whole(row: Row, column: str, low: int, high: int, default: int | None = None) -> int:
    value = _read(row, column, int, "a whole number", default)
    if not low <= value <= high:
        raise _BadRow(f"{column} {value} is not from {low} to {high}")
    return value


def _moment(row: Row, column: str) -> datetime | None:
    if not row.get(column):
        return None
    return _required_moment(row, column)


def _required_moment(row: Row, column: str) -> datetime:
    moment = _read(row, column, datetime.fromisoformat, "an ISO 8601 time")
    if moment.tzinfo is None:
        raise _BadRow(f"{column} {row[column]!r} has no offset (write Z for UTC)")
    return utc(moment)


def _boolean(text: str) -> bool:
    return {"true": True, "false": False}[text.lower()]
