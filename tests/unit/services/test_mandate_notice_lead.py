"""A pre-debit email always lands at least 24 hours before its debit: whatever the customer's
time zone (half-hour offsets, DST), the retry schedule and the day the subscription renews."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import Shop, card
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_mandate_debits import PAYS, with_mandates
from test_reminders import REAL, RecordingMailer, run

from tenure.domain.dunning import DunningPolicy
from tenure.domain.notices import NoticeKind
from tenure.domain.plans import Plan
from tenure.services import cards, catalog, subscriptions

DAY = timedelta(hours=24)
DECLINES = "4000000000009995"  # insufficient funds: soft, retried on the schedule
ZONES = (
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/New_York",
    "America/St_Johns",
    "Europe/London",
    "Australia/Lord_Howe",  # a half-hour DST shift
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "UTC",
)
# Nights the clocks change in some of the zones above (2026), to start near.
DST_NIGHTS = (
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # America/New_York springs forward
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # Europe/London springs forward
    datetime(2026, 4, 4, 15, tzinfo=UTC),  # Australia/Lord_Howe falls back half an hour
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # Europe/London falls back
    datetime(2026, 11, 1, 6, tzinfo=UTC),  # America/New_York falls back
)
PLANS = {
    "week": Plan(id="inr-week", name="Weekly", amount=9900, currency="INR", interval="week"),
    "month": Plan(id="inr-month", name="Monthly", amount=49900, currency="INR", interval="month"),
    "trial": Plan(
        id="inr-trial", name="Weekly", amount=9900, currency="INR", interval="week", trial_days=7
    ),
}


def mandate_customer(
    make_shop: Callable[..., Shop], start: datetime, zone: str, policy: DunningPolicy
) -> Shop:
    shop = make_shop(policy=policy, start=start)
    shop.gateway = with_mandates(shop)
    catalog.create_customer(shop.svc, "ravi", "ravi@example.in", timezone=zone, provider="razorpay")
    cards.update_payment_method(shop.svc, "ravi", card(PAYS), "sandbox", True)
    for plan in PLANS.values():
        catalog.create_plan(shop.svc, plan)
    return shop


def assert_each_debit_follows_its_notice(
    shop: Shop, mailer: RecordingMailer, paid_when_subscribing: bool = True
) -> int:
    """Each debit against the pre-debit emails of its invoice, in order: the n-th debit of
    an invoice a day or more after its n-th email. The first invoice is not a debit on the
    mandate when it was paid as the customer subscribed (not a trial). Returns how many
    debits were checked."""
    notices: dict[str, list[datetime]] = {}
    for sent in mailer.of(NoticeKind.PRE_DEBIT, "ravi"):
        invoice_id = str(sent.message["X-Tenure-Notice"]).split(":pre_debit:")[0]
        notices.setdefault(invoice_id, []).append(sent.at)
    checked = 0
    for invoice in shop.repo.list_invoices("sub-r"):
        made = [c.at for c in shop.repo.list_charges(invoice.id)]
        if invoice.kind == "first" and paid_when_subscribing:
            continue  # paid as the customer subscribed: their own authentication
        told = notices.get(invoice.id, [])
        assert len(told) >= len(made), (invoice.id, told, made)
        for notice_at, debit_at in zip(told, made, strict=False):
            assert debit_at - notice_at >= DAY, (invoice.id, notice_at, debit_at)
            checked += 1
    return checked


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    zone=st.sampled_from(ZONES),
    start=st.one_of(
        st.sampled_from(DST_NIGHTS),
        st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 1)).map(
            lambda d: d.replace(tzinfo=UTC)
        ),
    ),
    lead=st.timedeltas(timedelta(0), timedelta(days=6)),
    days=st.lists(st.integers(1, 9), min_size=1, max_size=3, unique=True).map(sorted),
    every=st.sampled_from(sorted(PLANS)),  # (a trial's first debit is announced when due)
    declines=st.booleans(),
)
def test_a_pre_debit_email_always_lands_at_least_24_hours_before_its_debit(
    make_shop: Callable[..., Shop],
    zone: str,
    start: datetime,
    lead: timedelta,
    days: list[int],
    every: str,
    declines: bool,
) -> None:
    shop = mandate_customer(make_shop, start - lead, zone, DunningPolicy.from_days(days))
    subscriptions.subscribe(shop.svc, "sub-r", "ravi", PLANS[every].id)
    if declines:
        cards.update_payment_method(shop.svc, "ravi", card(DECLINES), "sandbox", True)
    mailer = RecordingMailer()
    run(shop, start + timedelta(days=40), mailer, REAL)

    assert assert_each_debit_follows_its_notice(shop, mailer, every != "trial") >= 1


def test_across_a_fall_back_night_the_debit_is_24_real_hours_after_its_email_not_23(
    make_shop: Callable[..., Shop],
) -> None:
    # A weekly renewal due at 14:00 UTC on Sunday 1 November 2026 (09:00 in New York, after
    # the clocks fell back that night): announced a day ahead, at 10:00 New York time.
    start = datetime(2026, 10, 25, 14, tzinfo=UTC)
    shop = mandate_customer(make_shop, start, "America/New_York", DunningPolicy())
    subscriptions.subscribe(shop.svc, "sub-r", "ravi", "inr-week")
    mailer = RecordingMailer()
    run(shop, start + timedelta(days=9), mailer, REAL)

    [renewal] = [i for i in shop.repo.list_invoices("sub-r") if i.kind == "renewal"]
    [sent] = mailer.of(NoticeKind.PRE_DEBIT, "ravi")
    [debit] = shop.repo.list_charges(renewal.id)
    assert sent.at == datetime(2026, 10, 31, 14, tzinfo=UTC)
    assert debit.at == renewal.period_start  # on time
    assert debit.at - sent.at == DAY  # real time, as the rule counts it
    zone = ZoneInfo("America/New_York")
    wall = debit.at.astimezone(zone).replace(tzinfo=None) - sent.at.astimezone(zone).replace(
        tzinfo=None
    )
    assert wall == timedelta(hours=23)  # what the customer's clock shows


def test_across_a_spring_forward_night_the_email_still_goes_out_in_waking_hours(
    make_shop: Callable[..., Shop],
) -> None:
    # A trial ends at 06:30 UTC on Sunday 8 March 2026: 01:30 in New York, an hour before
    # the clocks spring forward. Its first debit's email waits for 9:00 local (13:00 UTC,
    # now EDT); the debit follows a day on.
    start = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
    shop = mandate_customer(make_shop, start, "America/New_York", DunningPolicy())
    subscriptions.subscribe(shop.svc, "sub-r", "ravi", "inr-trial")
    mailer = RecordingMailer()
    run(shop, start + timedelta(days=9), mailer, REAL)

    [sent] = mailer.of(NoticeKind.PRE_DEBIT, "ravi")
    assert sent.at == datetime(2026, 3, 8, 13, tzinfo=UTC)
    [first] = shop.repo.list_invoices("sub-r")
    [debit] = shop.repo.list_charges(first.id)
    assert debit.at == sent.at + DAY
