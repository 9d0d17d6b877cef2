"""A plan's price changes with notice: new subscribers pay it at once, others after an email."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from conftest import Shop
from test_reminders import RecordingMailer, run, subscriber

from tenure.domain.errors import NotFoundError, ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.invoices import LineKind
from tenure.domain.notices import Notice, NoticeKind
from tenure.domain.plans import Plan, PlanKind, Tier
from tenure.domain.pricing import Item, Items
from tenure.services import catalog, pricing, subscriptions
from tenure.views import subscription_view


def plan_totals(shop: Shop, sub_id: str) -> list[int]:
    """What each invoice's plan lines add up to, oldest first."""
    return [
        sum(line.amount for line in invoice.lines if line.kind is LineKind.PLAN)
        for invoice in sorted(shop.invoices(sub_id), key=lambda i: i.period_start)
    ]


def plan_amounts(shop: Shop, sub_id: str) -> list[tuple[str, int]]:
    """Each period invoice's start day and its plan line (a proration has none)."""
    return [
        (invoice.period_start.date().isoformat(), line.amount)
        for invoice in sorted(shop.invoices(sub_id), key=lambda i: i.period_start)
        for line in invoice.lines
        if line.kind is LineKind.PLAN
    ]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
def test_a_price_rise_is_emailed_at_least_the_notice_before_the_first_higher_charge(
    make_shop: Callable[..., Shop], zone: str
) -> None:
    shop = make_shop()
    subscriber(shop, "bob", zone=zone)
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=10), mailer)
    pricing.schedule_price_change(
        shop.svc, "basic", 1500, shop.clock.now() + timedelta(days=5), notice_days=30
    )
    run(shop, shop.start + timedelta(days=130), mailer)

    [email] = mailer.of(NoticeKind.PRICE_CHANGE, "bob")
    body = email.message.get_content()
    assert "amount=1500" in body and "old_amount=1000" in body and "link cancel=" in body
    charged = plan_amounts(shop, "sub-bob")
    first_higher = next(
        invoice.period_start
        for invoice in sorted(shop.invoices("sub-bob"), key=lambda i: i.period_start)
        if any(line.kind is LineKind.PLAN and line.amount == 1500 for line in invoice.lines)
    )
    assert first_higher - email.at >= timedelta(days=30), charged
    amounts = [amount for _, amount in charged]
    # When the notice lets it in depends on the hour the email could go out where bob is.
    assert amounts in ([1000, 1000, 1500, 1500, 1500], [1000, 1000, 1000, 1500, 1500])


def test_grandfathered_subscribers_keep_their_price_and_new_ones_pay_the_new(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    subscriber(shop, "bob")
    mailer = RecordingMailer()
    effective = shop.clock.now() + timedelta(days=20)
    pricing.schedule_price_change(shop.svc, "basic", 1500, effective, grandfather=True)
    run(shop, effective + timedelta(hours=1), mailer)
    subscriber(shop, "carol")
    run(shop, shop.start + timedelta(days=100), mailer)

    assert {amount for _, amount in plan_amounts(shop, "sub-bob")} == {1000}
    assert {amount for _, amount in plan_amounts(shop, "sub-carol")} == {1500}
    assert mailer.of(NoticeKind.PRICE_CHANGE, "bob") == []
    assert mailer.of(NoticeKind.PRICE_CHANGE, "carol") == []  # she joined at that price


def test_the_renewal_reminder_announces_the_new_price_once_it_applies(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    subscriber(shop, "bob")
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=1), mailer)
    pricing.schedule_price_change(shop.svc, "basic", 1500, shop.clock.now(), notice_days=30)
    run(shop, shop.start + timedelta(days=95), mailer)
    reminders = [s.message.get_content() for s in mailer.of(NoticeKind.UPCOMING_RENEWAL, "bob")]
    amounts = [next(w for w in body.split() if w.startswith("amount=")) for body in reminders]
    # Told on day 1, 30 days before the renewal of 2 April: every reminder announces 15.00.
    assert amounts == ["amount=1500", "amount=1500", "amount=1500"]


@pytest.mark.parametrize(
    ("amount", "days_ahead", "notice_days", "currency", "field"),
    [
        (0, 40, 30, None, "amount"),
        (-100, 40, 30, None, "amount"),
        (1500, -1, 30, None, "effective_at"),
        (1500, 40, 7, None, "notice_days"),
        (1500, 40, 30, "EUR", "currency"),
    ],
)
def test_a_bad_price_change_is_refused_and_changes_nothing(
    make_shop: Callable[..., Shop],
    amount: int,
    days_ahead: int,
    notice_days: int,
    currency: str | None,
    field: str,
) -> None:
    shop = make_shop()
    before = shop.repo.get_plan("basic")
    commits = shop.svc.commits
    with pytest.raises(ValidationFailedError) as refused:
        pricing.schedule_price_change(
            shop.svc,
            "basic",
            amount,
            shop.clock.now() + timedelta(days=days_ahead),
            notice_days=notice_days,
            currency=currency,
        )
    assert refused.value.field == field
    assert shop.repo.get_plan("basic") == before and shop.svc.commits == commits


