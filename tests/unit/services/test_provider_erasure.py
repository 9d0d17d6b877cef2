"""An erasure reaches the payment provider (docs/privacy.md): owed in the erasure's own
commit, done by the due work through the customer's gateway, retried while the provider
does not answer, and never undoing or holding back the erasure in Tenure's own records."""

from collections.abc import Callable

import pytest
from conftest import Shop

from tenure.domain.audit import SYSTEM_RENEWALS, AuditAction
from tenure.domain.due import DueKind
from tenure.domain.privacy import pseudonym_email, pseudonym_name
from tenure.payments.gateway import InvalidRequestError
from tenure.services import privacy
from tenure.services.context import Services
from tenure.services.due import work_due
from tenure.store import codec


def erased_alice(make_shop: Callable[..., Shop]) -> tuple[Shop, str]:
    """alice, with a card saved at the sandbox (so a customer record there), erased."""
    shop = make_shop()
    shop.add_card("4242424242424242")
    provider_id = shop.repo.customers["alice"].provider_customer_id
    assert provider_id is not None
    privacy.erase_customer(shop.svc, "alice", actor="dpo", note="GDPR request 7")
    return shop, provider_id


def due_erasures(shop: Shop) -> list[str]:
    due = shop.repo.due(shop.clock.now())
    return [d.entity_id for d in due if d.kind is DueKind.PROVIDER_ERASE]


def work_erasures(shop: Shop) -> None:
    for item in shop.repo.due(shop.clock.now()):
        if item.kind is DueKind.PROVIDER_ERASE:
            work_due(shop.svc, item)


def test_an_erasure_leaves_the_provider_alone_in_the_request_and_owes_it_as_due_work(
    make_shop: Callable[..., Shop],
) -> None:
    shop, provider_id = erased_alice(make_shop)
    # The request itself asked nothing of the provider ...
    assert shop.gateway.erasures == []
    assert shop.gateway.customer(provider_id)["email"] == "alice@example.com"
    # ... it wrote the erasure owed there, due at once
    owed = shop.repo.customers["alice"].provider_erasure
    assert owed is not None and owed.pending and owed.next_try_at == shop.clock.now()
    assert due_erasures(shop) == ["alice"]


def test_the_due_work_gives_the_providers_customer_the_pseudonym(
    make_shop: Callable[..., Shop],
) -> None:
    shop, provider_id = erased_alice(make_shop)
    work_erasures(shop)
    held = shop.gateway.customer(provider_id)
    assert (held["name"], held["email"]) == (pseudonym_name("alice"), pseudonym_email("alice"))
    assert (held["phone"], held["address"], held["shipping"]) == (None, None, None)
    assert shop.gateway.erasures == [provider_id]
    done = shop.repo.customers["alice"].provider_erasure
    assert done is not None and done.erased_at == shop.clock.now() and not done.pending
    assert due_erasures(shop) == []
    [entry] = [e for e in shop.repo.list_customer_audit("alice", 10) if e.actor != "dpo"]
    assert (entry.actor, entry.action, entry.after) == (
        SYSTEM_RENEWALS,
        AuditAction.ERASE,
        {"at_provider": "erased"},
    )


def test_the_erasure_done_at_the_provider_is_not_asked_again(
    make_shop: Callable[..., Shop],
) -> None:
    shop, provider_id = erased_alice(make_shop)
    work_erasures(shop)
    commits = shop.svc.commits
    # A duplicate of the queued message arrives after the work was done
    assert privacy.erase_at_provider(shop.svc, "alice") is None
    assert shop.gateway.erasures == [provider_id]
    assert shop.svc.commits == commits


