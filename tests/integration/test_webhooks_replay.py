"""`tenure webhooks replay` posts saved events, freshly signed, to `tenure serve`'s routes."""

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure import bootstrap
from tenure_local.cli.main import app
from tenure_local.runtime.server import make_server
from tenure_local.stack.local_stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "events" / "webhooks"


@pytest.fixture
def served(local_stack: LocalStack) -> Iterator[str]:
    bootstrap.use(None)
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        bootstrap.use(None)


def test_replaying_the_samples_against_serve(served: str, tmp_path: Path) -> None:
    accepted = [p for p in SAMPLES.glob("stripe-*.json") if "rejected" not in p.name]
    for path in accepted:
        (tmp_path / path.name).write_text(path.read_text())
    result = CliRunner().invoke(
        app, ["webhooks", "replay", str(tmp_path), "--url", served], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("200") >= len(accepted)
    again = CliRunner().invoke(app, ["webhooks", "replay", str(tmp_path), "--url", served])
    assert again.exit_code == 0


def test_a_bare_event_is_signed_and_a_wrong_secret_fails_the_run(
    served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = json.loads((SAMPLES / "stripe-charge-refunded.json").read_text())
    bare = tmp_path / "evt.json"
    bare.write_text(sample["body"])
    ok = CliRunner().invoke(app, ["webhooks", "replay", str(bare), "--url", served])
    assert ok.exit_code == 0, ok.output
    monkeypatch.setenv("NOT_THE_SECRET", "whsec_wrong")
    bad = CliRunner().invoke(
        app, ["webhooks", "replay", str(bare), "--url", served, "--secret-env", "NOT_THE_SECRET"]
    )
    assert bad.exit_code == 1 and "400" in bad.output
    unset = CliRunner().invoke(
        app, ["webhooks", "replay", str(bare), "--url", served, "--secret-env", "NOPE_UNSET"]
    )
    assert unset.exit_code == 2
