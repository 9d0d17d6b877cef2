"""A renewal charges from the subscription the scheduler's message carries, card included,
without reading anything. Every way that copy can be behind the customer ends with the
customer's current card charged once (DESIGN.md invariants 1 and 2)."""

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from tenure.domain.charges import ChargeOutcome
from tenure.domain.dunning import DunningPolicy
from tenure.domain.errors import ConcurrencyError
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.subscription import SubscriptionStatus
from tenure.payments.gateway import IdempotencyConflictError
from tenure.payments.sandbox import payment_method_for
from tenure.ports import Commit
from tenure.services import cards, catalog, subscriptions
from tenure.services.context import Services

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"


def catalog_card(number: str) -> str:
    method = payment_method_for(number)
    assert method is not None
    return method


def a_paying_subscriber(make_shop: Callable[..., Any], **kwargs: Any) -> Any:
    shop = make_shop(**kwargs)
    shop.add_card(VISA)
    shop.subscribe()
    assert shop.sub().status is SubscriptionStatus.ACTIVE
    return shop


def renewal_queued(shop: Any) -> tuple[Any, Any]:
    """The clock at the end of the period, and the message the scheduler queued for it."""
    renewed_at = shop.sub().current_period_end
    shop.clock.set(renewed_at)
    return renewed_at, shop.queued()


def charged_method(shop: Any, invoice_id: str) -> list[str]:
    """The payment methods of the invoice's succeeded charges."""
    return [
        shop.gateway.payment_intent(c.payment_id or "")["payment_method"]
        for c in shop.succeeded(invoice_id)
    ]


def alice(shop: Any) -> Any:
    found = shop.repo.get_customer("alice")
    assert found is not None
    return found


def test_a_subscription_keeps_a_copy_of_its_customers_card_from_the_start(
    make_shop: Callable[..., Any],
) -> None:
    shop = a_paying_subscriber(make_shop)
    assert shop.sub().payer == alice(shop).payer
    assert shop.sub().payment_method is not None
    assert shop.sub().provider_customer_id is not None


def test_a_new_default_card_reaches_every_live_subscription_and_no_ended_one(
    make_shop: Callable[..., Any],
) -> None:
    # Given alice with three subscriptions, one of them canceled
    shop = a_paying_subscriber(make_shop)
    shop.subscribe(sub_id="sub-2")
    shop.subscribe(sub_id="sub-3")
    subscriptions.cancel(shop.svc, "sub-3", at_period_end=False, reason=None)
    before = {sid: shop.sub(sid) for sid in ("sub-1", "sub-2", "sub-3")}
    # When she makes a mastercard her default
    shop.add_card(MASTERCARD)
    # Then both live subscriptions copy it, each with a new version; the canceled one is left
    payer = alice(shop).payer
    assert payer.payment_method == catalog_card(MASTERCARD)
    for sid in ("sub-1", "sub-2"):
        assert shop.sub(sid).payer == payer
        assert shop.sub(sid).version == before[sid].version + 1
    assert shop.sub("sub-3").payer == before["sub-3"].payer
    assert shop.sub("sub-3").version == before["sub-3"].version


