"""The HTTP API: customers, plans, subscriptions and invoices over API Gateway v2 (payload 2.0).

A cold start imports what every request runs before its route: the wiring (boto3 and the
domain), Powertools' event handler, the token and size checks and the Idempotency-Key
middleware. The resolver (api_resolver.py) is imported by the first request: building it
imports pydantic, and each request imports only the route modules its path can match."""

from tenure import cold_start  # isort: skip  (first: pauses the collector for the rest)

from typing import Any

import api_guard  # noqa: F401  (loaded here: every request runs the checks)
import api_idempotency  # noqa: F401  (every POST runs it)
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

SERVICE = "tenure-api"
logger = Logger(service=SERVICE)


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id((event.get("requestContext") or {}).get("requestId"))
    logger.remove_keys(["actor"])  # a warm container's last caller is not this one
    import api_resolver

    resolver = api_resolver.resolver_for(APIGatewayProxyEventV2(event).path)
    return resolver.resolve(event, context)


cold_start.done()
