"""The email a plan's ending owes: a plan that defaults names the instalment that went
unpaid and links to the card page; one canceled on request says nothing more is charged; a
repayment plan the customer leaves links to the collections page for the balance still
open. Each is sent once, and not at all when it no longer holds when its time comes."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from conftest import Shop
from test_collections_money_path import MASTERCARD, an_unpaid_subscription, the_case
from test_reminders import REAL, RecordingMailer, fake_link, run, text_of

from tenure.domain.installments import PlanStatus
from tenure.domain.notices import NoticeKind, NoticeStatus
from tenure.services import collections, installments
from tenure.services.reminders import send_due

VISA = "4242424242424242"
INSUFFICIENT_FUNDS = "4000000000009995"
ENDED = NoticeKind.INSTALLMENT_PLAN_ENDED


def a_plan(shop: Shop, every: str = "month") -> Any:
    return installments.create_installment_plan(
        shop.svc, "alice", "ipl-1", 3001, "USD", 3, every, "Laptop", shop.start + timedelta(days=1)
    )


def alice_on_a_plan(make_shop: Callable[..., Shop], card: str, **plan: Any) -> tuple[Shop, Any]:
    """alice, paying by `card`, on a_plan(**plan): the shop and the plan."""
    shop = make_shop()
    shop.add_card(card)
    return shop, a_plan(shop, **plan)


def send_reminders(shop: Shop, mailer: RecordingMailer, hours: int = 2) -> None:
    send_due(shop.svc, mailer, REAL, fake_link, shop.clock.now() + timedelta(hours=hours))


def ended_notices(shop: Shop) -> list[Any]:
    return [n for n in shop.repo.list_notices("alice") if n.kind is ENDED]


def test_a_plan_that_defaults_names_the_unpaid_instalment_once_and_links_to_the_card_page(
    make_shop: Callable[..., Shop],
) -> None:
    # Given monthly instalments on a card that declines every attempt
    shop, plan = alice_on_a_plan(make_shop, INSUFFICIENT_FUNDS)
    mailer = RecordingMailer()
    # When the pipeline and the reminders (twice an hour) run past the last instalment
    run(shop, plan.instalments[-1].due_at + timedelta(days=2), mailer, REAL, runs_per_hour=2)
    # Then the plan defaulted on its first instalment, and one email said so
    assert shop.repo.get_installment_plan("ipl-1").status is PlanStatus.DEFAULTED  # type: ignore[union-attr]
    [sent] = mailer.of(ENDED)
    assert sent.message["Subject"] == "Your payment plan for Laptop has ended"
    text = text_of(sent.message)
    assert "We couldn't collect instalment 1 of 3 of your payment plan for Laptop" in text
    assert "No further instalments will be charged." in text
    assert "$30.01 of the plan was not collected." in text
    assert "https://pages.test/update_card/alice/alice/" in text
    assert "payment plan with Shop" in text  # the footer of a payment plan, not a subscription
    assert [n.key for n in ended_notices(shop)] == ["ipl-1:installment_plan_ended:now:0"]


def test_a_plan_canceled_on_request_says_nothing_more_is_charged_and_links_nowhere(
    make_shop: Callable[..., Shop],
) -> None:
    # Given a plan whose first instalment was paid
    shop, plan = alice_on_a_plan(make_shop, VISA)
    mailer = RecordingMailer()
    run(shop, plan.instalments[0].due_at + timedelta(hours=1), mailer, REAL)
    # When the business cancels it and the reminders run
    installments.cancel_installment_plan(shop.svc, "ipl-1")
    send_reminders(shop, mailer)
    # Then one email says it ended and what was left uncollected, with nothing to click
    [sent] = mailer.of(ENDED)
    assert sent.message["Subject"] == "Your payment plan for Laptop has been canceled"
    text = text_of(sent.message)
    assert "No further instalments will be charged." in text
    assert "$20.00 of the plan was not collected." in text
    assert "https://pages.test/" not in text


def test_leaving_a_repayment_plan_links_to_the_collections_page_for_the_balance_left(
    make_shop: Callable[..., Shop],
) -> None:
    # Given an unpaid subscription's case in a plan of 3 fortnightly instalments, the first
    # paid with a new card
    shop, _ = an_unpaid_subscription(make_shop)
    case = the_case(shop)
    _, plan = collections.choose_repayment_plan(shop.svc, case.id, 3, "two_weeks")
    shop.add_card(MASTERCARD)
    shop.run_due(until=shop.clock.now() + timedelta(days=1))
    mailer = RecordingMailer()
    # When alice leaves the plan and the reminders run
    collections.cancel_repayment_plan(shop.svc, case.id)
    send_reminders(shop, mailer)
    # Then the email says the balance waits for her choice, and links to the page to make it
    [sent] = mailer.of(ENDED)
    balance = collections.get_case(shop.svc, case.id).balance
    assert balance == 1000 - plan.instalments[0].amount == 666
    assert sent.message["Subject"] == (
        "Your repayment plan has been canceled; your balance of $6.66 is still open"
    )
    text = text_of(sent.message)
    assert "Your balance of $6.66 is still open." in text
    assert f"https://pages.test/collections/alice/{case.id}/" in text
    assert "https://pages.test/update_card/" not in text


def test_a_repayment_plan_left_then_chosen_again_before_the_email_goes_sends_nothing(
    make_shop: Callable[..., Shop],
) -> None:
    shop, _ = an_unpaid_subscription(make_shop)
    case = the_case(shop)
    collections.choose_repayment_plan(shop.svc, case.id, 3, "two_weeks")
    shop.add_card(MASTERCARD)
    shop.run_due(until=shop.clock.now() + timedelta(days=1))
    mailer = RecordingMailer()
    collections.cancel_repayment_plan(shop.svc, case.id)
    collections.choose_repayment_plan(shop.svc, case.id, 2, "week")

    send_reminders(shop, mailer)

    assert mailer.of(ENDED) == []
    [notice] = ended_notices(shop)
    assert (notice.status, notice.reason) == (NoticeStatus.SKIPPED, "case_in_plan")


def test_a_plan_that_completes_owes_no_ending_email(make_shop: Callable[..., Shop]) -> None:
    shop, plan = alice_on_a_plan(make_shop, VISA, every="week")
    mailer = RecordingMailer()

    run(shop, plan.instalments[-1].due_at + timedelta(days=1), mailer, REAL)

    assert shop.repo.get_installment_plan("ipl-1").status is PlanStatus.COMPLETED  # type: ignore[union-attr]
    assert mailer.of(ENDED) == [] and ended_notices(shop) == []


def test_a_repayment_plan_that_defaults_is_named_a_repayment_plan_not_by_its_description(
    make_shop: Callable[..., Shop],
) -> None:
    # Given a case's plan of 2 weekly instalments on a card that lacks funds
    shop, _ = an_unpaid_subscription(make_shop)
    case = the_case(shop)
    _, plan = collections.choose_repayment_plan(shop.svc, case.id, 2, "week")
    shop.add_card(INSUFFICIENT_FUNDS)
    mailer = RecordingMailer()
    # When dunning runs its course
    run(shop, plan.instalments[-1].due_at + timedelta(days=30), mailer, REAL)
    # Then the plan defaulted and one email told it in a repayment plan's words
    assert shop.repo.get_installment_plan(plan.id).status is PlanStatus.DEFAULTED  # type: ignore[union-attr]
    [sent] = mailer.of(ENDED)
    assert sent.message["Subject"] == "Your repayment plan has ended"
    text = text_of(sent.message)
    assert "instalment 1 of 2 of your repayment plan" in text
    assert "Repayment of overdue balance" not in text
    assert "https://pages.test/update_card/alice/alice/" in text
