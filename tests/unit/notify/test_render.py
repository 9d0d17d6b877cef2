"""Customer emails: every kind in every language, money and dates as the locale writes them,
escaping, fallbacks and the errors that stop a broken email from going out."""

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency
from jinja2 import ChoiceLoader, DictLoader

from tenure.domain.notices import EmailFacts, LineFact, NoticeKind
from tenure.notify import render as rendering
from tenure.notify.render import LOCALES_DIR, RenderedEmail, RenderError, render
from tenure.notify.samples import SAMPLE_TIMEZONE, sample_facts

SAMPLE_BUSINESS = "Northwind Coffee Club"

LOCALES = ("en", "ru", "ar")
LEFTOVER = re.compile(r"\{\w*\}|\{\{|\}\}|\{%|%\}|\{#|#\}")


def render_sample(kind: NoticeKind | str, locale: str = "en", **changes: object):
    facts, links = sample_facts(kind)
    return render(
        NoticeKind(kind),
        locale,
        replace(facts, **changes),
        links,
        timezone=SAMPLE_TIMEZONE,
        business_name=SAMPLE_BUSINESS,
    )


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_kind_renders_in_every_locale_with_nothing_left_unfilled(
    kind: NoticeKind, locale: str
) -> None:
    email = render_sample(kind, locale)
    assert email.locale == locale and email.warnings == ()
    for part in (email.subject, email.html, email.text):
        assert not LEFTOVER.search(part), LEFTOVER.search(part)
        assert "{" not in part and "}" not in part  # inline CSS only: no braces at all
    assert email.subject and "\n" not in email.subject
    assert f'<html lang="{locale}"' in email.html
    assert email.html.count("<html") == 1 and "</html>" in email.html
    assert SAMPLE_BUSINESS in email.text


def test_the_catalogs_translate_every_english_message_with_the_same_placeholders() -> None:
    def placeholders(text: str) -> set[str]:
        return set(re.findall(r"\{(\w+)\}", text))

    en = json.loads((LOCALES_DIR / "en.json").read_text())
    for locale in ("ru", "ar"):
        other = json.loads((LOCALES_DIR / f"{locale}.json").read_text())
        assert other.keys() == en.keys(), locale
        for key, text in en.items():
            assert placeholders(other[key]) == placeholders(text), (locale, key)
            # Translated, not copied, unless it holds nothing but placeholders and commas.
            wording = re.sub(r"\{\w+\}|[\s,]", "", text)
            assert other[key] != text or not wording, (locale, key)


@pytest.mark.parametrize("locale", ["ru", "ar"])
def test_the_renewal_shows_amounts_and_date_as_the_locale_writes_them(locale: str) -> None:
    email = render_sample(NoticeKind.UPCOMING_RENEWAL, locale)
    total = format_currency(Decimal("24.30"), "USD", locale=locale)
    when = format_date(date(2026, 3, 14), format="long", locale=locale)
    for part in (email.html, email.text):
        assert total in part
        assert format_currency(Decimal("25.00"), "USD", locale=locale) in part  # the plan
        assert format_currency(Decimal("-2.50"), "USD", locale=locale) in part  # discount
        assert format_currency(Decimal("1.80"), "USD", locale=locale) in part  # tax
        assert when in part
    assert when in email.subject
    assert "$24.30" not in email.html  # not the English form


def test_the_russian_email_reads_in_russian_with_one_period_after_the_year() -> None:
    email = render_sample(NoticeKind.UPCOMING_RENEWAL, "ru")
    assert "Здравствуйте, Zoë Ångström!" in email.text
    assert "Итого" in email.html and "Total" not in email.html
    assert "г.." not in email.text and "г.." not in email.html


def test_a_name_with_markup_is_escaped_in_html_and_kept_verbatim_on_one_line_in_text() -> None:
    name = "<script>alert(1)</script>\nUpdate card: https://evil.example {amount}"
    email = render_sample(NoticeKind.PAYMENT_FAILED, "en", customer_name=name)
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    greeting = next(line for line in email.text.splitlines() if line.startswith("Hello"))
    assert greeting == (
        "Hello <script>alert(1)</script> Update card: https://evil.example {amount},"
    )
    assert not any(line.startswith("Update card: https://evil") for line in email.text.splitlines())


