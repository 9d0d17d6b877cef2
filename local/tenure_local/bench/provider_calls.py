"""Provider calls per successful charge, counted by the sandbox provider of a simulation.

Every charge counts, not only renewals: first invoices, prorations, dunning retries,
card-update retries, and the sweeper's reconciliations. The sandbox counts each request it
answers about a payment, by payment and operation (a list counts for the payment it found,
and in `by_operation` whether or not it found one). Refunds and the customer's own
on-session confirmations come after a charge and are not the money path's: shown by
operation, left out of the ratios.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

# The requests a charge makes: the one request, and what reconciles or confirms an attempt.
CHARGE_REQUESTS = frozenset(
    {
        "create_and_confirm_payment",
        "create_payment",
        "confirm_payment",
        "retrieve_payment",
        "find_payment",
    }
)


class CountingProvider(Protocol):
    @property
    def requests(self) -> Mapping[str, int]: ...
    @property
    def payment_requests(self) -> Mapping[tuple[str, str], int]: ...


def per_successful_charge(provider: CountingProvider, state: Mapping[str, Any]) -> dict[str, Any]:
    """The figures for one simulation: `provider` is its sandbox after the run, `state` the
    `state.json` it wrote.

    - `per_successful_charge`: the requests made for the attempts that succeeded, per
      success (floor 1: the one request);
    - `per_attempt`: every charge request, declined and given-up attempts and lists that
      found nothing included, per attempt."""
    charges = list(state.get("charges", []))
    paid = {
        str(charge["payment_id"])
        for charge in charges
        if charge.get("outcome") == "succeeded" and charge.get("payment_id")
    }
    on_paid = sum(
        n
        for (payment_id, op), n in provider.payment_requests.items()
        if payment_id in paid and op in CHARGE_REQUESTS
    )
    by_operation = {op: int(n) for op, n in sorted(provider.requests.items()) if n}
    charge_requests = sum(n for op, n in by_operation.items() if op in CHARGE_REQUESTS)
    return {
        "attempts": len(charges),
        "succeeded": len(paid),
        "charge_requests": charge_requests,
        "by_operation": by_operation,
        "per_successful_charge": on_paid / len(paid) if paid else 0.0,
        "per_attempt": charge_requests / len(charges) if charges else 0.0,
    }
