"""A customer's chosen payment provider, and what follows it (the subscriptions' copy, the
charges, the mandate a payment method carries), read back the same from both repositories;
customers of the default provider keep their stored items exactly as before."""

from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.calendar import IntervalUnit
from tenure.domain.charges import Charge
from tenure.domain.customers import Customer, Payer, PaymentMethod
from tenure.domain.errors import ConcurrencyError
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceStatus
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.ports import Commit, Marker, Repository
from tenure.store import codec

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
MONTHLY = Plan(id="monthly", amount=49900, currency="INR", interval=IntervalUnit.MONTH)


def ravi(provider: str | None = "razorpay") -> Customer:
    return Customer(
        id="ravi",
        email="ravi@example.com",
        created_at=T0,
        default_payment_method="token_A",
        provider_customer_id="cust_A",
        provider=provider,
    )


def subscribed(repo: Repository, customer: Customer) -> Subscription:
    repo.commit(Commit(customers=[customer], plans=[MONTHLY]))
    sub = Subscription.subscribe("sub-1", customer.id, MONTHLY, T0)
    sub.copy_payer(customer.payer)
    change = Commit()
    change.add_subscription(sub)
    repo.commit(change)
    return sub


def test_a_customers_provider_reads_back_with_the_customer(repo: Repository) -> None:
    repo.commit(Commit(customers=[ravi()]))
    stored = repo.get_customer("ravi")
    assert stored is not None and stored.provider == "razorpay"
    assert stored.payer == Payer("ravi", "token_A", "cust_A", "razorpay")


def test_a_subscription_keeps_its_customers_provider_in_its_copy(repo: Repository) -> None:
    subscribed(repo, ravi())
    sub = repo.get_subscription("sub-1")
    assert sub is not None and sub.payer.provider == "razorpay"


def test_a_payer_copy_sets_and_clears_the_provider(repo: Repository) -> None:
    subscribed(repo, ravi(provider=None))
    repo.commit(Commit(payer_copies=[("sub-1", Payer("ravi", "token_B", "cust_B", "razorpay"))]))
    sub = repo.get_subscription("sub-1")
    assert sub is not None and sub.payer == Payer("ravi", "token_B", "cust_B", "razorpay")
    repo.commit(Commit(payer_copies=[("sub-1", Payer("ravi", "token_B", "cust_B"))]))
    cleared = repo.get_subscription("sub-1")
    assert cleared is not None and cleared.provider is None


@pytest.mark.parametrize(
    ("stored", "checked"),
    [
        pytest.param("razorpay", None, id="chosen, checked as default"),
        pytest.param(None, "razorpay", id="default, checked as chosen"),
        pytest.param("razorpay", "stripe", id="another provider"),
    ],
)
def test_a_payer_check_on_another_provider_writes_nothing(
    repo: Repository, stored: str | None, checked: str | None
) -> None:
    repo.commit(Commit(customers=[ravi(stored)]))
    marker = Marker("checked", T0 + timedelta(days=30))
    with pytest.raises(ConcurrencyError):
        repo.commit(
            Commit(payer_checks=[Payer("ravi", "token_A", "cust_A", checked)], markers=[marker])
        )
    assert not repo.has_marker("checked")


def test_a_payer_check_on_the_same_provider_lets_the_commit_through(repo: Repository) -> None:
    repo.commit(Commit(customers=[ravi()]))
    marker = Marker("checked", T0 + timedelta(days=30))
    repo.commit(Commit(payer_checks=[ravi().payer], markers=[marker]))
    assert repo.has_marker("checked")


def test_a_charge_remembers_the_provider_it_went_to(repo: Repository) -> None:
    sub = subscribed(repo, ravi())
    invoice = Invoice(
        "in_1", sub.id, "ravi", InvoiceKind.RENEWAL, T0, T0 + timedelta(days=28), "INR", [],
        InvoiceStatus.OPEN, T0, attempts=1,
    )  # fmt: skip
    charge = Charge("ch_in_1_1", "in_1", sub.id, "ravi", 1, 49900, "INR", T0, provider="razorpay")
    repo.commit(Commit(invoices=[invoice], charges=[charge]))
    stored = repo.get_charge("in_1", 1)
    assert stored is not None and stored.provider == "razorpay"


def test_a_payment_methods_mandate_reads_back(repo: Repository) -> None:
    repo.commit(Commit(customers=[ravi()]))
    upi = PaymentMethod(
        "token_U", "ravi", "razorpay", T0, brand="upi", mandate_kind="upi",
        mandate_max_amount=1_500_000,
    )  # fmt: skip
    card = PaymentMethod("token_C", "ravi", "razorpay", T0, brand="visa", last4="1111")
    repo.commit(Commit(payment_methods=[upi, card]))
    stored = {m.id: m for m in repo.list_payment_methods("ravi")}
    assert (stored["token_U"].mandate_kind, stored["token_U"].mandate_max_amount) == (
        "upi",
        1_500_000,
    )
    assert (stored["token_C"].mandate_kind, stored["token_C"].mandate_max_amount) == (None, None)


def test_items_of_the_default_providers_customers_carry_no_provider_attribute() -> None:
    # What keeps every stored byte of existing deployments and examples as it was.
    default = ravi(provider=None)
    sub = Subscription.subscribe("sub-1", "ravi", MONTHLY, T0)
    sub.copy_payer(default.payer)
    charge = Charge("ch_in_1_1", "in_1", sub.id, "ravi", 1, 49900, "INR", T0)
    method = PaymentMethod("token_C", "ravi", "sandbox", T0)
    assert "provider" not in codec.customer_to_attrs(default)
    assert "provider" not in codec.subscription_to_attrs(sub)
    assert "provider" not in codec.charge_to_attrs(charge)
    assert not {"mandate_kind", "mandate_max_amount"} & set(codec.payment_method_to_attrs(method))
    assert codec.customer_to_attrs(ravi())["provider"] == "razorpay"


def test_a_customers_phone_reads_back_and_a_clear_removes_it(repo: Repository) -> None:
    customer = ravi()
    customer.phone = "+919876543210"
    repo.commit(Commit(customers=[customer]))
    stored = repo.get_customer("ravi")
    assert stored is not None and stored.phone == "+919876543210"
    stored.phone = None
    repo.commit(Commit(customers=[stored]))
    cleared = repo.get_customer("ravi")
    assert cleared is not None and cleared.phone is None
    assert "phone" not in codec.customer_to_attrs(cleared)
