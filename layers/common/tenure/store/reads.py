"""DynamoRepository's reads of single records and listings (customers, catalogue, billing
records), markers, provider links and snapshots, and the batch reads of renewals and
retention metrics."""

from datetime import datetime
from typing import Any

from tenure.domain.charges import Charge
from tenure.domain.collection_cases import CollectionCase
from tenure.domain.credit_notes import CreditNote
from tenure.domain.customers import Customer, PaymentMethod
from tenure.domain.discounts import Coupon
from tenure.domain.installments import InstallmentPlan
from tenure.domain.invoices import Invoice
from tenure.domain.offers import SaveAttempt
from tenure.domain.plans import Plan
from tenure.domain.points import PointsAccount, PointsEntry, PointsKind
from tenure.domain.price_notices import PriceNoticeRun
from tenure.domain.programs import NO_PROGRAMS, ProgramsSetting
from tenure.domain.refunds import Refund
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import iso, parse_iso
from tenure.ports import EventReads, MrrRead
from tenure.store import codec
from tenure.store.codec import from_item, to_item
from tenure.store.table import DynamoTable, email_item, email_partition

# How long a container keeps the programs it read before reading them again. A renewal reads
# nothing (docs/payments.md), yet prices the tenure discount from the programs: kept like
# plans, but only for a minute, since programs change. A write through this repository
# replaces the copy at once.
PROGRAMS_KEPT_SECONDS = 60.0

PLANS_KEPT_SECONDS = 60.0


