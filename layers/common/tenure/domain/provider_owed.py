"""Work a customer's payment provider is still owed after Tenure committed a change: a new
phone to send to the provider's customer, the registration payment of a new mandate to
give back, and a provider customer being made whose id Tenure has not stored yet. Each is
recorded on the customer in the commit that makes it owed (the last one before the call)
and done by the due work after it, so a provider that does not answer delays it and a
request that dies never loses it."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

# Provider work the provider did not answer waits, doubling from 5 minutes, at most 6 hours
# between tries: an erasure, a phone and a registration's refund alike.
FIRST_WAIT = timedelta(minutes=5)
MAX_WAIT = timedelta(hours=6)
# A request that makes a provider customer takes seconds: a mark still there this long after
# it was written belongs to a request that died (a crash, a timeout) or whose commit lost.
PENDING_CUSTOMER_GRACE = timedelta(minutes=10)
# Stripe may prune an idempotency key once it is 24 hours old, and the same key then makes a
# new customer: a mark is replayed only within 23 hours of it, as a charge attempt is.
REPLAY_WINDOW = timedelta(hours=23)


def next_wait(tries: int) -> timedelta:
    """How long to wait before the next try, after `tries` tries the provider did not answer."""
    return min(FIRST_WAIT * 2**tries, MAX_WAIT)


@dataclass(frozen=True, slots=True)
class PhoneSync:
    """The phone the provider's customer should carry (None: the customer removed theirs),
    owed since `asked_at`. `sent_at` once the provider took it; `failure` once it refused
    for good (a person decides; no longer due)."""

    phone: str | None
    asked_at: datetime
    next_try_at: datetime
    tries: int = 0
    sent_at: datetime | None = None
    failure: str | None = None

    @property
    def pending(self) -> bool:
        return self.sent_at is None and self.failure is None

    @property
    def idempotency_key_suffix(self) -> str:
        # One change, one key: the same phone given again later is another change, which a
        # provider replaying the first answer would otherwise swallow.
        return self.asked_at.strftime("%Y%m%dT%H%M%S%fZ")

    def tried_again(self, now: datetime, wait: timedelta) -> "PhoneSync":
        return replace(self, tries=self.tries + 1, next_try_at=now + wait)

    def done(self, now: datetime) -> "PhoneSync":
        return replace(self, sent_at=now)

    def refused(self, code: str) -> "PhoneSync":
        return replace(self, failure=code)


@dataclass(frozen=True, slots=True)
class RegistrationPayment:
    """What the customer paid at the provider to authorise a new mandate (Razorpay's
    registration order: ₹1, captured). Not revenue and owed for nothing, so it is refunded
    in full: owed from the commit that records it, `refund_id` once the provider made the
    refund, `failure` once it refused for good (a person decides)."""

    payment_id: str
    order_id: str
    amount: int  # minor units of `currency`
    currency: str
    at: datetime
    next_try_at: datetime
    tries: int = 0
    refund_id: str | None = None
    refunded_at: datetime | None = None
    failure: str | None = None

    @property
    def pending(self) -> bool:
        return self.refund_id is None and self.failure is None

    @property
    def charge_id(self) -> str:
        """Its id among the charges (state.json)."""
        return f"ch_mnd_{self.payment_id}"

    @property
    def refund_key(self) -> str:
        """The refund's idempotency key: one refund per registration payment, however often
        it is asked for."""
        return f"refund:mandate:{self.payment_id}"

    def tried_again(self, now: datetime, wait: timedelta) -> "RegistrationPayment":
        return replace(self, tries=self.tries + 1, next_try_at=now + wait)

    def refunded(self, refund_id: str, now: datetime) -> "RegistrationPayment":
        return replace(self, refund_id=refund_id, refunded_at=now)

    def refused(self, code: str) -> "RegistrationPayment":
        return replace(self, failure=code)


@dataclass(frozen=True, slots=True)
class ProviderCustomerPending:
    """A provider customer being made for the customer under `idempotency_key` at `provider`
    (the customer's name and email go with it), written before the provider is called and
    cleared in the commit that stores the provider's id (docs/privacy.md). Still there after
    the request: the request died or lost its commit, and the provider may hold a customer
    Tenure does not know; the due work replays the same call under the same key, which
    answers that customer, and stores it. `failure` once it could not be (the key too old to
    replay, the provider refusing, the customer erased meanwhile): a person looks (no
    longer due)."""

    provider: str
    idempotency_key: str
    at: datetime
    next_try_at: datetime
    tries: int = 0  # replays the provider did not answer
    failure: str | None = None

    @classmethod
    def written(cls, provider: str, key: str, now: datetime) -> "ProviderCustomerPending":
        return cls(provider, key, now, now + PENDING_CUSTOMER_GRACE)

    @property
    def pending(self) -> bool:
        return self.failure is None

    def replayable(self, now: datetime) -> bool:
        """Whether the provider surely still keeps the key (REPLAY_WINDOW)."""
        return now < self.at + REPLAY_WINDOW

    def tried_again(self, now: datetime, wait: timedelta) -> "ProviderCustomerPending":
        # Never past the window: the last try falls at its end, where it is given up.
        last = self.at + REPLAY_WINDOW
        return replace(self, tries=self.tries + 1, next_try_at=min(now + wait, last))

    def refused(self, code: str) -> "ProviderCustomerPending":
        return replace(self, failure=code)
