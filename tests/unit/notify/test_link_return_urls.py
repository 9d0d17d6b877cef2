"""Signed links that carry a way back (portal links): the return_url rules, and that the URL
is part of what is signed."""

from datetime import UTC, datetime, timedelta

import pytest

from tenure.notify.customer_links import (
    PORTAL_LINK_TTL,
    InvalidLinkLifetimeError,
    allows_loopback_return,
    make_link,
    make_portal_link,
)
from tenure.notify.link_tokens import (
    MAX_RETURN_URL,
    InvalidLinkError,
    InvalidReturnUrlError,
    LinkClaims,
    LinkPurpose,
    check_return_url,
    sign,
    verify,
)
from tenure.settings import Settings

KEY = b"k" * 32
NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)


def claims(return_url: str | None = "https://app.example/back") -> LinkClaims:
    return LinkClaims(
        "alice", LinkPurpose.UPDATE_CARD, "alice", NOW + timedelta(hours=1), return_url
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example",
        "https://app.example:8443/a/b?c=d&e=%C3%A9#frag",
        "https://[2001:db8::1]/x",
        "https://app.example/" + "a" * (MAX_RETURN_URL - len("https://app.example/")),
    ],
)
def test_https_urls_up_to_the_limit_are_accepted(url: str) -> None:
    assert check_return_url(url, allow_loopback_http=False) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://app.example/" + "a" * (MAX_RETURN_URL - 19), "at most 2000"),
        ("http://app.example/", "must be https"),
        ("http://localhost:3000/", "must be https"),
        ("javascript:alert(1)", "must name a host"),
        ("data:text/html,hi", "must name a host"),
        ("//app.example/x", "must be https"),
        ("https://a@evil.example/", "without user info"),
        ("https://:pw@app.example/", "without user info"),
        ("https://app.example/\u00e9", "printable ASCII"),
        ("https://app.example/\nx", "printable ASCII"),
        ("", "printable ASCII"),
        ("https://[::1/", "is not a URL"),
        ("https://app.example:99999/", "is not a URL"),
    ],
)
def test_anything_else_is_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(InvalidReturnUrlError, match=why.replace("(", r"\(")):
        check_return_url(url, allow_loopback_http=False)


@pytest.mark.parametrize(
    "url", ["http://localhost:3000/", "http://127.0.0.1/x", "http://[::1]:8080/"]
)
def test_loopback_http_is_accepted_only_when_allowed(url: str) -> None:
    assert check_return_url(url, allow_loopback_http=True) == url
    with pytest.raises(InvalidReturnUrlError):
        check_return_url(url, allow_loopback_http=False)


def test_http_to_another_host_is_refused_even_where_loopback_is_allowed() -> None:
    with pytest.raises(InvalidReturnUrlError, match="or http to a loopback address"):
        check_return_url("http://app.example/", allow_loopback_http=True)


def test_loopback_returns_are_allowed_only_where_tenure_is_served_locally_over_http() -> None:
    assert allows_loopback_return(Settings(public_url="http://localhost:3000"))
    assert not allows_loopback_return(Settings(public_url="https://billing.example.com"))
    assert not allows_loopback_return(Settings(public_url="http://billing.example.com"))


def test_the_return_url_is_signed_with_the_rest_of_the_link() -> None:
    token = sign(KEY, claims())

    assert verify(KEY, token, LinkPurpose.UPDATE_CARD, NOW).return_url == "https://app.example/back"
    other = sign(KEY, claims("https://evil.example/")).partition(".")[0]
    with pytest.raises(InvalidLinkError, match="tampered"):
        verify(KEY, f"{other}.{token.partition('.')[2]}", LinkPurpose.UPDATE_CARD, NOW)


def test_a_link_without_a_return_url_signs_exactly_as_before() -> None:
    # The emails' links carry none: their bytes (and the outboxes) must not change.
    token = sign(KEY, claims(None))

    assert token == sign(
        KEY, LinkClaims("alice", LinkPurpose.UPDATE_CARD, "alice", NOW + timedelta(hours=1))
    )
    assert (
        '"r"' not in __import__("base64").urlsafe_b64decode(token.partition(".")[0] + "==").decode()
    )
    assert verify(KEY, token, LinkPurpose.UPDATE_CARD, NOW).return_url is None


@pytest.mark.parametrize("back", [7, "javascript:alert(1)", "http://evil.example/", ["x"]])
def test_a_signed_return_url_that_breaks_the_rules_is_malformed(back: object) -> None:
    # Only a leaked or older key could sign one: still never served as a link back.
    import base64
    import json

    from tenure.notify.link_tokens import _mac

    body = {
        "c": "alice",
        "p": "update_card",
        "s": "alice",
        "e": int(NOW.timestamp()) + 60,
        "r": back,
    }
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidLinkError, match="malformed"):
        verify(KEY, f"{payload}.{_mac(KEY, payload)}", LinkPurpose.UPDATE_CARD, NOW)


def test_a_portal_link_expires_a_day_after_it_is_made_and_checks_its_return_url() -> None:
    settings = Settings(link_secret="s3cret", public_url="https://billing.example.com")

    url, expires = make_portal_link(
        settings, "alice", LinkPurpose.UPDATE_CARD, "alice", NOW, "https://app.example/"
    )

    assert expires == NOW + PORTAL_LINK_TTL == NOW + timedelta(hours=24)
    assert url.startswith("https://billing.example.com/pages/card?t=")
    with pytest.raises(InvalidReturnUrlError):
        make_portal_link(
            settings, "alice", LinkPurpose.UPDATE_CARD, "alice", NOW, "http://localhost/"
        )


@pytest.mark.parametrize(
    "lifetime", [timedelta(minutes=4, seconds=59), timedelta(days=7, seconds=1)]
)
def test_a_portal_link_lifetime_outside_five_minutes_to_a_week_is_refused(
    lifetime: timedelta,
) -> None:
    settings = Settings(link_secret="s3cret", public_url="https://billing.example.com")

    with pytest.raises(InvalidLinkLifetimeError, match="from 5 to 10080 minutes"):
        make_portal_link(settings, "alice", LinkPurpose.UPDATE_CARD, "alice", NOW, None, lifetime)


def test_an_email_link_can_carry_a_checked_return_url() -> None:
    settings = Settings(link_secret="s3cret", public_url="https://billing.example.com")

    url = make_link(settings, "alice", "update_card", "alice", NOW, "https://app.example/")

    token = url.split("t=", 1)[1]
    claims = verify(b"s3cret", token, LinkPurpose.UPDATE_CARD, NOW)
    assert claims.return_url == "https://app.example/"
    assert claims.expires_at == NOW + timedelta(days=14)
    with pytest.raises(InvalidReturnUrlError, match="must be https"):
        make_link(settings, "alice", "update_card", "alice", NOW, "http://app.example/")
