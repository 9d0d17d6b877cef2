"""Save offers and refunds at cancellation, through the use cases on the fakes: offers are
presented only to a caller who opts in, one accepted means no cancellation (and counts as
saved), declining cancels; a cancel can refund the period it cuts short."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from conftest import T0, Shop

from tenure.domain.discounts import Coupon, CouponDuration, DiscountTerms
from tenure.domain.errors import IllegalTransitionError, NotFoundError, ValidationFailedError
from tenure.domain.events import EventType
from tenure.domain.plans import Plan
from tenure.domain.programs import Programs
from tenure.domain.subscription import SubscriptionStatus
from tenure.services import cancellation, catalog, coupons, programs, retention, subscriptions

OFFERS = [
    {"id": "pause2", "kind": "pause", "months": 2},
    {"id": "half1", "kind": "coupon", "coupon": "half-once"},
    {"id": "down", "kind": "change_plan", "plan": "lite"},
]


def configure(shop: Shop, **sections: Any) -> None:
    current = programs.get_programs(shop.svc)
    programs.put_programs(shop.svc, Programs.model_validate(sections), current.version)


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    shop = make_shop()
    shop.add_card("4242424242424242")
    catalog.create_plan(shop.svc, Plan(id="lite", amount=500, currency="USD", interval="month"))
    half = DiscountTerms(percent_off=Decimal(50))
    coupons.create_coupon(
        shop.svc, Coupon(id="half-once", terms=half, duration=CouponDuration.ONCE, created_at=T0)
    )
    configure(shop, save_offers=OFFERS, refunds={"window_days": 14, "after_window": "none"})
    shop.subscribe()
    shop.clock.advance(timedelta(days=3))
    return shop


def events(shop: Shop, kind: EventType) -> list[dict[str, Any]]:
    return [e for e in shop.repo.events if e["type"] == kind]


def present(shop: Shop) -> cancellation.CancelOutcome:
    return cancellation.request_cancel(
        shop.svc, "sub-1", reason="too_expensive", reason_text="costs too much", offers=True
    )


def month_of(shop: Shop) -> dict[str, Any]:
    first, last = T0.date(), shop.clock.now().date()
    retention.backfill(shop.svc, first, last)
    [month] = retention.metrics_document(shop.svc, first, last, "USD")["monthly"]
    return month


def test_a_cancel_that_does_not_opt_in_cancels_as_it_always_did(shop: Shop) -> None:
    done = cancellation.request_cancel(shop.svc, "sub-1", reason="too_expensive")
    assert done.offers == ()
    assert shop.sub().status is SubscriptionStatus.CANCELED
    assert events(shop, EventType.SAVE_OFFERS_PRESENTED) == []


def test_opting_in_presents_the_offers_and_changes_nothing_else(shop: Shop) -> None:
    before = shop.sub()
    done = present(shop)
    assert [o.id for o in done.offers] == ["pause2", "half1", "down"]
    assert shop.sub() == before and shop.sub().version == before.version
    [shown] = events(shop, EventType.SAVE_OFFERS_PRESENTED)
    assert shown["data"]["reason"] == "too_expensive"
    assert shown["data"]["reason_text"] == "costs too much"
    assert [o["id"] for o in shown["data"]["offers"]] == ["pause2", "half1", "down"]


def test_with_no_offers_configured_an_opted_in_cancel_cancels(shop: Shop) -> None:
    configure(shop)
    done = present(shop)
    assert done.offers == ()
    assert shop.sub().status is SubscriptionStatus.CANCELED


def test_an_accepted_save_offer_leaves_the_subscription_active_and_counted_as_saved(
    shop: Shop,
) -> None:
    present(shop)
    cancellation.accept_offer(shop.svc, "sub-1", "half1")
    sub = shop.sub()
    assert sub.status is SubscriptionStatus.ACTIVE and sub.canceled_at is None
    assert sub.discount is not None and sub.discount.coupon_id == "half-once"
    [accepted] = events(shop, EventType.SAVE_OFFER_ACCEPTED)
    assert accepted["data"]["offer"] == {"id": "half1", "kind": "coupon", "coupon": "half-once"}
    month = month_of(shop)
    assert (month["saved_by_offer"], month["cancellations_requested"]) == (1, 1)
    assert month["voluntary_churned"] == 0


def test_a_pause_offer_pauses_for_its_months(shop: Shop) -> None:
    present(shop)
    cancellation.accept_offer(shop.svc, "sub-1", "pause2")
    sub = shop.sub()
    assert sub.status is SubscriptionStatus.PAUSED
    assert sub.paused_until == shop.clock.now().replace(month=shop.clock.now().month + 2)


def test_a_plan_offer_moves_the_subscription_to_that_plan(shop: Shop) -> None:
    present(shop)
    cancellation.accept_offer(shop.svc, "sub-1", "down")
    assert shop.sub().plan_id == "lite" and shop.sub().status is SubscriptionStatus.ACTIVE


def test_declining_the_offers_cancels_and_counts_the_request_once(shop: Shop) -> None:
    present(shop)
    cancellation.request_cancel(shop.svc, "sub-1", reason="too_expensive", decline_offers=True)
    assert shop.sub().status is SubscriptionStatus.CANCELED
    [declined] = events(shop, EventType.SAVE_OFFERS_DECLINED)
    assert declined["data"]["offers"] == ["pause2", "half1", "down"]
    [canceled] = events(shop, EventType.SUBSCRIPTION_CANCELED)
    assert canceled["data"]["after_offers"] is True
    month = month_of(shop)
    assert (month["cancellations_requested"], month["saved_by_offer"]) == (1, 0)


def test_an_offer_that_was_not_presented_is_not_found_and_changes_nothing(shop: Shop) -> None:
    present(shop)
    before, commits = shop.sub(), shop.repo.commits
    with pytest.raises(NotFoundError):
        cancellation.accept_offer(shop.svc, "sub-1", "free-forever")
    assert shop.sub() == before and shop.repo.commits == commits


def test_an_offer_cannot_be_accepted_before_any_was_presented(shop: Shop) -> None:
    with pytest.raises(NotFoundError):
        cancellation.accept_offer(shop.svc, "sub-1", "half1")


def test_an_offer_cannot_be_accepted_twice(shop: Shop) -> None:
    present(shop)
    cancellation.accept_offer(shop.svc, "sub-1", "half1")
    before, commits = shop.sub(), shop.repo.commits
    with pytest.raises(IllegalTransitionError, match="accepted"):
        cancellation.accept_offer(shop.svc, "sub-1", "pause2")
    assert shop.sub() == before and shop.repo.commits == commits


def test_an_offer_cannot_be_accepted_after_cancelling(shop: Shop) -> None:
    present(shop)
    cancellation.request_cancel(shop.svc, "sub-1", decline_offers=True)
    commits = shop.repo.commits
    with pytest.raises(IllegalTransitionError, match="canceled"):
        cancellation.accept_offer(shop.svc, "sub-1", "half1")
    assert shop.repo.commits == commits


def test_offers_are_not_presented_for_a_subscription_that_ended(shop: Shop) -> None:
    cancellation.request_cancel(shop.svc, "sub-1")
    with pytest.raises(IllegalTransitionError):
        present(shop)
    assert events(shop, EventType.SAVE_OFFERS_PRESENTED) == []


def test_a_full_refund_at_cancel_refunds_the_period_cut_short(shop: Shop) -> None:
    done = cancellation.request_cancel(shop.svc, "sub-1", refund="full")
    [refund] = done.refunds
    assert (refund.amount, str(refund.basis)) == (1000, "full")
    assert shop.sub().status is SubscriptionStatus.CANCELED
    assert month_of(shop)["refunded"] == 1000


def test_a_policy_refund_within_the_window_is_full(shop: Shop) -> None:
    done = cancellation.request_cancel(shop.svc, "sub-1", refund="policy")
    assert [r.amount for r in done.refunds] == [1000]


def test_a_policy_refund_after_the_window_with_none_refunds_nothing_but_cancels(
    shop: Shop,
) -> None:
    shop.clock.advance(timedelta(days=15))
    done = cancellation.request_cancel(shop.svc, "sub-1", refund="policy")
    assert done.refunds == []
    assert shop.sub().status is SubscriptionStatus.CANCELED


def test_a_refund_with_a_cancel_at_the_period_end_is_refused(shop: Shop) -> None:
    before = shop.sub()
    with pytest.raises(ValidationFailedError) as refused:
        cancellation.request_cancel(shop.svc, "sub-1", at_period_end=True, refund="full")
    assert refused.value.field == "refund"
    assert shop.sub() == before


def test_only_the_offers_the_subscription_could_take_are_presented(shop: Shop) -> None:
    present(shop)
    cancellation.accept_offer(shop.svc, "sub-1", "down")  # now on lite, no coupon yet
    shop.clock.advance(timedelta(days=1))
    again = present(shop)
    assert [o.id for o in again.offers] == ["pause2", "half1"]  # not lite, its own plan


# -- the customer's own words with the exit reason --------------------------------------------
def test_words_given_with_a_cancel_without_offers_are_kept_with_the_reason(shop: Shop) -> None:
    configure(shop)  # no offers: the cancel goes ahead at once
    cancellation.request_cancel(shop.svc, "sub-1", reason="other", reason_text="السعر مرتفع")

    sub = shop.sub()
    assert (sub.cancel_reason, sub.cancel_reason_text) == ("other", "السعر مرتفع")
    [canceled] = events(shop, EventType.SUBSCRIPTION_CANCELED)
    assert (canceled["data"]["reason"], canceled["data"]["reason_text"]) == (
        "other",
        "السعر مرتفع",
    )


def test_words_given_with_a_cancel_at_period_end_reach_the_cancel_event(shop: Shop) -> None:
    configure(shop)
    cancellation.request_cancel(
        shop.svc, "sub-1", at_period_end=True, reason="other", reason_text="moving abroad"
    )
    [scheduled] = events(shop, EventType.CANCELLATION_SCHEDULED)
    assert scheduled["data"]["reason_text"] == "moving abroad"

    shop.run_due(shop.sub().current_period_end)

    [ended] = events(shop, EventType.SUBSCRIPTION_CANCELED)
    assert ended["data"]["reason_text"] == "moving abroad"
    assert shop.sub().cancel_reason_text == "moving abroad"


def test_words_said_when_offers_were_presented_are_kept_when_they_are_declined(
    shop: Shop,
) -> None:
    present(shop)
    cancellation.request_cancel(shop.svc, "sub-1", reason="too_expensive", decline_offers=True)
    assert shop.sub().cancel_reason_text == "costs too much"


def test_taking_back_a_scheduled_cancel_forgets_its_words(shop: Shop) -> None:
    configure(shop)
    cancellation.request_cancel(
        shop.svc, "sub-1", at_period_end=True, reason="other", reason_text="maybe later"
    )
    subscriptions.resume(shop.svc, "sub-1")
    assert (shop.sub().cancel_reason, shop.sub().cancel_reason_text) == (None, None)


@pytest.mark.parametrize(
    "words",
    [
        pytest.param("x" * 1001, id="longer than 1000 characters"),
        pytest.param("too\nexpensive", id="a line break"),
        pytest.param("bell\x07", id="a control character"),
        pytest.param("c1\x85", id="a C1 control character"),
    ],
)
def test_words_too_long_or_with_control_characters_are_refused_and_change_nothing(
    shop: Shop, words: str
) -> None:
    configure(shop)
    before, commits = shop.sub(), shop.repo.commits

    with pytest.raises(ValidationFailedError, match="reason_text"):
        cancellation.request_cancel(shop.svc, "sub-1", reason="other", reason_text=words)

    assert shop.sub() == before and shop.repo.commits == commits


def test_words_of_exactly_500_characters_are_kept(shop: Shop) -> None:
    configure(shop)
    cancellation.request_cancel(shop.svc, "sub-1", reason="other", reason_text="ع" * 1000)
    assert shop.sub().cancel_reason_text == "ع" * 1000
