"""Hypothesis throws any input at the page surface: link tokens, signed claims out of range,
form tokens, form bodies with many, repeated or undecodable fields, and the headers a form
arrives with. Every answer is a page below 500, and a refusal changes nothing."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_api_pages import KEY, Pages, manage, pages, subscribed  # noqa: F401 - fixtures

from tenure.notify.link_tokens import (
    InvalidFormTokenError,
    InvalidLinkError,
    LinkClaims,
    LinkPurpose,
    check_form_token,
    form_token,
    sign,
    verify,
)

# The page fixtures are shared with test_api_pages by import; their names as arguments
# "redefine" the imports, which is how pytest fixtures work, not a mistake.
# ruff: noqa: F811

SUB = "/pages/subscription"
NOW = datetime(2026, 4, 1, tzinfo=UTC)
FAST = settings(max_examples=300, deadline=None)
# Through the whole api handler (the store, the page rendering): fewer, slower examples.
HANDLER = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Digits of every script: int() accepts "١٢٣" (Arabic-Indic) and "١٢٣".isdigit() is True.
any_digits = st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=40)
huge_or_negative = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([10**30, -(10**30), 2**63, -(2**63), 253402300800, -1, 0]),
)
json_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        huge_or_negative,
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=50),
        any_digits,
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=8,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(body: Any, key: str = KEY) -> str:
    """A token whose signature holds, over any JSON at all (made here, not by `sign`, which
    only makes well-typed claims)."""
    payload = _b64(json.dumps(body).encode())
    return f"{payload}.{_b64(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())}"


claims_body = (
    st.fixed_dictionaries(
        {
            "c": st.one_of(st.just("alice"), json_value),
            "p": st.one_of(st.just("manage_subscription"), json_value),
            "s": st.one_of(st.just("sub-alice"), json_value),
            "e": st.one_of(huge_or_negative, any_digits, json_value),
        }
    )
    | json_value
)


# -- the parsers alone: fast, many examples --------------------------------------------------------
@FAST
@given(token=st.text(max_size=300))
def test_any_text_as_a_link_is_refused_as_a_link(token: str) -> None:
    with pytest.raises(InvalidLinkError):
        verify(KEY.encode(), token, LinkPurpose.MANAGE_SUBSCRIPTION, NOW)


@FAST
@given(body=claims_body)
def test_any_signed_claims_are_either_a_link_or_refused(body: Any) -> None:
    try:
        claims = verify(KEY.encode(), signed(body), LinkPurpose.MANAGE_SUBSCRIPTION, NOW)
    except InvalidLinkError as exc:
        assert exc.reason in ("malformed", "wrong_purpose", "expired")
        return
    assert claims.expires_at > NOW and claims.customer_id and claims.subject


@FAST
@given(value=st.one_of(st.text(max_size=120), any_digits.map(lambda d: f"{d}.{'A' * 43}")))
def test_any_text_as_a_form_token_is_refused(value: str) -> None:
    link = sign(KEY.encode(), LinkClaims("alice", LinkPurpose.UPDATE_CARD, "alice", NOW))
    with pytest.raises(InvalidFormTokenError):
        check_form_token(KEY.encode(), link, value, NOW)


@FAST
@given(
    issued=st.one_of(
        st.integers(min_value=-(10**10), max_value=10**11),
        # Around now, where the window's edges are.
        st.integers(min_value=-4 * 3600, max_value=4 * 3600).map(
            lambda d: int(NOW.timestamp()) + d
        ),
    )
)
def test_a_form_token_is_good_only_within_its_window(issued: int) -> None:
    link = sign(KEY.encode(), LinkClaims("alice", LinkPurpose.UPDATE_CARD, "alice", NOW))
    moment = datetime.fromtimestamp(0, UTC) + timedelta(seconds=issued)
    token = form_token(KEY.encode(), link, moment)
    age = NOW - moment
    try:
        check_form_token(KEY.encode(), link, token, NOW)
    except InvalidFormTokenError:
        assert issued < 0 or age > timedelta(hours=2) or age < timedelta(minutes=-1)
    else:
        assert timedelta(minutes=-1) <= age <= timedelta(hours=2)


# -- through the api handler --------------------------------------------------------------------
@HANDLER
@given(body=claims_body)
def test_a_page_opened_with_any_signed_claims_is_a_page_below_500(
    subscribed: Pages, body: Any
) -> None:
    subscribed.api.sent.clear()
    before = subscribed.api.state()

    reply = subscribed.open(SUB, signed(body))

    assert reply.status in (200, 403, 410), reply.status
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert subscribed.api.state() == before


field_name = st.one_of(st.sampled_from(["t", "f", "action", "card"]), st.text(max_size=12))
field_value = st.one_of(
    st.text(max_size=80),
    any_digits,
    huge_or_negative.map(str),
    st.sampled_from(["pause", "cancel", "keep", "come_back", "4242424242424242"]),
)


@HANDLER
@given(
    with_link=st.booleans(),
    with_form_token=st.booleans(),
    fields=st.lists(st.tuples(field_name, field_value), max_size=60),
    repeat=st.booleans(),
)
def test_any_form_fields_get_a_page_below_500_and_a_refusal_changes_nothing(
    subscribed: Pages,
    with_link: bool,
    with_form_token: bool,
    fields: list[tuple[str, str]],
    repeat: bool,
) -> None:
    subscribed.api.sent.clear()
    link = manage(subscribed)
    sent = [("t", link)] if with_link else []
    if with_form_token:
        sent.append(("f", subscribed.form_token(SUB, link) or ""))
    sent += fields + (fields[:1] if repeat else [])
    body = "&".join(f"{quote(name)}={quote(value)}" for name, value in sent)
    before = subscribed.api.state()

    reply = subscribed.post_raw(SUB, body)

    assert reply.status < 500, reply.text
    if reply.status >= 400:
        assert subscribed.api.state() == before


@HANDLER
@given(raw=st.binary(max_size=3000), encoded=st.booleans())
def test_any_bytes_as_a_form_body_get_a_page_below_500_and_change_nothing(
    subscribed: Pages, raw: bytes, encoded: bool
) -> None:
    subscribed.api.sent.clear()
    body = base64.b64encode(raw).decode() if encoded else raw.decode("latin-1")
    before = subscribed.api.state()

    reply = subscribed.post_raw(SUB, body, base64_encoded=encoded)

    assert 400 <= reply.status < 500, reply.status
    assert subscribed.api.state() == before


header_text = st.one_of(st.none(), st.text(max_size=60))


@HANDLER
@given(
    content_type=st.one_of(
        header_text,
        st.sampled_from(
            [
                "text/plain",
                "multipart/form-data",
                "application/x-www-form-urlencoded;charset=",
                "APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8",
            ]
        ),
    ),
    origin=st.one_of(header_text, st.sampled_from(["null", "http://localhost:3000", "https://x"])),
    site=st.one_of(
        header_text, st.sampled_from(["cross-site", "same-site", "same-origin", "none"])
    ),
)
def test_any_form_headers_get_a_page_below_500_and_a_refusal_changes_nothing(
    subscribed: Pages, content_type: str | None, origin: str | None, site: str | None
) -> None:
    subscribed.api.sent.clear()
    before = subscribed.api.state()
    headers = {"content-type": content_type, "origin": origin, "sec-fetch-site": site}

    reply = subscribed.submit(SUB, manage(subscribed), headers=headers, action="pause")  # type: ignore[arg-type]

    assert reply.status < 500, reply.text
    if reply.status >= 400:
        assert subscribed.api.state() == before
