"""Each function calls only the AWS actions its policy in template.yaml allows.

The real handlers run scenarios and the sample events on DynamoDB Local and moto, which check
no permissions; every call a handler makes through botocore is recorded under the function
that made it, turned into the IAM actions AWS would authorize it by, and matched against that
function's statements in template.yaml. A policy that lacks an action the code uses would
deploy and then fail in AWS with AccessDenied; here it fails the test.
"""

from __future__ import annotations

import contextlib
import fnmatch
import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError

from tenure import bootstrap
from tenure.notify.mailers import SesMailer
from tenure.settings import Settings
from tenure_local.cli.webhooks import resign_sample
from tenure_local.runtime import functions
from tenure_local.simulator.engines import DynamoLocalEngine
from tenure_local.simulator.scenario import load
from tenure_local.simulator.simulate import Simulator
from tenure_local.stack.local_stack import LocalStack
from tenure_local.stack.template import REPO_ROOT, load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
# Subscribes, renews, declines, retries, cards updated, webhooks of every kind, reminders and
# dunning emails, metrics: measured, it makes every call demo.yaml, refunds-offers.yaml,
# coupons.yaml and programs.yaml make, in a fraction of their time.
SCENARIO = REPO_ROOT / "examples" / "webhooks.yaml"
SAMPLES = sorted((REPO_ROOT / "events").glob("*/*.json"))
REPORT_BUCKET = "tenure-local-reports"
# How many times the mailer tries a throttled send before it defers the email.
SES_ATTEMPTS = inspect.signature(SesMailer).parameters["attempts"].default

# The SAM policy templates a function may name, expanded as SAM defines them
# (samtranslator/policy_templates_data/policy_templates.json). A template not listed here
# fails the test, so each new one is looked up and written down once.
SAM_POLICY_TEMPLATES: dict[str, list[str]] = {
    "SQSSendMessagePolicy": ["sqs:SendMessage*"],
    "AWSSecretsManagerGetSecretValuePolicy": ["secretsmanager:GetSecretValue"],
    "DynamoDBReadPolicy": [
        "dynamodb:GetItem",
        "dynamodb:Scan",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:DescribeTable",
    ],
    "DynamoDBWritePolicy": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"],
    "DynamoDBCrudPolicy": [
        "dynamodb:GetItem",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:Scan",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:BatchGetItem",
        "dynamodb:DescribeTable",
        "dynamodb:ConditionCheckItem",
    ],
    "EventBridgePutEventsPolicy": ["events:PutEvents"],
}
# The services whose calls are checked; boto3 names SES's v2 API `sesv2`, IAM names it `ses`.
IAM_PREFIX = {
    "dynamodb": "dynamodb",
    "sqs": "sqs",
    "events": "events",
    "ses": "ses",
    "sesv2": "ses",
    "s3": "s3",
    "secretsmanager": "secretsmanager",
}
# A transaction is authorized item by item, by the action each item stands for (DynamoDB
# developer guide, "Using IAM with DynamoDB transactions"); there is no TransactWriteItems action.
_TRANSACT_WRITE = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
# Batch calls an IAM policy grants through the single action.
_BATCHED_AS = {
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
}


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    index: bool = False  # a DynamoDB call on one of the table's indexes
    key: str | None = None  # an S3 call's object key

    def __str__(self) -> str:
        on = " (index)" if self.index else f" {self.key}" if self.key is not None else ""
        return f"{self.service}.{self.operation}{on}"


def iam_actions(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The IAM actions AWS checks for one API call."""
    if service == "dynamodb" and operation == "TransactWriteItems":
        return [_TRANSACT_WRITE[kind] for item in params["TransactItems"] for kind in item]
    if service == "dynamodb" and operation == "TransactGetItems":
        return ["dynamodb:GetItem"]
    if (service, operation) in _BATCHED_AS:
        return [_BATCHED_AS[(service, operation)]]
    return [f"{IAM_PREFIX[service]}:{operation}"]


@dataclass
class Recorder:
    """Records the calls made while a function runs, under that function's name."""

    calls: dict[str, dict[str, set[Call]]] = field(default_factory=dict)  # name → action → calls
    running: list[str] = field(default_factory=list)
    throttled_sends: int = 0  # SES sends still to refuse as throttled

    def record(self, service: str, operation: str, params: dict[str, Any]) -> None:
        if not self.running or service not in IAM_PREFIX:
            return  # the test's own calls (the stack, the simulator), or a service not checked
        key = params.get("Key") if service == "s3" else None
        call = Call(service, operation, bool(params.get("IndexName")), key)
        for action in iam_actions(service, operation, params):
            self.calls.setdefault(self.running[-1], {}).setdefault(action, set()).add(call)

    @contextlib.contextmanager
    def running_function(self, name: str) -> Iterator[None]:
        self.running.append(name)
        try:
            yield
        finally:
            self.running.pop()


@pytest.fixture
def recorder(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    # Every client's one way to AWS, whichever session made it (not in botocore's stubs).
    real_call: Callable[..., Any] = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
    real_invoke = functions.invoke

    def recording_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        recorder.record(service, operation, params)
        if service == "ses" and operation == "SendRawEmail" and recorder.throttled_sends:
            recorder.throttled_sends -= 1
            error = {"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded"}}
            raise ClientError(error, operation)  # type: ignore[arg-type]
        return real_call(client, operation, params)

    def recording_invoke(name: str, event: dict[str, Any]) -> Any:
        if name == "renewals" and isinstance(event.get("Records"), list):
            name = "renewals-charger"  # as functions.invoke routes it
        with recorder.running_function(name):
            return real_invoke(name, event)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording_call)
    monkeypatch.setattr(functions, "invoke", recording_invoke)
    return recorder


