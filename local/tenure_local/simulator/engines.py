"""The simulator's engines: what holds the table, the renewal queue and the sent email while
the real handlers run a scenario.

- `dynamodb-local` (the default, what `make demo` runs): DynamoDB Local for the table and moto
  for SQS, SES and Secrets Manager, reached through boto3 as the deployed functions reach AWS.
  A calm run keeps its renewal queue and mail in the process, as the memory engine does
  (moto's answers cost a quarter of such a run); chaos runs inject faults through botocore,
  so they, and a caller watching botocore (`lean_client=False`), keep moto for both.
- `memory`: the in-memory repository (contract-tested against DynamoDB Local), an in-process
  queue and a mailer that records what SES would be asked; nothing is emulated, so a
  scenario runs at the speed of Tenure's own code.

Both hand the same handlers and services the same settings; only the adapters differ. The
differential test (tests/integration/test_engines_agree.py) keeps their outputs byte for byte
equal, which is what proves the in-memory adapters faithful.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import boto3
from botocore.config import Config

from tenure import bootstrap
from tenure.fakes import InMemoryRepository
from tenure.notify.mailers import Mailer, OutboxMailer, TeeMailer
from tenure.ports import Repository
from tenure.settings import Settings
from tenure.store.due_mirror import DueIndexMirror
from tenure.store.dynamodb import DynamoRepository
from tenure_local.simulator.aws_timer import AwsTimer
from tenure_local.simulator.chaos import Chaos, SimulatedBackoff
from tenure_local.simulator.memory_adapters import InProcessQueue, SesRecorder
from tenure_local.simulator.memory_chaos import ChaoticQueue, ChaoticRepository, ThrottledSes
from tenure_local.stack.ddb_wire import DynamoWireClient
from tenure_local.stack.dynamodb_local import QUICK_START_JVM_ARGS
from tenure_local.stack.local_stack import (
    DEFAULT_MAX_RECEIVE_COUNT,
    DEFAULT_NAME,
    DEFAULT_SENDER,
    LocalStack,
    _queue_properties,
    app_env,
    restore_environ,
)
from tenure_local.stack.template import load_template

EngineName = Literal["dynamodb-local", "memory"]
ENGINES: tuple[EngineName, ...] = ("dynamodb-local", "memory")
# The SDK settings the deployed functions use (tenure.bootstrap): under chaos, the store's
# client retries throttling as Lambda's does.
SIMULATOR_DDB_CONFIG = Config(parameter_validation=False)
# A simulation's own DynamoDB Local compiles with C1 only: C2's compiler threads took 13 of
# the JVM's 23 s of CPU during a one-minute run of examples/bench.yaml (still compiling at the
# end), and C1's code, though slower per request, cut the JVM's CPU to 15 s and the run's
# wall time by about a third (docs/benchmarks.md). C1 also compiles a method after a third
# of the calls it waits for by default: a run of bench.yaml spends its first seconds in
# DynamoDB Local's interpreted Jackson and SQLite code, and its JVM used about 10% less CPU
# (docs/benchmarks.md). A stack handed in keeps its own.
SIMULATION_JVM_ARGS = (*QUICK_START_JVM_ARGS, "-XX:CompileThresholdScaling=0.3")
LAMBDA_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2)
DEFAULT_VISIBILITY = timedelta(seconds=180)  # the renewal queue's, when the template has none
# The variables the webhooks function reads from its environment (as Lambda gives it them).
WEBHOOK_ENV = (
    "TENURE_STRIPE_WEBHOOK_SECRET",
    "TENURE_RAZORPAY_WEBHOOK_SECRET",
    "WEBHOOK_SECRET_ARN",
)


class EngineOptionError(ValueError):
    """An engine was asked for something it cannot do (an unknown name, say)."""


@dataclass(frozen=True)
class RunSpec:
    """What a run asks of its engine."""

    out: Path
    timer: AwsTimer
    chaos: Chaos | None = None
    backoff: SimulatedBackoff | None = None  # under chaos: retry waits in simulated time


class DueView(Protocol):
    """Answers when renewal work and emails are next due."""

    def next_due_at(self) -> datetime | None: ...

    def next_notice_at(self) -> datetime | None: ...


@dataclass
class Adapters:
    """What an engine made for one run: the handlers' settings, store and clients, and the
    renewal queue as the simulator drains it."""

    backend: str  # what held the table: dynamodb-local, moto or memory
    settings: Settings
    repo: Repository
    clients: bootstrap.AwsClients
    queue: Any  # the SQS calls on the renewal queue (a boto3 client, or InProcessQueue)
    queue_url: str
    webhook_secret: str  # the provider signs its deliveries with it (the first of a rollover)
    mailer: Mailer | None  # None: the one the functions build from the settings (SES)
    visibility: timedelta = DEFAULT_VISIBILITY
    raw_speed: Callable[[], dict[str, Any]] = field(default=lambda: {})
    razorpay_webhook_secret: str = ""  # the Razorpay sandbox signs its deliveries with it
    # Where the simulator asks when work or an email is next due; None: the repository.
    due_view: DueView | None = None


class Engine(Protocol):
    name: EngineName

    def open(self, run: RunSpec) -> Any:
        """A context manager giving the run's Adapters; it releases what it started."""
        ...


