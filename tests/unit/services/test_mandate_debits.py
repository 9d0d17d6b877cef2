"""Debits on a mandate (India's e-mandate rules) through the real pipeline on the fakes: every
debit is announced by a pre-debit email at least 24 hours before money moves, and the
charger holds any debit that comes sooner, whatever scheduled it."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from conftest import Shop, card
from test_reminders import REAL, RecordingMailer, fake_link, run, text_of

from tenure.domain.charges import ChargeOutcome
from tenure.domain.dunning import DunningPolicy
from tenure.domain.errors import ValidationFailedError
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.domain.mandates import pre_debit_key
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus
from tenure.domain.plans import Plan
from tenure.payments.sandbox import SandboxGateway
from tenure.services import cards, catalog, charging, collections, installments, subscriptions
from tenure.services.reminders import send_due

DAY = timedelta(hours=24)
PAYS = "4242424242424242"
MASTERCARD = "5555555555554444"
INSUFFICIENT_FUNDS = "4000000000009995"
DECLINES = "4000000000000002"  # a generic decline: dunning runs out, the balance goes to a case
MONTHLY = Plan(id="inr", name="Basic", amount=49900, currency="INR", interval="month")
BIGGER = Plan(id="inr-pro", name="Pro", amount=99900, currency="INR", interval="month")
LAKH = Plan(id="inr-lakh", name="Lakh", amount=2_000_000, currency="INR", interval="month")
# A trial converts without a payment before it: its first debit is announced when it is due.
TRIAL = Plan(
    id="inr-trial", name="Basic", amount=49900, currency="INR", interval="month", trial_days=14
)


class MandateSandbox(SandboxGateway):
    """The sandbox's payments, under the name of a mandate provider."""

    name = "razorpay"


def with_mandates(shop: Shop) -> MandateSandbox:
    """The deployment can also charge through a mandate provider (the sandbox is the default)."""
    mandate = MandateSandbox(clock=shop.clock.now)
    shop.svc.gateways = {"razorpay": mandate}
    return mandate


def mandate_shop(make_shop: Callable[..., Shop], zone: str = "Asia/Kolkata") -> Shop:
    """alice, paying by a mandate, on `inr` once she subscribes (her first payment made as
    she subscribes); `shop.gateway` is her provider."""
    shop = make_shop(start=datetime(2026, 3, 2, 9, tzinfo=UTC))
    shop.gateway = with_mandates(shop)
    customer = shop.repo.get_customer("alice")
    assert customer is not None
    # (created before the test chose: as if she had been created with these)
    customer.timezone, customer.provider = zone, "razorpay"
    shop.repo.customers["alice"] = customer
    for plan in (MONTHLY, BIGGER, LAKH, TRIAL):
        catalog.create_plan(shop.svc, plan)
    return shop


def mandate_subscriber(make_shop: Callable[..., Shop], plan: str = "inr") -> Shop:
    """alice on a mandate that pays, subscribed to `plan` as sub-1."""
    shop = mandate_shop(make_shop)
    shop.add_card(PAYS)
    shop.subscribe(plan)
    return shop


def held_trial_debit(shop: Shop) -> tuple[Invoice, Notice]:
    """The trial converts at its period's end: its first debit held, its notice owed."""
    shop.clock.set(shop.sub().current_period_end)
    shop.work(shop.queued())
    [renewal] = [i for i in shop.invoices() if i.status is InvoiceStatus.OPEN]
    notice = shop.repo.get_notice(pre_debit_key(renewal.id, 1, renewal.total))
    assert notice is not None
    return renewal, notice


def april_renewal(shop: Shop) -> Invoice:
    [renewal] = [i for i in shop.invoices() if i.period_start.month == 4]
    return renewal


def debits(shop: Shop, invoice_id: str) -> list[datetime]:
    return [c.at for c in shop.charges(invoice_id)]


def sent_pre_debits(mailer: RecordingMailer) -> list[datetime]:
    return [s.at for s in mailer.of(NoticeKind.PRE_DEBIT)]


def test_a_renewal_on_a_mandate_is_announced_a_day_ahead_and_debited_on_time(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_subscriber(make_shop)
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=33), mailer, REAL)

    april = datetime(2026, 4, 2, 9, tzinfo=UTC)
    [renewal] = [i for i in shop.invoices() if i.period_start == april]
    [notice_at] = sent_pre_debits(mailer)
    [debit_at] = debits(shop, renewal.id)
    assert debit_at == april and debit_at - notice_at >= DAY
    assert renewal.status is InvoiceStatus.PAID
    body = text_of(mailer.of(NoticeKind.PRE_DEBIT)[0].message)
    assert "₹499.00" in body and "April 2, 2026" in body


