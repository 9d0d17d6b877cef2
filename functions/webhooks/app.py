"""Placeholder handler so `sam build` and the template checks have code; to be replaced."""

from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"placeholder": 0}
