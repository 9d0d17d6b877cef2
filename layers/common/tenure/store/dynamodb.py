"""The single-table DynamoDB repository. Key shapes live in this package's modules and
nowhere else: DynamoRepository is made of their parts, each a mixin on the table
(table.py) of one purpose: reads.py, due_work.py, history.py, commit.py (with
commit_ops.py, numbers.py and customer_mrr.py), idempotency.py, webhooks_out.py and
privacy.py.

See docs/data-model.md for the key schema and every access pattern.
"""

from tenure.store.commit import (
    CUSTOMER_MRR_ATTEMPTS,
    MAX_TRANSACTION_ITEMS,
    NUMBER_ATTEMPTS,
    DynamoCommit,
)
from tenure.store.due_work import DynamoDueWork
from tenure.store.history import AUTOMATED_QUERY_PAGE, DynamoHistory
from tenure.store.idempotency import IDEMPOTENCY_TTL, DynamoIdempotency
from tenure.store.privacy import DynamoPrivacy
from tenure.store.reads import PLANS_KEPT_SECONDS, PROGRAMS_KEPT_SECONDS, DynamoReads
from tenure.store.table import DUE_SHARDS, NOTICE_DUE, WORK_DUE, due_shard, each_shard
from tenure.store.webhooks_out import DynamoWebhookOut

__all__ = [
    "AUTOMATED_QUERY_PAGE",
    "CUSTOMER_MRR_ATTEMPTS",
    "DUE_SHARDS",
    "IDEMPOTENCY_TTL",
    "MAX_TRANSACTION_ITEMS",
    "NOTICE_DUE",
    "NUMBER_ATTEMPTS",
    "PLANS_KEPT_SECONDS",
    "PROGRAMS_KEPT_SECONDS",
    "WORK_DUE",
    "DynamoRepository",
    "_each_shard",
    "due_shard",
    "each_shard",
]


# The old private name, kept for what imports it from outside the layer.
_each_shard = each_shard


class DynamoRepository(
    DynamoCommit,
    DynamoReads,
    DynamoDueWork,
    DynamoHistory,
    DynamoIdempotency,
    DynamoWebhookOut,
    DynamoPrivacy,
):
    """Repository port on one DynamoDB table (see template.yaml `TenureTable`)."""
