"""Customer emails: a notice's facts, in the customer's language and time zone, as a subject,
an HTML part and a plain-text part.

Wording lives in the JSON catalogs under `locales/` (message id -> text with `{name}`
placeholders); layout lives in the Jinja2 templates under `templates/`. Values are formatted
first (Babel for money and dates), then inserted into the catalog text in one pass, so a
customer name holding `{amount}` or `<script>` is shown as written: escaped in the HTML part,
verbatim but on one line in the text part.
"""

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_skeleton
from babel.numbers import format_decimal
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    select_autoescape,
)
from markupsafe import Markup, escape

from tenure.domain.invoices import InvoiceLine
from tenure.domain.notices import EmailFacts, LineFact, NoticeKind
from tenure.notify.formatting import (  # the formatting helpers are imported from here too
    RTL_LOCALES,
    RenderError,
    format_money,
    format_percent_off,
    format_period,
    local_day,
    long_date,
)
from tenure.notify.template_context import EmailEnvironment, direct

SUPPORTED_LOCALES = ("en", "ru", "ar")
FALLBACK_LOCALE = "en"
LINK_KEYS = ("update_card", "confirm_payment", "pause", "cancel", "resubscribe", "manage")

_HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = _HERE / "templates"
LOCALES_DIR = _HERE / "locales"

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_UNSAFE_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
# What `_clean` replaces or drops: control characters (Cc), line and paragraph separators
# (Zl, Zp) and the bidi controls.
_UNCLEAN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_FONTS = {  # trusted constants, inserted into a style attribute as they are
    "ltr": Markup("-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"),
    "rtl": Markup("Tahoma, 'Segoe UI', 'Noto Sans Arabic', Arial, sans-serif"),
}
_CARD_BRANDS = {
    "amex": "American Express",
    "american_express": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "mir": "Mir",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str
    locale: str  # the locale actually used (the fallback, when the asked one is unknown)
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Spec:
    facts: tuple[str, ...]  # EmailFacts fields that must not be None
    links: tuple[str, ...] = ()  # links the email cannot go without
    optional_links: tuple[str, ...] = ()  # shown when given


SPECS: dict[NoticeKind, _Spec] = {
    NoticeKind.UPCOMING_RENEWAL: _Spec(
        ("plan_name", "amount", "when"), links=("update_card", "pause", "cancel")
    ),
    NoticeKind.TRIAL_ENDING: _Spec(
        ("plan_name", "amount", "when"), links=("cancel",), optional_links=("update_card",)
    ),
    NoticeKind.PAYMENT_FAILED: _Spec(("plan_name", "amount"), links=("update_card",)),
    NoticeKind.PAYMENT_ACTION_REQUIRED: _Spec(("plan_name", "amount"), links=("confirm_payment",)),
    NoticeKind.CARD_EXPIRING: _Spec(
        ("card_brand", "card_last4", "card_exp_month", "card_exp_year"), links=("update_card",)
    ),
    NoticeKind.PAUSE_ENDING: _Spec(
        ("plan_name", "amount", "when"),
        links=("pause", "cancel"),
        optional_links=("update_card",),
    ),
    NoticeKind.INSTALLMENT_DUE: _Spec(
        ("amount", "when", "installment_number", "installment_count"),
        optional_links=("update_card",),
    ),
    NoticeKind.RECEIPT: _Spec(("amount", "when")),
    NoticeKind.REFUND_RECEIPT: _Spec(("refund_amount", "period_start", "period_end")),
    NoticeKind.SUBSCRIPTION_ENDED: _Spec(
        ("plan_name", "when", "ended_reason"), links=("resubscribe",)
    ),
    # `when` is the deadline: the end of dunning, when the subscription stops without a card
    NoticeKind.CARD_REQUIRED: _Spec(("plan_name", "amount", "when"), links=("update_card",)),
    # `amount` is the case's balance; its lines are the owed invoices' lines, each with the
    # period it paid for
    NoticeKind.COLLECTIONS_OPENED: _Spec(("plan_name", "amount"), links=("collections",)),
    # `plan_name` is the plan's description, `amount` what it did not collect (the case's
    # balance for a repayment plan left), `when` when it ended; a defaulted plan's
    # `installment_number` is the instalment that went unpaid. The card page, or the
    # collections page for a repayment plan left.
    NoticeKind.INSTALLMENT_PLAN_ENDED: _Spec(
        ("plan_name", "amount", "when", "ended_reason", "installment_count"),
        optional_links=("update_card", "collections"),
    ),
    # `when` is the debit's moment (the over-limit variant: the day it was due); the card
    # link manages the mandate, the cancel link (a subscription's) stops the debits
    NoticeKind.PRE_DEBIT: _Spec(
        ("amount", "when"), links=("update_card",), optional_links=("cancel",)
    ),
    # `amount` is the new price of a period, `old_amount` the one paid until `when`, the
    # first renewal at the new price; the manage page changes the plan, cancel stops it
    NoticeKind.PRICE_CHANGE: _Spec(
        ("plan_name", "amount", "old_amount", "when"),
        links=("cancel",),
        optional_links=("manage",),
    ),
}


# --- catalogs and templates, loaded once per process --------------------------------------


@cache
def catalog(locale: str) -> dict[str, str]:
    """The message catalog of a supported locale (cached; tests may patch the returned dict)."""
    path = LOCALES_DIR / f"{locale}.json"
    try:
        messages = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RenderError(f"cannot load the {locale!r} catalog {path}: {exc}") from exc
    if not isinstance(messages, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in messages.items()
    ):
        raise RenderError(f"catalog {path} must map message ids to strings")
    return messages


@lru_cache(maxsize=1)
def environment() -> Environment:
    return EmailEnvironment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        # Autoescape the HTML templates only: the text part is plain text, never markup.
        autoescape=select_autoescape(
            enabled_extensions=("html",), default_for_string=False, default=False
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


# --- one rendering -----------------------------------------------------------------------


def _clean(value: object) -> str:
    """One line of plain text: control characters (newlines included) become spaces, so a
    value cannot start a new line of the text part or a header, and bidi embeddings,
    overrides and isolates are dropped, so a name cannot reorder the text around it. Other
    spacing and the bidi marks Babel puts in amounts (RLM, LRM) are kept."""
    text = str(value)
    if not _UNCLEAN.search(text):  # the common case: nothing to replace or drop
        return text.strip()
    text = text.translate(_BIDI_CONTROLS)
    return "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text
    ).strip()


def _resolve_locale(asked: str) -> tuple[str, str | None]:
    primary = (asked or "").strip().replace("_", "-").split("-")[0].lower()
    if primary in SUPPORTED_LOCALES:
        return primary, None
    return FALLBACK_LOCALE, f"unknown locale {asked!r}, using {FALLBACK_LOCALE}"


def _zone(name: str) -> tuple[ZoneInfo | None, str | None]:
    try:
        return ZoneInfo(name), None
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return None, f"unknown time zone {name!r}, dates shown in UTC"


@lru_cache(maxsize=4096)
def _parsed(source: str, html: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A catalog text split once into its literal pieces (escaped for HTML) and the
    placeholders between them: `literals[i]`, `names[i]`, ..., `literals[-1]`."""
    pieces = _PLACEHOLDER.split(source)
    literals = tuple(str(escape(piece)) if html else piece for piece in pieces[::2])
    return literals, tuple(pieces[1::2])


def _insert(source: str, values: Mapping[str, str], html: bool) -> str:
    """Put the values into `source` in one pass: inserted text is never scanned for
    placeholders itself. A value ending in a period ("2026 г.", "Inc.") swallows the
    sentence's own period right after it, as typography wants."""
    return _inserted(*_parsed(source, html), values, html)


def _inserted(
    literals: tuple[str, ...], names: tuple[str, ...], values: Mapping[str, str], html: bool
) -> str:
    if not names:  # most of a layout's messages: nothing to put in
        return literals[0]
    out = [literals[0]]
    for name, literal in zip(names, literals[1:], strict=True):
        value = values[name]
        if html:
            out.append(_escaped(value) if type(value) is str else str(escape(value)))
        else:
            out.append(value)
        if value.endswith(".") and literal.startswith("."):
            literal = literal[1:]
        out.append(literal)
    return "".join(out)


@lru_cache(maxsize=4096)
def _escaped(value: str) -> str:
    """A placeholder's value escaped for HTML, once per distinct text: an email puts its
    name, business, amounts and dates into a dozen messages, and the next email mostly the
    same ones. Plain `str` only (the caller checks): a Markup equal to it must not be
    answered with the str's escaping."""
    return str(escape(value))


@dataclass
class _Messages:
    """Catalog lookups for one rendering; records the fallbacks it had to take."""

    locale: str
    values: dict[str, str]
    warnings: dict[str, None] = field(default_factory=dict)  # ordered, without repeats

    def _fill(self, key: str, values: Mapping[str, str], html: bool) -> str:
        """`key`'s text in the locale, else in en (with a warning): the locale's text is
        used when it exists and every placeholder it names has a value. The en text must
        exist even when the locale's is used (a catalog missing it is broken)."""
        fallback = catalog(FALLBACK_LOCALE).get(key)
        if self.locale != FALLBACK_LOCALE:
            own = catalog(self.locale).get(key)
            if own is None:
                self.warnings[f"message {key!r} missing in {self.locale}, using en"] = None
            elif fallback is not None:
                literals, names = _parsed(own, html)
                missing = [n for n in names if n not in values]
                if not missing:
                    return _inserted(literals, names, values, html)
                self.warnings[
                    f"message {key!r} in {self.locale} uses unknown {missing}, using en"
                ] = None
        if fallback is None:
            raise RenderError(f"message {key!r} is missing in the en catalog")
        literals, names = _parsed(fallback, html)
        missing = [n for n in names if n not in values]
        if missing:
            raise RenderError(f"message {key!r} needs {missing} and was not given them")
        return _inserted(literals, names, values, html)

    def _values(self, extra: Mapping[str, Any]) -> Mapping[str, str]:
        if not extra:
            return self.values
        return {**self.values, **{k: _clean(v) for k, v in extra.items()}}

    @direct
    def text(self, key: str, **extra: Any) -> str:
        return self._fill(key, self._values(extra), html=False)

    @direct
    def html(self, key: str, **extra: Any) -> Markup:
        return Markup(self._fill(key, self._values(extra), html=True))


@dataclass(frozen=True, slots=True)
class _Links:
    """The links a template may use: `link(name)` and `has_link(name)`."""

    kind: NoticeKind
    usable: dict[str, str]

    @direct
    def link(self, name: str) -> str:
        if name not in self.usable:
            raise RenderError(f"{self.kind} template uses the link {name!r}, which was not given")
        return self.usable[name]

    @direct
    def has(self, name: str) -> bool:
        return name in self.usable


@dataclass(frozen=True, slots=True)
class _Row:
    label: str
    amount: str


def _line_label(
    line: LineFact,
    messages: "_Messages",
    period: Callable[[datetime, datetime], str],
    money: Callable[[int], str] | None = None,
) -> str:
    """A line in the customer's language; the stored English text only for a line whose kind
    the catalogs do not know. `money` words an item's unit price (without it, or for tiers,
    the item shows its quantity alone)."""
    if line.label == "item" and line.plan is not None and line.quantity is not None:
        quantity = format_decimal(line.quantity, locale=messages.locale)
        if line.unit_amount is not None and money is not None:
            what = messages.text(
                "line.item", plan=line.plan, quantity=quantity, unit=money(line.unit_amount)
            )
        else:
            what = messages.text("line.item_units", plan=line.plan, quantity=quantity)
        if line.start is not None and line.end is not None:
            return messages.text(
                "common.invoice_name", plan=what, period=period(line.start, line.end)
            )
        return what
    if line.label == "plan" and line.plan is not None:
        # A plan line reads as the invoice it pays for: the plan and its period.
        if line.start is not None and line.end is not None:
            return messages.text(
                "common.invoice_name", plan=line.plan, period=period(line.start, line.end)
            )
        return _clean(line.plan)
    if line.label in ("intro_discount", "tenure_discount") and line.percent is not None:
        return messages.text(
            f"line.{line.label}", percent=format_percent_off(line.percent, messages.locale)
        )
    if line.label in ("unused_time", "remaining_time") and line.plan is not None:
        return messages.text(f"line.{line.label}", plan=line.plan)
    if line.label in ("credit_applied", "credit_carried", "case_recovered", "case_forgiven"):
        return messages.text(f"line.{line.label}")
    if line.label == "case_tax":
        return messages.text("common.tax")
    if line.label == "case_line" and line.start is not None and line.end is not None:
        # A collections case's line: what it was for and the period it paid for.
        return messages.text(
            "line.case_line",
            period=period(line.start, line.end),
            description=_clean(line.description),
        )
    if line.label == "coupon" and line.coupon is not None:
        return messages.text("line.coupon", coupon=line.coupon)
    if line.label == "points_credit" and line.points is not None:
        return messages.text(
            "line.points_credit", points=format_decimal(line.points, locale=messages.locale)
        )
    return _clean(line.description)


def _summary(
    facts: EmailFacts,
    money: Callable[[int], str],
    label: Callable[[LineFact], str],
    warnings: dict[str, None],
) -> dict[str, Any]:
    """Itemized lines, tax and total. Tax is a row of its own when the lines exclude it and a
    note under the total when they include it; lines that add up to neither are shown as
    given, with a warning, because the charge itself is what the total says."""
    lines = [_Row(label(line), money(line.amount)) for line in facts.lines]
    tax_row = tax_note = None
    if facts.lines and facts.amount is not None:
        subtotal = sum(line.amount for line in facts.lines)
        if facts.tax is not None and subtotal + facts.tax == facts.amount:
            tax_row = money(facts.tax)
        elif subtotal == facts.amount:
            tax_note = money(facts.tax) if facts.tax else None
        else:
            warnings[
                f"lines ({subtotal}) and tax ({facts.tax}) do not add up to the amount "
                f"({facts.amount})"
            ] = None
            tax_row = money(facts.tax) if facts.tax is not None else None
    elif facts.tax:
        tax_note = money(facts.tax)
    return {
        "lines": lines,
        "tax": tax_row,
        "tax_note": tax_note,
        "total": money(facts.amount) if facts.amount is not None else None,
    }


def _variant(kind: NoticeKind, facts: EmailFacts) -> str:
    if kind is NoticeKind.PAYMENT_FAILED:
        if facts.decline_class not in (None, "soft", "hard", "action_required"):
            raise RenderError(f"unknown decline_class {facts.decline_class!r}")
        if facts.final_attempt:
            return "final"
        if facts.decline_class == "hard":
            return "hard"
        return "again" if (facts.attempt or 1) > 1 else "first"
    if kind is NoticeKind.SUBSCRIPTION_ENDED:
        if facts.ended_reason not in ("voluntary", "involuntary"):
            raise RenderError(f"unknown ended_reason {facts.ended_reason!r}")
        return facts.ended_reason
    if kind is NoticeKind.INSTALLMENT_PLAN_ENDED:
        if facts.ended_reason not in ("defaulted", "repayment_defaulted", "canceled", "left"):
            raise RenderError(f"unknown ended_reason {facts.ended_reason!r}")
        defaulted = facts.ended_reason in ("defaulted", "repayment_defaulted")
        if defaulted and facts.installment_number is None:
            raise RenderError("a defaulted plan's email names the instalment that went unpaid")
        return facts.ended_reason
    if kind is NoticeKind.TRIAL_ENDING:
        # What happens at the trial's end depends on the card on file when it was planned;
        # a notice planned before that was recorded keeps the wording it always had.
        if facts.card_on_file is False:
            return "no_card"
        if facts.card_on_file and facts.card_brand and facts.card_last4:
            return "card"
        return "default"
    if kind is NoticeKind.PRE_DEBIT:
        return "over_limit" if facts.mandate_limit is not None else "default"
    if kind is NoticeKind.REFUND_RECEIPT:
        if facts.amount is None:
            return "partial_unknown"
        return "full" if facts.refund_amount == facts.amount else "partial"
    return "default"


def _subject_key(kind: NoticeKind, variant: str, installment: bool = False) -> str:
    if kind is NoticeKind.PAYMENT_FAILED:
        # An instalment is part of a payment plan, not a subscription: its own words.
        prefix = "payment_failed.installment_" if installment else "payment_failed."
        return prefix + {
            "final": "subject_final",
            "hard": "subject_hard",
            "again": "subject_again",
        }.get(variant, "subject")
    if kind in (NoticeKind.SUBSCRIPTION_ENDED, NoticeKind.INSTALLMENT_PLAN_ENDED):
        return f"{kind}.subject_{variant}"
    if kind is NoticeKind.PRE_DEBIT and variant == "over_limit":
        return "pre_debit.subject_over_limit"
    return f"{kind}.subject"


def _checked_links(kind: NoticeKind, links: Mapping[str, str]) -> dict[str, str]:
    spec = SPECS[kind]
    missing = [name for name in spec.links if not links.get(name)]
    if missing:
        raise RenderError(f"{kind} needs the link(s) {missing}")
    usable = {}
    for name in (*spec.links, *spec.optional_links):
        url = links.get(name)
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc or _UNSAFE_IN_URL.search(url):
            raise RenderError(f"link {name!r} is not an http(s) URL")
        usable[name] = url
    return usable


def render(
    kind: NoticeKind,
    locale: str,
    facts: EmailFacts,
    links: Mapping[str, str],
    *,
    timezone: str,
    business_name: str,
) -> RenderedEmail:
    """Render one notice. Raises RenderError when a fact, link or English message it needs
    is missing; falls back (and says so in `warnings`) for an unknown locale, a message
    missing in ru/ar, or an unknown time zone."""
    kind = NoticeKind(kind)
    spec = SPECS[kind]
    warnings: dict[str, None] = {}
    code, warning = _resolve_locale(locale)
    if warning:
        warnings[warning] = None
    zone, warning = _zone(timezone)
    if warning:
        warnings[warning] = None
    absent = [name for name in spec.facts if getattr(facts, name) is None]
    if absent:
        raise RenderError(f"{kind} needs the fact(s) {absent}")
    usable_links = _checked_links(kind, links)

    def money(amount_minor: int) -> str:
        return format_money(amount_minor, facts.currency, code)

    def day(moment: datetime) -> str:
        return long_date(local_day(moment, zone), code)

    def period(start: datetime, end: datetime) -> str:
        return format_period(local_day(start, zone), local_day(end, zone), code)

    def number(value: int) -> str:
        return format_decimal(value, locale=code)

    values = _placeholder_values(facts, business_name, money, day, number, code)
    messages = _Messages(code, values, warnings)
    if facts.period_start is not None and facts.period_end is not None:
        # An invoice is named by what it pays for, never by its internal id.
        named = period(facts.period_start, facts.period_end)
        plan = facts.plan_name
        values["invoice"] = (
            messages.text("common.invoice_name", plan=plan, period=named) if plan else named
        )
        if facts.installment_plan and len(facts.lines) == 1:
            # An instalment covers no period: its one line says what it is ("Instalment 2
            # of 4: Laptop"), as the invoice does.
            values["invoice"] = facts.lines[0].description
    if facts.invoice_number and "invoice" in values:
        # The legal number is what the customer's books and the seller's refer to.
        values["invoice"] = messages.text(
            "common.invoice_numbered", number=facts.invoice_number, name=values["invoice"]
        )

    links_given = _Links(kind, usable_links)
    direction = "rtl" if code in RTL_LOCALES else "ltr"
    variant = _variant(kind, facts)
    context: dict[str, Any] = {
        "kind": str(kind),
        "variant": variant,
        "facts": facts,
        "v": values,
        "summary": _summary(
            facts, money, lambda ln: _line_label(ln, messages, period, money), warnings
        ),
        "link": links_given.link,
        "has_link": links_given.has,
        "lang": code,
        "dir": direction,
        "start": "right" if direction == "rtl" else "left",
        "end": "left" if direction == "rtl" else "right",
        "font": _FONTS[direction],
    }
    try:
        subject = _clean(
            messages.text(_subject_key(kind, variant, installment=bool(facts.installment_plan)))
        )
        html = (
            environment()
            .get_template(f"{kind}.html")
            .render(context, t=messages.html, subject=subject)
        )
        text = (
            environment()
            .get_template(f"{kind}.txt")
            .render(context, t=messages.text, subject=subject)
        )
    except TemplateError as exc:  # StrictUndefined, a missing or broken template
        raise RenderError(f"{kind} ({code}): {type(exc).__name__}: {exc}") from exc
    return RenderedEmail(subject, html, text, code, tuple(warnings))


def _placeholder_values(
    facts: EmailFacts,
    business_name: str,
    money: Callable[[int], str],
    day: Callable[[datetime], str],
    number: Callable[[int], str],
    locale: str,
) -> dict[str, str]:
    """Every placeholder value the facts allow, formatted; absent facts give no value."""
    values = {"business": _clean(business_name), "name": _clean(facts.customer_name)}
    optional = {
        "plan": _shown(facts.plan_name, _clean),
        "amount": _shown(facts.amount, money),
        "tax": _shown(facts.tax, money),
        "refund": _shown(facts.refund_amount, money),
        "date": _shown(facts.when, day),
        "retry_date": _shown(facts.next_attempt_at, day),
        "brand": _shown(facts.card_brand or None, _brand),  # an empty brand is no brand
        "last4": _shown(facts.card_last4, _clean),
        "number": _shown(facts.installment_number, number),
        "count": _shown(facts.installment_count, number),
        "limit": _shown(facts.mandate_limit, money),
        "old_amount": _shown(facts.old_amount, money),
    }
    values |= {key: value for key, value in optional.items() if value is not None}
    if facts.tenure_months is not None and facts.tenure_percent is not None:
        values["months"] = number(facts.tenure_months)
        values["percent"] = format_percent_off(facts.tenure_percent, locale)
    if facts.card_exp_month is not None and facts.card_exp_year is not None:
        try:
            first = date(facts.card_exp_year, facts.card_exp_month, 1)
        except ValueError as exc:
            raise RenderError(f"card expiry {facts.card_exp_month}/{facts.card_exp_year}") from exc
        values["month"] = format_skeleton("yMMMM", first, locale=locale)
    return values


def _shown[T](fact: T | None, show: Callable[[T], str]) -> str | None:
    return None if fact is None else show(fact)


def _brand(brand: str) -> str:
    key = brand.strip().lower().replace(" ", "_")
    return _CARD_BRANDS.get(key, _clean(brand).title())


def worded_lines(
    lines: Iterable[InvoiceLine],
    start: datetime | None,
    end: datetime | None,
    locale: str,
    timezone: str = "UTC",
) -> list[tuple[str, int]]:
    """An invoice's lines (tax apart) as a receipt email words them, with their amounts: the
    customer pages show an invoice in the same words as the email about it."""
    from tenure.notify.lines import line_facts

    return worded_facts(line_facts(lines, start, end), locale, timezone)


def worded_facts(
    facts: Iterable[LineFact], locale: str, timezone: str = "UTC"
) -> list[tuple[str, int]]:
    """Line facts as an email words them, with their amounts (the collections page's lines
    read as its email's)."""
    code, _ = _resolve_locale(locale)
    zone, _ = _zone(timezone)
    messages = _Messages(code, {})

    def period(first: datetime, last: datetime) -> str:
        return format_period(local_day(first, zone), local_day(last, zone), code)

    return [(_line_label(f, messages, period), f.amount) for f in facts]
