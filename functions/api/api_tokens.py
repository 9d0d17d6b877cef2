"""API tokens: who is calling (a named principal) and what they may do (scopes).

The configured token (TENURE_API_TOKEN, or the secret API_TOKEN_SECRET_ARN names) is either
one bare token, which is the stack's own administrator (`api`, every scope: what a stack
generates at deploy), or a JSON list of named tokens for the people and systems that call
the API:

    [{"name": "support-anna", "token": "…at least 32 characters…", "scopes": ["billing"]},
     {"name": "dashboards", "token": "…", "scopes": ["read"]}]

Scopes, each including the ones before it:
- `read`: every GET;
- `billing`: what support staff do for customers (subscriptions, invoices, refunds, payment
  methods, portal links, plans of payment);
- `admin`: what configures the business (plans, coupons, retention programs, webhook
  endpoints).

Each named token may also say its `kind`: `person` (the default: someone's own token) or
`system` (another program's). A person must give a `note` with every operator action,
refunds included; a system token, and the bare administrator token, may refund without one.

A principal's name is the actor that audit entries and logs record. A token list that does
not parse is a configuration error: nobody gets in (fail closed), and the log says why.
"""

import hmac
import json
import re
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache


class Scope(IntEnum):
    """Ordered: a token with a scope has every scope below it."""

    READ = 1
    BILLING = 2
    ADMIN = 3


SCOPE_NAMES = {scope.name.lower(): scope for scope in Scope}
ADMIN_NAME = "api"  # the principal of a bare token
MIN_NAMED_TOKEN_LENGTH = 32
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# POST routes that configure the business rather than act for a customer.
_ADMIN_PREFIXES = (
    "/v1/plans",
    "/v1/coupons",
    "/v1/programs",
    "/v1/webhook-endpoints",
    "/v1/webhook-deliveries",
)
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A customer's data-protection routes need `admin`, reads included: an export and a legal
# hold hold everything personal (docs/privacy.md).
_PRIVACY = re.compile(r"^/v1/customers/[^/]+/(?:export|erase|legal-hold)/?$")


KINDS = ("person", "system")


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    token: str
    scope: Scope
    kind: str = "system"  # "person" or "system" (the bare token is the stack's own)

    @property
    def is_person(self) -> bool:
        return self.kind == "person"

    def may(self, needed: Scope) -> bool:
        return self.scope >= needed


class TokenConfigError(ValueError):
    """The configured token list is not usable; the message never contains a token."""


def required_scope(method: str, path: str) -> Scope:
    """The scope a request needs: reads need `read`; changes to the catalog and the
    business's configuration need `admin`, as does a customer's export, erasure and legal
    hold; every other change needs `billing`."""
    if _PRIVACY.match(path):
        return Scope.ADMIN
    if method.upper() in _READ_METHODS:
        return Scope.READ
    if any(path == prefix or path.startswith(prefix + "/") for prefix in _ADMIN_PREFIXES):
        return Scope.ADMIN
    return Scope.BILLING


@lru_cache(maxsize=8)
def principals(configured: str) -> tuple[Principal, ...]:
    """The principals a configured value names (see the module's docstring)."""
    text = configured.strip()
    if not text:
        return ()
    if not text.startswith("["):
        return (Principal(ADMIN_NAME, text, Scope.ADMIN),)
    try:
        listed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TokenConfigError(f"the token list is not JSON (line {exc.lineno})") from None
    if not isinstance(listed, list) or not listed:
        raise TokenConfigError("the token list must be a non-empty JSON list")
    found: list[Principal] = []
    for n, entry in enumerate(listed):
        found.append(_principal(n, entry))
    names = [p.name for p in found]
    if len(set(names)) != len(names):
        raise TokenConfigError("two tokens share a name")
    if len({p.token for p in found}) != len(found):
        raise TokenConfigError("two named tokens are the same token")
    return tuple(found)


def _principal(n: int, entry: object) -> Principal:
    where = f"token {n + 1}"
    if not isinstance(entry, dict) or not (
        {"name", "token", "scopes"} <= set(entry) <= {"name", "token", "scopes", "kind"}
    ):
        raise TokenConfigError(f"{where}: needs name, token and scopes (and at most a kind)")
    name, token, scopes = entry["name"], entry["token"], entry["scopes"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise TokenConfigError(f"{where}: name must be 1-64 of a-z 0-9 . _ - (lowercase)")
    if not isinstance(token, str) or len(token) < MIN_NAMED_TOKEN_LENGTH or not token.isascii():
        raise TokenConfigError(
            f"{where} ({name}): token must be ASCII, at least {MIN_NAMED_TOKEN_LENGTH} characters"
        )
    if any(ch.isspace() for ch in token):
        raise TokenConfigError(f"{where} ({name}): token must not contain spaces")
    if (
        not isinstance(scopes, list)
        or not scopes
        or not all(isinstance(s, str) and s in SCOPE_NAMES for s in scopes)
    ):
        raise TokenConfigError(f"{where} ({name}): scopes must be a list of read, billing, admin")
    kind = entry.get("kind", "person")
    if kind not in KINDS:
        raise TokenConfigError(f"{where} ({name}): kind must be person or system")
    return Principal(name, token, max(SCOPE_NAMES[s] for s in scopes), kind)


def authenticate(header: str | None, known: tuple[Principal, ...]) -> Principal | None:
    """The principal whose token the Authorization header carries, or None. Every known
    token is compared in constant time, so the time taken does not say which was close."""
    if not header or not known:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    offered = token.strip().encode()
    match: Principal | None = None
    for principal in known:
        if hmac.compare_digest(offered, principal.token.encode()):
            match = principal
    return match
