"""The reminders path's shortcuts answer exactly what the general code they skip answers:
Jinja's direct calls, the outbox's file stamp and returned Message-ID."""

from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import DictLoader, Environment, StrictUndefined, TemplateNotFound, pass_context
from jinja2.runtime import Context

from tenure.domain.customers import valid_address
from tenure.domain.notices import NoticeKind
from tenure.notify import render as rendering
from tenure.notify.mailers import OutboxMailer, _stamp
from tenure.notify.message import (
    _POLICY,
    _date_header,
    _rfc2822_date,
    build_message,
    header_text,
    sent_message_id,
)
from tenure.notify.render import SUPPORTED_LOCALES, render
from tenure.notify.samples import sample_facts
from tenure.notify.template_context import DirectCallContext, EmailEnvironment, direct

SENT_AT = datetime(2026, 3, 1, 9, 30, 5, tzinfo=UTC)


class _Helper:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    @direct
    def say(self, *args: Any, **kwargs: Any) -> str:
        self.calls.append((args, kwargs))
        return "said"

    @direct
    def stop(self) -> str:
        raise StopIteration

    def plain(self, word: str) -> str:
        return word.upper()


def _environment(context_class: type[Context], source: str) -> Environment:
    env = Environment(loader=DictLoader({"t.txt": source}), undefined=StrictUndefined)
    env.context_class = context_class
    return env


def test_a_direct_method_gets_what_jinja_would_give_it_without_jinjas_own_keywords() -> None:
    source = (
        "{% macro m(x) %}[{{ h.say(x, key=x) }}]{% endmacro %}"
        "{{ h.say('a') }}{% for i in [1] %}{{ h.say(i) }}{% endfor %}{{ m('b') }}"
        "{{ h.plain('c') }}{{ whoami() }}"
    )

    @pass_context
    def whoami(context: Context) -> str:  # asks for the context: still given it
        return type(context).__name__

    outputs, calls = [], []
    for context_class in (Context, DirectCallContext):
        helper = _Helper()
        env = _environment(context_class, source)
        outputs.append(env.get_template("t.txt").render(h=helper, whoami=whoami))
        calls.append(helper.calls)
    assert calls[0] == calls[1] == [(("a",), {}), ((1,), {}), (("b",), {"key": "b"})]
    assert outputs[0] == "saidsaid[said]CContext"
    assert outputs[1] == "saidsaid[said]CDirectCallContext"


def test_a_direct_method_raising_stop_iteration_gives_what_jinja_gives() -> None:
    answers = []
    for context_class in (Context, DirectCallContext):
        env = _environment(context_class, "{{ h.stop() is undefined }}")
        answers.append(env.get_template("t.txt").render(h=_Helper()))
    assert answers == ["True", "True"]


def test_a_function_that_asks_jinja_for_an_argument_cannot_be_marked_direct() -> None:
    @pass_context
    def wants_context(context: Context) -> str:
        return ""

    with pytest.raises(TypeError, match="asks Jinja"):
        direct(wants_context)


