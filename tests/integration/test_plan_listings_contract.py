"""One contract, two repositories: a new installment (or repayment) plan joins its customer's
list in the commit that makes it, only while the customer is there and not erased, and a
write of the customer read before it joined loses (tenure.listings)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.collection_cases import CollectionCase, CollectionsPolicy
from tenure.domain.customers import Customer, PaymentMethod
from tenure.domain.errors import ConcurrencyError, NotFoundError
from tenure.domain.installments import InstallmentPlan
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.ports import Commit, CopyCheck, Repository

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
BASIC = Plan(id="basic", amount=1000, currency="USD", interval="month")


def stored_alice(repo: Repository) -> Customer:
    repo.commit(Commit(customers=[Customer("alice", "alice@example.com", T0)]))
    alice = repo.get_customer("alice")
    assert alice is not None
    return alice


def plan(plan_id: str, customer_id: str = "alice") -> InstallmentPlan:
    return InstallmentPlan.create(plan_id, customer_id, 30000, "USD", 3, "month", "Sofa", T0, T0)


def making(*plans: InstallmentPlan, customers: tuple[Customer, ...] = ()) -> Commit:
    change = Commit(customers=list(customers))
    for each in plans:
        change.add_installment_plan(each)
    return change


def test_new_plans_join_their_customers_list_and_a_write_read_before_loses(
    repo: Repository,
) -> None:
    # Given alice as read before two plans are made for her
    alice = stored_alice(repo)
    repo.commit(making(plan("ipl-1"), plan("ipl-2")))
    stored = repo.get_customer("alice")
    assert stored is not None and stored.installment_plan_ids == {"ipl-1", "ipl-2"}
    assert stored.version == alice.version  # event ids are made from it: it stays
    # When a change made from that read (an erasure, say) is committed, it loses whole
    alice.name = "Alice A."
    with pytest.raises(ConcurrencyError):
        repo.commit(Commit(customers=[alice]))
    again = repo.get_customer("alice")
    assert again is not None and again.name == ""
    # And one made from a fresh read is written, list and all
    again.name = "Alice A."
    repo.commit(Commit(customers=[again]))
    last = repo.get_customer("alice")
    assert last is not None and last.installment_plan_ids == {"ipl-1", "ipl-2"}
    assert last.name == "Alice A."


def test_a_plan_and_a_subscription_join_one_customer_in_one_commit(repo: Repository) -> None:
    alice = stored_alice(repo)
    sub = Subscription.subscribe("sub-1", "alice", BASIC, T0)
    sub.copy_payer(alice.payer)
    sub.listed = True
    change = making(plan("ipl-1"))
    change.add_subscription(sub)
    repo.commit(change)
    stored = repo.get_customer("alice")
    assert stored is not None
    assert (stored.subscription_ids, stored.installment_plan_ids) == ({"sub-1"}, {"ipl-1"})


def test_a_new_plan_joins_the_list_of_a_customer_written_with_it(repo: Repository) -> None:
    alice = stored_alice(repo)
    alice.name = "Alice A."
    repo.commit(making(plan("ipl-1"), customers=(alice,)))
    stored = repo.get_customer("alice")
    assert stored is not None and stored.installment_plan_ids == {"ipl-1"}
    assert alice.installment_plan_ids == {"ipl-1"}  # as written: the next write keeps it
    alice.name = "Alice B."
    repo.commit(Commit(customers=[alice]))
    last = repo.get_customer("alice")
    assert last is not None and last.installment_plan_ids == {"ipl-1"}


def test_a_plan_for_an_erased_customer_is_refused_and_writes_nothing(repo: Repository) -> None:
    alice = stored_alice(repo)
    repo.commit(Commit(customers=[replace(alice, erased_at=T0)]))
    with pytest.raises(ConcurrencyError):
        repo.commit(making(plan("ipl-1")))
    assert repo.get_installment_plan("ipl-1") is None
    stored = repo.get_customer("alice")
    assert stored is not None and stored.installment_plan_ids == frozenset()


def test_a_plan_for_a_customer_not_there_is_refused_and_writes_nothing(repo: Repository) -> None:
    with pytest.raises(NotFoundError):
        repo.commit(making(plan("ipl-1", "nobody")))
    assert repo.get_installment_plan("ipl-1") is None
    assert repo.get_customer("nobody") is None


def test_a_repayment_plan_joins_its_customers_list_too(repo: Repository) -> None:
    stored_alice(repo)
    owed = Invoice(
        id="in-1",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=T0,
        period_end=T0 + timedelta(days=28),
        currency="USD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", 1000)],
        status=InvoiceStatus.OPEN,
        created_at=T0,
    )
    case = CollectionCase.open("alice", "sub-1", [owed], T0 + timedelta(days=20))
    assert case is not None
    repayment = case.choose_plan(3, "week", CollectionsPolicy(), T0 + timedelta(days=21))
    change = making(repayment)
    change.add_collection_case(case)
    repo.commit(change)
    stored = repo.get_customer("alice")
    assert stored is not None and stored.installment_plan_ids == {repayment.id}


def test_a_plan_changed_later_joins_nothing_again(repo: Repository) -> None:
    stored_alice(repo)
    made = plan("ipl-1")
    repo.commit(making(made))
    alice = repo.get_customer("alice")
    assert alice is not None
    made.cancel(T0 + timedelta(days=1))
    repo.commit(making(made))
    # A write of alice read after the plan joined is not refused by the plan's later writes
    alice.name = "Alice A."
    repo.commit(Commit(customers=[alice]))
    stored = repo.get_customer("alice")
    assert stored is not None and stored.installment_plan_ids == {"ipl-1"}


def test_a_customer_from_before_lists_reads_as_listing_no_plan(repo: Repository) -> None:
    alice = stored_alice(repo)
    assert alice.installment_plan_ids == frozenset()
    alice.name = "Alice A."
    repo.commit(Commit(customers=[alice]))  # a write of an old item still holds


def test_a_new_plan_in_a_commit_that_checks_its_customer_is_a_programming_error(
    repo: Repository,
) -> None:
    alice = stored_alice(repo)
    with pytest.raises(ValueError, match="alice"):
        repo.commit(Commit(payer_checks=[alice.payer], installment_plans=[plan("ipl-1")]))
    check = CopyCheck("alice", alice.contact)
    with pytest.raises(ValueError, match="alice"):
        repo.commit(Commit(copy_checks=[check], installment_plans=[plan("ipl-1")]))
    assert repo.get_installment_plan("ipl-1") is None


def test_a_commit_for_a_customer_who_must_not_be_erased_holds_until_they_are(
    repo: Repository,
) -> None:
    alice = stored_alice(repo)
    method = PaymentMethod("pm_visa", "alice", "sandbox", T0)
    repo.commit(Commit(payment_methods=[method], not_erased=["alice"]))
    assert [m.id for m in repo.list_payment_methods("alice")] == ["pm_visa"]
    # Held by the customer's own version where the commit writes them
    alice.name = "Alice A."
    later = PaymentMethod("pm_mc", "alice", "sandbox", T0)
    repo.commit(Commit(customers=[alice], payment_methods=[later], not_erased=["alice"]))
    erased = repo.get_customer("alice")
    assert erased is not None
    repo.commit(Commit(customers=[replace(erased, erased_at=T0)]))
    last = PaymentMethod("pm_amex", "alice", "sandbox", T0)
    with pytest.raises(ConcurrencyError):
        repo.commit(Commit(payment_methods=[last], not_erased=["alice"]))
    assert [m.id for m in repo.list_payment_methods("alice")] == ["pm_mc", "pm_visa"]


def test_a_commit_for_a_customer_not_there_who_must_not_be_erased_writes_nothing(
    repo: Repository,
) -> None:
    method = PaymentMethod("pm_visa", "nobody", "sandbox", T0)
    with pytest.raises(ConcurrencyError):
        repo.commit(Commit(payment_methods=[method], not_erased=["nobody"]))
    assert repo.list_payment_methods("nobody") == []


def test_a_customer_who_must_not_be_erased_and_is_checked_too_is_a_programming_error(
    repo: Repository,
) -> None:
    alice = stored_alice(repo)
    with pytest.raises(ValueError, match="alice"):
        repo.commit(Commit(payer_checks=[alice.payer], not_erased=["alice"]))


def test_a_new_plan_for_a_customer_who_must_not_be_erased_is_one_check(repo: Repository) -> None:
    # The plan's listing update holds the condition: one operation on alice's item.
    stored_alice(repo)
    repo.commit(Commit(installment_plans=[plan("ipl-1")], not_erased=["alice"]))
    stored = repo.get_customer("alice")
    assert stored is not None and stored.installment_plan_ids == {"ipl-1"}
