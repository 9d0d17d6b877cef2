"""A commit whose new plan or subscription keeps failing to join its customer's list while the
customer is there and not erased (another transaction on the customer item each time, or
throttling: DynamoDB names them in the cancellation reasons), on DynamoDB Local: the commit
is tried a bounded number of times and answers the conflict error (409), never recursing
without end; nothing is written."""

from typing import Any

import pytest
from botocore.exceptions import ClientError
from containers import Containers, customer_with_card

from tenure.domain.errors import ConcurrencyError
from tenure.services import installments, subscriptions
from tenure.services.context import Services
from tenure.store.codec import from_item
from tenure.store.commit import LISTING_ATTEMPTS
from tenure_local.stack.local_stack import LocalStack

GIVE_UP = 50  # far past any bound the commit keeps: a commit still trying then has none


def listing_always_refused(svc: Services, code: str) -> list[int]:
    """Every transaction that adds to alice's lists is cancelled with `code` on that update
    alone, as DynamoDB cancels one that met another transaction on the item. The tries made,
    as a list the test reads (its length)."""
    client = svc.repo._ddb  # type: ignore[attr-defined]
    transact = client.transact_write_items
    tries: list[int] = []

    def refusing(**kwargs: Any) -> Any:
        items = kwargs["TransactItems"]
        at = next((n for n, op in enumerate(items) if _adds_to_alices_lists(op)), None)
        if at is None:
            return transact(**kwargs)
        tries.append(at)
        if len(tries) > GIVE_UP:
            raise AssertionError(f"still trying after {GIVE_UP} refusals")
        reasons = [{"Code": "None"} for _ in items]
        reasons[at] = {"Code": code, "Message": "refused"}
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": reasons,
            },
            "TransactWriteItems",
        )

    client.transact_write_items = refusing
    return tries


def _adds_to_alices_lists(op: dict[str, Any]) -> bool:
    update = op.get("Update")
    if update is None or not update["UpdateExpression"].startswith("ADD"):
        return False
    return bool(from_item(update["Key"]) == {"PK": "CUS#alice", "SK": "CUS"})


@pytest.mark.parametrize("code", ["TransactionConflict", "ThrottlingError"])
def test_a_plan_whose_listing_keeps_being_refused_answers_a_conflict_after_bounded_tries(
    local_stack: LocalStack, fresh_table: str, code: str
) -> None:
    containers = Containers(local_stack, fresh_table)
    setup = customer_with_card(containers)
    svc = containers()
    tries = listing_always_refused(svc, code)

    with pytest.raises(ConcurrencyError, match="customer alice changed meanwhile"):
        installments.create_installment_plan(
            svc, "alice", "ipl-1", 30000, "USD", 3, "month", "Sofa, in three parts"
        )

    assert len(tries) == LISTING_ATTEMPTS
    assert setup.repo.get_installment_plan("ipl-1") is None
    alice = setup.repo.get_customer("alice")
    assert alice is not None and alice.installment_plan_ids == frozenset()


def test_a_subscription_refused_its_listing_once_is_made_unlisted_and_stored(
    local_stack: LocalStack, fresh_table: str
) -> None:
    # The path the bound keeps: a card change came first, the subscription is made again
    # without joining the list (its claims check the customer instead).
    containers = Containers(local_stack, fresh_table)
    setup = customer_with_card(containers)
    svc = containers()
    tries = listing_always_refused(svc, "ConditionalCheckFailed")

    subscriptions.subscribe(svc, "sub-1", "alice", "basic")

    assert len(tries) == 1
    sub = setup.repo.get_subscription("sub-1")
    assert sub is not None and not sub.listed
