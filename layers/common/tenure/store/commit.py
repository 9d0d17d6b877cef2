"""DynamoRepository's writes: one commit is one transaction (entities with version checks,
their events, ledger entries, numbers and derived records), tried again when it lost a
race on a derived record only; emails' commits packed many to a transaction; and what a
refused transaction means. The transaction's building stays together here: its operations'
builders are in commit_ops.py, numbers in numbers.py, the customers' MRR in
customer_mrr.py."""

import random
from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any

from botocore.exceptions import ClientError

from tenure.domain.audit import unnamed_days
from tenure.domain.charges import Charge
from tenure.domain.collection_cases import CollectionCase
from tenure.domain.credit_notes import CreditNote
from tenure.domain.customers import Contact, Customer
from tenure.domain.discounts import Coupon
from tenure.domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    NotFoundError,
    StaleCopyError,
    ValidationFailedError,
)
from tenure.domain.installments import InstallmentPlan
from tenure.domain.invoices import Invoice
from tenure.domain.notices import Notice
from tenure.domain.numbering import NumberedKind, numbering_year
from tenure.domain.offers import SaveAttempt
from tenure.domain.plans import Plan
from tenure.domain.points import not_enough
from tenure.domain.price_notices import PriceNoticeRun
from tenure.domain.subscription import Subscription
from tenure.domain.timeutil import iso
from tenure.listings import contact_holds, listings, plan_listings
from tenure.ports import Commit, Marker, programs_moved, used_up
from tenure.store import codec
from tenure.store.codec import from_item, to_item
from tenure.store.commit_ops import DynamoCommitOps
from tenure.store.customer_mrr import DynamoCustomerMrr
from tenure.store.event_items import event_items
from tenure.store.numbers import DynamoNumbers
from tenure.store.sizes import WRITE_UNIT_BYTES, item_size
from tenure.store.table import NOTICE_DUE, email_item, notice_id_from_key

MAX_TRANSACTION_ITEMS = 100

# A commit whose only conflict is a customer's MRR state (a derived record: another change of
# the same customer committed first) is tried again from a fresh read, never reported: the
# caller's own records did not conflict, and each lost race means another change won, so the
# tries end. Twenty concurrent changes of one customer need at most twenty.
CUSTOMER_MRR_ATTEMPTS = 40

# A commit that lost a number series to another commit (its counter moved first) reads the
# counter again and tries the next series: each lost race means another commit was numbered,
# so fifty commits finalizing at once on one series need at most fifty tries.
NUMBER_ATTEMPTS = 64

_BACKOFF_CAP = 0.25  # seconds: full jitter, doubling from 5 ms

# A commit whose new subscriptions could not join their customer's list (a card change came
# first: their payer copies are stale) is made again with them unlisted, which only an
# erasure or a missing customer refuses, both answered at once. A listing refused again while
# the customer is there and not erased met something of the moment (another transaction on
# the customer, throttling): it is answered as a conflict after this many tries, never tried
# again without bound (each try was a new call of the commit).
LISTING_ATTEMPTS = 3


def _contact(item: dict[str, Any]) -> Contact:
    """The contact of a customer's item as read (from_item), as the codec reads it."""
    return Contact(
        item["email"],
        item.get("name") or "",
        item.get("locale") or "en",
        item.get("timezone") or "UTC",
    )


def _packable(change: Commit) -> bool:
    """A change of emails only (notices, markers, copy checks), which commit_each packs."""
    emails = {"notices", "markers", "released_markers", "copy_checks"}
    return not any(getattr(change, f.name) for f in fields(change) if f.name not in emails)


# A change commit_each packs: its index, its operations, its copy checks by operation index.
_Packed = tuple[int, list[dict[str, Any]], dict[int, str]]


def _op_key(op: dict[str, Any]) -> tuple[str, str]:
    (body,) = op.values()
    raw = body.get("Item") or body["Key"]
    return raw["PK"]["S"], raw["SK"]["S"]


