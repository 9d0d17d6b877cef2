"""Rendered emails as RFC 5322 messages: headers, parts, ids, names, addresses."""

import email
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import default

import pytest

from tenure.domain.notices import NoticeKind
from tenure.notify.message import build_message, valid_address
from tenure.notify.render import RenderedEmail, render
from tenure.notify.samples import SAMPLE_TIMEZONE, sample_facts

SAMPLE_BUSINESS = "Northwind Coffee Club"

SENT_AT = datetime(2026, 3, 7, 14, 30, tzinfo=UTC)
KEY = "sub_01:upcoming_renewal:2026-03:0"


def rendered(locale: str = "ru") -> RenderedEmail:
    facts, links = sample_facts(NoticeKind.UPCOMING_RENEWAL)
    return render(
        NoticeKind.UPCOMING_RENEWAL,
        locale,
        facts,
        links,
        timezone=SAMPLE_TIMEZONE,
        business_name=SAMPLE_BUSINESS,
    )


def build(
    email_: RenderedEmail | None = None,
    *,
    to_name: str = "Zoë Ångström",
    sent_at: datetime = SENT_AT,
    key: str = KEY,
    to: str = "zoe@example.com",
    sender: str = "billing@mail.northwind.example",
) -> EmailMessage:
    return build_message(
        email_ or rendered(),
        to=to,
        to_name=to_name,
        sender=sender,
        sender_name="Northwind Coffee Club",
        sent_at=sent_at,
        notice_key=key,
    )


def parsed(msg: EmailMessage) -> EmailMessage:
    back = email.message_from_bytes(msg.as_bytes(), policy=default)
    assert isinstance(back, EmailMessage)
    return back


def test_the_message_parses_back_with_both_parts_text_first() -> None:
    source = rendered()
    back = parsed(build(source))
    assert back.get_content_type() == "multipart/alternative"
    parts = list(back.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert parts[0].get_content() == source.text
    assert parts[1].get_content() == source.html


def test_the_headers_say_who_what_when_and_that_no_one_should_auto_reply() -> None:
    back = parsed(build())
    assert back["From"].addresses[0].addr_spec == "billing@mail.northwind.example"
    assert back["From"].addresses[0].display_name == "Northwind Coffee Club"
    assert back["To"].addresses[0].addr_spec == "zoe@example.com"
    assert back["Subject"] == rendered().subject
    assert back["Date"].datetime == SENT_AT
    assert back["Content-Language"] == "ru"
    assert back["Auto-Submitted"] == "auto-generated"
    assert back["X-Tenure-Notice"] == KEY
    assert back["Message-ID"].startswith("<") and back["Message-ID"].endswith(
        "@mail.northwind.example>"
    )


def test_the_raw_message_is_seven_bit_with_short_lines() -> None:
    raw = build(rendered("ar")).as_bytes()
    assert raw.isascii()
    assert max(len(line) for line in raw.splitlines()) <= 998


def test_the_message_id_differs_between_two_sends_and_two_notices() -> None:
    first = build()["Message-ID"]
    assert build(sent_at=SENT_AT + timedelta(hours=1))["Message-ID"] != first
    assert build(key="sub_01:upcoming_renewal:2026-04:0")["Message-ID"] != first
    assert build()["Message-ID"] == first  # a retried build of the same send: the same id


def test_the_same_send_built_twice_has_the_same_bytes_and_another_send_does_not() -> None:
    first = build(rendered("ar")).as_bytes()
    assert build(rendered("ar")).as_bytes() == first
    other = build(rendered("ar"), sent_at=SENT_AT + timedelta(hours=1)).as_bytes()
    assert (
        parsed(build(rendered("ar"))).get_boundary()
        != email.message_from_bytes(other, policy=default).get_boundary()
    )


def test_no_body_line_can_close_the_parts_early() -> None:
    # A body that contains what looks like the boundary is escaped by quoted-printable.
    boundary = build().get_boundary()
    assert boundary is not None
    hostile = RenderedEmail(
        subject="s",
        text=f"--{boundary}\n--{boundary}--\n",
        html=f"<p>--{boundary}</p>\n",
        locale="en",
        warnings=(),
    )
    back = parsed(build(hostile))
    assert [p.get_content() for p in back.iter_parts()] == [hostile.text, hostile.html]


@pytest.mark.parametrize(
    "name", ["Zoë Ångström", "Иван Петров", "محمد عبد الله", 'O\'Brien, "Pat" <boss>']
)
def test_display_names_round_trip(name: str) -> None:
    msg = build(to_name=name)
    assert msg.as_bytes().isascii()
    assert parsed(msg)["To"].addresses[0].display_name == name


def test_a_name_with_a_line_break_cannot_add_a_header() -> None:
    back = parsed(build(to_name="Eve\r\nBcc: victim@example.com"))
    assert back["Bcc"] is None
    assert back["To"].addresses[0].addr_spec == "zoe@example.com"
    assert len(back.get_all("To")) == 1


def test_a_naive_send_time_or_a_bad_address_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        build(sent_at=datetime(2026, 3, 7, 14, 30))
    with pytest.raises(ValueError, match="to address"):
        build(to="not an address")
    with pytest.raises(ValueError, match="sender address"):
        build(sender="billing")


def test_the_date_keeps_the_offset_it_was_given() -> None:
    moment = datetime(2026, 3, 7, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert parsed(build(sent_at=moment))["Date"].datetime == moment


@pytest.mark.parametrize(
    "addr",
    [
        "zoe@example.com",
        "first.last+tag@mail.example.co.uk",
        "x@xn--80ak6aa92e.xn--p1ai",
        "o'brien@example.org",
        "a" * 64 + "@example.com",
    ],
)
def test_plausible_addresses_are_valid(addr: str) -> None:
    assert valid_address(addr)


@pytest.mark.parametrize(
    "addr",
    [
        "",
        "zoe",
        "zoe@",
        "@example.com",
        "zoe@@example.com",
        "zoe@example",
        "zoe@exa mple.com",
        " zoe@example.com",
        "zoe@example.com\n",
        "zoe\x00@example.com",
        "zo e@example.com",
        "zoe@-example.com",
        "zoe@example..com",
        ".zoe@example.com",
        "zo..e@example.com",
        "<zoe@example.com>",
        "zoë@example.com",
        "zoe@пример.рф",
        "zoe@10.0.0.1",
        "a" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_implausible_addresses_are_not(addr: str) -> None:
    assert not valid_address(addr)
