"""Containers racing for a coupon's last redemptions on DynamoDB Local: exactly as many win
as there were redemptions left, the others are refused, and nobody is charged for nothing."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

from tenure.domain.discounts import Coupon, CouponDuration, DiscountTerms
from tenure.domain.errors import ValidationFailedError
from tenure.domain.plans import Plan
from tenure.fakes import FixedClock
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.services import catalog, charging, coupons, subscriptions
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def race(local_stack: LocalStack, table: str, containers: int, left: int) -> list[BaseException]:
    gateway, clock = SandboxGateway(), FixedClock(T0)

    def container() -> Services:
        return Services(DynamoRepository(local_stack.dynamodb_client(), table), clock, gateway)

    setup = container()
    catalog.create_plan(setup, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    catalog.create_customer(setup, "alice", email="alice@example.com")
    visa = payment_method_for("4242424242424242")
    assert visa is not None
    charging.update_payment_method(setup, "alice", visa, provider="sandbox", make_default=True)
    coupon = Coupon(
        id="last",
        terms=DiscountTerms(percent_off=Decimal(50)),
        duration=CouponDuration.ONCE,
        max_redemptions=10,
        times_redeemed=10 - left,
        created_at=T0,
    )
    coupons.create_coupon(setup, coupon)

    errors: list[BaseException] = []
    start = threading.Barrier(containers)

    def subscribe(n: int) -> None:
        svc = container()
        start.wait()
        try:
            subscriptions.subscribe(svc, f"sub-{n:02d}", "alice", "basic", coupon_id="last")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=subscribe, args=(n,)) for n in range(containers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_concurrent_subscribes_for_the_last_redemption_exactly_one_wins(
    local_stack: LocalStack, fresh_table: str
) -> None:
    errors = race(local_stack, fresh_table, containers=2, left=1)
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
    errors = race(local_stack, fresh_table, containers=8, left=3)
    repo = DynamoRepository(local_stack.dynamodb_client(), fresh_table)
    assert len(repo.list_subscriptions("alice")) == 3
    assert len(errors) == 5
    assert all(isinstance(e, ValidationFailedError) for e in errors)
    coupon = repo.get_coupon("last")
    assert coupon is not None and coupon.times_redeemed == 10
