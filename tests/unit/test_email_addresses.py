"""One address rule at every entry, the mailer's own: a customer the mailer cannot write to is
refused when created, so no one silently misses their dunning emails (issue 13, item 5)."""

from datetime import UTC, datetime

import pytest

from tenure.domain.customers import valid_address
from tenure.domain.errors import ValidationFailedError
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.notify.message import valid_address as mailer_rule
from tenure.services import catalog
from tenure.services.context import Services
from tenure_local.simulator.scenario import ScenarioError, parse

# Each passed the API's and the scenario files' old pattern (x@y.z) and is refused by the mailer.
REFUSED = [
    "ann@example.c_m",
    "ann@exa mple.com",
    'a"nn@example.com',
    "ann@example..com",
    ".ann@example.com",
    "ann.@example.com",
    "ann@1.2.3.4",
    "ann@-example.com",
    "анна@example.com",
    "ann@exämple.com",
    "ann@example.com\u0085",
    "a" * 65 + "@example.com",
    "ann@" + "a" * 250 + ".com",
    "ann(x)@example.com",
]
ACCEPTED = ["ann@example.com", "ann+billing@mail.example.co.uk", "o'brien@xn--bcher-kva.de"]


def test_the_mailer_applies_the_very_rule_the_entries_apply() -> None:
    assert mailer_rule is valid_address


@pytest.mark.parametrize("address", REFUSED)
def test_creating_a_customer_the_mailer_cannot_write_to_is_refused_and_stores_nothing(
    address: str,
) -> None:
    svc = Services(InMemoryRepository(), FixedClock(datetime(2026, 4, 1, tzinfo=UTC)))

    with pytest.raises(ValidationFailedError) as refused:
        catalog.create_customer(svc, "ann", email=address)

    assert refused.value.field == "email"
    assert svc.repo.get_customer("ann") is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("address", ACCEPTED)
def test_an_address_the_mailer_accepts_is_taken(address: str) -> None:
    svc = Services(InMemoryRepository(), FixedClock(datetime(2026, 4, 1, tzinfo=UTC)))

    assert catalog.create_customer(svc, "ann", email=address).email == address


def scenario_with(email: str) -> dict[str, object]:
    return {
        "start": "2026-04-01T00:00:00Z",
        "until": "2026-05-01T00:00:00Z",
        "plans": [{"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}],
        "customers": [{"id": "ann", "email": email}],
    }


@pytest.mark.parametrize("address", REFUSED[:5])
def test_a_scenario_file_naming_an_address_the_mailer_refuses_is_refused(address: str) -> None:
    with pytest.raises(ScenarioError, match="email"):
        parse(scenario_with(address))


def test_a_scenario_file_with_good_addresses_is_read() -> None:
    assert parse(scenario_with("ann@example.com")).customers[0].email == "ann@example.com"