def test_a_price_change_for_an_unknown_plan_is_not_found(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    with pytest.raises(NotFoundError):
        pricing.schedule_price_change(shop.svc, "nope", 1500, shop.clock.now())


def test_a_plan_keeps_its_price_history_and_announces_each_change(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    now = shop.clock.now()
    pricing.schedule_price_change(shop.svc, "basic", 1200, now + timedelta(days=10))
    plan = pricing.schedule_price_change(shop.svc, "basic", 1400, now + timedelta(days=200))
    assert [(c.id, c.amount) for c in plan.price_changes] == [
        ("basic:pc1", 1200),
        ("basic:pc2", 1400),
    ]
    assert plan.amount_for_new_subscribers(now) == 1000
    assert plan.amount_for_new_subscribers(now + timedelta(days=10)) == 1200
    assert plan.amount_for_new_subscribers(now + timedelta(days=300)) == 1400
    assert [c.id for c in plan.scheduled_changes(now + timedelta(days=20))] == ["basic:pc2"]
    stored = shop.repo.get_plan("basic")
    assert stored is not None and stored.price_changes == plan.price_changes
    events = [e for e in shop.repo.events if e["type"] == EventType.PLAN_PRICE_CHANGE_SCHEDULED]
    assert [e["data"]["amount"] for e in events] == [1200, 1400]


def test_once_the_new_price_applies_a_pause_credits_and_the_mrr_count_it(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    subscriber(shop, "bob")
    shop.clock.set(shop.start + timedelta(days=1))
    pricing.schedule_price_change(shop.svc, "basic", 1500, shop.clock.now(), notice_days=30)
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=62), mailer)  # renewed on 2 May at 1500
    sub = shop.sub("sub-bob")
    assert sub.current_period_start.date().isoformat() == "2026-05-02"
    assert sub.mrr == 1500
    # Halfway through May: half of the 1500 paid comes back as credit.
    shop.clock.set(
        sub.current_period_start + (sub.current_period_end - sub.current_period_start) / 2
    )
    subscriptions.pause(shop.svc, "sub-bob", None)
    paused = shop.sub("sub-bob")
    assert paused.credit == 750
    moves = [(e.before, e.after) for e in shop.repo.ledger if e.subscription_id == "sub-bob"]
    assert moves == [(0, 1000), (1000, 1500), (1500, 0)]


def test_a_subscription_shows_the_price_changes_it_noted(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    subscriber(shop, "bob")
    assert "price_steps" not in subscription_view(shop.sub("sub-bob"))
    shop.clock.set(shop.start + timedelta(days=1))
    pricing.schedule_price_change(shop.svc, "basic", 1200, shop.clock.now(), grandfather=True)
    pricing.schedule_price_change(shop.svc, "basic", 1500, shop.clock.now() + timedelta(days=5))
    run(shop, shop.start + timedelta(days=32), RecordingMailer())
    assert subscription_view(shop.sub("sub-bob"))["price_steps"] == [
        {"change": "basic:pc1", "starts": None},
        {"change": "basic:pc2", "starts": "2026-04-02T09:00:00Z"},
    ]


def test_moving_to_a_plan_after_its_price_rose_pays_the_new_price_at_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    catalog.create_plan(
        shop.svc, Plan(id="pro", name="Pro", amount=2000, currency="USD", interval="month")
    )
    subscriber(shop, "bob")
    shop.clock.set(shop.start + timedelta(days=1))
    pricing.schedule_price_change(shop.svc, "pro", 3000, shop.clock.now())
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=10), mailer)
    outcome = subscriptions.change_plan(shop.svc, "sub-bob", "pro")
    assert outcome.invoice is not None
    remaining = next(line for line in outcome.invoice.lines if "Remaining" in line.description)
    sub = shop.sub("sub-bob")
    whole = (sub.current_period_end - sub.current_period_start).total_seconds()
    left = (sub.current_period_end - shop.clock.now()).total_seconds()
    assert remaining.amount == round(3000 * left / whole)
    run(shop, shop.start + timedelta(days=65), mailer)
    assert [amount for _, amount in plan_amounts(shop, "sub-bob")][-2:] == [3000, 3000]
    assert mailer.of(NoticeKind.PRICE_CHANGE, "bob") == []  # it chose the plan at that price


