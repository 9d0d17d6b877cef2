"""The ids the local runtime gives each invocation and HTTP request (Lambda's aws_request_id,
API Gateway's requestId): UUID-shaped, never repeated, in one process or across the worker
processes `tenure serve --workers` forks."""

import subprocess
import sys
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


# Forked in an interpreter of its own, which has no other thread: a pytest-xdist worker has
# several (execnet's, and what earlier tests left running), and a fork there may leave the
# child waiting for ever on a lock one of them held (Python 3.12 warns so), with the test
# reading its pipe for ever. The bound turns any such wait into a failure.
_FORKED = """
import os
from tenure_local.runtime import functions

functions.request_id()  # the parent has drawn some before it forks
reader, writer = os.pipe()
child = os.fork()
if child == 0:
    os.close(reader)
    os.write(writer, "\\n".join(functions.request_id() for _ in range(100)).encode())
    os._exit(0)
os.close(writer)
with os.fdopen(reader) as pipe:
    from_child = pipe.read()
os.waitpid(child, 0)
print(from_child)
print("parent")
print("\\n".join(functions.request_id() for _ in range(100)))
"""


def test_a_forked_worker_draws_ids_of_its_own() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FORKED], capture_output=True, text=True, timeout=60, check=True
    )
    child, parent = done.stdout.split("parent\n")
    from_child, from_parent = set(child.split()), set(parent.split())
    assert len(from_child) == 100 and len(from_parent) == 100
    assert not from_child & from_parent