def test_bidi_overrides_in_a_name_are_dropped_so_it_cannot_reorder_the_text() -> None:
    email = render_sample(NoticeKind.RECEIPT, "ar", customer_name="Eve\u202egpj.exe\u2066x\u2069")
    for part in (email.html, email.text):
        assert not any(ch in part for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2069")
        assert "Evegpj.exex" in part
    assert "\u200f" in email.text  # Babel's own right-to-left marks stay


def test_line_descriptions_and_plan_names_are_escaped_too() -> None:
    email = render_sample(
        NoticeKind.RECEIPT,
        plan_name='Gold "<b>"',
        lines=(LineFact("<img src=x onerror=alert(1)>", 2250),),
    )
    assert "<img" not in email.html and "&lt;img src=x onerror=alert(1)&gt;" in email.html
    assert "<b>" not in email.html
    assert "<img src=x onerror=alert(1)>" in email.text


def test_arabic_is_right_to_left_and_right_aligned_and_the_others_left_to_right() -> None:
    ar = render_sample(NoticeKind.UPCOMING_RENEWAL, "ar")
    assert '<html lang="ar" dir="rtl">' in ar.html
    assert "text-align:right" in ar.html and "text-align:left" in ar.html  # amounts at the end
    assert "direction:rtl" in ar.html
    for locale in ("en", "ru"):
        other = render_sample(NoticeKind.UPCOMING_RENEWAL, locale)
        assert f'<html lang="{locale}" dir="ltr">' in other.html
        assert "direction:ltr" in other.html


def test_arabic_amounts_with_a_latin_symbol_end_with_a_left_to_right_mark() -> None:
    ar = render_sample(NoticeKind.UPCOMING_RENEWAL, "ar")
    assert format_currency(Decimal("24.30"), "USD", locale="ar") + "\u200e" in ar.text


def test_emails_need_no_external_resources() -> None:
    for kind in NoticeKind:
        html = render_sample(kind, "ar").html
        assert "<style" not in html and "<link" not in html and "<script" not in html
        assert "<img" not in html and "url(" not in html


def test_an_unknown_locale_renders_in_english_with_a_warning() -> None:
    email = render_sample(NoticeKind.UPCOMING_RENEWAL, "xx")
    assert email.locale == "en"
    assert email.warnings == ("unknown locale 'xx', using en",)
    assert email.subject == render_sample(NoticeKind.UPCOMING_RENEWAL, "en").subject


def test_a_regional_locale_uses_its_language_without_a_warning() -> None:
    email = render_sample(NoticeKind.RECEIPT, "ru_RU")
    assert email.locale == "ru" and email.warnings == ()


def test_a_message_missing_in_russian_falls_back_to_english_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(rendering.catalog("ru"), "upcoming_renewal.intro")
    email = render_sample(NoticeKind.UPCOMING_RENEWAL, "ru")
    when = format_date(date(2026, 3, 14), format="long", locale="ru")
    assert f"Your Pro subscription will renew on {when} On that day" in email.text
    assert "Итого" in email.text  # the rest stays Russian
    assert email.warnings == ("message 'upcoming_renewal.intro' missing in ru, using en",)


def test_a_translation_with_an_unknown_placeholder_falls_back_to_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(rendering.catalog("ar"), "common.total", "الإجمالي {totl}")
    email = render_sample(NoticeKind.RECEIPT, "ar")
    assert "Total" in email.html
    assert any("common.total" in w for w in email.warnings)


def test_a_message_missing_in_english_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(rendering.catalog("en"), "common.total")
    with pytest.raises(RenderError, match=r"common\.total"):
        render_sample(NoticeKind.RECEIPT, "ru")


def test_an_undefined_template_variable_is_a_render_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = rendering.environment()
    broken = real.overlay(
        loader=ChoiceLoader([DictLoader({"receipt.html": "{{ no_such_fact }}"}), real.loader])
    )
    monkeypatch.setattr(rendering, "environment", lambda: broken)
    with pytest.raises(RenderError, match="no_such_fact"):
        render_sample(NoticeKind.RECEIPT)


def test_a_missing_required_link_is_an_error_not_a_broken_href() -> None:
    facts, links = sample_facts(NoticeKind.UPCOMING_RENEWAL)
    del links["cancel"]
    with pytest.raises(RenderError, match="cancel"):
        render(
            NoticeKind.UPCOMING_RENEWAL,
            "en",
            facts,
            links,
            timezone="UTC",
            business_name="B",
        )


def card_expiring_with_card_link(url: str) -> RenderedEmail:
    """The sample card-expiring email in English, its update-card link set to `url`."""
    facts, links = sample_facts(NoticeKind.CARD_EXPIRING)
    return render(
        NoticeKind.CARD_EXPIRING,
        "en",
        facts,
        {**links, "update_card": url},
        timezone="UTC",
        business_name="B",
    )


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "/pages/card?t=x", "https://x.example/a b", ""]
)
def test_a_link_that_is_not_an_http_url_is_an_error(url: str) -> None:
    with pytest.raises(RenderError, match="update_card"):
        card_expiring_with_card_link(url)


