"""template.yaml keeps the promises the design makes about the deployed stack."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tenure.settings import declared
from tenure_local.stack import template as template_module
from tenure_local.stack.template import (
    REPO_ROOT,
    load_template,
    table_create_kwargs,
    ttl_attribute,
)

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
TABLE = RESOURCES["TenureTable"]["Properties"]
FUNCTIONS = {
    name: res["Properties"]
    for name, res in RESOURCES.items()
    if res["Type"] == "AWS::Serverless::Function"
}
SCHEDULES = [
    (name, event_name, event["Properties"])
    for name, props in FUNCTIONS.items()
    for event_name, event in props.get("Events", {}).items()
    if event["Type"] == "ScheduleV2"
]
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tenure/stripe-api-key-AbC123"


def _policy_statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every IAM statement anywhere in the template (roles and inline SAM policies)."""
    if isinstance(node, dict):
        if "Effect" in node and ("Action" in node or "NotAction" in node):
            yield node
        for value in node.values():
            yield from _policy_statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from _policy_statements(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_table_is_a_plain_dynamodb_table_on_demand_with_point_in_time_recovery() -> None:
    assert RESOURCES["TenureTable"]["Type"] == "AWS::DynamoDB::Table"
    assert TABLE["BillingMode"] == "PAY_PER_REQUEST"
    assert TABLE["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert TABLE["SSESpecification"] == {"SSEEnabled": True}
    assert "TableName" not in TABLE
    assert RESOURCES["TenureTable"]["DeletionPolicy"] == "Retain"


def test_the_table_has_exactly_the_pk_sk_key_schema_and_the_gsi1_and_due_indexes() -> None:
    assert TABLE["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"]: a["AttributeType"] for a in TABLE["AttributeDefinitions"]} == {
        "PK": "S",
        "SK": "S",
        "GSI1PK": "S",
        "GSI1SK": "S",
        "DuePK": "S",
        "DueSK": "S",
    }
    indexes = {gsi["IndexName"]: gsi for gsi in TABLE["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"GSI1", "DueIndex"}
    for name, (hash_key, range_key) in {
        "GSI1": ("GSI1PK", "GSI1SK"),
        "DueIndex": ("DuePK", "DueSK"),
    }.items():
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": range_key, "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"] == {"ProjectionType": "ALL"}
    assert "LocalSecondaryIndexes" not in TABLE


def test_the_table_expires_items_on_expires_at_and_streams_new_images() -> None:
    assert ttl_attribute(TEMPLATE) == "expires_at"
    assert TABLE["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_every_function_runs_python312_on_arm64_with_the_common_layer() -> None:
    globals_ = TEMPLATE["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.12"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["Layers"] == [{"Ref": "CommonLayer"}]
    for props in FUNCTIONS.values():
        assert "Runtime" not in props
        assert "Layers" not in props
    layer = RESOURCES["CommonLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/common"
    assert layer["Metadata"]["BuildMethod"] == "python3.12"
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_every_function_logs_to_its_own_log_group_with_a_retention() -> None:
    seen: set[str] = set()
    for name, props in FUNCTIONS.items():
        log_group_ref = props["LoggingConfig"]["LogGroup"]["Ref"]
        log_group = RESOURCES[log_group_ref]
        assert log_group["Type"] == "AWS::Logs::LogGroup", name
        assert log_group["Properties"]["RetentionInDays"] == 30, name
        assert log_group_ref not in seen, f"{name} shares a log group"
        seen.add(log_group_ref)
    access_logs = RESOURCES["HttpApi"]["Properties"]["AccessLogSettings"]["DestinationArn"]
    assert RESOURCES[access_logs["Fn::GetAtt"][0]]["Properties"]["RetentionInDays"] == 30


def test_no_policy_statement_grants_dynamodb_actions_on_every_resource() -> None:
    statements = list(_policy_statements(RESOURCES))
    assert statements, "expected inline policy statements to inspect"
    for statement in statements:
        actions = [a.lower() for a in _as_list(statement.get("Action", []))]
        if any(a.startswith("dynamodb:") or a == "*" for a in actions):
            assert "*" not in _as_list(statement["Resource"]), statement
    # No broad AWS managed policies either (AmazonDynamoDBFullAccess and friends).
    for name, props in FUNCTIONS.items():
        for policy in props.get("Policies", []):
            assert not (isinstance(policy, str) and "DynamoDB" in policy), name


def test_data_policy_templates_are_scoped_to_the_table() -> None:
    data_templates = {"DynamoDBCrudPolicy", "DynamoDBReadPolicy", "DynamoDBWritePolicy"}
    for name, props in FUNCTIONS.items():
        for policy in props.get("Policies", []):
            for template_name in data_templates & set(policy if isinstance(policy, dict) else {}):
                assert policy[template_name] == {"TableName": {"Ref": "TenureTable"}}, name


def test_the_events_publisher_reads_only_this_tables_stream() -> None:
    props = FUNCTIONS["EventsPublisherFunction"]
    role = RESOURCES[props["Role"]["Fn::GetAtt"][0]]["Properties"]
    statements = list(_policy_statements(role))
    stream_reads = [s for s in statements if "dynamodb:GetRecords" in _as_list(s["Action"])]
    assert stream_reads == [
        {
            "Sid": "ReadTableStream",
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
            ],
            "Resource": {"Fn::GetAtt": ["TenureTable", "StreamArn"]},
        }
    ]
    assert role.get("ManagedPolicyArns") is None
    outbox = props["Events"]["Outbox"]["Properties"]
    assert outbox["Stream"] == {"Fn::GetAtt": ["TenureTable", "StreamArn"]}
    [pattern] = [f["Pattern"] for f in outbox["FilterCriteria"]["Filters"]]
    assert '"entity": {"S": ["event"]}' in pattern


def test_every_schedule_has_a_retry_policy_and_a_dead_letter_queue() -> None:
    assert {name for name, _, _ in SCHEDULES} == {
        "RenewalsSchedulerFunction",
        "RemindersFunction",
        "MetricsFunction",
    }
    for name, event_name, props in SCHEDULES:
        where = f"{name}.{event_name}"
        assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1, where
        assert props["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["SchedulerDLQ", "Arn"]}}, where
    metrics_schedule = FUNCTIONS["MetricsFunction"]["Events"]["Daily"]["Properties"]
    assert metrics_schedule["ScheduleExpression"] == "cron(15 0 * * ? *)"


def test_the_renewal_queue_redrives_to_its_dlq_and_outlasts_six_charger_timeouts() -> None:
    queue = RESOURCES["RenewalQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["RenewalDLQ", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert queue["SqsManagedSseEnabled"] is True
    charger = FUNCTIONS["RenewalsChargerFunction"]
    assert queue["VisibilityTimeout"] >= 6 * charger["Timeout"]
    jobs = charger["Events"]["RenewalJobs"]["Properties"]
    assert jobs["BatchSize"] == 10
    assert jobs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_charger_concurrency_and_the_provider_budget_are_parameters_the_code_shares() -> None:
    params = TEMPLATE["Parameters"]
    settings = declared()
    # The SQS event source's MaximumConcurrency is the parameter (SQS allows 2 to 1000) ...
    jobs = FUNCTIONS["RenewalsChargerFunction"]["Events"]["RenewalJobs"]["Properties"]
    assert jobs["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "ChargerMaxConcurrency"}}
    concurrency = params["ChargerMaxConcurrency"]
    assert concurrency["Type"] == "Number"
    assert (concurrency["MinValue"], concurrency["MaxValue"]) == (2, 1000)
    assert concurrency["Default"] == settings["charger_max_concurrency"].default
    # ... the budget stays under Stripe live mode's ~100 requests/s by default ...
    budget = params["ProviderRateLimit"]
    assert budget["Type"] == "Number" and budget["MinValue"] >= 1
    assert budget["Default"] == settings["provider_rate_limit"].default < 100
    # ... and every function's gateway divides the one by the other.
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["PROVIDER_RATE_LIMIT"] == {"Ref": "ProviderRateLimit"}
    assert variables["CHARGER_MAX_CONCURRENCY"] == {"Ref": "ChargerMaxConcurrency"}
    assert settings["provider_rate_limit"].alias == "PROVIDER_RATE_LIMIT"
    assert settings["charger_max_concurrency"].alias == "CHARGER_MAX_CONCURRENCY"


def test_secrets_are_arns_of_secrets_never_plain_string_parameters_with_defaults() -> None:
    secretish = re.compile(r"secret|token|key|password", re.IGNORECASE)
    # Public by design: Stripe's pk_ keys, and Razorpay's key id (sent with every request as
    # the user name of its basic authentication; its secret is the password).
    public = re.compile(r"publishable|KeyId$|_KEY_ID$", re.IGNORECASE)
    secret_params = {
        name: spec
        for name, spec in TEMPLATE["Parameters"].items()
        if secretish.search(name) and not public.search(name)
    }
    assert set(secret_params) == {
        "ProviderApiKeySecretArn",
        "WebhookSecretArn",
        "ApiTokenSecretArn",
        "RazorpayKeySecretArn",
    }
    for name, spec in secret_params.items():
        assert spec.get("Default", "") == "", name
        pattern = re.compile(spec["AllowedPattern"])
        assert pattern.fullmatch(SECRET_ARN), name
        assert not pattern.fullmatch("sk_live_51HxYzSecretValue"), name
        assert not pattern.fullmatch("whsec_abc123"), name
    # Functions get ARNs to read at runtime, never values.
    for name, props in FUNCTIONS.items():
        for var, value in props.get("Environment", {}).get("Variables", {}).items():
            if secretish.search(var) and not public.search(var):
                assert var.endswith("_SECRET_ARN"), f"{name}.{var}"
                assert isinstance(value, dict), f"{name}.{var} is a literal"


def test_secret_reads_are_limited_to_the_named_secrets() -> None:
    for name, props in FUNCTIONS.items():
        for statement in _policy_statements(props.get("Policies", [])):
            if "secretsmanager:GetSecretValue" in _as_list(statement["Action"]):
                assert "*" not in str(statement["Resource"]), name


def test_the_outputs_name_the_api_table_bus_and_queues() -> None:
    assert {"ApiUrl", "TableName", "EventBusName", "RenewalQueueUrl", "RenewalDLQUrl"} <= set(
        TEMPLATE["Outputs"]
    )


def test_every_handler_named_in_the_template_exists() -> None:
    default_handler = TEMPLATE["Globals"]["Function"]["Handler"]
    for name, props in FUNCTIONS.items():
        module, function = props.get("Handler", default_handler).split(".")
        source = REPO_ROOT / props["CodeUri"] / f"{module}.py"
        assert source.is_file(), f"{name}: {source} is missing"
        tree = ast.parse(source.read_text(encoding="utf-8"))
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} | {
            t.id
            for n in tree.body
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        assert function in defined, f"{name}: {source} defines no {function}"


def _lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """A hashed lock as {normalized name: (version, hashes)}; fails on an unpinned line."""
    pins: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip().removesuffix("\\").strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("--hash=sha256:"):
            pins[name][1].append(text.removeprefix("--hash=sha256:"))
            continue
        requirement = Requirement(text)
        [spec] = list(requirement.specifier)
        assert spec.operator == "==", f"{path.name}: {requirement} is not pinned"
        name = canonicalize_name(requirement.name)
        pins[name] = (spec.version, [])
    return pins


def _declared(requirements: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, requirements)}


PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME = _declared(PYPROJECT["project"]["dependencies"])
DEV = _declared(PYPROJECT["project"]["optional-dependencies"]["dev"])
LAMBDA_PROVIDES = {"boto3", "botocore"}  # the Python runtime of Lambda ships them


def test_the_lock_pins_every_runtime_and_dev_dependency_with_hashes() -> None:
    lock = _lock(REPO_ROOT / "requirements.lock")
    for name, requirement in (RUNTIME | DEV).items():
        assert name in lock, f"requirements.lock misses {name}: run make lock"
        version, hashes = lock[name]
        assert requirement.specifier.contains(version, prereleases=True), (name, version)
        assert hashes, name
    # The build backend is locked too: the project installs without build isolation.
    assert "setuptools" in lock
    assert all(hashes for _, hashes in lock.values())


def test_the_tools_lock_pins_sam_cfn_lint_checkov_and_uv_with_hashes() -> None:
    wanted = _declared(
        [
            line.split("#", 1)[0].strip()
            for line in (REPO_ROOT / "tools-requirements.txt").read_text().splitlines()
            if line.split("#", 1)[0].strip()
        ]
    )
    assert set(wanted) == {"aws-sam-cli", "cfn-lint", "checkov", "uv"}
    lock = _lock(REPO_ROOT / "tools.lock")
    for name, requirement in wanted.items():
        version, hashes = lock[name]
        assert requirement.specifier.contains(version), (name, version)
        assert hashes, name
    assert all(hashes for _, hashes in lock.values())


def test_the_layer_pins_the_runtime_dependencies_at_the_tested_versions_without_boto3() -> None:
    layer = _lock(REPO_ROOT / "layers/common/requirements.txt")
    tested = _lock(REPO_ROOT / "requirements.lock")
    for name, requirement in RUNTIME.items():
        if name in LAMBDA_PROVIDES:
            continue
        version, hashes = layer[name]
        assert requirement.specifier.contains(version), (name, version)
        assert hashes, name
    # Whatever the layer ships is what the tests ran with, and nothing the runtime has.
    for name, (version, _) in layer.items():
        assert tested[name][0] == version, f"the layer has {name} {version}: run make lock"
    assert not LAMBDA_PROVIDES & set(layer)


def test_make_installs_python_packages_only_from_the_hashed_locks() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    installs = [
        line.strip().rstrip("\\").strip()
        for line in makefile.splitlines()
        if "pip install" in line and not line.lstrip().startswith("#")
    ]
    assert installs, "expected pip installs in the Makefile"
    for line in installs:
        # LOCK_INSTALL's `$(2)` is the lock each call names (checked below); uv.lock.txt is
        # uv's own entry, cut from tools.lock with its hashes (the next test).
        from_lock = re.search(
            r"--require-hashes --no-deps -r "
            r"(requirements\.lock|tools\.lock|\$\(2\)|\$\(TOOLS\)/uv\.lock\.txt)$",
            line,
        )
        the_project = line.endswith("--no-deps --no-build-isolation -e .")
        assert from_lock or the_project, line
    locks = re.findall(r"\$\(call LOCK_INSTALL,[^,]+,([^)]+)\)", makefile)
    assert sorted(locks) == ["requirements.lock", "tools.lock"]


def test_make_takes_uv_alone_with_its_hashes_from_the_tools_lock(tmp_path: Path) -> None:
    """uv, which installs the locks, is the one package pip installs: the recipe cuts its
    entry out of tools.lock, and pip's --require-hashes then checks it against those hashes."""
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    cut = next(
        line.strip() for line in makefile.splitlines() if "uv.lock.txt" in line and "awk" in line
    )
    command = cut.replace("$$", "$").split(" > ")[0]
    assert command.endswith(" tools.lock")
    out = subprocess.run(
        command, shell=True, cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert re.fullmatch(r"uv==[0-9.]+ \\", out[0]), out[0]
    hashes = out[1:]
    assert hashes and all(re.fullmatch(r"    --hash=sha256:[0-9a-f]{64}( \\)?", h) for h in hashes)
    assert not hashes[-1].endswith("\\") and all(h.endswith("\\") for h in hashes[:-1])
    lock = (REPO_ROOT / "tools.lock").read_text(encoding="utf-8")
    assert "\n".join(out) in lock


def test_make_build_leaves_bytecode_lambda_uses_as_it_is(tmp_path: Path) -> None:
    """Lambda runs the code read-only from a zip dated 1980: `make build` compiles, after
    `sam build`, bytecode the import uses without checking the source's date (docs/deploy.md).
    The test runs the recipe's own command on a module, then changes the module's source and
    dates it 1980: the bytecode compiled before is still what is imported."""
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nbuild: ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    commands = [line.strip() for line in recipe if not line.strip().startswith("#")]
    assert "sam build" in commands[0]
    compile_line = commands[1]
    assert compile_line.startswith("$(PYTHON312) -m compileall ")
    assert compile_line.endswith(" .aws-sam/build")
    build = tmp_path / ".aws-sam" / "build"
    build.mkdir(parents=True)
    (build / "m.py").write_text("VALUE = 'compiled'\n")
    argv = compile_line.split()[1:]
    subprocess.run([sys.executable, *argv], cwd=tmp_path, check=True)
    (build / "m.py").write_text("VALUE = 'source'\n")
    os.utime(build / "m.py", (315532800, 315532800))  # 1980-01-01, as SAM zips it

    imported = subprocess.run(
        [sys.executable, "-c", "import m; print(m.VALUE)"],
        cwd=build, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(build)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip

    assert imported.stdout.strip() == "compiled"


def test_table_create_kwargs_is_the_template_table_without_provisioned_throughput() -> None:
    kwargs = table_create_kwargs("tenure-local", TEMPLATE)
    assert set(kwargs) == {
        "TableName",
        "KeySchema",
        "AttributeDefinitions",
        "BillingMode",
        "GlobalSecondaryIndexes",
        "StreamSpecification",
    }
    assert kwargs["TableName"] == "tenure-local"
    assert kwargs["BillingMode"] == "PAY_PER_REQUEST"
    assert kwargs["KeySchema"] == TABLE["KeySchema"]
    assert kwargs["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    for gsi in kwargs["GlobalSecondaryIndexes"]:
        assert set(gsi) == {"IndexName", "KeySchema", "Projection"}
    assert "ProvisionedThroughput" not in str(kwargs)


def test_table_create_kwargs_creates_the_table_in_a_dynamodb_api(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(var, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_create_kwargs("tenure-test"))
        attribute = ttl_attribute()
        assert attribute is not None
        client.update_time_to_live(
            TableName="tenure-test",
            TimeToLiveSpecification={"AttributeName": attribute, "Enabled": True},
        )
        table = client.describe_table(TableName="tenure-test")["Table"]
    assert table["KeySchema"] == TABLE["KeySchema"]
    assert {gsi["IndexName"] for gsi in table["GlobalSecondaryIndexes"]} == {"GSI1", "DueIndex"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"


def test_table_create_kwargs_rejects_a_resource_that_is_not_a_table() -> None:
    with pytest.raises(KeyError):
        table_create_kwargs("x", TEMPLATE, logical_id="RenewalQueue")


def test_load_template_reads_short_tags_as_long_form_intrinsics(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "A: !Ref Table\n"
        "B: !GetAtt Table.StreamArn\n"
        "C: !Sub 'x-${Env}'\n"
        "D: !If [IsProd, true, false]\n"
        "E: !Join ['', [a, !Ref B]]\n"
        "F: !Not [!Equals [!Ref P, '']]\n"
        "G: !Select [0, !GetAZs '']\n"
        "H: !Split [',', !ImportValue Out]\n"
        "I: !And [!Condition C1, !Or [!Condition C2, !Condition C3]]\n"
        "J: !FindInMap [M, K, V]\n",
        encoding="utf-8",
    )
    assert load_template(path) == {
        "A": {"Ref": "Table"},
        "B": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "C": {"Fn::Sub": "x-${Env}"},
        "D": {"Fn::If": ["IsProd", True, False]},
        "E": {"Fn::Join": ["", ["a", {"Ref": "B"}]]},
        "F": {"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]},
        "G": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "H": {"Fn::Split": [",", {"Fn::ImportValue": "Out"}]},
        "I": {
            "Fn::And": [{"Condition": "C1"}, {"Fn::Or": [{"Condition": "C2"}, {"Condition": "C3"}]}]
        },
        "J": {"Fn::FindInMap": ["M", "K", "V"]},
    }


def test_samconfig_has_a_dev_default_and_a_prod_environment() -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert config["default"]["global"]["parameters"]["stack_name"] == "tenure-dev"
    assert config["prod"]["global"]["parameters"]["stack_name"] == "tenure-prod"
    for env, name in {"default": "dev", "prod": "prod"}.items():
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["confirm_changeset"] is True
        assert f"EnvironmentName={name}" in deploy["parameter_overrides"]


# -- operations: alarms, concurrency, throttles, table permissions ---------------------------
ALARMS = {
    name: res["Properties"]
    for name, res in RESOURCES.items()
    if res["Type"] == "AWS::CloudWatch::Alarm"
}
ALL_FUNCTIONS = {
    name for name, res in RESOURCES.items() if res["Type"] == "AWS::Serverless::Function"
}
# What each function does to the table, read from its code (functions/*/app.py and the
# services and store it calls). A transaction's Put, Update, ConditionCheck and Delete need
# PutItem, UpdateItem, ConditionCheckItem and DeleteItem.
READS = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"}
TABLE_ACTIONS: dict[str, set[str]] = {
    # commits (payer copies and checks); Idempotency-Key records claimed, completed, released
    "ApiFunction": READS
    | {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    },
    # commits provider facts, payer copies among them; deletes nothing
    "WebhooksFunction": READS
    | {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"},
    # only queries the due index
    "RenewalsSchedulerFunction": READS,
    # deliveries written once and updated by version; an endpoint's failure notes updated
    "WebhooksOutFunction": {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    },
    # commits charges with a payer check and late invoices on record; never a payer copy,
    # never a delete
    "RenewalsChargerFunction": READS
    | {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"},
    # notices and sent-markers, claimed against the copies they were written from; a failed
    # send releases its marker (Commit.released_markers)
    "RemindersFunction": READS
    | {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"},
    # records a suppressed address and reads nothing
    "EmailFeedbackFunction": {"dynamodb:PutItem"},
    # daily snapshots and the catch-up cursor
    "MetricsFunction": READS | {"dynamodb:PutItem"},
    # commits each imported plan and customer whole, every item a conditional Put
    "ImportsFunction": READS | {"dynamodb:PutItem"},
}


def _refs(node: Any) -> set[str]:
    """Every resource a node names with Ref or GetAtt."""
    if isinstance(node, dict):
        found = set()
        if "Ref" in node:
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            found.add(node["Fn::GetAtt"][0])
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_when_it_clears() -> None:
    assert len(ALARMS) >= 2 * len(ALL_FUNCTIONS) + 5
    for name, props in ALARMS.items():
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert props["OKActions"] == [{"Ref": "AlarmTopic"}], name
    assert RESOURCES["AlarmTopic"]["Type"] == "AWS::SNS::Topic"


def test_the_alarm_email_is_subscribed_only_when_one_is_given() -> None:
    param = TEMPLATE["Parameters"]["AlarmEmail"]
    assert param["Default"] == ""
    pattern = re.compile(param["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch("ops@example.com")
    assert not pattern.fullmatch("not an address")
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert TEMPLATE["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def test_every_function_has_an_errors_and_a_throttles_alarm() -> None:
    for function in ALL_FUNCTIONS:
        watched = {
            props["MetricName"]
            for props in ALARMS.values()
            if props["Namespace"] == "AWS/Lambda"
            and props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]
        }
        assert watched == {"Errors", "Throttles"}, function
    for props in ALARMS.values():
        if props["Namespace"] == "AWS/Lambda":
            assert props["Threshold"] == 1
            assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_every_dead_letter_queue_alarms_on_its_first_message() -> None:
    dlqs = {
        arn["Fn::GetAtt"][0]
        for node in (
            [RESOURCES[q]["Properties"].get("RedrivePolicy", {}) for q in RESOURCES]
            + [props.get("EventInvokeConfig", {}) for props in FUNCTIONS.values()]
            + [props.get("Events", {}) for props in FUNCTIONS.values()]
        )
        for arn in _dlq_arns(node)
    }
    assert dlqs == {
        "RenewalDLQ",
        "SchedulerDLQ",
        "EventsDLQ",
        "EmailFeedbackDLQ",
        "WebhooksOutDLQ",
    }
    for queue in dlqs:
        [alarm] = [
            props
            for props in ALARMS.values()
            if props["Namespace"] == "AWS/SQS"
            and props["MetricName"] == "ApproximateNumberOfMessagesVisible"
            and props["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue, "QueueName"]}
        ]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def _dlq_arns(node: Any) -> Iterator[dict[str, Any]]:
    """Queue ARNs named as a redrive target, an on-failure destination or a dead-letter
    config anywhere under node."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("deadLetterTargetArn", "Destination", "Arn") and isinstance(value, dict):
                if "Fn::GetAtt" in value and RESOURCES[value["Fn::GetAtt"][0]]["Type"] == (
                    "AWS::SQS::Queue"
                ):
                    yield value
            else:
                yield from _dlq_arns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dlq_arns(value)


def test_the_api_5xx_and_the_charger_queue_age_have_alarms() -> None:
    [five_xx] = [p for p in ALARMS.values() if p["MetricName"] == "5xx"]
    assert five_xx["Namespace"] == "AWS/ApiGateway"
    assert five_xx["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    [age] = [p for p in ALARMS.values() if p["MetricName"] == "ApproximateAgeOfOldestMessage"]
    assert age["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["RenewalQueue", "QueueName"]}
    assert age["Threshold"] == {"Ref": "RenewalQueueAgeAlarmSeconds"}


def test_reserved_concurrency_is_an_optional_parameter_per_function_unset_by_default() -> None:
    params, conditions = TEMPLATE["Parameters"], TEMPLATE["Conditions"]
    for function in ALL_FUNCTIONS:
        props = RESOURCES[function]["Properties"]
        prefix = function.removesuffix("Function")
        param, condition = f"{prefix}ReservedConcurrency", f"Has{prefix}ReservedConcurrency"
        assert props["ReservedConcurrentExecutions"] == {
            "Fn::If": [condition, {"Ref": param}, {"Ref": "AWS::NoValue"}]
        }, function
        assert (params[param]["Type"], params[param]["Default"]) == ("Number", 0), function
        assert conditions[condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": param}, 0]}]}
    assert "ReservedConcurrentExecutions" not in TEMPLATE["Globals"]["Function"]


def test_webhooks_have_a_throttle_of_their_own_apart_from_the_api_routes() -> None:
    routes = {
        f"{event['Method']} {event['Path']}": event.get("RouteSettings")
        for props in FUNCTIONS.values()
        for source in props.get("Events", {}).values()
        if source["Type"] == "HttpApi"
        for event in [source["Properties"]]
    }
    assert routes["POST /webhooks/{provider}"] == {
        "ThrottlingBurstLimit": {"Ref": "WebhookThrottleBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "WebhookThrottleRateLimit"},
    }
    for route in ("ANY /{proxy+}", "ANY /pages/{proxy+}"):
        assert routes[route] == {
            "ThrottlingBurstLimit": {"Ref": "ApiThrottleBurstLimit"},
            "ThrottlingRateLimit": {"Ref": "ApiThrottleRateLimit"},
        }, route
    params = TEMPLATE["Parameters"]
    assert params["WebhookThrottleRateLimit"]["Default"] > params["ProviderRateLimit"]["Default"]


def test_each_function_may_do_to_the_table_only_what_its_code_does() -> None:
    table_arns = [
        {"Fn::GetAtt": ["TenureTable", "Arn"]},
        {"Fn::Sub": "${TenureTable.Arn}/index/*"},
    ]
    granted: dict[str, set[str]] = {}
    for name, props in FUNCTIONS.items():
        for policy in props.get("Policies", []):
            assert not (isinstance(policy, dict) and "DynamoDBCrudPolicy" in policy), name
        for statement in _policy_statements(props.get("Policies", [])):
            actions = {a for a in _as_list(statement["Action"]) if a.startswith("dynamodb:")}
            if actions:
                assert statement["Resource"] == table_arns, name
                granted.setdefault(name, set()).update(actions)
    assert granted == TABLE_ACTIONS
    # The events publisher reads the stream only (its own role), never the table.
    role = RESOURCES["EventsPublisherRole"]["Properties"]
    table_actions = {
        a
        for s in _policy_statements(role)
        for a in _as_list(s["Action"])
        if s.get("Resource") == {"Fn::GetAtt": ["TenureTable", "Arn"]}
    }
    assert not table_actions


def test_every_sns_topic_but_the_alarm_topic_is_encrypted() -> None:
    for name, res in RESOURCES.items():
        if res["Type"] == "AWS::SNS::Topic" and name != "AlarmTopic":
            assert res["Properties"].get("KmsMasterKeyId"), name


def test_ses_may_use_the_key_of_the_topic_it_publishes_feedback_to() -> None:
    # SES cannot publish to a topic under the AWS-managed SNS key (its policy is fixed).
    key_ref = RESOURCES["EmailFeedbackTopic"]["Properties"]["KmsMasterKeyId"]
    assert key_ref == {"Ref": "EmailFeedbackKey"}
    key = RESOURCES["EmailFeedbackKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    ses = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s.get("Principal", {}).get("Service") == "ses.amazonaws.com"
    ]
    assert len(ses) == 1
    assert set(_as_list(ses[0]["Action"])) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert ses[0]["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_every_checkov_skip_carries_its_reason() -> None:
    lines = (REPO_ROOT / ".checkov.yaml").read_text(encoding="utf-8").splitlines()
    skips = [line for line in lines if re.match(r"\s+- CKV", line)]
    assert skips, "expected the skip list"
    for line in skips:
        check, _, reason = line.strip().removeprefix("- ").partition("#")
        assert re.fullmatch(r"CKV2?_AWS_\d+", check.strip()), line
        assert len(reason.strip()) >= 30, f"{check.strip()} needs a reason"
    config = yaml.safe_load("\n".join(lines))
    assert config["file"] == ["template.yaml"]
    assert len(config["skip-check"]) == len(skips)


def test_the_report_bucket_is_private_encrypted_versioned_and_tls_only() -> None:
    bucket = RESOURCES["ReportBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    [expiry] = bucket["LifecycleConfiguration"]["Rules"]
    assert expiry["Status"] == "Enabled" and expiry["NoncurrentVersionExpiration"]["NoncurrentDays"]
    policy = RESOURCES["ReportBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "ReportBucket"}
    [deny] = policy["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Action"], deny["Principal"]) == ("Deny", "s3:*", "*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_only_the_metrics_function_may_write_the_report_and_only_under_its_prefix() -> None:
    from tenure.store.report_bucket import REPORT_PREFIX

    writers = {
        name: statement
        for name, props in FUNCTIONS.items()
        for statement in _policy_statements(props.get("Policies", []))
        if any(str(a).startswith("s3:") for a in _as_list(statement["Action"]))
        and "ReportBucket" in str(statement["Resource"])
    }
    assert list(writers) == ["MetricsFunction"]
    statement = writers["MetricsFunction"]
    assert statement["Action"] == "s3:PutObject"
    assert statement["Resource"] == {"Fn::Sub": "${ReportBucket.Arn}/" + REPORT_PREFIX + "*"}
    variables = FUNCTIONS["MetricsFunction"]["Environment"]["Variables"]
    settings = declared()
    assert variables[settings["report_bucket"].alias] == {"Ref": "ReportBucket"}
    assert variables[settings["reporting_currency"].alias] == {"Ref": "ReportingCurrency"}
    assert TEMPLATE["Outputs"]["ReportBucketName"]["Value"] == {"Ref": "ReportBucket"}


def test_the_import_bucket_is_private_encrypted_tls_only_and_forgets_exports() -> None:
    bucket = RESOURCES["ImportBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    [expiry] = bucket["LifecycleConfiguration"]["Rules"]
    assert expiry["ExpirationInDays"] == 30
    [deny] = RESOURCES["ImportBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_only_the_imports_function_reads_exports_and_only_under_their_prefix() -> None:
    readers = {
        name: statement
        for name, props in FUNCTIONS.items()
        for statement in _policy_statements(props.get("Policies", []))
        if "ImportBucket" in str(statement["Resource"])
    }
    assert list(readers) == ["ImportsFunction"]
    assert readers["ImportsFunction"]["Action"] == "s3:GetObject"
    assert readers["ImportsFunction"]["Resource"] == {"Fn::Sub": "${ImportBucket.Arn}/imports/*"}
    variables = FUNCTIONS["ImportsFunction"]["Environment"]["Variables"]
    assert variables[declared()["import_bucket"].alias] == {"Ref": "ImportBucket"}


def test_a_refund_whose_tries_stopped_alarms_on_the_metric_the_charger_counts() -> None:
    alarm = ALARMS["RefundsFailedAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Tenure", "RefundsFailed")
    assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # test_renewals_handler proves the charger counts it under this name.


def test_load_template_parses_a_file_again_once_its_bytes_changed(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("A: !Ref Table\n", encoding="utf-8")
    first = load_template(path)
    first["A"]["Ref"] = "changed by its caller"  # each call gets its own copy
    assert load_template(path) == {"A": {"Ref": "Table"}}
    path.write_text("A: !Ref Other\n", encoding="utf-8")  # same size, maybe the same mtime
    assert load_template(path) == {"A": {"Ref": "Other"}}


def test_load_template_parses_the_same_bytes_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("A: !GetAtt Table.Arn\n", encoding="utf-8")
    parses: list[str] = []
    real = template_module.yaml.load

    def counted(text: str, Loader: Any) -> Any:
        parses.append(text)
        return real(text, Loader=Loader)

    monkeypatch.setattr(template_module.yaml, "load", counted)
    assert load_template(path) == load_template(path) == {"A": {"Fn::GetAtt": ["Table", "Arn"]}}
    assert len(parses) == 1
