"""Containers redeeming the same customer's points at once on DynamoDB Local: the balance is
never overdrawn, and what was taken from it is exactly what waits for the next invoice."""

from containers import T0, Containers, customer_with_card, failures, race

from tenure.domain.errors import ConcurrencyError, ValidationFailedError
from tenure.domain.points import PointsEntry, PointsKind, PointsMove
from tenure.domain.programs import LoyaltyProgram, Programs
from tenure.ports import Commit
from tenure.services import points, programs, subscriptions
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack


def test_eight_containers_redeeming_at_once_never_overdraw(
    local_stack: LocalStack, fresh_table: str
) -> None:
    containers = Containers(local_stack, fresh_table)
    setup = customer_with_card(containers)
    loyalty = LoyaltyProgram(points_per_unit=1, unit_minor=1000, point_value_minor=1)
    programs.put_programs(setup, Programs(loyalty=loyalty), 0)
    subscriptions.subscribe(setup, "sub-1", "alice", "basic")  # earns 1 point
    entry = PointsEntry("alice", T0, PointsKind.EARNED, 9, "gift", 0)
    setup.commit(Commit(points=[PointsMove("alice", balance=9, entry=entry)]))  # 10 in all

    errors = failures(race(containers, 8, lambda svc, _: points.redeem_points(svc, "alice", 4)))

    account = DynamoRepository(local_stack.dynamodb_client(), fresh_table).get_points("alice")
    won = 8 - len(errors)
    assert 1 <= won <= 2
    assert all(isinstance(e, ConcurrencyError | ValidationFailedError) for e in errors)
    assert account.balance == 10 - 4 * won >= 0
    assert account.pending == 4 * won
    sub = DynamoRepository(local_stack.dynamodb_client(), fresh_table).get_subscription("sub-1")
    assert sub is not None and sub.points_pending == 4 * won
