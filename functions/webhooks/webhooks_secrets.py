"""Webhook signing secrets, per provider; two (or more) are valid at once during a rollover.

Where they come from, first found wins:
- `TENURE_<PROVIDER>_WEBHOOK_SECRET` (local work): comma-separated, e.g. `whsec_new,whsec_old`;
- the Secrets Manager secret named by `WEBHOOK_SECRET_ARN` (AWS): either a JSON object by
  provider, `{"stripe": ["whsec_new", "whsec_old"], "razorpay": "…"}` (a value may be a list
  or a comma-separated string), or a plain string, which is Stripe's secret(s), as
  docs/deploy.md creates it.
The value from Secrets Manager is cached for five minutes; when no secret matches a
delivery, it is fetched again (at most once a minute), so a rotated secret is picked up at
once.
"""

import json
import os
import time
from typing import Any

from aws_lambda_powertools.utilities import parameters

from tenure.webhooks.errors import SecretNotConfiguredError

ARN_ENV = "WEBHOOK_SECRET_ARN"
CACHE_SECONDS = 300
REFRESH_EVERY_SECONDS = 60.0  # a flood of bad signatures cannot turn into a flood of fetches
PLAIN_SECRET_PROVIDER = "stripe"
_last_refresh = 0.0


def env_name(provider: str) -> str:
    return f"TENURE_{provider.upper()}_WEBHOOK_SECRET"


def _split(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return tuple(s.strip() for s in items if isinstance(s, str) and s.strip())


def _from_secret_string(provider: str, text: str) -> tuple[str, ...]:
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            by_provider = json.loads(stripped)
        except ValueError:
            return ()
        return _split(by_provider.get(provider)) if isinstance(by_provider, dict) else ()
    return _split(stripped) if provider == PLAIN_SECRET_PROVIDER else ()


def secrets_for(provider: str, refresh: bool = False) -> tuple[str, ...]:
    """The provider's current secrets; SecretNotConfiguredError when there are none."""
    local = _split(os.environ.get(env_name(provider)))
    if local:
        return local
    arn = os.environ.get(ARN_ENV, "")
    if arn:
        value = parameters.get_secret(arn, max_age=CACHE_SECONDS, force_fetch=refresh)
        text = value.decode() if isinstance(value, bytes) else str(value or "")
        found = _from_secret_string(provider, text)
        if found:
            return found
    raise SecretNotConfiguredError(f"no webhook signing secret is configured for {provider}")


def may_refresh() -> bool:
    """Whether a forced fetch is allowed now (rate-limited per warm container)."""
    global _last_refresh
    if not os.environ.get(ARN_ENV) or os.environ.get(env_name(PLAIN_SECRET_PROVIDER)):
        return False
    now = time.monotonic()
    if now - _last_refresh < REFRESH_EVERY_SECONDS:
        return False
    _last_refresh = now
    return True
