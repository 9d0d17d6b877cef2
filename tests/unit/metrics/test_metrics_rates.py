"""Monthly rates, CLV, cohorts and payment health on small, hand-computed cases."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from metrics_helpers import entry

from tenure.domain import mrr


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def run_days(changes: dict[date, list[Any]], first: date, last: date) -> dict[str, dict[str, Any]]:
    """Aggregate first..last with the in-memory customer memory, like the service does."""
    snapshots: dict[str, dict[str, Any]] = {}
    memory: dict[str, mrr.CustomerMrr] = {}
    previous = None
    for day in mrr.days(first, last):
        items = changes.get(day, [])
        entries = [i for i in items if not isinstance(i, mrr.PaymentOutcome)]
        paid = [i for i in items if isinstance(i, mrr.PaymentOutcome)]
        touched = {e.customer_id: memory.get(e.customer_id, mrr.CustomerMrr()) for e in entries}
        result = mrr.aggregate_day(day, previous, entries, touched, payments=paid)
        memory.update(result.customers)
        snapshots[day.isoformat()] = previous = result.snapshot
    return snapshots


FEB1, MAR1 = date(2026, 2, 1), date(2026, 3, 1)
# February: four customers join at $100. March: c1 churns, c2 upgrades by $100, c3 downgrades
# by $50, c5 joins at $100. April: c2 pauses and resumes (leaves and comes back in the
# month), c4 churns, c1 comes back.
CHANGES: dict[date, list[Any]] = {
    FEB1: [entry(c, f"s-{c}", 0, 10000, at(FEB1)) for c in ("c1", "c2", "c3", "c4")],
    date(2026, 3, 5): [entry("c1", "s-c1", 10000, 0, at(date(2026, 3, 5)), "SubscriptionCanceled")],
    date(2026, 3, 10): [entry("c2", "s-c2", 10000, 20000, at(date(2026, 3, 10)))],
    date(2026, 3, 15): [entry("c3", "s-c3", 10000, 5000, at(date(2026, 3, 15)))],
    date(2026, 3, 20): [entry("c5", "s-c5", 0, 10000, at(date(2026, 3, 20)))],
    date(2026, 4, 5): [entry("c2", "s-c2", 20000, 0, at(date(2026, 4, 5)), "SubscriptionPaused")],
    date(2026, 4, 10): [entry("c1", "s-c1b", 0, 10000, at(date(2026, 4, 10)))],
    date(2026, 4, 15): [entry("c2", "s-c2", 0, 20000, at(date(2026, 4, 15)))],
    date(2026, 4, 20): [
        entry("c4", "s-c4", 10000, 0, at(date(2026, 4, 20)), "SubscriptionCanceled")
    ],
}


@pytest.fixture(scope="module")
def months() -> dict[str, dict[str, Any]]:
    snapshots = run_days(CHANGES, FEB1, date(2026, 4, 30))
    doc = mrr.rollup(FEB1, date(2026, 4, 30), "USD", snapshots)
    return {row["month"]: row for row in doc["monthly"]}


def test_a_month_that_starts_with_no_customers_has_no_rates(
    months: dict[str, dict[str, Any]],
) -> None:
    feb = months["2026-02"]
    assert (feb["customers_start"], feb["customers_end"], feb["customers_new"]) == (0, 4, 4)
    for rate in ("customer_churn_rate", "retention_rate", "nrr", "grr", "gross_mrr_churn_rate"):
        assert feb[rate] is None, rate
    assert feb["arpa"] == 10000


def test_march_rates_by_hand(months: dict[str, dict[str, Any]]) -> None:
    mar = months["2026-03"]
    assert (mar["mrr_start"], mar["mrr_end"]) == (40000, 45000)
    assert (mar["customers_start"], mar["customers_end"]) == (4, 4)
    assert (mar["customers_lost"], mar["customers_new"]) == (1, 1)
    assert mar["customer_churn_rate"] == 1 / 4
    assert mar["retention_rate"] == (4 - 1) / 4  # (end - new) / start
    assert mar["nrr"] == (40000 + 10000 - 5000 - 10000) / 40000
    assert mar["grr"] == (40000 - 5000 - 10000) / 40000
    assert mar["gross_mrr_churn_rate"] == (10000 + 5000) / 40000
    assert mar["net_mrr_churn_rate"] == (10000 + 5000 - 10000) / 40000
    assert mar["arpa"] == 45000 // 4
    # Trailing churn over Feb and Mar: 1 lost of 0 + 4 at the starts = 0.25; 11250 / 0.25.
    assert mar["ltv"] == 45000


def test_leaving_and_coming_back_in_the_same_month_counts_as_retained(
    months: dict[str, dict[str, Any]],
) -> None:
    apr = months["2026-04"]
    assert (apr["customers_start"], apr["customers_end"]) == (4, 4)
    assert (apr["customers_lost"], apr["customers_reactivated"]) == (2, 2)
    assert apr["customer_churn_rate"] == 2 / 4
    # c3 and c5 stayed, c2 left and came back; c4 left; c1 came back from March.
    assert apr["customers_retained"] == 3
    assert apr["retention_rate"] == 3 / 4
    assert apr["reactivation_mrr"] == 30000
    assert apr["nrr"] == (45000 + 30000 - 0 - 30000) / 45000


def test_cohorts_follow_each_signup_month_to_every_later_month_end() -> None:
    snapshots = run_days(CHANGES, FEB1, date(2026, 4, 30))
    cohorts = mrr.rollup(FEB1, date(2026, 4, 30), "USD", snapshots)["cohorts"]
    assert cohorts == [
        # Feb: 4 joined with $400; end of Mar: c2, c3, c4 ($350); end of Apr: c1, c2, c3.
        {"cohort": "2026-02", "customers": [4, 3, 3], "mrr": [40000, 35000, 35000]},
        {"cohort": "2026-03", "customers": [1, 1], "mrr": [10000, 10000]},
    ]


def test_exit_reasons_add_up_over_the_period() -> None:
    snapshots = run_days(CHANGES, FEB1, date(2026, 4, 30))
    reasons = mrr.rollup(FEB1, date(2026, 4, 30), "USD", snapshots)["exit_reasons"]
    assert reasons == {"unspecified": 2, "paused": 1}


def test_on_time_and_recovery_rates_by_hand() -> None:
    paid = mrr.PaymentOutcome("in1", "USD", first_attempt=True, paid=True, revenue=10000)
    changes: dict[date, list[Any]] = {
        MAR1: [
            paid,
            mrr.PaymentOutcome("in2", "USD", True, True, 10000),
            mrr.PaymentOutcome("in3", "USD", True, True, 10000),
            mrr.PaymentOutcome("in4", "USD", True, False),
            mrr.PaymentOutcome("in5", "USD", True, False),
        ],
        # In April, in4 (failed on Mar 1) is paid at its third attempt; in5 never is.
        date(2026, 4, 3): [
            mrr.PaymentOutcome("in4", "USD", False, True, 10000, recovered_from="2026-03-01")
        ],
    }
    snapshots = run_days(changes, MAR1, date(2026, 4, 30))
    rows = mrr.rollup(MAR1, date(2026, 4, 30), "USD", snapshots)["monthly"]
    mar, apr = rows
    assert mar["on_time_payment_rate"] == 3 / 5
    assert (mar["invoices_failed"], mar["invoices_recovered"]) == (2, 1)
    assert mar["recovery_rate"] == 1 / 2  # recovered later, counted for the month it failed
    assert apr["on_time_payment_rate"] is None  # no first attempts in April
    assert apr["recovery_rate"] is None
    assert (mar["payments"], mar["revenue"], apr["payments"]) == (3, 30000, 1)


def test_recovered_revenue_is_what_recovered_invoices_brought_in_the_month_they_were_paid() -> None:
    changes: dict[date, list[Any]] = {
        MAR1: [
            mrr.PaymentOutcome("in4", "USD", True, False),
            mrr.PaymentOutcome("in5", "USD", True, False),
        ],
        date(2026, 3, 9): [
            mrr.PaymentOutcome("in6", "USD", True, True, 2500),  # paid at once: not recovered
        ],
        date(2026, 4, 3): [
            mrr.PaymentOutcome("in4", "USD", False, True, 10000, recovered_from="2026-03-01"),
            mrr.PaymentOutcome("in5", "USD", False, True, 1999, recovered_from="2026-03-01"),
        ],
    }
    snapshots = run_days(changes, MAR1, date(2026, 4, 30))
    mar, apr = mrr.rollup(MAR1, date(2026, 4, 30), "USD", snapshots)["monthly"]
    assert (mar["recovered_revenue"], apr["recovered_revenue"]) == (0, 11999)
    assert (mar["invoices_recovered"], apr["invoices_recovered"]) == (2, 0)


def test_purchase_based_clv_is_value_times_frequency_times_lifespan() -> None:
    changes: dict[date, list[Any]] = {
        FEB1: [entry(c, f"s-{c}", 0, 10000, at(FEB1)) for c in ("a", "b", "c", "d")]
        + [mrr.PaymentOutcome(f"i{c}", "USD", True, True, 10000) for c in "abcd"],
        MAR1: [mrr.PaymentOutcome(f"j{c}", "USD", True, True, 10000) for c in "abcd"],
        date(2026, 3, 2): [entry("d", "s-d", 10000, 0, at(date(2026, 3, 2)))],
    }
    snapshots = run_days(changes, FEB1, date(2026, 3, 31))
    mar = mrr.rollup(FEB1, date(2026, 3, 31), "USD", snapshots)["monthly"][1]
    # Window Feb-Mar: 8 payments of $100; buyers 0+4 (Feb) + 4 (Mar) = 8 -> 1 per month;
    # churn 1 / (0 + 4) -> lifespan 4 months; CLV = $100 x 1 x 4.
    assert mar["average_purchase_value"] == 10000
    assert mar["purchase_frequency"] == 1.0
    assert mar["lifespan_months"] == 4.0
    assert mar["ltv_purchases"] == 40000
    assert mar["ltv"] == 40000  # ARPA $100 / churn 0.25


def test_a_rate_is_a_fraction_and_none_without_a_denominator() -> None:
    assert mrr.ratio(1, 20) == 0.05
    assert mrr.ratio(3, 0) is None
    assert mrr.per(10001, 2) == 5001  # half-up
    assert mrr.per(5, 0) is None


def test_instalments_collected_are_counted_apart_within_payments_and_revenue() -> None:
    changes: dict[date, list[Any]] = {
        MAR1: [
            mrr.PaymentOutcome("in-sub", "USD", True, True, 10000),
            mrr.PaymentOutcome("in-i1", "USD", True, True, 25003, installment=True),
            mrr.PaymentOutcome("in-i2", "USD", True, False, installment=True),  # failed
        ],
        date(2026, 4, 3): [
            mrr.PaymentOutcome("in-i2", "USD", False, True, 25000, "2026-03-01", installment=True)
        ],
    }
    snapshots = run_days(changes, MAR1, date(2026, 4, 30))
    mar, apr = mrr.rollup(MAR1, date(2026, 4, 30), "USD", snapshots)["monthly"]

    assert (mar["installments_paid"], mar["installments_collected"]) == (1, 25003)
    assert (apr["installments_paid"], apr["installments_collected"]) == (1, 25000)
    assert (mar["payments"], mar["revenue"]) == (2, 35003)  # every paid invoice, as before
    assert mar["mrr_end"] == 0  # instalments are no recurring revenue
