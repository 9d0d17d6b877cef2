"""The subscription's record: its fields, the events it records, and the queries that read
nothing but them.

Every part of `Subscription` (see tenure.domain.subscription) extends this one slotted
dataclass, adding methods only, so the fields are declared once, the in-memory store
copies them field by field (tenure.fakes_copy), and the type checker sees them in every
part."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tenure.domain.customers import Contact, Payer
from tenure.domain.discounts import Discount, TenureDiscount
from tenure.domain.due import DueKind
from tenure.domain.errors import IllegalTransitionError
from tenure.domain.events import DomainEvent, EventType, MrrLedgerEntry
from tenure.domain.prices import PriceStep
from tenure.domain.pricing import Items
from tenure.domain.subscription.states import ALLOWED, SubscriptionStatus
from tenure.domain.timeutil import iso, utc


@dataclass(slots=True)
class SubscriptionRecord:
    """The fields of a subscription, and the journal of what happened to it."""

    id: str
    customer_id: str
    plan_id: str
    currency: str
    status: SubscriptionStatus
    created_at: datetime
    anchor: datetime  # billing periods are counted from here, so month ends never drift
    periods_since_anchor: int
    cycle: int  # how many paid periods came before this one; drives intro pricing (-1 in trial)
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None = None
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    cancel_reason: str | None = None
    cancel_reason_text: str | None = None  # the customer's own words, with the reason
    # The days (yyyy-mm-dd) whose events carry those words: an erasure finds the events
    # there, since events are kept by day, not by customer (docs/privacy.md).
    words_on: tuple[str, ...] = ()
    paused_at: datetime | None = None
    paused_until: datetime | None = None
    incomplete_expires_at: datetime | None = None
    credit: int = 0  # minor units owed to the customer, used by the next invoice
    # Of `credit`, what each invoice's unused time (a pause, a plan or seat change) still
    # holds, by invoice id, so that a refund of that invoice takes back only its own credit
    # (tenure.domain.unused_credit); an invoice credited before this was kept is not listed.
    credit_kept: dict[str, int] = field(default_factory=dict)
    mrr: int = 0  # the monthly value last written to the ledger
    # The customer's IANA zone, copied at subscribe (a customer's zone is set once): emails
    # about this subscription are timed in it without reading the customer.
    timezone: str = "UTC"
    # The customer's default payment method and provider customer, copied whenever they change
    # (services.catalog.save_payer): a renewal charges without reading the customer, and its
    # claim checks the copy against the customer. None: no copy yet, read the customer.
    payment_method: str | None = None
    provider_customer_id: str | None = None
    provider: str | None = None  # the customer's provider (None: the default one)
    # The customer's contact, copied at subscribe (as the zone is): the emails about this
    # subscription are planned with it (Notice.contact). None: subscribed before copies.
    contact: Contact | None = None
    # A coupon redeemed for it, still to cover coming periods (None once used up), and the
    # one that priced the current period (for its MRR): see tenure.domain.discounts.
    discount: Discount | None = None
    period_discount: Discount | None = None
    # Continuous paid time, for the tenure discount: when it began (the first paid period's
    # start; None before that, and once lost to an end or to `unpaid`) and the seconds spent
    # paused since, which push each step back by as long. The step the current period earned
    # (None: none, or the programs had no ladder when it opened).
    continuity_start: datetime | None = None
    paused_seconds: int = 0
    period_tenure: TenureDiscount | None = None
    # Loyalty points its customer redeemed, to credit on its next period invoice
    # (tenure.domain.points): the renewal that builds it reads nothing else.
    points_pending: int = 0
    # A plan change's charge that could not be debited on its own (a UPI mandate allows one
    # debit a cycle), in minor units with its tax: the next period invoice carries it.
    carried: int = 0
    # Seats of its plan and its add-ons (tenure.domain.pricing), and a change of them
    # scheduled for the period's end (a downgrade keeps what was paid for until then).
    items: Items = field(default_factory=Items)
    scheduled_items: Items | None = None
    # Its own dates for the plan's price changes it has noted (tenure.domain.prices), and
    # when it moved to its plan (None: it was created on it): it joined the plan then, so a
    # change already in effect by that moment is its price from the start.
    price_steps: tuple[PriceStep, ...] = ()
    plan_since: datetime | None = None
    # Whether its customer's record lists it (Customer.subscription_ids): then every change
    # of the customer's card reaches its copy in the same transaction, and a charge whose
    # claim writes it at the copy's version needs no check of the customer. Made true by
    # `subscribe`; the commit that creates it lists it, or makes it false when the card
    # changed meanwhile (tenure.listings). False: made before customers listed theirs, by
    # an import, or so.
    listed: bool = False
    version: int = 0
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)
    ledger: list[MrrLedgerEntry] = field(default_factory=list, repr=False, compare=False)

    # -- queries ----------------------------------------------------------------------------
    @property
    def payer(self) -> Payer:
        """The copy of the customer's payment details (see the fields)."""
        return Payer(
            self.customer_id, self.payment_method, self.provider_customer_id, self.provider
        )

    @property
    def ended(self) -> bool:
        """Nothing will ever be charged for it again."""
        return self.status is SubscriptionStatus.CANCELED

    def next_due(self) -> tuple[datetime, DueKind] | None:
        """When the scheduler must next look at this subscription, and why."""
        if self.status in (
            SubscriptionStatus.TRIALING,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.PAST_DUE,
        ):
            return self.current_period_end, DueKind.RENEWAL
        if self.status is SubscriptionStatus.PAUSED and self.paused_until is not None:
            return self.paused_until, DueKind.PAUSE_END
        if self.status is SubscriptionStatus.INCOMPLETE and self.incomplete_expires_at is not None:
            return self.incomplete_expires_at, DueKind.EXPIRE
        return None

    def pull_events(self) -> tuple[list[DomainEvent], list[MrrLedgerEntry]]:
        events, ledger = self.events, self.ledger
        self.events, self.ledger = [], []
        return events, ledger

    def copy_payer(self, payer: Payer) -> None:
        """Take the customer's current payment details."""
        if payer.customer_id != self.customer_id:
            raise ValueError(f"{payer.customer_id} does not pay for subscription {self.id}")
        self.payment_method = payer.payment_method
        self.provider_customer_id = payer.provider_customer_id
        self.provider = payer.provider

    def record_import(self, at: datetime, **facts: Any) -> None:
        """It was taken over from another billing system (tenure.domain.imported) at `at`."""
        self._record(EventType.SUBSCRIPTION_IMPORTED, at, **facts)

    # -- the journal ------------------------------------------------------------------------
    def _require(self, command: str) -> None:
        if self.status not in ALLOWED[command]:
            raise IllegalTransitionError(command, self.status)

    def _period(self) -> dict[str, Any]:
        return {
            "period_start": iso(self.current_period_start),
            "period_end": iso(self.current_period_end),
        }

    def _record(self, event_type: EventType, at: datetime, **data: Any) -> None:
        seq = self.version * 100 + len(self.events)
        self.events.append(
            DomainEvent(event_type, self.id, self.customer_id, utc(at), seq, data=data)
        )
