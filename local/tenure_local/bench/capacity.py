"""DynamoDB request accounting for the benches: every call a client makes, its item sizes,
the capacity units AWS would bill for it, and per-renewal summaries of them."""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import math
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from tenure.store.sizes import item_size
from tenure_local.stack.local_stack import LocalStack, wait_table_active
from tenure_local.stack.template import table_create_kwargs

KB = 1024
READ_UNIT = 4 * KB
# Operations that accept ReturnConsumedCapacity.
CAPACITY_OPS = frozenset(
    {
        "GetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
READ_OPS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})


# -- item sizes and capacity units -------------------------------------------------------------
def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT))
    return float(units) if consistent else units / 2


@dataclass
class Call:
    operation: str
    params: dict[str, Any] | None  # kept only when recording for a replay
    seconds: float
    reported: float  # ConsumedCapacity.CapacityUnits as DynamoDB Local returned it
    wcu: float  # our estimate, table and indexes
    index_wcu: float  # the part of `wcu` spent on global secondary indexes
    rcu: float
    items_read: int
    failed: bool = False
    step: str = ""  # which service functions and repository method made it


@functools.cache
def _repository_files() -> frozenset[str]:
    """The files DynamoRepository's code is in: store/dynamodb.py and the parts it is made of
    (store/table.py, reads.py, commit.py, ...)."""
    from tenure.store.dynamodb import DynamoRepository

    return frozenset(
        inspect.getfile(part)
        for part in DynamoRepository.__mro__
        if part.__module__.startswith("tenure.store.")
    )


def _step() -> str:
    """`process_due>collect_invoice get_invoice`: the call chain in tenure.services, then the
    repository method (outermost frame in DynamoRepository's files) that sent the request."""
    services: list[str] = []
    repo = ""
    repository = _repository_files()
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if path in repository:
            repo = frame.f_code.co_name
        elif os.path.join("tenure", "services") in path:
            services.append(frame.f_code.co_name)
        frame = frame.f_back  # type: ignore[assignment]
    if not services:  # e.g. the scheduler's shard queries, made from a thread pool
        services.append(f"({threading.current_thread().name.rstrip('_0123456789')} thread)")
    return f"{'>'.join(reversed(services))} {repo or '?'}"


