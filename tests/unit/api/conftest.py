"""Fixtures for the HTTP API tests (the harness itself is in api_harness.py)."""

from collections.abc import Iterator
from types import ModuleType

import pytest
from api_harness import START, TOKEN, Api, load_api, pays_first_invoice, sandbox_api

from tenure import bootstrap
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.services.context import Services


@pytest.fixture(scope="session")
def api_module() -> ModuleType:
    return load_api()


@pytest.fixture
def api(api_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("TENURE_API_TOKEN", TOKEN)
    monkeypatch.delenv("API_TOKEN_SECRET_ARN", raising=False)
    monkeypatch.delenv("TENURE_MAX_BODY_BYTES", raising=False)
    repo, clock = InMemoryRepository(), FixedClock(START)
    bootstrap.use(bootstrap.Wiring(Services(repo, clock)))
    yield Api(api_module, repo, clock)
    bootstrap.use(None)


@pytest.fixture
def paid(api_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, str]]:
    """An API whose services charge through the sandbox, and alice's paid first invoice."""
    with sandbox_api(api_module, monkeypatch) as api:
        api.plan("basic", 1000)
        api.customer("alice")
        yield api, pays_first_invoice(api)
