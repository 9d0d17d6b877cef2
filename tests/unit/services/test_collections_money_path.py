"""Collections cases on the money path: a subscription left unpaid by dunning opens a case;
the customer's repayment plan is charged instalment by instalment like any plan; paying it
off settles the case and brings the subscription back. On the in-memory fakes with the
sandbox provider."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from test_money_path_dunning import a_declining_renewal

from tenure.domain.collection_cases import (
    CaseStatus,
    CollectionsPolicy,
    SettleAction,
    case_id_for,
)
from tenure.domain.errors import IllegalTransitionError, NotFoundError, ValidationFailedError
from tenure.domain.installments import Every, InstalmentStatus, PlanStatus
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.subscription import SubscriptionStatus
from tenure.services import cancellation, charging, collections, collections_pay, privacy

VISA = "4242424242424242"
GENERIC_DECLINE = "4000000000000002"
MASTERCARD = "5555555555554444"
INSUFFICIENT_FUNDS = "4000000000009995"
STOLEN = "4000000000009979"


def an_unpaid_subscription(make_shop: Callable[..., Any]) -> tuple[Any, Any]:
    """Given alice, her first month paid, then her renewal declined through every retry of
    the default policy: her subscription is unpaid. Returns the shop and the renewal."""
    shop, renewal = a_declining_renewal(make_shop, GENERIC_DECLINE)
    shop.run_due(until=renewal.period_start + timedelta(days=20))
    assert shop.sub().status is SubscriptionStatus.UNPAID
    return shop, shop.invoice_starting(renewal.period_start)


def the_case(shop: Any) -> Any:
    cases = collections.list_cases(shop.svc, "alice")
    assert len(cases) == 1
    return cases[0]


def test_a_subscription_left_unpaid_opens_a_case_holding_its_invoice_lines(
    make_shop: Callable[..., Any],
) -> None:
    # Given a subscription whose renewal dunning left unpaid
    shop, invoice = an_unpaid_subscription(make_shop)
    # Then one open case holds the renewal's lines, and its balance is the invoice's total
    case = the_case(shop)
    assert (case.status, case.subscription_id, case.currency) == (CaseStatus.OPEN, "sub-1", "USD")
    assert [(ln.invoice_id, ln.description, ln.amount) for ln in case.lines] == [
        (invoice.id, line.description, line.amount) for line in invoice.lines
    ]
    assert case.balance == invoice.total == 1000
    assert "CollectionCaseOpened" in [e["type"] for e in shop.repo.events]


def test_a_case_paid_off_in_3_fortnightly_instalments_ends_settled_and_active(
    make_shop: Callable[..., Any],
) -> None:
    # Given an unpaid subscription's case of 1000
    shop, invoice = an_unpaid_subscription(make_shop)
    case = the_case(shop)
    # When alice chooses 3 instalments every two weeks and gives a good card
    _, plan = collections.choose_repayment_plan(shop.svc, case.id, 3, "two_weeks")
    assert [i.amount for i in plan.instalments] == [334, 333, 333]  # remainder first
    assert plan.instalments[1].due_at - plan.instalments[0].due_at == timedelta(days=14)
    shop.add_card(MASTERCARD)
    shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=1))
    # Then every instalment was charged once and paid, the case settled with zero balance
    done = shop.repo.get_installment_plan(plan.id)
    assert done.status is PlanStatus.COMPLETED
    for item in done.instalments:
        assert item.status is InstalmentStatus.PAID
        assert len(shop.succeeded(item.invoice_id)) == shop.confirmations(item.invoice_id) == 1
    settled = collections.get_case(shop.svc, case.id)
    assert (settled.status, settled.balance, settled.recovered) == (CaseStatus.SETTLED, 0, 1000)
    # ... the old invoice was written off into the case, never charged again
    assert shop.invoice(invoice.id).status is InvoiceStatus.UNCOLLECTIBLE
    # ... and the subscription is active, its new period charged as a renewal
    sub = shop.sub()
    assert sub.status is SubscriptionStatus.ACTIVE
    new_period = shop.invoice_starting(done.instalments[-1].due_at)
    assert new_period.status is InvoiceStatus.PAID


def test_under_the_close_policy_a_paid_off_case_leaves_the_subscription_unpaid(
    make_shop: Callable[..., Any],
) -> None:
    # Given a business whose collections close cases without reactivating
    shop, _ = an_unpaid_subscription(make_shop)
    shop.svc.collections = CollectionsPolicy(settle=SettleAction.CLOSE)
    case = the_case(shop)
    # When alice pays a 2-week plan off
    _, plan = collections.choose_repayment_plan(shop.svc, case.id, 2, "week")
    shop.add_card(MASTERCARD)
    shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=1))
    # Then the case is settled and the subscription stays unpaid, never renewed
    assert collections.get_case(shop.svc, case.id).status is CaseStatus.SETTLED
    assert shop.sub().status is SubscriptionStatus.UNPAID
    assert len(shop.invoices()) == 2


def test_a_card_given_before_any_plan_pays_the_owed_invoice_and_settles_the_case(
    make_shop: Callable[..., Any],
) -> None:
    # Given an open case
    shop, invoice = an_unpaid_subscription(make_shop)
    # When alice gives a good card before choosing a plan
    shop.add_card(MASTERCARD)
    # Then the owed invoice is paid directly (as before there were cases), the case settled
    assert shop.invoice(invoice.id).status is InvoiceStatus.PAID
    case = the_case(shop)
    assert (case.status, case.balance) == (CaseStatus.SETTLED, 0)
    assert shop.sub().status is SubscriptionStatus.ACTIVE


@pytest.mark.parametrize(
    ("count", "every", "field"),
    [(1, "week", "count"), (7, "week", "count"), ("3", "week", "count"), (3, "month", "every")],
)
def test_a_plan_outside_the_bounds_is_refused_and_nothing_is_written(
    make_shop: Callable[..., Any], count: object, every: str, field: str
) -> None:
    shop, _ = an_unpaid_subscription(make_shop)
    case = the_case(shop)
    commits = shop.svc.commits
    with pytest.raises(ValidationFailedError) as refused:
        collections.choose_repayment_plan(shop.svc, case.id, count, every)
    assert refused.value.field == field
    assert shop.svc.commits == commits
    assert the_case(shop).status is CaseStatus.OPEN


def test_a_settled_case_refuses_a_plan(make_shop: Callable[..., Any]) -> None:
    shop, _ = an_unpaid_subscription(make_shop)
    case = the_case(shop)
    collections.choose_repayment_plan(shop.svc, case.id, 2, "week")
    with pytest.raises(IllegalTransitionError):
        collections.choose_repayment_plan(shop.svc, case.id, 2, "week")


def test_an_unknown_case_is_not_found(make_shop: Callable[..., Any]) -> None:
    shop = make_shop()
    with pytest.raises(NotFoundError):
        collections.choose_repayment_plan(shop.svc, "cc_nope", 2, "week")


def test_a_repayment_plan_that_defaults_writes_the_case_off(
    make_shop: Callable[..., Any],
) -> None:
    # Given a case whose plan is charged on a card that always lacks funds
    shop, _ = an_unpaid_subscription(make_shop)
    case = the_case(shop)
    _, plan = collections.choose_repayment_plan(shop.svc, case.id, 2, Every.WEEK)
    shop.add_card(INSUFFICIENT_FUNDS)
    # When dunning of the first instalment runs out
    shop.run_due(until=plan.instalments[-1].due_at + timedelta(days=30))
    # Then the plan defaulted, the case is written off, the subscription stays unpaid
    assert shop.repo.get_installment_plan(plan.id).status is PlanStatus.DEFAULTED
    final = collections.get_case(shop.svc, case.id)
    assert (final.status, final.recovered, final.balance) == (CaseStatus.WRITTEN_OFF, 0, 1000)
    assert shop.sub().status is SubscriptionStatus.UNPAID


def test_a_plan_left_after_its_first_instalment_leaves_the_rest_for_a_new_plan(
    make_shop: Callable[..., Any],
) -> None:
    # Given a case in a 4-week plan whose first instalment was paid
    shop, _ = an_unpaid_subscription(make_shop)
    case = the_case(shop)
    _, plan = collections.choose_repayment_plan(shop.svc, case.id, 4, "week")
    shop.add_card(MASTERCARD)
    shop.run_due(until=plan.instalments[0].due_at + timedelta(days=1))
    # When alice leaves it and chooses 2 fortnightly instalments instead
    left, _ = collections.cancel_repayment_plan(shop.svc, case.id)
    assert (left.status, left.balance) == (CaseStatus.OPEN, 750)
    _, again = collections.choose_repayment_plan(shop.svc, case.id, 2, "two_weeks")
    shop.run_due(until=again.instalments[-1].due_at + timedelta(days=1))
    # Then the first plan charged nothing more, and the second paid the rest off
    first = shop.repo.get_installment_plan(plan.id)
    assert [i.invoice_id is not None for i in first.instalments] == [True, False, False, False]
    final = collections.get_case(shop.svc, case.id)
    assert (final.status, final.recovered, final.balance) == (CaseStatus.SETTLED, 1000, 0)
    assert shop.sub().status is SubscriptionStatus.ACTIVE


def test_leaving_a_plan_while_an_instalment_is_dunned_is_refused_and_writes_nothing(
    make_shop: Callable[..., Any],
) -> None:
    shop, _ = an_unpaid_subscription(make_shop)
    case = the_case(shop)
    _, plan = collections.choose_repayment_plan(shop.svc, case.id, 2, "week")
    shop.run_due(until=plan.instalments[0].due_at + timedelta(hours=1))  # declined: dunned
    commits = shop.svc.commits
    with pytest.raises(IllegalTransitionError, match="being collected"):
        collections.cancel_repayment_plan(shop.svc, case.id)
    assert shop.svc.commits == commits
    assert collections.get_case(shop.svc, case.id).status is CaseStatus.IN_PLAN


def test_paying_a_case_in_full_charges_the_balance_once_now_and_settles_it(
    make_shop: Callable[..., Any],
) -> None:
    # Given an open case and a good card that was given after dunning ended
    shop, invoice = an_unpaid_subscription(make_shop)
    case = the_case(shop)
    collections.choose_repayment_plan(shop.svc, case.id, 2, "week")  # chosen ...
    collections.cancel_repayment_plan(shop.svc, case.id)  # ... and left before any charge
    shop.add_card(MASTERCARD)
    # When alice pays the balance in full
    paid, plan = collections_pay.pay_case_in_full(shop.svc, case.id)
    # Then one charge of 1000 was made at once, and the case is settled, the sub active
    assert (plan.count, plan.instalments[0].amount) == (1, 1000)
    item = plan.instalments[0]
    assert item.status is InstalmentStatus.PAID
    assert len(shop.succeeded(item.invoice_id)) == shop.confirmations(item.invoice_id) == 1
    assert (paid.status, paid.balance) == (CaseStatus.SETTLED, 0)
    assert shop.sub().status is SubscriptionStatus.ACTIVE
    assert shop.invoice(invoice.id).status is InvoiceStatus.UNCOLLECTIBLE


def test_paying_in_full_with_a_declining_card_leaves_the_instalment_dunned(
    make_shop: Callable[..., Any],
) -> None:
    shop, _ = an_unpaid_subscription(make_shop)  # the card on file declines
    case = the_case(shop)
    after, plan = collections_pay.pay_case_in_full(shop.svc, case.id)
    assert after.status is CaseStatus.IN_PLAN
    assert plan.instalments[0].status is InstalmentStatus.PAST_DUE
    with pytest.raises(IllegalTransitionError):
        collections_pay.pay_case_in_full(shop.svc, case.id)


@pytest.mark.parametrize(
    "choose",
    [
        lambda svc, case_id: collections.choose_repayment_plan(svc, case_id, 3, "two_weeks"),
        collections_pay.pay_case_in_full,
    ],
    ids=["repayment_plan", "pay_in_full"],
)
def test_an_erased_customers_open_case_takes_no_plan_and_nothing_is_charged(
    make_shop: Callable[..., Any], choose: Callable[[Any, str], object]
) -> None:
    # Given alice's case still open after the business canceled her unpaid subscription and
    # erased her (nothing live was left: the erasure went through)
    shop, _ = an_unpaid_subscription(make_shop)
    cancellation.request_cancel(shop.svc, "sub-1", reason="unpaid")
    privacy.erase_customer(shop.svc, "alice", actor="dpo", note="asked by alice")
    case = the_case(shop)
    assert case.status is CaseStatus.OPEN
    commits, attempts = shop.svc.commits, shop.gateway.confirmations
    # When a repayment plan is chosen for it (the collections page's link still works)
    with pytest.raises(IllegalTransitionError, match="erased"):
        choose(shop.svc, case.id)
    # Then it is refused as anything new for an erased customer is: nothing written, charged
    assert shop.svc.commits == commits and shop.gateway.confirmations == attempts
    assert shop.repo.list_installment_plans("alice") == []


def test_a_case_is_named_by_the_attempt_that_ended_dunning_not_when_it_was_recorded(
    make_shop: Callable[..., Any],
) -> None:
    # Found by chaos replay: a charger that died after the provider declined the last retry
    # left the decline to the sweeper, which recorded it at the lease's end, and the case
    # (and with it its repayment plans and their invoices) got another id than the calm run's.
    calm, invoice = an_unpaid_subscription(make_shop)
    last_attempt = calm.charges(invoice.id)[-1].at
    # Given the same renewal declined through its retries, the last one's worker dying
    # after the provider declined it, before recording the decline
    shop, renewal = a_declining_renewal(make_shop, GENERIC_DECLINE)
    shop.run_due(until=last_attempt - timedelta(seconds=1))
    shop.clock.set(last_attempt)
    with pytest.raises(shop.Crash):
        charging.retry_invoice(shop.dying(after_call="pay"), renewal.id)
    assert shop.sub().status is SubscriptionStatus.PAST_DUE
    # When the sweeper finds the decline after the lease
    shop.run_due(until=last_attempt + timedelta(days=1))
    # Then the case opened later, when the decline was recorded, under the calm run's name
    case, calm_case = the_case(shop), the_case(calm)
    assert case.opened_at > calm_case.opened_at == last_attempt
    assert case.id == calm_case.id
    assert (case.balance, case.invoice_ids) == (calm_case.balance, calm_case.invoice_ids)


def test_a_case_opened_by_the_dunning_deadline_is_named_by_the_deadline(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal hard-declined (no retries: a new card awaited until the deadline)
    shop, invoice = a_declining_renewal(make_shop, STOLEN)
    deadline = shop.invoice(invoice.id).dunning_ends_at
    assert deadline is not None
    # When the deadline's work runs an hour late
    shop.run_due(until=deadline - timedelta(seconds=1))
    shop.clock.set(deadline + timedelta(hours=1))
    charging.retry_invoice(shop.svc, invoice.id)
    # Then the case opened then, named by the deadline
    case = the_case(shop)
    assert case.opened_at == deadline + timedelta(hours=1)
    assert case.id == case_id_for("sub-1", deadline)
