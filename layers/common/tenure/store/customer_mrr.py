"""The customers' MRR state on the table, kept with each MRR ledger entry a commit writes."""

from typing import Any

from tenure.domain.events import MrrLedgerEntry
from tenure.domain.timeutil import iso
from tenure.store.codec import to_item
from tenure.store.table import DynamoTable, day_text


class DynamoCustomerMrr(DynamoTable):
    """The ledger's items and the customers' MRR records a commit writes with them."""

    @staticmethod
    def _ledger_item(entry: MrrLedgerEntry, n: int) -> dict[str, Any]:
        return {
            "PK": f"MRR#{day_text(entry.at)}",
            "SK": f"{iso(entry.at)}#{entry.subscription_id}#{entry.after}#{n}",
        } | entry.to_dict()

    def _ledger_ops(
        self, ledger: list[MrrLedgerEntry], read_ahead: dict[str, dict[str, Any] | None]
    ) -> list[dict[str, Any]]:
        """The ledger entries stamped with their customers' facts, and each customer's MRR
        state after them, written on the condition that it has not moved since read.

        Only commits that change a subscription's MRR pay the one batch read this costs
        (a renewal at an unchanged price writes no ledger entry), and not even that when
        the change brings the state a read fetched (`read_ahead`: Commit.mrr_read)."""
        if not ledger:
            return []
        # Imported here: only commits that move MRR need it (its nine dataclasses cost a
        # cold start about 4 ms).
        from tenure.domain.mrr import CustomerMrr, record_entries

        ids = list(dict.fromkeys(e.customer_id for e in ledger))
        unread = [cid for cid in ids if cid not in read_ahead]
        items = self._batch_get([(f"CUS#{cid}", "MRR") for cid in unread]) if unread else []
        found = {i["PK"].removeprefix("CUS#"): i for i in items}
        found |= {cid: item for cid in ids if (item := read_ahead.get(cid)) is not None}
        states = {cid: CustomerMrr.from_dict(item["data"]) for cid, item in found.items()}
        stamped = record_entries(ledger, states)
        ops = [
            self._create_put(self._ledger_item(entry, n), "mrr_ledger")
            for n, entry in enumerate(stamped)
        ]
        for cid in ids:
            state = states[cid]
            item = {"PK": f"CUS#{cid}", "SK": "MRR", "entity": "customer_mrr", "id": cid}
            put: dict[str, Any] = {
                "TableName": self._table,
                "Item": to_item(item | {"seq": state.seq, "data": state.to_dict()}),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
            if cid in found:
                put["ConditionExpression"] = "seq = :seq"
                put["ExpressionAttributeValues"] = to_item({":seq": found[cid]["seq"]})
            ops.append({"Put": put})
        return ops