class DynamoLocalEngine:
    """DynamoDB Local plus moto, started for the run or reused (its table emptied first)."""

    name: EngineName = "dynamodb-local"

    def __init__(self, stack: LocalStack | None = None, *, lean_client: bool = True) -> None:
        self.stack = stack
        # False: a calm run's store, renewal queue and mail go through boto3 as well, for a
        # caller that watches botocore's calls (the permissions test records every function's
        # AWS actions there).
        self.lean_client = lean_client

    @contextmanager
    def open(self, run: RunSpec) -> Iterator[Adapters]:
        owned = self.stack is None
        stack = self.stack or LocalStack(jvm_args=SIMULATION_JVM_ARGS, table_stream=False)
        if owned:
            stack.start()
        else:
            stack.reset_table()
            _purge_queue(stack)
        try:
            stack.apply_env()
            yield self._adapters(stack, run, self.lean_client)
        finally:
            if owned:
                stack.stop()

    @staticmethod
    def _adapters(stack: LocalStack, run: RunSpec, lean_client: bool = True) -> Adapters:
        env, chaos, backoff = stack.env, run.chaos, run.backoff
        visibility = DEFAULT_VISIBILITY
        due_view: DueIndexMirror | None = None
        if chaos is None:
            ddb = run.timer.attach(_calm_dynamodb_client(stack, lean_client))
            # The run's every write goes through this client, so the simulator can tell when
            # work is next due from the writes, not from a query per shard at every moment.
            # Under chaos a write may land and still raise: the index is asked instead.
            due_view = DueIndexMirror(env["TABLE_NAME"], ddb)
            due_view.attach(ddb)
        else:
            ddb = run.timer.attach(boto3.client("dynamodb", config=LAMBDA_BOTO_CONFIG))
            chaos.attach_dynamodb(ddb)
            visibility = _visibility_timeout(stack.template)
        # The mirror also tells which due shards hold anything due: a run reads only those.
        shards = due_view.shards_due if due_view is not None else None
        if backoff is None:
            repo = DynamoRepository(ddb, env["TABLE_NAME"], due_shards=shards)
        else:
            repo = DynamoRepository(ddb, env["TABLE_NAME"], sleep=backoff.sleep, due_shards=shards)
        # The stack's environment, applied above, but no report bucket: the simulator writes
        # report.html to its folder, and the memory engine (no S3) must run the same functions.
        settings = Settings(report_bucket="")
        clients = bootstrap.AwsClients()
        mailer = None  # calm: the mailer the functions build (SES, copied to the outbox)
        queue: Any = boto3.client("sqs")
        if chaos is None and lean_client:
            # A calm run's queue and mail stay in this process, as on the memory engine:
            # moto's SQS and SES, served inside the process, cost 14-35 ms a call and about
            # a quarter of the run (docs/benchmarks.md). The table stays on the emulator.
            queue, mailer = _in_process_queue_and_mail(stack, settings)
            clients = bootstrap.AwsClients(make=_with({"sqs": queue}))
        if chaos is not None and backoff is not None:
            chaos.attach_sqs(clients("sqs"))
            chaos.attach_ses(clients("ses"))
            # SES throttling backoffs pass in simulated time, and the mailer may crash.
            mailer = chaos.mailer(bootstrap.default_mailer(settings, clients, backoff.sleep))
        return Adapters(
            backend=str(stack.dynamodb_backend),
            settings=settings,
            repo=repo,
            clients=clients,
            queue=queue,
            queue_url=env["RENEWAL_QUEUE_URL"],
            webhook_secret=_first(env["TENURE_STRIPE_WEBHOOK_SECRET"]),
            razorpay_webhook_secret=_first(env["TENURE_RAZORPAY_WEBHOOK_SECRET"]),
            mailer=mailer,
            visibility=visibility,
            raw_speed=lambda: _raw_speed(stack),
            due_view=due_view,
        )


