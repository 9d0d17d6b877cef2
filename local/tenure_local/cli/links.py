"""`tenure links make`: a signed link to a customer page, made with the local link key.

The key is the one `tenure serve` uses: `TENURE_LINK_SECRET` when set, else the running local
stack's, else the local default. Links made here open pages on the local stack only; AWS
signs with its own generated secret.
"""

import os
from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.console import Console

from tenure.clock import SystemClock
from tenure.domain.ids import is_valid_id
from tenure.notify.customer_links import make_link
from tenure.notify.link_tokens import InvalidReturnUrlError, LinkPurpose
from tenure.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Signed links to the customer pages, locally.")
err = Console(stderr=True)
MAX_TTL_DAYS = 3650  # ten years: a link is for an inbox, and the date must stay a date


def _refused(problem: str) -> typer.Exit:
    err.print(f"{problem}; no link was made", soft_wrap=True, highlight=False, markup=False)
    return typer.Exit(2)


def local_link_secret() -> str:
    from tenure_local.stack.local_stack import DEV_LINK_SECRET, LocalStack

    if secret := os.environ.get("TENURE_LINK_SECRET"):
        return secret
    attached = LocalStack.attach()
    return (attached or {}).get("TENURE_LINK_SECRET") or DEV_LINK_SECRET


@app.command("make")
def make(
    customer: Annotated[str, typer.Option(help="the customer the link is for")],
    purpose: Annotated[LinkPurpose, typer.Option(help="which page it opens")],
    subject: Annotated[
        str, typer.Option(help="the invoice (card, confirm) or subscription (subscription)")
    ],
    base_url: Annotated[
        str | None, typer.Option(help="where the pages are served (default: TENURE_PUBLIC_URL)")
    ] = None,
    ttl_days: Annotated[
        int | None,
        typer.Option(
            min=1, max=MAX_TTL_DAYS, help="days the link works (default: TENURE_LINK_TTL_DAYS)"
        ),
    ] = None,
    return_url: Annotated[
        str | None,
        typer.Option(
            help=(
                "where the page's 'Back to <business>' link goes, signed into the link: https "
                "(or http to a loopback address when the pages are served locally), as the "
                "API's portal links take it"
            )
        ),
    ] = None,
) -> None:
    """Print a signed URL to the page for PURPOSE, for CUSTOMER and SUBJECT."""
    if not is_valid_id(customer):
        raise _refused(f"--customer {customer!r} is not a customer id (letters, digits, _ . -)")
    if not subject.strip() or not subject.isprintable() or " " in subject:
        raise _refused(f"--subject {subject!r} is not an invoice or subscription id")
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _refused(f"--base-url {base_url!r} must be an http(s) URL with a host")
    overrides: dict[str, object] = {"link_secret": local_link_secret(), "link_secret_arn": ""}
    if base_url:
        overrides["public_url"] = base_url
    if ttl_days is not None:
        overrides["link_ttl_days"] = ttl_days
    settings = Settings(**overrides)
    try:
        url = make_link(settings, customer, purpose, subject, SystemClock().now(), return_url)
    except InvalidReturnUrlError as exc:
        raise _refused(f"--return-url {exc}") from exc
    typer.echo(url)
