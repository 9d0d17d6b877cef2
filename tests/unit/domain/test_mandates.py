"""The e-mandate rules as the charger asks them: which debits ride a mandate, and what one
may do now given its pre-debit notice, the mandate's cap and the authentication limit."""

from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.mandates import (
    MandatePolicy,
    Verdict,
    decide,
    on_mandate,
    pre_debit_key,
)
from tenure.domain.notices import Notice, NoticeKind, NoticeStatus

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
DAY = timedelta(hours=24)
POLICY = MandatePolicy()


def a_notice(status: NoticeStatus, *, sent_at: datetime | None = None, due_at: datetime = NOW):
    return Notice(
        key=pre_debit_key("in_1", 1, 49900),
        kind=NoticeKind.PRE_DEBIT,
        customer_id="alice",
        subscription_id="sub-1",
        due_at=due_at,
        created_at=due_at - DAY,
        status=status,
        sent_at=sent_at,
    )


def verdict_for(notice: Notice | None, amount: int = 49900, cap: int | None = None, **kw):
    return decide(
        amount_minor=amount,
        currency=kw.get("currency", "INR"),
        mandate_max_minor=cap,
        notice=notice,
        now=kw.get("now", NOW),
        policy=kw.get("policy", POLICY),
    )


def test_only_razorpay_debits_ride_a_mandate() -> None:
    assert on_mandate("razorpay")
    assert not on_mandate("sandbox")
    assert not on_mandate("stripe")
    assert not on_mandate(None)


def test_a_debit_without_a_notice_must_send_one_first() -> None:
    assert verdict_for(None).verdict is Verdict.NOTICE_FIRST


def test_a_debit_exactly_24_hours_after_its_notice_is_made() -> None:
    assert verdict_for(a_notice(NoticeStatus.SENT, sent_at=NOW - DAY)).verdict is Verdict.DEBIT


def test_a_debit_a_second_under_24_hours_after_its_notice_waits_for_the_24_hours() -> None:
    sent = NOW - DAY + timedelta(seconds=1)
    decision = verdict_for(a_notice(NoticeStatus.SENT, sent_at=sent))
    assert decision.verdict is Verdict.WAIT
    assert decision.debit_at == sent + DAY


def test_a_debit_whose_notice_is_not_sent_yet_waits_a_day_after_its_send_time() -> None:
    later = NOW + timedelta(hours=5)
    decision = verdict_for(a_notice(NoticeStatus.SCHEDULED, due_at=later))
    assert (decision.verdict, decision.debit_at) == (Verdict.WAIT, later + DAY)


def test_a_notice_overdue_for_sending_moves_the_debit_a_day_past_now() -> None:
    decision = verdict_for(a_notice(NoticeStatus.SCHEDULED, due_at=NOW - timedelta(hours=30)))
    assert (decision.verdict, decision.debit_at) == (Verdict.WAIT, NOW + DAY)


@pytest.mark.parametrize(
    "status",
    [NoticeStatus.SKIPPED, NoticeStatus.FAILED, NoticeStatus.SUPPRESSED, NoticeStatus.SENDING],
)
def test_a_notice_that_cannot_have_reached_the_customer_never_allows_the_debit(
    status: NoticeStatus,
) -> None:
    assert verdict_for(a_notice(status)).verdict is Verdict.UNANNOUNCED


def test_a_debit_above_the_mandates_maximum_is_never_made_even_when_announced() -> None:
    sent = a_notice(NoticeStatus.SENT, sent_at=NOW - 2 * DAY)
    assert verdict_for(sent, amount=50_001, cap=50_000).verdict is Verdict.OVER_LIMIT
    assert verdict_for(sent, amount=50_000, cap=50_000).verdict is Verdict.DEBIT


def test_a_debit_above_15000_rupees_asks_the_customer_to_authenticate() -> None:
    assert verdict_for(None, amount=1_500_001).verdict is Verdict.FRESH_AUTH
    assert verdict_for(None, amount=1_500_000).verdict is Verdict.NOTICE_FIRST


def test_the_authentication_limit_is_in_rupees_only_and_set_by_policy() -> None:
    assert verdict_for(None, amount=1_500_001, currency="USD").verdict is Verdict.NOTICE_FIRST
    lower = MandatePolicy(fresh_auth_above_minor=500_000)
    assert verdict_for(None, amount=500_001, policy=lower).verdict is Verdict.FRESH_AUTH


def test_the_cap_is_checked_before_the_authentication_limit() -> None:
    assert verdict_for(None, amount=2_000_000, cap=1_000_000).verdict is Verdict.OVER_LIMIT


def test_a_policy_cannot_shorten_the_notice_below_24_hours_nor_have_a_negative_limit() -> None:
    with pytest.raises(ValueError, match="24 hours"):
        MandatePolicy(notice_lead=timedelta(hours=23))
    with pytest.raises(ValueError, match="negative"):
        MandatePolicy(fresh_auth_above_minor=-1)


def test_each_debit_and_each_amount_has_its_own_notice() -> None:
    keys = {pre_debit_key("in_1", 1, 100), pre_debit_key("in_1", 2, 100)}
    keys |= {pre_debit_key("in_1", 1, 200), pre_debit_key("in_2", 1, 100)}
    assert len(keys) == 4
