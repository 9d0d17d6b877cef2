"""Containers redeeming the same customer's points at once on DynamoDB Local: the balance is
never overdrawn, and what was taken from it is exactly what waits for the next invoice."""

import threading
from datetime import UTC, datetime

from tenure.domain.errors import ConcurrencyError, ValidationFailedError
from tenure.domain.plans import Plan
from tenure.domain.points import PointsEntry, PointsKind, PointsMove
from tenure.domain.programs import LoyaltyProgram, Programs
from tenure.fakes import FixedClock
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.ports import Commit
from tenure.services import catalog, charging, points, programs, subscriptions
from tenure.services.context import Services
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_eight_containers_redeeming_at_once_never_overdraw(
    local_stack: LocalStack, fresh_table: str
) -> None:
    gateway, clock = SandboxGateway(), FixedClock(T0)

    def container() -> Services:
        return Services(
            DynamoRepository(local_stack.dynamodb_client(), fresh_table), clock, gateway
        )

    setup = container()
    catalog.create_plan(setup, Plan(id="basic", amount=1000, currency="USD", interval="month"))
    catalog.create_customer(setup, "alice", email="alice@example.com")
    visa = payment_method_for("4242424242424242")
    assert visa is not None
    charging.update_payment_method(setup, "alice", visa, provider="sandbox", make_default=True)
    loyalty = LoyaltyProgram(points_per_unit=1, unit_minor=1000, point_value_minor=1)
    programs.put_programs(setup, Programs(loyalty=loyalty), 0)
    subscriptions.subscribe(setup, "sub-1", "alice", "basic")  # earns 1 point
    entry = PointsEntry("alice", T0, PointsKind.EARNED, 9, "gift", 0)
    setup.commit(Commit(points=[PointsMove("alice", balance=9, entry=entry)]))  # 10 in all

    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def redeem() -> None:
        svc = container()
        start.wait()
        try:
            points.redeem_points(svc, "alice", 4)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    account = DynamoRepository(local_stack.dynamodb_client(), fresh_table).get_points("alice")
    won = 8 - len(errors)
    assert 1 <= won <= 2
    assert all(isinstance(e, ConcurrencyError | ValidationFailedError) for e in errors)
    assert account.balance == 10 - 4 * won >= 0
    assert account.pending == 4 * won
    sub = DynamoRepository(local_stack.dynamodb_client(), fresh_table).get_subscription("sub-1")
    assert sub is not None and sub.points_pending == 4 * won
