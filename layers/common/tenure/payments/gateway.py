"""The PaymentGateway port: what Tenure asks of a payment provider.

Idempotency, for every adapter:
- every call that can change something on the provider (a POST) carries a deterministic
  idempotency key chosen by the caller, e.g. `charge:{invoice_id}:{attempt}:create`; the
  same key sent again, after a crash or a timeout, returns the first answer and moves no
  money a second time;
- a reused key never carries different parameters: the key names one business action, so
  the caller derives it from everything that action depends on. A provider that sees the
  same key with other parameters refuses (`IdempotencyConflictError`) instead of guessing;
- reads (`retrieve_payment`) carry no key: they change nothing.

Errors are typed so that callers never match message text:
- `ProviderUnavailableError`: timeouts, connection failures and 5xx after the adapter's
  retries. The request may or may not have taken effect, so the outcome is UNKNOWN: never
  treat it as a decline; reconcile by retrieving the stored payment id, or (none stored) by
  replaying the identical request while the provider keeps its key, else `find_payment`.
- `RateLimitedError`: the provider refused before doing anything (HTTP 429) and kept
  refusing through the retries; nothing happened, the same call can be made later.
- `InvalidRequestError`: the provider refused the parameters (a bug or stale data);
  retrying the same call cannot help.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NotRequired, Protocol, TypedDict

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money


@dataclass(frozen=True, slots=True)
class PaymentResult:
    payment_id: str
    outcome: ChargeOutcome
    decline_code: str | None = None


class CardDetails(TypedDict):
    """What may be shown about an attached payment method (never the number)."""

    brand: str  # "visa", "mastercard", ... or the method type for non-cards ("sepa_debit")
    last4: str
    exp_month: int | None  # None for methods that do not expire (bank debits)
    exp_year: int | None
    # A mandate's terms, from providers that charge on one (Razorpay recurring tokens):
    # "card" or "upi", and the most one debit may take, in minor units.
    mandate_kind: NotRequired[str]
    mandate_max_amount: NotRequired[int]


@dataclass(frozen=True, slots=True)
class CheckoutOrder:
    """What a provider's checkout in the browser needs to let the customer pay, present, an
    order the provider already holds (Razorpay Checkout: a debit above the mandate's
    no-authentication limit). The key id is public (it names the account, it signs nothing)."""

    key_id: str
    order_id: str
    amount: Money
    # Put on the payment the checkout makes, so that its webhook names the invoice and attempt.
    notes: Mapping[str, str]
    provider_customer_id: str | None = None
    email: str = ""  # prefilled in the checkout, so the customer need not type them
    contact: str = ""


@dataclass(frozen=True, slots=True)
class CheckoutAnswer:
    """What the checkout hands the page once the customer paid: the payment, its order, and
    the provider's signature of both. Comes through the customer's browser, so it is believed
    only once `verify_checkout` has checked the signature and read the payment back."""

    payment_id: str
    order_id: str
    signature: str


@dataclass(frozen=True, slots=True)
class MandateTerms:
    """What a new mandate lets Tenure debit (Razorpay's registration order's `token`): by
    `method` ("upi" | "card"), at most `max_amount` a debit, until `expire_at`, whenever a
    debit is presented (`frequency`)."""

    method: str
    max_amount: Money
    expire_at: datetime
    frequency: str = "as_presented"


@dataclass(frozen=True, slots=True)
class VerifiedMandate:
    """A new mandate's registration, once verified: the token it made, and the payment that
    authorised it (Razorpay: ₹1, captured; not revenue, so Tenure gives it back)."""

    token: str
    payment_id: str
    order_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class ReportedRegistration:
    """A registration payment the provider reported by webhook, read back from the provider:
    the Tenure customer its order was made for (the order's own notes, not the webhook's),
    the provider's customer who paid, and the payment. `token` is the mandate it made, if
    any: kept for the record, never attached from here."""

    tenure_customer_id: str
    provider_customer_id: str
    payment_id: str
    order_id: str
    amount: Money
    token: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentAuthentication:
    """What a browser needs to let the customer authenticate a payment on-session (3-D
    Secure): the payment's client secret and the method it was attempted with. A provider
    whose customers pay in its own checkout instead gives `checkout` (and no client secret)."""

    payment_id: str
    client_secret: str
    payment_method: str | None
    checkout: CheckoutOrder | None = None


class GatewayError(Exception):
    """A payment provider call failed; `code` is the provider's error code when it gave one."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class ProviderUnavailableError(GatewayError):
    """No answer (timeout, connection, 5xx) after retries: the outcome is UNKNOWN, not failed."""


class StoredServerError(ProviderUnavailableError):
    """The provider answered with the server error it saved under this idempotency key when
    it first ran the request (Stripe saves 500s too): replaying the key only repeats it, and
    what the request did is found only by looking the payment up. Unlike a timeout, it says
    no request under the key is still running."""


