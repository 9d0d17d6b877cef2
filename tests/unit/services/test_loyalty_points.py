"""Loyalty points through the use cases, on the fakes with the sandbox provider: earned on
paid invoices, redeemed as a credit on the next invoice, reversed in proportion on refunds,
never overdrawn."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from conftest import T0, Shop

from tenure.domain.errors import NotFoundError, ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.invoices import LineKind
from tenure.domain.points import PointsKind
from tenure.ports import Commit
from tenure.services import points, self_service, subscriptions

LOYALTY = {"loyalty": {"points_per_unit": 1, "unit_minor": 100, "point_value_minor": 1}}


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    shop = make_shop()
    shop.add_card("4242424242424242")
    shop.set_programs(LOYALTY)
    return shop


def history(shop: Shop) -> list[tuple[str, int, str | None]]:
    return [(str(e.kind), e.points, e.invoice) for e in shop.repo.get_points("alice").entries]


def test_every_paid_invoice_earns_points_for_the_amount_paid(shop: Shop) -> None:
    shop.subscribe()
    shop.run_due(T0 + timedelta(days=40))
    first, second = shop.invoices()
    assert history(shop) == [("earned", 10, first.id), ("earned", 10, second.id)]
    assert shop.repo.get_points("alice").balance == 20


def test_an_open_invoice_earns_nothing(shop: Shop) -> None:
    shop.add_card("4000000000000341")  # attaches, then every charge declines
    shop.subscribe()
    assert shop.repo.get_points("alice").entries == ()


def test_with_the_program_off_nothing_is_earned(shop: Shop) -> None:
    shop.set_programs({})
    shop.subscribe()
    shop.run_due(T0 + timedelta(days=40))
    assert shop.repo.get_points("alice").balance == 0


def test_redeemed_points_become_a_credit_line_on_the_next_invoice(shop: Shop) -> None:
    shop.subscribe()
    shop.run_due(T0 + timedelta(days=40))
    account = points.redeem_points(shop.svc, "alice", 15)
    assert (account.balance, account.pending) == (5, 15)
    shop.run_due(T0 + timedelta(days=70))
    third = shop.invoices()[2]
    [line] = [ln for ln in third.lines if ln.kind is LineKind.POINTS_CREDIT]
    assert (line.amount, line.description) == (-15, "Loyalty points redeemed (15 points)")
    assert third.total == 985 == shop.succeeded(third.id)[0].amount
    # The credited invoice earns on what was paid: 985 is 9 whole units.
    assert history(shop)[-2:] == [("redeemed", -15, third.id), ("earned", 9, third.id)]
    account = shop.repo.get_points("alice")
    assert (account.balance, account.pending) == (14, 0)


def test_a_credit_never_takes_an_invoice_below_zero_and_the_rest_stays(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    shop.add_card("4242424242424242")
    rich = {"loyalty": {"points_per_unit": 1, "unit_minor": 1, "point_value_minor": 1}}
    shop.set_programs(rich)
    shop.subscribe()
    shop.run_due(T0 + timedelta(days=40))  # 2 × 1000 points
    points.redeem_points(shop.svc, "alice", 1500)
    shop.run_due(T0 + timedelta(days=70))
    third = shop.invoices()[2]
    assert third.total == 0
    assert [ln.amount for ln in third.lines if ln.kind is LineKind.POINTS_CREDIT] == [-1000]
    account = shop.repo.get_points("alice")
    assert (account.balance, account.pending) == (1000, 0)  # 500 back; nothing paid, none earned


def test_redeeming_more_than_the_balance_is_refused_and_changes_nothing(shop: Shop) -> None:
    shop.subscribe()
    before = (shop.repo.get_points("alice"), shop.sub(), len(shop.repo.events))
    with pytest.raises(ValidationFailedError, match="has 10 points, fewer than the 11 asked"):
        points.redeem_points(shop.svc, "alice", 11)
    assert (shop.repo.get_points("alice"), shop.sub(), len(shop.repo.events)) == before


def test_two_concurrent_redemptions_cannot_overdraw(shop: Shop) -> None:
    shop.subscribe()  # 10 points
    racer = shop.interleaved(lambda: points.redeem_points(shop.svc, "alice", 8))
    with pytest.raises(ValidationFailedError, match="no longer has 8 points"):
        points.redeem_points(racer, "alice", 8)
    account = shop.repo.get_points("alice")
    assert (account.balance, account.pending) == (2, 8)


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        (lambda shop: shop.set_programs({}), "the loyalty program is off"),
        (
            lambda shop: subscriptions.cancel(shop.svc, "sub-1", at_period_end=False, reason=None),
            "no subscription whose next invoice to credit",
        ),
    ],
)
def test_redeeming_without_a_program_or_a_subscription_is_refused(
    shop: Shop, setup: Callable[[Shop], None], says: str
) -> None:
    shop.subscribe()  # 10 points
    setup(shop)
    with pytest.raises(ValidationFailedError, match=says):
        points.redeem_points(shop.svc, "alice", 1)


def test_points_of_an_unknown_customer_are_not_found(shop: Shop) -> None:
    with pytest.raises(NotFoundError):
        points.get_points(shop.svc, "nobody")


def refunded(shop: Shop, invoice_id: str, so_far: int, minutes: int) -> None:
    """What the provider's refund webhook commits: the invoice's amount refunded so far."""
    invoice = shop.invoice(invoice_id)
    event = DomainEvent(
        EventType.INVOICE_REFUNDED,
        invoice.id,
        invoice.customer_id,
        T0 + timedelta(minutes=minutes),
        minutes,
        {"amount_refunded": so_far, "currency": "USD"},
    )
    shop.svc.commit_with_notices(Commit(events=[event]))


def test_points_are_reversed_in_proportion_on_a_partial_refund(shop: Shop) -> None:
    shop.subscribe()
    [invoice] = shop.invoices()
    refunded(shop, invoice.id, 250, 1)  # a quarter of 1000: 2.5 of its 10 points, rounded down
    refunded(shop, invoice.id, 500, 2)  # half in all: 5, of which 2 were taken back already
    refunded(shop, invoice.id, 1000, 3)  # all of it
    kinds = [(k, p) for k, p, _ in history(shop)]
    assert kinds == [("earned", 10), ("reversed", -2), ("reversed", -3), ("reversed", -5)]
    assert shop.repo.get_points("alice").balance == 0


def test_the_refunds_use_case_can_reverse_points_in_its_own_change(shop: Shop) -> None:
    shop.subscribe()
    [invoice] = shop.invoices()
    change = Commit()
    points.reverse_points(shop.svc, invoice, 400, T0 + timedelta(hours=1), change)
    shop.svc.commit_with_notices(change)  # not reversed a second time by the planning
    assert [(str(e.kind), e.points) for e in shop.repo.get_points("alice").entries] == [
        ("earned", 10),
        ("reversed", -4),
    ]
    reversed_events = [e for e in shop.repo.events if e["type"] == "LoyaltyPointsReversed"]
    assert [e["data"]["points"] for e in reversed_events] == [4]


def test_a_refund_of_an_invoice_that_earned_nothing_reverses_nothing(shop: Shop) -> None:
    shop.set_programs({})
    shop.subscribe()
    [invoice] = shop.invoices()
    shop.set_programs(LOYALTY)
    refunded(shop, invoice.id, 1000, 1)
    assert shop.repo.get_points("alice").entries == ()


def test_pending_points_go_to_the_subscription_invoiced_first(shop: Shop) -> None:
    shop.subscribe()
    shop.clock.advance(timedelta(days=10))
    subscriptions.subscribe(shop.svc, "sub-2", "alice", "basic")
    points.redeem_points(shop.svc, "alice", 5)
    assert (shop.sub("sub-1").points_pending, shop.sub("sub-2").points_pending) == (5, 0)
    assert PointsKind.EARNED in {e.kind for e in shop.repo.get_points("alice").entries}


def test_the_self_service_page_shows_the_next_amount_after_the_points_credit(shop: Shop) -> None:
    shop.subscribe()
    points.redeem_points(shop.svc, "alice", 7)
    page = self_service.load_subscription_page(shop.svc, "alice", "sub-1")
    assert page.next_amount == 993


def points_spent_then_refunded(shop: Shop) -> None:
    """alice earns 10 points on her first invoice, spends them all, then that invoice is
    refunded in full."""
    shop.subscribe()
    [invoice] = shop.invoices()
    points.redeem_points(shop.svc, "alice", 10)
    refunded(shop, invoice.id, 1000, 1)


def test_a_refund_of_spent_points_takes_the_balance_below_zero_until_earned_back(
    shop: Shop,
) -> None:
    # Given alice earned 10 points on her first invoice and spent them all
    # When that invoice is refunded in full
    points_spent_then_refunded(shop)
    # Then all 10 are taken back: the balance owes them, and the history shows it whole
    account = shop.repo.get_points("alice")
    assert (account.balance, account.pending) == (-10, 10)
    assert [(k, p) for k, p, _ in history(shop)][-1] == ("reversed", -10)
    # And nothing can be redeemed meanwhile, with a reason that says why
    commits = shop.repo.commits
    with pytest.raises(ValidationFailedError, match="owes 10 points that a refund took back"):
        points.redeem_points(shop.svc, "alice", 1)
    assert shop.repo.commits == commits


def test_points_earned_after_a_deficit_pay_it_back_before_any_can_be_redeemed(
    shop: Shop,
) -> None:
    points_spent_then_refunded(shop)
    # The next renewal is paid: 10 points earned (on 1000 less the 10-point credit: 9)
    shop.run_due(shop.sub().current_period_end)
    balance = shop.repo.get_points("alice").balance
    assert balance == -10 + 9
    with pytest.raises(ValidationFailedError, match="owes 1 point that"):
        points.redeem_points(shop.svc, "alice", 1)
