"""The Stripe adapter: PaymentIntents through the official SDK, with our own keyed retries.

- Every POST carries the caller's deterministic idempotency key (the SDK would otherwise
  invent a random one per call, which cannot protect a replay after a crash).
- The SDK's own retries are off (`max_network_retries=0`): ours are the only ones, so they
  are counted and tested. 429, 409 (a concurrent request holds the key), 5xx and connection
  errors are retried with exponential backoff and full jitter, with the SAME key each time.
  A `Stripe-Should-Retry` header from Stripe overrides that choice.
- A `throttle` (tenure.payments.rate_limit) paces every HTTP attempt, retries and follow-up
  reads included: each one counts against the provider's rate limit.
- No answer after the retries raises `ProviderUnavailableError`: the outcome is UNKNOWN. A
  renewal is one request (`create_and_confirm_payment`: create with `confirm=true,
  off_session=true`), so its caller has no `pi_…` id yet; it reconciles by replaying the
  identical request under the same key while Stripe surely keeps it, else by listing the
  customer's PaymentIntents in the attempt's time range (`find_payment`). Stripe saves "the
  status code and body of the first request made with a given idempotency key after
  endpoint execution begins. Retries with the same key return the saved response,
  including 500 errors", and keys may be pruned once "at least 24 hours old", after which
  the same key makes a new request (https://docs.stripe.com/api/idempotent_requests,
  https://docs.stripe.com/idempotency). Search is eventually consistent and not offered
  everywhere; the list endpoint filters by `customer` and `created`
  (https://docs.stripe.com/api/payment_intents/list).
- Card declines are outcomes, not exceptions: `confirm_payment` returns DECLINED (or
  AUTHENTICATION_REQUIRED) with the issuer's decline code.
"""

import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import stripe
from stripe.params import (
    CustomerCreateParams,
    CustomerUpdateParams,
    PaymentIntentListParams,
    RefundCreateParams,
)

from tenure.domain.charges import ChargeOutcome
from tenure.domain.money import Money
from tenure.payments.gateway import (
    CardDetails,
    GatewayError,
    IdempotencyConflictError,
    InvalidRequestError,
    PaymentAuthentication,
    PaymentResult,
    ProviderUnavailableError,
    RateLimitedError,
    StoredServerError,
)
from tenure.payments.rate_limit import Throttle
from tenure.payments.stripe_objects import payment_metadata, payment_result, stripe_amount

logger = logging.getLogger(__name__)
# The SDK logs request bodies (customer emails and names) at DEBUG and error messages at
# INFO on the "stripe" logger; keep those out of our logs whatever the root level is.
logging.getLogger("stripe").setLevel(logging.WARNING)

_T = TypeVar("_T")


def _same_id(customer_id: str) -> str:
    return customer_id


