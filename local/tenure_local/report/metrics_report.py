"""A report folder: metrics.json from the simulated days, report.html and its screenshot.

The page itself is rendered by tenure.report, pure code the metrics function can share."""

import json
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from tenure.report.page import report_pieces
from tenure_local.browser import screenshot_files

WRITE_EVERY = 8192  # pieces of the page gathered before each write


class ReportInputError(ValueError):
    """A folder's files are not what `tenure simulate` writes (cut short, or another shape):
    no report is written from them, and an earlier report.html is left as it was."""


def build_simulation_metrics(
    services: Any, start: datetime, until: datetime, currency: str | None
) -> dict[str, Any]:
    """Aggregate every simulated day through the real metrics handler, then read the report.

    Runs inside the simulator: `services` are the ones its wiring gives the handlers."""
    from tenure.services import retention
    from tenure_local.runtime import functions

    first, last = start.date(), until.date()
    functions.invoke("metrics", {"from": first.isoformat(), "to": last.isoformat()})
    return retention.metrics_document(services, first, last, currency)


def reporting_currency(plans: Sequence[Any]) -> str | None:
    """REPORTING_CURRENCY if set, else the first plan's currency (docs/metrics.md)."""
    chosen = os.environ.get("REPORTING_CURRENCY", "").strip().upper()
    if chosen:
        return chosen
    return str(plans[0].currency) if plans else None


def write_metrics_json(out: Path, doc: dict[str, Any]) -> Path:
    path = out / "metrics.json"
    path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return path


def _read_json(path: Path) -> Any:
    try:
        found = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(found, dict):
        raise ReportInputError(f"{path} holds {type(found).__name__}; expected a JSON object")
    return found


def _read_events(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    events = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReportInputError(f"{path} line {number} is not JSON: {exc}") from None
        if not isinstance(event, dict):
            raise ReportInputError(f"{path} line {number} is not an event (a JSON object)")
        events.append(event)
    return events


def write_report(
    out: Path,
    state: dict[str, Any] | None = None,
    rejected: Sequence[dict[str, Any]] = (),
    title: str = "Tenure report",
    metrics: dict[str, Any] | None = None,
    events: Iterable[dict[str, Any]] | None = None,
) -> Path:
    """Write DIR/report.html from what is given, reading the rest from DIR's files; files
    that cannot make a report raise ReportInputError, and no report.html is half written."""
    state = state if state is not None else _read_json(out / "state.json")
    metrics = metrics if metrics is not None else _read_json(out / "metrics.json")
    events = events if events is not None else _read_events(out / "events.jsonl")
    path = out / "report.html"
    writing = path.with_name(".report.html.part")
    pieces: list[str] = []
    try:
        with writing.open("w") as fh:  # in batches of pieces: a year's report is never whole
            for piece in report_pieces(title, metrics, state, events, rejected):
                pieces.append(piece)
                if len(pieces) == WRITE_EVERY:
                    fh.write("".join(pieces))
                    pieces.clear()
            fh.write("".join(pieces))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        writing.unlink(missing_ok=True)
        raise ReportInputError(
            f"cannot build a report from {out}: its metrics.json or state.json is not as "
            f"`tenure simulate` writes them ({type(exc).__name__}: {exc})"
        ) from exc
    writing.replace(path)
    return path


def screenshot(report: Path, png: Path | None = None) -> Path:
    """Render the report in headless Chromium (network blocked) and save a full-page PNG."""
    png = png or report.with_suffix(".png")
    screenshot_files([(report, png)], width=1100)
    return png
