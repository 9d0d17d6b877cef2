"""On DynamoDB Local, the simulator's lean DynamoDB client answers and fails as boto3's does,
so the store cannot tell which of the two it runs on."""

import socket
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tenure_local.stack.ddb_wire import DynamoWireClient, DynamoWireError, operation_name
from tenure_local.stack.local_stack import LocalStack


def without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


@pytest.fixture
def clients(local_stack: LocalStack) -> tuple[Any, DynamoWireClient, str]:
    if local_stack.dynamodb_backend != "dynamodb-local":
        pytest.fail("these tests compare against DynamoDB Local: install Java 17")
    local_stack.reset_table()
    wire = DynamoWireClient(local_stack.env["AWS_ENDPOINT_URL_DYNAMODB"])
    return local_stack.dynamodb_client(), wire, local_stack.table_name


def item(pk: str, sk: str, **more: Any) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}, **more}


def test_reads_and_writes_answer_what_boto3_answers(
    clients: tuple[Any, DynamoWireClient, str],
) -> None:
    boto, wire, table = clients
    nested = {"M": {"lines": {"L": [{"N": "1250"}, {"S": "tax"}]}, "ok": {"BOOL": True}}}
    wire.put_item(TableName=table, Item=item("CUS#a", "CUS", data=nested, v={"N": "1"}))
    boto.put_item(TableName=table, Item=item("CUS#a", "INV#1", v={"N": "2"}))

    key = {"PK": {"S": "CUS#a"}, "SK": {"S": "CUS"}}
    assert wire.get_item(TableName=table, Key=key) == without_metadata(
        boto.get_item(TableName=table, Key=key)
    )
    query = {
        "TableName": table,
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "CUS#a"}},
    }
    assert wire.query(**query) == without_metadata(boto.query(**query))
    assert wire.query(**query)["Count"] == 2


def test_a_refused_condition_raises_the_code_boto3_raises(
    clients: tuple[Any, DynamoWireClient, str],
) -> None:
    boto, wire, table = clients
    wire.put_item(TableName=table, Item=item("SUB#1", "SUB", v={"N": "1"}))
    again = {
        "TableName": table,
        "Item": item("SUB#1", "SUB", v={"N": "2"}),
        "ConditionExpression": "attribute_not_exists(PK)",
    }

    with pytest.raises(ClientError) as by_wire:
        wire.put_item(**again)
    with pytest.raises(ClientError) as by_boto:
        boto.put_item(**again)

    assert by_wire.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert by_wire.value.response["Error"] == by_boto.value.response["Error"]
    kept = wire.get_item(TableName=table, Key={"PK": {"S": "SUB#1"}, "SK": {"S": "SUB"}})
    assert kept["Item"]["v"] == {"N": "1"}


def test_a_cancelled_transaction_carries_the_reasons_boto3_gives(
    clients: tuple[Any, DynamoWireClient, str],
) -> None:
    boto, wire, table = clients
    wire.put_item(TableName=table, Item=item("INV#1", "INV", v={"N": "3"}))
    request = {
        "TransactItems": [
            {"Put": {"TableName": table, "Item": item("INV#2", "INV")}},
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": {"PK": {"S": "INV#1"}, "SK": {"S": "INV"}},
                    "ConditionExpression": "v = :v",
                    "ExpressionAttributeValues": {":v": {"N": "2"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]
    }

    with pytest.raises(ClientError) as by_wire:
        wire.transact_write_items(**request)
    with pytest.raises(ClientError) as by_boto:
        boto.transact_write_items(**request)

    assert by_wire.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = by_wire.value.response["CancellationReasons"]
    assert reasons == by_boto.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert "Item" not in wire.get_item(
        TableName=table, Key={"PK": {"S": "INV#2"}, "SK": {"S": "INV"}}
    )


def test_a_request_dynamodb_refuses_raises_its_validation_error(
    clients: tuple[Any, DynamoWireClient, str],
) -> None:
    _, wire, table = clients

    with pytest.raises(ClientError) as refused:
        wire.get_item(TableName=table, Key={"PK": {"S": "only half a key"}})

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"]


class OneAnswerPerConnection:
    """A loopback server that answers each connection's first request with `body` and then
    closes it, as a server does with a kept-alive connection left idle too long."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.recv(65536)
                conn.sendall(
                    f"HTTP/1.1 {self.status} X\r\nContent-Length: {len(self.body)}\r\n"
                    "Content-Type: application/x-amz-json-1.0\r\n\r\n".encode()
                    + self.body
                )
                time.sleep(0.05)  # the client has read the answer before the close

    def close(self) -> None:
        self.sock.close()


def test_an_answer_that_is_not_dynamodb_json_is_named_as_such() -> None:
    server = OneAnswerPerConnection(502, b"<html>Bad Gateway</html>")
    try:
        with pytest.raises(DynamoWireError, match="HTTP 502"):
            DynamoWireClient(server.url).get_item(TableName="tbl", Key={"PK": {"S": "a"}})
    finally:
        server.close()


def test_a_kept_alive_connection_the_server_closed_is_opened_again() -> None:
    server = OneAnswerPerConnection(200, b'{"Item": {"PK": {"S": "a"}}}')
    wire = DynamoWireClient(server.url)
    try:
        first = wire.get_item(TableName="tbl", Key={"PK": {"S": "a"}})
        time.sleep(0.2)  # the server has closed the first connection
        second = wire.get_item(TableName="tbl", Key={"PK": {"S": "a"}})
    finally:
        server.close()

    assert first == second == {"Item": {"PK": {"S": "a"}}}
    assert server.connections == 2


def test_an_endpoint_other_than_plain_http_is_refused() -> None:
    with pytest.raises(ValueError, match="http://"):
        DynamoWireClient("https://dynamodb.us-east-1.amazonaws.com")


def test_a_method_name_is_sent_as_its_operation() -> None:
    assert operation_name("transact_write_items") == "TransactWriteItems"
    assert operation_name("get_item") == "GetItem"