def test_a_trial_converting_on_a_mandate_is_debited_a_day_after_its_pre_debit_email(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_subscriber(make_shop, "inr-trial")
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=17), mailer, REAL)

    [first] = shop.invoices()
    [notice_at] = sent_pre_debits(mailer)
    [debit_at] = debits(shop, first.id)
    assert debit_at - notice_at >= DAY and debit_at > first.period_start
    assert first.status is InvoiceStatus.PAID


def test_the_first_payment_made_while_subscribing_needs_no_pre_debit_email(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_shop(make_shop)
    shop.add_card(PAYS)
    outcome = shop.subscribe("inr")
    assert outcome.invoice is not None and outcome.invoice.status is InvoiceStatus.PAID
    assert shop.repo.get_notice(pre_debit_key(outcome.invoice.id, 1, 49900)) is None


def test_the_charger_refuses_a_debit_under_24_hours_after_its_notice_and_records_nothing(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_subscriber(make_shop, "inr-trial")
    renewal, notice = held_trial_debit(shop)
    assert renewal.attempts == 0 and debits(shop, renewal.id) == []
    send_due(shop.svc, RecordingMailer(), REAL, fake_link, notice.due_at)
    shop.clock.set(notice.due_at + DAY - timedelta(minutes=1))

    # When something asks the charger to debit it a minute too early
    assert charging.collect_invoice(shop.svc, renewal.id) is None

    # Then nothing is charged nor recorded, and the debit waits for the 24 hours
    held = shop.invoice(renewal.id)
    assert held.status is InvoiceStatus.OPEN and held.attempts == 0
    assert debits(shop, renewal.id) == [] and shop.confirmations(renewal.id) == 0
    assert held.next_attempt_at == notice.due_at + DAY
    shop.clock.set(notice.due_at + DAY)
    [charge] = [c for c in [charging.collect_invoice(shop.svc, renewal.id)] if c is not None]
    assert charge.outcome is ChargeOutcome.SUCCEEDED and charge.at == notice.due_at + DAY


def test_every_dunning_retry_on_a_mandate_has_its_own_notice_a_day_before_it(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_subscriber(make_shop)
    cards.update_payment_method(shop.svc, "alice", card(INSUFFICIENT_FUNDS), "sandbox", True)
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=60), mailer, REAL)

    renewal = april_renewal(shop)
    attempts = debits(shop, renewal.id)
    notices = sent_pre_debits(mailer)
    assert len(attempts) == 4  # the renewal and its three retries, each announced
    assert len(notices) == 4
    for notice_at, debit_at in zip(notices, attempts, strict=True):
        assert debit_at - notice_at >= DAY
    # ... each retry's email planned with the failure before it, so the retries keep the
    # dunning schedule's times
    schedule = DunningPolicy().retry_after
    assert attempts[1:] == [attempts[0] + offset for offset in schedule]


def test_an_immediate_proration_on_a_mandate_is_announced_and_debited_a_day_later(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_subscriber(make_shop)
    shop.clock.set(shop.start + timedelta(days=10))
    outcome = subscriptions.change_plan(shop.svc, "sub-1", "inr-pro")
    assert outcome.invoice is not None
    proration = outcome.invoice.id
    assert debits(shop, proration) == []  # not charged at once
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=13), mailer, REAL)

    [notice_at] = sent_pre_debits(mailer)
    [debit_at] = debits(shop, proration)
    assert debit_at - notice_at >= DAY
    assert shop.invoice(proration).status is InvoiceStatus.PAID


def test_each_instalment_on_a_mandate_is_announced_a_day_before_it_is_debited(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_shop(make_shop)
    shop.add_card(PAYS)
    installments.create_installment_plan(
        shop.svc, "alice", "ipl-1", 90000, "INR", 3, "week", "Phone", shop.start
    )
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=30), mailer, REAL)

    plan = shop.repo.get_installment_plan("ipl-1")
    assert plan is not None
    invoice_ids = [item.invoice_id for item in plan.instalments]
    moments = [debits(shop, i)[0] for i in invoice_ids if i is not None]
    notices = sent_pre_debits(mailer)
    assert len(moments) == len(notices) == 3
    assert all(d - n >= DAY for n, d in zip(notices, moments, strict=True))
    body = text_of(mailer.of(NoticeKind.PRE_DEBIT)[1].message)
    assert "instalment 2 of 3" in body


def test_a_debit_above_15000_rupees_waits_for_the_customer_to_confirm_it(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_subscriber(make_shop, "inr-lakh")
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=32), mailer, REAL)

    renewal = april_renewal(shop)
    [charge] = shop.charges(renewal.id)
    assert charge.outcome is ChargeOutcome.AUTHENTICATION_REQUIRED
    assert shop.confirmations(renewal.id) == 0  # made for the customer, never confirmed
    assert shop.invoice(renewal.id).status is InvoiceStatus.OPEN
    assert len(mailer.of(NoticeKind.PAYMENT_ACTION_REQUIRED)) == 1
    assert mailer.of(NoticeKind.PRE_DEBIT) == []