def test_urls_are_escaped_inside_attributes() -> None:
    url = 'https://billing.example.com/pages/card?t=a&b="><script>'
    email = card_expiring_with_card_link(url)
    assert 'href="https://billing.example.com/pages/card?t=a&amp;b=&#34;&gt;&lt;script&gt;"' in (
        email.html
    )
    assert url in email.text


def test_a_missing_fact_is_an_error_naming_it() -> None:
    with pytest.raises(RenderError, match="amount"):
        render_sample(NoticeKind.UPCOMING_RENEWAL, amount=None)


def test_yen_amounts_have_no_decimals_and_dinar_amounts_three() -> None:
    yen = render_sample(NoticeKind.RECEIPT, currency="JPY", amount=1500, lines=(), tax=None)
    assert format_currency(1500, "JPY", locale="en") == "¥1,500"
    assert "¥1,500" in yen.html and "1,500.00" not in yen.html
    dinar = render_sample(NoticeKind.RECEIPT, currency="KWD", amount=12345, lines=(), tax=None)
    assert format_currency(Decimal("12.345"), "KWD", locale="en") in dinar.text


def test_iso_minor_units_are_shown_even_where_cldr_rounds_them_away() -> None:
    # CLDR displays IQD without decimals; 1234 minor units are 1.234 dinars, not 1.
    email = render_sample(NoticeKind.RECEIPT, currency="IQD", amount=1234, lines=(), tax=None)
    assert "1.234" in email.text


def test_a_date_near_midnight_is_shown_in_the_customers_time_zone() -> None:
    facts, links = sample_facts(NoticeKind.UPCOMING_RENEWAL)
    early = replace(facts, when=datetime(2026, 3, 1, 2, 0, tzinfo=UTC))

    def shown(zone: str) -> str:
        return render(
            NoticeKind.UPCOMING_RENEWAL, "en", early, links, timezone=zone, business_name="B"
        ).text

    assert "February 28, 2026" in shown("America/Los_Angeles")
    assert "March 1, 2026" not in shown("America/Los_Angeles")
    assert "March 1, 2026" in shown("Europe/Berlin")


def test_an_unknown_time_zone_shows_utc_dates_with_a_warning() -> None:
    facts, links = sample_facts(NoticeKind.RECEIPT)
    email = render(
        NoticeKind.RECEIPT, "en", facts, links, timezone="Mars/Olympus", business_name="B"
    )
    assert "March 1, 2026" in email.text
    assert email.warnings == ("unknown time zone 'Mars/Olympus', dates shown in UTC",)


def test_payment_failed_escalates_from_a_retry_date_to_the_last_attempt() -> None:
    first = render_sample(NoticeKind.PAYMENT_FAILED)
    assert "We will try again automatically on March 5, 2026" in first.text
    second = render_sample(NoticeKind.PAYMENT_FAILED, attempt=2)
    assert "We will try once more on March 5, 2026" in second.text
    assert second.subject != first.subject
    last = render_sample(
        NoticeKind.PAYMENT_FAILED, attempt=4, final_attempt=True, next_attempt_at=None
    )
    assert last.subject.startswith("Final notice")
    assert "This was our last attempt" in last.text and "try again" not in last.text
    for email in (first, second, last):
        assert "Update card: https://billing.example.com/pages/card?t=" in email.text


def test_a_hard_decline_asks_for_a_new_card_and_promises_no_retry() -> None:
    email = render_sample(NoticeKind.PAYMENT_FAILED, decline_class="hard")
    assert email.subject == "Please add a new card for Pro"
    assert "can no longer be used" in email.text
    assert "Add a new card: https://billing.example.com/pages/card?t=" in email.text
    assert "March 5" not in email.text


def test_payment_action_required_links_to_the_confirmation_page() -> None:
    email = render_sample(NoticeKind.PAYMENT_ACTION_REQUIRED)
    assert "Confirm payment: https://billing.example.com/pages/confirm?t=" in email.text
    assert "Please confirm it by March 8, 2026." in email.text


