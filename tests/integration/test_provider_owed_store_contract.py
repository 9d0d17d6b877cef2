"""What a customer owes at the provider reads back the same from both repositories, and the
customer is found due for it, at its time and of its kind, until it is done."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tenure.domain.customers import Customer
from tenure.domain.due import DueKind
from tenure.domain.provider_owed import PhoneSync, ProviderCustomerPending, RegistrationPayment
from tenure.ports import Commit, Repository

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def saved(repo: Repository, customer: Customer) -> Customer:
    repo.commit(Commit(customers=[customer]))
    found = repo.get_customer(customer.id)
    assert found is not None
    return found


def due_kinds(repo: Repository, at: datetime) -> list[DueKind]:
    return [d.kind for d in repo.due(at) if d.entity_id == "ravi"]


def test_a_registration_owed_back_and_a_phone_owed_read_back_and_fall_due(
    repo: Repository,
) -> None:
    paid = RegistrationPayment(
        payment_id="pay_1",
        order_id="order_1",
        amount=100,
        currency="INR",
        at=T0,
        next_try_at=T0 + timedelta(minutes=5),
    )
    sync = PhoneSync(phone="+919812345678", asked_at=T0, next_try_at=T0 + timedelta(hours=1))
    customer = Customer(id="ravi", email="ravi@example.com", created_at=T0, provider="razorpay")
    customer.phone_sync, customer.registrations = sync, (paid,)

    found = saved(repo, customer)

    assert found.phone_sync == sync and found.registrations == (paid,)
    assert due_kinds(repo, T0) == []
    assert due_kinds(repo, T0 + timedelta(minutes=5)) == [DueKind.REGISTRATION_REFUND]
    found.registrations = (paid.refunded("rfnd_1", T0 + timedelta(minutes=5)),)
    found = saved(repo, found)
    assert found.registrations[0].refund_id == "rfnd_1"
    assert due_kinds(repo, T0 + timedelta(hours=1)) == [DueKind.PROVIDER_PHONE]
    found.phone_sync = replace(sync, sent_at=T0 + timedelta(hours=1))
    saved(repo, found)
    assert due_kinds(repo, T0 + timedelta(days=1)) == []


def test_a_provider_customer_being_made_reads_back_and_falls_due_until_stored(
    repo: Repository,
) -> None:
    making = ProviderCustomerPending.written("razorpay", "customer:ravi", T0)
    customer = Customer(id="ravi", email="ravi@example.com", created_at=T0, provider="razorpay")
    customer.provider_customer_pending = making

    found = saved(repo, customer)

    assert found.provider_customer_pending == making
    assert due_kinds(repo, T0) == []
    assert due_kinds(repo, making.next_try_at) == [DueKind.PROVIDER_CUSTOMER]
    # Left for a person: kept, and no longer due
    found.provider_customer_pending = making.refused("replay_window_passed")
    found = saved(repo, found)
    assert found.provider_customer_pending == making.refused("replay_window_passed")
    assert due_kinds(repo, T0 + timedelta(days=2)) == []
    # Stored with its id: the mark goes
    found.provider_customer_id, found.provider_customer_pending = "cust_1", None
    found = saved(repo, found)
    assert found.provider_customer_pending is None and found.provider_customer_id == "cust_1"


def test_a_customer_who_owes_nothing_is_stored_without_these_fields(repo: Repository) -> None:
    customer = Customer(id="ravi", email="ravi@example.com", created_at=T0)
    found = saved(repo, customer)
    assert found.phone_sync is None and found.registrations == ()
    assert found.provider_customer_pending is None
    assert due_kinds(repo, T0 + timedelta(days=400)) == []