class RateLimitedError(GatewayError):
    """The provider refused the request before doing anything (HTTP 429), through all retries."""


class InvalidRequestError(GatewayError):
    """The provider refused the parameters; the same call will be refused again."""

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message, code=code)
        self.param = param


class IdempotencyConflictError(InvalidRequestError):
    """A key was reused with different parameters (a key-derivation bug upstream)."""


class UnverifiedCheckoutError(InvalidRequestError):
    """A checkout's answer did not check out: its signature is not the provider's, or it
    names a payment of another order. Nothing it claims is believed."""


class PaymentGateway(Protocol):
    """A payment provider. Every POST carries the caller's deterministic idempotency key."""

    name: str

    def create_customer(
        self,
        *,
        customer_id: str,
        email: str,
        name: str | None,
        idempotency_key: str,
        contact: str | None = None,
    ) -> str:
        """Create the provider's customer for Tenure's `customer_id`; returns its id (cus_...).
        `contact`: the customer's phone (E.164), when they gave one."""
        ...

    def attach_payment_method(
        self, *, provider_customer_id: str, payment_method: str, idempotency_key: str
    ) -> CardDetails:
        """Attach a payment method (pm_...) to the provider's customer; returns what may be
        shown of it (brand, last4, expiry)."""
        ...

    def erase_customer(
        self, *, provider_customer_id: str, email: str, name: str, idempotency_key: str
    ) -> str:
        """Replace the personal data the provider's customer holds (name, email, phone,
        address) with the pseudonym `name` and `email`, keeping the record and its payments
        (docs/privacy.md). Asking twice changes nothing more; a customer the provider no
        longer has is already erased there. Returns the provider's customer id."""
        ...

    def update_phone(
        self, *, provider_customer_id: str, phone: str | None, idempotency_key: str
    ) -> str:
        """Give the provider's customer the customer's phone (E.164), or remove it (None)
        where the provider allows. Asking twice changes nothing more. Returns the provider's
        customer id."""
        ...

    def create_setup_intent(self, *, provider_customer_id: str, idempotency_key: str) -> str:
        """Start saving a card for later off-session charges (the customer types it into the
        provider's own form); returns the client secret the browser needs. The card comes
        back through the provider's webhooks (`setup_intent.succeeded`)."""
        ...

    def payment_authentication(self, payment_id: str) -> PaymentAuthentication:
        """What the customer's browser needs to authenticate this payment (a read: no key)."""
        ...

    def create_payment(
        self,
        *,
        amount: Money,
        customer_id: str,
        payment_method: str,
        invoice_id: str,
        attempt: int,
        idempotency_key: str,
        subscription_id: str | None = None,
        tenure_customer_id: str | None = None,
    ) -> str:
        """Create (not yet confirm) a payment; returns the provider's payment id.

        No money moves here: the caller stores the id with its claim, then confirms.
        The payment carries Tenure's invoice id and attempt (and, when given, the
        subscription and Tenure's customer id) where the provider's events repeat them
        (Stripe metadata), so that a webhook reads what it concerns in one request.
        """
        ...

    def confirm_payment(self, payment_id: str, *, idempotency_key: str) -> PaymentResult:
        """Confirm the payment off-session (the customer is not present): money moves."""
        ...

    def create_and_confirm_payment(
        self,
        *,
        amount: Money,
        customer_id: str,
        payment_method: str,
        invoice_id: str,
        attempt: int,
        idempotency_key: str,
        subscription_id: str | None = None,
        tenure_customer_id: str | None = None,
    ) -> PaymentResult:
        """Create the payment and confirm it off-session in one request: money moves. The
        money path's only call per attempt (Stripe: create with `confirm=true,
        off_session=true`). Parameters and metadata as `create_payment`; a decline is an
        outcome, not an error. The same key with the same parameters replays the first
        answer while the provider keeps the key (Stripe: at least 24 hours), a stored 5xx
        included."""
        ...

    def find_payment(
        self,
        *,
        customer_id: str,
        invoice_id: str,
        attempt: int,
        created_from: datetime,
        created_until: datetime,
    ) -> PaymentResult | None:
        """The payment made for this invoice and attempt (matched by the metadata Tenure
        wrote on it) among the customer's payments created in [from, until], or None when
        there is none: a read, for reconciling an attempt whose request went unanswered
        once its key can no longer be replayed."""
        ...

    def retrieve_payment(self, payment_id: str) -> PaymentResult:
        """The payment's current outcome (a read: no key). A payment that was created but
        never confirmed is UNKNOWN: confirming it with the same key is safe."""
        ...

    def refund(self, *, payment_id: str, amount: Money | None, idempotency_key: str) -> str:
        """Refund `amount` (None: what is left) of a succeeded payment; returns the refund id."""
        ...
