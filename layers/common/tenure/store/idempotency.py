"""Idempotency records on the table (the API's Idempotency-Key, docs/api.md): claimed,
completed, released, and forgotten with an erased customer."""

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from tenure.domain.timeutil import iso
from tenure.ports import IdempotencyRecord
from tenure.store.codec import to_item
from tenure.store.table import DynamoTable, failed_condition

IDEMPOTENCY_TTL = timedelta(hours=24)
# Claims of a key that each find it taken and then released before they read its holder.
_CLAIM_TRIES = 3


class DynamoIdempotency(DynamoTable):
    """Idempotency records, kept IDEMPOTENCY_TTL."""

    # -- idempotency records (API Idempotency-Key) ------------------------------------------
    def claim_idempotency(
        self, key: str, fingerprint: str, now: datetime
    ) -> IdempotencyRecord | None:
        """Claim `key`. Returns None when claimed now, else the record that holds it."""
        item = {
            "PK": f"IDEM#{key}",
            "SK": "IDEM",
            "entity": "idempotency",
            "fingerprint": fingerprint,
            "status": "in_progress",
            "expires_at": int((now + IDEMPOTENCY_TTL).timestamp()),
        }
        for _ in range(_CLAIM_TRIES):
            try:
                self._ddb.put_item(
                    TableName=self._table,
                    Item=to_item(item),
                    ConditionExpression="attribute_not_exists(PK) OR expires_at < :now",
                    ExpressionAttributeValues=to_item({":now": int(now.timestamp())}),
                )
                return None
            except ClientError as exc:
                if not failed_condition(exc):
                    raise
            existing = self._get(f"IDEM#{key}", "IDEM")
            if existing is not None:
                return IdempotencyRecord(
                    key,
                    existing.get("fingerprint", ""),
                    existing.get("status", ""),
                    existing.get("response"),
                )
            # Released between the put and the read (its request wrote nothing): claim again.
        # Released and claimed again each time: the key is busy, as if in progress (409, retry).
        return IdempotencyRecord(key, fingerprint, "in_progress", None)

    def complete_idempotency(
        self, key: str, response: dict[str, Any], now: datetime, customer_id: str | None = None
    ) -> None:
        expression = "SET #s = :done, #r = :response"
        values: dict[str, Any] = {":done": "done", ":response": response}
        if customer_id is not None:
            # Under the customer in GSI1 (in the same write), for their erasure to find it;
            # every read of a customer's GSI1 partition names its own prefix, so none sees it.
            expression += ", GSI1PK = :cus, GSI1SK = :idem"
            values |= {":cus": f"CUS#{customer_id}", ":idem": f"IDEM#{iso(now)}#{key}"}
        self._ddb.update_item(
            TableName=self._table,
            Key=to_item({"PK": f"IDEM#{key}", "SK": "IDEM"}),
            UpdateExpression=expression,
            ExpressionAttributeNames={"#s": "status", "#r": "response"},
            ExpressionAttributeValues=to_item(values),
        )

    def release_idempotency(self, key: str) -> None:
        self._ddb.delete_item(
            TableName=self._table, Key=to_item({"PK": f"IDEM#{key}", "SK": "IDEM"})
        )

    def forget_idempotency(self, customer_id: str) -> int:
        forgotten = 0
        for item in list(self._gsi1(f"CUS#{customer_id}", "IDEM#")):
            try:
                # Out of the index too, so a second erasure reads none of them again. Only
                # while it exists: an expired record is not brought back.
                self._ddb.update_item(
                    TableName=self._table,
                    Key=to_item({"PK": item["PK"], "SK": item["SK"]}),
                    UpdateExpression="SET #s = :erased REMOVE #r, GSI1PK, GSI1SK",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeNames={"#s": "status", "#r": "response"},
                    ExpressionAttributeValues=to_item({":erased": "erased"}),
                )
                forgotten += 1
            except ClientError as exc:
                if not failed_condition(exc):
                    raise
        return forgotten
