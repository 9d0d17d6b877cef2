"""MRR and its movements, on hand-computed oracles (ChartMogul's definitions)."""

from datetime import UTC, date, datetime, timedelta

from metrics_helpers import T0, Business, day_of, entry

from tenure.domain import mrr
from tenure.services import subscriptions

D1 = T0.date()


def test_100_monthly_customers_at_100_and_50_yearly_at_600_make_12500_dollars_of_mrr(
    business: Business,
) -> None:
    for n in range(150):
        business.customer(f"c{n:03d}")
        business.subscribe(f"c{n:03d}", "monthly-100" if n < 100 else "yearly-600")
    business.aggregate(D1)
    figures = business.day(D1)
    assert figures["mrr"] == 1_250_000  # $12,500.00
    assert figures["customers"] == 150
    assert figures["new_mrr"] == 1_250_000
    assert figures["customers_new"] == 150


def test_chartmogul_walk_through_new_expansion_contraction_churn_reactivation(
    business: Business,
) -> None:
    business.customer("syncalytics")
    business.subscribe("syncalytics", "yearly-2000", "gold")
    business.at(T0 + timedelta(days=1)).subscribe("syncalytics", "monthly-100", "silver")
    business.at(T0 + timedelta(days=2)).cancel("silver", reason="not_needed")
    business.at(T0 + timedelta(days=3)).cancel("gold", reason="too_expensive")
    business.at(T0 + timedelta(days=4)).subscribe("syncalytics", "monthly-200", "gold-again")
    business.aggregate(D1, day_of(T0, 4))
    walk = [business.day(day_of(T0, n)) for n in range(5)]
    # An annual $2,000 plan is $166.67 of new MRR, rounded half-up to the cent.
    assert walk[0]["new_mrr"] == 16667
    assert walk[1]["expansion_mrr"] == 10000  # a second subscription is expansion, not new
    assert walk[2]["contraction_mrr"] == 10000  # one of two cancelled: contraction, not churn
    assert walk[2]["customers_lost"] == 0
    assert walk[3]["churned_mrr"] == 16667  # the last one: churn
    assert walk[3]["customers_lost"] == 1
    assert walk[3]["exit_reasons"] == {"too_expensive": 1}
    assert walk[4]["reactivation_mrr"] == 20000  # a churned customer comes back
    assert walk[4]["customers_new"] == 0
    assert [w["mrr"] for w in walk] == [16667, 26667, 16667, 0, 20000]
    assert [w["customers"] for w in walk] == [1, 1, 1, 0, 1]


def test_an_upgrade_is_expansion_of_the_difference_and_a_downgrade_contraction(
    business: Business,
) -> None:
    business.customer("alice")
    business.subscribe("alice", "monthly-100", "sub")
    business.at(T0 + timedelta(days=10)).change_plan("sub", "monthly-200")
    business.at(T0 + timedelta(days=20)).change_plan("sub", "monthly-100")
    business.aggregate(D1, day_of(T0, 20))
    assert business.day(day_of(T0, 10))["expansion_mrr"] == 10000
    assert business.day(day_of(T0, 10))["customers"] == 1
    assert business.day(day_of(T0, 20))["contraction_mrr"] == 10000
    assert business.day(day_of(T0, 20))["mrr"] == 10000


def test_trials_count_nothing_until_they_convert_to_new_mrr() -> None:
    trial = entry("ann", "s1", 0, 5000, reason="SubscriptionActivated")
    day = mrr.aggregate_day(D1, None, [trial], {})
    assert day.snapshot["currencies"]["USD"]["new_mrr"] == 5000


def test_a_pause_is_churn_with_reason_paused_and_the_resume_a_reactivation(
    business: Business,
) -> None:
    business.customer("layla")
    sub = business.subscribe("layla", "monthly-100")
    business.at(T0 + timedelta(days=3))
    subscriptions.pause(business.svc, sub, until=T0 + timedelta(days=10))
    business.at(T0 + timedelta(days=5))
    subscriptions.resume(business.svc, sub)
    business.aggregate(D1, day_of(T0, 5))
    paused, resumed = business.day(day_of(T0, 3)), business.day(day_of(T0, 5))
    assert (paused["churned_mrr"], paused["exit_reasons"]) == (10000, {"paused": 1})
    assert paused["voluntary_churned"] == 1
    assert resumed["reactivation_mrr"] == 10000
    assert resumed["mrr"] == 10000


