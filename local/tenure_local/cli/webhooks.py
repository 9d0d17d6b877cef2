"""`tenure webhooks replay`: post saved provider events, freshly signed, to a webhook endpoint.

For debugging a production incident: save the events (from the provider's dashboard, the
Stripe CLI's `stripe events retrieve`, or a sample in events/webhooks/), then replay them
against `tenure serve` or a deployed stack. A file may hold a provider's event as it was
sent (a Stripe `event` object, a Razorpay `entity: event` body) or an API Gateway v2 event
wrapping one (like the samples). Each is signed at the moment it is sent, with
its provider's secret (`--secret-env`, TENURE_<PROVIDER>_WEBHOOK_SECRET, or the running
`tenure serve`'s), so the endpoint's 300 s tolerance holds.

Also the local-only convenience that keeps the samples valid: `resign_sample` re-signs an
API Gateway event whose signature header is the placeholder `t=SAMPLE,...` (Stripe) or
`SAMPLE` (Razorpay) with the local secret, just before `tenure invoke webhooks` runs it.
Nothing deployed ever accepts a placeholder.
"""

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from tenure.webhooks.errors import UnknownProviderError
from tenure.webhooks.providers import PROVIDERS, provider

app = typer.Typer(no_args_is_help=True, help="Payment-provider webhooks, locally.")
err = Console(stderr=True)
out = Console()
PLACEHOLDER = "SAMPLE"
DEV_SECRET = "whsec_local_dev"  # what the local stack uses when no secret is set


class ReplayError(ValueError):
    """The file is not a provider event nor an API Gateway event wrapping one."""


def load_delivery(path: Path) -> tuple[str, bytes, dict[str, str]]:
    """(provider, body, headers to keep) of a saved event file."""
    raw = path.read_bytes()
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReplayError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ReplayError(f"{path}: not a JSON object")
    if "requestContext" in doc and "body" in doc:
        body_text = doc.get("body") or ""
        body = base64.b64decode(body_text) if doc.get("isBase64Encoded") else body_text.encode()
        name = (doc.get("pathParameters") or {}).get("provider") or _provider_of_path(doc)
        headers = {k.lower(): str(v) for k, v in (doc.get("headers") or {}).items()}
        return name, body, headers
    if doc.get("object") == "event":
        return "stripe", raw, {}
    if doc.get("entity") == "event":
        return "razorpay", raw, {}
    raise ReplayError(f"{path}: neither a Stripe nor a Razorpay event, nor an API Gateway event")


def _provider_of_path(doc: dict[str, Any]) -> str:
    path = str(doc.get("rawPath") or "")
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "webhooks":
        return parts[1]
    raise ReplayError("the API Gateway event is not for /webhooks/{provider}")


def signed_headers(name: str, body: bytes, secret: str, kept: dict[str, str]) -> dict[str, str]:
    """Fresh signature headers (signed now), plus what the saved delivery carried besides."""
    source = provider(name)
    headers = {k: v for k, v in kept.items() if k != source.signature_header}
    headers.pop("content-length", None)
    fresh = source.sign(body, secret, int(time.time()))
    # Razorpay's event id travels in a header: keep the saved one, so a replay deduplicates.
    return {"content-type": "application/json"} | fresh | headers


def replay_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return files


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 15.0) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode(errors="replace")


def endpoint(url: str, name: str) -> str:
    """`url` as given when it names the webhook route of the event's provider, or of none
    known; the event's own provider's route when it names another's (a folder of Stripe and
    Razorpay samples replayed to `.../webhooks/stripe`); else `url/webhooks/<provider>`."""
    if "/webhooks/" not in url:
        return f"{url.rstrip('/')}/webhooks/{name}"
    base, _, route = url.rpartition("/webhooks/")
    named = route.split("/")[0].split("?")[0]
    if named in PROVIDERS and name in PROVIDERS and named != name:
        return f"{base}/webhooks/{name}{route[len(named) :]}"
    return url


