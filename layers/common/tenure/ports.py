"""Ports: what the services need from the outside world, as Protocols."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tenure.domain.audit import AuditEntry, Sourced
from tenure.domain.charges import Charge
from tenure.domain.collection_cases import CollectionCase
from tenure.domain.credit_notes import CreditNote
from tenure.domain.customers import Contact, Customer, Payer, PaymentMethod
from tenure.domain.discounts import Coupon
from tenure.domain.due import DueKind
from tenure.domain.events import DomainEvent, EventType, MrrLedgerEntry
from tenure.domain.installments import InstallmentPlan
from tenure.domain.invoices import Invoice
from tenure.domain.notices import Notice
from tenure.domain.numbering import NumberedKind
from tenure.domain.offers import SaveAttempt
from tenure.domain.plans import Plan
from tenure.domain.points import PointsAccount, PointsMove
from tenure.domain.price_notices import PriceNoticeRun
from tenure.domain.privacy import LegalHold
from tenure.domain.programs import ProgramsSetting
from tenure.domain.refunds import Refund
from tenure.domain.subscription import Subscription
from tenure.domain.webhooks_out import WebhookDelivery, WebhookEndpoint


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Marker:
    """A claim on an effect that must happen once (a webhook applied, an email sent).

    Committed with the effect itself; a second commit carrying the same key fails as a whole
    with AlreadyExistsError("marker", key). Markers expire (TTL) at `expires_at`."""

    key: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ProviderLink:
    """Maps a payment provider's object id (pi_..., cus_...) to Tenure's id."""

    provider: str
    object_id: str
    tenure_id: str


@dataclass(frozen=True, slots=True)
class Redemption:
    """One more redemption of a coupon, counted by the commit that gives the discount: the
    count moves only while under `max_redemptions` (a conditional write, so of two commits
    racing for the last redemption exactly one is written), and a commit that finds the
    coupon used up fails as a whole with ValidationFailedError("coupon", ...)."""

    coupon_id: str
    max_redemptions: int | None


def used_up(coupon_id: str) -> str:
    """Why a redemption was refused at commit: the coupon reached its maximum meanwhile."""
    return f"coupon {coupon_id!r} has reached its max_redemptions"


def programs_moved(version: int) -> str:
    """Why a programs write was refused at commit: another write came first."""
    return (
        f"the programs are no longer at version {version}: another write came first; "
        "read them again and send your change against the version you read"
    )


@dataclass(frozen=True, slots=True)
class CopyCheck:
    """What an email written from a notice's copies claims on: the customer's contact is
    still `contact`, its address is not suppressed, and (with `subscription_id`) the
    subscription is still at `subscription_version`, and (with `invoice_id`) the invoice
    is still at `invoice_version`, and (with `late_under`) the customer is no late payer.
    A commit carrying a check that fails writes nothing and raises StaleCopyError (checked
    in that order)."""

    customer_id: str
    contact: Contact
    subscription_id: str | None = None
    subscription_version: int | None = None
    # The customer has fewer late invoices than this on record, ever (NoticeStore
    # .late_invoices): it cannot be a late payer, whatever the window. None: not checked.
    late_under: int | None = None
    invoice_id: str | None = None
    invoice_version: int | None = None


@dataclass(frozen=True, slots=True)
class EmailMove:
    """A customer's entry in the email search index moving with a write of the customer: from
    `old` (None: nothing to remove) to `new` (None: nothing to put, as after an erasure).
    Case does not count: the index holds emails in lower case."""

    customer_id: str
    old: str | None
    new: str | None


@dataclass(slots=True)
class Commit:
    """Everything one business change writes, committed atomically or not at all.

    Entities carry the version they were read at; the store writes version + 1 on the
    condition that the stored version is still the one read (0 means "must not exist").
    """

    customers: list[Customer] = field(default_factory=list)
    payment_methods: list[PaymentMethod] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    coupons: list[Coupon] = field(default_factory=list)  # created: an id is never reused
    redemptions: list[Redemption] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    # Refunds Tenure made (created once: two commits of the same refund id, one fails whole).
    refunds: list[Refund] = field(default_factory=list)
    # Save offers presented or decided (one item per subscription, version-checked).
    save_attempts: list[SaveAttempt] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    ledger: list[MrrLedgerEntry] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    provider_links: list[ProviderLink] = field(default_factory=list)
    # Emails owed. A new notice (version 0) is written whatever is stored under its key: the
    # send claim (a marker) is what keeps an email from going out twice, not the notice.
    notices: list[Notice] = field(default_factory=list)
    # Subscriptions that take their customer's new payment details (by id: written whatever
    # else changed on them, and their version moves, so a renewal holding an older copy
    # loses its claim). Never together with the same subscription in `subscriptions`.
    payer_copies: list[tuple[str, Payer]] = field(default_factory=list)
    # The customers' payment details must still be these, or nothing is written: a charge
    # made from a subscription's copy claims only if the copy was right.
    payer_checks: list[Payer] = field(default_factory=list)
    # Checks of the copies an email was written from (see CopyCheck): a send claims only
    # while what it says is still true, without reading it first.
    copy_checks: list[CopyCheck] = field(default_factory=list)
    # Markers given back: a claim whose effect is known not to have happened (an email SES
    # refused for now) is released so that a later run may try again.
    released_markers: list[str] = field(default_factory=list)
    # Customers' MRR states a read of this change already fetched (EventReads.mrr): the
    # store stamps the ledger from them instead of reading them again.
    mrr_read: list["MrrRead"] = field(default_factory=list)
    # The retention programs' new document (one at most), carrying the version it replaces:
    # written as version + 1 only while the stored one is still that version (0: none yet).
    programs: list[ProgramsSetting] = field(default_factory=list)
    # Loyalty points that move (tenure.domain.points): balances added to, entries written
    # once, a redemption only while the balance covers it.
    points: list[PointsMove] = field(default_factory=list)
    # Installment plans created or changed (version-checked), with their events.
    installment_plans: list[InstallmentPlan] = field(default_factory=list)
    # Collections cases opened or changed (version-checked), with their events.
    collection_cases: list[CollectionCase] = field(default_factory=list)
    # Credit notes issued (created once; each takes the next number of a credit-note
    # series in this commit, as a new invoice does of an invoice series).
    credit_notes: list[CreditNote] = field(default_factory=list)
    # Customers' time zones the use case read (customer id, IANA zone), never written: the
    # planner times the emails the change makes owed by them without a read of its own.
    zones: list[tuple[str, str]] = field(default_factory=list)
    # Customers' contacts the use case holds (customer id, the contact as read or as a
    # subscription's copy of it), never written: the receipts the change plans carry them,
    # to be checked when sent (CopyCheck), so that sending reads no customer.
    contacts: list[tuple[str, Contact]] = field(default_factory=list)
    # Audit entries of the change (tenure.domain.audit): created once, with the change or
    # not at all, so an entry always means the change it records happened.
    audit: list[AuditEntry] = field(default_factory=list)
    # Plans given a new price change (tenure.domain.prices): written whole, only while the
    # stored plan still has one change fewer, so two changes made at once cannot both land.
    plan_updates: list[Plan] = field(default_factory=list)
    # Customers' entries in the email search index that move with this change (a changed
    # email, an erasure), so the index never names an email the customer no longer has.
    email_moves: list[EmailMove] = field(default_factory=list)
    # The automated actor whose work this change is (Services.acting_as), kept on each event
    # item it writes beside the event, never in it: what the audit trail names as the actor
    # of an automated change. None: a person's or an API caller's change.
    source: str | None = None
    # What the automated actor acted through, kept beside `source` (a portal link's purpose
    # and id, tenure.domain.audit.link_name; never the link's token). None: nothing named.
    via: str | None = None
    # Members of a price (price id, subscription id): written when a subscription joins a
    # plan or add-on (never by a renewal), so a price change can find whom to tell. Written
    # whatever is stored (joining twice is one membership); left when it leaves: the run that
    # tells a price's members reads each subscription and skips one that left.
    price_members: list[tuple[str, str]] = field(default_factory=list)
    # Runs telling a price change's subscribers (version-checked), due until finished.
    price_runs: list[PriceNoticeRun] = field(default_factory=list)
    # Customers' points accounts a read of this change already fetched whole (EventReads.
    # points): planning the points a refund takes back uses them instead of a query.
    points_read: list[PointsAccount] = field(default_factory=list)
    # Customers' subscriptions a read of this change already listed (catalog.save_payer), by
    # customer id, never written: saving the same customer's payer again in this change (the
    # provider customer made, then the card attached) lists them from here, not the index.
    subscriptions_read: dict[str, list[Subscription]] = field(default_factory=dict)
    # Customers who must still be there and not erased, or nothing is written: a card added
    # to a customer whose record the change does not write (its brand and last four digits
    # must not land after an erasure). A customer the change writes is held by its version.
    not_erased: list[str] = field(default_factory=list)

    def add_installment_plan(self, plan: InstallmentPlan) -> None:
        if not any(p is plan for p in self.installment_plans):
            self.installment_plans.append(plan)
        self.events.extend(plan.pull_events())

    def add_collection_case(self, case: CollectionCase) -> None:
        if not any(c is case for c in self.collection_cases):
            self.collection_cases.append(case)
        self.events.extend(case.pull_events())

    def check_payer_operations(self) -> None:
        """A subscription written in full does not also take a payer copy, nor is a customer
        written and checked at once: one transaction cannot do two things to one item."""
        written = {sub.id for sub in self.subscriptions}
        copied: set[str] = set()
        for sub_id, _ in self.payer_copies:
            if sub_id in written:
                raise ValueError(f"subscription {sub_id} is both written and given a payer copy")
            if sub_id in copied:
                raise ValueError(f"subscription {sub_id} is given two payer copies")
            copied.add(sub_id)
        for payer in self.payer_checks:
            if any(c.id == payer.customer_id for c in self.customers):
                raise ValueError(f"customer {payer.customer_id} is both written and checked")
        checked = {p.customer_id for p in self.payer_checks} | {
            c.customer_id for c in self.copy_checks
        }
        for customer_id in self.not_erased:
            if customer_id in checked:
                raise ValueError(f"customer {customer_id} is checked twice")

    def add_subscription(self, sub: Subscription) -> None:
        if any(s.id == sub.id for s in self.subscriptions):
            raise ValueError(f"subscription {sub.id} is already part of this commit")
        events, ledger = sub.pull_events()
        self.subscriptions.append(sub)
        self.events.extend(events)
        self.ledger.extend(ledger)
        if any(_joins_prices(e) for e in events):
            self.price_members.extend((price, sub.id) for price in sub.held_prices())


# What makes a subscription a member of prices it was not yet: it was created (or imported),
# moved to a plan, or took add-ons now or for its period's end. The renewal that takes
# scheduled add-ons writes nothing: they joined when they were scheduled.
_JOINING = frozenset(
    {
        EventType.SUBSCRIPTION_CREATED,
        EventType.SUBSCRIPTION_IMPORTED,
        EventType.PLAN_CHANGED,
        EventType.SUBSCRIPTION_ITEMS_CHANGED,
        EventType.SUBSCRIPTION_ITEMS_SCHEDULED,
    }
)


def _joins_prices(event: DomainEvent) -> bool:
    return event.type in _JOINING and not event.data.get("scheduled")


@dataclass(frozen=True, slots=True)
class DueItem:
    """Work due at `due_at`: `entity_id` is a subscription, an invoice or a charge attempt
    (a ChargeRef as text), as `kind.subject` says.

    `customer_id` is the customer the work belongs to, when the due index gave it.
    `subscription` is the subscription itself, as the due index holds it (whole items, read
    anyway): a charger renews from it without reading anything. The index lags the table,
    so it may be behind; the renewal's claim is version-checked against it."""

    entity_id: str
    due_at: datetime
    kind: DueKind
    customer_id: str | None = None
    subscription: Subscription | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class DueMessage:
    """One piece of due work as the renewal queue carries it: a DueItem, with what the
    charger needs and no more (its due time is not read: the work itself says whether it is
    still due). `snapshot_unreadable`: it carried a subscription that could not be read, or
    was not this work's; the charger reads the subscription instead."""

    kind: DueKind
    entity_id: str
    customer_id: str | None = None  # a read hint only: messages without it work the same
    subscription: Subscription | None = field(default=None, compare=False)
    snapshot_unreadable: bool = False


