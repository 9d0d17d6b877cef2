"""Erasure's records on the table (docs/privacy.md): the DynamoDB side of the PrivacyStore
port, mixed into DynamoRepository.

The legal hold is its own item (`HOLD#<customer>`/`HOLD`), apart from the customer's
partition, so that no listing of the customer's records ever returns it. Events and audit
entries are written once by commits (`attribute_not_exists`); an erasure rewrites their
text in place, on the condition that they exist, so it can never create one.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tenure.domain.audit import AuditEntry
from tenure.domain.privacy import LegalHold
from tenure.domain.timeutil import iso, parse_iso
from tenure.store.codec import audit_to_attrs, to_item


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
            # The filter spares the transfer of other customers' events, not their reads.
            for item in self._query(
                KeyConditionExpression="PK = :pk",
                FilterExpression="#e.customer_id = :c",
                ExpressionAttributeNames={"#e": "event"},
                ExpressionAttributeValues=to_item({":pk": f"EVT#{day}", ":c": customer_id}),
                ConsistentRead=True,
            ):
                event = item["event"]
                if event.get("customer_id") == customer_id:
                    found.append(event)
        return found

    def rewrite_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            occurred = str(event["occurred_at"])
            self._ddb.update_item(
                TableName=self._table,
                Key=to_item({"PK": f"EVT#{occurred[:10]}", "SK": f"{occurred}#{event['id']}"}),
                UpdateExpression="SET #e = :e",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={"#e": "event"},
                ExpressionAttributeValues=to_item({":e": event}),
            )

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
