"""The sandbox provider with its memory in a file, shared by the processes of one local stack.

`tenure serve --workers N` runs N processes, as Lambda runs N containers, but there is one
provider: a payment created in one process must be found, confirmed or replayed under its
idempotency key from any other, as Stripe would. Each call runs under an exclusive lock on the
file, from the state the previous call left, and writes the state back before the lock is let
go. Locally only (the lock is an advisory lock on a local file); a deployed sandbox stack keeps
one sandbox per container.
"""

import fcntl
import inspect
import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tenure.payments.razorpay_gateway import HttpRequest, HttpResponse
from tenure.payments.razorpay_sandbox import (
    SANDBOX_KEY,
    Clock,
    RazorpaySandbox,
    SandboxRazorpayGateway,
)
from tenure.payments.sandbox import SandboxGateway


class _SharedState[State]:
    """A sandbox's state in `path`, lent to one call at a time under the file's lock."""

    def __init__(self, path: Path, kind: type[State], make: Callable[[], State]) -> None:
        self._path = path
        self._lock_path = path.with_name(path.name + ".lock")
        self._kind = kind
        self._make = make

    @contextmanager
    def _held(self) -> Iterator[State]:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                sandbox = self._load()
                yield sandbox
                self._store(sandbox)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> State:
        try:
            data = self._path.read_bytes()
        except FileNotFoundError:
            return self._make()
        loaded = pickle.loads(data) if data else self._make()
        if not isinstance(loaded, self._kind):
            raise TypeError(f"{self._path} does not hold a sandbox's state")
        return loaded

    def _store(self, sandbox: State) -> None:
        # Written aside, then renamed: a process killed mid-write leaves the last state whole.
        temporary = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(pickle.dumps(sandbox))
        temporary.replace(self._path)


class SharedSandbox(_SharedState[SandboxGateway]):
    """Every public method of SandboxGateway, run on the state kept in `path`."""

    name = SandboxGateway.name

    def __init__(self, path: Path) -> None:
        super().__init__(path, SandboxGateway, SandboxGateway)

    def snapshot(self) -> SandboxGateway:
        """The shared state as it is now (to read: what it holds, the events it recorded)."""
        with self._held() as sandbox:
            return sandbox


def _shared(method: str) -> Callable[..., Any]:
    def call(self: SharedSandbox, *args: Any, **kwargs: Any) -> Any:
        with self._held() as sandbox:
            return getattr(sandbox, method)(*args, **kwargs)

    call.__name__ = method
    call.__doc__ = getattr(SandboxGateway, method).__doc__
    return call


for _method, _ in inspect.getmembers(SandboxGateway, inspect.isfunction):
    if not _method.startswith("_"):
        setattr(SharedSandbox, _method, _shared(_method))


class SharedRazorpaySandbox(_SharedState[RazorpaySandbox]):
    """The Razorpay sandbox as a transport whose every request is answered from the state
    kept in `path`. Its clock is this process's, given to the state for each request (a
    clock is not kept in the file)."""

    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        super().__init__(path, RazorpaySandbox, RazorpaySandbox)
        self._clock = clock

    def __call__(self, request: HttpRequest, timeout: float) -> HttpResponse:
        with self._held() as sandbox:
            sandbox.use_clock(self._clock)
            try:
                return sandbox(request, timeout)
            finally:
                sandbox.use_clock(None)

    def gateway(self) -> SandboxRazorpayGateway:
        """The real adapter, over the shared sandbox."""
        return SandboxRazorpayGateway(*SANDBOX_KEY, transport=self, max_retries=0)