def _local(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")


class _Secrets:
    """The signing secret for each provider: the variable `--secret-env` names, else
    TENURE_<PROVIDER>_WEBHOOK_SECRET, else (for a URL on this machine) the one of the running
    `tenure serve`, found as `tenure invoke` finds its stack."""

    def __init__(self, secret_env: str | None, url: str) -> None:
        self.secret_env = secret_env
        self.url = url
        self._stack: dict[str, str] | None = None
        self._looked = False

    def for_provider(self, name: str) -> str:
        variable = self.secret_env or f"TENURE_{name.upper()}_WEBHOOK_SECRET"
        value = os.environ.get(variable) or ""
        if not value and self.secret_env is None and _local(self.url):
            value = self._serving().get(variable, "")
        secret = value.split(",")[0].strip()
        if secret:
            return secret
        if self.secret_env is not None:
            raise _NoSecret(f"{variable} is not set: it must hold the endpoint's signing secret")
        where = "no `tenure serve` is running here, and " if _local(self.url) else ""
        raise _NoSecret(
            f"no signing secret for {name}: {where}{variable} is not set; set it, or name "
            "the variable holding the endpoint's secret with --secret-env"
        )

    def _serving(self) -> dict[str, str]:
        if not self._looked:
            from tenure_local.stack.local_stack import LocalStack

            self._stack, self._looked = LocalStack.attach(), True
        return self._stack or {}


class _NoSecret(Exception):
    pass


@app.command("replay")
def replay(
    paths: Annotated[list[Path], typer.Argument(help="event files, or folders of *.json")],
    url: Annotated[
        str, typer.Option(help="the endpoint, or a base URL (then /webhooks/<provider>)")
    ] = "http://127.0.0.1:3000",
    secret_env: Annotated[
        str | None,
        typer.Option(
            "--secret-env",
            help="variable holding the signing secret (default: TENURE_<PROVIDER>_WEBHOOK_SECRET,"
            " else the running `tenure serve`'s when URL is on this machine)",
        ),
    ] = None,
) -> None:
    """Post saved provider events to URL, each signed now with its provider's secret."""
    secrets = _Secrets(secret_env, url)
    files = replay_files(paths)
    if not files:
        err.print("no event files found")
        raise typer.Exit(2)
    loaded: list[tuple[Path, tuple[str, bytes, dict[str, str]] | Exception]] = []
    for path in files:
        try:
            loaded.append((path, load_delivery(path)))
        except (ReplayError, OSError, ValueError) as exc:
            loaded.append((path, exc))
    # Every secret before the first post: when one is missing, nothing is sent.
    names = {d[0] for _, d in loaded if not isinstance(d, Exception) and d[0] in PROVIDERS}
    try:
        keys = {name: secrets.for_provider(name) for name in sorted(names)}
    except _NoSecret as exc:
        err.print(str(exc), soft_wrap=True)
        raise typer.Exit(2) from exc
    failed = 0
    for path, delivery in loaded:
        try:
            if isinstance(delivery, Exception):
                raise delivery
            name, body, kept = delivery
            target = endpoint(url, name)
            headers = signed_headers(name, body, keys.get(name, ""), kept)
            status, answer = post(target, body, headers)
        except (ReplayError, UnknownProviderError, OSError, ValueError) as exc:
            err.print(f"[red]skip[/red] {escape(str(path))}: {escape(str(exc))}", soft_wrap=True)
            failed += 1
            continue
        # A signed event Tenure cannot read is answered 2xx (so the provider stops retrying)
        # and recorded as rejected: to whoever replays it, that is a failure to look at.
        ok = 200 <= status < 300 and not rejected(answer)
        failed += not ok
        colour = "green" if ok else ("yellow" if 200 <= status < 300 else "red")
        line = f"[{colour}]{status}[/{colour}] {path.name} -> {target} {answer.strip()}"
        out.print(line, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def rejected(answer: str) -> bool:
    """Whether the webhook endpoint's answer says it recorded the event as rejected."""
    try:
        body = json.loads(answer)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("result") == "rejected"


def resign_sample(event: dict[str, Any]) -> dict[str, Any]:
    """Local only: give a sample API Gateway event whose signature is the placeholder a fresh
    signature with the local secret (TENURE_<PROVIDER>_WEBHOOK_SECRET, else the dev one)."""
    name = (event.get("pathParameters") or {}).get("provider")
    source = PROVIDERS.get(str(name))
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if source is None or PLACEHOLDER not in str(headers.get(source.signature_header, "")):
        return event
    env = f"TENURE_{source.name.upper()}_WEBHOOK_SECRET"
    if not os.environ.get(env):
        os.environ[env] = DEV_SECRET  # this process only: the local stack sets Stripe's
    secret = os.environ[env].split(",")[0].strip()
    text = event.get("body") or ""
    body = base64.b64decode(text) if event.get("isBase64Encoded") else text.encode()
    fresh = source.sign(body, secret, int(time.time()))
    resigned = dict(event)
    kept = {k: v for k, v in headers.items() if k != source.signature_header}
    resigned["headers"] = fresh | kept
    return resigned