def _one_transaction(pending: list[_Packed]) -> tuple[list[_Packed], list[_Packed]]:
    """The changes that go together into the next transaction, in order, and the rest: at
    most MAX_TRANSACTION_ITEMS items, and no item twice (DynamoDB refuses a transaction
    that names one item in two operations, such as two emails' checks of one customer)."""
    batch: list[_Packed] = []
    rest: list[_Packed] = []
    seen: set[tuple[str, str]] = set()
    size = 0
    for entry in pending:
        keys = {_op_key(op) for op in entry[1]}
        if (batch and size + len(entry[1]) > MAX_TRANSACTION_ITEMS) or keys & seen:
            rest.append(entry)
            continue
        batch.append(entry)
        seen |= keys
        size += len(entry[1])
    return batch, rest


def _written_versions(change: Commit) -> dict[str, int]:
    """The version each entity of `change` that events are about is written at."""
    found: dict[str, int] = {}
    for group in (
        change.customers,
        change.subscriptions,
        change.invoices,
        change.installment_plans,
        change.collection_cases,
    ):
        for entity in group:
            found[entity.id] = entity.version + 1
    for plan in change.plans:
        found[plan.id] = 1  # written once, never changed
    for plan in change.plan_updates:
        found[plan.id] = len(plan.price_changes) + 1  # its price changes count its writes
    for coupon in change.coupons:
        found[coupon.id] = 1
    return found


