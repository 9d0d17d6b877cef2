"""Instalments in three-decimal currencies (KWD, BHD, ...): Stripe charges them only when the
last of the three decimals is 0, so a split of KWD 1.000 into 334 + 333 + 333 fils could
never be charged; it is split in tens (340 + 330 + 330) instead."""

from datetime import UTC, datetime

import pytest

from tenure.domain.errors import ValidationFailedError
from tenure.domain.installments import InstallmentPlan, split_amount
from tenure.domain.money import Money, charge_step, stripe_payout_safe

NOW = datetime(2026, 1, 10, 9, tzinfo=UTC)


def plan_of(amount: int, currency: str, count: int) -> list[int]:
    plan = InstallmentPlan.create(
        plan_id="ipl_1",
        customer_id="cus_1",
        amount=amount,
        currency=currency,
        count=count,
        every="month",
        description="Laptop",
        start=NOW,
        now=NOW,
    )
    return [i.amount for i in plan.instalments]


@pytest.mark.parametrize("currency", ["KWD", "BHD", "JOD", "OMR", "TND"])
def test_a_three_decimal_amount_in_tens_splits_into_instalments_stripe_can_charge(
    currency: str,
) -> None:
    parts = plan_of(1000, currency, 3)

    assert parts == [340, 330, 330] and sum(parts) == 1000
    assert all(stripe_payout_safe(Money(p, currency)) for p in parts)


@pytest.mark.parametrize(
    ("currency", "parts"), [("USD", [334, 333, 333]), ("JPY", [334, 333, 333])]
)
def test_other_currencies_split_to_the_minor_unit_as_before(
    currency: str, parts: list[int]
) -> None:
    assert plan_of(1000, currency, 3) == parts


def test_what_is_below_ten_fils_goes_on_the_first_instalment_with_the_remainder() -> None:
    assert split_amount(1001, 4, 10) == [251, 250, 250, 250]
    assert split_amount(1075, 4, 10) == [295, 260, 260, 260]


def test_an_amount_too_small_for_a_ten_each_is_refused_saying_how_much_is_needed() -> None:
    with pytest.raises(ValidationFailedError, match=r"at least 30 needed") as caught:
        plan_of(25, "KWD", 3)
    assert caught.value.field == "amount"


def test_the_charge_step_is_ten_only_for_three_decimal_currencies() -> None:
    assert [charge_step(c) for c in ("KWD", "bhd", "USD", "JPY", "ISK")] == [10, 10, 1, 1, 1]


@pytest.mark.parametrize("amount", [1001, 1005, 31])
def test_an_amount_stripe_cannot_charge_in_any_split_is_refused_naming_the_nearest(
    amount: int,
) -> None:
    # KWD 1.001 in 3 was 0.341 + 0.330 + 0.330: Stripe refused the first instalment at every
    # try (invalid_amount) and the plan defaulted after taking the other two.
    with pytest.raises(ValidationFailedError, match=r"steps of 10 minor units") as caught:
        plan_of(amount, "KWD", 3)
    assert caught.value.field == "amount"
    lower = amount - amount % 10
    assert f"nearest: {lower} or {lower + 10}" in str(caught.value)


def test_a_repayment_plan_is_refused_an_amount_off_the_step_like_any_plan() -> None:
    # A collections case plans only the part of its balance that can be charged
    # (CollectionCase.chargeable, tests/unit/domain/test_collection_case_charge_step.py).
    with pytest.raises(ValidationFailedError, match="nearest: 1000 or 1010"):
        InstallmentPlan.create(
            "case_1_p1", "cus_1", 1001, "KWD", 3, "week", "Repayment", NOW, NOW, min_count=1
        )
