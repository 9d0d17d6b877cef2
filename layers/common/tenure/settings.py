"""Settings from the environment (SAM sets them; the local stack sets the same names).

A plain pydantic model filled from `os.environ`: pydantic-settings did the same and cost
more than 100 ms of every cold start (its import alone; see docs/benchmarks.md).
"""

import os
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Each field is read from the environment variable named by its alias; keyword
    arguments (by alias or by field name) override the environment."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    def __init__(self, **overrides: Any) -> None:
        fields = type(self).model_fields
        by_alias = {(fields[k].alias or k) if k in fields else k: v for k, v in overrides.items()}
        super().__init__(**(dict(os.environ) | by_alias))

    environment: str = Field(default="dev", alias="ENVIRONMENT")
    table_name: str = Field(default="tenure", alias="TABLE_NAME")
    event_bus_name: str = Field(default="tenure", alias="EVENT_BUS_NAME")
    renewal_queue_url: str = Field(default="", alias="RENEWAL_QUEUE_URL")
    payment_provider: str = Field(default="sandbox", alias="PAYMENT_PROVIDER")
    # Provider requests per second for the whole deployment, split evenly among the renewals
    # charger's concurrent containers (docs/payments.md, "Provider rate limit"). 80 stays
    # under Stripe live mode's ~100/s, leaving room for calls the API and webhooks make.
    provider_rate_limit: float = Field(default=50.0, gt=0, alias="PROVIDER_RATE_LIMIT")
    # The charger's SQS MaximumConcurrency (template.yaml's ChargerMaxConcurrency).
    charger_max_concurrency: int = Field(default=20, ge=1, alias="CHARGER_MAX_CONCURRENCY")
    # The API token: given directly (local), or read from Secrets Manager by ARN (AWS).
    api_token: str = Field(default="", alias="TENURE_API_TOKEN")
    api_token_secret_arn: str = Field(default="", alias="API_TOKEN_SECRET_ARN")
    # The provider's API key: directly (local experiments) or from Secrets Manager (AWS).
    provider_api_key: str = Field(default="", alias="TENURE_PROVIDER_API_KEY")
    provider_api_key_secret_arn: str = Field(default="", alias="PROVIDER_API_KEY_SECRET_ARN")
    # Emails (docs/emails.md): who sends them, the business's name in them, SES's configuration
    # set, and where their signed links point. The link key: directly (local) or by ARN (AWS).
    mail_from: str = Field(default="billing@example.com", alias="SENDER_EMAIL")
    business_name: str = Field(default="Tenure Demo", alias="TENURE_BUSINESS_NAME")
    ses_configuration_set: str = Field(default="", alias="SES_CONFIGURATION_SET")
    public_url: str = Field(default="http://localhost:3000", alias="TENURE_PUBLIC_URL")
    link_secret: str = Field(default="", alias="TENURE_LINK_SECRET")
    link_secret_arn: str = Field(default="", alias="LINK_SECRET_ARN")
    # Local runs (`tenure simulate`, `tenure serve`) keep a copy of every email here as .eml.
    outbox_dir: str = Field(default="", alias="TENURE_OUTBOX_DIR")
    # Upcoming-renewal lead days per plan interval, e.g. "month=3,year=30/7" (docs/emails.md).
    reminder_leads: str = Field(default="", alias="TENURE_REMINDER_LEADS")
    link_ttl_days: int = Field(default=14, alias="TENURE_LINK_TTL_DAYS")
    # Public by design (every browser that loads Stripe.js sees it): a plain setting.
    stripe_publishable_key: str = Field(default="", alias="TENURE_STRIPE_PUBLISHABLE_KEY")
    max_body_bytes: int = Field(default=256 * 1024, alias="TENURE_MAX_BODY_BYTES")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