def bobs_price_email_waiting_for_day(shop: Shop, mailer: RecordingMailer) -> Notice:
    """Half an hour after a price change told at once: bob's email waits for his morning."""
    run(shop, shop.start + timedelta(days=1, minutes=30), mailer)
    [notice] = [n for n in shop.repo.list_notices("bob") if n.kind is NoticeKind.PRICE_CHANGE]
    assert notice.due_at > shop.clock.now()
    return notice


def bob_is_never_told(shop: Shop, mailer: RecordingMailer, notice: Notice) -> None:
    """A month on, bob's waiting price email was skipped, never sent."""
    run(shop, shop.start + timedelta(days=33), mailer)
    assert mailer.of(NoticeKind.PRICE_CHANGE, "bob") == []
    skipped = shop.repo.get_notice(notice.key)
    assert skipped is not None and skipped.reason == "price_not_ahead"


def test_a_subscription_canceled_before_its_price_email_goes_out_is_not_told(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    # 09:00 UTC is night in Los Angeles: the email waits
    subscriber(shop, "bob", zone="America/Los_Angeles")
    shop.clock.set(shop.start + timedelta(days=1))
    pricing.schedule_price_change(shop.svc, "basic", 1500, shop.clock.now())
    mailer = RecordingMailer()
    notice = bobs_price_email_waiting_for_day(shop, mailer)
    subscriptions.cancel(shop.svc, "sub-bob", at_period_end=False, reason="too_expensive")
    bob_is_never_told(shop, mailer, notice)


def test_seats_are_charged_at_the_new_unit_price_once_it_applies(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    subscriber(shop, "bob", items=Items(quantity=3))
    shop.clock.set(shop.start + timedelta(days=1))
    pricing.schedule_price_change(shop.svc, "basic", 1500, shop.clock.now())
    run(shop, shop.start + timedelta(days=62), RecordingMailer())
    totals = plan_totals(shop, "sub-bob")
    assert totals == [3000, 4500, 4500]  # 3 x 10.00 until the notice ran out, then 3 x 15.00
    assert shop.sub("sub-bob").mrr == 4500


def tiered_and_addon_catalog(shop: Shop) -> None:
    """`seats`: 1-5 units at 10.00, the rest at 8.00; `backup`: an add-on at 2.00 a unit."""
    catalog.create_plan(
        shop.svc,
        Plan(
            id="seats",
            name="Seats",
            amount=0,
            currency="USD",
            interval="month",
            tiers=(Tier(5, 1000), Tier(None, 800)),
        ),
    )
    catalog.create_plan(
        shop.svc,
        Plan(
            id="backup",
            name="Backup",
            amount=200,
            currency="USD",
            interval="month",
            kind=PlanKind.ADDON,
        ),
    )


def item_totals(shop: Shop, sub_id: str, name: str) -> list[int]:
    """Each invoice's plan line for item `name` (by its description), oldest first."""
    return [
        line.amount
        for invoice in sorted(shop.invoices(sub_id), key=lambda i: i.period_start)
        for line in invoice.lines
        if line.kind is LineKind.PLAN and name in line.description
    ]


def test_a_tiered_plan_gets_a_new_table_emailed_with_the_subscribers_own_totals(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    tiered_and_addon_catalog(shop)
    subscriber(shop, "bob", "seats", items=Items(quantity=7))
    shop.clock.set(shop.start + timedelta(days=1))
    new_table = (Tier(5, 1200), Tier(None, 900))
    plan = pricing.schedule_price_change(
        shop.svc, "seats", None, shop.clock.now(), notice_days=30, tiers=new_table
    )
    assert plan.price_changes[0].tiers == new_table and plan.price_changes[0].amount == 0
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=62), mailer)

    # 7 seats: 5 x 10.00 + 2 x 8.00 = 66.00 before; 5 x 12.00 + 2 x 9.00 = 78.00 after.
    [email] = mailer.of(NoticeKind.PRICE_CHANGE, "bob")
    body = email.message.get_content()
    assert "old_amount=6600" in body and "amount=7800" in body
    totals = plan_totals(shop, "sub-bob")
    assert totals == [6600, 7800, 7800]  # told on day 1: 30 days before 2 April
    assert shop.sub("sub-bob").mrr == 7800
    subscriber(shop, "carol", "seats", items=Items(quantity=7))
    [first] = shop.invoices("sub-carol")
    assert sum(line.amount for line in first.lines if line.kind is LineKind.PLAN) == 7800


def test_an_addon_price_rise_reaches_its_holders_with_notice_and_new_buyers_at_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    tiered_and_addon_catalog(shop)
    backup = (Item("backup", 3),)
    subscriber(shop, "bob", items=Items(addons=backup))
    subscriber(shop, "dan")
    shop.clock.set(shop.start + timedelta(days=1))
    pricing.schedule_price_change(shop.svc, "backup", 250, shop.clock.now(), notice_days=30)
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=10), mailer)
    # dan buys the add-on after the change took effect: he pays what a new buyer pays.
    subscriptions.change_items(shop.svc, "sub-dan", addons=backup)
    run(shop, shop.start + timedelta(days=62), mailer)

    [email] = mailer.of(NoticeKind.PRICE_CHANGE, "bob")
    body = email.message.get_content()
    # What bob's 3 backups cost a period: 3 x 2.00 = 6.00 before, 3 x 2.50 = 7.50 after.
    assert "old_amount=600" in body and "amount=750" in body and "plan_name=Backup" in body
    assert item_totals(shop, "sub-bob", "Backup") == [600, 750, 750]
    assert item_totals(shop, "sub-bob", "Basic") == [1000, 1000, 1000]
    assert mailer.of(NoticeKind.PRICE_CHANGE, "dan") == []
    assert item_totals(shop, "sub-dan", "Backup")[-2:] == [750, 750]


