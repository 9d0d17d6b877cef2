"""The composition root: builds, from settings and adapters, the one object the functions use.

`build` takes the settings and whichever adapters the caller brings (store, clock, gateway,
mailer, AWS clients, sleep) and makes the rest from the settings; it keeps nothing between
calls. `wiring()` is how a handler reaches it: built once per process, because a Lambda
container pays for its clients and its provider's rate bucket once, not per request.

`use()` is the one seam local tooling has into that: the simulator, `tenure serve` in-process
runs, the benches and the tests build their own wiring with `build` (or `Wiring(...)` over
services they made) and hand it to `use` before invoking the real handlers, which have no
other way in (Lambda calls them with an event and a context only). Nothing deployed calls it.
"""

import random
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import boto3
from botocore.config import Config

from tenure.clock import SystemClock
from tenure.domain.collection_cases import CollectionsPolicy, SettleAction
from tenure.domain.dunning import DunningPolicy
from tenure.domain.mandates import MandatePolicy
from tenure.domain.numbering import MAX_SERIES, PREFIX_PATTERN, Numbering
from tenure.domain.timeutil import parse_iso
from tenure.notify.policy import ReminderPolicy, parse_leads
from tenure.payments.gateway import PaymentGateway
from tenure.payments.rate_limit import RateLimitedGateway, TokenBucket, per_container_rate
from tenure.ports import Clock, Repository
from tenure.services.context import Services
from tenure.settings import Settings, SettingsError
from tenure.store.dynamodb import DynamoRepository

if TYPE_CHECKING:
    from tenure.notify.link_tokens import LinkPurpose
    from tenure.notify.mailers import Mailer
    from tenure.services.webhooks_out import WebhookQueue
    from tenure.store.report_bucket import S3ReportShelf

_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2)
Sleep = Callable[[float], None]
LinkMaker = Callable[[str, "LinkPurpose", str, str | None], str]


def boto_client(service: str) -> Any:
    """A client with the SDK settings every function uses (standard retries, short connect)."""
    return boto3.client(service, config=_BOTO_CONFIG)  # type: ignore[call-overload]


class AwsClients:
    """One client per AWS service for the wiring that owns it: made on first use, then kept
    (a container pays each client's cold start once)."""

    def __init__(self, make: Callable[[str], Any] = boto_client) -> None:
        self._make = make
        self._made: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._made:
            self._made[service] = self._make(service)
        return self._made[service]


