"""A provider customer is marked on the customer before the provider is asked to make it
(docs/privacy.md): a request that dies after the provider answered leaves the mark, the due
work learns the customer it made by replaying the same call under the same key, and an
erasure learns it before the pseudonym replaces the name and email, then erases it there."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from conftest import GOOD_CARD, Crash, Shop, card

from tenure.domain.audit import SYSTEM_RENEWALS, AuditAction
from tenure.domain.due import DueKind
from tenure.domain.errors import IllegalTransitionError
from tenure.domain.privacy import pseudonym_email
from tenure.domain.provider_owed import PENDING_CUSTOMER_GRACE, REPLAY_WINDOW
from tenure.payments.gateway import IdempotencyConflictError, ProviderUnavailableError
from tenure.services import cards, privacy, provider_owed
from tenure.services.due import work_due
from tenure.views import customer_view


def killed_after_the_provider_answered(make_shop: Callable[..., Shop]) -> tuple[Shop, str]:
    """alice's first card, by a request that dies right after the provider made her
    customer there: returns the shop and the provider customer it made."""
    shop = make_shop()
    dying = shop.dying(after_call="customer")
    with pytest.raises(Crash):
        cards.update_payment_method(dying, "alice", card(GOOD_CARD), "sandbox", True)
    made: str = dying.gateway.made  # type: ignore[union-attr]
    return shop, made


def work_kind(shop: Shop, kind: DueKind) -> list[str]:
    """Work what is due now of `kind`; returns whom it was about."""
    items = [d for d in shop.repo.due(shop.clock.now()) if d.kind is kind]
    for item in items:
        work_due(shop.svc, item)
    return [d.entity_id for d in items]


def provider_down(monkeypatch: pytest.MonkeyPatch, shop: Shop) -> list[str]:
    """The provider stops answering customer creations; returns whom it was asked about."""
    asked: list[str] = []

    def timeout(**kwargs: Any) -> str:
        asked.append(kwargs["customer_id"])
        raise ProviderUnavailableError("sandbox: timed out")

    monkeypatch.setattr(shop.gateway, "create_customer", timeout)
    return asked


def test_a_request_killed_after_the_provider_made_the_customer_leaves_the_mark(
    make_shop: Callable[..., Shop],
) -> None:
    shop, made = killed_after_the_provider_answered(make_shop)
    alice = shop.repo.customers["alice"]
    # The provider holds alice's name and email; Tenure did not store its id ...
    assert shop.gateway.customer(made)["email"] == "alice@example.com"
    assert alice.provider_customer_id is None
    # ... but knows one is being made, under which key, since when
    making = alice.provider_customer_pending
    assert making is not None and making.pending
    assert (making.provider, making.idempotency_key) == ("sandbox", "customer:alice")
    assert making.at == shop.clock.now()
    assert customer_view(alice)["provider_customer_pending"] == {
        "status": "pending",
        "provider": "sandbox",
        "since": "2026-03-02T09:00:00Z",
        "tries": 0,
        "failure": None,
    }


def test_a_first_card_stores_its_provider_customer_and_clears_the_mark_in_one_commit(
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop()
    shop.add_card(GOOD_CARD)
    alice = shop.repo.customers["alice"]
    assert alice.provider_customer_id is not None
    assert alice.provider_customer_pending is None
    assert "provider_customer_pending" not in customer_view(alice)
    assert [d for d in shop.repo.due(shop.clock.now() + timedelta(days=2))] == []


def test_the_due_work_records_the_provider_customer_a_dead_request_made(
    make_shop: Callable[..., Shop],
) -> None:
    shop, made = killed_after_the_provider_answered(make_shop)
    # Not while a request could still be running ...
    assert work_kind(shop, DueKind.PROVIDER_CUSTOMER) == []
    # ... but once the mark is minutes old
    shop.clock.advance(PENDING_CUSTOMER_GRACE)
    assert work_kind(shop, DueKind.PROVIDER_CUSTOMER) == ["alice"]
    alice = shop.repo.customers["alice"]
    assert alice.provider_customer_id == made  # the same customer: the key answered it
    assert alice.provider_customer_pending is None
    assert shop.repo.find_provider_object("sandbox", made) == "alice"
    [entry] = [
        e
        for e in shop.repo.list_customer_audit("alice", 10)
        if e.action is AuditAction.PROVIDER_CUSTOMER
    ]
    assert entry.actor == SYSTEM_RENEWALS
    assert entry.after == {"provider_customer": "recorded", "provider_customer_id": made}
    assert work_kind(shop, DueKind.PROVIDER_CUSTOMER) == []
    # The next card joins it
    shop.add_card(GOOD_CARD)
    assert shop.repo.customers["alice"].provider_customer_id == made


def test_the_next_card_after_a_dead_request_replays_its_key_and_clears_its_mark(
    make_shop: Callable[..., Shop],
) -> None:
    shop, made = killed_after_the_provider_answered(make_shop)
    shop.add_card(GOOD_CARD)
    alice = shop.repo.customers["alice"]
    assert (alice.provider_customer_id, alice.provider_customer_pending) == (made, None)
    assert alice.default_payment_method == card(GOOD_CARD)


def test_an_erasure_learns_the_provider_customer_of_a_mark_and_erases_it_there(
    make_shop: Callable[..., Shop],
) -> None:
    shop, made = killed_after_the_provider_answered(make_shop)
    privacy.erase_customer(shop.svc, "alice", actor="dpo", note="GDPR request 9")
    alice = shop.repo.customers["alice"]
    assert alice.provider_customer_id == made and alice.provider_customer_pending is None
    owed = alice.provider_erasure
    assert owed is not None and owed.pending
    assert work_kind(shop, DueKind.PROVIDER_ERASE) == ["alice"]
    assert shop.gateway.erasures == [made]
    assert shop.gateway.customer(made)["email"] == pseudonym_email("alice")


def test_an_erasure_whose_provider_does_not_answer_the_replay_writes_nothing(
    make_shop: Callable[..., Shop], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, _ = killed_after_the_provider_answered(make_shop)
    asked = provider_down(monkeypatch, shop)
    with pytest.raises(IllegalTransitionError, match="ask again"):
        privacy.erase_customer(shop.svc, "alice", actor="dpo", note="GDPR request 9")
    alice = shop.repo.customers["alice"]
    assert asked == ["alice"]
    assert alice.erased_at is None and alice.email == "alice@example.com"
    assert shop.repo.list_customer_audit("alice", 10) == []


def test_an_erasure_whose_replay_is_refused_erases_and_leaves_the_mark_for_a_person(
    make_shop: Callable[..., Shop], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, _ = killed_after_the_provider_answered(make_shop)

    def conflict(**_: Any) -> str:
        raise IdempotencyConflictError("keys for idempotent requests", code="idempotency_error")

    monkeypatch.setattr(shop.gateway, "create_customer", conflict)
    done = privacy.erase_customer(shop.svc, "alice", actor="dpo", note="GDPR request 9")
    alice = shop.repo.customers["alice"]
    assert alice.erased_at is not None and alice.provider_customer_id is None
    making = alice.provider_customer_pending
    assert making is not None and making.failure == "idempotency_error"
    assert customer_view(alice)["provider_customer_pending"]["status"] == "unresolved"
    assert done.audit is not None and done.audit.after["provider_customer"] == "unresolved"
    assert shop.repo.due(shop.clock.now() + REPLAY_WINDOW) == []


def test_a_mark_the_provider_never_answers_for_is_left_for_a_person_after_23_hours(
    make_shop: Callable[..., Shop], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, _ = killed_after_the_provider_answered(make_shop)
    marked = shop.clock.now()
    asked = provider_down(monkeypatch, shop)
    shop.run_due(marked + timedelta(days=2))
    alice = shop.repo.customers["alice"]
    making = alice.provider_customer_pending
    assert making is not None and making.failure == "replay_window_passed"
    assert alice.provider_customer_id is None
    # Replayed only while the key surely holds, doubling waits, then never again
    assert 0 < len(asked) == making.tries < 12
    assert shop.repo.due(shop.clock.now() + timedelta(days=30)) == []
    [entry] = [
        e
        for e in shop.repo.list_customer_audit("alice", 10)
        if e.action is AuditAction.PROVIDER_CUSTOMER
    ]
    assert entry.after == {"provider_customer": "unresolved", "failure": "replay_window_passed"}


def test_a_customer_creation_the_provider_refuses_leaves_no_mark(
    make_shop: Callable[..., Shop], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = make_shop()

    def refuse(**_: Any) -> str:
        from tenure.payments.gateway import InvalidRequestError

        raise InvalidRequestError("email invalid", code="email_invalid")

    monkeypatch.setattr(shop.gateway, "create_customer", refuse)
    with pytest.raises(Exception, match="email invalid"):
        shop.add_card(GOOD_CARD)
    assert shop.repo.customers["alice"].provider_customer_pending is None
    assert shop.repo.due(shop.clock.now() + timedelta(days=2)) == []


def test_a_mark_worked_twice_replays_once(make_shop: Callable[..., Shop]) -> None:
    shop, made = killed_after_the_provider_answered(make_shop)
    shop.clock.advance(PENDING_CUSTOMER_GRACE)
    assert provider_owed.record_provider_customer(shop.svc, "alice") is None
    commits = shop.svc.commits
    # A duplicate of the queued message: nothing owed any more
    assert provider_owed.record_provider_customer(shop.svc, "alice") is None
    assert shop.svc.commits == commits
    assert shop.repo.customers["alice"].provider_customer_id == made
