"""A price change tells its plan's and add-ons' existing subscribers at once, through a run
that pages through the price's members: every one once, even across crashes."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import Shop, work_one
from test_reminders import RecordingMailer, customer, run, subscriber

from tenure.domain.notices import NoticeKind
from tenure.domain.plans import Plan, PlanKind
from tenure.domain.pricing import Item, Items
from tenure.ports import Commit
from tenure.services import catalog, price_notices, pricing, subscriptions


def price_emails_planned(shop: Shop, customer_id: str) -> list[str]:
    """The keys of the price_change emails planned for the customer (read in place: a
    listing copies every notice, thousands of them here)."""
    return sorted(
        key
        for key, n in shop.repo.notices.items()
        if n.kind is NoticeKind.PRICE_CHANGE and n.customer_id == customer_id
    )


def work_everything_due(shop: Shop) -> int:
    """Each due item once per pass, passes until nothing is due now: the pieces of work."""
    worked = 0
    while due := shop.repo.due(shop.clock.now()):
        for item in due:
            work_one(shop.svc, item)
            worked += 1
    return worked


def many_subscribers(shop: Shop, n: int, plan: str = "basic") -> list[str]:
    customer(shop, "payer")
    ids = [f"sub-{i:05d}" for i in range(n)]
    for sub_id in ids:
        subscriptions.subscribe(shop.svc, sub_id, "payer", plan)
    # A change in effect the moment they joined would be their price from the start.
    shop.clock.set(shop.clock.now() + timedelta(hours=1))
    return ids


def test_subscribers_are_told_in_their_daytime_the_day_a_price_rise_is_made(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    zones = {"ana": "America/New_York", "ivan": "Asia/Vladivostok", "sam": "UTC"}
    for name, zone in zones.items():
        customer(shop, name, zone)
        subscriptions.subscribe(shop.svc, f"sub-{name}", name, "basic")
    shop.clock.set(shop.start + timedelta(days=3))
    made = shop.clock.now()
    pricing.schedule_price_change(shop.svc, "basic", 1500, made + timedelta(days=10))
    mailer = RecordingMailer()
    run(shop, made + timedelta(days=1), mailer)  # weeks before anyone renews

    for name, zone in zones.items():
        [email] = mailer.of(NoticeKind.PRICE_CHANGE, name)
        assert made <= email.at < made + timedelta(days=1)
        local = email.at.astimezone(ZoneInfo(zone))
        assert 8 <= local.hour < 21, (name, local)
        [step] = shop.sub(f"sub-{name}").price_steps
        assert step.starts is not None and step.starts - email.at >= timedelta(days=30)


def test_a_grandfathering_change_starts_no_run_and_tells_nobody(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    many_subscribers(shop, 3)
    pricing.schedule_price_change(shop.svc, "basic", 1500, shop.clock.now(), grandfather=True)
    assert shop.repo.get_price_run("basic:pc1") is None
    work_everything_due(shop)
    assert price_emails_planned(shop, "payer") == []


def test_thousands_of_subscribers_are_paged_through_and_each_told_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    ids = many_subscribers(shop, 2_050)
    # Two who left: one ended, one moved to another plan before the change.
    subscriptions.cancel(shop.svc, ids[7], at_period_end=False, reason="too_expensive")
    catalog.create_plan(shop.svc, Plan(id="pro", amount=2000, currency="USD", interval="month"))
    subscriptions.change_plan(shop.svc, ids[8], "pro")
    shop.clock.set(shop.start + timedelta(days=2))
    pricing.schedule_price_change(shop.svc, "basic", 1500, shop.clock.now())

    pieces = work_everything_due(shop)

    run_ = shop.repo.get_price_run("basic:pc1")
    assert run_ is not None and run_.finished_at is not None
    # 21 pages of 100 (the last one half full), worked as 3 pieces of 10 pages at most.
    assert (run_.pages, pieces) == (21, 3)
    told = {key.split(":")[0] for key in price_emails_planned(shop, "payer")}
    assert told == set(ids) - {ids[7], ids[8]}
    assert len(price_emails_planned(shop, "payer")) == len(told)
    assert shop.sub(ids[8]).price_steps == ()  # pro's member now: basic's change is not its


def test_a_page_that_ends_exactly_at_the_last_member_still_finishes(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    many_subscribers(shop, price_notices.PAGE)
    pricing.schedule_price_change(shop.svc, "basic", 1500, shop.clock.now())
    work_everything_due(shop)
    run_ = shop.repo.get_price_run("basic:pc1")
    assert run_ is not None and run_.finished_at is not None and run_.pages == 2
    assert len(price_emails_planned(shop, "payer")) == price_notices.PAGE


class Crash(Exception):
    """The charger's process dies mid-work."""


