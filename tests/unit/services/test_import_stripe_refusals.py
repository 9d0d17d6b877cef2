"""What a Stripe import refuses: reported per object with its reason, and nothing written of
a customer that is refused (its payment methods, its subscriptions)."""

from collections.abc import Callable
from typing import Any

import pytest

from tenure.domain.customers import Customer
from tenure.domain.plans import Plan
from tenure.domain.subscription import Subscription
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.imports.stripe_export import UnreadableError, parse_document
from tenure.ports import Commit, ProviderLink
from tenure.services.context import Services
from tenure.services.imports import ImportReport, Outcome
from tests.unit.services.test_import_stripe import (
    NOW,
    a_store,
    export_files,
    reason,
    run_import,
    snapshot,
)

Objects = list[tuple[str, Any]]


def edited(kind: str, object_id: str, change: Callable[[dict[str, Any]], object]) -> Objects:
    """The export files with one object changed in place by `change`."""
    objects = export_files()
    found = [obj for _, obj in objects if (obj["object"], obj["id"]) == (kind, object_id)]
    assert found, (kind, object_id)
    for obj in found:
        change(obj)
    return objects


def item_of(sub: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = sub["items"]["data"][0]
    return item


def refused_whole(svc: Services, report: ImportReport, customer: str, sub: str) -> str:
    """The customer's refusal reason, after checking that nothing of it was written."""
    lines = {(line.kind, line.id): line.outcome for line in report.lines}
    assert lines[("customer", customer)] == Outcome.REFUSED
    assert report.refused
    assert svc.repo.get_customer(customer) is None
    assert svc.repo.get_subscription(sub) is None
    assert svc.repo.list_payment_methods(customer) == []
    assert svc.repo.find_provider_object("stripe", customer) is None
    return reason(report, "customer", customer)


def imported_others(svc: Services) -> None:
    """The other customers of the export are imported all the same."""
    assert svc.repo.get_customer("cus_Chen003") is not None


@pytest.mark.parametrize(
    ("sub_id", "change", "why"),
    [
        ("sub_Ana0001", lambda s: s.update(status="past_due"), "it is past_due"),
        ("sub_Ana0001", lambda s: s.update(status="incomplete"), "it is incomplete"),
        ("sub_Ana0001", lambda s: s.update(collection_method="send_invoice"), "sending invoices"),
        ("sub_Ana0001", lambda s: s.update(discounts=["di_1"]), "coupons are not imported"),
        ("sub_Ana0001", lambda s: item_of(s).update(discounts=["di_1"]), "item has a discount"),
        ("sub_Ana0001", lambda s: s.update(default_tax_rates=[{"id": "txr_1"}]), "tax rates"),
        ("sub_Ana0001", lambda s: item_of(s).update(quantity=3), "quantity is 3"),
        (
            "sub_Ana0001",
            lambda s: s["items"]["data"].append(dict(item_of(s), id="si_2")),
            "2 items",
        ),
        ("sub_Ana0001", lambda s: s.update(cancel_at=s["created"]), "other than its period end"),
        ("sub_Ana0001", lambda s: s.update(billing_cycle_anchor=None), "billing cycle anchor"),
        (
            "sub_Ana0001",
            lambda s: s.update(default_payment_method="pm_card_amex"),
            "not the customer's default",
        ),
        (
            "sub_Ana0001",
            lambda s: item_of(s).update(current_period_start=item_of(s)["current_period_end"]),
            "before it starts",
        ),
        (
            "sub_Ana0001",
            lambda s: item_of(s).update(current_period_end=int(NOW.timestamp()) - 60),
            "ended at",
        ),
        (
            "sub_Ana0001",
            lambda s: s.update(billing_cycle_anchor=s["billing_cycle_anchor"] + 3600),
            "does not fall on the billing cycle",
        ),
    ],
)
def test_a_subscription_that_cannot_be_mapped_refuses_its_customer_whole(
    sub_id: str, change: Callable[[dict[str, Any]], object], why: str
) -> None:
    svc = a_store()
    report = run_import(svc, edited("subscription", sub_id, change))
    assert why in refused_whole(svc, report, "cus_Ana0001", sub_id)
    imported_others(svc)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda c: c.update(email=None), "no email"),
        (lambda c: c.update(email="ana at example"), "not an address"),
        (lambda c: c.update(balance=-500), "balance"),
        (lambda c: c.update(discount={"coupon": {"id": "SAVE10"}}), "coupon"),
        # The API's rule for a name it prints on invoices and emails
        (lambda c: c.update(name="Ana \u202eavorteP"), "name holds control characters or bidi"),
        (lambda c: c.update(name="Ana\nTotal: 0"), "name holds control characters"),
        (lambda c: c.update(name="A" * 201), "name is 201 characters long; at most 200"),
        (lambda c: c.update(metadata={"timezone": "Mars/Olympus"}), "time zone"),
        (
            lambda c: c["invoice_settings"].update(default_payment_method="4242424242424242"),
            "like a card number",
        ),
    ],
)
def test_a_customer_that_cannot_be_mapped_is_refused_with_its_subscriptions(
    change: Callable[[dict[str, Any]], object], why: str
) -> None:
    svc = a_store()
    report = run_import(svc, edited("customer", "cus_Ana0001", change))
    assert why in refused_whole(svc, report, "cus_Ana0001", "sub_Ana0001")
    assert reason(report, "subscription", "sub_Ana0001") == "with its customer"
    imported_others(svc)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda p: p.update(currency="xyz"), "unknown currency 'xyz'"),
        (lambda p: p.update(type="one_time", recurring=None), "one-time"),
        (lambda p: p.update(billing_scheme="tiered", tiers_mode="graduated"), "tiered"),
        (lambda p: p["recurring"].update(usage_type="metered"), "metered"),
        (lambda p: p.update(transform_quantity={"divide_by": 10, "round": "up"}), "divide_by"),
        (lambda p: p.update(unit_amount=None), "no whole unit amount"),
        (lambda p: p["recurring"].update(interval="fortnight"), "unknown interval"),
        (lambda p: p.update(custom_unit_amount={"minimum": 100}), "choose the amount"),
        # The API's rules for a new plan: a price its currency can be charged in, a name it
        # may show (never cut short)
        (lambda p: p.update(currency="kwd", unit_amount=1001), "nearest: 1000 or 1010"),
        # ... and a currency a provider charges in (Stripe would refuse every renewal)
        (lambda p: p.update(currency="clf"), "CLF (an ISO 4217 fund code) is not a currency"),
        (lambda p: p.update(currency="xau"), "XAU (an ISO 4217 code for a metal"),
        (lambda p: p.update(currency="iqd"), "IQD is not a currency Tenure charges in"),
        (lambda p: p.update(product={"id": "prod_B", "name": "Basic\u2067"}), "bidi"),
        (lambda p: p.update(product={"id": "prod_B", "name": "B" * 201}), "201 characters"),
    ],
)
def test_a_price_that_cannot_be_mapped_refuses_every_customer_on_it(
    change: Callable[[dict[str, Any]], object], why: str
) -> None:
    svc = a_store()
    report = run_import(svc, edited("price", "price_BasicMonthly", change))
    assert why in reason(report, "plan", "price_BasicMonthly")
    assert svc.repo.get_plan("price_BasicMonthly") is None
    assert "price_BasicMonthly" in refused_whole(svc, report, "cus_Ana0001", "sub_Ana0001")
    refused_whole(svc, report, "cus_Chen003", "sub_Chen003")
    assert svc.repo.get_customer("cus_Bob0002") is not None  # on another price


