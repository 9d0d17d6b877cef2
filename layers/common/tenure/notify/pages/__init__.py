"""The customer pages a signed link opens: Jinja2 templates (autoescaped) and their strings
in English, Russian and Arabic (right to left)."""

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from jinja2 import Environment

    from tenure.domain.invoices import Invoice

PAGES_DIR = Path(__file__).parent
LOCALES = ("en", "ru", "ar")
RTL = frozenset({"ar"})


@cache
def _environment() -> "Environment":
    # Imported here: the API function pays for Jinja2 only once a page is opened.
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(PAGES_DIR),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,  # a missing string is a bug, not a blank on the page
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _catalog() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads((PAGES_DIR / "strings.json").read_text())
    return loaded


def locale_of(value: str | None) -> str:
    base = (value or "en").replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else "en"


def strings(locale: str) -> dict[str, str]:
    """The page strings of `locale`, English where a translation is missing."""
    catalog = _catalog()
    return catalog["en"] | catalog.get(locale_of(locale), {})


def money(amount_minor: int, currency: str, locale: str) -> str:
    """Exactly as the emails write it: the same formatter, so a customer who follows a link
    from an email sees the same amount in the same form (in Arabic "US$" kept whole, never
    split into "$US" by the right-to-left text around it)."""
    from tenure.notify.render import format_money  # the pages alone pay for Babel's import

    return format_money(amount_minor, currency, locale_of(locale))


def day(moment: datetime | None, locale: str, timezone: str = "UTC") -> str:
    if moment is None:
        return ""
    from babel.dates import format_date

    local = moment.astimezone(ZoneInfo(timezone or "UTC")).date()
    return str(format_date(local, format="long", locale=locale_of(locale)))


def invoice_name(invoice: "Invoice", locale: str, timezone: str = "UTC") -> str:
    """An invoice as the emails name it: its plan and the period it pays for, in the
    customer's language and time zone ("Basic, March 1 – 31, 2026"), never its id."""
    from tenure.notify.lines import invoice_plan, line_facts
    from tenure.notify.render import format_period, local_day

    lang = locale_of(locale)
    if invoice.installment_plan_id and len(invoice.lines) == 1:
        # An instalment covers no period: its one line says what it is ("Instalment 2 of 4:
        # Laptop"), as its emails name it.
        return invoice.lines[0].description
    zone = ZoneInfo(timezone or "UTC")
    start, end = local_day(invoice.period_start, zone), local_day(invoice.period_end, zone)
    period = format_period(start, end, lang)
    plan = invoice_plan(line_facts(invoice.lines))
    return strings(lang)["invoice_name"].format(plan=plan, period=period) if plan else period


def render(template: str, locale: str, **context: Any) -> str:
    lang = locale_of(locale)
    return (
        _environment()
        .get_template(template)
        .render(
            t=strings(lang),
            lang=lang,
            dir="rtl" if lang in RTL else "ltr",
            money=lambda amount, currency: money(amount, currency, lang),
            day=lambda moment, tz="UTC": day(moment, lang, tz),
            invoice_name=lambda invoice, tz="UTC": invoice_name(invoice, lang, tz),
            **context,
        )
    )
