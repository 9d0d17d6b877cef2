"""Containers racing for a coupon's last redemptions on DynamoDB Local: exactly as many win
as there were redemptions left, the others are refused, and nobody is charged for nothing."""

from decimal import Decimal

from containers import T0, Containers, customer_with_card, failures, race

from tenure.domain.discounts import Coupon, CouponDuration, DiscountTerms
from tenure.domain.errors import ValidationFailedError
from tenure.services import coupons, subscriptions
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack


def subscribe_all(
    local_stack: LocalStack, table: str, containers: int, left: int
) -> list[BaseException]:
    """`containers` subscribe alice with the coupon that has `left` redemptions; what failed."""
    made = Containers(local_stack, table)
    setup = customer_with_card(made)
    coupon = Coupon(
        id="last",
        terms=DiscountTerms(percent_off=Decimal(50)),
        duration=CouponDuration.ONCE,
        max_redemptions=10,
        times_redeemed=10 - left,
        created_at=T0,
    )
    coupons.create_coupon(setup, coupon)
    return failures(
        race(
            made,
            containers,
            lambda svc, n: subscriptions.subscribe(
                svc, f"sub-{n:02d}", "alice", "basic", coupon_id="last"
            ),
        )
    )


def test_two_concurrent_subscribes_for_the_last_redemption_exactly_one_wins(
    local_stack: LocalStack, fresh_table: str
) -> None:
    errors = subscribe_all(local_stack, fresh_table, containers=2, left=1)
    repo = DynamoRepository(local_stack.dynamodb_client(), fresh_table)
    [sub] = repo.list_subscriptions("alice")
    [invoice] = repo.list_invoices(sub.id)
    assert invoice.total == 500
    [refused] = errors
    assert isinstance(refused, ValidationFailedError) and refused.field == "coupon"
    coupon = repo.get_coupon("last")
    assert coupon is not None and coupon.times_redeemed == 10


def test_eight_containers_for_three_redemptions_leave_three_subscriptions(
    local_stack: LocalStack, fresh_table: str
) -> None:
    errors = subscribe_all(local_stack, fresh_table, containers=8, left=3)
    repo = DynamoRepository(local_stack.dynamodb_client(), fresh_table)
    assert len(repo.list_subscriptions("alice")) == 3
    assert len(errors) == 5
    assert all(isinstance(e, ValidationFailedError) for e in errors)
    coupon = repo.get_coupon("last")
    assert coupon is not None and coupon.times_redeemed == 10
