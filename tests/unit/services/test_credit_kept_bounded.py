"""A long-lived subscription's item stays small: the credit it keeps by invoice
(Subscription.credit_kept) lists only invoices whose unused time still holds some, so a
plan change every month for three years leaves no trail of used-up entries (DynamoDB bills
a write per started kilobyte of the item)."""

from datetime import timedelta

from conftest import Shop, run_due

from tenure.domain.plans import Plan
from tenure.ports import Commit
from tenure.services import catalog, subscriptions
from tenure.store.dynamodb import DynamoRepository
from tenure.store.sizes import WRITE_UNIT_BYTES, item_size
from tenure_local.bench.load import StagedTable

SMALL = Plan(id="small", name="Small", amount=100, currency="USD", interval="month")


def subscription_item_size(shop: Shop) -> int:
    """The bytes of sub-1's item as the DynamoDB store writes it (its codec)."""
    staged, change = StagedTable(), Commit()
    change.add_subscription(shop.sub())
    DynamoRepository(staged, "t").commit(change)
    [item] = [i for i in staged.items.values() if i is not None and i["SK"]["S"] == "SUB"]
    return item_size(item)


def test_three_years_of_monthly_changes_with_credit_keep_a_small_item(paid_shop: Shop) -> None:
    shop = paid_shop
    catalog.create_plan(shop.svc, SMALL)
    for _ in range(36):
        start, end = shop.sub().current_period_start, shop.sub().current_period_end
        shop.clock.set(start + timedelta(days=3))
        subscriptions.change_plan(shop.svc, "sub-1", "small")  # unused time kept as credit
        shop.clock.set(start + timedelta(days=5))
        subscriptions.change_plan(shop.svc, "sub-1", "basic")  # ... and used
        run_due(shop.svc, end + timedelta(hours=1))  # renewed

    sub = shop.sub()
    assert len(shop.invoices()) > 36
    assert all(held > 0 for held in sub.credit_kept.values())
    assert len(sub.credit_kept) <= 1
    assert subscription_item_size(shop) < WRITE_UNIT_BYTES
