"""The local AWS stack: DynamoDB Local for the table, moto in server mode for the other services."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import sys
import time
import uuid
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tenure_local.stack import dynamodb_local
from tenure_local.stack.dynamodb_local import REPO_ROOT, DynamoDBLocal
from tenure_local.stack.template import load_template, table_create_kwargs, ttl_attribute

DynamoDBBackend = Literal["dynamodb-local", "moto"]

REGION = "us-east-1"
DEFAULT_NAME = "tenure-local"
DEFAULT_STATE_PATH = REPO_ROOT / ".cache" / "stack.json"
# Names another state file, so servers started side by side (tests on parallel workers) can
# each be attached to without reading the other's.
STATE_PATH_VAR = "TENURE_STACK_STATE"
DEV_API_TOKEN = "dev-token"
DEV_WEBHOOK_SECRET = "whsec_local_dev"
# Signs the customer-page links locally (`tenure links make`); AWS generates its own.
DEV_LINK_SECRET = "tenure-local-link-key"
# One dev secret for every provider, as the replay tool assumes.
DEV_RAZORPAY_SECRET = DEV_WEBHOOK_SECRET
PASSED_THROUGH = ("TENURE_OUTBOX_DIR", "TENURE_PUBLIC_URL")
DEFAULT_SENDER = "billing@example.com"
# Local value's variable -> (secret name, variable holding its ARN as in template.yaml).
SECRETS = {
    "TENURE_API_TOKEN": ("tenure/local/api-token", "API_TOKEN_SECRET_ARN"),
    "TENURE_STRIPE_WEBHOOK_SECRET": ("tenure/local/stripe-webhook-secret", "WEBHOOK_SECRET_ARN"),
    "TENURE_LINK_SECRET": ("tenure/local/link-secret", "LINK_SECRET_ARN"),
}
# boto3 reads these per service; every one not listed falls through to AWS_ENDPOINT_URL.
MOTO_ENDPOINT_VARS = (
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_SES",
    "AWS_ENDPOINT_URL_SESV2",
    "AWS_ENDPOINT_URL_EVENTBRIDGE",
    "AWS_ENDPOINT_URL_SCHEDULER",
    "AWS_ENDPOINT_URL_SSM",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_S3",
)
# Any of these would mix a real profile or session into the fake credentials, or make boto3
# ignore the endpoint variables altogether.
CLEARED_VARS = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
MOTO_FALLBACK_WARNING = (
    "Java 17+ not found: DynamoDB runs on moto instead of DynamoDB Local. It is much slower "
    "(moto's TransactWriteItems copies the whole table on every call) and validates less; "
    "install Java 17 for simulations and benchmarks."
)
DEFAULT_MAX_RECEIVE_COUNT = 5  # template.yaml's RenewalQueue value when it has none
_POLL_S = 0.05
_TABLE_TIMEOUT_S = 30.0


def app_env(table_name: str, event_bus_name: str, sender_email: str) -> dict[str, str]:
    """The functions' own variables on a local stack (no AWS endpoint among them): the dev
    token and secrets unless the caller's environment names others. The simulator's memory
    engine builds its settings from the same values, so both engines run the same setup."""
    return {
        "ENVIRONMENT": "local",
        "TABLE_NAME": table_name,
        "EVENT_BUS_NAME": event_bus_name,
        "RENEWAL_QUEUE_URL": "",
        "RENEWAL_DLQ_URL": "",
        "WEBHOOK_OUT_QUEUE_URL": "",
        "API_TOKEN_SECRET_ARN": "",
        "WEBHOOK_SECRET_ARN": "",
        "SENDER_EMAIL": sender_email,
        "PAYMENT_PROVIDER": "sandbox",
        "PROVIDER_API_KEY_SECRET_ARN": "",
        "LINK_SECRET_ARN": "",
        "TENURE_LINK_SECRET": os.environ.get("TENURE_LINK_SECRET") or DEV_LINK_SECRET,
        "TENURE_API_TOKEN": os.environ.get("TENURE_API_TOKEN") or DEV_API_TOKEN,
        "TENURE_STRIPE_WEBHOOK_SECRET": (
            os.environ.get("TENURE_STRIPE_WEBHOOK_SECRET") or DEV_WEBHOOK_SECRET
        ),
        "TENURE_RAZORPAY_WEBHOOK_SECRET": (
            os.environ.get("TENURE_RAZORPAY_WEBHOOK_SECRET") or DEV_RAZORPAY_SECRET
        ),
        "POWERTOOLS_METRICS_NAMESPACE": "Tenure",
        "POWERTOOLS_SERVICE_NAME": "tenure",
        # None for simulations (the memory engine has no S3); a stack names its own below.
        "TENURE_REPORT_BUCKET": "",
    }


def restore_environ(saved: Mapping[str, str | None]) -> None:
    """Put back variables as they were before a run set them (None: it was unset)."""
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def state_path() -> Path:
    """Where a running stack is recorded for others to attach to: TENURE_STACK_STATE when
    set, else the repository's .cache/stack.json."""
    chosen = os.environ.get(STATE_PATH_VAR)
    return Path(chosen) if chosen else DEFAULT_STATE_PATH