def test_a_card_changed_after_the_renewal_was_queued_is_the_card_charged(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal queued with the visa in the subscription it carries
    shop = a_paying_subscriber(make_shop)
    renewed_at, message = renewal_queued(shop)
    assert message.subscription is not None
    assert message.subscription.payment_method == catalog_card(VISA)
    # ... then alice switches to a mastercard before the charger gets to it
    shop.add_card(MASTERCARD)
    # When the charger works the message
    shop.work(message)
    # Then the renewal was paid at once, with the mastercard: the claim caught the stale
    # copy before any request (the visa was never sent), and the charger's fresh start
    # charged the mastercard under the first attempt number
    invoice = shop.invoice_starting(renewed_at)
    assert (invoice.status, invoice.paid_at) == (InvoiceStatus.PAID, renewed_at)
    assert shop.confirmations(invoice.id) == 1
    assert charged_method(shop, invoice.id) == [catalog_card(MASTERCARD)]
    assert [(c.attempt, c.outcome) for c in shop.charges(invoice.id)] == [
        (1, ChargeOutcome.SUCCEEDED),
    ]
    assert shop.created_keys(invoice.id) == [f"charge:{invoice.id}:1:create"]
    assert len(shop.invoices()) == 2


def test_a_copy_the_card_change_missed_is_caught_by_the_claim_and_put_right(
    make_shop: Callable[..., Any],
) -> None:
    # Given a subscription made before customers listed theirs, whose copy still names the
    # visa although alice's default is now a mastercard (the index that lists her
    # subscriptions lagged when her card changed)
    shop = a_paying_subscriber(make_shop)
    shop.add_card(MASTERCARD)
    stale = shop.repo.subscriptions["sub-1"]
    stale.payment_method, stale.listed = catalog_card(VISA), False
    renewed_at = stale.current_period_end
    shop.clock.set(renewed_at)
    # When the renewal is worked from the scheduler's message
    shop.work(shop.queued())
    # Then the claim refused the visa before any money moved, the mastercard paid once, at
    # once, and the subscription's copy is right again
    invoice = shop.invoice_starting(renewed_at)
    assert (invoice.status, invoice.paid_at) == (InvoiceStatus.PAID, renewed_at)
    assert shop.confirmations(invoice.id) == 1
    assert charged_method(shop, invoice.id) == [catalog_card(MASTERCARD)]
    assert shop.sub().payer == alice(shop).payer


def claims_of(shop: Any) -> list[Any]:
    """The commits that claim a charge from now on (they carry a new attempt)."""
    commits: list[Any] = []
    real = shop.repo.commit
    shop.repo.commit = lambda change: commits.append(change) or real(change)
    return commits


def test_a_subscription_is_listed_on_its_customer_in_the_commit_that_makes_it(
    make_shop: Callable[..., Any],
) -> None:
    shop = a_paying_subscriber(make_shop)
    shop.subscribe(sub_id="sub-2")
    assert alice(shop).subscription_ids == {"sub-1", "sub-2"}
    assert shop.sub().listed and shop.sub("sub-2").listed


def test_a_card_change_reaches_a_listed_subscription_the_index_does_not_show_yet(
    make_shop: Callable[..., Any],
) -> None:
    # Given alice's subscription, and an index of her subscriptions that has not caught up
    shop = a_paying_subscriber(make_shop)
    shop.repo.list_subscriptions = lambda customer_id: []
    # When she makes a mastercard her default
    shop.add_card(MASTERCARD)
    # Then her subscription took it all the same: her record lists it
    assert shop.sub().payer == alice(shop).payer
    assert shop.sub().payment_method == catalog_card(MASTERCARD)


def test_a_card_change_read_before_a_subscribe_cannot_land_after_it(
    make_shop: Callable[..., Any],
) -> None:
    # Given a card change that read alice before she subscribed again
    shop = a_paying_subscriber(make_shop)
    before = alice(shop)
    shop.subscribe(sub_id="sub-2")
    # When it commits, with an index that does not show the new subscription yet
    shop.repo.list_subscriptions = lambda customer_id: []
    before.default_payment_method = catalog_card(MASTERCARD)
    change = Commit()
    catalog.save_payer(shop.svc, before, change)
    # Then it is refused whole: the new subscription would have kept the visa unseen
    with pytest.raises(ConcurrencyError):
        shop.svc.commit(change)
    assert alice(shop).default_payment_method == catalog_card(VISA)
    assert shop.sub("sub-2").payment_method == catalog_card(VISA)


def test_a_subscribe_that_read_the_card_before_it_changed_keeps_its_renewals_checked(
    make_shop: Callable[..., Any],
) -> None:
    # Given alice subscribing a second time while her mastercard replaces the visa (the
    # subscribe read her first, the card change committed before the subscribe did)
    shop = a_paying_subscriber(make_shop)
    worker = shop.interleaved(lambda: shop.add_card(MASTERCARD))
    subscriptions.subscribe(worker, "sub-2", "alice", "basic")
    # Then the new subscription was made unlisted (its copy is the visa) and left off her list
    assert not shop.sub("sub-2").listed
    assert shop.sub("sub-2").payment_method == catalog_card(VISA)
    assert alice(shop).subscription_ids == {"sub-1"}
    # And when it renews, the claim's check catches the old copy: the mastercard pays, once
    renewed_at = shop.sub("sub-2").current_period_end
    shop.clock.set(renewed_at)
    shop.work(shop.queued("sub-2"))
    invoice = shop.invoice_starting(renewed_at, "sub-2")
    assert invoice.status is InvoiceStatus.PAID
    assert charged_method(shop, invoice.id) == [catalog_card(MASTERCARD)]
    assert shop.sub("sub-2").payer == alice(shop).payer


def test_a_renewal_of_a_listed_subscription_claims_without_checking_its_customer(
    make_shop: Callable[..., Any],
) -> None:
    shop = a_paying_subscriber(make_shop)
    _, message = renewal_queued(shop)
    commits = claims_of(shop)
    shop.work(message)
    claims = [c for c in commits if c.charges and c.subscriptions]
    assert len(claims) == 1 and claims[0].payer_checks == []


def test_a_renewal_of_an_unlisted_subscription_still_checks_its_customer(
    make_shop: Callable[..., Any],
) -> None:
    # Given a subscription made before customers listed theirs
    shop = a_paying_subscriber(make_shop)
    shop.repo.subscriptions["sub-1"].listed = False
    _, message = renewal_queued(shop)
    commits = claims_of(shop)
    shop.work(message)
    claims = [c for c in commits if c.charges and c.subscriptions]
    assert len(claims) == 1 and claims[0].payer_checks == [alice(shop).payer]


def test_a_trial_whose_copy_names_a_card_the_customer_no_longer_has_ends_unpaid(
    make_shop: Callable[..., Any],
) -> None:
    # Given a trial under a policy that cancels trials ending without a card, made before
    # customers listed theirs, whose copy still names the visa alice no longer has
    shop = make_shop(policy=DunningPolicy(cancel_trial_without_payment_method=True))
    shop.subscribe(plan="basic-trial")
    trial = shop.repo.subscriptions["sub-1"]
    trial.payment_method, trial.listed = catalog_card(VISA), False
    trial_end = shop.sub().current_period_end
    # When the trial ends
    shop.run_due(until=trial_end + timedelta(hours=1))
    # Then nothing was charged and the trial was canceled, as for any trial without a card
    sub = shop.sub()
    assert (sub.status, sub.cancel_reason) == (
        SubscriptionStatus.CANCELED,
        "trial_ended_without_payment_method",
    )
    assert not any(e["type"] == "payment_intent.succeeded" for e in shop.gateway.events)
    assert all(i.status is not InvoiceStatus.PAID for i in shop.invoices())


def test_a_message_whose_subscription_was_renewed_meanwhile_does_nothing_more(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal queued twice (the scheduler ran twice), the first message worked
    shop = a_paying_subscriber(make_shop)
    renewed_at, first = renewal_queued(shop)
    second = shop.queued()
    shop.work(first)
    # When the second, carrying the same now-stale subscription, is worked
    assert shop.work(second) is None
    # Then one charge for the period, and the subscription moved on once
    invoice = shop.invoice_starting(renewed_at)
    assert [c.outcome for c in shop.charges(invoice.id)] == [ChargeOutcome.SUCCEEDED]
    assert shop.confirmations(invoice.id) == 1
    assert shop.sub().current_period_start == renewed_at


def test_a_renewal_without_a_copy_reads_the_customer(make_shop: Callable[..., Any]) -> None:
    # Given a subscription stored before subscriptions kept a copy of the card
    shop = a_paying_subscriber(make_shop)
    old = shop.repo.subscriptions["sub-1"]
    old.payment_method = old.provider_customer_id = None
    renewed_at = old.current_period_end
    shop.clock.set(renewed_at)
    # When its renewal is worked
    shop.work(shop.queued())
    # Then the customer's card was read and charged once, and the copy now exists
    invoice = shop.invoice_starting(renewed_at)
    assert charged_method(shop, invoice.id) == [alice(shop).default_payment_method]
    assert shop.sub().payer == alice(shop).payer


def test_an_attached_card_that_is_not_the_default_changes_no_copy(
    make_shop: Callable[..., Any],
) -> None:
    shop = a_paying_subscriber(make_shop)
    version = shop.sub().version
    cards.update_payment_method(
        shop.svc, "alice", catalog_card(MASTERCARD), "sandbox", make_default=False
    )
    assert shop.sub().version == version
    assert shop.sub().payment_method == catalog_card(VISA)
    assert catalog.get_customer(shop.svc, "alice").default_payment_method == catalog_card(VISA)


def test_a_subscription_canceled_after_its_renewal_was_queued_is_not_charged(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal queued with the subscription as it was, then canceled at once
    shop = a_paying_subscriber(make_shop)
    _, message = renewal_queued(shop)
    subscriptions.cancel(shop.svc, "sub-1", at_period_end=False, reason="moved away")
    confirmations = sum(shop.confirmations(i.id) for i in shop.invoices())
    # When the charger works the message it still holds
    assert shop.work(message) is None
    # Then nothing was charged or invoiced, and the subscription stays canceled
    assert sum(shop.confirmations(i.id) for i in shop.invoices()) == confirmations
    assert len(shop.invoices()) == 1
    assert shop.sub().status is SubscriptionStatus.CANCELED


def test_a_renewal_read_from_the_store_never_charges_a_copy_its_customer_cannot_confirm(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal whose message names the subscription only, and whose customer record
    # is gone (the copy on the subscription still names the visa)
    shop = a_paying_subscriber(make_shop)
    _, message = renewal_queued(shop)
    del shop.repo.customers["alice"]
    # When the charger works the bare message
    shop.work(replace(message, subscription=None, customer_id=None))
    # Then it renewed the period but charged nothing: the invoice waits for a card
    invoice = shop.invoice_starting(shop.sub().current_period_start)
    assert invoice.status is InvoiceStatus.OPEN
    assert shop.charges(invoice.id) == []


class AlwaysConflicting:
    """The sandbox, except that every payment it is asked to create collides with another
    worker's under the same key."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gateway, name)

    def create_and_confirm_payment(self, **kwargs: Any) -> Any:
        raise IdempotencyConflictError("same key, other parameters")


def test_two_conflicts_in_a_row_leave_the_invoice_to_the_schedule(
    make_shop: Callable[..., Any],
) -> None:
    # Given a renewal due, and a provider that refuses every request's key
    shop = a_paying_subscriber(make_shop)
    renewed_at, message = renewal_queued(shop)
    svc = Services(
        repo=shop.repo,
        clock=shop.clock,
        gateway=AlwaysConflicting(shop.gateway),
        policy=shop.svc.policy,
    )
    # When the charger works the message
    shop.work(message, svc)
    # Then it gave two attempt numbers up and stopped there, the invoice due at once for the
    # schedule, nothing confirmed
    invoice = shop.invoice_starting(renewed_at)
    assert [(c.attempt, c.outcome) for c in shop.charges(invoice.id)] == [
        (1, ChargeOutcome.UNKNOWN),
        (2, ChargeOutcome.UNKNOWN),
    ]
    assert (invoice.status, invoice.next_attempt_at) == (InvoiceStatus.OPEN, renewed_at)
    assert shop.confirmations(invoice.id) == 0


def test_a_first_card_for_a_subscriber_writes_each_subscriptions_copy_once(
    make_shop: Callable[..., Any],
) -> None:
    # A card-less trial: adding the first card makes the provider customer and attaches the
    # card in one commit, which saves the payer twice. DynamoDB refuses a transaction that
    # writes one item twice, so each subscription must get one copy: the last.
    shop = make_shop()
    shop.subscribe("basic-trial")
    commits: list[Any] = []
    real = shop.repo.commit
    shop.repo.commit = lambda change: commits.append(change) or real(change)

    shop.add_card(VISA)

    copies = [sub_id for change in commits for sub_id, _ in change.payer_copies]
    assert copies == ["sub-1"]
    assert shop.sub().payer.payment_method == catalog_card(VISA)


def test_a_commit_that_gives_one_subscription_two_payer_copies_is_refused_by_the_fake(
    make_shop: Callable[..., Any],
) -> None:
    # As DynamoDB refuses it: the fake must not accept what the table would not.
    from tenure.domain.customers import Payer
    from tenure.ports import Commit

    shop = make_shop()
    shop.subscribe("basic-trial")
    before = shop.sub().version
    twice = Commit(
        payer_copies=[
            ("sub-1", Payer("alice", None, "cus_1")),
            ("sub-1", Payer("alice", catalog_card(VISA), "cus_1")),
        ]
    )

    with pytest.raises(ValueError, match="two payer copies"):
        shop.repo.commit(twice)
    assert shop.sub().version == before
