"""The form plumbing of the customer pages and the console: a POST must come from the page
itself (docs/pages.md, "Forms"): an HTML form body (415 otherwise), small, well formed and with
each field once (400/413), and not sent from another site (`Origin`, `Sec-Fetch-Site`: 403).
Each refusal is a `BadForm`, raised before anything is read further."""

import base64
import binascii
from urllib.parse import parse_qsl, urlsplit

from tenure.settings import Settings

# Page forms post a handful of short fields (t, f, card, action): anything much bigger or with
# many more fields is not from a page, and is refused before it is parsed further.
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 4096
MAX_FORM_FIELDS = 8


class BadForm(Exception):
    """A POST that is not a page's form: answered with `status`, nothing read further."""

    def __init__(self, status: int, reason: str, headline: str, body: str) -> None:
        super().__init__(reason)
        self.status, self.reason, self.headline, self.body = status, reason, headline, body


def check_same_site(headers: dict[str, str], settings: Settings) -> None:
    """Refuse a POST a browser says came from another site.

    `Sec-Fetch-Site: cross-site` is refused outright. An `Origin` must be this deployment's:
    the public URL's origin, or the host the request was sent to (a custom domain in front of
    the API). A browser sends `Origin: null` for its own form when the page's referrer policy
    is `no-referrer` (ours is), so `null` passes only together with `Sec-Fetch-Site:
    same-origin`. Requests with neither header are not from a browser, and cannot ride a
    customer's browser: the form token still has to match."""
    site = (headers.get("sec-fetch-site") or "").strip().lower()
    if site == "cross-site":
        raise BadForm(403, "cross_site", "refused_form", "refused_form_body")
    origin = headers.get("origin")
    if origin is None:
        return
    origin = origin.strip().lower()
    if origin == "null":
        if site == "same-origin":
            return
        raise BadForm(403, "opaque_origin", "refused_form", "refused_form_body")
    ours = urlsplit(settings.public_url)
    if origin == f"{ours.scheme}://{ours.netloc}".lower():
        return
    host = (headers.get("host") or "").strip().lower()
    if host and urlsplit(origin).netloc == host:
        return
    raise BadForm(403, "foreign_origin", "refused_form", "refused_form_body")


def read_form(content_type: str | None, body: str | None, base64_encoded: bool) -> dict[str, str]:
    """The fields of an HTML form body, each once; BadForm for anything else."""
    media, _, params = (content_type or "").partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"') if params else "utf-8"
    if media.strip().lower() != FORM_TYPE or charset not in ("utf-8", "utf8"):
        raise BadForm(415, "not_a_form", "refused_request", "refused_request_body")
    raw = body or ""
    if len(raw) > 2 * MAX_FORM_BYTES:  # over the limit even base64-encoded: not decoded
        raise BadForm(413, "too_large", "refused_request", "refused_request_body")
    try:
        data = base64.b64decode(raw, validate=True) if base64_encoded else raw.encode("utf-8")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise BadForm(400, "bad_base64", "refused_request", "refused_request_body") from None
    if len(data) > MAX_FORM_BYTES:
        raise BadForm(413, "too_large", "refused_request", "refused_request_body")
    try:
        pairs = parse_qsl(
            data.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",  # %FF is not text: refused, not replaced by U+FFFD
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:  # UnicodeDecodeError too: raw or %-encoded bytes that are not UTF-8
        raise BadForm(400, "malformed", "refused_request", "refused_request_body") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:  # which one would the customer have meant? neither is guessed
            raise BadForm(400, "repeated_field", "refused_request", "refused_request_body")
        fields[name] = value
    return fields