def test_card_expiring_names_the_card_and_the_month() -> None:
    email = render_sample(NoticeKind.CARD_EXPIRING, "ru")
    assert "Mastercard" in email.subject and "4444" in email.subject
    assert format_skeleton("yMMMM", date(2026, 3, 1), locale="ru") in email.text


def test_installment_due_says_which_installment_and_how_much() -> None:
    email = render_sample(NoticeKind.INSTALLMENT_DUE)
    assert "Installment 2 of 4 of your payment plan, $125.00, is due on March 20, 2026." in (
        email.text
    )


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_installment_due_shows_amount_and_date_as_the_customers_language_writes_them(
    locale: str,
) -> None:
    email = render_sample(NoticeKind.INSTALLMENT_DUE, locale)
    amount = format_currency(Decimal("125.00"), "USD", locale=locale)
    when = format_date(date(2026, 3, 20), format="long", locale=locale)
    for part in (email.html, email.text):
        assert amount in part and when in part
    assert when in email.subject
    if locale == "ar":
        assert "$125.00" not in email.text and "القسط" in email.text
    # An instalment is no subscription: the footer says why the customer hears from us.
    assert "subscription" not in email.text and "اشتراك" not in email.text


def test_refund_receipt_tells_a_full_refund_from_a_partial_one() -> None:
    partial = render_sample(NoticeKind.REFUND_RECEIPT)
    assert "$12.15 of the $24.30" in partial.text
    full = render_sample(NoticeKind.REFUND_RECEIPT, refund_amount=2430)
    assert "the full amount, $24.30" in full.text


def test_a_voluntary_and_an_involuntary_end_are_worded_differently() -> None:
    voluntary = render_sample(NoticeKind.SUBSCRIPTION_ENDED)
    involuntary = render_sample(NoticeKind.SUBSCRIPTION_ENDED, ended_reason="involuntary")
    assert "As you requested" in voluntary.text
    assert "couldn't collect the payment" in involuntary.text
    assert voluntary.subject != involuntary.subject
    for email in (voluntary, involuntary):
        assert "Resubscribe: https://billing.example.com/pages/subscription?t=" in email.text


def test_tax_included_in_the_lines_is_a_note_not_a_row() -> None:
    email = render_sample(NoticeKind.RECEIPT, lines=(LineFact("Pro plan, monthly", 2430),), tax=405)
    assert "Includes tax of $4.05" in email.text
    assert "Tax: $4.05" not in email.text and email.warnings == ()


def test_lines_that_do_not_add_up_to_the_total_are_flagged() -> None:
    email = render_sample(NoticeKind.RECEIPT, amount=9999)
    assert any("do not add up" in w for w in email.warnings)


def test_an_empty_customer_name_gets_a_greeting_without_a_name() -> None:
    email = render_sample(NoticeKind.RECEIPT, "ar", customer_name="  ")
    assert email.text.startswith("مرحبًا،\n")


def test_sample_facts_cover_every_kind_with_a_non_ascii_name() -> None:
    for kind in NoticeKind:
        facts, links = sample_facts(kind)
        assert isinstance(facts, EmailFacts) and not facts.customer_name.isascii()
        assert set(links) == {
            "update_card",
            "confirm_payment",
            "pause",
            "cancel",
            "resubscribe",
            "collections",
            "manage",
        }


def test_the_package_data_ships_every_template_and_catalog() -> None:
    # pip install / the wheel copy only what pyproject names; a file the globs miss would
    # be absent from an installed Tenure and fail there, not here.
    import tomllib
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    patterns = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["tenure.notify"]
    package = LOCALES_DIR.parent
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    needed = {
        path
        for folder in ("templates", "locales")
        for path in (package / folder).rglob("*")
        if path.is_file()
    }
    assert needed and needed <= shipped, sorted(str(p) for p in needed - shipped)


INSTALMENT_FAILED = {
    "plan_name": "Laptop",
    "installment_number": 2,
    "installment_count": 4,
    "installment_plan": True,
}


@pytest.mark.parametrize("locale", ["en", "ru", "ar"])
@pytest.mark.parametrize(
    "attempt",
    [
        {"attempt": 1, "decline_class": "soft"},
        {"attempt": 2, "decline_class": "soft"},
        {"attempt": 1, "decline_class": "hard"},
        {"attempt": 3, "decline_class": "soft", "final_attempt": True, "next_attempt_at": None},
    ],
    ids=["first", "again", "hard", "final"],
)
def test_a_failed_instalment_is_worded_as_an_instalment_never_a_subscription(
    locale: str, attempt: dict[str, object]
) -> None:
    email = render_sample(NoticeKind.PAYMENT_FAILED, locale, **INSTALMENT_FAILED, **attempt)

    assert email.warnings == ()  # every instalment string exists in this language
    for part in (email.subject, email.text):
        assert "Laptop" in part or part is email.text
        assert "subscription" not in part.lower()
        assert "подписк" not in part.lower() and "اشتراك" not in part
    number = {"en": "instalment 2 of 4", "ru": "платёж 2 из 4", "ar": "القسط 2 من 4"}[locale]
    assert number in email.text.lower()


