"""Each customer is charged through the provider they were created with: the default one
when they named none, the one they named otherwise; refunds and reconciliation follow the
charge to the provider that made it."""

from datetime import UTC, datetime, timedelta

import pytest
from test_reminders import REAL, RecordingMailer, fake_link

from tenure.domain.charges import ChargeOutcome
from tenure.domain.errors import ValidationFailedError
from tenure.domain.plans import Plan
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.services import cards, catalog, charging, refunds, subscriptions
from tenure.services.context import Services, UnknownProviderError
from tenure.services.reminders import send_due

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
VISA = payment_method_for("4242424242424242")
assert VISA is not None


class OtherSandbox(SandboxGateway):
    """A second provider in tests: the sandbox's behaviour under another name."""

    name = "razorpay"


def two_providers() -> tuple[Services, SandboxGateway, OtherSandbox]:
    default, other = SandboxGateway(), OtherSandbox()
    repo, clock = InMemoryRepository(), FixedClock(T0)
    svc = Services(repo=repo, clock=clock, gateway=default, gateways={"razorpay": other})
    catalog.create_plan(
        svc, Plan(id="basic", name="Basic", amount=1000, currency="INR", interval="month")
    )
    return svc, default, other


def paying(svc: Services, customer_id: str, provider: str | None) -> None:
    catalog.create_customer(svc, customer_id, f"{customer_id}@example.com", provider=provider)
    assert VISA is not None
    cards.update_payment_method(svc, customer_id, VISA, "sandbox", make_default=True)
    subscriptions.subscribe(svc, f"sub-{customer_id}", customer_id, "basic")


def test_a_customer_who_names_no_provider_is_charged_by_the_default_one() -> None:
    svc, default, other = two_providers()
    paying(svc, "asha", None)
    assert default.confirmations == 1 and other.confirmations == 0
    assert svc.repo.get_customer("asha").provider is None  # type: ignore[union-attr]


def test_a_customer_who_names_a_provider_is_charged_there_and_nowhere_else() -> None:
    svc, default, other = two_providers()
    paying(svc, "ravi", "razorpay")
    assert (default.confirmations, other.confirmations) == (0, 1)
    [invoice] = svc.repo.list_invoices("sub-ravi")
    [charge] = svc.repo.list_charges(invoice.id)
    assert (charge.provider, charge.outcome) == ("razorpay", ChargeOutcome.SUCCEEDED)
    [method] = svc.repo.list_payment_methods("ravi")
    assert method.provider == "razorpay"  # the card is kept where the customer's provider is
    sub = svc.repo.get_subscription("sub-ravi")
    assert sub is not None and sub.payer.provider == "razorpay"  # renewals charge from the copy


def test_a_renewal_from_the_subscriptions_copy_goes_to_the_customers_provider() -> None:
    svc, default, other = two_providers()
    paying(svc, "ravi", "razorpay")
    sub = svc.repo.get_subscription("sub-ravi")
    assert sub is not None
    assert isinstance(svc.clock, FixedClock)
    svc.clock.set(sub.current_period_end + timedelta(minutes=1))
    subscriptions.process_due(svc, sub.id, snapshot=sub)
    # A debit on a Razorpay mandate waits a day after its pre-debit email (test_mandate_debits)
    assert (default.confirmations, other.confirmations) == (0, 1)
    [renewal] = [i for i in svc.repo.list_invoices("sub-ravi") if i.status == "open"]
    assert renewal.next_attempt_at is not None
    send_due(svc, RecordingMailer(), REAL, fake_link, renewal.next_attempt_at - timedelta(days=1))
    svc.clock.set(renewal.next_attempt_at)
    charging.retry_invoice(svc, renewal.id)
    assert (default.confirmations, other.confirmations) == (0, 2)


def test_a_refund_goes_to_the_provider_that_took_the_payment() -> None:
    svc, default, other = two_providers()
    paying(svc, "ravi", "razorpay")
    [invoice] = svc.repo.list_invoices("sub-ravi")
    refunds.refund_invoice(svc, invoice.id, amount=400, reason=None, note=None)
    assert [e["type"] for e in other.events].count("refund.created") == 1
    assert not [e for e in default.events if e["type"] == "refund.created"]


def test_a_customer_naming_a_provider_this_deployment_lacks_is_refused_and_not_created() -> None:
    svc = Services(repo=InMemoryRepository(), clock=FixedClock(T0), gateway=SandboxGateway())
    with pytest.raises(UnknownProviderError, match="'razorpay' is not configured here"):
        catalog.create_customer(svc, "ravi", "ravi@example.com", provider="razorpay")
    assert svc.repo.get_customer("ravi") is None


def test_a_customer_naming_an_unknown_provider_is_refused_and_not_created() -> None:
    svc, _, _ = two_providers()
    with pytest.raises(ValidationFailedError, match="unknown payment provider 'paypal'"):
        catalog.create_customer(svc, "ravi", "ravi@example.com", provider="paypal")
    assert svc.repo.get_customer("ravi") is None


def test_the_default_provider_is_reached_by_its_name_too() -> None:
    svc, default, other = two_providers()
    assert svc.gateway_for(None) is default
    assert svc.gateway_for("sandbox") is default
    assert svc.gateway_for("razorpay") is other
    assert svc.provider_names() == ("sandbox", "razorpay")


def test_a_charge_whose_provider_is_gone_is_not_claimed() -> None:
    # Given a razorpay customer whose deployment later lost its razorpay configuration
    svc, _, _ = two_providers()
    paying(svc, "ravi", "razorpay")
    sub = svc.repo.get_subscription("sub-ravi")
    assert sub is not None
    lost = Services(repo=svc.repo, clock=svc.clock, gateway=SandboxGateway())
    assert isinstance(svc.clock, FixedClock)
    svc.clock.set(sub.current_period_end + timedelta(minutes=1))
    # When the renewal comes due, it is refused before any claim
    with pytest.raises(UnknownProviderError):
        subscriptions.process_due(lost, sub.id, snapshot=sub)
    assert [i.attempts for i in svc.repo.list_invoices("sub-ravi")] == [1]
