"""The signing key of customer links, loaded once per process, and the links made with it.

Locally the key is `TENURE_LINK_SECRET`; in AWS it is a Secrets Manager secret named by
`LINK_SECRET_ARN`, read once and cached, like the API token. The pages that open a link and
the emails that carry one load it here, so they can never disagree.

Rotation: the value may hold several keys separated by commas. The first signs new links;
every one of them is accepted, so links already in inboxes keep working until the old key
is dropped (after the link lifetime, `TENURE_LINK_TTL_DAYS`).
"""

from datetime import datetime, timedelta
from functools import lru_cache

from tenure.notify.link_tokens import (
    InvalidFormTokenError,
    InvalidLinkError,
    InvalidReturnUrlError,
    LinkClaims,
    LinkPurpose,
    check_form_token,
    check_return_url,
    form_token,
    page_url,
    verify,
)
from tenure.settings import PORTAL_LINK_MAX_MINUTES, PORTAL_LINK_MIN_MINUTES, Settings


class LinkKeyMissingError(RuntimeError):
    """No link key is configured: links can be neither made nor honoured."""


def link_keys(settings: Settings) -> list[bytes]:
    """The accepted keys, the signing one first."""
    value = settings.link_secret or (
        _secret(settings.link_secret_arn) if settings.link_secret_arn else ""
    )
    keys = [part.strip().encode() for part in value.split(",") if part.strip()]
    if not keys:
        raise LinkKeyMissingError("set TENURE_LINK_SECRET (local) or LINK_SECRET_ARN (AWS)")
    return keys


def link_key(settings: Settings) -> bytes:
    """The key new links are signed with."""
    return link_keys(settings)[0]


def verify_link(settings: Settings, token: str, purpose: LinkPurpose, now: datetime) -> LinkClaims:
    """The claims of a link signed with any accepted key; InvalidLinkError otherwise."""
    refusal = InvalidLinkError("tampered")
    for key in link_keys(settings):
        try:
            return verify(key, token, purpose, now)
        except InvalidLinkError as exc:
            if exc.reason != "tampered":
                raise  # the signature held (or the token is not one): no other key helps
            refusal = exc
    raise refusal


def issue_form_token(settings: Settings, link_token: str, now: datetime) -> str:
    """The form token a page rendered now for `link_token` carries (signed with the new key)."""
    return form_token(link_key(settings), link_token, now)


def check_page_form(settings: Settings, link_token: str, value: str, now: datetime) -> None:
    """InvalidFormTokenError unless `value` is a fresh form token of this link under any
    accepted key (a page rendered just before a rotation still posts)."""
    refusal = InvalidFormTokenError("tampered")
    for key in link_keys(settings):
        try:
            check_form_token(key, link_token, value, now)
            return
        except InvalidFormTokenError as exc:
            if exc.reason != "tampered":
                raise  # missing or stale whatever the key
            refusal = exc
    raise refusal


@lru_cache(maxsize=2)
def _secret(arn: str) -> str:
    import boto3  # only where a secret is read by ARN: tests and local runs never need it
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2)
    client = boto3.client("secretsmanager", config=config)
    return str(client.get_secret_value(SecretId=arn)["SecretString"])


def clear_cache() -> None:
    """Forget the key read from Secrets Manager (after a rotation, and in tests)."""
    _secret.cache_clear()


def make_link(
    settings: Settings,
    customer_id: str,
    purpose: LinkPurpose | str,
    subject: str,
    now: datetime,
    return_url: str | None = None,
) -> str:
    """A signed URL to the page for `purpose`, valid for `settings.link_ttl_days` from `now`.
    `return_url`, checked here (InvalidReturnUrlError), is signed into the link."""
    if return_url is not None:
        check_return_url(return_url, allow_loopback_http=allows_loopback_return(settings))
    claims = LinkClaims(
        customer_id=customer_id,
        purpose=LinkPurpose(purpose),
        subject=subject,
        expires_at=now + timedelta(days=settings.link_ttl_days),
        return_url=return_url,
    )
    return page_url(settings.public_url, link_key(settings), claims)


# A portal link is asked for by the business's app to send a customer on at once (a redirect,
# a button): it needs to last a visit, not sit in an inbox for two weeks. A day (the default of
# TENURE_PORTAL_LINK_TTL_MINUTES) covers a page left open (its forms last FORM_TOKEN_TTL) and
# clocks that disagree; an app may ask for less, or up to a week, per link.
PORTAL_LINK_TTL = timedelta(hours=24)
PORTAL_LINK_LIFETIMES = (
    timedelta(minutes=PORTAL_LINK_MIN_MINUTES),
    timedelta(minutes=PORTAL_LINK_MAX_MINUTES),
)


class InvalidLinkLifetimeError(ValueError):
    """A portal link lifetime outside PORTAL_LINK_LIFETIMES."""


def allows_loopback_return(settings: Settings) -> bool:
    """Whether a return_url may be http to a loopback address: only where Tenure itself is
    served over http on a loopback address (a developer's machine)."""
    try:
        check_return_url(settings.public_url, allow_loopback_http=True)
    except InvalidReturnUrlError:
        return False
    return settings.public_url.startswith("http://")


def make_portal_link(
    settings: Settings,
    customer_id: str,
    purpose: LinkPurpose,
    subject: str,
    now: datetime,
    return_url: str | None = None,
    lifetime: timedelta | None = None,
) -> tuple[str, datetime]:
    """A signed URL to the page for `purpose`, and when it expires: `lifetime` from `now`,
    else TENURE_PORTAL_LINK_TTL_MINUTES. `return_url`, checked here (InvalidReturnUrlError),
    is signed into the link; a lifetime outside PORTAL_LINK_LIFETIMES is refused
    (InvalidLinkLifetimeError)."""
    if return_url is not None:
        check_return_url(return_url, allow_loopback_http=allows_loopback_return(settings))
    if lifetime is None:
        lifetime = timedelta(minutes=settings.portal_link_ttl_minutes)
    shortest, longest = PORTAL_LINK_LIFETIMES
    if not shortest <= lifetime <= longest:
        raise InvalidLinkLifetimeError(
            f"must be from {PORTAL_LINK_MIN_MINUTES} to {PORTAL_LINK_MAX_MINUTES} minutes"
        )
    claims = LinkClaims(
        customer_id=customer_id,
        purpose=purpose,
        subject=subject,
        expires_at=now + lifetime,
        return_url=return_url,
    )
    return page_url(settings.public_url, link_key(settings), claims), claims.expires_at
