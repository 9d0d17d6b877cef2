"""A card added (or a card page opened) racing the customer's erasure, on both stores: the
provider customer the losing request made, with the customer's name and email, is erased at
the provider all the same, and the request is refused as for any erased customer
(docs/privacy.md, "Nothing is sent or charged again").

The interleaving: the request makes the provider customer → the erasure, which read the
customer before it had one, commits → the request's commit of the provider customer fails
→ the provider customer is owed an erasure and the due work does it."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from containers import T0, Containers

from tenure.domain.errors import ConcurrencyError, IllegalTransitionError, ValidationFailedError
from tenure.domain.privacy import pseudonym_email, pseudonym_name
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.payments.gateway import InvalidRequestError
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.ports import Commit
from tenure.services import cards, catalog, privacy, self_service
from tenure.services.context import Services
from tenure.services.due import work_due
from tenure_local.stack.local_stack import LocalStack

EMAIL, NAME = "bea.lindqvist@example.org", "Bea Lindqvist"


@pytest.fixture(params=["memory", "dynamodb"])
def services(request: pytest.FixtureRequest) -> Iterator[Services]:
    """bea, who never gave a card (the provider has no customer of hers yet), on the
    in-memory store or DynamoDB Local, with the sandbox as her provider."""
    if request.param == "dynamodb":
        stack: LocalStack = request.getfixturevalue("local_stack")
        svc = Containers(stack, request.getfixturevalue("fresh_table"))()
    else:
        svc = Services(InMemoryRepository(), FixedClock(T0), gateway=SandboxGateway())
    catalog.create_customer(svc, "bea", email=EMAIL, name=NAME)
    yield svc


def sandbox(svc: Services) -> SandboxGateway:
    assert isinstance(svc.gateway, SandboxGateway)
    return svc.gateway


def erase(svc: Services) -> privacy.Erased:
    return privacy.erase_customer(svc, "bea", actor="dpo", note="asked by bea")


def erased_once_made(svc: Services, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The provider customer is made, and the erasure commits before the request does: the
    ids the provider handed out, in order."""
    gateway, made = sandbox(svc), []
    create: Callable[..., str] = gateway.create_customer

    def made_then_erased(**kwargs: Any) -> str:
        made.append(create(**kwargs))
        # Once, by the request's own call: the erasure replays the same call (the mark the
        # request wrote says a provider customer is being made) and is handed the same one.
        if len(made) == 1:
            erase(svc)
        return made[-1]

    monkeypatch.setattr(gateway, "create_customer", made_then_erased)
    return made


def run_due(svc: Services) -> None:
    for item in svc.repo.due(svc.clock.now()):
        work_due(svc, item)


def held_at_provider(svc: Services, provider_customer_id: str) -> tuple[str, str]:
    found = sandbox(svc)._customers[provider_customer_id]
    return found["email"], found["name"]