def test_a_customer_given_twice_with_different_data_is_refused() -> None:
    objects = export_files()
    [ana] = [obj for _, obj in objects if obj["id"] == "cus_Ana0001"]
    objects.append(("more.json#cus_Ana0001", dict(ana, email="other@example.com")))
    svc = a_store()
    report = run_import(svc, objects)
    assert "appears 2 times" in refused_whole(svc, report, "cus_Ana0001", "sub_Ana0001")


def test_the_same_object_listed_twice_is_one_object() -> None:
    objects = export_files()
    objects.extend(objects)
    svc = a_store()
    report = run_import(svc, objects)
    assert not report.refused
    assert svc.repo.get_customer("cus_Ana0001") is not None


def test_a_price_given_twice_with_different_amounts_is_refused() -> None:
    objects = export_files()
    [price] = [obj for _, obj in objects if obj["id"] == "price_BasicMonthly"]
    objects.append(("more.json#price_BasicMonthly", dict(price, unit_amount=999)))
    svc = a_store()
    report = run_import(svc, objects)
    assert "different terms" in reason(report, "plan", "price_BasicMonthly")
    refused_whole(svc, report, "cus_Ana0001", "sub_Ana0001")


def test_a_subscription_whose_customer_is_not_in_the_input_is_refused() -> None:
    objects = [(o, obj) for o, obj in export_files() if obj["id"] != "cus_Chen003"]
    svc = a_store()
    report = run_import(svc, objects)
    assert "not in the input" in reason(report, "subscription", "sub_Chen003")
    assert report.refused
    assert svc.repo.get_subscription("sub_Chen003") is None