@dataclass
class DynamoRecorder:
    """Wraps a client's _make_api_call: records every request, its real and estimated cost.

    It asks for ReturnConsumedCapacity="TOTAL" on every request that takes it, and keeps
    the last written image of each item (from every write it saw) so an overwrite is billed
    on the larger of the old and new item and index entries that move are billed twice.
    """

    table: str
    index_keys: dict[str, tuple[str, ...]]  # index name -> its key attributes
    keep_params: bool = False
    calls: list[Call] = field(default_factory=list)
    _items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def for_stack(cls, stack: LocalStack, table: str | None = None) -> DynamoRecorder:
        name = table or stack.table_name
        kwargs = table_create_kwargs(name, stack.template)
        indexes = {
            gsi["IndexName"]: tuple(k["AttributeName"] for k in gsi["KeySchema"])
            for gsi in kwargs.get("GlobalSecondaryIndexes", [])
        }
        return cls(name, indexes)

    def attach(self, client: Any) -> Any:
        call = client._make_api_call

        def recorded(operation: str, params: dict[str, Any]) -> Any:
            params = dict(params)
            if operation in CAPACITY_OPS:
                params.setdefault("ReturnConsumedCapacity", "TOTAL")
            kept = copy.deepcopy(params) if self.keep_params else None
            step = _step() if self.keep_params else ""
            writes = self._writes(operation, params)
            wcu = sum(w for w, _ in writes.values())
            index_wcu = sum(i for _, i in writes.values())
            began = time.perf_counter()
            try:
                response = call(operation, params)
            except ClientError:
                seconds = time.perf_counter() - began
                self.calls.append(
                    Call(operation, kept, seconds, 0.0, wcu, index_wcu, 0.0, 0, True, step)
                )
                raise
            seconds = time.perf_counter() - began
            for key, (item, _) in self._images(operation, params).items():
                if item is None:
                    self._items.pop(key, None)
                else:
                    self._items[key] = item
            rcu, read = self._reads(operation, params, response)
            self.calls.append(
                Call(
                    operation,
                    kept,
                    seconds,
                    _reported(response.get("ConsumedCapacity")),
                    wcu,
                    index_wcu,
                    rcu,
                    read,
                    step=step,
                )
            )
            return response

        client._make_api_call = recorded
        return client

    def mark(self) -> int:
        return len(self.calls)

    # -- estimates ---------------------------------------------------------------------------
    @staticmethod
    def _key(item: dict[str, Any]) -> tuple[str, str]:
        return str(item["PK"].get("S", "")), str(item.get("SK", {}).get("S", ""))

    def _images(
        self, operation: str, params: dict[str, Any]
    ) -> dict[tuple[str, str], tuple[dict[str, Any] | None, bool]]:
        """Key -> (new image or None when deleted, transactional) for each item written."""
        out: dict[tuple[str, str], tuple[dict[str, Any] | None, bool]] = {}
        if operation == "PutItem":
            out[self._key(params["Item"])] = (params["Item"], False)
        elif operation == "DeleteItem":
            out[self._key(params["Key"])] = (None, False)
        elif operation == "UpdateItem":
            # The new image is unknown: billed as an in-place change of the old one.
            key = self._key(params["Key"])
            out[key] = (self._items.get(key) or params["Key"], False)
        elif operation == "BatchWriteItem":
            for request in params["RequestItems"].get(self.table, []):
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    out[self._key(item)] = (item, False)
                else:
                    out[self._key(request["DeleteRequest"]["Key"])] = (None, False)
        elif operation == "TransactWriteItems":
            for op in params["TransactItems"]:
                if "Put" in op:
                    out[self._key(op["Put"]["Item"])] = (op["Put"]["Item"], True)
                elif "Delete" in op:
                    out[self._key(op["Delete"]["Key"])] = (None, True)
                elif "Update" in op:
                    key = self._key(op["Update"]["Key"])
                    out[key] = (self._items.get(key) or op["Update"]["Key"], True)
        return out

    def _writes(self, operation: str, params: dict[str, Any]) -> dict[Any, tuple[float, float]]:
        """Key -> (WCU, of which on indexes) for each item the request writes."""
        out: dict[Any, tuple[float, float]] = {}
        for key, (new, transactional) in self._images(operation, params).items():
            out[key] = self._cost(self._items.get(key), new, transactional)
        if operation == "TransactWriteItems":
            for op in params["TransactItems"]:
                if "ConditionCheck" in op:  # a transactional read of one item
                    cc_key = self._key(op["ConditionCheck"]["Key"])
                    size = item_size(self._items.get(cc_key))
                    out[("check", cc_key)] = (2.0 * write_units(size), 0.0)
        return out

    def _cost(
        self, old: dict[str, Any] | None, new: dict[str, Any] | None, transactional: bool
    ) -> tuple[float, float]:
        """(WCU, of which on indexes) to turn item image `old` into `new` (None: absent)."""
        size = max(item_size(new), item_size(old))
        table = write_units(size) * (2 if transactional else 1)
        index = 0
        for attrs in self.index_keys.values():
            # Every index projects ALL attributes (template.yaml), so an entry is the item.
            old_in = old is not None and all(a in old for a in attrs)
            new_in = new is not None and all(a in new for a in attrs)
            if old is not None and old == new:
                continue  # an identical overwrite changes no index entry
            if old_in and new_in and old is not None and new is not None:
                moved = any(old[a] != new[a] for a in attrs)
                index += (
                    write_units(item_size(old)) + write_units(item_size(new))
                    if moved
                    else write_units(item_size(new))
                )
            elif new_in:
                index += write_units(item_size(new))
            elif old_in:
                index += write_units(item_size(old))
        return float(table + index), float(index)

    def images(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The last image of every item written so far: what `write_floor` starts from."""
        return dict(self._items)

    def write_floor(
        self, before: dict[tuple[str, str], dict[str, Any]], calls: list[Call]
    ) -> tuple[float, float]:
        """(WCU, of which on indexes) that the changes `calls` made would cost if every item
        they change were written once, in one transaction, from its image in `before` to its
        last: the floor for the items as they are. Writing an item twice (a claim, then its
        settle) and condition checks are above it. `calls` must have kept their params."""
        last: dict[tuple[str, str], dict[str, Any] | None] = {}
        updated: set[tuple[str, str]] = set()
        for call in calls:
            if call.failed or call.params is None:
                continue
            for key, (image, _) in self._images(call.operation, call.params).items():
                last[key] = image
            updated |= self._updated(call.operation, call.params)
        wcu = index = 0.0
        for key, image in last.items():
            # An Update's new image is unknown here (it reads as the old one), yet it changed
            # the item (a number counter moved): it is in the floor, unlike a put of the same.
            if before.get(key) == image and key not in updated:
                continue  # written back as it was: a floor changes nothing there
            w, i = self._cost(before.get(key), image, transactional=True)
            wcu, index = wcu + w, index + i
        return wcu, index

    def _updated(self, operation: str, params: dict[str, Any]) -> set[tuple[str, str]]:
        """Keys of the items `params` change with an Update expression."""
        if operation == "UpdateItem":
            return {self._key(params["Key"])}
        if operation == "TransactWriteItems":
            return {
                self._key(op["Update"]["Key"]) for op in params["TransactItems"] if "Update" in op
            }
        return set()

    def wcu_by_item(
        self, before: dict[tuple[str, str], dict[str, Any]], calls: list[Call], per: int
    ) -> dict[str, list[float]]:
        """`<request's step> <item kind>` -> [WCU, of which on indexes] per `per`: the same
        estimate as each call's, item by item, replayed from the images in `before`. What
        a docs table of "where a renewal's capacity goes" is made from."""
        images = dict(before)
        out: dict[str, list[float]] = {}
        for call in calls:
            if call.failed or call.params is None:
                continue
            # The service step that made it (`_claim`, `_settle`), past the plumbing.
            chain = call.step.split(" ")[0].split(">")
            plumbing = ("write", "commit_with_notices", "commit")
            step = next((f for f in reversed(chain) if f not in plumbing), chain[-1])
            costs: list[tuple[tuple[str, str], float, float]] = []
            for key, (image, transactional) in self._images(call.operation, call.params).items():
                w, i = self._cost(images.get(key), image, transactional)
                costs.append((key, w, i))
                if image is None:
                    images.pop(key, None)
                else:
                    images[key] = image
            for op in call.params.get("TransactItems", []):
                if "ConditionCheck" in op:
                    key = self._key(op["ConditionCheck"]["Key"])
                    units = 2.0 * write_units(item_size(images.get(key)))
                    costs.append(((f"check {key[0]}", key[1]), units, 0.0))
            for key, w, i in costs:
                label = f"{step} {item_kind(*key)}"
                total = out.setdefault(label, [0.0, 0.0])
                total[0] += w / per
                total[1] += i / per
        return out

    def _reads(
        self, operation: str, params: dict[str, Any], response: dict[str, Any]
    ) -> tuple[float, int]:
        """(RCU, items read) for a read request."""
        consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
        if operation == "GetItem":
            item = response.get("Item")
            return read_units(item_size(item), consistent), 1 if item else 0
        if operation in ("Query", "Scan"):
            # No request of Tenure filters, so the items returned are the items read.
            size = sum(item_size(i) for i in response.get("Items", []))
            return read_units(size, consistent), int(response.get("ScannedCount", 0))
        if operation == "BatchGetItem":
            items = response.get("Responses", {}).get(self.table, [])
            return sum(read_units(item_size(i), False) for i in items), len(items)
        if operation == "TransactGetItems":
            items = [r.get("Item") for r in response.get("Responses", [])]
            return sum(2 * read_units(item_size(i), True) for i in items), sum(
                1 for i in items if i
            )
        return 0.0, 0


def item_kind(pk: str, sk: str) -> str:
    """A readable kind for an item key: its partition's prefix, and its sort key's where the
    partition holds several kinds (`INV CHG`, `CUS CUS`)."""
    check, _, pk = pk.rpartition(" ")
    kind = pk.split("#", 1)[0]
    sub = sk.split("#", 1)[0]
    if sub and sub != kind and kind not in ("EVT", "MRR"):
        kind = f"{kind} {sub}"
    return f"{check} {kind}".strip()


def _reported(consumed: Any) -> float:
    if isinstance(consumed, dict):
        consumed = [consumed]
    return float(sum(float(c.get("CapacityUnits", 0.0)) for c in consumed or []))


def read_unit_figures(calls: list[Call], per: int) -> dict[str, Any]:
    """RCU per `per`: DynamoDB Local's figure for each read, which follows AWS's rules (whole
    index items count even behind a ProjectionExpression, which our estimate cannot see);
    where it reports 0 (a query that found nothing) AWS's minimum, from our estimate. A
    backend that reports nothing at all (moto) gets our estimate throughout."""
    reads = [c for c in calls if c.operation in READ_OPS]
    estimate = sum(c.rcu for c in reads)
    reported = sum(c.reported for c in reads)
    if not reported:
        return {"rcu_per_renewal": estimate / per, "rcu_source": "estimate"}
    return {
        "rcu_per_renewal": sum(c.reported or c.rcu for c in reads) / per,
        "rcu_source": "dynamodb-local",
        "rcu_estimate_per_renewal": estimate / per,
        "reported_rcu_per_renewal": reported / per,
    }


def request_summary(calls: list[Call], per: int) -> dict[str, Any]:
    per = max(per, 1)
    by_op = Counter(c.operation for c in calls)
    by_step = Counter(f"{c.operation} {c.step}" for c in calls)
    return {
        "requests": len(calls),
        "requests_per_renewal": len(calls) / per,
        "by_operation": {op: n / per for op, n in sorted(by_op.items(), key=lambda x: -x[1])},
        "by_operation_total": dict(by_op),
        "by_step": {step: n / per for step, n in sorted(by_step.items(), key=lambda x: -x[1])},
        "wcu_per_renewal": sum(c.wcu for c in calls) / per,
        "index_wcu_per_renewal": sum(c.index_wcu for c in calls) / per,
        **read_unit_figures(calls, per),
        "reported_wcu_per_renewal": sum(c.reported for c in calls if c.operation not in READ_OPS)
        / per,
        "failed_requests": sum(1 for c in calls if c.failed),
        "dynamodb_seconds": sum(c.seconds for c in calls),
    }


class ScratchTable(NamedTuple):
    """A bench's own table on the local stack: `admin` loads and resets it unseen, while
    what goes through `client` is counted by `recorder`."""

    name: str
    admin: Any
    client: Any
    recorder: DynamoRecorder


@contextlib.contextmanager
def scratch_table(stack: LocalStack, label: str) -> Iterator[ScratchTable]:
    """A fresh table with the template's schema, named after the stack and `label`, and
    deleted afterwards whatever happens, so a failed bench leaves no table behind."""
    import boto3

    name = f"{stack.name}-{label}-{uuid.uuid4().hex[:8]}"
    admin = stack.dynamodb_client()
    admin.create_table(**table_create_kwargs(name, stack.template))
    try:
        wait_table_active(admin, name)
        recorder = DynamoRecorder.for_stack(stack, name)
        client = recorder.attach(
            boto3.client(
                "dynamodb",
                endpoint_url=stack.env["AWS_ENDPOINT_URL_DYNAMODB"],
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
        )
        yield ScratchTable(name, admin, client, recorder)
    finally:
        with contextlib.suppress(ClientError):
            admin.delete_table(TableName=name)


@dataclass(slots=True)
class TableGrowth:
    """A scratch table filled toward each size a bench measures at, chunk by chunk, within a
    load budget: once a first size is measured, a chunk that would end after the budget is
    not started, and the next size is measured at what was loaded (its row's `short_of`)."""

    chunk: int
    budget_s: float
    loaded: int = 0
    seconds: float = 0.0  # spent loading so far
    items_written: int = 0
    last_chunk_s: float = 0.0

    def grow_to(self, size: int, write: Callable[[int, int], int], measured: bool) -> None:
        """Load toward `size` with `write(count, first)`, which returns the items it wrote;
        `measured` says a first size was measured already, so the budget applies."""
        while self.loaded < size:
            count = min(self.chunk, size - self.loaded)
            if measured and self.seconds + self.last_chunk_s * count / self.chunk > self.budget_s:
                break  # the next chunk would not fit: measure at what is loaded
            began = time.perf_counter()
            self.items_written += write(count, self.loaded)
            self.last_chunk_s = time.perf_counter() - began
            self.seconds += self.last_chunk_s
            self.loaded += count