@pytest.mark.parametrize("locale", [*SUPPORTED_LOCALES, "pt-BR"])
def test_every_email_renders_the_same_through_jinjas_own_calls(
    locale: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def every_email() -> list[rendering.RenderedEmail]:
        return [
            render(kind, locale, *sample_facts(kind), timezone="Asia/Kolkata", business_name="B")
            for kind in NoticeKind
        ]

    direct_calls = every_email()
    assert rendering.environment().context_class is DirectCallContext
    monkeypatch.setattr(rendering.environment(), "context_class", Context)
    assert every_email() == direct_calls


def test_a_template_asking_for_a_link_it_was_not_given_is_a_render_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    facts, links = sample_facts(NoticeKind.UPCOMING_RENEWAL)  # its template uses "pause"
    without = {name: url for name, url in links.items() if name != "pause"}
    monkeypatch.setattr(rendering, "_checked_links", lambda kind, given: dict(without))
    with pytest.raises(rendering.RenderError, match="uses the link 'pause'"):
        render(NoticeKind.UPCOMING_RENEWAL, "en", facts, links, timezone="UTC", business_name="B")


def test_a_templates_globals_are_the_environments_overlaid_by_its_own_as_jinjas_are() -> None:
    templates = {"g.txt": "{{ who }} {{ greeting }} {{ range(2) | list }}"}
    ours = EmailEnvironment(loader=DictLoader(templates), auto_reload=False)
    jinjas = Environment(loader=DictLoader(templates), auto_reload=False)
    for env in (ours, jinjas):
        env.globals.update(who="env", greeting="hello")
    for own in (None, {"who": "template"}):
        mine = ours.from_string(templates["g.txt"], globals=own)
        theirs = jinjas.from_string(templates["g.txt"], globals=own)
        assert mine.render() == theirs.render()
        assert mine.render(who="caller") == theirs.render(who="caller")
        assert dict(mine.globals) == dict(theirs.globals)
    # A template's globals are its own: changing them changes neither the environment's
    # nor another template's.
    first = ours.get_template("g.txt")
    first.globals["greeting"] = "changed"
    assert ours.globals["greeting"] == "hello"
    assert ours.from_string(templates["g.txt"]).render() == "env hello [0, 1]"


@pytest.mark.parametrize(
    "moment",
    [
        SENT_AT,
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(9999, 12, 31, 23, 59, 59),
        datetime(1000, 1, 1),
        datetime(999, 1, 1, tzinfo=UTC),
        datetime(1, 2, 3, 4, 5, 6),
    ],
)
def test_the_outbox_stamp_is_what_strftime_writes(moment: datetime) -> None:
    assert _stamp(moment) == moment.strftime("%Y%m%dT%H%M%SZ")


def _built(
    sender: str = "billing@mail.example.com", key: str = "sub_1:receipt:2026-03:0"
) -> EmailMessage:
    facts, links = sample_facts(NoticeKind.RECEIPT)
    email = render(NoticeKind.RECEIPT, "en", facts, links, timezone="UTC", business_name="B")
    return build_message(
        email,
        to="c@example.com",
        to_name="C",
        sender=sender,
        sender_name="B",
        sent_at=SENT_AT,
        notice_key=key,
    )


@pytest.mark.parametrize(
    "sender",
    [
        "billing@mail.example.com",
        "billing@x-y.example-mail.co",
        # a domain long enough that the header is folded: stored parsed, not as text
        f"billing@{'very-long-label.' * 5}example.com",
    ],
)
def test_the_outbox_returns_the_message_id_the_email_package_reads(
    sender: str, tmp_path: Path
) -> None:
    message = _built(sender)
    expected = str(message["Message-ID"])
    assert sent_message_id(message) == expected
    assert (
        OutboxMailer(tmp_path).send(message, customer_id="cus_1", kind="receipt", sent_at=SENT_AT)
        == expected
    )


def test_a_message_id_changed_or_missing_is_read_as_the_email_package_reads_it() -> None:
    message = _built()
    del message["Message-ID"]
    assert sent_message_id(message) == str(message["Message-ID"]) == "None"
    message["Message-ID"] = "<odd id (comment)@example.com>"
    assert sent_message_id(message) == str(message["Message-ID"])
    other = EmailMessage()
    other.set_raw("message-id", "<abc@example.com>")
    other.set_raw("Message-ID", "<second@example.com>")
    assert sent_message_id(other) == str(other["Message-ID"]) == "<abc@example.com>"


def test_the_email_environment_refuses_to_reload_templates_it_keeps() -> None:
    with pytest.raises(ValueError, match="auto_reload"):
        EmailEnvironment(loader=DictLoader({}))
    with pytest.raises(ValueError, match="auto_reload"):
        EmailEnvironment(loader=DictLoader({}), auto_reload=True)


def test_the_email_environment_gives_what_jinja_gives_and_an_overlay_its_own() -> None:
    env = EmailEnvironment(
        loader=DictLoader({"a.txt": "{% extends 'base.txt' %}", "base.txt": "base"}),
        auto_reload=False,
    )
    first = env.get_template("a.txt")
    assert env.get_template("a.txt") is first
    assert env.get_template("base.txt", "a.txt") is env.get_template("base.txt", "a.txt")
    assert first.render() == "base"
    # A name it cannot find is Jinja's error, every time (nothing is kept for it).
    for _ in range(2):
        with pytest.raises(TemplateNotFound):
            env.get_template("missing.txt")
    other = env.overlay(loader=DictLoader({"a.txt": "other"}))
    assert other.get_template("a.txt").render() == "other"
    assert env.get_template("a.txt") is first
    with_globals = env.get_template("a.txt", globals={"x": 1})  # Jinja's own path
    assert with_globals.globals["x"] == 1


@pytest.mark.parametrize(
    "moment",
    [
        SENT_AT,
        datetime(2026, 1, 4, 0, 0, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
        datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=13, minutes=45))),
        datetime(2026, 7, 1, 12, tzinfo=timezone(timedelta(minutes=-1))),
        datetime(2026, 7, 1, 12, tzinfo=timezone(timedelta(hours=23, minutes=59))),
        datetime(999, 12, 31, 1, 2, 3, tzinfo=UTC),
        datetime(9999, 12, 31, 1, 2, 3, tzinfo=timezone(timedelta(hours=-23, minutes=-59))),
    ],
)
def test_the_date_header_is_what_the_email_package_writes(moment: datetime) -> None:
    offset = moment.utcoffset()
    assert offset is not None
    assert _rfc2822_date(moment, offset) == format_datetime(moment)
    assert _date_header(moment) == (
        "Date",
        format_datetime(moment),
        f"Date: {format_datetime(moment)}\n",
    )