@pytest.mark.parametrize("crash_at", [1, 57, 100, 101, 250])
def test_a_crash_in_the_run_neither_loses_nor_doubles_an_email(
    make_shop: Callable[..., Shop], monkeypatch: pytest.MonkeyPatch, crash_at: int
) -> None:
    """Commit 101 is the first page's cursor; 250, a subscription's of the third page."""
    shop = make_shop()
    ids = many_subscribers(shop, 260)
    pricing.schedule_price_change(shop.svc, "basic", 1500, shop.clock.now())
    commit = shop.repo.commit
    seen = {"commits": 0}

    def crashing(change: Commit) -> None:
        seen["commits"] += 1
        if seen["commits"] == crash_at:
            raise Crash
        commit(change)

    monkeypatch.setattr(shop.repo, "commit", crashing)
    [item] = shop.repo.due(shop.clock.now())
    with pytest.raises(Crash):
        work_one(shop.svc, item)
    monkeypatch.setattr(shop.repo, "commit", commit)
    work_everything_due(shop)  # the message comes back: the run goes on from its cursor

    keys = price_emails_planned(shop, "payer")
    assert sorted(k.split(":")[0] for k in keys) == ids
    mailer = RecordingMailer()
    run(shop, shop.clock.now() + timedelta(days=1), mailer)
    assert len(mailer.of(NoticeKind.PRICE_CHANGE, "payer")) == len(ids)


def test_a_price_is_joined_by_subscribing_moving_or_buying_never_by_renewing(
    make_shop: Callable[..., Shop], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = make_shop()
    catalog.create_plan(shop.svc, Plan(id="pro", amount=2000, currency="USD", interval="month"))
    addon = Plan(id="backup", amount=200, currency="USD", interval="month", kind=PlanKind.ADDON)
    catalog.create_plan(shop.svc, addon)
    customer(shop, "bob")
    written: list[tuple[str, str]] = []
    commit = shop.repo.commit

    def spying(change: Commit) -> Any:
        written.extend(change.price_members)
        return commit(change)

    monkeypatch.setattr(shop.repo, "commit", spying)
    subscriptions.subscribe(shop.svc, "sub-bob", "bob", "basic")
    assert written == [("basic", "sub-bob")]
    subscriptions.change_items(shop.svc, "sub-bob", addons=(Item("backup", 2),))
    assert written[1:] == [("basic", "sub-bob"), ("backup", "sub-bob")]
    subscriptions.change_plan(shop.svc, "sub-bob", "pro")
    assert written[3:] == [("pro", "sub-bob"), ("backup", "sub-bob")]
    del written[:]
    run(shop, shop.start + timedelta(days=65), RecordingMailer())  # two renewals
    assert len(shop.invoices("sub-bob")) >= 3 and written == []
    assert shop.repo.price_members("backup", 10) == (["sub-bob"], None)
    assert shop.repo.price_members("basic", 10) == (["sub-bob"], None)  # kept: it is skipped


def bob_with_the_addon_eve_without(make_shop: Callable[..., Shop]) -> Shop:
    """bob holds one `backup` add-on on basic (sub-bob); eve is on basic alone (sub-eve)."""
    shop = make_shop()
    addon = Plan(id="backup", amount=200, currency="USD", interval="month", kind=PlanKind.ADDON)
    catalog.create_plan(shop.svc, addon)
    subscriber(shop, "bob", items=Items(addons=(Item("backup", 1),)))
    subscriber(shop, "eve")
    return shop


def test_an_addons_holders_are_told_at_once_and_others_not(
    make_shop: Callable[..., Shop],
) -> None:
    shop = bob_with_the_addon_eve_without(make_shop)
    shop.clock.set(shop.clock.now() + timedelta(hours=1))
    pricing.schedule_price_change(shop.svc, "backup", 250, shop.clock.now())
    work_everything_due(shop)
    assert price_emails_planned(shop, "bob") == ["sub-bob:price_change:backup:pc1:0"]
    assert price_emails_planned(shop, "eve") == []


def test_a_backfill_gives_older_subscriptions_their_memberships_once(
    make_shop: Callable[..., Shop],
) -> None:
    shop = bob_with_the_addon_eve_without(make_shop)
    subscriptions.subscribe(shop.svc, "sub-eve-old", "eve", "basic")
    subscriptions.cancel(shop.svc, "sub-eve-old", at_period_end=False, reason="too_expensive")
    shop.repo.price_member_ids.clear()  # a table from before memberships existed

    assert price_notices.backfill_price_members(shop.svc, page=1) == 3
    assert price_notices.backfill_price_members(shop.svc, page=1) == 3  # again: no change
    assert shop.repo.price_members("basic", 10) == (["sub-bob", "sub-eve"], None)
    assert shop.repo.price_members("backup", 10) == (["sub-bob"], None)
    shop.clock.set(shop.clock.now() + timedelta(hours=1))
    pricing.schedule_price_change(shop.svc, "basic", 1500, shop.clock.now())
    work_everything_due(shop)
    assert price_emails_planned(shop, "bob") == ["sub-bob:price_change:basic:pc1:0"]
    assert price_emails_planned(shop, "eve") == ["sub-eve:price_change:basic:pc1:0"]


def test_a_worker_still_holding_the_price_before_the_change_leaves_the_run_for_later(
    make_shop: Callable[..., Shop], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = make_shop()
    many_subscribers(shop, 3)
    before = shop.repo.get_plan("basic")
    pricing.schedule_price_change(shop.svc, "basic", 1500, shop.clock.now())
    fresh = shop.repo.get_plan
    monkeypatch.setattr(shop.repo, "get_plan", lambda plan_id: before)  # a minute-old copy
    kept = price_notices.tell_subscribers(shop.svc, "basic:pc1")
    assert kept is not None and (kept.pages, kept.finished_at) == (0, None)
    assert price_emails_planned(shop, "payer") == []
    monkeypatch.setattr(shop.repo, "get_plan", fresh)
    work_everything_due(shop)
    assert len(price_emails_planned(shop, "payer")) == 3