def test_a_customer_id_held_by_a_customer_made_in_tenure_is_refused() -> None:
    svc = a_store()
    own = Customer(id="cus_Ana0001", email="someone@example.com", created_at=NOW)
    svc.repo.commit(Commit(customers=[own]))
    report = run_import(svc, export_files())
    assert "not imported from stripe" in reason(report, "customer", "cus_Ana0001")
    stored = svc.repo.get_customer("cus_Ana0001")
    assert stored is not None and stored.email == "someone@example.com"
    assert svc.repo.get_subscription("sub_Ana0001") is None


def test_a_stripe_customer_linked_to_another_tenure_customer_is_refused() -> None:
    svc = a_store()
    svc.repo.commit(Commit(provider_links=[ProviderLink("stripe", "cus_Ana0001", "ana")]))
    report = run_import(svc, export_files())
    assert "already Tenure's customer ana" in reason(report, "customer", "cus_Ana0001")
    assert svc.repo.get_customer("cus_Ana0001") is None
    assert svc.repo.find_provider_object("stripe", "cus_Ana0001") == "ana"


def test_a_plan_id_held_with_other_terms_is_refused() -> None:
    svc = a_store()
    mine = Plan(id="price_BasicMonthly", amount=100, currency="USD", interval="month")
    svc.repo.commit(Commit(plans=[mine]))
    report = run_import(svc, export_files())
    assert "other terms" in reason(report, "plan", "price_BasicMonthly")
    refused_whole(svc, report, "cus_Chen003", "sub_Chen003")


def test_a_subscription_id_already_taken_refuses_its_customer() -> None:
    elsewhere = a_store()
    run_import(elsewhere, export_files())
    taken = elsewhere.repo.get_subscription("sub_Ana0001")
    assert taken is not None
    taken.customer_id, taken.version = "someone", 0  # another customer's, under that id
    svc = a_store()
    svc.repo.commit(Commit(subscriptions=[taken]))
    report = run_import(svc, export_files())
    lines = {(line.kind, line.id): line.outcome for line in report.lines}
    assert lines[("customer", "cus_Ana0001")] == Outcome.REFUSED
    assert "subscription id sub_Ana0001 is taken" in reason(report, "customer", "cus_Ana0001")
    assert svc.repo.get_customer("cus_Ana0001") is None
    imported_others(svc)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{not json", "not JSON"),
        ('{"object": "list", "data": 3}', "without a `data` array"),
        ("[1, 2]", "neither a Stripe object"),
        ('{"id": "cus_1"}', "neither a Stripe object"),
    ],
)
def test_a_file_that_is_not_stripe_json_is_refused_whole(text: str, why: str) -> None:
    with pytest.raises(UnreadableError, match=why):
        parse_document(text, "bad.json")


def test_objects_tenure_does_not_hold_are_skipped_not_refused() -> None:
    invoice = {"object": "invoice", "id": "in_1"}
    svc = a_store()
    report = run_import(svc, [*export_files(), ("invoices.json#in_1", invoice)])
    assert not report.refused
    assert "does not import" in reason(report, "invoice", "in_1")


def test_an_object_without_a_usable_id_is_refused() -> None:
    svc = a_store()
    report = run_import(svc, [("x.json#?", {"object": "customer", "id": "cus 1"})])
    assert report.refused
    assert "not an id" in reason(report, "customer", "cus 1")


