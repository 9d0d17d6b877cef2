"""The `tenure` command: run Tenure's functions locally, replay scenarios, write reports."""

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tenure_local.cli.backfill import app as backfill_app
from tenure_local.cli.bench import bench
from tenure_local.cli.chaos import app as chaos_app
from tenure_local.cli.emails import app as emails_app
from tenure_local.cli.export import export_business
from tenure_local.cli.imports import app as import_app
from tenure_local.cli.links import app as links_app
from tenure_local.cli.run_lines import print_chaos, print_engine
from tenure_local.cli.webhooks import app as webhooks_app

if TYPE_CHECKING:
    from tenure_local.simulator.chaos import Chaos
    from tenure_local.simulator.scenario import ScenarioError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


class EngineChoice(StrEnum):
    """`--engine`: tenure_local.simulator.engines."""

    dynamodb_local = "dynamodb-local"
    memory = "memory"


err = Console(stderr=True)
out = Console()


def _print_version(asked: bool) -> None:
    if not asked:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("tenure")
    except PackageNotFoundError as exc:  # run from a checkout that was never installed
        err.print("tenure is not installed, so it has no version: run `make venv`")
        raise typer.Exit(1) from exc
    out.print(f"tenure {found}", highlight=False)
    raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """The `tenure` command: run Tenure's functions locally, replay scenarios, write reports."""


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="scenario file (YAML or JSON)")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the results")] = Path(
        "out/sim"
    ),
    seed: Annotated[int, typer.Option(help="drives randomness only, never ids")] = 0,
    webhook_chaos: Annotated[
        bool,
        typer.Option(help="deliver webhooks late (hours), duplicated and reordered, by the seed"),
    ] = False,
    chaos: Annotated[
        str | None,
        typer.Option(
            help="inject faults at seeded points: any of crashes,throttling,timeouts,webhooks "
            "(comma-separated) or all; see docs/reliability.md",
        ),
    ] = None,
    screenshot: Annotated[
        bool, typer.Option(help="also save DIR/report.png from headless Chromium")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="also print the engine's statistics (speed, AWS calls)"
        ),
    ] = False,
    engine: Annotated[
        EngineChoice,
        typer.Option(
            help="what holds the table, queue and email: DynamoDB Local with moto, or memory "
            "(in-process, same handlers and outputs, much faster)",
        ),
    ] = EngineChoice.dynamodb_local,
    compare: Annotated[
        Path | None,
        typer.Option(
            help="what-if: also run a programs file (programs/coupons/dunning blocks) or a "
            "second scenario; both on the memory engine whatever --engine says, into OUT/a and "
            "OUT/b, then OUT/compare.html (docs/compare.md)",
        ),
    ] = None,
) -> None:
    """Replay SCENARIO on a simulated clock through the real handlers and the local stack;
    end with the business's numbers (MRR, churn, payments recovered, emails sent)."""
    if compare is not None:
        from tenure_local.cli.compare import run_comparison

        return run_comparison(scenario, compare, out_dir, seed, bool(chaos or webhook_chaos))
    from tenure_local.simulator.chaos import ChaosOptionError, parse_kinds
    from tenure_local.simulator.engines import EngineOptionError, engine_named
    from tenure_local.simulator.out_folder import OutFolderError
    from tenure_local.simulator.scenario import ScenarioError, load
    from tenure_local.simulator.simulate import Simulator

    kinds: frozenset[str] = frozenset()
    if chaos is not None:
        try:
            kinds = parse_kinds(chaos)
        except ChaosOptionError as exc:
            err.print(f"[red]--chaos[/red]: {exc}")
            raise typer.Exit(2) from exc
    if webhook_chaos:  # the older spelling of --chaos webhooks
        kinds |= {"webhooks"}
    try:
        parsed = load(scenario)
    except ScenarioError as exc:
        _print_problems(scenario, exc)
        raise typer.Exit(2) from exc
    with Progress(
        TextColumn("[bold]simulating[/bold]"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal and os.environ.get("TENURE_PROGRESS") != "1",
    ) as progress:
        task = progress.add_task("", total=1.0)

        def report(fraction: float, label: str) -> None:
            progress.update(task, completed=fraction, description=label)

        try:
            result = Simulator(
                parsed,
                out_dir,
                seed=seed,
                on_progress=report,
                webhook_chaos="webhooks" in kinds,
                chaos=_chaos(kinds, seed),
                engine=engine_named(engine.value),
            ).run()
        except EngineOptionError as exc:
            err.print(f"[red]--engine {engine.value}[/red]: {escape(str(exc))}")
            raise typer.Exit(2) from exc
        except OutFolderError as exc:  # checked before the run: nothing ran, nothing written
            err.print(f"[red]--out[/red]: {escape(str(exc))}; nothing was run", soft_wrap=True)
            raise typer.Exit(2) from exc
    if verbose:
        print_engine(result)
    if result.rejected:
        err.print(f"[yellow]{len(result.rejected)} action(s) refused by the API[/yellow]:")
        for item in result.rejected:
            err.print(f"  {item['at']} {item['where']}: {item['status']} {item['response']}")
    if result.chaos:
        print_chaos(result.chaos, result.out)
    if screenshot:
        _screenshot(result.out / "report.html")
        _email_screenshots(result.out)
    _print_business(result.out)
    emails = len(list((result.out / "outbox").glob("*.eml")))
    # Unwrapped whatever the width: scripts read these two lines for the paths.
    out.print(f"outbox: {emails} emails in {(result.out / 'outbox').resolve()}", soft_wrap=True)
    out.print(f"report: {(result.out / 'report.html').resolve()}", soft_wrap=True)


def _print_business(folder: Path) -> None:
    from tenure_local.simulator.run_summary import SummaryInputError, business_lines

    try:
        lines = business_lines(folder)
    except SummaryInputError as exc:  # the files are written; a summary must not fail the run
        err.print(f"[yellow]no summary[/yellow]: {escape(str(exc))}")
        return
    for line in lines:
        out.print(line, highlight=False, soft_wrap=True)


def _print_problems(scenario: Path, exc: "ScenarioError") -> None:
    """Every problem of the file, one a line and unwrapped, so each can be read (or grepped)
    whole; the file's own text is never read as markup."""
    count = len(exc.problems)
    err.print(
        f"[red]invalid scenario[/red] {escape(str(scenario))}: "
        f"{count} problem{'s' if count != 1 else ''}, nothing was run",
        soft_wrap=True,
    )
    for problem in exc.problems:
        err.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)


