"""`tenure emails preview`: the customer emails, rendered from sample facts, as files to open.

`tenure emails preview upcoming_renewal --locale ar --out out/emails` writes
`out/emails/upcoming_renewal.ar.html` and `.txt`; `all` stands for every kind or every
locale. `--from out/demo` renders the invoice emails of real invoices from a simulation's
`state.json` (in the customer's time zone, in every locale asked), samples for the rest.
The business's name is the one setting emails and pages use (`TENURE_BUSINESS_NAME`).
`--screenshot` also saves a PNG of each HTML page from headless Chromium.
`tenure emails audit DIR` checks what a simulation sent (DIR/outbox).
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from tenure.domain.notices import NoticeKind

if TYPE_CHECKING:
    from tenure.notify.render import RenderedEmail
    from tenure.notify.samples import RealSample

# Rendering (Jinja2, Babel) is imported inside the commands: `tenure` starts without it.
app = typer.Typer(no_args_is_help=True, help="Customer emails, locally.")

out = Console()
err = Console(stderr=True)
ALL = "all"
KINDS = tuple(str(kind) for kind in NoticeKind)


def _choose(value: str, valid: tuple[str, ...], what: str) -> list[str]:
    if value == ALL:
        return list(valid)
    if value in valid:
        return [value]
    typer.echo(f"unknown {what} {value!r}; one of: {ALL}, {', '.join(valid)}", err=True)
    raise typer.Exit(2)


def render_sample(
    kind: str, locale: str, real: "dict[NoticeKind, RealSample] | None" = None
) -> "RenderedEmail":
    """`kind` in `locale`: from the real invoice in `real` when it has one, else the sample."""
    from tenure import bootstrap
    from tenure.notify.render import render
    from tenure.notify.samples import SAMPLE_TIMEZONE, sample_facts, sample_links

    found = (real or {}).get(NoticeKind(kind))
    if found is not None:
        facts, links, zone = found.facts, sample_links(), found.timezone
    else:
        (facts, links), zone = sample_facts(kind), SAMPLE_TIMEZONE
    business = bootstrap.settings().business_name
    return render(NoticeKind(kind), locale, facts, links, timezone=zone, business_name=business)


def real_samples(folder: Path) -> "dict[NoticeKind, RealSample]":
    """The invoices of a `tenure simulate` output folder to preview; exits 2 if unreadable."""
    import json

    from tenure.notify.samples import samples_from_state

    try:
        return samples_from_state(json.loads((folder / "state.json").read_text("utf-8")))
    except (OSError, ValueError) as exc:
        typer.echo(f"cannot read {folder / 'state.json'}: {exc}", err=True)
        raise typer.Exit(2) from exc


def write_previews(
    kinds: list[str],
    locales: list[str],
    out_dir: Path,
    real: "dict[NoticeKind, RealSample] | None" = None,
) -> list[Path]:
    """Render every kind in every locale first, then write: a failure writes nothing."""
    rendered = [(k, loc, render_sample(k, loc, real)) for k in kinds for loc in locales]
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, locale, email in rendered:
        for suffix, body in ((".html", email.html), (".txt", email.text)):
            path = out_dir / f"{kind}.{locale}{suffix}"
            path.write_text(body, encoding="utf-8")
            written.append(path)
    return written


@app.command()
def preview(
    kind: Annotated[str, typer.Argument(help=f"{', '.join(KINDS)} or {ALL}")],
    locale: Annotated[str, typer.Option(help=f"a language code (en, ru, ...) or {ALL}")] = "en",
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the files")] = Path(
        "out/emails"
    ),
    screenshots: Annotated[
        bool, typer.Option("--screenshot", help="also save a PNG of each page (Chromium)")
    ] = False,
    source: Annotated[
        Path | None,
        typer.Option("--from", help="a `tenure simulate` output folder: its real invoices"),
    ] = None,
) -> None:
    """Render KIND in LOCALE to DIR/<kind>.<locale>.html and .txt (real invoices with --from)."""
    from tenure.notify.render import SUPPORTED_LOCALES, RenderError

    kinds = _choose(kind, KINDS, "kind")
    locales = _choose(locale, SUPPORTED_LOCALES, "locale")
    real = real_samples(source) if source is not None else None
    if real is not None:
        for found_kind, found in sorted(real.items()):
            err.print(f"{found_kind}: invoice {found.invoice_id} of {source}")
    try:
        paths = write_previews(kinds, locales, out_dir, real)
    except RenderError as exc:
        typer.echo(f"cannot render: {exc}", err=True)
        raise typer.Exit(1) from exc
    except OSError as exc:  # rendered whole first (write_previews): nothing was written
        typer.echo(f"cannot write {out_dir}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from exc
    if screenshots:
        html = [p for p in paths if p.suffix == ".html"]
        try:
            paths += screenshot(html, out_dir)
        except Exception as exc:  # a missing browser must not lose the previews
            typer.echo(f"no screenshots: {exc}", err=True)
    for path in paths:
        typer.echo(str(path))


def screenshot(html_paths: list[Path], out_dir: Path) -> list[Path]:
    """Open each page in headless Chromium with the network cut off (an email must not need
    it) and save `out_dir/<page stem>.png` of the full page."""
    from tenure_local.browser import screenshot_files

    out_dir.mkdir(parents=True, exist_ok=True)
    return screenshot_files([(html, out_dir / f"{html.stem}.png") for html in html_paths], 720)


@app.command()
def audit(
    folder: Annotated[Path, typer.Argument(help="a `tenure simulate` output folder")],
) -> None:
    """Check a simulation's outbox: no email twice, none at night; counts by kind and language."""
    from rich.table import Table

    from tenure_local.runtime.outbox import audit as run_audit

    if not (folder / "outbox").is_dir():
        err.print(f"no outbox in {folder} (run `tenure simulate SCENARIO --out {folder}`)")
        raise typer.Exit(2)
    result = run_audit(folder)
    table = Table(title=f"{result.emails} emails in {folder / 'outbox'}")
    languages = sorted({lang for _, lang in result.by_kind})
    table.add_column("kind")
    for language in languages:
        table.add_column(language, justify="right")
    for kind in sorted({k for k, _ in result.by_kind}):
        table.add_row(kind, *(str(result.by_kind.get((kind, lang), 0)) for lang in languages))
    out.print(table)
    for title, problems in (
        ("sent twice", result.duplicates),
        ("outside 09:00-20:00 local", result.at_night),
        ("unreadable", result.unreadable),
    ):
        for problem in problems:
            err.print(f"[red]{title}[/red]: {problem}")
    if result.before_zone_change:
        out.print(
            f"{result.before_zone_change} email(s) sent before their customer's time zone "
            "changed: their hour is not checked"
        )
    if not result.clean:
        raise typer.Exit(1)
    out.print("no email sent twice, none at night")


def screenshot_reminders(folder: Path, languages: tuple[str, ...] = ("en", "ar")) -> list[Path]:
    """PNGs of the first upcoming-renewal email of each language in a simulation's outbox,
    kept under the report folder (`folder/emails/`)."""
    from tenure_local.runtime.outbox import extract_html, first_of

    pages = []
    for language in languages:
        found = first_of(folder, "upcoming_renewal", language)
        if found is not None:
            target = folder / "emails" / f"upcoming_renewal.{language}.html"
            pages.append(extract_html(found, target))
    return screenshot(pages, folder / "emails") if pages else []
