"""The same bytes, faster: emails are written without the email package's generator, so
they are checked against it (any name, subject, body and send time) and against the bytes
a representative sample had when the email package wrote them (every kind, en/ru/ar and a
fallback locale, zones, currencies of 0, 2 and 3 decimals, long, RTL and hostile names)."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.notices import NoticeKind
from tenure.notify.message import _POLICY, _boundary, _digest, _one_line, build_message, message_id
from tenure.notify.render import RenderedEmail, render
from tenure.notify.samples import sample_facts

DIGESTS = Path(__file__).parents[2] / "fixtures" / "emails" / "sample-digests.json"
LOCALES = ("en", "ru", "ar", "pt-BR")
ZONES = ("America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Nowhere/Unknown", "UTC")
CURRENCIES = (("USD", 1), ("JPY", 3), ("KWD", 7), ("EUR", 1000))
NAMES = (
    "Zoë Ångström",
    "Maximilian Alexander Friedrich-Wilhelm von Hohenzollern-Sigmaringen der Dritte",
    "محمد عبد الله الهاشمي",
    "Eve {amount} <b>&amp;</b>",
    "",
    "John Smith",
    "Анна Каренина",
)
BUSINESSES = ("Northwind Coffee Club", "Ünïcode Büsiness — Premium Services (Europe) Ltd.")


def sample_emails() -> Iterator[tuple[str, bytes]]:
    """(label, the message's bytes) for 40 emails."""
    n = 0
    for kind in NoticeKind:
        facts, links = sample_facts(kind)
        for locale in LOCALES:
            currency, times = CURRENCIES[n % len(CURRENCIES)]
            name = NAMES[n % len(NAMES)]
            zone, business = ZONES[n % len(ZONES)], BUSINESSES[n % len(BUSINESSES)]
            facts_n = replace(
                facts,
                customer_name=name,
                currency=currency,
                amount=None if facts.amount is None else facts.amount * times,
                tax=None if facts.tax is None else facts.tax * times,
                refund_amount=None if facts.refund_amount is None else facts.refund_amount * times,
                lines=tuple(replace(line, amount=line.amount * times) for line in facts.lines),
            )
            email = render(kind, locale, facts_n, links, timezone=zone, business_name=business)
            offset = timezone(timedelta(hours=(n % 5) - 2, minutes=30 * (n % 2)))
            message = build_message(
                email,
                to=f"customer{n}@example.com",
                to_name=name,
                sender="billing@mail.example.com",
                sender_name=business,
                sent_at=datetime(2026, 3, 1, 9, tzinfo=UTC).astimezone(offset) + timedelta(hours=n),
                notice_key=f"sub_{n:03}:{kind}:2026-03:{n % 3}",
            )
            yield f"{n:02}-{kind}-{locale}-{currency}", message.as_bytes()
            n += 1


def email_package_bytes(
    rendered: RenderedEmail,
    *,
    to: str,
    to_name: str,
    sender: str,
    sender_name: str,
    sent_at: datetime,
    notice_key: str,
) -> bytes:
    """The message as the email package builds and writes it (how build_message did)."""
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = Address(display_name=_one_line(sender_name), addr_spec=sender)
    msg["To"] = Address(display_name=_one_line(to_name), addr_spec=to)
    msg["Subject"] = _one_line(rendered.subject)
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = message_id(notice_key, sent_at, sender)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Tenure-Notice"] = _one_line(notice_key)
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    msg.set_boundary(_boundary(_digest(notice_key, sent_at), rendered.text, rendered.html))
    msg["Content-Language"] = rendered.locale
    return msg.as_bytes()


def test_the_sample_has_the_bytes_the_email_package_wrote() -> None:
    expected = json.loads(DIGESTS.read_text(encoding="utf-8"))
    got = {label: hashlib.sha256(data).hexdigest() for label, data in sample_emails()}
    assert got.keys() == expected.keys()
    assert [label for label in got if got[label] != expected[label]] == []


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=90)
_WORDS = st.one_of(
    st.from_regex(r"[A-Za-z0-9'-]{1,10}", fullmatch=True),
    st.from_regex(r"[À-ÿА-яا-ي一-龥'-]{1,10}", fullmatch=True),
)
_NAMES = st.one_of(
    _TEXT,
    st.lists(_WORDS, min_size=1, max_size=7).map(" ".join),
    st.from_regex(r"[A-Za-z'-]{1,12}( [A-Za-z'-]{1,12}){0,5}", fullmatch=True),
    st.from_regex(r"[À-ÿА-яا-ي-]{1,12}( [À-ÿА-яا-ي-]{1,12}){0,5}", fullmatch=True),
)
_ADDRESSES = st.sampled_from(
    ["a@b.example", "zoe.angstrom+billing@mail.example.com", f"{'x' * 60}@example.com"]
)
_BODIES = st.one_of(
    _TEXT,
    st.text(st.characters(codec="ascii", exclude_categories=("Cs",)), max_size=400),
    st.lists(st.sampled_from(["Hello,", "x" * 80, "Zoë =?", "مرحبا ", "\r\n", ""])).map("\n".join),
)


