"""Plans, customers and payment methods on the in-memory fakes."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.domain.errors import AlreadyExistsError, NotFoundError, ValidationFailedError
from tenure.domain.plans import Plan
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.services import catalog
from tenure.services.context import Services

JAN_31 = datetime(2026, 1, 31, 9, tzinfo=UTC)


def a_plan(**overrides: Any) -> Plan:
    fields: dict[str, Any] = {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}
    fields.update(overrides)
    return Plan(**fields)


def a_shop(now: datetime = JAN_31) -> tuple[Services, InMemoryRepository, FixedClock]:
    repo, clock = InMemoryRepository(), FixedClock(now)
    return Services(repo, clock), repo, clock


def a_shop_with_alice(now: datetime = JAN_31) -> tuple[Services, InMemoryRepository, FixedClock]:
    svc, repo, clock = a_shop(now)
    catalog.create_customer(svc, "alice", "alice@example.com", name="Alice Example")
    return svc, repo, clock


def written(repo: InMemoryRepository) -> tuple[int, int, int, int, int]:
    return (
        repo.commits,
        len(repo.plans),
        len(repo.customers),
        len(repo.payment_methods),
        len(repo.events),
    )


# --- plans ----------------------------------------------------------------------------------


def test_creating_a_plan_stores_it_and_records_plan_created_in_one_commit() -> None:
    svc, repo, _ = a_shop()

    catalog.create_plan(svc, a_plan())

    assert catalog.get_plan(svc, "basic") == a_plan()
    assert repo.commits == 1
    assert [(e["type"], e["entity_id"], e["data"]) for e in repo.events] == [
        ("PlanCreated", "basic", {"amount": 1000})
    ]


def test_creating_a_plan_with_a_taken_id_is_refused_and_keeps_the_original() -> None:
    svc, repo, _ = a_shop()
    catalog.create_plan(svc, a_plan())
    before = written(repo)

    with pytest.raises(AlreadyExistsError):
        catalog.create_plan(svc, a_plan(amount=5))

    assert written(repo) == before
    assert catalog.get_plan(svc, "basic").amount == 1000


def test_an_unknown_plan_is_not_found() -> None:
    svc, _, _ = a_shop()
    with pytest.raises(NotFoundError) as refused:
        catalog.get_plan(svc, "nope")
    assert (refused.value.kind, refused.value.entity_id) == ("plan", "nope")


# --- customers ------------------------------------------------------------------------------


def test_creating_a_customer_stores_it_with_the_clock_time() -> None:
    svc, repo, _ = a_shop()

    customer = catalog.create_customer(
        svc, "alice", "alice@example.com", locale="ru", timezone="Europe/Moscow"
    )

    assert customer.created_at == JAN_31
    assert catalog.get_customer(svc, "alice") == customer
    assert repo.commits == 1
    assert repo.events[-1]["type"] == "CustomerCreated"


def test_a_customer_with_an_unknown_time_zone_is_refused_and_nothing_is_written() -> None:
    svc, repo, _ = a_shop()

    with pytest.raises(ValidationFailedError) as refused:
        catalog.create_customer(svc, "alice", "alice@example.com", timezone="Mars/Olympus")

    assert refused.value.field == "timezone"
    assert written(repo) == (0, 0, 0, 0, 0)


def test_a_customer_with_a_taken_id_is_refused() -> None:
    svc, repo, _ = a_shop_with_alice()
    before = written(repo)

    with pytest.raises(AlreadyExistsError):
        catalog.create_customer(svc, "alice", "other@example.com")

    assert written(repo) == before
    assert catalog.get_customer(svc, "alice").email == "alice@example.com"


def test_an_unknown_customer_is_not_found() -> None:
    svc, _, _ = a_shop()
    with pytest.raises(NotFoundError):
        catalog.get_customer(svc, "nobody")


def test_finding_a_customer_answers_none_for_an_unknown_id_and_the_customer_otherwise() -> None:
    svc, _, _ = a_shop_with_alice()
    assert catalog.find_customer(svc, "nobody") is None
    found = catalog.find_customer(svc, "alice")
    assert found is not None and found.email == "alice@example.com"


def test_customers_are_listed_a_page_at_a_time_with_a_cursor_to_the_next() -> None:
    svc, _, _ = a_shop_with_alice()
    catalog.create_customer(svc, "bob", "bob@example.com")

    first, cursor = catalog.list_customers(svc, 1)
    rest, last = catalog.list_customers(svc, 1, cursor)

    assert [c.id for c in first + rest] == ["alice", "bob"]
    assert cursor is not None and last is None


# --- payment methods ------------------------------------------------------------------------


def test_the_first_payment_method_becomes_the_default() -> None:
    svc, repo, _ = a_shop_with_alice()

    method = catalog.attach_payment_method(svc, "alice", "pm_card_visa", "sandbox", False)

    assert (method.id, method.customer_id, method.created_at) == ("pm_card_visa", "alice", JAN_31)
    assert catalog.get_customer(svc, "alice").default_payment_method == "pm_card_visa"
    assert repo.events[-1]["type"] == "PaymentMethodAttached"


def test_a_later_payment_method_becomes_the_default_only_when_asked() -> None:
    svc, _, clock = a_shop_with_alice()
    catalog.attach_payment_method(svc, "alice", "pm_1", "sandbox", False)
    clock.advance(timedelta(minutes=1))
    catalog.attach_payment_method(svc, "alice", "pm_2", "sandbox", False)
    assert catalog.get_customer(svc, "alice").default_payment_method == "pm_1"
    clock.advance(timedelta(minutes=1))

    catalog.attach_payment_method(svc, "alice", "pm_3", "sandbox", True)

    assert catalog.get_customer(svc, "alice").default_payment_method == "pm_3"


def test_attaching_a_payment_method_the_customer_has_changes_nothing() -> None:
    svc, repo, clock = a_shop_with_alice()
    first = catalog.attach_payment_method(svc, "alice", "pm_1", "sandbox", False)
    before = written(repo)
    clock.advance(timedelta(minutes=1))

    again = catalog.attach_payment_method(svc, "alice", "pm_1", "sandbox", False)

    assert again == first
    assert written(repo) == before


def test_switching_back_to_an_earlier_card_makes_it_the_default_again() -> None:
    svc, repo, clock = a_shop_with_alice()
    catalog.attach_payment_method(svc, "alice", "pm_1", "sandbox", True)
    catalog.attach_payment_method(svc, "alice", "pm_2", "sandbox", True)
    clock.advance(timedelta(minutes=1))

    catalog.attach_payment_method(svc, "alice", "pm_1", "sandbox", True)

    assert catalog.get_customer(svc, "alice").default_payment_method == "pm_1"
    assert [m.id for m in repo.list_payment_methods("alice")] == ["pm_1", "pm_2"]
    assert repo.events[-1]["type"] == "DefaultPaymentMethodChanged"


def test_attaching_a_payment_method_to_an_unknown_customer_is_not_found() -> None:
    svc, repo, _ = a_shop()
    with pytest.raises(NotFoundError):
        catalog.attach_payment_method(svc, "nobody", "pm_1", "sandbox", False)
    assert written(repo) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    "card_number",
    ["4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242"],
    ids=["digits", "spaced", "dashed"],
)
def test_a_raw_card_number_is_never_stored_as_a_payment_method(card_number: str) -> None:
    svc, repo, _ = a_shop_with_alice()
    before = written(repo)

    with pytest.raises(ValidationFailedError) as refused:
        catalog.attach_payment_method(svc, "alice", card_number, "sandbox", False)

    assert refused.value.field == "payment_method"
    assert written(repo) == before


def test_several_payment_methods_attached_in_the_same_second_each_record_an_event() -> None:
    svc, repo, _ = a_shop_with_alice()

    for pm in ("pm_1", "pm_2", "pm_3"):
        catalog.attach_payment_method(svc, "alice", pm, "sandbox", False)

    attached = [e for e in repo.events if e["type"] == "PaymentMethodAttached"]
    assert [e["data"]["payment_method"] for e in attached] == ["pm_1", "pm_2", "pm_3"]
    assert len({e["id"] for e in attached}) == 3


def test_a_plan_built_without_its_spec_is_still_refused_when_kwd_cannot_charge_it() -> None:
    # The API and scenario files check through PlanSpec; a caller building a Plan itself
    # meets the same rule here, before anything is written.
    svc, repo, _ = a_shop()
    with pytest.raises(ValidationFailedError, match="nearest: 1000 or 1010") as caught:
        catalog.create_plan(svc, a_plan(amount=1005, currency="KWD"))
    assert caught.value.field == "amount"
    assert written(repo) == (0, 0, 0, 0, 0)
