"""What a DynamoDB client sends, counted: the request counts the store's tests pin."""

from collections import Counter
from typing import Any


def counting(client: Any) -> Counter[str]:
    """The DynamoDB requests `client` sends from now on, by operation."""
    sent: Counter[str] = Counter()
    client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: sent.update([model.name])
    )
    return sent