@dataclass(frozen=True, slots=True)
class MrrRead:
    """A customer's MRR state as a read found it, in the store's own form (`record`; None:
    nothing stored). Handed to the commit that follows in `Commit.mrr_read`, it spares that
    commit a read; the write is conditional on it, so a stale one costs a second try, never
    a wrong figure."""

    customer_id: str
    record: Any = field(default=None, compare=False)


@dataclass(slots=True)
class EventReads:
    """What one provider event's effect starts from, read in one request
    (`Repository.read_for_event`): whether its marker is there, and the objects it concerns.
    Whatever was not asked for, or is not stored, is None."""

    marked: bool = False
    linked: str | None = None  # the Tenure id the provider object maps to
    invoice: Invoice | None = None
    charge: Charge | None = None
    subscription: Subscription | None = None
    mrr: MrrRead | None = None  # when `customer_id` was named: for the commit's `mrr_read`
    # When `points_of` was named and that customer has no points account: the account, empty
    # (nothing ever earned, so nothing to take back). None when not asked or when one exists.
    points: PointsAccount | None = None


@dataclass(slots=True)
class IdempotencyRecord:
    key: str
    fingerprint: str
    status: str  # "in_progress" | "done" | "erased" (its answer named an erased customer)
    response: dict[str, Any] | None = None