# -- the template's side: what each function may do -----------------------------------------
def function_resources() -> dict[str, str]:
    """Each local function name → the logical id of the function in template.yaml that runs
    the same handler (its CodeUri folder and Handler attribute)."""
    default_handler = TEMPLATE["Globals"]["Function"]["Handler"]
    by_handler = {
        (Path(props["CodeUri"]).name, props.get("Handler", default_handler).split(".")[1]): name
        for name, res in RESOURCES.items()
        if res["Type"] == "AWS::Serverless::Function"
        for props in [res["Properties"]]
    }
    return {name: by_handler[handler] for name, handler in functions.HANDLERS.items()}


def granted(function: str) -> list[dict[str, Any]]:
    """The Allow statements of a function: its SAM Policies (inline statements, policy
    templates expanded; a conditional policy counts as granted), or its own role's policies."""
    props = RESOURCES[function]["Properties"]
    if "Role" in props:
        role = RESOURCES[props["Role"]["Fn::GetAtt"][0]]["Properties"]
        documents = [p["PolicyDocument"] for p in role.get("Policies", [])]
        return [s for d in documents for s in d["Statement"] if s["Effect"] == "Allow"]
    statements: list[dict[str, Any]] = []
    for policy in props.get("Policies", []):
        if isinstance(policy, dict) and "Fn::If" in policy:
            policy = policy["Fn::If"][1]
        if isinstance(policy, str):
            raise AssertionError(f"{function}: managed policy {policy} is not expanded here")
        if "Statement" in policy:
            statements += [s for s in policy["Statement"] if s["Effect"] == "Allow"]
            continue
        [(template, _)] = policy.items()
        assert template in SAM_POLICY_TEMPLATES, f"{function}: expand {template} in this test"
        statements.append({"Effect": "Allow", "Action": SAM_POLICY_TEMPLATES[template]})
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allows(statements: list[dict[str, Any]], action: str, call: Call) -> bool:
    for statement in statements:
        patterns = [a.lower() for a in _as_list(statement["Action"])]
        if any(fnmatch.fnmatchcase(action.lower(), p) for p in patterns) and _on(statement, call):
            return True
    return False


def _on(statement: dict[str, Any], call: Call) -> bool:
    """Whether the statement's resources cover what the call acts on: an index needs the
    index's ARN; an object key must match the object ARN's path (`${Bucket.Arn}/reports/*`)."""
    resources = [_arn_text(r) for r in _as_list(statement.get("Resource", "*"))]
    if call.index:
        return any("/index/" in r for r in resources)
    if call.key is not None:
        paths = [r.split("}/", 1)[1] for r in resources if "}/" in r]
        return any(fnmatch.fnmatchcase(call.key, path) for path in paths)
    return True


def _arn_text(resource: Any) -> str:
    """An ARN as written: a string, the text of a !Sub, or the intrinsic as JSON."""
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        return str(sub[0] if isinstance(sub, list) else sub)
    return resource if isinstance(resource, str) else json.dumps(resource)


def refused(recorder: Recorder) -> list[str]:
    """Every recorded action some function's policy does not allow."""
    resources = function_resources()
    problems = []
    for name, actions in sorted(recorder.calls.items()):
        statements = granted(resources[name])
        for action, calls in sorted(actions.items()):
            for call in sorted(calls, key=str):
                if not allows(statements, action, call):
                    problems.append(f"{resources[name]} calls {call}, needing {action}")
    return problems


