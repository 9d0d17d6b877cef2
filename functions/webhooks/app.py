"""Payment-provider webhooks. Not built yet (its own issue): answers 501 so providers retry."""

import json
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # 501 is a 5xx: Stripe keeps retrying for three days, so nothing is lost meanwhile.
    return {
        "statusCode": 501,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"error": "not_implemented", "message": "webhooks are not built yet"}),
    }