class DynamoCommit(DynamoCommitOps, DynamoNumbers, DynamoCustomerMrr):
    """commit and commit_each."""

    # -- writes -----------------------------------------------------------------------------
    def commit(self, change: Commit) -> None:
        """One transaction: entities with version checks, their events and ledger entries."""
        self._commit(change, 1)

    def _commit(self, change: Commit, listing_try: int) -> None:
        """`commit`, on its `listing_try`-th try after its new subscriptions and plans could
        not join their customers' lists (LISTING_ATTEMPTS)."""
        ops: list[dict[str, Any]] = []
        versioned: list[
            Customer
            | Subscription
            | Invoice
            | Charge
            | Notice
            | SaveAttempt
            | InstallmentPlan
            | CollectionCase
            | PriceNoticeRun
        ] = []
        versioned_coupons: list[Coupon] = []
        # Puts that take a legal number in this commit: (index in ops, kind, year, entity).
        numbered: list[tuple[int, NumberedKind, int, Invoice | CreditNote]] = []
        joining, plans_joining = listings(change), plan_listings(change)
        holds = contact_holds(change)
        joined = {c.id: c.subscription_ids for c in change.customers}
        for sub in joining.with_customer:
            joined[sub.customer_id] = joined[sub.customer_id] | {sub.id}
        plans_joined = {c.id: c.installment_plan_ids for c in change.customers}
        for ipl in plans_joining.with_customer:
            plans_joined[ipl.customer_id] = plans_joined[ipl.customer_id] | {ipl.id}
        for customer in change.customers:
            listed = replace(
                customer,
                subscription_ids=joined[customer.id],
                installment_plan_ids=plans_joined[customer.id],
            )
            attrs = codec.customer_to_attrs(listed)
            attrs |= {
                "PK": f"CUS#{customer.id}",
                "SK": "CUS",
                "GSI1PK": "CUSTOMERS",
                "GSI1SK": f"{iso(customer.created_at)}#{customer.id}",
            }
            # Sparse, as a subscription's: only an erasure owed at the provider is due.
            attrs |= self._due_keys(customer.id, customer.next_due())
            written = self._versioned_put(attrs, customer.version, "customer")
            ops.append(
                self._list_kept(written, customer.subscription_ids, customer.installment_plan_ids)
            )
            versioned.append(customer)
            if customer.version == 0:  # created: its email goes into the search index
                ops.append(self._create_put(email_item(customer), "email_index"))
        for move in change.email_moves:
            ops += self._email_move_ops(move)
        for method in change.payment_methods:
            attrs = codec.payment_method_to_attrs(method)
            attrs |= {"PK": f"CUS#{method.customer_id}", "SK": f"PM#{method.id}"}
            ops.append(self._create_put(attrs, "payment_method"))
        for plan in change.plans:
            ops.append(self._create_put(_plan_item(plan), "plan"))
        for plan in change.plan_updates:
            attrs = _plan_item(plan) | {"entity": "plan"}
            held = len(plan.price_changes) - 1
            put: dict[str, Any] = {"TableName": self._table, "Item": to_item(attrs)}
            if held == 0:
                put["ConditionExpression"] = (
                    "attribute_exists(PK) AND attribute_not_exists(price_changes)"
                )
            else:
                put["ConditionExpression"] = "size(price_changes) = :n"
                put["ExpressionAttributeValues"] = to_item({":n": held})
            ops.append({"Put": put})
        for coupon in change.coupons:
            attrs = codec.coupon_to_attrs(coupon)
            attrs |= {
                "PK": f"COUPON#{coupon.id}",
                "SK": "COUPON",
                "GSI1PK": "COUPONS",
                "GSI1SK": f"COUPON#{coupon.id}",
            }
            ops.append(self._versioned_put(attrs, 0, "coupon"))
            versioned_coupons.append(coupon)
        ops.extend(self._redemption(r) for r in change.redemptions)
        ops.extend(self._points_ops(change.points))
        for setting in change.programs:
            attrs = codec.programs_to_attrs(setting)
            attrs |= {"PK": "SETTING#programs", "SK": "SETTING"}
            ops.append(self._versioned_put(attrs, setting.version, "programs"))
        for sub in change.subscriptions:
            attrs = codec.subscription_to_attrs(sub)
            attrs |= {
                "PK": f"SUB#{sub.id}",
                "SK": "SUB",
                "GSI1PK": f"CUS#{sub.customer_id}",
                "GSI1SK": f"SUB#{iso(sub.created_at)}#{sub.id}",
            }
            # Sparse: only items with work ahead are in the due index.
            attrs |= self._due_keys(sub.id, sub.next_due())
            ops.append(self._versioned_put(attrs, sub.version, "subscription"))
            versioned.append(sub)
        # Index in ops of each customer's listing update -> the customer it lists on: their
        # new subscriptions and installment plans, in one update (one item, one operation).
        listing_ops: dict[int, str] = {}
        subs_joining: dict[str, list[Subscription]] = {}
        for sub in joining.by_update:
            subs_joining.setdefault(sub.customer_id, []).append(sub)
        for customer_id in dict.fromkeys([*subs_joining, *plans_joining.by_update]):
            listing_ops[len(ops)] = customer_id
            ops.append(
                self._listing_op(
                    customer_id,
                    subs_joining.get(customer_id, []),
                    plans_joining.by_update.get(customer_id, []),
                    holds.get(customer_id),
                )
            )
        for ipl in change.installment_plans:
            attrs = codec.installment_plan_to_attrs(ipl)
            attrs |= {
                "PK": f"IPL#{ipl.id}",
                "SK": "IPL",
                "GSI1PK": f"CUS#{ipl.customer_id}",
                "GSI1SK": f"IPL#{iso(ipl.created_at)}#{ipl.id}",
            } | self._due_keys(ipl.id, ipl.next_due())
            ops.append(self._versioned_put(attrs, ipl.version, "installment_plan"))
            versioned.append(ipl)
        for run in change.price_runs:
            attrs = codec.price_run_to_attrs(run) | {"PK": f"PRICERUN#{run.change_id}", "SK": "RUN"}
            attrs |= self._due_keys(run.change_id, run.next_due())
            ops.append(self._versioned_put(attrs, run.version, "price_run"))
            versioned.append(run)
        # A membership names only ids (kept beside the keys too, for an export, which drops
        # keys). One item once, whatever the commit lists twice (a transaction may not touch
        # an item twice).
        for price_id, sub_id in dict.fromkeys(change.price_members):
            member = {
                "PK": f"PRICE#{price_id}",
                "SK": f"SUB#{sub_id}",
                "entity": "price_member",
                "price_id": price_id,
                "subscription_id": sub_id,
            }
            ops.append({"Put": {"TableName": self._table, "Item": to_item(member)}})
        for case in change.collection_cases:
            attrs = codec.collection_case_to_attrs(case)
            attrs |= {
                "PK": f"CASE#{case.id}",
                "SK": "CASE",
                "GSI1PK": f"CUS#{case.customer_id}",
                "GSI1SK": f"CASE#{iso(case.opened_at)}#{case.id}",
            }
            ops.append(self._versioned_put(attrs, case.version, "collection_case"))
            versioned.append(case)
        for invoice in change.invoices:
            attrs = codec.invoice_to_attrs(invoice)
            attrs |= {
                "PK": f"INV#{invoice.id}",
                "SK": "INV",
                # An instalment's invoice is listed under its plan: it has no subscription.
                "GSI1PK": f"IPL#{invoice.installment_plan_id}"
                if invoice.installment_plan_id
                else f"SUB#{invoice.subscription_id}",
                "GSI1SK": f"INV#{iso(invoice.period_start)}#{invoice.id}",
            } | self._due_keys(invoice.id, invoice.next_due())
            if invoice.number is None and invoice.finalized:
                year = numbering_year(invoice.created_at)
                numbered.append((len(ops), NumberedKind.INVOICE, year, invoice))
            ops.append(self._versioned_put(attrs, invoice.version, "invoice"))
            versioned.append(invoice)
        ops.extend(self._late_record(change.invoices))
        for charge in change.charges:
            attrs = codec.charge_to_attrs(charge)
            attrs |= {"PK": f"INV#{charge.invoice_id}", "SK": f"CHG#{charge.attempt:04d}"}
            attrs |= self._due_keys(charge.due_id, charge.next_due())
            ops.append(self._versioned_put(attrs, charge.version, "charge"))
            versioned.append(charge)
        for refund in change.refunds:
            attrs = codec.refund_to_attrs(refund)
            attrs |= {"PK": f"INV#{refund.invoice_id}", "SK": f"RFD#{refund.id}"}
            ops.append(self._create_put(attrs, "refund"))
        for note in change.credit_notes:
            attrs = codec.credit_note_to_attrs(note)
            attrs |= {"PK": f"INV#{note.invoice_id}", "SK": f"CN#{iso(note.created_at)}#{note.id}"}
            year = numbering_year(note.created_at)
            numbered.append((len(ops), NumberedKind.CREDIT_NOTE, year, note))
            ops.append(self._create_put(attrs, "credit_note"))
        for saving in change.save_attempts:
            attrs = codec.save_attempt_to_attrs(saving)
            attrs |= {"PK": f"SUB#{saving.subscription_id}", "SK": "SAVE"}
            ops.append(self._versioned_put(attrs, saving.version, "save_attempt"))
            versioned.append(saving)
        change.check_payer_operations()
        ops.extend(self._payer_copy(sub_id, payer) for sub_id, payer in change.payer_copies)
        ops.extend(self._payer_check(payer) for payer in change.payer_checks)
        for customer_id in dict.fromkeys(change.not_erased):
            # Held by the customer's own put, or by their listing update, where there is one.
            if customer_id not in joined and customer_id not in listing_ops.values():
                ops.append(self._not_erased_check(customer_id))
        # The written versions go beside the events, not in them: the stream hands them to
        # the bus and the outbound webhooks (docs/events.md), the events' form unchanged.
        # Events of one moment share an item (store/event_items.py): half the capacity.
        for item in event_items(change.events, _written_versions(change)):
            if change.source is not None:  # beside the events too: their form is unchanged
                item["source"] = change.source
                if change.via is not None:
                    item["via"] = change.via
            ops.append(self._create_put(item, "event"))
        if change.source is not None:
            # The days the trail could not find from this commit's own records (none for a
            # renewal's): a small item each, overwritten by the next commit of that day.
            for customer_id, day in unnamed_days(
                change.events, change.invoices, change.charges, change.installment_plans
            ):
                item = {
                    "PK": f"CUS#{customer_id}",
                    "SK": f"ADAY#{day}",
                    # Said again outside the keys: an export drops keys (tenure export).
                    "customer_id": customer_id,
                    "day": day,
                    "entity": "activity_day",
                }
                ops.append({"Put": {"TableName": self._table, "Item": to_item(item)}})
        ops.extend(self._marker_op(marker) for marker in change.markers)
        ops.extend(self._release_op(key) for key in change.released_markers)
        for entry in change.audit:
            ops.extend(self._audit_puts(entry))
        for link in change.provider_links:
            item = {
                "PK": f"PROV#{link.provider}#{link.object_id}",
                "SK": "PROV",
                "tenure_id": link.tenure_id,
                "entity": "provider_link",
            }
            ops.append({"Put": {"TableName": self._table, "Item": to_item(item)}})
        for notice in change.notices:
            ops.append(self._notice_op(notice))
            versioned.append(notice)
        # Last, so that a claim lost to another run (its marker, its notice) is told first.
        checks: dict[int, str] = {}
        for check in change.copy_checks:
            for what, op in self._copy_check(check):
                checks[len(ops)] = what
                ops.append(op)
        for customer_id, contact in holds.items():
            if customer_id not in listing_ops.values():  # else held by its listing update
                checks[len(ops)] = "contact"
                ops.append(self._contact_check(customer_id, contact))
        read_ahead = {read.customer_id: read.record for read in change.mrr_read}
        mrr_moved = False
        for attempt in range(1, max(CUSTOMER_MRR_ATTEMPTS, NUMBER_ATTEMPTS) + 1):
            numbers, counters = self._take_numbers(numbered)
            numbered_ops = self._with_numbers(ops, numbers) + [
                self._counter_op(key, seen, last) for key, (seen, last) in counters.items()
            ]
            # A try after the MRR states moved reads them afresh: the ones read ahead had.
            every = numbered_ops + self._ledger_ops(change.ledger, {} if mrr_moved else read_ahead)
            if not every:
                return
            if len(every) > MAX_TRANSACTION_ITEMS:
                raise ValueError(f"a commit of {len(every)} items exceeds one transaction")
            try:
                self._ddb.transact_write_items(TransactItems=every)
                break
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                if refused := self._listings_refused(exc, every, listing_ops):
                    for customer_id in refused:
                        owner = self._get(f"CUS#{customer_id}", "CUS")
                        # An erasure came first: an erased customer is never subscribed, nor
                        # given a plan; and a plan is never made for a customer not there.
                        if owner is not None and "erased_at" in owner:
                            gone = f"customer {customer_id} changed meanwhile"
                            raise ConcurrencyError(gone) from exc
                        if owner is None and customer_id in plans_joining.by_update:
                            raise NotFoundError("customer", customer_id) from exc
                        # A new contact came first: the copy is stale, and the use case
                        # makes its change again from a fresh read (listings.contact_holds).
                        copied = holds.get(customer_id)
                        if owner is not None and copied and _contact(owner) != copied:
                            moved = f"customer {customer_id}'s contact changed"
                            raise StaleCopyError("contact", moved) from exc
                    if listing_try >= LISTING_ATTEMPTS:  # refused again: never tried unbounded
                        raise ConcurrencyError(f"customer {refused[0]} changed meanwhile") from exc
                    # A card change came first: these subscriptions are made unlisted (their
                    # claims check their customer), and the commit is made again without them.
                    for customer_id in refused:
                        for sub in subs_joining.get(customer_id, []):
                            sub.listed = False
                    return self._commit(change, listing_try + 1)
                lost = self._races_lost(exc, every)
                if lost is not None and self._may_try_again(attempt, *lost):
                    mrr_moved = mrr_moved or lost[0]
                    for counter in lost[1]:
                        self._leave_series(counter)
                    # Spread the racers apart, or they meet again on the next try.
                    self._sleep(random.uniform(0, min(_BACKOFF_CAP, 0.005 * 2**attempt)))
                    continue
                raise self._conflict(exc, every, checks) from exc
        for customer in change.customers:
            customer.subscription_ids = joined[customer.id]
            customer.installment_plan_ids = plans_joined[customer.id]
        for index, _, _, document in numbered:
            document.number = numbers[index]
        self._last_numbers.update((key, last) for key, (_, last) in counters.items())
        for entity in versioned:
            entity.version += 1
        for coupon in versioned_coupons:
            coupon.version += 1
        self._plans.update((plan.id, (self._monotonic(), plan)) for plan in change.plans)
        self._plans.update((plan.id, (self._monotonic(), plan)) for plan in change.plan_updates)
        for setting in change.programs:
            self._programs = (self._monotonic(), replace(setting, version=setting.version + 1))

    def _notice_op(self, notice: Notice) -> dict[str, Any]:
        attrs = codec.notice_to_attrs(notice)
        del attrs["id"]  # the key holds it (notice_from_item): the notice is paid in two indexes
        attrs |= {
            "PK": f"NOTICE#{notice.key}",
            "SK": "NOTICE",
            "GSI1PK": f"CUS#{notice.customer_id}",
            "GSI1SK": f"NOTICE#{iso(notice.created_at)}#{notice.key}",
        }
        attrs |= self._due_keys(notice.key, notice.next_due(), NOTICE_DUE)
        if notice.version == 0:  # planned: written whatever is there (see Commit.notices)
            item = to_item(attrs | {"entity": "notice", "version": 1})
            if "invoice" in item and item_size(item) > WRITE_UNIT_BYTES:
                # A receipt's invoice copy saves its email three reads, worth less than
                # the write units it would add (in the table and its due index, and again
                # when the claim rewrites the item): past one unit, the invoice is read.
                del item["invoice"]
            return {"Put": {"TableName": self._table, "Item": item}}
        return self._versioned_put(attrs, notice.version, "notice")

    def _marker_op(self, marker: Marker) -> dict[str, Any]:
        item = {
            "PK": f"MARK#{marker.key}",
            "SK": "MARK",
            "id": marker.key,
            "expires_at": int(marker.expires_at.timestamp()),
        }
        return self._create_put(item, "marker")

    def _release_op(self, key: str) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._table,
                "Key": to_item({"PK": f"MARK#{key}", "SK": "MARK"}),
            }
        }

    # -- emails: many claims (or records) in one transaction --------------------------------
    def commit_each(self, changes: Sequence[Commit]) -> list[Exception | None]:
        """Commit each change on its own terms, packing many into one transaction: for each,
        None (committed) or the conflict it met, as `commit` would have raised it. A change
        of notices, markers and copy checks only is packed; any other is committed alone.
        A transaction cancelled by some changes' conditions commits the others on its next
        try (CancellationReasons tell which failed). A failure other than a condition
        (throttling, a network error) is raised: some changes may have been committed."""
        results: list[Exception | None] = [None] * len(changes)
        pending: list[_Packed] = []
        for n, change in enumerate(changes):
            if _packable(change):
                ops = [self._notice_op(notice) for notice in change.notices]
                ops += [self._marker_op(marker) for marker in change.markers]
                ops += [self._release_op(key) for key in change.released_markers]
                checks: dict[int, str] = {}
                for check in change.copy_checks:
                    for what, op in self._copy_check(check):
                        checks[len(ops)] = what
                        ops.append(op)
                pending.append((n, ops, checks))
            else:
                results[n] = self._commit_alone(change)
        while pending:
            batch, pending = _one_transaction(pending)
            every = [op for _, ops, _ in batch for op in ops]
            try:
                self._ddb.transact_write_items(TransactItems=every)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = exc.response.get("CancellationReasons", [])
                failed, again, at = False, [], 0
                for n, ops, checks in batch:
                    own = reasons[at : at + len(ops)]
                    at += len(ops)
                    if any(r.get("Code") == "ConditionalCheckFailed" for r in own):
                        alone = ClientError(
                            {"Error": exc.response["Error"], "CancellationReasons": own},
                            "TransactWriteItems",
                        )
                        results[n] = self._conflict(alone, ops, checks)
                        failed = True
                    else:
                        again.append((n, ops, checks))
                if not failed:  # cancelled for another reason (a conflicting transaction)
                    for n, _, _ in again:
                        results[n] = self._commit_alone(changes[n])
                    again = []
                pending = again + pending
                continue
            for n, _, _ in batch:
                for notice in changes[n].notices:
                    notice.version += 1
        return results

    def _commit_alone(self, change: Commit) -> Exception | None:
        try:
            self.commit(change)
        except (ConcurrencyError, AlreadyExistsError, StaleCopyError) as exc:
            return exc
        return None

    @classmethod
    def _races_lost(
        cls, exc: ClientError, ops: list[dict[str, Any]]
    ) -> tuple[bool, list[tuple[str, int, int]]] | None:
        """Whether the transaction failed only because derived records moved between reading
        and writing them (a customer's MRR state, a number counter: another commit came
        first), and which: then a fresh read and another try are all it takes. None when
        anything else failed."""
        reasons = exc.response.get("CancellationReasons", [])
        mrr = False
        counters: list[tuple[str, int, int]] = []
        for op, reason in zip(ops, reasons, strict=False):
            if reason.get("Code") in (None, "None"):
                continue
            if (counter := cls._raced_counter(op)) is not None:
                counters.append(counter)
            elif cls._is_mrr_state(op):
                mrr = True
            else:
                return None
        return (mrr, counters) if mrr or counters else None

    @staticmethod
    def _may_try_again(attempt: int, mrr: bool, counters: list[tuple[str, int, int]]) -> bool:
        return (not mrr or attempt < CUSTOMER_MRR_ATTEMPTS) and (
            not counters or attempt < NUMBER_ATTEMPTS
        )

    @staticmethod
    def _conflict(
        exc: ClientError, ops: list[dict[str, Any]], checks: dict[int, str] | None = None
    ) -> Exception:
        reasons = exc.response.get("CancellationReasons", [])
        for n, (op, reason) in enumerate(zip(ops, reasons, strict=False)):
            if reason.get("Code") != "ConditionalCheckFailed":
                continue
            if checks and n in checks:
                return StaleCopyError(checks[n], f"the copy checked ({checks[n]}) is stale")
            if "ConditionCheck" in op:
                customer = from_item(op["ConditionCheck"]["Key"])["PK"].removeprefix("CUS#")
                if "erased_at" in op["ConditionCheck"]["ConditionExpression"]:
                    return ConcurrencyError(f"customer {customer} changed meanwhile")
                return ConcurrencyError(f"customer {customer}'s payment details changed meanwhile")
            if "Update" in op and (key := from_item(op["Update"]["Key"]))["SK"] == "SEQ":
                return ConcurrencyError("other commits kept taking the next number: try again")
            if "Update" in op and key["SK"] == "COUPON":
                return ValidationFailedError("coupon", used_up(key["PK"].removeprefix("COUPON#")))
            if "Update" in op and key["SK"] == "PTS":
                least = from_item(op["Update"]["ExpressionAttributeValues"])[":least"]
                customer = key["PK"].removeprefix("CUS#")
                return ValidationFailedError("points", not_enough(customer, int(least)))
            if "Update" in op:
                sub_id = from_item(op["Update"]["Key"])["PK"].removeprefix("SUB#")
                return ConcurrencyError(f"subscription {sub_id} is not there to take a payer")
            item = from_item(op["Put"]["Item"])
            if item.get("entity") == "notice":  # its key holds its id (notice_from_item)
                item.setdefault("id", notice_id_from_key(item))
            if item.get("entity") == "programs":
                return ConcurrencyError(programs_moved(int(item["version"]) - 1))
            if item.get("entity") == "plan" and item.get("price_changes"):
                # A price change's put (created plans carry none): another change came first.
                return ConcurrencyError(f"plan {item.get('id')} changed meanwhile")
            if (
                item.get("entity")
                in (
                    "plan",
                    "coupon",
                    "payment_method",
                    "marker",
                    "points_entry",
                    "refund",
                    "credit_note",
                    "audit",
                )
                or item.get("version") == 1
            ):
                return AlreadyExistsError(str(item.get("entity")), str(item.get("id", item["PK"])))
            return ConcurrencyError(f"{item.get('entity')} {item.get('id')} changed meanwhile")
        return ConcurrencyError(str(exc))


def _plan_item(plan: Plan) -> dict[str, Any]:
    """A plan's item: under its id, and listed with every plan in GSI1 (the same keys for the
    put that creates it and the one that adds a price change)."""
    return codec.plan_to_attrs(plan) | {
        "PK": f"PLAN#{plan.id}",
        "SK": "PLAN",
        "GSI1PK": "PLANS",
        "GSI1SK": f"PLAN#{plan.id}",
    }
