"""The metrics function. Not built yet (its own issue): runs on its schedule and does nothing."""

from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"status": "not_implemented", "function": "metrics"}