def test_a_worker_dying_after_the_notice_went_out_leaves_the_debit_due_and_made_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_subscriber(make_shop, "inr-trial")
    renewal, notice = held_trial_debit(shop)
    send_due(shop.svc, RecordingMailer(), REAL, fake_link, notice.due_at)
    shop.clock.set(notice.due_at + DAY)
    item = shop.queued(renewal.id)

    # When the charger dies right after the provider answered
    dying = shop.dying(after_call="pay")
    with pytest.raises(shop.Crash):
        shop.work(item, dying)
    assert shop.confirmations(renewal.id) == 1 and shop.succeeded(renewal.id) == []
    # Then the sweeper and the schedule finish it: one debit, a day after the notice
    shop.run_due(shop.clock.now() + timedelta(hours=2))
    assert len(shop.succeeded(renewal.id)) == 1
    assert shop.confirmations(renewal.id) == 1
    stored = shop.repo.get_notice(notice.key)
    assert stored is not None and stored.status is NoticeStatus.SENT


def test_a_customer_of_the_default_provider_on_the_same_deployment_gets_no_notice(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    with_mandates(shop)
    catalog.create_plan(shop.svc, MONTHLY)
    shop.add_card(PAYS)
    shop.subscribe("inr")
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=33), mailer, REAL)

    renewal = april_renewal(shop)
    assert debits(shop, renewal.id) == [renewal.period_start]  # at once, as ever
    assert mailer.of(NoticeKind.PRE_DEBIT) == []


def test_a_debit_above_the_mandates_maximum_is_not_attempted_and_asks_for_a_new_mandate(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_subscriber(make_shop)
    [method] = shop.repo.list_payment_methods("alice")
    method.mandate_max_amount = 40000  # ₹400 a debit: the ₹499 renewal is above it
    shop.repo.payment_methods[("alice", method.id)] = method
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=33), mailer, REAL)

    renewal = april_renewal(shop)
    assert debits(shop, renewal.id) == [] and shop.confirmations(renewal.id) == 0
    assert mailer.of(NoticeKind.PRE_DEBIT) != []
    [asked] = mailer.of(NoticeKind.PRE_DEBIT)
    body = text_of(asked.message)
    assert "above your mandate's limit of ₹400.00" in body
    assert shop.sub().status == "past_due"  # waiting for a new mandate, as for a new card

    # When the customer sets up a new mandate (a new payment method without that cap)
    cards.update_payment_method(shop.svc, "alice", card(MASTERCARD), "sandbox", True)
    run(shop, shop.clock.now() + timedelta(days=2), mailer, REAL)

    # Then it is announced and debited a day later, once
    assert len(shop.succeeded(renewal.id)) == 1
    told = [s.at for s in mailer.of(NoticeKind.PRE_DEBIT)]
    assert len(told) == 2 and debits(shop, renewal.id)[0] - told[1] >= DAY


def upi(shop: Shop) -> None:
    """alice's payment method is a UPI mandate (as the provider reported it)."""
    [method] = shop.repo.list_payment_methods("alice")
    method.mandate_kind = "upi"
    shop.repo.payment_methods[("alice", method.id)] = method


def test_an_upgrade_on_a_upi_mandate_rides_the_next_renewal_as_its_one_debit(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_subscriber(make_shop)
    upi(shop)
    shop.clock.set(shop.start + timedelta(days=10))
    preview = subscriptions.preview_plan_change(shop.svc, "sub-1", "inr-pro")
    outcome = subscriptions.change_plan(shop.svc, "sub-1", "inr-pro")

    # Then no invoice is raised for it now, and the preview said nothing is charged now
    assert outcome.invoice is None and preview.charged_now == 0
    assert len(shop.invoices()) == 1  # the first one only
    carried = shop.sub().carried
    assert carried > 0
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=33), mailer, REAL)

    # And the renewal carries it: one invoice, one pre-debit email, one debit this cycle
    renewal = april_renewal(shop)
    assert renewal.total == BIGGER.amount + carried
    assert [line.amount for line in renewal.lines][-1] == carried
    assert len(debits(shop, renewal.id)) == 1 and renewal.status is InvoiceStatus.PAID
    [told] = mailer.of(NoticeKind.PRE_DEBIT)
    assert text_of(told.message).count("₹") >= 1
    assert shop.sub().carried == 0
    [upcoming] = mailer.of(NoticeKind.UPCOMING_RENEWAL)
    assert f"{(BIGGER.amount + carried) / 100:,.2f}" in text_of(upcoming.message)


