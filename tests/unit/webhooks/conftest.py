"""Fixtures for the webhook tests (the harness itself is in webhooks_harness.py)."""

from collections.abc import Iterator

import pytest
from webhooks_harness import OLD_SECRET, SECRET, Endpoint, Shop, new_shop

from tenure import bootstrap


@pytest.fixture
def shop() -> Shop:
    return new_shop()


@pytest.fixture
def endpoint(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> Iterator[Endpoint]:
    monkeypatch.setenv("TENURE_STRIPE_WEBHOOK_SECRET", f"{SECRET},{OLD_SECRET}")
    monkeypatch.setenv("TENURE_RAZORPAY_WEBHOOK_SECRET", "rzp_test_secret")
    monkeypatch.delenv("WEBHOOK_SECRET_ARN", raising=False)
    monkeypatch.delenv("TENURE_MAX_BODY_BYTES", raising=False)
    # The handler's Metrics reads its namespace when the module is first imported.
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TenureTest")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    bootstrap.use(bootstrap.Wiring(shop.svc))
    yield Endpoint(shop)
    bootstrap.use(None)
