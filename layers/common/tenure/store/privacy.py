"""Erasure's records on the table (docs/privacy.md): the DynamoDB side of the PrivacyStore
port, mixed into DynamoRepository.

The legal hold is its own item (`HOLD#<customer>`/`HOLD`), apart from the customer's
partition, so that no listing of the customer's records ever returns it. Events and audit
entries are written once by commits (`attribute_not_exists`); an erasure rewrites their
text in place, on the condition that they exist, so it can never create one.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tenure.domain.audit import AuditEntry
from tenure.domain.privacy import LegalHold
from tenure.domain.timeutil import iso, parse_iso
from tenure.store.codec import audit_to_attrs, to_item
from tenure.store.event_items import event_pk, event_sk, unpack
from tenure.store.table import failed_condition


def legal_hold_to_attrs(hold: LegalHold) -> dict[str, Any]:
    return {
        "customer_id": hold.customer_id,
        "erased_at": iso(hold.erased_at),
        "name": hold.name,
        "address": hold.address,
        "tax_id": hold.tax_id,
        "invoices": list(hold.invoices),
        "credit_notes": list(hold.credit_notes),
    }


def legal_hold_from_attrs(a: dict[str, Any]) -> LegalHold:
    return LegalHold(
        customer_id=a["customer_id"],
        erased_at=parse_iso(a["erased_at"]),
        name=a.get("name"),
        address=a.get("address"),
        tax_id=a.get("tax_id"),
        invoices=tuple(a.get("invoices") or ()),
        credit_notes=tuple(a.get("credit_notes") or ()),
    )


class DynamoPrivacy:
    """The PrivacyStore role of DynamoRepository (which gives `_ddb`, `_table`, `_get` and
    `_query`)."""

    _ddb: Any
    _table: str

    if TYPE_CHECKING:  # DynamoRepository's own

        def _get(self, pk: str, sk: str) -> dict[str, Any] | None: ...
        def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]: ...

    def save_legal_hold(self, hold: LegalHold) -> None:
        item = legal_hold_to_attrs(hold) | {
            "PK": f"HOLD#{hold.customer_id}",
            "SK": "HOLD",
            "entity": "legal_hold",
        }
        self._ddb.put_item(TableName=self._table, Item=to_item(item))

    def get_legal_hold(self, customer_id: str) -> LegalHold | None:
        item = self._get(f"HOLD#{customer_id}", "HOLD")
        return legal_hold_from_attrs(item) if item else None

    def customer_events(self, customer_id: str, days: list[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for day in sorted(set(days)):
            # The filter spares the transfer of other customers' events, not their reads; an
            # item of several events (store/event_items.py) is sorted out here.
            for item in self._query(
                KeyConditionExpression="PK = :pk",
                FilterExpression="#e.customer_id = :c OR attribute_exists(#es)",
                ExpressionAttributeNames={"#e": "event", "#es": "events"},
                ExpressionAttributeValues=to_item({":pk": f"EVT#{day}", ":c": customer_id}),
                ConsistentRead=True,
            ):
                found.extend(
                    event for event, _ in unpack(item) if event.get("customer_id") == customer_id
                )
        return found

    def rewrite_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            occurred, event_id = str(event["occurred_at"]), str(event["id"])
            try:
                self._ddb.update_item(
                    TableName=self._table,
                    Key=to_item({"PK": event_pk(occurred), "SK": event_sk(occurred, event_id)}),
                    UpdateExpression="SET #e = :e",
                    # An item of several events keyed by this one holds no `event`.
                    ConditionExpression="attribute_exists(#e)",
                    ExpressionAttributeNames={"#e": "event"},
                    ExpressionAttributeValues=to_item({":e": event}),
                )
            except ClientError as exc:
                if not failed_condition(exc):
                    raise
                self._rewrite_shared(event)

    def _rewrite_shared(self, event: dict[str, Any]) -> None:
        """Rewrite `event` where it is one of an item's several events (keyed by the first,
        at the same moment); as in place, on the condition that it is still there."""
        occurred, event_id = str(event["occurred_at"]), str(event["id"])
        for item in self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :moment)",
            ExpressionAttributeValues=to_item(
                {":pk": event_pk(occurred), ":moment": f"{occurred}#"}
            ),
            ConsistentRead=True,
        ):
            ids = [str(body.get("id")) for body in item.get("events") or []]
            if event_id not in ids:
                continue
            at = ids.index(event_id)
            self._ddb.update_item(
                TableName=self._table,
                Key=to_item({"PK": item["PK"], "SK": item["SK"]}),
                UpdateExpression=f"SET #es[{at}] = :e",
                ConditionExpression=f"#es[{at}].id = :id",
                ExpressionAttributeNames={"#es": "events"},
                ExpressionAttributeValues=to_item({":e": event, ":id": event_id}),
            )
            return
        raise LookupError(f"event {event_id} is not stored")

    def rewrite_audit(self, entries: list[AuditEntry]) -> None:
        for entry in entries:
            attrs = audit_to_attrs(entry)
            sk = f"AUDIT#{entry.order}"
            # Both copies: the entity's (listed per customer through GSI1) and the actor's.
            for pk in (f"AUDIT#{entry.entity}", f"ACTOR#{entry.actor}"):
                self._ddb.update_item(
                    TableName=self._table,
                    Key=to_item({"PK": pk, "SK": sk}),
                    UpdateExpression="SET #n = :n, #b = :b, #a = :a",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeNames={"#n": "note", "#b": "before", "#a": "after"},
                    ExpressionAttributeValues=to_item(
                        {":n": attrs["note"], ":b": attrs["before"], ":a": attrs["after"]}
                    ),
                )
