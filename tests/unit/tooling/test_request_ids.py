"""The ids the local runtime gives each invocation and HTTP request (Lambda's aws_request_id,
API Gateway's requestId): UUID-shaped, never repeated, in one process or across the worker
processes `tenure serve --workers` forks."""

import os
import uuid

from tenure_local.runtime import functions


def test_request_ids_are_uuid_shaped_and_never_repeat() -> None:
    ids = [functions.request_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    for found in ids[:3] + ids[-3:]:
        assert str(uuid.UUID(found)) == found


def test_each_invocation_and_request_gets_its_own_id() -> None:
    first = functions.http_event("POST", "/webhooks/stripe", raw_body=b"{}")
    second = functions.http_event("POST", "/webhooks/stripe", raw_body=b"{}")
    assert first["requestContext"]["requestId"] != second["requestContext"]["requestId"]
    assert first["queryStringParameters"] is None


def test_a_forked_worker_draws_ids_of_its_own() -> None:
    functions.request_id()  # the parent has drawn some before it forks
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(reader)
        os.write(writer, "\n".join(functions.request_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        from_child = set(pipe.read().split("\n"))
    os.waitpid(child, 0)
    from_parent = {functions.request_id() for _ in range(100)}
    assert len(from_child) == 100 and not from_child & from_parent
