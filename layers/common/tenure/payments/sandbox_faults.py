"""Faults the sandbox provider injects on request (`SandboxGateway.fail_next`): timeouts, rate
limits and saved server errors, queued per operation, so that tests and scenarios can drive
every way a call to Stripe goes wrong."""

from dataclasses import dataclass
from typing import Literal

from tenure.payments.gateway import ProviderUnavailableError, RateLimitedError

FaultKind = Literal["timeout", "rate_limit", "server_error"]
FaultOn = Literal["create", "confirm", "retrieve", "pay", "find", "refund", "erase", "phone"]
_FAULT_KINDS = ("timeout", "rate_limit", "server_error")
_FAULT_ON = ("create", "confirm", "retrieve", "pay", "find", "refund", "erase", "phone")


@dataclass(slots=True)
class _Fault:
    kind: FaultKind
    on: FaultOn
    times: int


class Faults:
    """The faults still to come, in the order they were asked for."""

    def __init__(self) -> None:
        self._queued: list[_Fault] = []

    def add(self, kind: FaultKind, times: int, on: FaultOn) -> None:
        if kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}")
        if on not in _FAULT_ON:
            raise ValueError(f"faults apply to {', '.join(_FAULT_ON)}, not {on!r}")
        if kind == "server_error" and on != "pay":
            raise ValueError("a saved server error applies to pay only")
        if times < 1:
            raise ValueError("times must be >= 1")
        self._queued.append(_Fault(kind, on, times))

    def next(self, on: FaultOn) -> FaultKind | None:
        """The fault the next call of `on` meets, if any (used up as it is met)."""
        for fault in self._queued:
            if fault.on == on:
                fault.times -= 1
                if fault.times == 0:
                    self._queued.remove(fault)
                return fault.kind
        return None

    def before(self, on: FaultOn) -> FaultKind | None:
        """The fault of the call of `on` about to be made: a rate limit is raised now, before
        anything happens; any other is returned, for `after`."""
        fault = self.next(on)
        if fault == "rate_limit":
            raise RateLimitedError(f"sandbox: too many requests ({on})", code="rate_limit")
        return fault

    @staticmethod
    def after(fault: FaultKind | None, on: FaultOn, payment_id: str) -> None:
        """A timeout is raised once the call took effect: the caller never hears the answer."""
        if fault == "timeout":
            raise ProviderUnavailableError(
                f"sandbox: {on} of {payment_id} timed out after it took effect", code="timeout"
            )
