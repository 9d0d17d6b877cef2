"""The composition root: builds the adapters from settings and hands them to the services."""

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
from botocore.config import Config

from tenure.clock import SystemClock
from tenure.domain.timeutil import parse_iso
from tenure.notify.link_tokens import LinkPurpose
from tenure.notify.policy import ReminderPolicy, parse_leads
from tenure.payments.gateway import PaymentGateway
from tenure.payments.rate_limit import RateLimitedGateway, TokenBucket, per_container_rate
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
    return Services(
        repo=repo,
        clock=clock or SystemClock(),
        gateway=gateway(settings),
        reminders=reminder_policy(settings),
    )


def reminder_policy(settings: Settings) -> ReminderPolicy:
    if not settings.reminder_leads:
        return ReminderPolicy()
    return ReminderPolicy(leads=parse_leads(settings.reminder_leads))


def gateway(settings: Settings) -> PaymentGateway:
    """The configured provider, every call paced by this container's share of
    PROVIDER_RATE_LIMIT."""
    throttle = provider_throttle(settings)
    if settings.payment_provider == "sandbox":
        # Paced like the real provider, so a deployed sandbox stack rehearses a renewal day.
        return RateLimitedGateway(_sandbox(settings.sandbox_state_file), throttle)
    if settings.payment_provider == "stripe":
        from tenure.payments.stripe_gateway import StripeGateway  # only where it is used

        key = settings.provider_api_key or (
            _secret(settings.provider_api_key_secret_arn)
            if settings.provider_api_key_secret_arn
            else ""
        )
        if not key:
            raise RuntimeError("PAYMENT_PROVIDER=stripe needs PROVIDER_API_KEY_SECRET_ARN")
        # The adapter takes the token itself, before every HTTP attempt (retries included).
        return StripeGateway(key, throttle=throttle)
    raise ValueError(f"unknown payment provider {settings.payment_provider!r}")


def provider_throttle(settings: Settings) -> TokenBucket:
    """This container's bucket: the deployment's budget over the charger's concurrency."""
    return _bucket(
        per_container_rate(settings.provider_rate_limit, settings.charger_max_concurrency)
    )


@lru_cache(maxsize=1)
def _bucket(rate: float) -> TokenBucket:
    # One per process (one Lambda container): every gateway built here shares it.
    return TokenBucket(rate)


@lru_cache(maxsize=1)
def _sandbox(state_file: str = "") -> PaymentGateway:
    # One per process: the sandbox remembers its payments like the provider would; or, for
    # the processes of one local stack, one for them all, in `state_file`.
    if state_file:
        from tenure.payments.sandbox_shared import SharedSandbox

        return SharedSandbox(Path(state_file))  # type: ignore[return-value]
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


def scheduled_time(event: dict[str, Any]) -> datetime | None:
    """The moment a scheduled run stands for: EventBridge Scheduler passes
    <aws.scheduler.scheduled-time> as `scheduled_time` (the simulator, simulated time), so
    replays and backfills are exact; None when the event names none."""
    text = event.get("scheduled_time") or event.get("time")
    return parse_iso(text) if isinstance(text, str) and text.startswith("20") else None


def mailer() -> Any:
    """SES; plus a copy of each email in TENURE_OUTBOX_DIR when that is set (local runs)."""
    global _mailer
    if _mailer_override is not None:
        return _mailer_override
    if _mailer is None:
        from tenure.notify.mailers import OutboxMailer, SesMailer, TeeMailer

        settings = get_settings()
        ses = SesMailer(aws_client("ses"), settings.ses_configuration_set)
        if settings.outbox_dir:
            _mailer = TeeMailer(ses, OutboxMailer(Path(settings.outbox_dir)))
        else:
            _mailer = ses
    return _mailer


def install_mailer(mailer_: Any) -> None:
    """Tests and local tooling send through their own mailer."""
    global _mailer_override
    _mailer_override = mailer_


def link_maker() -> Callable[[str, LinkPurpose, str, str | None], str]:
    """(customer, purpose, subject, action) -> a signed page URL that expires."""
    from tenure.notify.customer_links import make_link

    settings = get_settings()
    clock = services().clock

    def make(customer_id: str, purpose: LinkPurpose, subject: str, action: str | None) -> str:
        url = make_link(settings, customer_id, purpose, subject, clock.now())
        return f"{url}&{urlencode({'action': action})}" if action else url

    return make


def reset() -> None:
    global _default, _override, _mailer, _mailer_override
    _default = _override = _mailer = _mailer_override = None
    aws_client.cache_clear()
    get_settings.cache_clear()
    _bucket.cache_clear()


_default: Services | None = None
_mailer: Any = None
_mailer_override: Any = None


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
