"""Provider calls per successful charge, as the bench reads them from a simulation's sandbox."""

from typing import Any

import pytest

from tenure.domain.money import Money
from tenure.payments.gateway import ProviderUnavailableError
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure_local.bench.provider_calls import per_successful_charge


def pay(sandbox: SandboxGateway, invoice: str, card: str = "4242424242424242") -> Any:
    method = payment_method_for(card)
    assert method is not None
    return sandbox.create_and_confirm_payment(
        amount=Money(1000, "USD"),
        customer_id="cus_alice",
        payment_method=method,
        invoice_id=invoice,
        attempt=1,
        idempotency_key=f"charge:{invoice}:1:create",
    )


def charge(invoice: str, result: Any) -> dict[str, Any]:
    return {"invoice": invoice, "outcome": str(result.outcome), "payment_id": result.payment_id}


def test_a_replayed_request_counts_for_its_charge_and_a_decline_only_per_attempt() -> None:
    # Given three attempts: one paid at once, one declined, one whose answer was lost and
    # that the sweeper replayed
    sandbox = SandboxGateway()
    paid = pay(sandbox, "in1")
    declined = pay(sandbox, "in2", "4000000000009995")
    sandbox.fail_next("timeout", on="pay")
    with pytest.raises(ProviderUnavailableError):
        pay(sandbox, "in3")
    replayed = pay(sandbox, "in3")
    sandbox.refund(payment_id=paid.payment_id, amount=None, idempotency_key="refund:in1")
    state = {"charges": [charge("in1", paid), charge("in2", declined), charge("in3", replayed)]}
    # When the bench reads the figures
    figures = per_successful_charge(sandbox, state)
    # Then the two successes took three requests, four requests made three attempts, and
    # the refund is shown but not counted
    assert figures["succeeded"] == 2
    assert figures["per_successful_charge"] == 1.5
    assert figures["per_attempt"] == 4 / 3
    assert figures["by_operation"] == {"create_and_confirm_payment": 4, "refund": 1}


def test_no_charge_divides_by_nothing() -> None:
    figures = per_successful_charge(SandboxGateway(), {"charges": []})
    assert (figures["per_successful_charge"], figures["per_attempt"]) == (0.0, 0.0)