# -- The store, by role ---------------------------------------------------------------------
# Each component depends on the role it uses, so a fake of one role is small; the DynamoDB
# store and the in-memory one play them all (`Repository`).


class BillingStore(Protocol):
    """Customers, the catalog, subscriptions, invoices and charges; the atomic commit; the
    due index the renewals scheduler reads; provider events' first read."""

    def get_customer(self, customer_id: str) -> Customer | None: ...
    # A hint, changing nothing: a commit soon numbers a document of `kind` created at `at`
    # (docs/invoices.md). A store that reads a number series' counter before its first
    # commit may read it with the next customer read instead of by a request of its own.
    def expect_numbering(self, kind: NumberedKind, at: datetime) -> None: ...
    def list_customers(
        self, limit: int, after: str | None = None
    ) -> tuple[list[Customer], str | None]: ...
    # Customers whose email starts with `prefix` (compared in lower case), by email then id,
    # at most `limit`: from the email index a customer's creation writes (docs/console.md).
    def find_customers_by_email(self, prefix: str, limit: int) -> list[tuple[str, str]]: ...
    # Index these customers' emails (the backfill of customers created before the index);
    # writing one twice changes nothing. Returns how many were written.
    def index_customer_emails(self, customers: list[Customer]) -> int: ...
    def list_payment_methods(self, customer_id: str) -> list[PaymentMethod]: ...
    # May be a copy up to a minute old (a renewal's read: a price change is announced weeks
    # ahead); `get_current_plan` reads past it for anyone about to show or change the plan.
    def get_plan(self, plan_id: str) -> Plan | None: ...
    def get_current_plan(self, plan_id: str) -> Plan | None: ...
    def list_plans(self) -> list[Plan]: ...
    def get_coupon(self, coupon_id: str) -> Coupon | None: ...
    def list_coupons(self) -> list[Coupon]: ...
    # The retention programs (version 0, every program off, while none was ever written).
    # May be a copy up to a minute old (a renewal's read); `get_current_programs` reads past it
    # for anyone about to show or edit the document.
    def get_programs(self) -> ProgramsSetting: ...
    def get_current_programs(self) -> ProgramsSetting: ...
    # A customer's loyalty points: balance, pending and history (empty when none ever moved).
    def get_points(self, customer_id: str) -> PointsAccount: ...
    def get_subscription(self, subscription_id: str) -> Subscription | None: ...
    def get_subscription_with_customer(
        self, subscription_id: str, customer_id: str
    ) -> tuple[Subscription | None, Customer | None]: ...
    def list_subscriptions(self, customer_id: str) -> list[Subscription]: ...
    # A page of the subscriptions that joined price `price_id` (a plan or an add-on), in id
    # order after `after`; the cursor for the next page (None: that was the last).
    def price_members(
        self, price_id: str, limit: int, after: str | None = None
    ) -> tuple[list[str], str | None]: ...
    def get_price_run(self, change_id: str) -> PriceNoticeRun | None: ...
    def get_installment_plan(self, plan_id: str) -> InstallmentPlan | None: ...
    def list_installment_plans(self, customer_id: str) -> list[InstallmentPlan]: ...
    def get_collection_case(self, case_id: str) -> CollectionCase | None: ...
    def list_collection_cases(self, customer_id: str) -> list[CollectionCase]: ...
    def get_invoice(self, invoice_id: str) -> Invoice | None: ...
    def list_invoices(
        self, subscription_id: str, since: datetime | None = None
    ) -> list[Invoice]: ...
    def list_charges(self, invoice_id: str) -> list[Charge]: ...
    def get_charge(self, invoice_id: str, attempt: int) -> Charge | None: ...
    def list_refunds(self, invoice_id: str) -> list[Refund]: ...
    # An invoice's credit notes, oldest first.
    def list_credit_notes(self, invoice_id: str) -> list[CreditNote]: ...
    def get_save_attempt(self, subscription_id: str) -> SaveAttempt | None: ...
    def commit(self, change: Commit) -> None: ...
    def due(self, now: datetime, limit: int = 100) -> list[DueItem]: ...
    # Everything due at or before `now`, in pages of about `page`, each item once.
    def due_pages(self, now: datetime, page: int = 1000) -> Iterator[list[DueItem]]: ...
    def next_due_at(self) -> datetime | None: ...
    def has_marker(self, key: str) -> bool: ...
    # A provider event's first read, all at once: its marker, the provider link of the object
    # it is about, the invoice, the attempt and the subscription it names. `customer_id`
    # names the customer whose MRR the change may move: that customer's MRR state is read in
    # the same request and returned (`EventReads.mrr`) for the caller to hand to its commit.
    # `points_of` names a customer whose points account is read in it too (EventReads.points).
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
    ) -> EventReads: ...
    def find_provider_object(self, provider: str, object_id: str) -> str | None: ...