class MemoryEngine:
    """The in-memory repository, an in-process queue and a recording mailer: the same
    handlers and services, no emulator, no AWS call."""

    name: EngineName = "memory"

    def __init__(self, template_path: Path | None = None) -> None:
        self.template_path = template_path

    @contextmanager
    def open(self, run: RunSpec) -> Iterator[Adapters]:
        values = app_env(DEFAULT_NAME, DEFAULT_NAME, DEFAULT_SENDER)
        template = load_template(self.template_path)
        queue = InProcessQueue(
            url=f"memory://{DEFAULT_NAME}-renewals",
            max_receive_count=_max_receive_count(template),
        )
        values["RENEWAL_QUEUE_URL"] = queue.url
        values["TENURE_OUTBOX_DIR"] = str(run.out / "outbox")
        settings = Settings(**values)
        saved = {key: os.environ.get(key) for key in WEBHOOK_ENV}
        # The webhooks function reads its signing secrets from its environment, as in Lambda.
        os.environ.update({key: values[key] for key in WEBHOOK_ENV})
        try:
            repo: Repository = InMemoryRepository()
            ses: Mailer = SesRecorder(verified_sender=settings.mail_from)
            sender: Any = queue  # what the functions send through; the simulator drains `queue`
            chaos, backoff = run.chaos, run.backoff
            if chaos is not None:
                # The faults the dynamodb-local engine injects through botocore, raised here.
                sleep = backoff.sleep if backoff is not None else _no_wait
                repo = cast(Repository, ChaoticRepository(repo, chaos, sleep))
                sender = ChaoticQueue(queue, chaos)
                ses = ThrottledSes(ses, chaos, sleep)
            mailer: Mailer = TeeMailer(ses, OutboxMailer(run.out / "outbox"))
            if chaos is not None:
                mailer = chaos.mailer(mailer)
            yield Adapters(
                backend="memory",
                settings=settings,
                repo=repo,
                clients=bootstrap.AwsClients(make=_only({"sqs": sender})),
                queue=queue,
                queue_url=queue.url,
                webhook_secret=_first(values["TENURE_STRIPE_WEBHOOK_SECRET"]),
                razorpay_webhook_secret=_first(values["TENURE_RAZORPAY_WEBHOOK_SECRET"]),
                mailer=mailer,
                visibility=_visibility_timeout(template),
            )
        finally:
            restore_environ(saved)


def engine_named(name: str, stack: LocalStack | None = None) -> Engine:
    """The engine called `name`; `stack`, a running local stack the dynamodb-local engine
    reuses (the memory engine needs none)."""
    if name == "dynamodb-local":
        return DynamoLocalEngine(stack)
    if name == "memory":
        return MemoryEngine()
    raise EngineOptionError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")


def _only(clients: dict[str, Any]) -> Callable[[str], Any]:
    """A client maker that knows only `clients`: on the memory engine, any other AWS service
    a function reached for would be a call the engine cannot answer, so it says so."""

    def make(service: str) -> Any:
        if service not in clients:
            raise EngineOptionError(
                f"the memory engine has no {service!r} client (it offers {', '.join(clients)})"
            )
        return clients[service]

    return make


def _calm_dynamodb_client(stack: LocalStack, lean: bool = True) -> Any:
    """The client a calm run's store reaches the table through: on DynamoDB Local, the lean
    JSON client (tenure_local.stack.ddb_wire: a call costs about a fifth of boto3's CPU);
    on moto, boto3 without its request checks."""
    if lean and stack.dynamodb_backend == "dynamodb-local":
        return DynamoWireClient(stack.env["AWS_ENDPOINT_URL_DYNAMODB"])
    # botocore checks each request against the API model before sending it (~0.7 ms a call
    # here): moto checks it again anyway, and the integration tests keep the client's own
    # checks on, so a run leaves them to the emulator.
    return boto3.client("dynamodb", config=SIMULATOR_DDB_CONFIG)


def _in_process_queue_and_mail(stack: LocalStack, settings: Settings) -> tuple[Any, Mailer]:
    """The memory engine's renewal queue and SES stand-in for a calm DynamoDB Local run: the
    queue answers at the stack's URL (the one the functions' settings name), with its
    template's redrive count; the mailer takes what SES would, and copies it to the outbox."""
    queue = InProcessQueue(
        url=stack.env["RENEWAL_QUEUE_URL"],
        max_receive_count=_max_receive_count(stack.template),
    )
    ses = SesRecorder(verified_sender=settings.mail_from)
    if not settings.outbox_dir:
        return queue, ses
    return queue, TeeMailer(ses, OutboxMailer(Path(settings.outbox_dir)))


def _with(clients: dict[str, Any]) -> Callable[[str], Any]:
    """A client maker giving `clients` first, and boto3's (reaching moto) for any other
    service a function asks for."""

    def make(service: str) -> Any:
        found = clients.get(service)
        return found if found is not None else bootstrap.boto_client(service)

    return make


def _no_wait(seconds: float) -> None:
    """A backoff that passes at once (chaos runs hand the engine a SimulatedBackoff)."""


def _first(secrets: str) -> str:
    return secrets.split(",")[0].strip()


def _purge_queue(stack: LocalStack) -> None:
    # PurgeQueue is rate-limited (once a minute); receiving and deleting is not.
    sqs, url = stack.client("sqs"), stack.env["RENEWAL_QUEUE_URL"]
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)
            ],
        )


def _visibility_timeout(template: dict[str, Any]) -> timedelta:
    seconds = _queue_properties(template, "RenewalQueue").get("VisibilityTimeout")
    return timedelta(seconds=seconds if isinstance(seconds, int) else 30)


def _max_receive_count(template: dict[str, Any]) -> int:
    found = (_queue_properties(template, "RenewalQueue").get("RedrivePolicy") or {}).get(
        "maxReceiveCount"
    )
    return found if isinstance(found, int) else DEFAULT_MAX_RECEIVE_COUNT


def _raw_speed(stack: LocalStack) -> dict[str, Any]:
    from tenure_local.stack.local_stack import raw_dynamodb_speed

    return raw_dynamodb_speed(stack, seconds=1.0)
