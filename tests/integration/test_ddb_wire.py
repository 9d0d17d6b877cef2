"""On DynamoDB Local, the simulator's lean DynamoDB client answers and fails as boto3's does,
so the store cannot tell which of the two it runs on."""

import io
import socket
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tenure_local.stack.ddb_wire import (
    DynamoWireClient,
    DynamoWireError,
    NoAnswerError,
    operation_name,
    read_answer,
)
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


# -- the HTTP/1.1 the client speaks (loopback servers and recorded answers, no DynamoDB) -------
def answer(raw: bytes) -> tuple[int, bytes, bool]:
    return read_answer(io.BytesIO(raw))


def test_an_answer_sized_by_its_length_keeps_the_connection() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: x\r\n\r\n{}extra"
    assert answer(raw) == (200, b"{}", False)


def test_a_chunked_answer_is_read_whole() -> None:
    raw = (
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"a":\r\n3;ext=1\r\n 1}\r\n0\r\nTrailer: x\r\n\r\n'
    )
    assert answer(raw) == (400, b'{"a": 1}', False)


def test_an_answer_that_closes_its_connection_says_so() -> None:
    assert answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")[2]
    assert answer(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")[2]
    kept = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
    assert not answer(kept)[2]
    # Neither a length nor chunks: the answer ends with the connection.
    assert answer(b"HTTP/1.1 200 OK\r\n\r\n{}") == (200, b"{}", True)


def test_an_answer_that_never_has_a_body_is_not_waited_for() -> None:
    # A kept-alive connection would never end: reading to its end would hang.
    assert answer(b"HTTP/1.1 204 No Content\r\n\r\nnext answer") == (204, b"", False)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"SSH-2.0-OpenSSH\r\n", "not an HTTP answer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", "cut short: 2 of 10"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", "within an answer's headers"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{}", "chunked answer cut"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n", "within a chunked"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n", "longer than 64 KiB"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", "no length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "no size"),
    ],
)
def test_an_answer_that_is_not_whole_http_is_refused(raw: bytes, problem: str) -> None:
    with pytest.raises(DynamoWireError, match=problem):
        answer(raw)


def test_no_answer_at_all_is_told_apart() -> None:
    with pytest.raises(NoAnswerError):
        answer(b"")


class Scripted:
    """A loopback server that plays, on its n-th connection, the n-th list of raw answers,
    one per request received, then closes that connection."""

    def __init__(self, *connections: list[bytes]) -> None:
        self.scripts = list(connections)
        self.requests = 0
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        for script in self.scripts:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                for raw in script:
                    if not conn.recv(65536):
                        break
                    self.requests += 1
                    conn.sendall(raw)
                time.sleep(0.05)

    def close(self) -> None:
        self.sock.close()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"


def test_a_connection_the_server_closes_after_its_answer_is_not_used_again() -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
    server = Scripted([closing, OK], [OK])
    wire = DynamoWireClient(server.url)
    try:
        assert wire.get_item(TableName="t") == {}
        assert wire.get_item(TableName="t") == {}  # on a new connection, not the closed one
    finally:
        server.close()
    assert (server.connections, server.requests) == (2, 2)


def test_a_connection_lost_within_an_answer_is_raised_not_sent_again() -> None:
    # The request may have been carried out: sending it again could write twice.
    server = Scripted([OK, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{"], [OK])
    wire = DynamoWireClient(server.url)
    try:
        wire.get_item(TableName="t")
        with pytest.raises(DynamoWireError, match="cut short"):
            wire.put_item(TableName="t")
        assert wire.get_item(TableName="t") == {}  # the next call opens a new connection
    finally:
        server.close()
    assert (server.connections, server.requests) == (2, 3)


def test_a_new_connection_closed_before_any_answer_is_raised() -> None:
    server = Scripted([b""])
    wire = DynamoWireClient(server.url)
    try:
        with pytest.raises(NoAnswerError):
            wire.get_item(TableName="t")
    finally:
        server.close()
    assert server.connections == 1