@settings(deadline=None)
@given(
    to_name=_NAMES,
    sender_name=_NAMES,
    to=_ADDRESSES,
    subject=st.one_of(_TEXT, st.from_regex(r"[ -~]{0,90}", fullmatch=True)),
    text=_BODIES,
    html=_BODIES,
    locale=st.sampled_from(["en", "ru", "ar"]),
    notice_key=st.one_of(st.just("sub_1:receipt:2026-03:0"), _TEXT),
    minutes=st.integers(-14 * 60, 14 * 60),
    seconds=st.sampled_from([0, 0, 30]),
)
def test_any_email_has_the_bytes_the_email_package_writes(
    to_name: str,
    sender_name: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    locale: str,
    notice_key: str,
    minutes: int,
    seconds: int,
) -> None:
    zone = timezone(timedelta(minutes=minutes, seconds=seconds))
    rendered = RenderedEmail(subject, html, text, locale, ())
    arguments = {
        "to": to,
        "to_name": to_name,
        "sender": "billing@example.com",
        "sender_name": sender_name,
        "sent_at": datetime(2026, 3, 1, 9, 15, tzinfo=UTC).astimezone(zone),
        "notice_key": notice_key,
    }
    built = build_message(rendered, **arguments)
    assert built.as_bytes() == email_package_bytes(rendered, **arguments)
    # Read back, its headers are the ones the email package's message gives (SES reads them).
    reference = EmailMessage(policy=_POLICY)
    reference["From"] = Address(
        display_name=_one_line(sender_name), addr_spec="billing@example.com"
    )
    reference["To"] = Address(display_name=_one_line(to_name), addr_spec=to)
    assert str(built["From"]) == str(reference["From"])


def test_a_message_changed_after_it_was_built_is_written_as_changed() -> None:
    facts, links = sample_facts(NoticeKind.RECEIPT)
    email = render(NoticeKind.RECEIPT, "en", facts, links, timezone="UTC", business_name="Shop")
    built = build_message(
        email,
        to="a@b.example",
        to_name="Ann",
        sender="billing@example.com",
        sender_name="Shop",
        sent_at=datetime(2026, 3, 1, tzinfo=UTC),
        notice_key="sub_1:receipt:2026-03:0",
    )
    before = built.as_bytes()
    built["X-Campaign"] = "spring"
    after = built.as_bytes()
    assert b"X-Campaign: spring\n" in after
    assert after.replace(b"X-Campaign: spring\n", b"") == before


def test_the_quick_checks_for_unclean_text_know_every_character_the_clean_up_changes() -> None:
    import sys
    import unicodedata

    from tenure.notify import message, render

    breaking = {
        chr(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) in ("Cc", "Zl", "Zp")
    }
    unclean = breaking | {chr(c) for c in render._BIDI_CONTROLS}
    every = [chr(c) for c in range(sys.maxunicode + 1)]
    assert {ch for ch in every if message._BREAKING.search(ch)} == breaking
    assert {ch for ch in every if render._UNCLEAN.search(ch)} == unclean