class DynamoReads(DynamoTable):
    """Reads: one item, one query or one batch each (docs/data-model.md)."""

    def get_customer(self, customer_id: str) -> Customer | None:
        item = self._get_with_expected_counters(f"CUS#{customer_id}", "CUS")
        return codec.customer_from_attrs(item) if item else None

    def list_customers(
        self, limit: int, after: str | None = None
    ) -> tuple[list[Customer], str | None]:
        values = {":pk": "CUSTOMERS"}
        condition = "GSI1PK = :pk"
        if after:  # DynamoDB refuses an empty key value, so the first page has no bound
            condition += " AND GSI1SK > :after"
            values[":after"] = after
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "GSI1",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_item(values),
            "Limit": limit,
        }
        page = self._ddb.query(**kwargs)
        customers = [codec.customer_from_attrs(from_item(i)) for i in page.get("Items", [])]
        cursor = None
        if "LastEvaluatedKey" in page and customers:
            cursor = from_item(page["LastEvaluatedKey"])["GSI1SK"]
        return customers, cursor

    def find_customers_by_email(self, prefix: str, limit: int) -> list[tuple[str, str]]:
        wanted = prefix.lower()
        if not wanted:
            return []
        page = self._ddb.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues=to_item({":pk": email_partition(wanted), ":prefix": wanted}),
            Limit=limit,
        )
        return [(i["email"], i["customer_id"]) for i in map(from_item, page.get("Items", []))]

    def index_customer_emails(self, customers: list[Customer]) -> int:
        # Plain puts: an index item holds only what its key says, so writing it again is
        # harmless. One request per customer: a backfill runs once, off the request path.
        for customer in customers:
            self._ddb.put_item(TableName=self._table, Item=to_item(email_item(customer)))
        return len(customers)

    def list_payment_methods(self, customer_id: str) -> list[PaymentMethod]:
        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :pm)",
            ExpressionAttributeValues=to_item({":pk": f"CUS#{customer_id}", ":pm": "PM#"}),
            ConsistentRead=True,
        )
        return [codec.payment_method_from_attrs(i) for i in items]

    def get_plan(self, plan_id: str) -> Plan | None:
        # A plan changes only by a new price change, announced weeks ahead: a warm function
        # keeps what it read for PLANS_KEPT_SECONDS, as it keeps the programs.
        kept = self._plans.get(plan_id)
        if kept is not None and self._monotonic() - kept[0] < PLANS_KEPT_SECONDS:
            return kept[1]
        return self.get_current_plan(plan_id)

    def get_current_plan(self, plan_id: str) -> Plan | None:
        """The plan as stored now (one read past the copy kept), which then becomes the copy
        kept."""
        item = self._get(f"PLAN#{plan_id}", "PLAN")
        if item is None:
            return None
        plan = codec.plan_from_attrs(item)
        self._plans[plan_id] = (self._monotonic(), plan)
        return plan

    def list_plans(self) -> list[Plan]:
        return [codec.plan_from_attrs(i) for i in self._gsi1("PLANS", "PLAN#")]

    def get_coupon(self, coupon_id: str) -> Coupon | None:
        item = self._get(f"COUPON#{coupon_id}", "COUPON")
        return codec.coupon_from_attrs(item) if item else None

    def list_coupons(self) -> list[Coupon]:
        return [codec.coupon_from_attrs(i) for i in self._gsi1("COUPONS", "COUPON#")]

    def get_programs(self) -> ProgramsSetting:
        """The programs, as read within the last PROGRAMS_KEPT_SECONDS (or written here)."""
        if self._programs is not None and self._programs_kept():
            return self._programs[1]
        return self.get_current_programs()

    def get_current_programs(self) -> ProgramsSetting:
        """The programs as stored now (one consistent read past the copy kept), which then
        becomes the copy kept."""
        return self._keep_programs(self._get("SETTING#programs", "SETTING"))

    def _programs_kept(self) -> bool:
        """Whether the copy of the programs kept is recent enough to use."""
        kept = self._programs
        return kept is not None and self._monotonic() - kept[0] < PROGRAMS_KEPT_SECONDS

    def _keep_programs(self, item: dict[str, Any] | None) -> ProgramsSetting:
        setting = codec.programs_from_attrs(item) if item else ProgramsSetting(NO_PROGRAMS)
        self._programs = (self._monotonic(), setting)
        return setting

    def get_points(self, customer_id: str) -> PointsAccount:
        """The account and its history: one query of the customer's points items."""
        account: dict[str, Any] = {}
        entries = []
        for item in self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues=to_item({":pk": f"CUS#{customer_id}", ":prefix": "PTS"}),
            ConsistentRead=True,
        ):
            if item["SK"] == "PTS":
                account = item
            else:
                entries.append(
                    PointsEntry(
                        customer_id,
                        parse_iso(item["at"]),
                        PointsKind(item["kind"]),
                        int(item["points"]),
                        item.get("invoice"),
                        int(item.get("amount", 0)),
                    )
                )
        return PointsAccount(
            customer_id,
            int(account.get("balance", 0)),
            int(account.get("pending", 0)),
            tuple(entries),
        )

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        item = self._get(f"SUB#{subscription_id}", "SUB")
        return codec.subscription_from_attrs(item) if item else None

    def get_subscription_with_customer(
        self, subscription_id: str, customer_id: str
    ) -> tuple[Subscription | None, Customer | None]:
        """Both items in one consistent BatchGetItem: what a renewal charge needs to read."""
        found = {
            item["PK"]: item
            for item in self._batch_get(
                [(f"SUB#{subscription_id}", "SUB"), (f"CUS#{customer_id}", "CUS")]
            )
        }
        sub = found.get(f"SUB#{subscription_id}")
        customer = found.get(f"CUS#{customer_id}")
        return (
            codec.subscription_from_attrs(sub) if sub else None,
            codec.customer_from_attrs(customer) if customer else None,
        )

    def list_subscriptions(self, customer_id: str) -> list[Subscription]:
        items = self._gsi1(f"CUS#{customer_id}", "SUB#")
        return [codec.subscription_from_attrs(i) for i in items]

    def price_members(
        self, price_id: str, limit: int, after: str | None = None
    ) -> tuple[list[str], str | None]:
        page = self._ddb.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND SK > :after",
            ExpressionAttributeValues=to_item(
                {":pk": f"PRICE#{price_id}", ":after": f"SUB#{after or ''}"}
            ),
            ProjectionExpression="SK",
            Limit=limit,
            ConsistentRead=True,
        )
        ids = [from_item(item)["SK"].removeprefix("SUB#") for item in page.get("Items", [])]
        return ids, (ids[-1] if "LastEvaluatedKey" in page and ids else None)

    def get_price_run(self, change_id: str) -> PriceNoticeRun | None:
        item = self._get(f"PRICERUN#{change_id}", "RUN")
        return codec.price_run_from_attrs(item) if item else None

    def get_installment_plan(self, plan_id: str) -> InstallmentPlan | None:
        item = self._get(f"IPL#{plan_id}", "IPL")
        return codec.installment_plan_from_attrs(item) if item else None

    def list_installment_plans(self, customer_id: str) -> list[InstallmentPlan]:
        items = self._gsi1(f"CUS#{customer_id}", "IPL#")
        return [codec.installment_plan_from_attrs(i) for i in items]

    def get_collection_case(self, case_id: str) -> CollectionCase | None:
        item = self._get(f"CASE#{case_id}", "CASE")
        return codec.collection_case_from_attrs(item) if item else None

    def list_collection_cases(self, customer_id: str) -> list[CollectionCase]:
        items = self._gsi1(f"CUS#{customer_id}", "CASE#")
        return [codec.collection_case_from_attrs(i) for i in items]

    def get_invoice(self, invoice_id: str) -> Invoice | None:
        item = self._get(f"INV#{invoice_id}", "INV")
        return codec.invoice_from_attrs(item) if item else None

    def list_invoices(self, subscription_id: str, since: datetime | None = None) -> list[Invoice]:
        """A subscription's invoices by period start; with `since`, only those starting then
        or later (a key condition: what is older is not read)."""
        if since is None:
            items = self._gsi1(f"SUB#{subscription_id}", "INV#")
        else:
            items = self._query(
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :pk AND GSI1SK BETWEEN :lo AND :hi",
                ExpressionAttributeValues=to_item(
                    {":pk": f"SUB#{subscription_id}", ":lo": f"INV#{iso(since)}", ":hi": "INV#~"}
                ),
            )
        return [codec.invoice_from_attrs(i) for i in items]

    def list_charges(self, invoice_id: str) -> list[Charge]:
        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :chg)",
            ExpressionAttributeValues=to_item({":pk": f"INV#{invoice_id}", ":chg": "CHG#"}),
            ConsistentRead=True,
        )
        return [codec.charge_from_attrs(i) for i in items]

    def get_charge(self, invoice_id: str, attempt: int) -> Charge | None:
        item = self._get(f"INV#{invoice_id}", f"CHG#{attempt:04d}")
        return codec.charge_from_attrs(item) if item else None

    def get_save_attempt(self, subscription_id: str) -> SaveAttempt | None:
        item = self._get(f"SUB#{subscription_id}", "SAVE")
        return codec.save_attempt_from_attrs(item) if item else None

    def list_credit_notes(self, invoice_id: str) -> list[CreditNote]:
        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :cn)",
            ExpressionAttributeValues=to_item({":pk": f"INV#{invoice_id}", ":cn": "CN#"}),
            ConsistentRead=True,
        )
        return [codec.credit_note_from_attrs(i) for i in items]

    def list_refunds(self, invoice_id: str) -> list[Refund]:
        items = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :rfd)",
            ExpressionAttributeValues=to_item({":pk": f"INV#{invoice_id}", ":rfd": "RFD#"}),
            ConsistentRead=True,
        )
        return sorted((codec.refund_from_attrs(i) for i in items), key=lambda r: (r.at, r.id))

    # -- markers, provider links, snapshots -------------------------------------------------
    def has_marker(self, key: str) -> bool:
        return self._get(f"MARK#{key}", "MARK") is not None

    def find_provider_object(self, provider: str, object_id: str) -> str | None:
        item = self._get(f"PROV#{provider}#{object_id}", "PROV")
        return str(item["tenure_id"]) if item else None

    def read_for_event(
        self,
        marker: str,
        *,
        link: tuple[str, str] | None = None,
        invoice_id: str | None = None,
        attempt: int | None = None,
        subscription_id: str | None = None,
        customer_id: str | None = None,
        points_of: str | None = None,
    ) -> EventReads:
        """One consistent BatchGetItem: the marker, and whichever of the provider link, the
        invoice, the attempt, the subscription, the customer's MRR state and a customer's
        points account are named; and the programs, when the copy kept is out of date (a
        settle prices and earns by them: read here, they cost no request of their own)."""
        keys = {"marker": (f"MARK#{marker}", "MARK")}
        if not self._programs_kept():
            keys["programs"] = ("SETTING#programs", "SETTING")
        if link is not None:
            keys["link"] = (f"PROV#{link[0]}#{link[1]}", "PROV")
        if invoice_id:
            keys["invoice"] = (f"INV#{invoice_id}", "INV")
            if attempt is not None:
                keys["charge"] = (f"INV#{invoice_id}", f"CHG#{attempt:04d}")
        if subscription_id:
            keys["subscription"] = (f"SUB#{subscription_id}", "SUB")
        if customer_id:
            keys["mrr"] = (f"CUS#{customer_id}", "MRR")
        if points_of:
            # The account item is written with every points entry (see _points_ops), so its
            # absence says the whole history is empty without querying it.
            keys["points"] = (f"CUS#{points_of}", "PTS")
        items = {(i["PK"], i["SK"]): i for i in self._batch_get(list(keys.values()))}
        found = {name: items.get(key) for name, key in keys.items()}
        if "programs" in keys:
            self._keep_programs(found["programs"])
        linked, invoice, charge, sub = (
            found.get(name) for name in ("link", "invoice", "charge", "subscription")
        )
        return EventReads(
            marked=found["marker"] is not None,
            linked=str(linked["tenure_id"]) if linked else None,
            invoice=codec.invoice_from_attrs(invoice) if invoice else None,
            charge=codec.charge_from_attrs(charge) if charge else None,
            subscription=codec.subscription_from_attrs(sub) if sub else None,
            mrr=MrrRead(customer_id, found["mrr"]) if customer_id else None,
            points=PointsAccount(points_of) if points_of and not found["points"] else None,
        )

    def save_snapshot(self, day: str, data: dict[str, Any]) -> None:
        """Daily metric snapshots are recomputable, so a rerun simply overwrites the day."""
        item = {"PK": f"SNAP#{day}", "SK": "SNAP", "entity": "snapshot", "data": data}
        self._ddb.put_item(TableName=self._table, Item=to_item(item))

    def get_snapshot(self, day: str) -> dict[str, Any] | None:
        item = self._get(f"SNAP#{day}", "SNAP")
        return dict(item["data"]) if item else None

    # -- batch reads (renewal charges, retention metrics) ----------------------------------
    def get_snapshots(self, days: list[str]) -> dict[str, dict[str, Any]]:
        items = self._batch_get([(f"SNAP#{day}", "SNAP") for day in days])
        return {i["PK"].removeprefix("SNAP#"): dict(i["data"]) for i in items}

    def get_invoices(self, invoice_ids: list[str]) -> dict[str, Invoice]:
        items = self._batch_get([(f"INV#{i}", "INV") for i in invoice_ids])
        invoices = (codec.invoice_from_attrs(i) for i in items)
        return {invoice.id: invoice for invoice in invoices}