class Wiring:
    """What the functions need, wired: the services, the mailer, the signed-link maker, the
    API token, the settings and the AWS clients."""

    def __init__(
        self,
        services: Services,
        settings: Settings | None = None,
        *,
        mailer: "Mailer | None" = None,
        clients: AwsClients | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.services = services
        self.settings = settings if settings is not None else Settings()
        self.clients = clients if clients is not None else AwsClients()
        self._sleep = sleep
        self._given_mailer = mailer
        self._mailer = mailer  # None: SES, made on first use (only the reminders send email)
        self._secrets: dict[str, str] = {}
        self._webhook_queue: WebhookQueue | None = None

    def with_settings(self, settings: Settings) -> "Wiring":
        """The same adapters under other settings (what a test does after changing them)."""
        return Wiring(
            self.services,
            settings,
            mailer=self._given_mailer,
            clients=self.clients,
            sleep=self._sleep,
        )

    @property
    def mailer(self) -> "Mailer":
        if self._mailer is None:
            self._mailer = default_mailer(self.settings, self.clients, self._sleep)
        return self._mailer

    def client(self, service: str) -> Any:
        return self.clients(service)

    def link_maker(self) -> LinkMaker:
        """(customer, purpose, subject, action) -> a signed page URL that expires."""
        from tenure.notify.customer_links import make_link

        settings, clock = self.settings, self.services.clock

        def make(customer_id: str, purpose: "LinkPurpose", subject: str, action: str | None) -> str:
            url = make_link(settings, customer_id, purpose, subject, clock.now())
            return f"{url}&{urlencode({'action': action})}" if action else url

        return make

    def report_shelf(self) -> "S3ReportShelf | None":
        """The stack's report bucket; None where there is none (the simulator)."""
        if not self.settings.report_bucket:
            return None
        from tenure.store.report_bucket import S3ReportShelf  # only the metrics function's

        return S3ReportShelf(self.client("s3"), self.settings.report_bucket)

    def webhook_queue(self) -> "WebhookQueue":
        """The outbound webhooks dispatcher's queue: SQS when configured, else a list."""
        from tenure.webhooks_out_http import NoWebhookQueue, SqsWebhookQueue

        if self._webhook_queue is None:
            url = self.settings.webhook_out_queue_url
            self._webhook_queue = (
                SqsWebhookQueue(self.client("sqs"), url, self.services.clock)
                if url
                else NoWebhookQueue()
            )
        return self._webhook_queue

    def api_token(self) -> str:
        if self.settings.api_token:
            return self.settings.api_token
        if self.settings.api_token_secret_arn:
            return self.secret(self.settings.api_token_secret_arn)
        return ""

    def secret(self, arn: str) -> str:
        """A Secrets Manager secret's string, fetched once for this wiring."""
        if arn not in self._secrets:
            found = self.client("secretsmanager").get_secret_value(SecretId=arn)
            self._secrets[arn] = str(found["SecretString"])
        return self._secrets[arn]


def build(
    settings: Settings | None = None,
    *,
    store: Repository | None = None,
    clock: Clock | None = None,
    gateway: PaymentGateway | None = None,
    policy: DunningPolicy | None = None,
    mailer: "Mailer | None" = None,
    clients: AwsClients | None = None,
    sleep: Sleep | None = None,
    gateways: dict[str, PaymentGateway] | None = None,
) -> Wiring:
    """The wiring from `settings` (the environment's when None): each adapter given is used
    as it is; each one missing is made from the settings (DynamoDB, the system clock, the
    configured provider paced by this container's rate bucket, SES). `gateways` are the
    providers besides the default one that customers may choose, by name (Services.gateways);
    none given: those the settings configure (`provider_gateways`)."""
    settings = settings if settings is not None else Settings()
    clients = clients if clients is not None else AwsClients()
    if store is None:
        store = DynamoRepository(
            clients("dynamodb"),
            settings.table_name,
            sleep or time.sleep,
            numbering=numbering(settings),
        )
    clock = clock if clock is not None else SystemClock()
    if gateways is None:
        gateways = provider_gateways(settings, clients, clock)
    services = Services(
        repo=store,
        clock=clock,
        gateway=gateway if gateway is not None else provider_gateway(settings, clients),
        gateways=dict(gateways),
        policy=policy if policy is not None else DunningPolicy(),
        reminders=reminder_policy(settings),
        collections=collections_policy(settings),
        mandates=MandatePolicy(fresh_auth_above_minor=settings.mandate_fresh_auth_above),
        min_price_notice_days=settings.min_price_notice_days,
    )
    return Wiring(services, settings, mailer=mailer, clients=clients, sleep=sleep)


def numbering(settings: Settings, choose: Callable[[int], int] = random.randrange) -> Numbering:
    """How this container numbers invoices and credit notes. Its home series is chosen at
    cold start (`choose`), so that concurrent containers start spread over the series
    (docs/invoices.md); values that cannot number anything are refused here, by name."""
    problems = [
        f"{alias} must be 1 to 10 capital letters or digits, starting with a letter"
        for alias, prefix in (
            ("TENURE_INVOICE_PREFIX", settings.invoice_prefix),
            ("TENURE_CREDIT_NOTE_PREFIX", settings.credit_note_prefix),
        )
        if not re.fullmatch(PREFIX_PATTERN, prefix)
    ]
    if settings.invoice_prefix == settings.credit_note_prefix:
        problems.append("TENURE_CREDIT_NOTE_PREFIX must differ from TENURE_INVOICE_PREFIX")
    if settings.invoice_series > MAX_SERIES:
        problems.append(f"TENURE_INVOICE_SERIES must be at most {MAX_SERIES}")
    if problems:
        raise SettingsError("invalid settings: " + "; ".join(problems))
    return Numbering(
        settings.invoice_prefix,
        settings.credit_note_prefix,
        settings.invoice_series,
        choose(settings.invoice_series),
    )


def collections_policy(settings: Settings) -> CollectionsPolicy:
    """The collections terms from settings; values that cannot make a policy are refused
    at cold start, naming their variables, rather than when a customer chooses a plan."""
    try:
        return CollectionsPolicy(
            min_count=settings.repayment_min_count,
            max_count=settings.repayment_max_count,
            settle=SettleAction(settings.collections_settle),
        )
    except ValueError as exc:
        raise SettingsError(
            "invalid settings: TENURE_REPAYMENT_MIN_COUNT, TENURE_REPAYMENT_MAX_COUNT, "
            f"TENURE_COLLECTIONS_SETTLE: {exc}"
        ) from exc


def reminder_policy(settings: Settings) -> ReminderPolicy:
    if not settings.reminder_leads:
        return ReminderPolicy()
    return ReminderPolicy(leads=parse_leads(settings.reminder_leads))


def provider_gateway(settings: Settings, clients: AwsClients | None = None) -> PaymentGateway:
    """The configured provider, every call paced by this container's share of
    PROVIDER_RATE_LIMIT. Built once per wiring, so every charge of a container shares one
    bucket."""
    throttle = provider_throttle(settings)
    if settings.payment_provider == "sandbox":
        # Paced like the real provider, so a deployed sandbox stack rehearses a renewal day.
        return RateLimitedGateway(_sandbox(settings.sandbox_state_file), throttle)
    if settings.payment_provider == "razorpay":
        return _razorpay(settings, clients, throttle)
    if settings.payment_provider == "stripe":
        from tenure.payments.stripe_gateway import StripeGateway  # only where it is used

        key = settings.provider_api_key
        if not key and settings.provider_api_key_secret_arn:
            clients = clients if clients is not None else AwsClients()
            found = clients("secretsmanager").get_secret_value(
                SecretId=settings.provider_api_key_secret_arn
            )
            key = str(found["SecretString"])
        if not key:
            raise RuntimeError("PAYMENT_PROVIDER=stripe needs PROVIDER_API_KEY_SECRET_ARN")
        # The adapter takes the token itself, before every HTTP attempt (retries included).
        return StripeGateway(key, throttle=throttle)
    raise ValueError(f"unknown payment provider {settings.payment_provider!r}")


def provider_gateways(
    settings: Settings, clients: AwsClients | None = None, clock: Clock | None = None
) -> dict[str, PaymentGateway]:
    """The providers besides the default one that customers may choose (Customer.provider),
    by name, each paced by its own bucket (each provider limits its own rate): Razorpay when
    its key id and secret are configured; on a sandbox deployment, Razorpay's sandbox (its
    objects dated by `clock`)."""
    if settings.payment_provider == "razorpay":
        return {}  # the default already
    if settings.razorpay_key_id:
        return {"razorpay": _razorpay(settings, clients, provider_throttle(settings))}
    if settings.payment_provider == "sandbox":
        return {"razorpay": _razorpay_sandbox(settings.sandbox_state_file, clock)}
    return {}


def _razorpay(
    settings: Settings, clients: AwsClients | None, throttle: TokenBucket
) -> PaymentGateway:
    from tenure.payments.razorpay_gateway import RazorpayGateway  # only where it is used

    secret = settings.razorpay_key_secret
    if not secret and settings.razorpay_key_secret_arn:
        clients = clients if clients is not None else AwsClients()
        found = clients("secretsmanager").get_secret_value(
            SecretId=settings.razorpay_key_secret_arn
        )
        secret = str(found["SecretString"])
    if not settings.razorpay_key_id or not secret:
        raise RuntimeError("Razorpay needs RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET_ARN")
    return RazorpayGateway(settings.razorpay_key_id, secret, throttle=throttle)


def _razorpay_sandbox(state_file: str, clock: Clock | None) -> PaymentGateway:
    # As the default sandbox: in memory for the wiring's life, or shared through a file by
    # the processes of one local stack.
    from tenure.payments.razorpay_sandbox import RazorpaySandbox

    now = clock.now if clock is not None else None
    if state_file:
        from tenure.payments.sandbox_shared import SharedRazorpaySandbox

        return SharedRazorpaySandbox(Path(f"{state_file}.razorpay"), now).gateway()
    return RazorpaySandbox(now).gateway()


def provider_throttle(settings: Settings) -> TokenBucket:
    """A container's bucket: the deployment's budget over the charger's concurrency."""
    return TokenBucket(
        per_container_rate(settings.provider_rate_limit, settings.charger_max_concurrency)
    )


def _sandbox(state_file: str) -> PaymentGateway:
    # The sandbox remembers its payments like the provider would, for as long as the wiring
    # lives (a process); or, for the processes of one local stack, in `state_file`.
    if state_file:
        from tenure.payments.sandbox_shared import SharedSandbox

        return SharedSandbox(Path(state_file))  # type: ignore[return-value]
    from tenure.payments.sandbox import SandboxGateway  # only a sandbox deployment's

    return SandboxGateway()


def default_mailer(settings: Settings, clients: AwsClients, sleep: Sleep | None = None) -> "Mailer":
    """SES; plus a copy of each email in TENURE_OUTBOX_DIR when that is set (local runs)."""
    from tenure.notify.mailers import OutboxMailer, SesMailer, TeeMailer

    ses = SesMailer(clients("ses"), settings.ses_configuration_set, sleep=sleep or time.sleep)
    if settings.outbox_dir:
        return TeeMailer(ses, OutboxMailer(Path(settings.outbox_dir)))
    return ses


def scheduled_time(event: dict[str, Any]) -> datetime | None:
    """The moment a scheduled run stands for: EventBridge Scheduler passes
    <aws.scheduler.scheduled-time> as `scheduled_time` (the simulator, simulated time), so
    replays and backfills are exact; None when the event names none."""
    text = event.get("scheduled_time") or event.get("time")
    return parse_iso(text) if isinstance(text, str) and text.startswith("20") else None


# -- the process's wiring: the one piece of module state, and its one seam --------------------
_current: Wiring | None = None


def wiring() -> Wiring:
    """This process's wiring: the one given to `use`, else built from the environment on
    first call and kept for the life of the container."""
    global _current
    if _current is None:
        _current = build()
    return _current


def settings() -> Settings:
    """The settings the handlers run on: the current wiring's when there is one, else read
    from the environment now, as `build` reads them. Local tooling that shows what the
    functions would (email previews, benches) reads them here, never by a path of its own."""
    return _current.settings if _current is not None else Settings()


def use(chosen: Wiring | None) -> None:
    """Local tooling's one way in: the real handlers run on `chosen` from now on (None: the
    next call to `wiring()` builds afresh from the environment)."""
    global _current
    _current = chosen