class NoticeStore(Protocol):
    """Emails owed (docs/emails.md), due ones from their own shards of the due index, and
    the addresses that bounced or complained (SES feedback): never written to again."""

    def due_notices(self, now: datetime, limit: int = 100) -> list[Notice]: ...
    def next_notice_at(self) -> datetime | None: ...
    def list_notices(self, customer_id: str) -> list[Notice]: ...
    def get_notice(self, key: str) -> Notice | None: ...
    def is_suppressed(self, email: str) -> bool: ...
    # Every late invoice of the customer (Invoice.late), as (period start, invoice id): kept
    # by `commit` from the invoices it writes, so the late-payer rule needs one read at most.
    def late_invoices(self, customer_id: str) -> list[tuple[datetime, str]]: ...
    def suppress(self, email: str, reason: str, at: datetime) -> None: ...
    # Each change committed on its own terms, as `commit` would (None, or the
    # ConcurrencyError/AlreadyExistsError/StaleCopyError it met), many emails' claims or
    # records packed into one transaction where the store can.
    def commit_each(self, changes: Sequence[Commit]) -> list[Exception | None]: ...


class MetricsStore(Protocol):
    """Retention metrics (docs/metrics.md): what the daily aggregator reads and writes.
    `commit` stamps each ledger entry with its customer's facts
    (tenure.domain.mrr.CustomerMrr.record), kept per customer and updated in the same
    transaction, and `ledger_between` returns the entries stamped."""

    def events_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]: ...
    def ledger_between(self, start: datetime, end: datetime) -> list[MrrLedgerEntry]: ...
    def save_snapshot(self, day: str, data: dict[str, Any]) -> None: ...
    def get_snapshot(self, day: str) -> dict[str, Any] | None: ...
    def get_snapshots(self, days: list[str]) -> dict[str, dict[str, Any]]: ...
    def get_invoices(self, invoice_ids: list[str]) -> dict[str, Invoice]: ...


