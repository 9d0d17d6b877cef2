"""The operations DynamoRepository.commit puts into its transaction beside the entities'
own puts: email index moves, due keys, payer copies and checks, redemptions, points,
listings, late records, copy checks and audit entries."""

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tenure.domain.audit import AuditEntry
from tenure.domain.customers import Contact, Payer
from tenure.domain.installments import InstallmentPlan
from tenure.domain.invoices import Invoice
from tenure.domain.points import KIND_RANK, PointsMove
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import iso
from tenure.ports import CopyCheck, EmailMove, Redemption
from tenure.store import codec
from tenure.store.codec import from_item, to_item
from tenure.store.table import WORK_DUE, DynamoTable, due_shard, email_entry


class DynamoCommitOps(DynamoTable):
    """Builders of a commit's transaction operations (each a dict for TransactWriteItems)."""

    def _email_move_ops(self, move: EmailMove) -> list[dict[str, Any]]:
        """Unconditional: the old entry may be missing (a customer created before the index,
        never backfilled) and the new one may be there (backfilled already); either way the
        index ends as the customer's record says. A change of case alone moves nothing (one
        transaction cannot delete and put the same item)."""
        old = move.old.lower() if move.old is not None else None
        new = move.new.lower() if move.new is not None else None
        if old == new:
            return []
        ops: list[dict[str, Any]] = []
        if old:
            entry = email_entry(old, move.customer_id)
            key = {"PK": entry["PK"], "SK": entry["SK"]}
            ops.append({"Delete": {"TableName": self._table, "Key": to_item(key)}})
        if new:
            item = email_entry(new, move.customer_id) | {"entity": "email_index"}
            ops.append({"Put": {"TableName": self._table, "Item": to_item(item)}})
        return ops

    @staticmethod
    def _due_keys(
        entity_id: str, due: tuple[datetime, str] | None, prefix: str = WORK_DUE
    ) -> dict[str, str]:
        if due is None:
            return {}
        return {
            "DuePK": f"{prefix}#{due_shard(entity_id)}",
            "DueSK": f"{iso(due[0])}#{due[1]}#{entity_id}",
        }

    def _payer_copy(self, subscription_id: str, payer: Payer) -> dict[str, Any]:
        """Set a subscription's copy of its customer's payment details and move its version,
        whatever version it is at (a card change never waits for a renewal, nor fails one
        that has claimed: that one charged the card it checked)."""
        values = {
            ":pm": payer.payment_method,
            ":pc": payer.provider_customer_id,
            ":one": 1,
            ":cid": payer.customer_id,
        }
        # The provider is an attribute only when chosen (the default provider's items stay
        # as they were): set, or removed.
        if payer.provider is not None:
            values[":pv"] = payer.provider
            provider = ", provider = :pv "
        else:
            provider = " REMOVE provider "
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"PK": f"SUB#{subscription_id}", "SK": "SUB"}),
                "UpdateExpression": "SET payment_method = :pm, provider_customer_id = :pc"
                f"{provider}ADD version :one",
                "ConditionExpression": "attribute_exists(PK) AND customer_id = :cid",
                "ExpressionAttributeValues": to_item(values),
            }
        }

    def _redemption(self, redemption: Redemption) -> dict[str, Any]:
        """Count one redemption, in the same transaction as the discount it gives, only while
        the coupon is under its maximum: racing commits cannot both take the last one."""
        condition = "attribute_exists(PK)"
        values: dict[str, Any] = {":one": 1}
        if redemption.max_redemptions is not None:
            condition += " AND times_redeemed < :most"
            values[":most"] = redemption.max_redemptions
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"PK": f"COUPON#{redemption.coupon_id}", "SK": "COUPON"}),
                "UpdateExpression": "ADD times_redeemed :one, version :one",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": to_item(values),
            }
        }

    def _points_ops(self, moves: list[PointsMove]) -> list[dict[str, Any]]:
        """Each customer's account moved once (a transaction touches an item once: the moves
        of one customer are added up, their conditions too), and each entry written once."""
        ops: list[dict[str, Any]] = []
        by_customer: dict[str, list[PointsMove]] = {}
        for move in moves:
            by_customer.setdefault(move.customer_id, []).append(move)
        for customer_id, own in by_customer.items():
            values: dict[str, Any] = {
                ":b": sum(m.balance for m in own),
                ":p": sum(m.pending for m in own),
                ":e": "points",
                ":id": customer_id,
            }
            update: dict[str, Any] = {
                "TableName": self._table,
                "Key": to_item({"PK": f"CUS#{customer_id}", "SK": "PTS"}),
                "UpdateExpression": "ADD balance :b, pending :p SET entity = :e, id = :id",
            }
            needed = [m.at_least for m in own if m.at_least is not None]
            if needed:
                # Every condition was stated against the balance before the change.
                update["ConditionExpression"] = "balance >= :least"
                values[":least"] = max(needed)
            update["ExpressionAttributeValues"] = to_item(values)
            ops.append({"Update": update})
            for entry in (m.entry for m in own if m.entry is not None):
                item = {
                    "PK": f"CUS#{customer_id}",
                    "SK": f"PTS#{iso(entry.at)}#{KIND_RANK[entry.kind]}{entry.kind}"
                    f"#{entry.invoice or ''}"
                    f"#{entry.amount:015d}",
                    "id": entry.invoice or customer_id,
                    "at": iso(entry.at),
                    "kind": str(entry.kind),
                    "points": entry.points,
                    "invoice": entry.invoice,
                    "amount": entry.amount,
                }
                ops.append(self._create_put(item, "points_entry"))
        return ops

    def _payer_check(self, payer: Payer) -> dict[str, Any]:
        """The customer is there and its payment details are still `payer`'s (a missing or
        null attribute matches None)."""
        conditions, values = self._payer_conditions(payer)
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": to_item({"PK": f"CUS#{payer.customer_id}", "SK": "CUS"}),
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeValues": to_item(values),
            }
        }

    def _not_erased_check(self, customer_id: str) -> dict[str, Any]:
        """The customer is there and not erased (a card added meanwhile must not land)."""
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": to_item({"PK": f"CUS#{customer_id}", "SK": "CUS"}),
                "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(erased_at)",
            }
        }

    @staticmethod
    def _list_kept(
        op: dict[str, Any], read: frozenset[str], plans_read: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """A customer's put, on the condition too that their lists of subscriptions and of
        installment plans are still `read` and `plans_read`, the ones read: they only grow,
        so their sizes tell. (The version does not move when one joins a list: event ids are
        made from it.)"""
        put = op["Put"]
        condition = put.get("ConditionExpression", "")
        if "version = :v" not in condition:
            return op  # created: nothing was read
        values = put["ExpressionAttributeValues"]
        kept = []
        for name, ids in (("subscriptions", read), ("installment_plans", plans_read)):
            if ids:
                kept.append(f"size({name}) = :{name}_read")
                values = values | to_item({f":{name}_read": len(ids)})
            else:
                kept.append(f"attribute_not_exists({name})")
        condition = " AND ".join([condition, *kept])
        return {
            "Put": put | {"ConditionExpression": condition, "ExpressionAttributeValues": values}
        }

    def _listing_op(
        self,
        customer_id: str,
        subs: list[Subscription],
        plans: list[InstallmentPlan],
        contact: Contact | None = None,
    ) -> dict[str, Any]:
        """New subscriptions and installment plans join their customer's lists (string sets:
        adding is idempotent), while the customer is there and not erased (an erasure
        committed after the use case read them), and, with subscriptions, while the
        customer's payment details are still their copy's, and its contact still `contact`
        (listings.contact_holds); a customer's put read before this (a card change, an
        erasure, a new contact) then fails on the lists' sizes (_list_kept)."""
        names: dict[str, str] = {}
        if subs:
            conditions, values = self._payer_conditions(subs[0].payer)
        else:
            conditions, values = ["attribute_exists(PK)"], {}
        if contact is not None:
            held, names, contact_values = self._contact_conditions(contact)
            conditions += held
            values |= contact_values
        conditions.append("attribute_not_exists(erased_at)")
        added = []
        if subs:
            values |= {":listed": {sub.id for sub in subs}}
            added.append("subscriptions :listed")
        if plans:
            values |= {":plans": {plan.id for plan in plans}}
            added.append("installment_plans :plans")
        update = {
            "TableName": self._table,
            "Key": to_item({"PK": f"CUS#{customer_id}", "SK": "CUS"}),
            "UpdateExpression": "ADD " + ", ".join(added),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeValues": to_item(values),
        }
        return {"Update": update | ({"ExpressionAttributeNames": names} if names else {})}

    def _contact_check(self, customer_id: str, contact: Contact) -> dict[str, Any]:
        """The customer's contact is still `contact` (listings.contact_holds), for a commit
        with no other operation on the customer's item. A customer not there holds no
        contact to keep to (a subscription stored alone, as a test or a repair writes it)."""
        conditions, names, values = self._contact_conditions(contact)
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": to_item({"PK": f"CUS#{customer_id}", "SK": "CUS"}),
                "ConditionExpression": f"attribute_not_exists(PK) OR ({' AND '.join(conditions)})",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item(values),
            }
        }

    @staticmethod
    def _contact_conditions(
        contact: Contact,
    ) -> tuple[list[str], dict[str, str], dict[str, Any]]:
        """Conditions that the customer item's contact is `contact`, as the codec reads it: a
        missing or null name, locale or zone reads as its default ("", "en", "UTC")."""
        conditions, names, values = [], {}, {}
        for key, name, value, default in (
            ("ce", "email", contact.email, None),
            ("cn", "name", contact.name, ""),
            ("cl", "locale", contact.locale, "en"),
            ("ct", "timezone", contact.timezone, "UTC"),
        ):
            names[f"#{key}"], values[f":{key}"] = name, value
            if value == default:
                absent = f"attribute_not_exists(#{key}) OR attribute_type(#{key}, :null)"
                conditions.append(f"(#{key} = :{key} OR {absent})")
                values[":null"] = "NULL"
            else:
                conditions.append(f"#{key} = :{key}")
        return conditions, names, values

    @classmethod
    def _listings_refused(
        cls,
        exc: ClientError,
        ops: list[dict[str, Any]],
        listing_ops: dict[int, str],
    ) -> list[str]:
        """The customers of the listing updates that failed, when nothing else did but races
        the next try settles as ever (a number counter, an MRR state)."""
        reasons = exc.response.get("CancellationReasons", [])
        failed = {n for n, r in enumerate(reasons) if r.get("Code") not in (None, "None")}
        refused = failed & listing_ops.keys()
        if not refused or not all(cls._is_race(ops[n]) for n in failed - refused):
            return []
        return [listing_ops[n] for n in sorted(refused)]

    @classmethod
    def _is_race(cls, op: dict[str, Any]) -> bool:
        """Whether `op` writes a derived record other commits race for: a number counter or
        a customer's MRR state (a fresh read and another try settle it: _races_lost)."""
        return cls._raced_counter(op) is not None or cls._is_mrr_state(op)

    @staticmethod
    def _raced_counter(op: dict[str, Any]) -> tuple[str, int, int] | None:
        """The number counter `op` takes a number from, as (kind, series, year); or None."""
        if "Update" in op and (key := from_item(op["Update"]["Key"]))["SK"] == "SEQ":
            _, kind, series, year = key["PK"].split("#")
            return kind, int(series), int(year)
        return None

    @staticmethod
    def _is_mrr_state(op: dict[str, Any]) -> bool:
        """Whether `op` puts a customer's MRR state."""
        item = next(iter(op.values())).get("Item", {})
        return bool(item.get("entity", {}).get("S") == "customer_mrr")

    @staticmethod
    def _payer_conditions(payer: Payer) -> tuple[list[str], dict[str, Any]]:
        conditions, values = ["attribute_exists(PK)"], {}
        for name, value in (
            ("default_payment_method", payer.payment_method),
            ("provider_customer_id", payer.provider_customer_id),
            ("provider", payer.provider),
        ):
            if value is None:
                absent = f"attribute_not_exists({name}) OR attribute_type({name}, :null)"
                conditions.append(f"({absent})")
                values[":null"] = "NULL"  # DynamoDB refuses a value no expression uses
            else:
                conditions.append(f"{name} = :{name}")
                values[f":{name}"] = value
        return conditions, values

    def _late_record(self, invoices: list[Invoice]) -> list[dict[str, Any]]:
        """Add each late invoice to its customer's record of them (a string set: adding one
        twice is adding it once, so no condition and no read). The late-payer rule reads it,
        or checks its size in a send's claim (CopyCheck.late_under)."""
        late: dict[str, set[str]] = {}
        for invoice in invoices:
            if invoice.late:
                entry = f"{iso(invoice.period_start)}#{invoice.id}"
                late.setdefault(invoice.customer_id, set()).add(entry)
        return [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item({"PK": f"CUS#{customer_id}", "SK": "LATE"}),
                    "UpdateExpression": "ADD #late :entries SET entity = :entity",
                    "ExpressionAttributeNames": {"#late": "late"},
                    "ExpressionAttributeValues": to_item(
                        {":entries": entries, ":entity": "late_invoices"}
                    ),
                }
            }
            for customer_id, entries in late.items()
        ]

    def _version_check(self, key: dict[str, str], version: int | None) -> dict[str, Any]:
        """A ConditionCheck that the item at `key` is still at `version`."""
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": to_item(key),
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": to_item({":v": version}),
            }
        }

    def _copy_check(self, check: CopyCheck) -> list[tuple[str, dict[str, Any]]]:
        """ConditionChecks of what an email was written from: the customer's contact, the
        address not suppressed, the subscription's version, the invoice's, too few late
        invoices on record to make a late payer (see CopyCheck)."""
        contact = check.contact
        names = {"#e": "email", "#n": "name", "#l": "locale", "#t": "timezone"}
        values = {":e": contact.email, ":n": contact.name, ":l": contact.locale}
        ops = [
            (
                "contact",
                {
                    "ConditionCheck": {
                        "TableName": self._table,
                        "Key": to_item({"PK": f"CUS#{check.customer_id}", "SK": "CUS"}),
                        "ConditionExpression": "#e = :e AND #n = :n AND #l = :l AND #t = :t",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": to_item(values | {":t": contact.timezone}),
                    }
                },
            ),
            (
                "suppressed",
                {
                    "ConditionCheck": {
                        "TableName": self._table,
                        "Key": to_item({"PK": self._suppression_pk(contact.email), "SK": "SUPP"}),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ),
        ]
        if check.subscription_id is not None:
            key = {"PK": f"SUB#{check.subscription_id}", "SK": "SUB"}
            ops.append(("subscription", self._version_check(key, check.subscription_version)))
        if check.invoice_id is not None:
            key = {"PK": f"INV#{check.invoice_id}", "SK": "INV"}
            ops.append(("invoice", self._version_check(key, check.invoice_version)))
        if check.late_under is not None:
            ops.append(
                (
                    "late_payments",
                    {
                        "ConditionCheck": {
                            "TableName": self._table,
                            "Key": to_item({"PK": f"CUS#{check.customer_id}", "SK": "LATE"}),
                            "ConditionExpression": (
                                "attribute_not_exists(#late) OR size(#late) < :n"
                            ),
                            "ExpressionAttributeNames": {"#late": "late"},
                            "ExpressionAttributeValues": to_item({":n": check.late_under}),
                        }
                    },
                )
            )
        return ops

    def _audit_puts(self, entry: AuditEntry) -> list[dict[str, Any]]:
        """The entry under the entity acted on (and, through GSI1, its customer), and a copy
        under its actor: both listings are one query, and both puts fail if either exists."""
        attrs = codec.audit_to_attrs(entry)
        sk = f"AUDIT#{entry.order}"
        main = attrs | {"PK": f"AUDIT#{entry.entity}", "SK": sk}
        if entry.customer_id:  # (an endpoint's entry belongs to no customer's timeline)
            main |= {"GSI1PK": f"CUS#{entry.customer_id}", "GSI1SK": sk}
        by_actor = attrs | {"PK": f"ACTOR#{entry.actor}", "SK": sk}
        return [self._create_put(main, "audit"), self._create_put(by_actor, "audit")]
