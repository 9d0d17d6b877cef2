"""The local AWS stack: DynamoDB Local built from template.yaml, moto for the rest."""

import json
import os
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tenure_local.stack import dynamodb_local
from tenure_local.stack.dynamodb_local import free_port
from tenure_local.stack.local_stack import LocalStack, raw_dynamodb_speed
from tenure_local.stack.template import load_template


def template_table() -> dict[str, Any]:
    return dict(load_template()["Resources"]["TenureTable"]["Properties"])


def keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


def put_request(table: str, pk: str) -> dict[str, Any]:
    return {
        "TableName": table,
        "Item": {"PK": {"S": pk}, "SK": {"S": "META"}},
        "ConditionExpression": "attribute_not_exists(PK)",
    }


def test_the_local_table_has_the_key_schema_and_indexes_of_template_yaml(
    local_stack: LocalStack, fresh_table: str
) -> None:
    expected = template_table()
    ddb = local_stack.dynamodb_client()
    table = with_the_stream(local_stack)

    assert keys(table["KeySchema"]) == keys(expected["KeySchema"])
    assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {
        (a["AttributeName"], a["AttributeType"]) for a in expected["AttributeDefinitions"]
    }
    assert {
        gsi["IndexName"]: (keys(gsi["KeySchema"]), gsi["Projection"]["ProjectionType"])
        for gsi in table["GlobalSecondaryIndexes"]
    } == {
        gsi["IndexName"]: (keys(gsi["KeySchema"]), gsi["Projection"]["ProjectionType"])
        for gsi in expected["GlobalSecondaryIndexes"]
    }
    assert (
        table["StreamSpecification"]["StreamViewType"]
        == (expected["StreamSpecification"]["StreamViewType"])
    )
    ttl = ddb.describe_time_to_live(TableName=fresh_table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == (
        "ENABLED",
        expected["TimeToLiveSpecification"]["AttributeName"],
    )


def test_a_conditional_put_that_fails_raises_conditional_check_failed(
    local_stack: LocalStack, fresh_table: str
) -> None:
    ddb = local_stack.dynamodb_client()
    ddb.put_item(**put_request(fresh_table, "CUSTOMER#alice"))

    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(**put_request(fresh_table, "CUSTOMER#alice"))


def test_dynamodb_local_validates_as_the_real_service_does(local_stack: LocalStack) -> None:
    ddb = local_stack.dynamodb_client()
    attempt = {
        "TableName": "ab",
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if local_stack.dynamodb_backend == "moto":
        # The fallback is known to be laxer; this is one reason it is only a fallback.
        ddb.create_table(**attempt)
        ddb.delete_table(TableName="ab")
        return

    with pytest.raises(ClientError) as raised:
        ddb.create_table(**attempt)

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "between 3 and 255 characters" in raised.value.response["Error"]["Message"]


def test_a_transaction_of_three_items_is_written_all_or_nothing(
    local_stack: LocalStack, fresh_table: str
) -> None:
    ddb = local_stack.dynamodb_client()
    ddb.transact_write_items(
        TransactItems=[{"Put": put_request(fresh_table, f"ITEM#{n}")} for n in range(3)]
    )
    # A second transaction whose last put collides must leave its first two unwritten.
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": put_request(fresh_table, "ITEM#3")},
                {"Put": put_request(fresh_table, "ITEM#4")},
                {"Put": put_request(fresh_table, "ITEM#0")},
            ]
        )

    stored = ddb.scan(TableName=fresh_table, ConsistentRead=True)["Items"]
    assert sorted(item["PK"]["S"] for item in stored) == ["ITEM#0", "ITEM#1", "ITEM#2"]


def test_a_fresh_table_is_empty(local_stack: LocalStack, fresh_table: str) -> None:
    ddb = local_stack.dynamodb_client()
    ddb.put_item(**put_request(fresh_table, "LEFTOVER"))

    local_stack.reset_table()

    assert ddb.scan(TableName=fresh_table, Select="COUNT")["Count"] == 0