def test_a_date_in_seconds_off_the_minute_is_left_to_the_email_package() -> None:
    moment = datetime(2026, 3, 1, 9, tzinfo=timezone(timedelta(hours=5, seconds=30)))
    message = EmailMessage(policy=_POLICY)
    message["Date"] = format_datetime(moment)
    written = message.as_string().split("\n\n")[0] + "\n"
    assert _date_header(moment)[2] == written


_WORDS = st.text(alphabet="aZ09'-.é\"() <>@,;:\\[]", min_size=0, max_size=12)
_LOCALS = st.from_regex(r"[A-Za-z0-9_+.'-]{1,12}", fullmatch=True)
_DOMAINS = st.sampled_from(["example.com", "mail.example-shop.co", "x.y", "xn--bcher-kva.example"])


@given(name=st.lists(_WORDS, max_size=4).map(" ".join), local=_LOCALS, domain=_DOMAINS)
@settings(max_examples=300, deadline=None)
def test_address_headers_read_as_the_email_package_reads_them(
    name: str, local: str, domain: str
) -> None:
    address = f"{local}@{domain}"
    if not valid_address(address):
        return  # build_message refuses it
    facts, links = sample_facts(NoticeKind.RECEIPT)
    email = render(NoticeKind.RECEIPT, "en", facts, links, timezone="UTC", business_name="B")
    message = build_message(
        email,
        to=address,
        to_name=name,
        sender=f"billing@{domain}",
        sender_name=name,
        sent_at=SENT_AT,
        notice_key="sub_1:receipt:2026-03:0",
    )
    for header in ("From", "To", "Message-ID", "Subject"):
        assert header_text(message, header) == str(message[header])


def test_an_address_header_set_by_hand_is_read_as_the_email_package_reads_it() -> None:
    message = EmailMessage()
    message.set_raw("To", "=?utf-8?q?Zo=C3=AB?= <zoe@example.com>")  # decoded when read
    message.set_raw("From", "Ann Lee <ann@example.com>")
    assert header_text(message, "To") == str(message["To"]) == "Zoë <zoe@example.com>"
    assert header_text(message, "from") == str(message["From"]) == "Ann Lee <ann@example.com>"
    assert header_text(message, "Cc") == str(message["Cc"]) == "None"


def test_a_value_escaped_once_is_inserted_as_escape_gives_it_and_markup_is_kept() -> None:
    from markupsafe import Markup, escape

    literals, names = rendering._parsed("Hi {name}, {name}!", True)
    text = "Tom & <Jerry>"
    for _ in range(2):  # the second time from what the first kept
        assert rendering._inserted(literals, names, {"name": text}, True) == (
            f"Hi {escape(text)}, {escape(text)}!"
        )
    # Equal to the text kept, yet already HTML: inserted as it is, as escape() leaves it.
    assert rendering._inserted(literals, names, {"name": Markup(text)}, True) == (
        f"Hi {text}, {text}!"
    )
    assert rendering._inserted(literals, names, {"name": text}, False) == f"Hi {text}, {text}!"