def test_a_grandfathered_addon_change_keeps_its_holders_price(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    tiered_and_addon_catalog(shop)
    backup = (Item("backup", 2),)
    subscriber(shop, "bob", items=Items(addons=backup))
    shop.clock.set(shop.start + timedelta(days=1))
    pricing.schedule_price_change(shop.svc, "backup", 300, shop.clock.now(), grandfather=True)
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=95), mailer)
    assert set(item_totals(shop, "sub-bob", "Backup")) == {400}
    assert mailer.of(NoticeKind.PRICE_CHANGE, "bob") == []


def test_an_addon_email_is_not_sent_once_the_addon_was_dropped(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    tiered_and_addon_catalog(shop)
    backup = (Item("backup", 1),)
    # 09:00 UTC is night in Los Angeles: the email waits
    subscriber(shop, "bob", zone="America/Los_Angeles", items=Items(addons=backup))
    shop.clock.set(shop.start + timedelta(days=1))
    pricing.schedule_price_change(shop.svc, "backup", 300, shop.clock.now())
    mailer = RecordingMailer()
    notice = bobs_price_email_waiting_for_day(shop, mailer)
    subscriptions.change_items(shop.svc, "sub-bob", addons=())
    bob_is_never_told(shop, mailer, notice)


@pytest.mark.parametrize(
    ("plan_id", "amount", "tiers", "field"),
    [
        ("basic", None, (Tier(5, 1200), Tier(None, 900)), "tiers"),  # a flat plan
        ("seats", 1500, None, "tiers"),  # a tiered plan given an amount
        ("seats", 1500, (Tier(5, 1200), Tier(None, 900)), "amount"),  # both
        ("basic", None, None, "amount"),  # neither
        ("seats", None, (Tier(5, 1200), Tier(4, 900), Tier(None, 1)), "tiers[1].up_to"),
        ("seats", None, (Tier(5, 1200), Tier(9, 900)), "tiers[1].up_to"),  # not open
        ("seats", None, (Tier(5, -1), Tier(None, 900)), "tiers[0]"),
    ],
)
def test_a_price_change_of_the_wrong_kind_for_its_plan_is_refused_and_changes_nothing(
    make_shop: Callable[..., Shop],
    plan_id: str,
    amount: int | None,
    tiers: tuple[Tier, ...] | None,
    field: str,
) -> None:
    shop = make_shop()
    tiered_and_addon_catalog(shop)
    before = shop.repo.get_plan(plan_id)
    commits = shop.svc.commits
    with pytest.raises(ValidationFailedError) as refused:
        pricing.schedule_price_change(
            shop.svc, plan_id, amount, shop.clock.now() + timedelta(days=40), tiers=tiers
        )
    assert refused.value.field == field
    assert shop.repo.get_plan(plan_id) == before and shop.svc.commits == commits


def test_the_renewal_reminder_announces_the_items_scheduled_for_the_period_end(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    tiered_and_addon_catalog(shop)
    backup = (Item("backup", 3),)
    subscriber(shop, "bob", "seats", items=Items(7, backup))
    # Down to 4 seats and no backup when the period ends: the renewal bills 4 × 10.00.
    shop.clock.set(shop.start + timedelta(days=10))
    subscriptions.change_items(shop.svc, "sub-bob", quantity=4, addons=(), at_period_end=True)
    mailer = RecordingMailer()
    run(shop, shop.start + timedelta(days=40), mailer)

    [reminder] = mailer.of(NoticeKind.UPCOMING_RENEWAL, "bob")
    body = reminder.message.get_content()
    assert "amount=4000" in body, body
    # Before: 5 × 10.00 + 2 × 8.00 for the seats, 3 × 2.00 for the backups.
    assert item_totals(shop, "sub-bob", "Seats") == [5 * 1000 + 2 * 800, 4 * 1000]
    assert item_totals(shop, "sub-bob", "Backup") == [3 * 200]