@pytest.mark.parametrize(
    ("sub_id", "change", "why"),
    [
        (
            "sub_Ana0001",
            lambda s: s["items"]["data"][0]["price"]["recurring"].update(interval_count=0),
            "interval count",
        ),
        ("sub_Ana0001", lambda s: s.update(currency="eur"), "is not its price's"),
        (
            "sub_Bob0002",
            lambda s: s.update(pause_collection={"behavior": "void", "resumes_at": None}),
            "trial's collection is paused",
        ),
    ],
)
def test_more_subscriptions_that_cannot_be_mapped_refuse_their_customer(
    sub_id: str, change: Callable[[dict[str, Any]], object], why: str
) -> None:
    svc = a_store()
    objects = edited("subscription", sub_id, change)
    customer = {"sub_Ana0001": "cus_Ana0001", "sub_Bob0002": "cus_Bob0002"}[sub_id]
    report = run_import(svc, objects)
    assert why in reason(report, "customer", customer)
    assert svc.repo.get_subscription(sub_id) is None


def test_a_subscription_that_names_no_customer_is_refused() -> None:
    svc = a_store()
    report = run_import(svc, edited("subscription", "sub_Chen003", lambda s: s.pop("customer")))
    assert "names no customer" in reason(report, "subscription", "sub_Chen003")
    assert report.refused


def test_a_subscription_given_twice_with_different_data_refuses_its_customer() -> None:
    objects = export_files()
    [sub] = [obj for _, obj in objects if obj["id"] == "sub_Chen003"]
    objects.append(("more.json#sub_Chen003", dict(sub, cancel_at_period_end=True)))
    svc = a_store()
    report = run_import(svc, objects)
    assert "appears 2 times" in refused_whole(svc, report, "cus_Chen003", "sub_Chen003")


def test_a_legacy_plan_object_maps_as_its_price_does() -> None:
    objects = export_files()
    [price] = [obj for _, obj in objects if obj["id"] == "price_BasicMonthly"]
    plan = {
        "id": price["id"],
        "object": "plan",
        "amount": price["unit_amount"],
        "currency": price["currency"],
        "interval": "month",
        "interval_count": 1,
        "usage_type": "licensed",
        "billing_scheme": "per_unit",
        "product": price["product"],
        "transform_usage": None,
        "trial_period_days": None,
    }
    svc = a_store()
    report = run_import(svc, [*objects, ("plans.json#" + plan["id"], plan)])
    assert not report.refused, report.to_dict()


def test_a_stripe_paused_status_is_a_pause_without_an_end() -> None:
    svc = a_store()
    objects = edited(
        "subscription", "sub_Ana0001", lambda s: s.update(status="paused", pause_collection=None)
    )
    run_import(svc, objects)
    sub = svc.repo.get_subscription("sub_Ana0001")
    assert sub is not None
    assert (sub.status, sub.paused_until, sub.next_due()) == ("paused", None, None)


def test_a_subscription_added_in_stripe_after_an_import_is_reported_not_dropped() -> None:
    svc = a_store()
    without = [(o, obj) for o, obj in export_files() if obj["id"] != "sub_Chen003"]
    run_import(svc, without)
    report = run_import(svc, export_files())
    assert "without subscription sub_Chen003" in reason(report, "customer", "cus_Chen003")
    assert report.refused
    assert svc.repo.get_subscription("sub_Chen003") is None


class LateRepository(InMemoryRepository):
    """A store where another import wrote the same plan, customer and subscription between
    this one's reads and its commits: once hiding starts, the first read of each finds
    nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: set[str] = set()

    def _seen(self, object_id: str) -> bool:
        if object_id in self.hidden:
            self.hidden.discard(object_id)
            return False
        return True

    def get_plan(self, plan_id: str) -> Plan | None:
        return super().get_plan(plan_id) if self._seen(plan_id) else None

    def get_customer(self, customer_id: str) -> Customer | None:
        return super().get_customer(customer_id) if self._seen(customer_id) else None

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        return super().get_subscription(subscription_id) if self._seen(subscription_id) else None


def test_an_import_racing_another_finds_what_the_other_wrote_and_changes_nothing() -> None:
    repo = LateRepository()
    svc = Services(repo=repo, clock=FixedClock(NOW))
    run_import(svc, export_files())
    before = snapshot(repo)
    repo.hidden = {"price_BasicMonthly", "cus_Chen003", "sub_Chen003"}
    report = run_import(svc, export_files())
    assert repo.hidden == set()  # each read came too early once
    assert not report.refused, report.to_dict()
    assert reason(report, "customer", "cus_Chen003") == "imported before"
    lines = {(line.kind, line.id): line.outcome for line in report.lines}
    assert lines[("plan", "price_BasicMonthly")] == Outcome.UNCHANGED
    assert snapshot(repo) == before
