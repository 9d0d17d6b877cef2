"""One contract, two repositories: the in-memory fake and DynamoDB Local behave the same."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tenure.domain.calendar import IntervalUnit
from tenure.domain.charges import Charge
from tenure.domain.collection_cases import CollectionCase, CollectionsPolicy
from tenure.domain.customers import Customer, Payer, PaymentMethod
from tenure.domain.discounts import Coupon, CouponDuration, DiscountTerms
from tenure.domain.errors import AlreadyExistsError, ConcurrencyError, ValidationFailedError
from tenure.domain.events import DomainEvent, EventType
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tenure.domain.offers import AttemptStatus, SaveAttempt, SaveOffer
from tenure.domain.plans import IntroPhase, Plan, TaxBehavior, Tier
from tenure.domain.points import PointsAccount, PointsEntry, PointsKind, PointsMove
from tenure.domain.price_notices import PriceNoticeRun
from tenure.domain.prices import PriceChange, PriceStep
from tenure.domain.programs import OfferKind
from tenure.domain.refunds import Refund, RefundBasis
from tenure.domain.subscription import Subscription
from tenure.ports import (
    Commit,
    EmailMove,
    EventReads,
    Marker,
    ProviderLink,
    Redemption,
    Repository,
)
from tenure.store.dynamodb import DUE_SHARDS, due_shard

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
BASIC = Plan(id="basic", amount=1000, currency="USD", interval="month")


def customer(customer_id: str = "alice", at: datetime = T0) -> Customer:
    return Customer(id=customer_id, email=f"{customer_id}@example.com", created_at=at)


def subscribed(repo: Repository, sub_id: str = "sub-1", at: datetime = T0) -> Subscription:
    sub = Subscription.subscribe(sub_id, "alice", BASIC, at)
    change = Commit()
    change.add_subscription(sub)
    repo.commit(change)
    return sub


def activated(repo: Repository, sub_id: str, at: datetime) -> None:
    """A subscription created and activated at `at`: its renewal is in the due index."""
    subscribed(repo, sub_id, at)
    stored = repo.get_subscription(sub_id)
    assert stored is not None
    stored.activate(BASIC, at)
    change = Commit()
    change.add_subscription(stored)
    repo.commit(change)


def test_a_customer_reads_back_as_written(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()]))
    stored = repo.get_customer("alice")
    assert stored is not None
    assert (stored.email, stored.created_at, stored.version) == ("alice@example.com", T0, 1)


def test_an_unknown_id_reads_as_none(repo: Repository) -> None:
    assert repo.get_customer("nobody") is None
    assert repo.get_subscription("nothing") is None
    assert repo.get_invoice("nothing") is None
    assert repo.get_plan("nothing") is None


def test_creating_the_same_customer_twice_is_refused_and_changes_nothing(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()]))
    twin = Customer(id="alice", email="other@example.com", created_at=T0)
    with pytest.raises(AlreadyExistsError):
        repo.commit(Commit(customers=[twin]))
    stored = repo.get_customer("alice")
    assert stored is not None and stored.email == "alice@example.com"


def test_a_stale_write_loses_and_the_whole_commit_is_rolled_back(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    subscribed(repo)
    first, second = repo.get_subscription("sub-1"), repo.get_subscription("sub-1")
    assert first is not None and second is not None
    first.cancel(BASIC, T0 + timedelta(days=1), at_period_end=False, reason="too_expensive")
    change = Commit()
    change.add_subscription(first)
    repo.commit(change)
    second.cancel(BASIC, T0 + timedelta(days=2), at_period_end=False, reason="other")
    stale = Commit(customers=[customer("bob")])
    stale.add_subscription(second)
    with pytest.raises(ConcurrencyError):
        repo.commit(stale)
    assert repo.get_customer("bob") is None  # nothing of the failed commit was written
    stored = repo.get_subscription("sub-1")
    assert stored is not None and stored.cancel_reason == "too_expensive"


def test_subscriptions_of_a_customer_are_listed_in_creation_order(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    subscribed(repo, "sub-b", T0)
    subscribed(repo, "sub-a", T0 + timedelta(hours=1))
    assert [s.id for s in repo.list_subscriptions("alice")] == ["sub-b", "sub-a"]
    assert repo.list_subscriptions("bob") == []


def test_payment_methods_and_plans_are_listed(repo: Repository) -> None:
    pro = Plan(id="pro", amount=2000, currency="USD", interval="month")
    method = PaymentMethod("pm_card_visa", "alice", "sandbox", T0)
    repo.commit(Commit(customers=[customer()], plans=[BASIC, pro], payment_methods=[method]))
    assert [p.id for p in repo.list_plans()] == ["basic", "pro"]
    assert repo.get_plan("pro") == pro
    assert [m.id for m in repo.list_payment_methods("alice")] == ["pm_card_visa"]


def test_due_work_is_found_only_once_it_is_due(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    sub = subscribed(repo)
    sub_stored = repo.get_subscription(sub.id)
    assert sub_stored is not None
    sub_stored.activate(BASIC, T0)
    change = Commit()
    change.add_subscription(sub_stored)
    repo.commit(change)
    period_end = datetime(2026, 2, 28, 9, 0, tzinfo=UTC)
    assert repo.due(period_end - timedelta(seconds=1)) == []
    due = repo.due(period_end)
    assert [(d.entity_id, d.due_at, d.kind) for d in due] == [("sub-1", period_end, "renewal")]
    assert due[0].customer_id == "alice"
    assert due[0].subscription == repo.get_subscription("sub-1")  # whole: renewed unread
    assert repo.next_due_at() == period_end


def test_due_work_is_read_page_after_page_each_item_once(repo: Repository) -> None:
    # Given 30 subscriptions due at two moments, spread over the index's shards
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    change = Commit()
    for n in range(30):
        subscribed(repo, f"sub-{n:02}")
        sub = repo.get_subscription(f"sub-{n:02}")
        assert sub is not None
        sub.activate(BASIC, T0 + timedelta(hours=n % 2))
        change.add_subscription(sub)
    repo.commit(change)
    last_end = datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
    # When they are read in pages of about 8
    pages = list(repo.due_pages(last_end, page=8))
    # Then every one comes once, each page oldest first, and the first page is what `due` reads
    ids = [d.entity_id for page in pages for d in page]
    assert sorted(ids) == [f"sub-{n:02}" for n in range(30)]
    assert len(pages) > 1 and all(len(page) <= 8 for page in pages)
    assert all(page == sorted(page, key=lambda d: (d.due_at, d.entity_id)) for page in pages)
    assert [d.entity_id for d in repo.due(last_end, limit=8)] == [d.entity_id for d in pages[0]]
    # ... and nothing is read that is not yet due
    assert list(repo.due_pages(T0)) == []


def test_one_read_of_due_work_takes_at_most_its_share_from_each_shard(repo: Repository) -> None:
    # The scheduler reads one page of due work: each of the index's shards gives up to its
    # share of the limit, oldest first; what a crowded shard holds beyond that waits.
    crowded = [f"sub-{n:03d}" for n in range(200) if due_shard(f"sub-{n:03d}") == 0][:6]
    other = next(f"sub-{n:03d}" for n in range(200) if due_shard(f"sub-{n:03d}") == 1)
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    for n, sub_id in enumerate([*reversed(crowded), other]):
        activated(repo, sub_id, T0 + timedelta(minutes=n))
    later = T0 + timedelta(days=60)
    page = repo.due(later, limit=2 * DUE_SHARDS)  # a share of 2 per shard
    expected = sorted([crowded[-1], crowded[-2], other])  # the two oldest of the crowded shard
    assert sorted(d.entity_id for d in page) == expected
    assert [d.due_at for d in page] == sorted(d.due_at for d in page)
    assert len(repo.due(later)) == 7


def test_payment_methods_are_listed_by_id_whatever_order_they_came_in(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()]))
    for method_id in ("pm_zeta", "pm_alpha", "pm_mid"):
        repo.commit(Commit(payment_methods=[PaymentMethod(method_id, "alice", "sandbox", T0)]))
    assert [m.id for m in repo.list_payment_methods("alice")] == ["pm_alpha", "pm_mid", "pm_zeta"]


def test_events_of_one_moment_are_listed_by_id_not_by_commit(repo: Repository) -> None:
    events = [
        DomainEvent(EventType.CUSTOMER_CREATED, f"cus-{n}", f"cus-{n}", T0, 0) for n in range(6)
    ]
    for event in events:
        repo.commit(Commit(events=[event]))
    listed = repo.events_between(T0, T0 + timedelta(seconds=1))
    assert [e["id"] for e in listed] == sorted(e.id for e in events)
    assert [e["id"] for e in listed] != [e.id for e in events], "commit order is not id order"


def test_events_committed_together_are_listed_by_id_among_the_others(repo: Repository) -> None:
    # Given six events of one moment: three committed together (they share an item on the
    # table), in the reverse of their id order, and three alone
    events = sorted(
        (DomainEvent(EventType.CUSTOMER_CREATED, f"cus-{n}", f"cus-{n}", T0, 0) for n in range(6)),
        key=lambda e: e.id,
    )
    together = [events[5], events[3], events[1]]
    repo.commit(Commit(events=together))
    for event in (events[0], events[2], events[4]):
        repo.commit(Commit(events=[event]))
    # When the moment's events are listed
    listed = repo.events_between(T0, T0 + timedelta(seconds=1))
    # Then each is there once, by id, as if each had its own item
    assert [e["id"] for e in listed] == [e.id for e in events]


def test_ledger_entries_of_one_moment_are_listed_by_subscription(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    for sub_id in ("sub-z", "sub-a", "sub-m"):
        activated(repo, sub_id, T0)
    ledger = repo.ledger_between(T0, T0 + timedelta(days=1))
    assert [e.subscription_id for e in ledger] == ["sub-a", "sub-m", "sub-z"]


def test_a_subscription_and_its_customer_read_together(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    subscribed(repo)
    sub, owner = repo.get_subscription_with_customer("sub-1", "alice")
    assert sub is not None and owner is not None
    assert (sub.id, sub.version, owner.id, owner.version) == ("sub-1", 1, "alice", 1)
    assert repo.get_subscription_with_customer("sub-1", "nobody")[1] is None
    assert repo.get_subscription_with_customer("nothing", "alice")[0] is None


def paying_alice(repo: Repository) -> Customer:
    alice = customer()
    alice.default_payment_method, alice.provider_customer_id = "pm_card_visa", "cus_A"
    repo.commit(Commit(customers=[alice], plans=[BASIC]))
    subscribed(repo)
    stored = repo.get_customer("alice")
    assert stored is not None
    return stored


def test_a_plan_reads_back_whole_from_the_store(repo: Repository) -> None:
    intro = (IntroPhase(3, Decimal("12.5")), IntroPhase(1, Decimal(100)))
    plan = Plan(
        id="vat",
        name="Pro, VAT included",
        amount=4900,
        currency="EUR",
        interval=IntervalUnit.YEAR,
        interval_count=2,
        trial_days=14,
        intro=intro,
        tax_rate=Decimal("7.25"),
        tax_behavior=TaxBehavior.INCLUSIVE,
    )
    repo.commit(Commit(plans=[plan]))
    [stored] = repo.list_plans()  # a listing reads the store, never what a commit kept
    assert stored == plan
    assert (type(stored.tax_rate), type(stored.intro[0].percent_off)) == (Decimal, Decimal)


def _with_change(plan: Plan, amount: int, days: int) -> Plan:
    n = len(plan.price_changes) + 1
    change = PriceChange(f"{plan.id}:pc{n}", amount, T0 + timedelta(days=days), 30, False, T0)
    return replace(plan, price_changes=(*plan.price_changes, change))


def test_a_plan_price_change_reads_back_and_a_racing_one_loses(repo: Repository) -> None:
    repo.commit(Commit(plans=[BASIC]))
    first = _with_change(BASIC, 1200, 40)
    racing = _with_change(BASIC, 1300, 50)  # made from the same read
    repo.commit(Commit(plan_updates=[first]))
    with pytest.raises(ConcurrencyError):
        repo.commit(Commit(plan_updates=[racing]))
    [stored] = repo.list_plans()
    assert stored == first
    second = _with_change(stored, 1400, 90)
    repo.commit(Commit(plan_updates=[second]))
    [stored] = repo.list_plans()
    assert [c.amount for c in stored.price_changes] == [1200, 1400]


def test_a_tiered_plans_new_table_reads_back(repo: Repository) -> None:
    tiered = replace(BASIC, amount=0, tiers=(Tier(5, 1000, 200), Tier(None, 800)))
    repo.commit(Commit(plans=[tiered]))
    table = (Tier(5, 1200, 200), Tier(None, 900))
    change = PriceChange(f"{tiered.id}:pc1", 0, T0 + timedelta(days=40), 30, False, T0, table)
    repo.commit(Commit(plan_updates=[replace(tiered, price_changes=(change,))]))
    [stored] = repo.list_plans()
    assert stored.price_changes == (change,) and stored.price_changes[0].tiers == table


def test_a_price_change_for_a_plan_never_created_writes_nothing(repo: Repository) -> None:
    with pytest.raises(ConcurrencyError):
        repo.commit(Commit(plan_updates=[_with_change(BASIC, 1200, 40)]))
    assert repo.list_plans() == []


def test_a_subscription_keeps_its_price_steps_and_when_it_joined_its_plan(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    sub = subscribed(repo)
    stored = repo.get_subscription(sub.id)
    assert stored is not None
    stored.price_steps = (PriceStep("basic:pc1", T0 + timedelta(days=59)), PriceStep("x", None))
    stored.plan_since = T0 + timedelta(days=3)
    change = Commit()
    change.add_subscription(stored)
    repo.commit(change)
    again = repo.get_subscription(sub.id)
    assert again is not None and again.price_steps == stored.price_steps
    assert again.plan_since == T0 + timedelta(days=3)


def listed_sub(sub_id: str, payer: Payer) -> Subscription:
    """A new subscription as `subscribe` makes it: its copy of the payer, to be listed."""
    sub = Subscription.subscribe(sub_id, "alice", BASIC, T0)
    sub.copy_payer(payer)
    sub.listed = True
    return sub


def test_new_subscriptions_join_their_customers_list_and_a_write_read_before_loses(
    repo: Repository,
) -> None:
    # Given alice as read before two subscriptions are made for her
    alice = paying_alice(repo)
    change = Commit()
    change.add_subscription(listed_sub("sub-2", alice.payer))
    change.add_subscription(listed_sub("sub-3", alice.payer))
    repo.commit(change)
    stored = repo.get_customer("alice")
    assert stored is not None and stored.subscription_ids == {"sub-2", "sub-3"}
    assert stored.version == alice.version  # event ids are made from it: it stays
    assert [s.listed for s in repo.list_subscriptions("alice")] == [False, True, True]
    # When a change of her card made from that read is committed, it loses whole
    alice.default_payment_method = "pm_card_mastercard"
    with pytest.raises(ConcurrencyError):
        repo.commit(Commit(customers=[alice]))
    again = repo.get_customer("alice")
    assert again is not None and again.default_payment_method == "pm_card_visa"
    # And one made from a fresh read is written, list and all
    again.default_payment_method = "pm_card_mastercard"
    repo.commit(Commit(customers=[again]))
    last = repo.get_customer("alice")
    assert last is not None and last.subscription_ids == {"sub-2", "sub-3"}


def test_a_new_subscription_whose_copy_is_not_its_customers_card_is_stored_unlisted(
    repo: Repository,
) -> None:
    # Given alice, whose card changed after the subscribe read her (its copy is the old one)
    alice = paying_alice(repo)
    old = Payer("alice", "pm_card_old", "cus_A")
    change = Commit()
    change.add_subscription(listed_sub("sub-2", old))
    # When the subscription is committed
    repo.commit(change)
    # Then it is made, unlisted (its claims check alice), and her record is as it was
    sub, stored = repo.get_subscription("sub-2"), repo.get_customer("alice")
    assert sub is not None and not sub.listed and sub.payer == old
    assert stored is not None and stored.subscription_ids == frozenset()
    assert stored.version == alice.version


def test_a_new_subscription_joins_the_list_of_a_customer_written_with_it(
    repo: Repository,
) -> None:
    alice = paying_alice(repo)
    alice.name = "Alice A."
    change = Commit(customers=[alice])
    change.add_subscription(listed_sub("sub-2", alice.payer))
    repo.commit(change)
    stored, sub = repo.get_customer("alice"), repo.get_subscription("sub-2")
    assert stored is not None and stored.subscription_ids == {"sub-2"}
    assert stored.name == "Alice A."
    assert sub is not None and sub.listed


def test_a_new_subscription_of_a_customer_its_commit_checks_is_stored_unlisted(
    repo: Repository,
) -> None:
    # One item takes one operation in a transaction: the check stays, the listing goes.
    alice = paying_alice(repo)
    change = Commit(payer_checks=[alice.payer])
    change.add_subscription(listed_sub("sub-2", alice.payer))
    repo.commit(change)
    sub, stored = repo.get_subscription("sub-2"), repo.get_customer("alice")
    assert sub is not None and not sub.listed
    assert stored is not None and stored.subscription_ids == frozenset()


def test_a_customer_and_a_subscription_from_before_lists_read_as_unlisted(
    repo: Repository,
) -> None:
    repo.commit(Commit(customers=[customer()]))
    subscribed(repo)
    stored, sub = repo.get_customer("alice"), repo.get_subscription("sub-1")
    assert stored is not None and stored.subscription_ids == frozenset()
    assert sub is not None and not sub.listed


def test_a_payer_copy_lands_on_the_subscription_whatever_its_version(repo: Repository) -> None:
    alice = paying_alice(repo)
    repo.commit(Commit(payer_copies=[("sub-1", alice.payer)]))
    sub = repo.get_subscription("sub-1")
    assert sub is not None
    assert (sub.payment_method, sub.provider_customer_id) == ("pm_card_visa", "cus_A")
    assert sub.version == 2  # moved: a renewal holding the older copy loses its claim
    nobody = Payer("alice", None, None)
    repo.commit(Commit(payer_copies=[("sub-1", nobody)]))
    cleared = repo.get_subscription("sub-1")
    assert cleared is not None and cleared.payer == nobody and cleared.version == 3


def test_a_payer_copy_for_a_missing_subscription_writes_nothing(repo: Repository) -> None:
    alice = paying_alice(repo)
    marker = Marker("copy-1", T0 + timedelta(days=30))
    with pytest.raises(ConcurrencyError):
        repo.commit(Commit(payer_copies=[("sub-404", alice.payer)], markers=[marker]))
    assert not repo.has_marker("copy-1")


def test_a_payer_copy_and_a_write_of_the_same_subscription_are_refused(
    repo: Repository,
) -> None:
    alice = paying_alice(repo)
    sub = repo.get_subscription("sub-1")
    assert sub is not None
    change = Commit(payer_copies=[("sub-1", alice.payer)])
    change.add_subscription(sub)
    with pytest.raises(ValueError, match="both written"):
        repo.commit(change)
    stored = repo.get_subscription("sub-1")
    assert stored is not None and stored.version == 1


@pytest.mark.parametrize(
    "payer",
    [
        pytest.param(Payer("alice", "pm_card_visa", "cus_A"), id="both set"),
        pytest.param(Payer("bob", None, None), id="both absent"),
    ],
)
def test_a_payer_check_that_holds_lets_the_commit_through(repo: Repository, payer: Payer) -> None:
    paying_alice(repo)
    repo.commit(Commit(customers=[customer("bob")]))
    marker = Marker("checked", T0 + timedelta(days=30))
    repo.commit(Commit(payer_checks=[payer], markers=[marker]))
    assert repo.has_marker("checked")


@pytest.mark.parametrize(
    "payer",
    [
        pytest.param(Payer("alice", "pm_card_mastercard", "cus_A"), id="another card"),
        pytest.param(Payer("alice", "pm_card_visa", "cus_B"), id="another provider customer"),
        pytest.param(Payer("alice", None, "cus_A"), id="no card"),
        pytest.param(Payer("alice", "pm_card_visa", None), id="no provider customer"),
        pytest.param(Payer("nobody", None, None), id="no such customer"),
    ],
)
def test_a_payer_check_that_fails_writes_nothing(repo: Repository, payer: Payer) -> None:
    paying_alice(repo)
    marker = Marker("checked", T0 + timedelta(days=30))
    with pytest.raises(ConcurrencyError):
        repo.commit(Commit(payer_checks=[payer], markers=[marker]))
    assert not repo.has_marker("checked")


def test_a_canceled_subscription_leaves_the_due_index(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    subscribed(repo)
    sub = repo.get_subscription("sub-1")
    assert sub is not None
    sub.cancel(BASIC, T0 + timedelta(days=1), at_period_end=False, reason=None)
    change = Commit()
    change.add_subscription(sub)
    repo.commit(change)
    assert repo.due(T0 + timedelta(days=400)) == []
    assert repo.next_due_at() is None


def test_events_and_ledger_entries_commit_with_the_change(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    sub = subscribed(repo)
    stored = repo.get_subscription(sub.id)
    assert stored is not None
    stored.activate(BASIC, T0 + timedelta(minutes=1))
    change = Commit()
    change.add_subscription(stored)
    repo.commit(change)
    events = repo.events_between(T0, T0 + timedelta(days=1))
    assert [e["type"] for e in events] == ["SubscriptionCreated", "SubscriptionActivated"]
    ledger = repo.ledger_between(T0, T0 + timedelta(days=1))
    assert [(e.before, e.after) for e in ledger] == [(0, 1000)]


def test_an_idempotency_key_is_claimed_once(repo: Repository) -> None:
    assert repo.claim_idempotency("k1", "fp", T0) is None
    held = repo.claim_idempotency("k1", "fp", T0)
    assert held is not None and held.status == "in_progress"
    repo.complete_idempotency("k1", {"status": 201, "body": "{}"}, T0)
    done = repo.claim_idempotency("k1", "fp", T0)
    assert (
        done is not None
        and done.status == "done"
        and done.response
        == {
            "status": 201,
            "body": "{}",
        }
    )
    repo.release_idempotency("k1")
    assert repo.claim_idempotency("k1", "fp2", T0) is None


def test_an_idempotency_answer_keeps_its_headers_and_an_older_one_has_none(
    repo: Repository,
) -> None:
    # A page's answer keeps the headers its replay must carry; an answer stored without them
    # (every one before they were kept, and every plain JSON one) reads back without them.
    page = {
        "status": 303,
        "body": "",
        "headers": {
            "Content-Type": "text/html; charset=utf-8",
            "Location": "/pages/done",
            "Vary": ["Accept", "Accept-Language"],
        },
    }
    plain = {"status": 201, "body": "{}"}
    for key, answer in (("page", page), ("plain", plain)):
        assert repo.claim_idempotency(key, "fp", T0) is None
        repo.complete_idempotency(key, answer, T0)

    kept = repo.claim_idempotency("page", "fp", T0)
    older = repo.claim_idempotency("plain", "fp", T0)

    assert kept is not None and kept.response == page
    assert older is not None and older.response == plain


def test_forgetting_a_customers_idempotency_records_drops_only_their_answers(
    repo: Repository,
) -> None:
    answer = {"status": 201, "body": '{"name":"Alice Smith"}'}
    for key, customer in (("a1", "alice"), ("a2", "alice"), ("b1", "bob"), ("p1", None)):
        assert repo.claim_idempotency(key, f"fp-{key}", T0) is None
        repo.complete_idempotency(key, answer, T0, customer)

    assert repo.forget_idempotency("alice") == 2

    for key in ("a1", "a2"):
        held = repo.claim_idempotency(key, f"fp-{key}", T0)
        assert held is not None
        assert (held.fingerprint, held.status, held.response) == (f"fp-{key}", "erased", None)
    for key in ("b1", "p1"):
        kept = repo.claim_idempotency(key, f"fp-{key}", T0)
        assert kept is not None and (kept.status, kept.response) == ("done", answer)
    assert repo.forget_idempotency("alice") == 0  # out of her listing: read once only


def test_a_customer_with_no_idempotency_records_forgets_none(repo: Repository) -> None:
    assert repo.forget_idempotency("nobody") == 0


def test_a_marker_commits_its_effect_once(repo: Repository) -> None:
    expires = T0 + timedelta(days=30)
    repo.commit(Commit(customers=[customer()], markers=[Marker("webhook:evt_1", expires)]))
    assert repo.has_marker("webhook:evt_1")
    with pytest.raises(AlreadyExistsError):
        repo.commit(Commit(customers=[customer("bob")], markers=[Marker("webhook:evt_1", expires)]))
    assert repo.get_customer("bob") is None  # the effect did not happen twice
    assert not repo.has_marker("webhook:evt_2")


def test_provider_objects_map_to_tenure_ids(repo: Repository) -> None:
    repo.commit(Commit(provider_links=[ProviderLink("stripe", "pi_123", "in_abc")]))
    assert repo.find_provider_object("stripe", "pi_123") == "in_abc"
    assert repo.find_provider_object("stripe", "pi_999") is None


def test_a_provider_events_marker_and_objects_read_together(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    sub = subscribed(repo)
    invoice = Invoice(
        "in_1", sub.id, "alice", InvoiceKind.RENEWAL, T0, T0 + timedelta(days=28), "USD", [],
        InvoiceStatus.OPEN, T0, attempts=1,
    )  # fmt: skip
    charge = Charge("ch_in_1_1", "in_1", sub.id, "alice", 1, 1000, "USD", T0, payment_id="pi_1")
    link = ProviderLink("stripe", "pi_1", "in_1:1")
    repo.commit(Commit(invoices=[invoice], charges=[charge], provider_links=[link]))

    reads = repo.read_for_event(
        "webhook:evt_1",
        link=("stripe", "pi_1"),
        invoice_id="in_1",
        attempt=1,
        subscription_id=sub.id,
        customer_id="alice",
    )
    assert not reads.marked and reads.linked == "in_1:1"
    assert reads.invoice is not None and (reads.invoice.id, reads.invoice.version) == ("in_1", 1)
    assert reads.charge is not None and reads.charge.payment_id == "pi_1"
    assert reads.subscription is not None and reads.subscription.version == sub.version
    assert reads.mrr is not None and reads.mrr.customer_id == "alice"
    repo.commit(Commit(markers=[Marker("webhook:evt_1", T0 + timedelta(days=30))]))
    assert repo.read_for_event("webhook:evt_1").marked
    nothing = repo.read_for_event(
        "webhook:evt_2", link=("stripe", "pi_2"), invoice_id="in_2", attempt=1, subscription_id="x"
    )
    assert nothing == EventReads()
    assert repo.read_for_event("webhook:evt_2", invoice_id="in_1", attempt=2).charge is None


def test_a_provider_events_read_tells_a_customer_without_points_has_none(
    repo: Repository,
) -> None:
    repo.commit(Commit(customers=[customer()]))
    reads = repo.read_for_event("webhook:evt_1", invoice_id="in_1", points_of="alice")
    assert reads.points == PointsAccount("alice")
    assert repo.read_for_event("webhook:evt_1").points is None  # not asked
    entry = PointsEntry("alice", T0, PointsKind.EARNED, 10, "in_1", 1000)
    repo.commit(Commit(points=[PointsMove("alice", balance=10, entry=entry)]))
    # Once she has an account its history may matter: the read leaves it to a query.
    assert repo.read_for_event("webhook:evt_1", points_of="alice").points is None


def test_a_snapshot_of_a_day_is_overwritten_by_a_rerun(repo: Repository) -> None:
    repo.save_snapshot("2026-02-01", {"mrr": 100, "customers": 1})
    repo.save_snapshot("2026-02-01", {"mrr": 200, "customers": 2})
    assert repo.get_snapshot("2026-02-01") == {"mrr": 200, "customers": 2}
    assert repo.get_snapshot("2026-02-02") is None


# -- coupons ---------------------------------------------------------------------------------
def a_coupon(coupon_id: str = "half", **fields: Any) -> Coupon:
    values: dict[str, Any] = {
        "id": coupon_id,
        "terms": DiscountTerms(percent_off=Decimal("12.5")),
        "duration": CouponDuration.ONCE,
        "created_at": T0,
    }
    return Coupon(**(values | fields))


def test_a_coupon_reads_back_whole_and_is_listed(repo: Repository) -> None:
    full = a_coupon(
        "five-off-3",
        name="Five off",
        terms=DiscountTerms(amount_off=500, currency="USD"),
        duration=CouponDuration.REPEATING,
        duration_in_periods=3,
        max_redemptions=100,
        redeem_by=T0 + timedelta(days=300),
        plans=("pro", "basic"),
    )
    repo.commit(Commit(coupons=[full, a_coupon()]))
    stored = repo.get_coupon("five-off-3")
    assert stored is not None
    assert stored == Coupon(**(vars_of(full) | {"version": 1}))
    assert [c.id for c in repo.list_coupons()] == ["five-off-3", "half"]
    listed = repo.list_coupons()[1]
    assert listed.terms.percent_off == Decimal("12.5") and listed.version == 1
    assert repo.get_coupon("nothing") is None


def vars_of(coupon: Coupon) -> dict[str, Any]:
    return {name: getattr(coupon, name) for name in Coupon.__dataclass_fields__}


def test_creating_a_coupon_twice_is_refused_and_changes_nothing(repo: Repository) -> None:
    repo.commit(Commit(coupons=[a_coupon()]))
    twin = a_coupon(terms=DiscountTerms(percent_off=Decimal(90)))
    with pytest.raises(AlreadyExistsError) as refused:
        repo.commit(Commit(coupons=[twin], customers=[customer("bob")]))
    assert refused.value.kind == "coupon"
    stored = repo.get_coupon("half")
    assert stored is not None and stored.terms.percent_off == Decimal("12.5")
    assert repo.get_customer("bob") is None


def test_a_redemption_is_counted_with_the_subscription_it_discounts(repo: Repository) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC], coupons=[a_coupon()]))
    coupon = repo.get_coupon("half")
    assert coupon is not None
    sub = Subscription.subscribe("sub-1", "alice", BASIC, T0, coupon.redeem(BASIC, "USD", T0))
    change = Commit(redemptions=[Redemption("half", None)])
    change.add_subscription(sub)
    repo.commit(change)
    stored, coupon = repo.get_subscription("sub-1"), repo.get_coupon("half")
    assert stored is not None and coupon is not None
    assert coupon.times_redeemed == 1
    assert stored.period_discount == sub.period_discount  # read back whole
    assert stored.period_discount is not None and stored.discount is None


def test_a_forever_discount_still_to_run_reads_back_with_the_subscription(
    repo: Repository,
) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    forever = a_coupon(
        terms=DiscountTerms(amount_off=300, currency="USD"), duration=CouponDuration.FOREVER
    )
    sub = Subscription.subscribe("sub-1", "alice", BASIC, T0, forever.redeem(BASIC, "USD", T0))
    change = Commit()
    change.add_subscription(sub)
    repo.commit(change)
    stored = repo.get_subscription("sub-1")
    assert stored is not None
    assert (stored.discount, stored.period_discount) == (sub.discount, sub.period_discount)
    assert stored.discount is not None and stored.discount.periods_left is None


def test_of_two_commits_racing_for_the_last_redemption_exactly_one_is_written(
    repo: Repository,
) -> None:
    last_one = a_coupon(max_redemptions=1)
    repo.commit(Commit(customers=[customer()], plans=[BASIC], coupons=[last_one]))
    # Both read the coupon with one redemption left, and both pass the domain's check.
    subs = []
    for n in (1, 2):
        read = repo.get_coupon("half")
        assert read is not None
        sub = Subscription.subscribe(f"sub-{n}", "alice", BASIC, T0, read.redeem(BASIC, "USD", T0))
        subs.append(sub)
    first = Commit(redemptions=[Redemption("half", 1)])
    first.add_subscription(subs[0])
    repo.commit(first)
    second = Commit(redemptions=[Redemption("half", 1)])
    second.add_subscription(subs[1])
    with pytest.raises(ValidationFailedError, match="max_redemptions") as refused:
        repo.commit(second)
    assert refused.value.field == "coupon"
    assert repo.get_subscription("sub-2") is None  # nothing of the losing commit
    coupon = repo.get_coupon("half")
    assert coupon is not None and coupon.times_redeemed == 1


def test_a_redemption_of_a_coupon_that_is_not_there_writes_nothing(repo: Repository) -> None:
    with pytest.raises(ValidationFailedError):
        repo.commit(Commit(customers=[customer()], redemptions=[Redemption("gone", None)]))
    assert repo.get_customer("alice") is None


# -- refunds and save attempts ------------------------------------------------------------------
def a_refund(n: int = 1, amount: int = 400) -> Refund:
    return Refund(
        id=f"rf_in_1_{n}",
        invoice_id="in_1",
        subscription_id="sub-1",
        customer_id="alice",
        charge_id="ch_in_1_1",
        payment_id="pi_1",
        provider_refund_id=f"re_{n}",
        amount=amount,
        currency="USD",
        at=T0 + timedelta(minutes=n),
        basis=RefundBasis.PARTIAL,
        reason="outage",
        note="asked by phone",
    )


def test_refunds_read_back_whole_in_the_order_they_were_made(repo: Repository) -> None:
    repo.commit(Commit(refunds=[a_refund(2, 300)]))
    repo.commit(Commit(refunds=[a_refund(1)]))
    assert repo.list_refunds("in_1") == [a_refund(1), a_refund(2, 300)]
    assert repo.list_refunds("in_2") == []


def test_the_same_refund_is_recorded_once_and_its_commit_writes_nothing_else(
    repo: Repository,
) -> None:
    repo.commit(Commit(refunds=[a_refund()]))
    repo.commit(Commit(customers=[customer()]))
    with pytest.raises(AlreadyExistsError):
        repo.commit(Commit(refunds=[a_refund()], customers=[customer("bob")]))
    assert repo.get_customer("bob") is None
    assert repo.list_refunds("in_1") == [a_refund()]


def an_attempt(previous: SaveAttempt | None = None) -> SaveAttempt:
    offers = (
        SaveOffer("pause2", OfferKind.PAUSE, months=2),
        SaveOffer("down", OfferKind.CHANGE_PLAN, plan="lite"),
    )
    return SaveAttempt.present(
        previous, "sub-1", "alice", "USD", offers, "too_expensive", "pricey", T0
    )


def test_a_save_attempt_reads_back_and_a_stale_one_loses(repo: Repository) -> None:
    first = an_attempt()
    repo.commit(Commit(save_attempts=[first]))
    held = repo.get_save_attempt("sub-1")
    assert held is not None and held.offers == first.offers and held.reason_text == "pricey"
    held.accept("down", T0 + timedelta(hours=1))
    repo.commit(Commit(save_attempts=[held]))
    stale = an_attempt()  # as if made from nothing read: version 0
    with pytest.raises((AlreadyExistsError, ConcurrencyError)):
        repo.commit(Commit(save_attempts=[stale]))
    now = repo.get_save_attempt("sub-1")
    assert now is not None and (now.status, now.accepted) == (AttemptStatus.ACCEPTED, "down")
    assert repo.get_save_attempt("sub-2") is None


def test_a_collection_case_and_its_repayment_plan_read_back_whole(repo: Repository) -> None:
    owed = Invoice(
        id="in-1",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=T0,
        period_end=T0 + timedelta(days=28),
        currency="USD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", 1000), InvoiceLine(LineKind.TAX, "VAT", 200)],
        status=InvoiceStatus.OPEN,
        created_at=T0,
    )
    case = CollectionCase.open("alice", "sub-1", [owed], T0 + timedelta(days=20))
    assert case is not None
    repo.commit(Commit(customers=[customer()]))
    opening = Commit()
    opening.add_collection_case(case)
    repo.commit(opening)
    plan = case.choose_plan(3, "week", CollectionsPolicy(), T0 + timedelta(days=21))
    choosing = Commit()
    choosing.add_collection_case(case)
    choosing.add_installment_plan(plan)
    repo.commit(choosing)
    stored = repo.get_collection_case(case.id)
    assert stored is not None
    assert (stored.lines, stored.balance, stored.status, stored.plan_id, stored.version) == (
        case.lines,
        1200,
        case.status,
        plan.id,
        2,
    )
    assert [c.id for c in repo.list_collection_cases("alice")] == [case.id]
    assert repo.list_collection_cases("bob") == []
    read_plan = repo.get_installment_plan(plan.id)
    assert read_plan is not None and read_plan.collection_case_id == case.id
    # A stale copy of the case loses, and the whole commit with it
    stale = Commit()
    case.version = 1
    stale.collection_cases.append(case)
    with pytest.raises(ConcurrencyError):
        repo.commit(stale)


def test_a_settled_case_reads_back_what_it_forgave(repo: Repository) -> None:
    # KWD 0.005: under the 10 fils Stripe charges at the least, forgiven when paid in full
    owed = Invoice(
        id="in-kwd",
        subscription_id="sub-1",
        customer_id="alice",
        kind=InvoiceKind.RENEWAL,
        period_start=T0,
        period_end=T0 + timedelta(days=28),
        currency="KWD",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", 5)],
        status=InvoiceStatus.OPEN,
        created_at=T0,
    )
    case = CollectionCase.open("alice", "sub-1", [owed], T0 + timedelta(days=20))
    assert case is not None and case.pay_in_full(T0 + timedelta(days=21)) is None
    repo.commit(Commit(customers=[customer()]))
    settling = Commit()
    settling.add_collection_case(case)
    repo.commit(settling)
    stored = repo.get_collection_case(case.id)
    assert stored is not None
    assert (stored.status, stored.recovered, stored.forgiven, stored.balance) == (
        case.status,
        0,
        5,
        0,
    )


def test_a_container_keeps_a_plan_it_read_for_a_minute_then_sees_its_price_change(
    local_stack: Any,
) -> None:
    from containers import a_reader_and_a_writer

    from tenure.store.dynamodb import PLANS_KEPT_SECONDS

    reader, writer, ticks = a_reader_and_a_writer(local_stack)
    writer.commit(Commit(plans=[BASIC]))
    assert reader.get_plan("basic") == BASIC
    changed = _with_change(BASIC, 1200, 40)
    writer.commit(Commit(plan_updates=[changed]))
    ticks[0] = PLANS_KEPT_SECONDS - 1
    assert reader.get_plan("basic") == BASIC  # a renewal in the next minute reads nothing
    ticks[0] = PLANS_KEPT_SECONDS
    assert reader.get_plan("basic") == changed


def test_an_invoices_refund_credit_at_the_close_is_due_work_and_reads_back(
    repo: Repository,
) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    sub = subscribed(repo)
    invoice = Invoice(
        "in_1", sub.id, "alice", InvoiceKind.FIRST, T0, T0 + timedelta(days=28), "USD",
        [InvoiceLine(LineKind.PLAN, "Basic", 1000)], InvoiceStatus.PAID, T0,
    )  # fmt: skip
    invoice.schedule_refund_credit(T0)
    repo.commit(Commit(invoices=[invoice]))
    close = datetime(2026, 2, 1, tzinfo=UTC)
    stored = repo.get_invoice("in_1")
    assert stored is not None and stored.credit_due_at == close
    assert [(d.entity_id, d.kind) for d in repo.due(close)] == [("in_1", "credit")]
    stored.credit_due_at = None
    stored.refunds_credited = 300  # more than `credited` says: kept apart
    repo.commit(Commit(invoices=[stored]))
    again = repo.get_invoice("in_1")
    assert again is not None and (again.credit_due_at, again.refunds_credited) == (None, 300)
    assert repo.due(close) == []


def _customer(customer_id: str, email: str) -> Customer:
    return Customer(
        id=customer_id, email=email, name="", locale="en", timezone="UTC", created_at=T0
    )


def test_a_customers_creation_indexes_their_email_for_a_prefix_search_in_any_case(
    repo: Repository,
) -> None:
    repo.commit(Commit(customers=[_customer("c1", "Anna.Lee@Example.com")]))
    repo.commit(Commit(customers=[_customer("c2", "anna@example.org")]))
    repo.commit(Commit(customers=[_customer("c3", "boris@example.com")]))
    again = repo.get_customer("c1")
    assert again is not None
    repo.commit(Commit(customers=[again]))  # a later write of the customer adds nothing

    assert repo.find_customers_by_email("ANNA", 10) == [
        ("anna.lee@example.com", "c1"),
        ("anna@example.org", "c2"),
    ]
    assert repo.find_customers_by_email("anna@", 10) == [("anna@example.org", "c2")]
    assert repo.find_customers_by_email("anna", 1) == [("anna.lee@example.com", "c1")]
    assert repo.find_customers_by_email("zed", 10) == []
    assert repo.find_customers_by_email("", 10) == []


def test_indexing_emails_again_changes_nothing(repo: Repository) -> None:
    repo.commit(Commit(customers=[_customer("c1", "anna@example.com")]))
    customers, _ = repo.list_customers(10)
    assert repo.index_customer_emails(customers) == 1
    assert repo.find_customers_by_email("a", 10) == [("anna@example.com", "c1")]


def test_an_email_move_replaces_the_index_entry_in_the_customers_own_commit(
    repo: Repository,
) -> None:
    created = _customer("c1", "anna@example.com")
    repo.commit(Commit(customers=[created]))
    moved = repo.get_customer("c1")
    assert moved is not None
    moved.email = "Hanna@Example.org"
    repo.commit(
        Commit(customers=[moved], email_moves=[EmailMove("c1", "anna@example.com", moved.email)])
    )
    assert repo.find_customers_by_email("anna", 10) == []
    assert repo.find_customers_by_email("h", 10) == [("hanna@example.org", "c1")]
    again = repo.get_customer("c1")
    assert again is not None
    # A change of case alone keeps the entry (and is no transaction error on DynamoDB).
    repo.commit(
        Commit(
            customers=[again],
            email_moves=[EmailMove("c1", "hanna@example.org", "HANNA@example.org")],
        )
    )
    assert repo.find_customers_by_email("hanna", 10) == [("hanna@example.org", "c1")]


def test_an_email_move_to_nothing_removes_the_entry_and_a_missing_one_is_no_error(
    repo: Repository,
) -> None:
    repo.commit(Commit(customers=[_customer("c1", "anna@example.com")]))
    gone = repo.get_customer("c1")
    assert gone is not None
    repo.commit(Commit(customers=[gone], email_moves=[EmailMove("c1", "anna@example.com", None)]))
    assert repo.find_customers_by_email("a", 10) == []
    again = repo.get_customer("c1")
    assert again is not None
    # Removing it twice (an erasure finished on a second try) writes the customer all the same.
    read_at = again.version
    repo.commit(Commit(customers=[again], email_moves=[EmailMove("c1", "anna@example.com", None)]))
    after = repo.get_customer("c1")
    assert after is not None and after.version == read_at + 1


def test_an_automated_changes_events_keep_their_source_beside_them_not_in_them(
    repo: Repository,
) -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    renewed = DomainEvent(EventType.SUBSCRIPTION_RENEWED, "sub-1", "alice", at, 0)
    asked = DomainEvent(EventType.CREDIT_ADJUSTED, "sub-1", "alice", at, 1)
    other = DomainEvent(EventType.SUBSCRIPTION_RENEWED, "sub-2", "bob", at, 0)
    repo.commit(Commit(events=[renewed, other], source="system:renewals"))
    repo.commit(Commit(events=[asked]))  # a person's change: no source
    found = repo.sourced_events("alice", ["2026-03-02", "2026-03-03"])
    assert found == [(renewed.to_dict(), "system:renewals", None)]
    assert repo.sourced_events("alice", ["2026-03-03"]) == []
    # The event as the metrics, the bus and events.jsonl read it is unchanged
    assert renewed.to_dict() in repo.events_between(at, at + timedelta(seconds=1))


def test_a_prices_members_are_read_page_after_page_each_once(repo: Repository) -> None:
    for n in range(7):
        subscribed(repo, f"sub-{n}")  # each joins basic by being created
    repo.commit(Commit(price_members=[("backup", "sub-3"), ("backup", "sub-3")]))
    pages, after = [], None
    while True:
        page, after = repo.price_members("basic", 3, after)
        pages.append(page)
        if after is None:
            break
    assert pages == [["sub-0", "sub-1", "sub-2"], ["sub-3", "sub-4", "sub-5"], ["sub-6"]]
    assert repo.price_members("backup", 3) == (["sub-3"], None)
    assert repo.price_members("nothing", 3) == ([], None)


def test_a_price_notice_run_is_due_until_it_finishes(repo: Repository) -> None:
    run = PriceNoticeRun(change_id="basic:pc1", price_id="basic", started_at=T0)
    repo.commit(Commit(price_runs=[run]))
    [due] = repo.due(T0)
    assert (due.entity_id, due.kind, due.customer_id) == ("basic:pc1", "price_notices", None)
    stored = repo.get_price_run("basic:pc1")
    assert stored == replace(run, version=1)
    stale = replace(stored)
    stored.advance("sub-9", True, T0)
    repo.commit(Commit(price_runs=[stored]))
    stale.advance("sub-3", False, T0)
    with pytest.raises(ConcurrencyError):
        repo.commit(Commit(price_runs=[stale]))  # a second worker on the same page loses
    moved = repo.get_price_run("basic:pc1")
    assert moved is not None and (moved.cursor, moved.pages) == ("sub-9", 1)
    moved.advance(None, False, T0 + timedelta(minutes=1))
    repo.commit(Commit(price_runs=[moved]))
    assert repo.due(T0 + timedelta(days=1)) == []
    done = repo.get_price_run("basic:pc1")
    assert done is not None and done.finished_at == T0 + timedelta(minutes=1)


def test_the_unused_time_credit_kept_by_invoice_reads_back_with_its_invoices_share(
    repo: Repository,
) -> None:
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    sub = subscribed(repo)
    stored = repo.get_subscription(sub.id)
    assert stored is not None and stored.credit_kept == {}  # none kept: nothing written
    stored.credit, stored.credit_kept = 900, {"in_1": 600, "in_2": 0}
    invoice = Invoice(
        "in_1", sub.id, "alice", InvoiceKind.FIRST, T0, T0 + timedelta(days=28), "USD",
        [InvoiceLine(LineKind.PLAN, "Basic", 1000)], InvoiceStatus.PAID, T0,
        unused_credited=700, unused_to_balance=600, credit_taken_back=100,
    )  # fmt: skip
    change = Commit(invoices=[invoice])
    change.add_subscription(stored)
    repo.commit(change)
    again, paid = repo.get_subscription(sub.id), repo.get_invoice("in_1")
    assert again is not None and again.credit_kept == {"in_1": 600, "in_2": 0}
    assert paid is not None and paid.credit_taken_back == 100


def test_the_credit_kept_by_invoice_reads_back_oldest_first(repo: Repository) -> None:
    # Used from the oldest first (unused_credit.spend_kept): the order must survive the
    # store, which a map does not promise to keep.
    repo.commit(Commit(customers=[customer()], plans=[BASIC]))
    stored = repo.get_subscription(subscribed(repo).id)
    assert stored is not None
    order = [f"in_{name}" for name in ("k", "b", "z", "a", "m", "c", "y", "d")]
    stored.credit, stored.credit_kept = 36, {invoice: n for n, invoice in enumerate(order, 1)}
    change = Commit()
    change.add_subscription(stored)
    repo.commit(change)
    again = repo.get_subscription(stored.id)
    assert again is not None and list(again.credit_kept) == order