class IdempotencyStore(Protocol):
    """The API's Idempotency-Key records (docs/api.md)."""

    def claim_idempotency(
        self, key: str, fingerprint: str, now: datetime
    ) -> IdempotencyRecord | None: ...
    # `customer_id`: the customer the request was about, whose erasure finds the record by
    # it (forget_idempotency) and drops the answer it stores.
    def complete_idempotency(
        self, key: str, response: dict[str, Any], now: datetime, customer_id: str | None = None
    ) -> None: ...
    def release_idempotency(self, key: str) -> None: ...
    # Drop the stored answers of the requests about `customer_id` (found by key, no scan),
    # keeping each record as "erased" so that its key never runs the request again; how
    # many were dropped.
    def forget_idempotency(self, customer_id: str) -> int: ...


class WebhookOutStore(Protocol):
    """The business's webhook endpoints and the deliveries of events to them
    (docs/webhooks-outbound.md). Endpoint changes other than create and delete are single
    conditional updates, so concurrent deliveries never lose one another's notes."""

    # Each change an operator asks for may carry its audit entry, written in the same
    # transaction (nothing of either when the change is refused).
    def add_webhook_endpoint(
        self, endpoint: WebhookEndpoint, audit: AuditEntry | None = None
    ) -> None: ...
    def get_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None: ...
    def list_webhook_endpoints(self) -> list[WebhookEndpoint]: ...
    # False: none was there
    def delete_webhook_endpoint(
        self, endpoint_id: str, audit: AuditEntry | None = None
    ) -> bool: ...
    def enable_webhook_endpoint(
        self, endpoint_id: str, audit: AuditEntry | None = None
    ) -> bool: ...
    # `rotated`'s secrets on the endpoint, if its secret is still `was`; False (nothing
    # written) when it is gone or its secret changed since it was read.
    def rotate_webhook_secret(
        self, endpoint_id: str, was: str, rotated: WebhookEndpoint, audit: AuditEntry | None = None
    ) -> bool: ...
    # A failed try: the endpoint's failing_since becomes `at` unless it is failing already.
    def note_webhook_failure(self, endpoint_id: str, at: datetime) -> None: ...
    def note_webhook_success(self, endpoint_id: str) -> None: ...
    # Disabled only while it has failed without a success since `since` (False otherwise).
    def disable_failing_webhook_endpoint(
        self, endpoint_id: str, since: datetime, reason: str
    ) -> bool: ...
    # Written once per id: False when that delivery exists already (an event seen twice).
    def add_webhook_delivery(self, delivery: WebhookDelivery) -> bool: ...
    def get_webhook_delivery(self, delivery_id: str) -> WebhookDelivery | None: ...
    # Version-checked (ConcurrencyError when another try wrote first); returns what was saved.
    def save_webhook_delivery(
        self, delivery: WebhookDelivery, now: datetime, audit: AuditEntry | None = None
    ) -> WebhookDelivery: ...
    # Newest first.
    def list_webhook_deliveries(self, endpoint_id: str, limit: int) -> list[WebhookDelivery]: ...