def test_the_renewal_queue_redrives_to_its_dead_letter_queue(local_stack: LocalStack) -> None:
    sqs = boto3.client("sqs")
    dlq_arn = sqs.get_queue_attributes(
        QueueUrl=os.environ["RENEWAL_DLQ_URL"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=os.environ["RENEWAL_QUEUE_URL"], AttributeNames=["All"]
    )["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    queue = load_template()["Resources"]["RenewalQueue"]["Properties"]

    assert redrive["deadLetterTargetArn"] == dlq_arn
    assert int(redrive["maxReceiveCount"]) == queue["RedrivePolicy"]["maxReceiveCount"]
    assert int(attributes["VisibilityTimeout"]) == queue["VisibilityTimeout"]


def test_the_event_bus_exists_and_takes_events(local_stack: LocalStack) -> None:
    events = boto3.client("events")
    bus = events.describe_event_bus(Name=os.environ["EVENT_BUS_NAME"])
    result = events.put_events(
        Entries=[
            {
                "EventBusName": os.environ["EVENT_BUS_NAME"],
                "Source": "tenure",
                "DetailType": "SubscriptionRenewed",
                "Detail": json.dumps({"subscription": "sub-1"}),
            }
        ]
    )

    assert bus["Name"] == local_stack.event_bus_name
    assert result["FailedEntryCount"] == 0


def test_the_secrets_are_readable_through_the_endpoint_variables_alone(
    local_stack: LocalStack,
) -> None:
    secrets = boto3.client("secretsmanager")  # no endpoint_url: AWS_ENDPOINT_URL_* decides

    api_token = secrets.get_secret_value(SecretId=os.environ["API_TOKEN_SECRET_ARN"])
    webhook = secrets.get_secret_value(SecretId="tenure/local/stripe-webhook-secret")

    assert api_token["SecretString"] == os.environ["TENURE_API_TOKEN"]
    assert webhook["SecretString"] == os.environ["TENURE_STRIPE_WEBHOOK_SECRET"]
    assert secrets.meta.endpoint_url == os.environ["AWS_ENDPOINT_URL_SECRETS_MANAGER"]
    assert boto3.client("dynamodb").meta.endpoint_url == os.environ["AWS_ENDPOINT_URL_DYNAMODB"]


def test_every_service_endpoint_is_on_loopback(local_stack: LocalStack) -> None:
    urls = {key: value for key, value in local_stack.env.items() if "ENDPOINT_URL" in key}

    assert len(urls) == 10  # the catch-all, DynamoDB and the eight of MOTO_ENDPOINT_VARS
    assert all(url.startswith("http://127.0.0.1:") for url in urls.values())


def test_attaching_to_a_stack_state_file_gives_the_same_endpoints(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    state = local_stack.write_state(tmp_path / "stack.json")

    attached = LocalStack.attach(state)

    assert attached == local_stack.env


def test_the_state_file_named_by_tenure_stack_state_is_written_and_attached_to(
    local_stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    named = tmp_path / "elsewhere" / "stack.json"
    monkeypatch.setenv("TENURE_STACK_STATE", str(named))

    written = local_stack.write_state()

    assert written == named and named.exists()
    assert LocalStack.attach() == local_stack.env


def test_attaching_finds_nothing_when_no_stack_answers(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    stale = tmp_path / "stale.json"
    stale.write_text(
        json.dumps(
            {
                "env": {
                    "AWS_ENDPOINT_URL": dead,
                    "AWS_ENDPOINT_URL_DYNAMODB": dead,
                    "TABLE_NAME": "tenure-local",
                }
            }
        )
    )

    assert LocalStack.attach(stale) is None
    assert LocalStack.attach(tmp_path / "missing.json") is None


def test_raw_dynamodb_speed_is_measured_on_a_scratch_table_that_is_then_deleted(
    local_stack: LocalStack,
) -> None:
    ddb = local_stack.dynamodb_client()
    before = set(ddb.list_tables()["TableNames"])

    speed = raw_dynamodb_speed(local_stack, seconds=0.3, warmup=0.1)

    assert speed["conditional_puts_per_s"] > 0
    assert speed["transact_writes_per_s"] > 0
    assert speed["backend"] == local_stack.dynamodb_backend
    assert set(ddb.list_tables()["TableNames"]) == before


def test_without_java_dynamodb_falls_back_to_moto_with_a_warning(
    local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dynamodb_local, "java_available", lambda: False)
    session_endpoint = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    # Its own names: moto's backends are shared by every moto server in this process.
    stack = LocalStack(name=f"tenure-fallback-{uuid.uuid4().hex[:8]}")

    with pytest.warns(RuntimeWarning, match="moto instead of DynamoDB Local"):
        stack.start()
    try:
        stack.apply_env()
        ddb: Any = boto3.client("dynamodb")
        ddb.put_item(**put_request(stack.table_name, "CUSTOMER#bob"))
        with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
            ddb.put_item(**put_request(stack.table_name, "CUSTOMER#bob"))
        ddb.transact_write_items(
            TransactItems=[{"Put": put_request(stack.table_name, f"ITEM#{n}")} for n in range(3)]
        )
        indexes = ddb.describe_table(TableName=stack.table_name)["Table"]["GlobalSecondaryIndexes"]

        assert stack.dynamodb_backend == "moto"
        assert stack.dynamodb_local is None
        assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == os.environ["AWS_ENDPOINT_URL_SQS"]
        assert {gsi["IndexName"] for gsi in indexes} == {"GSI1", "DueIndex"}
        assert "moto instead of DynamoDB Local" in capsys.readouterr().err
    finally:
        stack.stop()

    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == session_endpoint


def with_the_stream(local_stack: LocalStack) -> dict[str, Any]:
    """The table as a stack made with the template's stream makes it (the tests' own stack
    leaves the stream out: tests/integration/conftest.py), described; the stack's table is
    made again as it was after."""
    was = local_stack.table_stream
    local_stack.table_stream = True
    try:
        local_stack.reset_table()
        table: dict[str, Any] = local_stack.dynamodb_client().describe_table(
            TableName=local_stack.table_name
        )["Table"]
        return table
    finally:
        local_stack.table_stream = was
        local_stack.reset_table()


def test_a_stack_made_without_the_stream_has_the_same_table_and_no_stream(
    local_stack: LocalStack,
) -> None:
    ddb = local_stack.dynamodb_client()
    with_stream = with_the_stream(local_stack)
    local_stack.table_stream = False
    local_stack.reset_table()
    table = ddb.describe_table(TableName=local_stack.table_name)["Table"]

    # (DynamoDB Local still names the stream of the table deleted under the same name.)
    assert "StreamSpecification" not in table
    assert "StreamSpecification" in with_stream
    assert table["KeySchema"] == with_stream["KeySchema"]
    assert [g["IndexName"] for g in table["GlobalSecondaryIndexes"]] == [
        g["IndexName"] for g in with_stream["GlobalSecondaryIndexes"]
    ]
    ttl = ddb.describe_time_to_live(TableName=local_stack.table_name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"


def test_a_simulation_starts_its_own_stack_without_the_stream(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tenure_local.simulator import engines
    from tenure_local.simulator.aws_timer import AwsTimer

    made: list[dict[str, Any]] = []

    class Recorded(LocalStack):
        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)
            raise RuntimeError("recorded")

    monkeypatch.setattr(engines, "LocalStack", Recorded)
    run = engines.RunSpec(out=tmp_path, timer=AwsTimer())
    with pytest.raises(RuntimeError, match="recorded"), engines.DynamoLocalEngine().open(run):
        pass

    assert made == [{"jvm_args": engines.SIMULATION_JVM_ARGS, "table_stream": False}]