def test_a_card_mandates_upgrade_is_still_its_own_debit(make_shop: Callable[..., Shop]) -> None:
    shop = mandate_subscriber(make_shop)
    shop.clock.set(shop.start + timedelta(days=10))
    outcome = subscriptions.change_plan(shop.svc, "sub-1", "inr-pro")
    assert outcome.invoice is not None and shop.sub().carried == 0


def test_only_a_positive_charge_can_be_carried_to_the_next_invoice(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_shop(make_shop)
    shop.add_card(PAYS)
    sub = shop.subscribe("inr").subscription
    with pytest.raises(ValidationFailedError):
        sub.carry_to_next_invoice(0)
    assert sub.carried == 0


def test_each_repayment_instalment_on_a_mandate_is_announced_a_day_before_its_debit(
    make_shop: Callable[..., Shop],
) -> None:
    # Given alice's renewal on her mandate declined through dunning: her balance is a case
    shop = mandate_subscriber(make_shop)
    cards.update_payment_method(shop.svc, "alice", card(DECLINES), "sandbox", True)
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=55), mailer, REAL)
    [case] = collections.list_cases(shop.svc, "alice")

    # When she chooses two weekly instalments and sets up a mandate that pays
    _, plan = collections.choose_repayment_plan(shop.svc, case.id, 2, "week")
    cards.update_payment_method(shop.svc, "alice", card(MASTERCARD), "sandbox", True)
    run(shop, plan.instalments[-1].due_at + timedelta(days=3), mailer, REAL)

    # Then each instalment was debited once, a day or more after its own email
    done = shop.repo.get_installment_plan(plan.id)
    assert done is not None
    told = {s.message["X-Tenure-Notice"].split(":pre_debit:")[0]: s.at for s in mailer.sent}
    for item in done.instalments:
        assert item.invoice_id is not None
        [debit_at] = debits(shop, item.invoice_id)
        assert debit_at - told[item.invoice_id] >= DAY
    assert collections.get_case(shop.svc, case.id).balance == 0


def test_a_worker_dying_as_it_holds_a_debit_leaves_nothing_and_the_next_holds_it_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop = mandate_subscriber(make_shop, "inr-trial")
    shop.clock.set(shop.sub().current_period_end)
    item = shop.queued()

    # When the charger dies writing the renewal, held, with its pre-debit email
    with pytest.raises(shop.Crash):
        shop.work(item, shop.dying(before_commit=1))
    # Then nothing was written: no invoice, no email owed, nothing charged
    assert shop.invoices() == [] and shop.gateway.confirmations == 0

    # And the next worker holds it, with one email owed, and the debit follows it by a day
    shop.work(shop.queued())
    [renewal] = [i for i in shop.invoices() if i.status is InvoiceStatus.OPEN]
    notice = shop.repo.get_notice(pre_debit_key(renewal.id, 1, renewal.total))
    assert notice is not None and renewal.next_attempt_at == notice.due_at + DAY
    mailer = RecordingMailer()
    run(shop, shop.clock.now() + timedelta(days=2), mailer, REAL)
    [told] = sent_pre_debits(mailer)
    assert debits(shop, renewal.id)[0] - told >= DAY
    assert len(shop.succeeded(renewal.id)) == 1


def test_an_upgrade_after_the_renewal_was_announced_gets_the_renewal_announced_again(
    make_shop: Callable[..., Shop],
) -> None:
    # Given alice's April renewal announced at ₹499 a day or more ahead
    shop = mandate_subscriber(make_shop)
    mailer = RecordingMailer()
    run(shop, datetime(2026, 4, 1, 12, tzinfo=UTC), mailer, REAL)
    assert len(mailer.of(NoticeKind.PRE_DEBIT)) == 1

    # When she upgrades before the renewal (its proration announced and debited on its own)
    subscriptions.change_plan(shop.svc, "sub-1", "inr-pro")
    run(shop, shop.start + timedelta(days=35), mailer, REAL)

    # Then the renewal at the new price is announced anew and debited a day after that email
    april = datetime(2026, 4, 2, 9, tzinfo=UTC)
    [renewal] = [i for i in shop.invoices() if i.period_start == april]
    assert renewal.total == BIGGER.amount and renewal.status is InvoiceStatus.PAID
    told = [
        s for s in mailer.of(NoticeKind.PRE_DEBIT) if renewal.id in s.message["X-Tenure-Notice"]
    ]
    assert [str(s.message["X-Tenure-Notice"]).rsplit(":", 1)[-1] for s in told] == [
        "ahead",
        str(BIGGER.amount),
    ]
    assert debits(shop, renewal.id)[0] - told[-1].at >= DAY
