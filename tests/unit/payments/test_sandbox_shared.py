"""The sandbox shared by the processes of one local stack: one provider, whichever process asks."""

from pathlib import Path

import pytest

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money
from tenure.payments.gateway import IdempotencyConflictError
from tenure.payments.sandbox_shared import SharedSandbox


def create(sandbox: SharedSandbox, key: str = "charge:in_1:1:create", amount: int = 1000) -> str:
    return str(
        sandbox.create_payment(  # type: ignore[attr-defined]
            amount=Money(amount, "USD"),
            customer_id="cus_1",
            payment_method="pm_card_visa",
            invoice_id="in_1",
            attempt=1,
            idempotency_key=key,
            subscription_id="sub_1",
            tenure_customer_id="alice",
        )
    )


def test_a_payment_created_by_one_process_is_confirmed_by_another(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.pickle"
    one, other = SharedSandbox(state), SharedSandbox(state)

    payment = create(one)
    result = other.confirm_payment(payment, idempotency_key="charge:in_1:1:confirm")  # type: ignore[attr-defined]

    assert result.outcome is ChargeOutcome.SUCCEEDED
    assert one.snapshot().confirmations == 1


def test_an_idempotency_key_replays_across_processes(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.pickle"
    one, other = SharedSandbox(state), SharedSandbox(state)

    assert create(one) == create(other)
    with pytest.raises(IdempotencyConflictError):
        create(other, amount=2000)  # the same key with other parameters, as Stripe refuses


def test_a_file_that_is_not_a_sandbox_state_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.pickle"
    state.write_bytes(b"\x80\x04K\x01.")  # a pickled 1

    with pytest.raises(TypeError, match="does not hold a sandbox"):
        create(SharedSandbox(state))