def refuse_attaching(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider is sent every card and refuses it (the call is made; the answer is a
    refusal)."""
    attach = sandbox(svc).attach_payment_method

    def refused(**kwargs: Any) -> Any:
        attach(**kwargs)
        raise InvalidRequestError("card refused", code="card_declined")

    monkeypatch.setattr(sandbox(svc), "attach_payment_method", refused)


def assert_erased_at_provider(svc: Services, made: list[str]) -> None:
    assert made, "the request made no provider customer: the race was not run"
    customer = svc.repo.get_customer("bea")
    assert customer is not None and customer.erased_at is not None
    assert customer.provider_customer_id == made[0]
    assert customer.provider_erasure is not None and customer.provider_erasure.pending
    assert held_at_provider(svc, made[0]) == (EMAIL, NAME)  # owed, not done in the request

    run_due(svc)

    assert sandbox(svc).erasures == [made[0]]
    assert held_at_provider(svc, made[0]) == (pseudonym_email("bea"), pseudonym_name("bea"))
    done = svc.repo.get_customer("bea")
    assert done is not None and done.provider_erasure is not None
    assert not done.provider_erasure.pending and done.provider_erasure.failure is None


def test_a_card_added_racing_the_erasure_leaves_its_provider_customer_erased(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = erased_once_made(services, monkeypatch)
    visa = payment_method_for("4242424242424242")
    assert visa is not None

    with pytest.raises(IllegalTransitionError, match="erased"):
        cards.update_payment_method(services, "bea", visa, "sandbox", make_default=True)

    assert services.repo.list_payment_methods("bea") == []
    assert_erased_at_provider(services, made)


def test_a_card_page_racing_the_erasure_leaves_its_provider_customer_erased(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = erased_once_made(services, monkeypatch)

    with pytest.raises(IllegalTransitionError, match="erased"):
        self_service.begin_card_setup(services, "bea", T0)

    assert_erased_at_provider(services, made)


def test_a_card_the_provider_refuses_during_the_erasure_leaves_its_customer_erased(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The provider customer is made, the erasure commits, then the card is refused: nothing
    # is committed for the card, and the provider customer is still owed its erasure.
    made = erased_once_made(services, monkeypatch)
    refuse_attaching(services, monkeypatch)
    visa = payment_method_for("4242424242424242")
    assert visa is not None

    with pytest.raises(IllegalTransitionError, match="erased"):
        cards.update_payment_method(services, "bea", visa, "sandbox", make_default=True)

    assert_erased_at_provider(services, made)


def test_a_second_loser_owes_nothing_more_and_is_refused_the_same(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_before = services.repo.get_customer("bea")  # a request that read bea before it all
    assert read_before is not None
    made = erased_once_made(services, monkeypatch)
    visa = payment_method_for("4242424242424242")
    assert visa is not None
    with pytest.raises(IllegalTransitionError):
        cards.update_payment_method(services, "bea", visa, "sandbox", make_default=True)
    owed = services.repo.get_customer("bea")
    assert owed is not None

    with pytest.raises(IllegalTransitionError, match="erased"):
        cards.ensure_provider_customer(services, read_before)

    # The erasure's replay was handed the same customer back (its key); the second loser,
    # whose mark lost to the erasure, never reached the provider.
    assert made == [made[0], made[0]]
    again = services.repo.get_customer("bea")
    assert again is not None and again.version == owed.version  # nothing more written
    assert_erased_at_provider(services, made)


def test_an_erased_customer_is_refused_before_the_provider_hears_of_them(
    services: Services,
) -> None:
    erase(services)
    visa = payment_method_for("4242424242424242")
    assert visa is not None

    with pytest.raises(IllegalTransitionError, match="erased"):
        cards.update_payment_method(services, "bea", visa, "sandbox", make_default=True)
    with pytest.raises(IllegalTransitionError, match="erased"):
        self_service.begin_card_setup(services, "bea", T0)

    assert sandbox(services)._customers == {}
    customer = services.repo.get_customer("bea")
    assert customer is not None and customer.provider_customer_id is None


def refuse_cards(svc: Services, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every card the provider is sent is refused after the call is made; the provider
    customers it hands out, in order."""
    gateway, made = sandbox(svc), []
    create: Callable[..., str] = gateway.create_customer

    def making(**kwargs: Any) -> str:
        made.append(create(**kwargs))
        return made[-1]

    monkeypatch.setattr(gateway, "create_customer", making)
    refuse_attaching(svc, monkeypatch)
    return made


def test_a_card_the_provider_refuses_keeps_its_provider_customer_for_a_later_erasure(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No race: the provider customer is made, the card refused. No card is stored, but the
    # provider customer is, on the customer alone, so that an erasure later erases it.
    made = refuse_cards(services, monkeypatch)
    visa = payment_method_for("4242424242424242")
    assert visa is not None

    for _ in range(2):  # the same again: the provider hands back the same customer
        with pytest.raises(ValidationFailedError, match="refused"):
            cards.update_payment_method(services, "bea", visa, "sandbox", make_default=True)

    kept = services.repo.get_customer("bea")
    assert kept is not None and kept.provider_customer_id == made[0]
    assert kept.default_payment_method is None
    assert services.repo.list_payment_methods("bea") == []
    assert services.repo.find_provider_object("sandbox", made[0]) == "bea"

    erase(services)
    run_due(services)

    assert sandbox(services).erasures == [made[0]]
    assert held_at_provider(services, made[0]) == (pseudonym_email("bea"), pseudonym_name("bea"))


def test_a_refused_card_whose_provider_customer_cannot_be_recorded_is_still_refused_as_such(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every try at recording the provider customer loses a race: the card's refusal (a
    # 422) is what the caller hears, never a 409 about the record, and nothing is written.
    made = refuse_cards(services, monkeypatch)
    tries: list[Commit] = []
    commit = services.repo.commit

    def conflicting(change: Commit) -> None:
        if not tries and change.customers and change.customers[0].provider_customer_pending:
            tries.append(change)  # the mark written before the provider is called goes in
            commit(change)
            return
        tries.append(change)
        raise ConcurrencyError("another write of the customer came first")

    monkeypatch.setattr(services.repo, "commit", conflicting)
    visa = payment_method_for("4242424242424242")
    assert visa is not None

    with pytest.raises(ValidationFailedError, match="refused"):
        cards.update_payment_method(services, "bea", visa, "sandbox", make_default=True)

    assert made and len(tries) == 1 + privacy.LEFT_BEHIND_ATTEMPTS
    kept = services.repo.get_customer("bea")
    assert kept is not None and kept.provider_customer_id is None
    # Its mark stays: the due work learns it later (docs/privacy.md)
    assert kept.provider_customer_pending is not None and kept.provider_customer_pending.pending