# -- the code's side: what each function does ------------------------------------------------
def run_everything(
    stack: LocalStack, recorder: Recorder, out: Path, env: pytest.MonkeyPatch
) -> None:
    # 1. A scenario through the simulator; the first email's every try is throttled, so the
    #    reminders run defers it and releases its sent-marker.
    stack.reset_table()
    recorder.throttled_sends = SES_ATTEMPTS
    # Through boto3 only: the recorder sees the calls botocore makes.
    engine = DynamoLocalEngine(stack, lean_client=False)
    Simulator(load(SCENARIO), out, seed=0, measure_raw_speed=False, engine=engine).run()
    # 2. Every sample event, configured as deployed: secrets read from Secrets Manager by
    #    their ARNs (not from plain variables), the daily report written to its bucket.
    samples = [(p.parent.name, resign_sample(json.loads(p.read_text()))) for p in SAMPLES]
    token = stack.env["TENURE_API_TOKEN"]
    for plain in ("TENURE_API_TOKEN", "TENURE_STRIPE_WEBHOOK_SECRET", "TENURE_LINK_SECRET"):
        env.setenv(plain, "")
    env.setenv("TENURE_REPORT_BUCKET", REPORT_BUCKET)
    stack.client("s3").create_bucket(Bucket=REPORT_BUCKET)
    bootstrap.use(bootstrap.build(Settings()))
    try:
        for name, event in samples:
            functions.invoke(name, event)
        # 3. A request refused having written nothing releases its Idempotency-Key.
        taken = {"id": "cus_example", "email": "alice@example.com"}  # created by a sample
        headers = {"authorization": f"Bearer {token}", "idempotency-key": "taken-id"}
        reply = functions.invoke(
            "api", functions.http_event("POST", "/v1/customers", taken, headers)
        )
        assert reply["statusCode"] == 409, reply
    finally:
        bootstrap.use(None)


def test_every_aws_action_a_function_calls_is_allowed_by_its_policy_in_the_template(
    local_stack: LocalStack, recorder: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_everything(local_stack, recorder, tmp_path, monkeypatch)

    # Every function ran and reached AWS, the rare paths too: a recording that missed them
    # would prove nothing about their permissions.
    recorded = {function_resources()[name] for name in recorder.calls}
    assert recorded == set(function_resources().values())
    assert "dynamodb:DeleteItem" in recorder.calls["reminders"]  # the deferred email's marker
    assert "dynamodb:DeleteItem" in recorder.calls["api"]  # the released Idempotency-Key
    assert "s3:PutObject" in recorder.calls["metrics"]
    assert "secretsmanager:GetSecretValue" in recorder.calls["api"]
    problems = refused(recorder)
    assert problems == [], "\n".join(problems)


# -- the check itself ------------------------------------------------------------------------
def test_a_transaction_needs_the_action_of_each_of_its_items() -> None:
    items: list[dict[str, Any]] = [
        {"Put": {}},
        {"ConditionCheck": {}},
        {"Update": {}},
        {"Delete": {}},
    ]

    actions = iam_actions("dynamodb", "TransactWriteItems", {"TransactItems": items})

    assert actions == [
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ]


def test_an_action_missing_from_a_policy_is_reported_against_that_function() -> None:
    recorder = Recorder()
    with recorder.running_function("renewals-scheduler"):  # read-only on the table
        recorder.record("dynamodb", "TransactWriteItems", {"TransactItems": [{"Put": {}}]})
        recorder.record("dynamodb", "Query", {"IndexName": "DueIndex"})
        recorder.record("sqs", "SendMessageBatch", {})
    recorder.record("dynamodb", "DeleteTable", {})  # outside any function: not checked

    assert refused(recorder) == [
        "RenewalsSchedulerFunction calls dynamodb.TransactWriteItems, needing dynamodb:PutItem"
    ]


def test_a_query_on_an_index_needs_the_index_among_the_resources() -> None:
    table_only = [{"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": "table"}]

    assert allows(table_only, "dynamodb:Query", Call("dynamodb", "Query"))
    assert not allows(table_only, "dynamodb:Query", Call("dynamodb", "Query", index=True))


def test_an_object_outside_the_granted_prefix_is_refused() -> None:
    reports = [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": {"Fn::Sub": "${B.Arn}/reports/*"}}
    ]

    assert allows(reports, "s3:PutObject", Call("s3", "PutObject", key="reports/report.html"))
    assert not allows(reports, "s3:PutObject", Call("s3", "PutObject", key="report.html"))


def test_an_action_a_sam_policy_template_grants_by_wildcard_is_allowed() -> None:
    queue = [{"Effect": "Allow", "Action": SAM_POLICY_TEMPLATES["SQSSendMessagePolicy"]}]

    assert allows(queue, "sqs:SendMessage", Call("sqs", "SendMessageBatch"))
    assert not allows(queue, "sqs:DeleteMessage", Call("sqs", "DeleteMessage"))