def _client(service: str, endpoint_url: str, **config: Any) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(**config) if config else None,
    )


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _queue_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    resource = (template.get("Resources") or {}).get(logical_id) or {}
    if resource.get("Type") != "AWS::SQS::Queue":
        return {}
    return dict(resource.get("Properties") or {})


def _queue_attributes(properties: Mapping[str, Any]) -> dict[str, str]:
    """The template's literal queue settings as SQS attributes (intrinsics are skipped)."""
    names = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")
    return {n: str(properties[n]) for n in names if isinstance(properties.get(n), int)}


def wait_table_active(client: Any, table_name: str, timeout: float = _TABLE_TIMEOUT_S) -> None:
    """Poll until the table is ACTIVE (boto3's waiter sleeps 20 s between looks)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(ClientError):
            table = client.describe_table(TableName=table_name)["Table"]
            indexes = table.get("GlobalSecondaryIndexes", [])
            if table["TableStatus"] == "ACTIVE" and all(
                index.get("IndexStatus", "ACTIVE") == "ACTIVE" for index in indexes
            ):
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {table_name} not ACTIVE after {timeout:.0f} s")
        time.sleep(_POLL_S)


def wait_table_deleted(client: Any, table_name: str, timeout: float = _TABLE_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.describe_table(TableName=table_name)
        except ClientError as exc:
            if _error_code(exc) == "ResourceNotFoundException":
                return
            raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {table_name} still exists after {timeout:.0f} s")
        time.sleep(_POLL_S)


class LocalStack:
    """Tenure's AWS services on loopback, reachable through boto3's endpoint variables.

    `dynamodb="auto"` uses DynamoDB Local when Java 17+ is present and moto otherwise.
    """

    def __init__(
        self,
        name: str = DEFAULT_NAME,
        *,
        dynamodb: DynamoDBBackend | Literal["auto"] = "auto",
        template_path: Path | None = None,
        cache_dir: Path | None = None,
        sender_email: str = DEFAULT_SENDER,
        jvm_args: tuple[str, ...] | None = None,
        table_stream: bool = True,
    ) -> None:
        self.name = name
        # False: the table is made without the template's stream. Nothing on loopback reads
        # the stream (no publisher runs here), and DynamoDB Local pays for one on every write:
        # it reads the stream's description back and stores a record of the new image
        # (docs/benchmarks.md). A simulation's own stack leaves it out.
        self.table_stream = table_stream
        self.requested_backend = dynamodb
        self.template_path = template_path
        self.cache_dir = cache_dir
        self.sender_email = sender_email
        self.jvm_args = jvm_args
        self.dynamodb_backend: DynamoDBBackend | None = None
        self.dynamodb_local: DynamoDBLocal | None = None
        self.template: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self._moto: Any = None
        self._env: dict[str, str] = {}
        self._saved_env: dict[str, str | None] | None = None
        self._state_path: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if self._env:
            return self
        began = time.monotonic()
        self.template = load_template(self.template_path)
        self.dynamodb_backend = self._choose_backend()
        if self.dynamodb_backend == "dynamodb-local":
            jvm_args = dynamodb_local.JVM_ARGS if self.jvm_args is None else self.jvm_args
            self.dynamodb_local = DynamoDBLocal(cache_dir=self.cache_dir, jvm_args=jvm_args)
        try:
            # The JVM needs ~2 s to boot; moto is started and provisioned in the meantime. The
            # JVM is started from this thread because it is tied to its starting thread's life.
            with ThreadPoolExecutor(max_workers=1) as pool:
                moto_started = pool.submit(self._start_moto_and_provision)
                ddb_url = self.dynamodb_local.start().endpoint_url if self.dynamodb_local else None
                moto_url = moto_started.result()
            self._env["AWS_ENDPOINT_URL_DYNAMODB"] = ddb_url or moto_url
            self._create_table()
        except BaseException:
            self.stop()
            raise
        if self.dynamodb_local is not None and self.dynamodb_local.startup_seconds is not None:
            self.timings["dynamodb_local_start_s"] = self.dynamodb_local.startup_seconds
        self.timings["start_s"] = time.monotonic() - began
        return self

    def _choose_backend(self) -> DynamoDBBackend:
        if self.requested_backend != "auto":
            return self.requested_backend
        if dynamodb_local.java_available():
            return "dynamodb-local"
        warnings.warn(MOTO_FALLBACK_WARNING, RuntimeWarning, stacklevel=3)
        print(f"warning: {MOTO_FALLBACK_WARNING}", file=sys.stderr)
        return "moto"

    def _start_moto_and_provision(self) -> str:
        moto_url = self._start_moto()
        self._env = self._build_env(moto_url)
        self._create_queues()
        self._create_webhooks_out_queue()
        self._create_bus()
        self._create_report_bucket()
        self._create_bucket(self.import_bucket)
        self._store_secrets()
        self._verify_sender()
        return moto_url

    def _start_moto(self) -> str:
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request at INFO on stderr, which would drown `tenure serve`.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.restore_env()
        if self._state_path is not None:
            with contextlib.suppress(OSError):
                self._state_path.unlink()
            self._state_path = None
        if self.dynamodb_local is not None:
            self.dynamodb_local.stop()
            self.dynamodb_local = None
        if self._moto is not None:
            with contextlib.suppress(Exception):
                self._moto.stop()
            self._moto = None
        self._env = {}

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- environment -----------------------------------------------------------------------

    @property
    def table_name(self) -> str:
        return self.name

    @property
    def event_bus_name(self) -> str:
        return self.name

    @property
    def report_bucket(self) -> str:
        """The bucket the metrics function shelves its report in, as ReportBucket deployed."""
        return f"{self.name}-reports"

    @property
    def import_bucket(self) -> str:
        """The bucket the imports function reads exports from, as ImportBucket deployed."""
        return f"{self.name}-imports"

    @property
    def env(self) -> dict[str, str]:
        if not self._env:
            raise RuntimeError("LocalStack is not running; call start() first")
        return dict(self._env)

    def _build_env(self, moto_url: str) -> dict[str, str]:
        env = {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            # A catch-all, so a service nobody listed still never leaves the machine.
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_ENDPOINT_URL_DYNAMODB": "",  # known once DynamoDB Local answers
        }
        env.update(dict.fromkeys(MOTO_ENDPOINT_VARS, moto_url))
        env.update(app_env(self.table_name, self.event_bus_name, self.sender_email))
        env["TENURE_REPORT_BUCKET"] = self.report_bucket
        env["TENURE_IMPORT_BUCKET"] = self.import_bucket
        return env

    def apply_env(self) -> None:
        """Write the stack's variables into os.environ; stop() puts the old values back."""
        env = self.env
        if self._saved_env is None:
            self._saved_env = {key: os.environ.get(key) for key in (*env, *CLEARED_VARS)}
        for key in CLEARED_VARS:
            os.environ.pop(key, None)
        os.environ.update(env)

    def restore_env(self) -> None:
        saved, self._saved_env = self._saved_env, None
        if saved is not None:
            restore_environ(saved)

    # -- clients and resources -------------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client for one of the stack's services, independent of os.environ."""
        env = self.env
        key = "AWS_ENDPOINT_URL_DYNAMODB" if service == "dynamodb" else "AWS_ENDPOINT_URL"
        return _client(service, env[key])

    def dynamodb_client(self) -> Any:
        return self.client("dynamodb")

    def _create_table(self) -> None:
        ddb = self.dynamodb_client()
        kwargs = table_create_kwargs(self.table_name, self.template)
        if not self.table_stream:
            kwargs.pop("StreamSpecification", None)
        try:
            ddb.create_table(**kwargs)
        except ClientError as exc:
            if _error_code(exc) != "ResourceInUseException":
                raise
        wait_table_active(ddb, self.table_name)
        attribute = ttl_attribute(self.template)
        if attribute:
            with contextlib.suppress(ClientError):  # already enabled on a re-used table
                ddb.update_time_to_live(
                    TableName=self.table_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
                )

    def reset_table(self) -> None:
        """Delete and recreate the table, for tests that need it empty."""
        ddb = self.dynamodb_client()
        with contextlib.suppress(ClientError):
            ddb.delete_table(TableName=self.table_name)
        wait_table_deleted(ddb, self.table_name)
        self._create_table()

    def _create_queues(self) -> None:
        sqs = self.client("sqs")
        queue_props = _queue_properties(self.template, "RenewalQueue")
        dlq_props = _queue_properties(self.template, "RenewalDLQ")
        dlq_url = sqs.create_queue(
            QueueName=f"{self.name}-renewals-dlq", Attributes=_queue_attributes(dlq_props)
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        max_receive = (queue_props.get("RedrivePolicy") or {}).get("maxReceiveCount")
        redrive = {
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": str(
                max_receive if isinstance(max_receive, int) else DEFAULT_MAX_RECEIVE_COUNT
            ),
        }
        attributes = _queue_attributes(queue_props) | {"RedrivePolicy": json.dumps(redrive)}
        queue_url = sqs.create_queue(QueueName=f"{self.name}-renewals", Attributes=attributes)[
            "QueueUrl"
        ]
        self._env["RENEWAL_QUEUE_URL"] = queue_url
        self._env["RENEWAL_DLQ_URL"] = dlq_url

    def _create_webhooks_out_queue(self) -> None:
        """The outbound webhooks dispatcher's queue, as template.yaml makes it; `tenure serve`
        drains it (tenure_local.stack.webhooks_out)."""
        sqs = self.client("sqs")
        props = _queue_properties(self.template, "WebhooksOutQueue")
        attributes = {k: v for k, v in _queue_attributes(props).items() if k != "RedrivePolicy"}
        url = sqs.create_queue(QueueName=f"{self.name}-webhooks-out", Attributes=attributes)[
            "QueueUrl"
        ]
        self._env["WEBHOOK_OUT_QUEUE_URL"] = url

    def _create_bus(self) -> None:
        try:
            self.client("events").create_event_bus(Name=self.event_bus_name)
        except ClientError as exc:
            if _error_code(exc) != "ResourceAlreadyExistsException":
                raise

    def _create_report_bucket(self) -> None:
        self._create_bucket(self.report_bucket)

    def _create_bucket(self, name: str) -> None:
        s3 = self.client("s3")
        try:
            s3.create_bucket(Bucket=name)
        except ClientError as exc:
            if _error_code(exc) != "BucketAlreadyOwnedByYou":
                raise

    def _store_secrets(self) -> None:
        secrets = self.client("secretsmanager")
        for var, (secret_name, arn_var) in SECRETS.items():
            value = self._env[var]
            try:
                arn = secrets.create_secret(Name=secret_name, SecretString=value)["ARN"]
            except ClientError as exc:
                if _error_code(exc) != "ResourceExistsException":
                    raise
                arn = secrets.put_secret_value(SecretId=secret_name, SecretString=value)["ARN"]
            self._env[arn_var] = arn

    def _verify_sender(self) -> None:
        # moto's SES refuses to send from an address that was never verified, as SES does.
        ses = self.client("ses")
        ses.verify_email_identity(EmailAddress=self.sender_email)
        ses.verify_domain_identity(Domain=self.sender_email.rpartition("@")[2])

    # -- state file ------------------------------------------------------------------------

    def write_state(self, path: Path | None = None) -> Path:
        """Record the running stack so another process (`tenure invoke`) can attach to it."""
        target = Path(path) if path is not None else state_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "pid": os.getpid(),
            "dynamodb_backend": self.dynamodb_backend,
            # What the serving process set for itself travels too (`tenure serve`'s outbox
            # and public URL), so an attached `tenure invoke` behaves the same.
            "env": self.env | {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ},
        }
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        tmp.chmod(0o600)
        os.replace(tmp, target)
        self._state_path = target
        return target

    @staticmethod
    def attach(path: Path | None = None) -> dict[str, str] | None:
        """The env of the stack recorded at `path`, or None when none answers there."""
        target = Path(path) if path is not None else state_path()
        try:
            state = json.loads(target.read_text())
            env = {str(key): str(value) for key, value in state["env"].items()}
            ddb_url = env["AWS_ENDPOINT_URL_DYNAMODB"]
            moto_url = env["AWS_ENDPOINT_URL"]
            table = env["TABLE_NAME"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        quick = {"connect_timeout": 1, "read_timeout": 3, "retries": {"max_attempts": 1}}
        try:
            _client("dynamodb", ddb_url, **quick).describe_table(TableName=table)
            _client("sqs", moto_url, **quick).list_queues(MaxResults=1)
        except (BotoCoreError, ClientError):
            return None
        return env


def raw_dynamodb_speed(
    stack: LocalStack, seconds: float = 2.0, warmup: float = 0.5
) -> dict[str, Any]:
    """Conditional PutItems/s and three-item TransactWriteItems/s on a scratch table.

    The scratch table is built from the same template definition as the real one, so each
    write maintains the same indexes and stream as Tenure's own writes do. One client, one
    request at a time, as a Lambda handler makes them. DynamoDB Local's JVM keeps getting
    faster for its first ~15 s, so to compare with a workload, measure after it.
    """
    ddb = stack.dynamodb_client()
    table = f"{stack.name}-speed-{uuid.uuid4().hex[:8]}"
    kwargs = table_create_kwargs(table, stack.template)
    key_types = {d["AttributeName"]: d["AttributeType"] for d in kwargs["AttributeDefinitions"]}
    hash_key = next(k["AttributeName"] for k in kwargs["KeySchema"] if k["KeyType"] == "HASH")
    condition = "attribute_not_exists(#pk)"
    names = {"#pk": hash_key}

    def item(n: int) -> dict[str, Any]:
        # Every key attribute of the table and its indexes is filled, so every index is written.
        out: dict[str, Any] = {
            attr: ({"N": str(n)} if kind == "N" else {"S": f"{attr}#{n:09d}"})
            for attr, kind in key_types.items()
        }
        out["payload"] = {"S": "x" * 200}
        out["version"] = {"N": "1"}
        return out

    counter = itertools.count()

    def timed(op: Any, duration: float) -> tuple[int, float]:
        count = 0
        began = time.perf_counter()
        deadline = began + duration
        while time.perf_counter() < deadline:
            op(next(counter))
            count += 1
        return count, time.perf_counter() - began

    ddb.create_table(**kwargs)
    try:
        wait_table_active(ddb, table)

        def put(i: int) -> None:
            ddb.put_item(
                TableName=table,
                Item=item(i),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
            )

        def transact(i: int) -> None:
            base = 10_000_000 + 3 * i
            ddb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": item(base + j),
                            "ConditionExpression": condition,
                            "ExpressionAttributeNames": names,
                        }
                    }
                    for j in range(3)
                ]
            )

        # A JVM just started compiles its hot paths for its first second or so; measure after.
        timed(put, warmup)
        puts, put_s = timed(put, seconds)
        timed(transact, warmup)
        transactions, tx_s = timed(transact, seconds)
    finally:
        with contextlib.suppress(ClientError):
            ddb.delete_table(TableName=table)
    return {
        "backend": stack.dynamodb_backend,
        "conditional_puts_per_s": round(puts / put_s, 1),
        "transact_writes_per_s": round(transactions / tx_s, 1),
        "items_per_transaction": 3,
        "seconds": seconds,
    }
