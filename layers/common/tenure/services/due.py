"""Finding the work that is due, for the renewals scheduler."""

from datetime import datetime

from tenure.ports import DueItem
from tenure.services.context import Services

PAGE = 1000  # per scheduler run; each of the index's shards gives up to its share


def due_work(svc: Services, now: datetime) -> list[DueItem]:
    """Everything due at or before `now` (bounded queries on the sharded due index)."""
    return svc.repo.due(now, limit=PAGE)
