"""Why a delivery was refused before anything was changed; the handler maps each to a status."""


class WebhookRefused(Exception):
    """Refused with `status`; `error` is a short machine-readable reason, `message` a short
    human one. Neither ever repeats what the caller sent."""

    status = 400
    error = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SignatureError(WebhookRefused):
    """Missing, malformed or wrong signature, or a timestamp outside the tolerance."""

    error = "invalid_signature"


class MalformedEventError(WebhookRefused):
    """The body is not JSON, or not an event of the provider's shape. Before the signature
    is verified this is a 400; after, the delivery is recorded as rejected and answered 200
    (see `tenure.webhooks.model.RejectedEvent`)."""

    error = "malformed_event"


class MalformedHeaderError(WebhookRefused):
    """A header the provider does not sign (Razorpay's event id) is not of its shape."""

    error = "malformed_header"


class PayloadTooLargeError(WebhookRefused):
    status = 413
    error = "payload_too_large"


class UnknownProviderError(WebhookRefused):
    status = 404
    error = "unknown_provider"


class SecretNotConfiguredError(WebhookRefused):
    """No signing secret for this provider: our fault, so a 5xx and the provider retries."""

    status = 503
    error = "webhook_secret_not_configured"
