"""Money, dates and percents as a customer's language writes them (Babel), for the emails
and the customer pages: each cached, as a run shows the same few over and over."""

import copy
import re
import unicodedata
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, format_percent, parse_pattern

from tenure.domain.money import InvalidAmountError, Money, UnknownCurrencyError, exponent

RTL_LOCALES = frozenset({"ar"})


class RenderError(Exception):
    """The email cannot be rendered as it should read: a missing fact, link or message."""


@lru_cache(maxsize=64)
def _currency_pattern(locale: str, digits: int) -> NumberPattern:
    # CLDR's display precision differs from ISO's for some currencies (IQD shows 0 digits,
    # has 3); the amount is stored in ISO minor units, so show exactly those digits.
    pattern = copy.copy(parse_pattern(Locale.parse(locale).currency_formats["standard"]))
    pattern.frac_prec = (digits, digits)
    return pattern


@lru_cache(maxsize=4096)
def format_money(amount_minor: int, currency: str, locale: str) -> str:
    """`amount_minor` of `currency` as the locale writes it (1250 USD in ru: "12,50 $").

    Cached: a run shows the same few prices over and over, and Babel takes about 0.1 ms
    for each (it looks up the currency's plural name even when the pattern shows none)."""
    try:
        money = Money(amount_minor, currency)
        digits = exponent(money.currency)
    except (UnknownCurrencyError, InvalidAmountError) as exc:
        raise RenderError(str(exc)) from exc
    text = _currency_pattern(locale, digits).apply(
        money.to_decimal(), Locale.parse(locale), currency=money.currency, currency_digits=False
    )
    return _close_latin_symbol(text) if locale in RTL_LOCALES else text


def _close_latin_symbol(text: str) -> str:
    """In right-to-left text a Latin symbol ending in a neutral sign ("US$", "JP¥") splits
    apart and shows as "$US". A left-to-right mark after it keeps the symbol whole."""
    if not text or unicodedata.bidirectional(text[-1]) in ("L", "R", "AL"):
        return text
    for ch in reversed(text):
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return text
        if kind == "L":
            return text + "\u200e"
    return text


_WIDE_MONTH = re.compile(r"(?<![ML])([ML])\1\1(?![ML])")


def local_day(moment: datetime, zone: tzinfo | None) -> date:
    """The calendar day `moment` falls on where the customer is (UTC when unknown)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone or UTC).date()


@lru_cache(maxsize=1024)
def long_date(day: date, locale: str) -> str:
    """A day as the locale writes it in full ("March 14, 2026"); cached, as the prices."""
    return str(format_date(day, format="long", locale=locale))


@lru_cache(maxsize=1024)
def format_period(start: date, end: date, locale: str) -> str:
    """Two days as the locale writes a range, months in full and the shared year once
    ("January 31 – February 28, 2026", "31 января — 28 февраля 2026 г.").

    CLDR has range patterns for abbreviated months only (yMMMd); the same pattern with the
    month written out is what each locale's long date uses, so the month is widened."""
    if start == end:
        return long_date(start, locale)
    if start > end:
        raise RenderError(f"a period cannot end ({end}) before it starts ({start})")
    loc = Locale.parse(locale)
    parts = loc.interval_formats["yMMMd"]
    field = "y" if start.year != end.year else "M" if start.month != end.month else "d"
    first, second = (_WIDE_MONTH.sub(r"\1\1\1\1", part) for part in parts[field])
    return str(format_date(start, first, locale=loc)) + str(format_date(end, second, locale=loc))


@lru_cache(maxsize=256)
def format_percent_off(percent: str, locale: str) -> str:
    """A percent given as text ("12.5") as the locale writes it ("12,5 %" in ru)."""
    try:
        ratio = Decimal(percent) / 100
    except (InvalidOperation, ValueError) as exc:
        raise RenderError(f"percent {percent!r} is not a number") from exc
    return str(format_percent(ratio, locale=locale, decimal_quantization=False))