def _chaos(kinds: frozenset[str], seed: int) -> "Chaos | None":
    """The faults to inject beyond the webhook courier's (which the simulator drives)."""
    from tenure_local.simulator.chaos import Chaos

    if not kinds - {"webhooks"}:
        return None  # webhooks only: the courier's chaos, exactly as --webhook-chaos
    return Chaos(kinds=kinds, seed=seed)


@app.command()
def invoke(
    function: Annotated[str, typer.Argument(help="api, webhooks, renewals-scheduler, ...")],
    event: Annotated[Path, typer.Option("--event", "-e", help="event JSON file")],
    report_out: Annotated[
        Path,
        typer.Option(help="where `invoke metrics` copies the report it stored in the bucket"),
    ] = Path("out/local-report"),
) -> None:
    """Run functions/FUNCTION/app.py with EVENT against the local stack; print the result.
    The metrics function also stores its report in the stack's bucket: it is copied to
    --report-out, whose path is said on stderr."""
    from tenure_local.runtime import functions
    from tenure_local.stack.local_stack import LocalStack

    if function not in functions.HANDLERS:
        err.print(f"unknown function {function!r}; one of: {', '.join(sorted(functions.HANDLERS))}")
        raise typer.Exit(2)
    try:
        payload = json.loads(event.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # unreadable, not UTF-8, or not JSON
        err.print(f"cannot read event {event}: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from exc
    if not isinstance(payload, dict):
        kind = "an array" if isinstance(payload, list) else "a single value"
        kind = "a string" if isinstance(payload, str) else kind
        err.print(f"cannot read event {event}: it holds {kind}; expected a JSON object")
        raise typer.Exit(2)
    attached = LocalStack.attach()
    if attached is not None:
        os.environ.update(attached)
        _invoke_and_print(function, payload, report_out)
    else:
        with LocalStack() as stack:
            stack.apply_env()
            # Within the stack's life: an ephemeral stack's report bucket goes with it.
            _invoke_and_print(function, payload, report_out)


def _invoke_and_print(function: str, payload: dict[str, object], report_out: Path) -> None:
    from tenure_local.runtime import functions

    try:
        result = functions.invoke(function, _resigned(function, payload))
    except Exception as exc:  # what Lambda reports as errorType and errorMessage, no traceback
        err.print(
            f"{function} failed on this event: {type(exc).__name__}: {exc} (is it an event "
            f"{function} takes? events/ holds samples)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from exc
    out.print_json(json.dumps(result, default=str))
    if function == "metrics" and isinstance(result, dict) and result.get("report") is True:
        _copy_shelved_report(report_out)


def _copy_shelved_report(folder: Path) -> None:
    """Copy the report a metrics run stored in the stack's bucket to FOLDER."""
    from tenure import bootstrap
    from tenure_local.cli.report import ShelvedReportError, fetch_shelved_report

    wired = bootstrap.wiring()
    bucket = wired.settings.report_bucket
    try:
        path = fetch_shelved_report(wired.client("s3"), bucket, folder)
    except ShelvedReportError as exc:
        err.print(escape(str(exc)), soft_wrap=True, highlight=False)
        raise typer.Exit(1) from exc
    err.print(f"report: {path.resolve()} (from s3://{bucket}/reports/)", soft_wrap=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="bind address (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 3000,
    outbox: Annotated[
        Path, typer.Option(help="where a copy of every email sent is written (.eml)")
    ] = Path("out/serve/outbox"),
    schedules: Annotated[
        bool,
        typer.Option(help="run the renewals every minute and the reminders every hour"),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="processes serving requests, each one at a time as a Lambda container does",
        ),
    ] = 1,
) -> None:
    """Start the local AWS stack and serve the API, webhook and page routes on HOST:PORT.
    Ctrl-C or SIGTERM stops it all: the workers, the schedules, DynamoDB Local and moto."""
    import signal
    import tempfile

    from tenure_local.runtime.server import PortUnavailableError, Workers, bind, listen
    from tenure_local.stack.local_stack import LocalStack
    from tenure_local.stack.schedules import LocalSchedules
    from tenure_local.stack.webhooks_out import LocalWebhooksOut

    # The port first: a taken one is said at once, before a stack boots for nothing.
    try:
        server = bind(host, port, workers)
    except PortUnavailableError as exc:
        err.print(f"[red]cannot serve[/red]: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from exc

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # a service manager's stop cleans up as Ctrl-C does

    signal.signal(signal.SIGTERM, stop)
    os.environ["TENURE_OUTBOX_DIR"] = str(outbox.resolve())
    shared = tempfile.TemporaryDirectory(prefix="tenure-serve-")
    if workers > 1 and not os.environ.get("TENURE_SANDBOX_STATE"):
        # One sandbox provider for every process (a file of the caller's choosing, or ours).
        os.environ["TENURE_SANDBOX_STATE"] = str(Path(shared.name) / "sandbox.pickle")
    with shared, LocalStack() as stack:
        stack.apply_env()
        base = f"http://{host}:{server.server_address[1]}"
        os.environ["TENURE_PUBLIC_URL"] = base  # email links open this server's pages
        stack.write_state()
        out.print(f"Tenure API   {base}/v1  (docs: {base}/openapi.json)")
        out.print(f"Webhooks     {base}/webhooks/{{provider}}")
        out.print(f"Pages        {base}/pages/...  (links: tenure links make --base-url {base})")
        out.print(f"Outbox       {outbox.resolve()}  (every email sent, as .eml)")
        out.print(f"Dev token    {stack.env['TENURE_API_TOKEN']}")
        out.print(
            f"Try: curl -H 'Authorization: Bearer {stack.env['TENURE_API_TOKEN']}' {base}/v1/plans"
        )
        sys.stdout.flush()
        if workers > 1:
            out.print(f"Workers      {workers} processes, one request at a time each")
        clock = None
        if schedules:
            clock = LocalSchedules(stack.client("sqs"), stack.env["RENEWAL_QUEUE_URL"])
            clock.start()
        outbound = LocalWebhooksOut.started_for(stack)  # endpoints registered get every event
        try:
            if isinstance(server, Workers):
                server.start()  # after TENURE_PUBLIC_URL: the workers inherit it
                server.wait()
            else:
                listen(server)
                server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            outbound.stop()
            if clock is not None:
                clock.stop()
            if isinstance(server, Workers):
                server.stop()
            else:
                server.server_close()
    err.print("stopped: the server, the schedules and the local stack are shut down")


@app.command()
def report(
    directory: Annotated[
        Path | None, typer.Argument(help="a folder written by `tenure simulate`")
    ] = None,
    screenshot: Annotated[
        bool, typer.Option(help="also save DIR/report.png from headless Chromium")
    ] = False,
    table: Annotated[
        str | None,
        typer.Option(help="build the report from this deployed table (your AWS credentials)"),
    ] = None,
    region: Annotated[str | None, typer.Option(help="the table's AWS region")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="folder for the report of --table")
    ] = None,
) -> None:
    """Rewrite DIR/report.html from DIR's metrics.json, state.json and events.jsonl; or, with
    --table, write report.html, metrics.json and monthly.csv from a deployed table."""
    from tenure_local.report.metrics_report import ReportInputError, write_report

    if table is not None:
        if directory is not None:
            err.print("give a folder or --table, not both (--out names the folder for --table)")
            raise typer.Exit(2)
        _report_from_table(table, region, out_dir or Path("out/report"), screenshot)
        return
    if directory is None or out_dir is not None or region is not None:
        err.print("give a folder written by `tenure simulate`, or --table NAME [--region R]")
        raise typer.Exit(2)
    found = [n for n in ("metrics.json", "state.json") if (directory / n).is_file()]
    if not found:
        err.print(f"{directory} holds neither metrics.json nor state.json")
        raise typer.Exit(2)
    for name in found:
        try:
            json.loads((directory / name).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            err.print(f"cannot read {directory / name}: {exc}")
            raise typer.Exit(2) from exc
    try:
        path = write_report(directory, title="Tenure report")
    except ReportInputError as exc:
        err.print(f"{exc}; no report written", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    if screenshot:
        _screenshot(path)
    out.print(f"report: {path.resolve()}")


def _report_from_table(table: str, region: str | None, folder: Path, screenshot: bool) -> None:
    from tenure_local.cli.report import TableReportError, report_from_table

    try:
        path = report_from_table(table, folder, region)
    except TableReportError as exc:
        err.print(escape(str(exc)), soft_wrap=True, highlight=False)
        raise typer.Exit(2) from exc
    if screenshot:
        _screenshot(path)
    out.print(f"report: {path.resolve()}", soft_wrap=True)


def _email_screenshots(folder: Path) -> None:
    from tenure_local.cli.emails import screenshot_reminders

    try:
        for png in screenshot_reminders(folder):
            out.print(f"email screenshot: {png}")
    except Exception as exc:  # a missing browser must not fail the simulation
        err.print(f"[yellow]no email screenshots[/yellow]: {exc}")


def _screenshot(path: Path) -> None:
    from tenure_local.report.metrics_report import screenshot

    try:
        png = screenshot(path)
    except Exception as exc:  # a missing browser must not lose the report itself
        err.print(f"[yellow]no screenshot[/yellow]: {exc}")
        return
    err.print(f"screenshot: {png.resolve()}")


def _resigned(function: str, payload: dict[str, object]) -> dict[str, object]:
    """Local only: sample webhook events carry a placeholder signature (`t=SAMPLE`), signed
    now with the local secret so the 300 s tolerance holds (docs/webhooks.md)."""
    if function != "webhooks" or not isinstance(payload, dict):
        return payload
    from tenure_local.cli.webhooks import resign_sample

    return resign_sample(payload)


metrics_app = typer.Typer(no_args_is_help=True, help="Retention metrics from a report folder.")
charges_app = typer.Typer(no_args_is_help=True, help="The money a simulation moved.")
app.add_typer(metrics_app, name="metrics")
app.add_typer(charges_app, name="charges")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(backfill_app, name="backfill")
app.add_typer(emails_app, name="emails")
app.add_typer(links_app, name="links")
app.add_typer(chaos_app, name="chaos")
app.command()(bench)
app.add_typer(import_app, name="import")
app.command("export")(export_business)


@metrics_app.command("export")
def metrics_export(
    directory: Annotated[Path, typer.Argument(help="a folder holding metrics.json")] = Path(
        "out/demo"
    ),
    format_: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    table: Annotated[str, typer.Option(help="monthly, daily, cohorts or exit_reasons")] = "monthly",
    currency: Annotated[
        str | None, typer.Option(help="another currency than the reporting one")
    ] = None,
    to: Annotated[
        Path | None, typer.Option("--out", help="file to write (default: stdout)")
    ] = None,
) -> None:
    """Export one table of DIR/metrics.json for a spreadsheet."""
    from tenure.report.csv_export import export_csv, figures_in

    try:
        doc = json.loads((directory / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        err.print(f"cannot read {directory / 'metrics.json'}: {exc}")
        raise typer.Exit(2) from exc
    if format_ not in ("csv", "json"):
        err.print(f"unknown format {format_!r}; csv or json")
        raise typer.Exit(2)
    try:
        if format_ == "csv":
            text = export_csv(doc, table, currency and currency.upper())
        else:
            part = figures_in(doc, table, currency and currency.upper())
            text = json.dumps(part.get(table), indent=2) + "\n"
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from exc
    if to is None:
        sys.stdout.write(text)
        return
    try:
        to.write_text(text)
    except OSError as exc:
        err.print(f"cannot write {to}: {exc.strerror or exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from exc
    err.print(f"wrote {to}")


@charges_app.command("audit")
def charges_audit(
    folder: Annotated[Path, typer.Argument(help="a `tenure simulate` output folder")],
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
) -> None:
    """Check a simulation's charges: each paid invoice charged exactly once, no blind retry
    after a hard decline or a required authentication; what dunning recovered."""
    from tenure_local.simulator.charges_audit import AuditInputError, audit, load

    try:
        state, events = load(folder)
        result = audit(state, events)
    except AuditInputError as exc:
        err.print(str(exc), soft_wrap=True)
        raise typer.Exit(2) from exc
    except (KeyError, TypeError, ValueError) as exc:
        err.print(
            f"{folder / 'state.json'} is not in the shape `tenure simulate` writes: {exc!r}",
            soft_wrap=True,
        )
        raise typer.Exit(2) from exc
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        out.print(
            f"{result.invoices:,} invoices ({result.paid_invoices:,} paid), {result.charges:,} "
            f"charges: {result.succeeded:,} succeeded, {result.soft_declines:,} soft declines, "
            f"{result.hard_declines:,} hard declines, {result.authentication_required:,} "
            f"needing authentication, {result.unknown_or_pending:,} unknown or pending"
        )
        out.print(
            f"recovered after a failed attempt: {result.recovered:,} invoices "
            f"({result.recovered_after_card_change:,} after a card change)"
        )
        out.print(
            f"provider calls: {result.calls_per_attempt:.2f} per attempt, "
            f"{result.calls_per_successful_charge:.2f} per successful charge"
        )
        for finding in result.findings:
            err.print(f"[red]{finding.rule}[/red]: {finding.subject}: {finding.detail}")
        if result.ok:
            out.print("every paid invoice charged exactly once; no blind retry")
    if not result.ok:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