class AuditStore(Protocol):
    """Audit entries (docs/operations.md), in time order, a page at a time: `after` is the
    `order` of the last entry of the page before (None: from the first). Returns the page
    and the cursor of the next one (None: no more)."""

    def list_audit(
        self,
        *,
        entity: str | None = None,
        actor: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> tuple[list[AuditEntry], str | None]: ...
    def list_customer_audit(self, customer_id: str, limit: int) -> list[AuditEntry]: ...
    # The customer's events among those of the given days (`yyyy-mm-dd`) that an automated
    # actor committed, each with that actor (Commit.source) and what it acted through
    # (Commit.via), by moment then event id.
    def sourced_events(self, customer_id: str, days: list[str]) -> list[Sourced]: ...
    # The newest `limit` days (`yyyy-mm-dd`, oldest first) on which an automated commit
    # changed the customer without writing a record that names the day
    # (tenure.domain.audit.unnamed_days): with the days its records name, every day the
    # customer's automated changes are on.
    def activity_days(self, customer_id: str, limit: int) -> list[str]: ...
    # The events the automated `actor` committed at moments from `since` to `upto` (whole
    # seconds, both included), newest moments first, table-wide. Reading stops, at the end of
    # a moment (never inside one: a moment's events may make one entry), once about `budget`
    # items were read; then it returns the moment before which to go on (None: none left).
    def automated_events(
        self, actor: str, *, upto: datetime, since: datetime, budget: int
    ) -> tuple[list[Sourced], datetime | None]: ...
    # The stored entries of `actor` (people's, or a system actor's stored ones) whose order
    # is below `before` and from `since` on, newest first, at most `limit`.
    def list_actor_audit_newest(
        self, actor: str, *, before: str, since: datetime, limit: int
    ) -> list[AuditEntry]: ...


class PrivacyStore(Protocol):
    """Erasure (docs/privacy.md): the legal-hold record kept for tax law, and the rewrite of
    items written once (domain events, audit entries) that a version-checked commit cannot
    touch. Rewrites keep each item's keys: only the text erased changes."""

    def save_legal_hold(self, hold: LegalHold) -> None: ...
    def get_legal_hold(self, customer_id: str) -> LegalHold | None: ...
    # The events about the customer among those of the given days (`yyyy-mm-dd`): events
    # are kept by day, so the caller names the days its records point to (no scan).
    def customer_events(self, customer_id: str, days: list[str]) -> list[dict[str, Any]]: ...
    def rewrite_events(self, events: list[dict[str, Any]]) -> None: ...
    def rewrite_audit(self, entries: list[AuditEntry]) -> None: ...


class Repository(
    BillingStore,
    NoticeStore,
    MetricsStore,
    IdempotencyStore,
    AuditStore,
    WebhookOutStore,
    PrivacyStore,
    Protocol,
):
    """Every role: what the wired services hold."""