@pytest.mark.parametrize("locale", ["en", "ru", "ar"])
def test_an_instalment_waiting_for_the_banks_confirmation_is_worded_as_an_instalment(
    locale: str,
) -> None:
    email = render_sample(NoticeKind.PAYMENT_ACTION_REQUIRED, locale, **INSTALMENT_FAILED)

    assert email.warnings == ()
    assert "Laptop" in email.text and "/pages/confirm?t=" in email.text
    assert "subscription" not in email.text.lower()
    assert "подписк" not in email.text.lower() and "اشتراك" not in email.text


@pytest.mark.parametrize(
    ("locale", "balance", "period", "button"),
    [
        ("en", "The balance is $51.80.", "Pro, February 1", "choose how to pay"),
        ("ru", "Сумма к оплате — 51,80", "Pro, 1 февраля", "выбрать способ оплаты"),
        ("ar", "الرصيد المستحق", "Pro، 1 فبراير", "اختيار طريقة الدفع"),
    ],
)
def test_the_collections_email_explains_every_line_and_links_the_page(
    locale: str, balance: str, period: str, button: str
) -> None:
    email = render_sample(NoticeKind.COLLECTIONS_OPENED, locale)
    link = sample_facts(NoticeKind.COLLECTIONS_OPENED)[1]["collections"]
    assert "/pages/collections?t=" in link
    for part in (email.text, email.html):
        assert balance in part
        assert period in part
        assert button in part
    assert link in email.text and link.replace("&", "&amp;") in email.html
    assert email.warnings == ()
    if locale == "ar":
        assert 'dir="rtl"' in email.html


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"ended_reason": "expired"}, "unknown ended_reason 'expired'"),
        ({"ended_reason": None}, "ended_reason"),
        ({"installment_number": None}, "names the instalment that went unpaid"),
        (
            {"ended_reason": "repayment_defaulted", "installment_number": None},
            "names the instalment that went unpaid",
        ),
    ],
)
def test_a_plan_ending_that_cannot_be_worded_is_an_error(
    changes: dict[str, object], problem: str
) -> None:
    with pytest.raises(RenderError, match=re.escape(problem)):
        render_sample(NoticeKind.INSTALLMENT_PLAN_ENDED, **changes)


def test_a_defaulted_plan_without_the_card_link_is_an_error_not_a_broken_href() -> None:
    facts, links = sample_facts(NoticeKind.INSTALLMENT_PLAN_ENDED)
    del links["update_card"]
    with pytest.raises(RenderError, match="update_card"):
        render(
            NoticeKind.INSTALLMENT_PLAN_ENDED, "en", facts, links, timezone="UTC", business_name="B"
        )


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("reason", ["repayment_defaulted", "canceled", "left"])
def test_every_way_a_plan_ends_renders_in_every_locale(reason: str, locale: str) -> None:
    email = render_sample(NoticeKind.INSTALLMENT_PLAN_ENDED, locale, ended_reason=reason)
    assert email.warnings == ()
    for part in (email.subject, email.text, email.html):
        assert not LEFTOVER.search(part)
    assert (reason == "left") == ("/pages/collections" in email.text)
    if reason == "repayment_defaulted":
        assert "/pages/card" in email.text and "Laptop" not in email.subject
    if reason == "left":
        assert "/pages/card" not in email.text  # the balance is settled on its own page


@pytest.mark.parametrize("locale", LOCALES)
def test_a_receipt_names_the_invoice_by_its_legal_number_never_its_id(locale: str) -> None:
    email = render_sample(
        NoticeKind.RECEIPT, locale, invoice_number="INV-2026-000042", invoice_id="in_internal_7"
    )
    for part in (email.html, email.text):
        assert "INV-2026-000042" in part
        assert "in_internal_7" not in part


def test_a_receipt_of_an_invoice_without_a_number_names_it_by_its_period() -> None:
    email = render_sample(NoticeKind.RECEIPT, "en", invoice_number=None)
    assert "Invoice: " in email.text and "INV-" not in email.text