def test_a_provider_that_is_down_delays_its_erasure_and_leaves_the_local_one_whole(
    make_shop: Callable[..., Shop],
) -> None:
    shop, provider_id = erased_alice(make_shop)
    shop.gateway.fail_next("rate_limit", times=2, on="erase")
    asked = shop.clock.now()
    work_erasures(shop)
    customer = shop.repo.customers["alice"]
    # Tenure's own erasure stands; the provider's is owed again 5 minutes later
    assert customer.erased_at == asked and customer.email == pseudonym_email("alice")
    owed = customer.provider_erasure
    assert owed is not None and owed.pending
    assert (owed.tries, owed.next_try_at) == (1, asked + privacy.PROVIDER_FIRST_WAIT)
    assert due_erasures(shop) == []
    # Still down at the next try: the wait doubles
    shop.clock.advance(privacy.PROVIDER_FIRST_WAIT)
    work_erasures(shop)
    owed = shop.repo.customers["alice"].provider_erasure
    assert owed is not None and owed.tries == 2
    assert owed.next_try_at == shop.clock.now() + 2 * privacy.PROVIDER_FIRST_WAIT
    # Back up: the next try erases it there
    shop.clock.advance(2 * privacy.PROVIDER_FIRST_WAIT)
    work_erasures(shop)
    assert shop.gateway.customer(provider_id)["email"] == pseudonym_email("alice")
    done = shop.repo.customers["alice"].provider_erasure
    assert done is not None and done.erased_at == shop.clock.now()


def test_a_provider_that_erased_but_whose_answer_was_lost_is_asked_again_harmlessly(
    make_shop: Callable[..., Shop],
) -> None:
    shop, provider_id = erased_alice(make_shop)
    shop.gateway.fail_next("timeout", on="erase")
    work_erasures(shop)
    owed = shop.repo.customers["alice"].provider_erasure
    assert owed is not None and owed.pending  # the answer never came: not known to be done
    shop.clock.advance(privacy.PROVIDER_FIRST_WAIT)
    work_erasures(shop)
    assert shop.gateway.erasures == [provider_id, provider_id]
    assert shop.gateway.customer(provider_id)["name"] == pseudonym_name("alice")
    done = shop.repo.customers["alice"].provider_erasure
    assert done is not None and not done.pending and done.failure is None


def test_an_erasure_the_provider_refuses_for_good_stops_and_says_why(
    make_shop: Callable[..., Shop], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, _ = erased_alice(make_shop)

    def refuse(**_: object) -> None:
        raise InvalidRequestError("account closed", code="account_invalid")

    monkeypatch.setattr(shop.gateway, "erase_customer", refuse)
    work_erasures(shop)
    failed = shop.repo.customers["alice"].provider_erasure
    assert failed is not None and failed.failure == "account_invalid" and not failed.pending
    assert due_erasures(shop) == []  # a person decides; nothing is retried
    assert shop.repo.customers["alice"].erased_at is not None
    [entry] = [e for e in shop.repo.list_customer_audit("alice", 10) if e.actor != "dpo"]
    assert entry.after == {"at_provider": "refused"}


def test_an_erasure_owed_at_a_provider_this_deployment_cannot_reach_stops_and_says_so(
    make_shop: Callable[..., Shop],
) -> None:
    shop, _ = erased_alice(make_shop)
    unreachable = Services(repo=shop.repo, clock=shop.clock, gateway=None)
    for item in shop.repo.due(shop.clock.now()):
        work_due(unreachable, item)
    failed = shop.repo.customers["alice"].provider_erasure
    assert failed is not None and failed.failure == "UnknownProviderError"
    assert due_erasures(shop) == []


def test_a_customer_the_provider_never_held_owes_it_no_erasure(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()  # alice has no card: no customer record at the provider
    assert shop.repo.customers["alice"].provider_customer_id is None
    privacy.erase_customer(shop.svc, "alice", actor="dpo", note="GDPR request 8")
    assert shop.repo.customers["alice"].provider_erasure is None
    assert due_erasures(shop) == []


def test_an_erasure_owed_at_the_provider_is_stored_as_it_was_written(
    make_shop: Callable[..., Shop],
) -> None:
    shop, _ = erased_alice(make_shop)
    shop.gateway.fail_next("rate_limit", on="erase")
    work_erasures(shop)
    customer = shop.repo.customers["alice"]
    read = codec.customer_from_attrs(codec.customer_to_attrs(customer))
    assert read.provider_erasure == customer.provider_erasure
    assert read.erased_at == customer.erased_at