def test_changes_of_one_customer_at_the_same_moment_are_one_movement() -> None:
    both = [entry("bo", "s1", 0, 3000), entry("bo", "s2", 0, 2000)]
    day = mrr.aggregate_day(D1, None, both, {}).snapshot["currencies"]["USD"]
    assert (day["new_mrr"], day["expansion_mrr"], day["customers_new"]) == (5000, 0, 1)
    later = datetime(2026, 2, 2, 12, tzinfo=UTC)
    state = mrr.CustomerMrr(subs={"USD": {"s1": 3000, "s2": 2000}}, since={"USD": "2026-02"})
    gone = [
        entry("bo", "s1", 3000, 0, later, "SubscriptionCanceled"),
        entry("bo", "s2", 2000, 0, later, "SubscriptionCanceled"),
    ]
    day2 = mrr.aggregate_day(date(2026, 2, 2), None, gone, {"bo": state}).snapshot
    usd = day2["currencies"]["USD"]
    assert (usd["churned_mrr"], usd["contraction_mrr"], usd["customers_lost"]) == (5000, 0, 1)


def test_failed_payment_cancellations_and_unpaid_subscriptions_are_involuntary_churn() -> None:
    states = {
        "erin": mrr.CustomerMrr(subs={"USD": {"s1": 2000}}, since={"USD": "2026-01"}),
        "dan": mrr.CustomerMrr(subs={"USD": {"s2": 1000}}, since={"USD": "2026-01"}),
        "fay": mrr.CustomerMrr(subs={"USD": {"s3": 1500}}, since={"USD": "2026-01"}),
    }
    entries = [
        entry("erin", "s1", 2000, 0, reason="SubscriptionCanceled"),
        entry("dan", "s2", 1000, 0, reason="SubscriptionMarkedUnpaid"),
        entry("fay", "s3", 1500, 0, reason="SubscriptionCanceled"),
    ]
    why = {
        "s1": mrr.Cancellation("payment_failed", voluntary=False),
        "s3": mrr.Cancellation("switched_to_competitor", voluntary=True),
    }
    usd = mrr.aggregate_day(D1, None, entries, states, why).snapshot["currencies"]["USD"]
    assert (usd["voluntary_churned"], usd["involuntary_churned"]) == (1, 2)
    assert usd["exit_reasons"] == {"payment_failed": 2, "switched_to_competitor": 1}


def test_each_currency_is_counted_apart_and_never_converted(business: Business) -> None:
    business.customer("ana")
    business.subscribe("ana", "monthly-100")
    business.customer("eva")
    business.subscribe("eva", "monthly-eur")
    business.aggregate(D1)
    assert (business.day(D1, "USD")["mrr"], business.day(D1, "USD")["customers"]) == (10000, 1)
    assert (business.day(D1, "EUR")["mrr"], business.day(D1, "EUR")["customers"]) == (5000, 1)
    doc = business.document(D1, D1, "USD")
    assert doc["currency"] == "USD"
    assert doc["daily"][0]["mrr"] == 10000
    assert doc["other_currencies"]["EUR"]["daily"][0]["mrr"] == 5000


def test_mrr_end_is_mrr_start_plus_the_movements_every_month(business: Business) -> None:
    for n, plan in enumerate(["monthly-100", "monthly-200", "yearly-600", "yearly-2000"]):
        business.at(T0 + timedelta(days=n * 9)).customer(f"c{n}")
        business.subscribe(f"c{n}", plan, f"s{n}")
    business.at(T0 + timedelta(days=40)).change_plan("s0", "monthly-200")
    business.at(T0 + timedelta(days=50)).cancel("s1")
    business.at(T0 + timedelta(days=60)).subscribe("c1", "monthly-100", "s1b")
    business.aggregate(D1, day_of(T0, 75))
    doc = business.document(D1, day_of(T0, 75))
    for row in doc["monthly"]:
        moved = (
            row["new_mrr"]
            + row["expansion_mrr"]
            + row["reactivation_mrr"]
            - row["contraction_mrr"]
            - row["churned_mrr"]
        )
        assert row["mrr_end"] == row["mrr_start"] + moved, row["month"]
    assert doc["daily"][0]["date"] == "2026-02-01"
    assert len(doc["daily"]) == 76  # every day, changes or not
