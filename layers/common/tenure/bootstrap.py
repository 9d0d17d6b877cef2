"""The composition root: builds the adapters from settings and hands them to the services."""

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from tenure.clock import SystemClock
from tenure.payments.gateway import PaymentGateway
from tenure.payments.sandbox import SandboxGateway
from tenure.ports import Clock, Repository
from tenure.services.context import Services
from tenure.settings import Settings, get_settings
from tenure.store.dynamodb import DynamoRepository

_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2)
_override: Services | None = None


@lru_cache(maxsize=8)
def aws_client(service: str) -> Any:
    """One client per service per process (cold start cost paid once)."""
    return boto3.client(service, config=_BOTO_CONFIG)  # type: ignore[call-overload]


def build(
    settings: Settings | None = None, clock: Clock | None = None, repo: Repository | None = None
) -> Services:
    settings = settings or get_settings()
    repo = repo or DynamoRepository(aws_client("dynamodb"), settings.table_name)
    return Services(repo=repo, clock=clock or SystemClock(), gateway=gateway(settings))


def gateway(settings: Settings) -> PaymentGateway:
    if settings.payment_provider == "sandbox":
        return _sandbox()
    if settings.payment_provider == "stripe":
        from tenure.payments.stripe_gateway import StripeGateway  # only where it is used

        key = settings.provider_api_key or (
            _secret(settings.provider_api_key_secret_arn)
            if settings.provider_api_key_secret_arn
            else ""
        )
        if not key:
            raise RuntimeError("PAYMENT_PROVIDER=stripe needs PROVIDER_API_KEY_SECRET_ARN")
        return StripeGateway(key)
    raise ValueError(f"unknown payment provider {settings.payment_provider!r}")


@lru_cache(maxsize=1)
def _sandbox() -> SandboxGateway:
    # One per process: the sandbox remembers its payments like the provider would.
    return SandboxGateway()


def services() -> Services:
    """The wired services for this process: built once, or what local tooling installed."""
    global _default
    if _override is not None:
        return _override
    if _default is None:
        _default = build()
    return _default


def install(svc: Services | None) -> None:
    """Local tooling (simulator, tests) runs the real handlers with its own clock or store."""
    global _override
    _override = svc


def reset() -> None:
    global _default, _override
    _default = _override = None
    aws_client.cache_clear()
    get_settings.cache_clear()


_default: Services | None = None


def api_token() -> str:
    settings = get_settings()
    if settings.api_token:
        return settings.api_token
    if settings.api_token_secret_arn:
        return _secret(settings.api_token_secret_arn)
    return ""


@lru_cache(maxsize=4)
def _secret(arn: str) -> str:
    value = aws_client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    return str(value)