class StripeGateway:
    """PaymentGateway on Stripe. `provider_customer_for` maps Tenure's customer id to the
    Stripe customer (`cus_…`) the payment is made for (default: the id is already Stripe's).
    `sleep` and `rng` are injected so that tests run instantly and deterministically."""

    name = "stripe"

    def __init__(
        self,
        api_key: str,
        *,
        http_client: stripe.HTTPClient | None = None,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        provider_customer_for: Callable[[str], str] = _same_id,
        timeout_seconds: float = 30.0,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        throttle: Throttle | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._client = stripe.StripeClient(
            api_key,
            http_client=http_client or stripe.RequestsClient(timeout=timeout_seconds),
            max_network_retries=0,
        )
        self._max_retries = max_retries
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._provider_customer_for = provider_customer_for
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._throttle = throttle

    # -- customers and payment methods --------------------------------------------------------
    def create_customer(
        self,
        *,
        customer_id: str,
        email: str,
        name: str | None,
        idempotency_key: str,
        contact: str | None = None,
    ) -> str:
        params: CustomerCreateParams = {
            "email": email,
            "metadata": {"tenure_customer_id": customer_id},
        }
        if name:
            params["name"] = name
        if contact:
            params["phone"] = contact
        customer = self._call(
            "customers.create",
            lambda: self._client.v1.customers.create(params, {"idempotency_key": idempotency_key}),
        )
        return str(customer.id)

    def erase_customer(
        self, *, provider_customer_id: str, email: str, name: str, idempotency_key: str
    ) -> str:
        # An update, not a deletion: a deleted Stripe customer takes no further operation,
        # while an erased customer's past payments may still be refunded, disputed or
        # reconciled by listing the customer's payments (docs/privacy.md). An empty string
        # is how Stripe's API unsets a field.
        params: CustomerUpdateParams = {
            "name": name,
            "email": email,
            "phone": "",
            "description": "",
            "address": "",
            "shipping": "",
        }
        try:
            self._call(
                "customers.update",
                lambda: self._client.v1.customers.update(
                    provider_customer_id, params, {"idempotency_key": idempotency_key}
                ),
            )
        except InvalidRequestError as exc:
            if exc.code != "resource_missing":
                raise
            # Gone at Stripe (deleted there): nothing personal is left to erase.
        return provider_customer_id

    def update_phone(
        self, *, provider_customer_id: str, phone: str | None, idempotency_key: str
    ) -> str:
        # An empty string is how Stripe's API unsets a field: a removed phone is removed.
        params: CustomerUpdateParams = {"phone": phone or ""}
        self._call(
            "customers.update",
            lambda: self._client.v1.customers.update(
                provider_customer_id, params, {"idempotency_key": idempotency_key}
            ),
        )
        return provider_customer_id

    def attach_payment_method(
        self, *, provider_customer_id: str, payment_method: str, idempotency_key: str
    ) -> CardDetails:
        method = self._call(
            "payment_methods.attach",
            lambda: self._client.v1.payment_methods.attach(
                payment_method,
                {"customer": provider_customer_id},
                {"idempotency_key": idempotency_key},
            ),
        )
        data = method.to_dict()
        kind = str(data.get("type") or "card")
        details: Mapping[str, Any] = data.get(kind) or {}
        return CardDetails(
            brand=str(details.get("brand") or kind),
            last4=str(details.get("last4") or ""),
            exp_month=details.get("exp_month"),
            exp_year=details.get("exp_year"),
        )

    def create_setup_intent(self, *, provider_customer_id: str, idempotency_key: str) -> str:
        intent = self._call(
            "setup_intents.create",
            lambda: self._client.v1.setup_intents.create(
                {
                    "customer": provider_customer_id,
                    "usage": "off_session",  # renewals charge it with nobody present
                    "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                },
                {"idempotency_key": idempotency_key},
            ),
        )
        return str(intent.client_secret)

    # -- payments -----------------------------------------------------------------------------
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
        amount_value = stripe_amount(amount)
        customer = self._provider_customer_for(customer_id)
        intent = self._call(
            "payment_intents.create",
            lambda: self._client.v1.payment_intents.create(
                {
                    "amount": amount_value,
                    "currency": amount.currency.lower(),
                    "customer": customer,
                    "payment_method": payment_method,
                    "confirm": False,
                    # Off-session charges cannot follow a redirect; without this Stripe
                    # would ask for a return_url at confirmation.
                    "automatic_payment_methods": {
                        "enabled": True,
                        "allow_redirects": "never",
                    },
                    "metadata": payment_metadata(
                        invoice_id, attempt, subscription_id, tenure_customer_id
                    ),
                },
                {"idempotency_key": idempotency_key},
            ),
        )
        logger.info(
            "payment created",
            extra={"payment_id": intent.id, "invoice_id": invoice_id, "attempt": attempt},
        )
        return str(intent.id)

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
        amount_value = stripe_amount(amount)
        customer = self._provider_customer_for(customer_id)
        try:
            intent = self._call(
                "payment_intents.create",
                lambda: self._client.v1.payment_intents.create(
                    {
                        "amount": amount_value,
                        "currency": amount.currency.lower(),
                        "customer": customer,
                        "payment_method": payment_method,
                        "confirm": True,
                        "off_session": True,  # nobody is present: no 3-D Secure challenge
                        # Off-session payments cannot follow a redirect; without this
                        # Stripe would ask for a return_url.
                        "automatic_payment_methods": {
                            "enabled": True,
                            "allow_redirects": "never",
                        },
                        "metadata": payment_metadata(
                            invoice_id, attempt, subscription_id, tenure_customer_id
                        ),
                    },
                    {"idempotency_key": idempotency_key},
                ),
                declines_are_outcomes=True,
            )
            result = payment_result(intent.to_dict())
        except stripe.CardError as error:
            # A decline answers 402 with the PaymentIntent it created in the error's body.
            result = _declined(_intent_id(error), error)
        logger.info(
            "payment created and confirmed",
            extra={
                "payment_id": result.payment_id,
                "invoice_id": invoice_id,
                "attempt": attempt,
                "outcome": str(result.outcome),
                "decline_code": result.decline_code,
            },
        )
        return result

    def find_payment(
        self,
        *,
        customer_id: str,
        invoice_id: str,
        attempt: int,
        created_from: datetime,
        created_until: datetime,
    ) -> PaymentResult | None:
        customer = self._provider_customer_for(customer_id)
        wanted = payment_metadata(invoice_id, attempt, None, None)
        params: PaymentIntentListParams = {
            "customer": customer,
            "created": {
                "gte": int(created_from.timestamp()),
                "lte": int(created_until.timestamp()),
            },
            "limit": 100,
        }
        while True:
            page = self._call(
                "payment_intents.list",
                lambda: self._client.v1.payment_intents.list(params),
            )
            for intent in page.data:
                data = intent.to_dict()
                metadata = data.get("metadata") or {}
                if all(metadata.get(k) == v for k, v in wanted.items()):
                    return payment_result(data)
            if not page.has_more or not page.data:
                return None
            params["starting_after"] = str(page.data[-1].id)

    def confirm_payment(self, payment_id: str, *, idempotency_key: str) -> PaymentResult:
        try:
            intent = self._call(
                "payment_intents.confirm",
                lambda: self._client.v1.payment_intents.confirm(
                    payment_id, {"off_session": True}, {"idempotency_key": idempotency_key}
                ),
                declines_are_outcomes=True,
            )
            result = payment_result(intent.to_dict())
        except stripe.CardError as error:
            result = _declined(payment_id, error)
        except InvalidRequestError as error:
            if error.code != "payment_intent_unexpected_state":
                raise
            # Already confirmed (its key pruned after 24 h, say): what happened is what the
            # PaymentIntent says now.
            result = self.retrieve_payment(payment_id)
        logger.info(
            "payment confirmed",
            extra={
                "payment_id": payment_id,
                "outcome": str(result.outcome),
                "decline_code": result.decline_code,
            },
        )
        return result

    def retrieve_payment(self, payment_id: str) -> PaymentResult:
        intent = self._call(
            "payment_intents.retrieve",
            lambda: self._client.v1.payment_intents.retrieve(payment_id),
        )
        return payment_result(intent.to_dict())

    def payment_authentication(self, payment_id: str) -> PaymentAuthentication:
        intent = self._call(
            "payment_intents.retrieve",
            lambda: self._client.v1.payment_intents.retrieve(payment_id),
        ).to_dict()
        # After an off-session failure Stripe moves the method onto the error: that is the
        # one the customer authenticates.
        error = intent.get("last_payment_error") or {}
        method = intent.get("payment_method") or error.get("payment_method")
        if isinstance(method, Mapping):
            method = method.get("id")
        return PaymentAuthentication(
            payment_id=str(intent["id"]),
            client_secret=str(intent.get("client_secret") or ""),
            payment_method=str(method) if method else None,
        )

    def refund(self, *, payment_id: str, amount: Money | None, idempotency_key: str) -> str:
        params: RefundCreateParams = {"payment_intent": payment_id}
        if amount is not None:
            params["amount"] = stripe_amount(amount)
        refund = self._call(
            "refunds.create",
            lambda: self._client.v1.refunds.create(params, {"idempotency_key": idempotency_key}),
        )
        return str(refund.id)

    # -- retries and error mapping ------------------------------------------------------------
    def _call(
        self, operation: str, send: Callable[[], _T], *, declines_are_outcomes: bool = False
    ) -> _T:
        """Send, retrying what may succeed later; the request (and its key) never changes.

        A card error is raised as is when it is an outcome (confirming a payment); anywhere
        else (attaching a card Stripe refuses, say) it is an `InvalidRequestError` carrying
        the decline code.
        """
        retry = 0
        while True:
            if self._throttle is not None:
                self._throttle.acquire()
            try:
                return send()
            except stripe.CardError as error:
                if declines_are_outcomes:
                    raise
                raise InvalidRequestError(
                    f"{operation}: card refused",
                    code=_error_body(error).get("decline_code") or error.code,
                    param=error.param,
                ) from None
            except (stripe.RateLimitError, stripe.APIConnectionError, stripe.APIError) as error:
                if retry >= self._max_retries or not _retryable(error):
                    _raise_unavailable(operation, error, retry + 1)
                retry += 1
                delay = self._backoff(retry)
                logger.warning(
                    "stripe request retried",
                    extra={
                        "operation": operation,
                        "retry": retry,
                        "status": error.http_status,
                        "error": type(error).__name__,
                        "delay_s": round(delay, 3),
                    },
                )
                self._sleep(delay)
            except stripe.IdempotencyError as error:
                raise IdempotencyConflictError(
                    f"{operation}: idempotency key reused with other parameters",
                    code=_error_code(error),
                ) from None
            except stripe.InvalidRequestError as error:
                raise InvalidRequestError(
                    f"{operation} refused: {error.user_message}",
                    code=error.code,
                    param=error.param,
                ) from None
            except stripe.StripeError as error:  # authentication, permission, ...
                raise GatewayError(
                    f"{operation} failed: {type(error).__name__} (HTTP {error.http_status})",
                    code=error.code,
                ) from None

    def _backoff(self, retry: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(retry-1))] (AWS's backoff study)."""
        ceiling = min(self._max_delay, self._base_delay * 2 ** (retry - 1))
        return self._rng.uniform(0, ceiling)


def _replayed_server_error(error: stripe.StripeError) -> bool:
    """A 5xx Stripe saved under the key and sent again (`Idempotent-Replayed: true`)."""
    status = error.http_status
    replayed = str(_headers(error).get("idempotent-replayed", "")).lower() == "true"
    return replayed and status is not None and status >= 500


def _retryable(error: stripe.StripeError) -> bool:
    if _replayed_server_error(error):
        return False  # the same key answers the same saved error every time
    advice = _headers(error).get("stripe-should-retry")
    if advice in ("true", "false"):
        return advice == "true"
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    status = error.http_status
    return status is None or status == 409 or status >= 500


def _headers(error: stripe.StripeError) -> dict[str, Any]:
    """The response headers by lower-case name: HTTP header names are case-insensitive."""
    return {k.lower(): v for k, v in (error.headers or {}).items()}


def _raise_unavailable(operation: str, error: stripe.StripeError, attempts: int) -> NoReturn:
    what = f"{operation}: {type(error).__name__} (HTTP {error.http_status}) after {attempts} tries"
    if isinstance(error, stripe.RateLimitError):
        raise RateLimitedError(what, code="rate_limit") from None
    if _replayed_server_error(error):
        raise StoredServerError(what, code=_error_code(error)) from None
    raise ProviderUnavailableError(what, code=_error_code(error)) from None


def _error_body(error: stripe.StripeError) -> Mapping[str, Any]:
    body = error.json_body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return {}


def _error_code(error: stripe.StripeError) -> str | None:
    return error.code or _error_body(error).get("code")


def _intent_id(error: stripe.CardError) -> str:
    intent = _error_body(error).get("payment_intent")
    return str(intent.get("id") or "") if isinstance(intent, dict) else ""


def _declined(payment_id: str, error: stripe.CardError) -> PaymentResult:
    body = _error_body(error)
    intent = body.get("payment_intent")
    if isinstance(intent, dict) and intent.get("id"):
        result = payment_result(intent)
        if result.outcome in (ChargeOutcome.DECLINED, ChargeOutcome.AUTHENTICATION_REQUIRED):
            return result
    code = body.get("decline_code") or error.code
    if "authentication_required" in (error.code, body.get("decline_code")):
        return PaymentResult(
            payment_id, ChargeOutcome.AUTHENTICATION_REQUIRED, code or "authentication_required"
        )
    return PaymentResult(payment_id, ChargeOutcome.DECLINED, code)
