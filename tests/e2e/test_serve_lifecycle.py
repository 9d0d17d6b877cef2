"""`tenure serve` starting and stopping as a process: a taken port is refused before anything
boots, and a stop by SIGTERM (a service manager's, a CI job's) leaves no process behind, as
Ctrl-C does."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from serve_process import REPO, free_port


def tenure_serve(port: int, folder: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            *("-m", "tenure_local.cli", "serve", "--port", str(port)),
            *("--outbox", str(folder / "outbox"), "--no-schedules", *args),
        ],
        cwd=REPO,
        env=os.environ | {"COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from /proc (no psutil here)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended while we looked
        fields = text.rsplit(")", 1)[1].split()
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left


def test_serve_on_a_taken_port_says_so_at_once_and_boots_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        began = time.monotonic()

        proc = tenure_serve(port, tmp_path, "--workers", "2")
        stdout, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in stderr
    assert "--port" in stderr
    assert "Tenure API" not in stdout  # no stack was started to serve
    # The stack alone takes seconds to boot; the refusal comes before it.
    assert time.monotonic() - began < 20


@pytest.mark.parametrize(
    ("stop_with", "workers"),
    [(signal.SIGTERM, 2), (signal.SIGTERM, 1), (signal.SIGINT, 2)],
    ids=["sigterm-workers", "sigterm-one-process", "ctrl-c-workers"],
)
def test_serve_stopped_by_a_signal_shuts_its_stack_and_leaves_no_process_behind(
    tmp_path: Path, stop_with: signal.Signals, workers: int
) -> None:
    port = free_port()
    proc = tenure_serve(port, tmp_path, "--workers", str(workers))
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert proc.poll() is None, proc.communicate(timeout=60)
            assert time.monotonic() < deadline, "tenure serve did not start"
            time.sleep(0.3)
        children = descendants(proc.pid)
        # DynamoDB Local's JVM, and the workers when there are several.
        assert len(children) >= (1 + workers if workers > 1 else 1), children

        proc.send_signal(stop_with)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            # Its children too: DynamoDB Local's JVM holds the output pipes open, and
            # communicate() would wait for them for ever.
            leftover = descendants(proc.pid)
            proc.kill()
            for pid in leftover:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.communicate(timeout=60)

    assert proc.returncode == 0, stderr
    assert "stopped: the server, the schedules and the local stack are shut down" in stderr
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
