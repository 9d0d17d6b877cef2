"""A new Razorpay mandate given on the card page, through the pipeline on the fakes: the old
token is charged no more, the next debit is announced and made on the new one, and the new
mandate's limit covers what the customer will be charged."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from conftest import Shop
from test_reminders import REAL, RecordingMailer, run

from tenure.domain.notices import NoticeKind
from tenure.domain.plans import Plan
from tenure.payments.razorpay_sandbox import RazorpaySandbox
from tenure.services import cards, catalog, installments, new_mandate, self_service

MONTHLY = Plan(id="inr", name="Basic", amount=49900, currency="INR", interval="month")
OLD = "token_upi_success"


def razorpay_shop(make_shop: Callable[..., Shop]) -> tuple[Shop, RazorpaySandbox]:
    """alice pays ₹499 a month by a UPI mandate at Razorpay (its sandbox, behind the real
    adapter), her first payment made as she subscribed."""
    shop = make_shop(start=datetime(2026, 3, 2, 9, tzinfo=UTC))
    rzp = RazorpaySandbox(clock=shop.clock.now)
    shop.svc.gateways = {"razorpay": rzp.gateway()}
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    customer.timezone, customer.provider = "Asia/Kolkata", "razorpay"
    shop.repo.customers["alice"] = customer
    catalog.create_plan(shop.svc, MONTHLY)
    cards.update_payment_method(shop.svc, "alice", OLD, "razorpay", True)
    shop.subscribe("inr")
    assert shop.sub().status == "active"
    return shop, rzp


def recurring_tokens(rzp: RazorpaySandbox) -> list[str]:
    """The tokens Razorpay was asked to debit, oldest first (not the registrations'
    authorisations, which made the tokens)."""
    return [
        p["token_id"]
        for p in rzp.payments.values()
        if p["recurring"] and "token" not in rzp.orders[p["order_id"]]
    ]


def test_after_a_new_mandate_the_renewal_is_debited_on_it_and_never_on_the_old(
    make_shop: Callable[..., Shop],
) -> None:
    shop, rzp = razorpay_shop(make_shop)
    assert recurring_tokens(rzp) == [OLD]  # the first payment, made as she subscribed

    given = new_mandate.give_mandate_in_sandbox(shop.svc, "alice", "success@razorpay", "upi", 50)

    assert isinstance(given, self_service.CardPage)
    new = given.customer.default_payment_method
    assert new is not None and new != OLD and rzp.token_owners[new]
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=33), mailer, REAL)
    april = [i for i in shop.invoices() if i.period_start.month == 4]
    assert len(april) == 1 and april[0].status.value == "paid"
    assert recurring_tokens(rzp) == [OLD, new]
    assert mailer.of(NoticeKind.PRE_DEBIT) != []  # announced, as every mandate debit is


def test_the_limit_covers_an_instalment_larger_than_the_renewal(
    make_shop: Callable[..., Shop],
) -> None:
    shop, _ = razorpay_shop(make_shop)
    plan = installments.create_installment_plan(
        shop.svc,
        "alice",
        "ip-1",
        amount=300_000,
        currency="INR",
        count=2,
        every="month",
        description="A device",
        start=shop.clock.now() + timedelta(days=3),
    )
    assert plan.instalments[0].amount == 150_000

    limit = new_mandate.mandate_max_amount(shop.svc, "alice", 50)

    assert limit.amount_minor == 225_000  # ₹1,500 + 50%, above the ₹499 renewal's


def test_the_limit_stops_at_the_ceiling(make_shop: Callable[..., Shop]) -> None:
    shop, _ = razorpay_shop(make_shop)
    limit = new_mandate.mandate_max_amount(shop.svc, "alice", 1000)
    assert limit.amount_minor == 49900 * 11  # within the ceiling: whole rupees already
    big = Plan(id="inr-big", name="Big", amount=9_000_000, currency="INR", interval="month")
    catalog.create_plan(shop.svc, big)
    shop.subscribe("inr-big", sub_id="sub-big")
    assert (
        new_mandate.mandate_max_amount(shop.svc, "alice", 50).amount_minor
        == new_mandate.CEILING_MINOR
    )
