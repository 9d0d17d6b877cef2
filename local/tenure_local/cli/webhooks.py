"""`tenure webhooks replay`: post saved provider events, freshly signed, to a webhook endpoint.

For debugging a production incident: save the events (from the provider's dashboard, the
Stripe CLI's `stripe events retrieve`, or a sample in events/webhooks/), then replay them
against `tenure serve` or a deployed stack. A file may hold a provider's event as it was
sent (a Stripe `event` object, a Razorpay `entity: event` body) or an API Gateway v2 event
wrapping one (like the samples). Each is signed at the moment it is sent, with the secret in
the environment variable named by `--secret-env`, so the endpoint's 300 s tolerance holds.

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
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

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
    """`url` as given when it names a webhook route, else `url/webhooks/<provider>`."""
    return url if "/webhooks/" in url else f"{url.rstrip('/')}/webhooks/{name}"


@app.command("replay")
def replay(
    paths: Annotated[list[Path], typer.Argument(help="event files, or folders of *.json")],
    url: Annotated[
        str, typer.Option(help="the endpoint, or a base URL (then /webhooks/<provider>)")
    ] = "http://127.0.0.1:3000",
    secret_env: Annotated[
        str, typer.Option("--secret-env", help="variable holding the signing secret")
    ] = "TENURE_STRIPE_WEBHOOK_SECRET",
) -> None:
    """Post saved provider events to URL, each signed now with the secret in SECRET_ENV."""
    secret = (os.environ.get(secret_env) or "").split(",")[0].strip()
    if not secret:
        err.print(f"{secret_env} is not set: it must hold the endpoint's signing secret")
        raise typer.Exit(2)
    files = replay_files(paths)
    if not files:
        err.print("no event files found")
        raise typer.Exit(2)
    failed = 0
    for path in files:
        try:
            name, body, kept = load_delivery(path)
            target = endpoint(url, name)
            status, answer = post(target, body, signed_headers(name, body, secret, kept))
        except (ReplayError, OSError, ValueError) as exc:
            err.print(f"[red]skip[/red] {path}: {exc}")
            failed += 1
            continue
        # A signed event Tenure cannot read is answered 2xx (so the provider stops retrying)
        # and recorded as rejected: to whoever replays it, that is a failure to look at.
        ok = 200 <= status < 300 and not rejected(answer)
        failed += not ok
        colour = "green" if ok else ("yellow" if 200 <= status < 300 else "red")
        out.print(f"[{colour}]{status}[/{colour}] {path.name} -> {target} {answer.strip()}")
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
