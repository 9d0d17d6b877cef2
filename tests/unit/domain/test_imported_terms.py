"""Subscription terms from another billing system: taken over exactly, or refused with why."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tenure.domain.events import EventType
from tenure.domain.imported import (
    ImportRefusedError,
    SubscriptionTerms,
    TermsStatus,
    subscription_from_terms,
)
from tenure.domain.plans import Plan
from tenure.domain.subscription import SubscriptionStatus

MONTHLY = Plan(id="basic", amount=1500, currency="USD", interval="month")
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


ACTIVE = SubscriptionTerms(
    id="sub_1",
    customer_id="cus_1",
    plan_id="basic",
    status=TermsStatus.ACTIVE,
    created_at=at(1, 31),
    anchor=at(1, 31),
    current_period_start=at(2, 28),
    current_period_end=at(3, 31),
)
TRIAL = replace(
    ACTIVE,
    status=TermsStatus.TRIALING,
    anchor=at(3, 20),
    current_period_start=at(3, 6),
    current_period_end=at(3, 20),
    trial_end=at(3, 20),
)


def test_a_month_end_subscription_counts_its_periods_from_the_anchor() -> None:
    sub = subscription_from_terms(ACTIVE, MONTHLY, NOW)
    assert (sub.anchor, sub.periods_since_anchor) == (at(1, 31), 1)
    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.continuity_start == at(1, 31)


def test_the_first_renewal_after_the_import_is_the_one_the_old_system_would_make() -> None:
    sub = subscription_from_terms(ACTIVE, MONTHLY, NOW)
    sub.pull_events()
    assert sub.renew(MONTHLY, at(3, 31))
    assert (sub.current_period_start, sub.current_period_end) == (at(3, 31), at(4, 30))


def test_an_import_records_one_event_and_the_subscriptions_mrr() -> None:
    sub = subscription_from_terms(ACTIVE, MONTHLY, NOW)
    events, ledger = sub.pull_events()
    assert [e.type for e in events] == [EventType.SUBSCRIPTION_IMPORTED]
    assert events[0].data["period_end"] == "2026-03-31T12:00:00Z"
    assert [(e.before, e.after) for e in ledger] == [(0, 1500)]


def test_a_trial_converts_at_the_trial_end_it_was_given() -> None:
    sub = subscription_from_terms(TRIAL, MONTHLY, NOW)
    assert sub.status is SubscriptionStatus.TRIALING
    assert sub.next_due() == (at(3, 20), sub.next_due()[1])  # type: ignore[index]
    sub.renew(MONTHLY, at(3, 20))
    assert (sub.current_period_start, sub.current_period_end) == (at(3, 20), at(4, 20))


def test_a_first_period_that_ends_on_an_anchor_set_ahead_is_kept() -> None:
    terms = replace(
        ACTIVE, anchor=at(3, 25), current_period_start=at(3, 1), current_period_end=at(3, 25)
    )
    sub = subscription_from_terms(terms, MONTHLY, NOW)
    sub.renew(MONTHLY, at(3, 25))
    assert sub.current_period_end == at(4, 25)


@pytest.mark.parametrize(
    ("terms", "why"),
    [
        (replace(ACTIVE, current_period_end=at(2, 1)), "before it starts"),
        (replace(ACTIVE, current_period_start=at(1, 31), current_period_end=at(2, 28)), "ended"),
        (replace(ACTIVE, current_period_start=at(3, 1)), "does not fall on the billing cycle"),
        (replace(ACTIVE, anchor=at(1, 30)), "does not fall on the billing cycle"),
        (replace(TRIAL, trial_end=at(3, 21)), "trial end"),
        (replace(TRIAL, trial_end=None), "trial end"),
        (replace(TRIAL, anchor=at(3, 6)), "billing anchor"),
        (replace(ACTIVE, status=TermsStatus.PAUSED, paused_until=at(3, 1)), "pause ended"),
        (
            replace(ACTIVE, status=TermsStatus.PAUSED, cancel_at_period_end=True),
            "paused and set to cancel",
        ),
    ],
)
def test_terms_that_do_not_hold_together_are_refused(terms: SubscriptionTerms, why: str) -> None:
    with pytest.raises(ImportRefusedError, match=why):
        subscription_from_terms(terms, MONTHLY, NOW)
