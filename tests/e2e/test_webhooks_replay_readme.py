"""The README's `tenure webhooks replay` line, run as written against `tenure serve`: it finds
the serving stack's secrets as `tenure invoke` finds the stack, and sends each sample to its
own provider's route."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

from serve_process import REPO, serving


def readme_replay_line() -> list[str]:
    for line in (REPO / "README.md").read_text().splitlines():
        if "tenure webhooks replay" in line:
            words = shlex.split(line.split("#")[0])
            return words[words.index("webhooks") :]
    raise AssertionError("the README no longer shows `tenure webhooks replay`")


def test_the_readme_replay_line_works_as_written_against_serve(tmp_path: Path) -> None:
    args = readme_replay_line()
    assert "http://127.0.0.1:3000/webhooks/stripe" in args  # what the README promises
    # Its own state file: another test's serve on the other worker keeps the default one.
    stack_state = {"TENURE_STACK_STATE": str(tmp_path / "stack.json")}
    with serving(tmp_path, stack_state) as (url, _):
        done = subprocess.run(
            [sys.executable, "-m", "tenure_local.cli"]
            + [a.replace("http://127.0.0.1:3000", url) for a in args],
            cwd=REPO,
            # The user's shell holds no secret: the serving stack's are found.
            env={k: v for k, v in os.environ.items() if not k.endswith("_WEBHOOK_SECRET")}
            | {"COLUMNS": "250"}
            | stack_state,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert done.returncode == 0, done.stdout + done.stderr
    samples = sorted((REPO / "events" / "webhooks").glob("*.json"))
    answered = [line for line in done.stdout.splitlines() if line.startswith("200 ")]
    assert len(answered) == len(samples), done.stdout
    assert f"razorpay-payment-captured.json -> {url}/webhooks/razorpay" in done.stdout
