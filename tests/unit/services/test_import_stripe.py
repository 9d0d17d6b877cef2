"""Importing Stripe objects: mapped exactly, written once, charged by Tenure only at renewal."""

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tenure.domain.subscription import SubscriptionStatus
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.imports.stripe_export import parse_document, read_objects
from tenure.payments.sandbox import SandboxGateway
from tenure.services import subscriptions
from tenure.services.context import Services
from tenure.services.imports import ImportReport, Outcome, import_batch
from tests.unit.services.conftest import run_due

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stripe"
EXAMPLES = json.loads((FIXTURES / "fixtures3.json").read_text())["resources"]
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def export_files() -> list[tuple[str, Any]]:
    objects = []
    for path in sorted((FIXTURES / "import").glob("*.json")):
        objects.extend(parse_document(path.read_text(), path.name))
    return objects


def run_import(
    svc: Services, objects: list[tuple[str, Any]], dry_run: bool = False
) -> ImportReport:
    return import_batch(svc, read_objects(objects, svc.clock.now()), dry_run=dry_run)


def a_store(now: datetime = NOW) -> Services:
    return Services(repo=InMemoryRepository(), clock=FixedClock(now))


def outcomes(report: ImportReport) -> dict[tuple[str, str], str]:
    return {(line.kind, line.id): line.outcome for line in report.lines}


def reason(report: ImportReport, kind: str, object_id: str) -> str:
    [line] = [li for li in report.lines if (li.kind, li.id) == (kind, object_id)]
    return line.reason


def memory_repo(svc: Services) -> InMemoryRepository:
    """The in-memory store a_store() gave `svc`, to read and snapshot."""
    assert isinstance(svc.repo, InMemoryRepository)
    return svc.repo


def snapshot(repo: InMemoryRepository) -> str:
    return repr(sorted(repr(vars(repo)).split(", ")))


# -- the exports, taken over ------------------------------------------------------------------
def test_a_stripe_export_becomes_plans_customers_and_subscriptions() -> None:
    svc = a_store()
    report = run_import(svc, export_files())
    assert not report.refused
    found = outcomes(report)
    assert found[("plan", "price_BasicMonthly")] == Outcome.IMPORTED
    assert found[("customer", "cus_Ana0001")] == Outcome.IMPORTED
    assert found[("subscription", "sub_AnaOld01")] == Outcome.SKIPPED
    ana = svc.repo.get_customer("cus_Ana0001")
    assert ana is not None
    assert (ana.email, ana.locale, ana.timezone) == ("ana@example.com", "ru", "Europe/Moscow")
    assert (ana.provider_customer_id, ana.default_payment_method) == (
        "cus_Ana0001",
        "pm_card_visa",
    )
    plan = svc.repo.get_plan("price_BasicMonthly")
    assert plan is not None
    assert (plan.name, plan.amount, plan.currency, plan.interval) == ("Basic", 1500, "USD", "month")


def test_an_imported_subscription_keeps_its_anchor_and_current_period() -> None:
    svc = a_store()
    run_import(svc, export_files())
    sub = subscriptions.get_subscription(svc, "sub_Chen003")
    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.anchor == at("2026-01-31T12:00:00")
    assert (sub.current_period_start, sub.current_period_end) == (
        at("2026-02-28T12:00:00"),
        at("2026-03-31T12:00:00"),
    )
    assert sub.payer.payment_method == "pm_card_mastercard"
    assert sub.payer.provider_customer_id == "cus_Chen003"


def test_importing_charges_nothing_and_raises_no_invoice() -> None:
    svc = a_store()
    run_import(svc, export_files())
    for sub_id in ("sub_Ana0001", "sub_Bob0002", "sub_Chen003", "sub_Dana004"):
        assert svc.repo.list_invoices(sub_id) == []


def test_importing_plans_no_email_before_now() -> None:
    svc = a_store()
    run_import(svc, export_files())
    repo = memory_repo(svc)
    notices = list(repo.notices.values())
    assert notices, "the renewal reminders and the trial's end are owed as usual"
    assert all(n.due_at >= NOW for n in notices)


def test_importing_the_same_export_twice_changes_nothing() -> None:
    svc = a_store()
    run_import(svc, export_files())
    repo = memory_repo(svc)
    before = snapshot(repo)
    second = run_import(svc, export_files())
    assert snapshot(repo) == before
    assert not second.refused
    assert outcomes(second)[("customer", "cus_Ana0001")] == Outcome.UNCHANGED
    assert outcomes(second)[("plan", "price_BasicMonthly")] == Outcome.UNCHANGED


def test_importing_stripes_own_example_objects_twice_yields_the_same_state() -> None:
    objects = [
        (f"fixtures3.json#{kind}", EXAMPLES[kind])
        for kind in ("customer", "price", "plan", "product", "subscription", "payment_method")
    ]
    svc = a_store()
    first = run_import(svc, objects)
    repo = memory_repo(svc)
    before = snapshot(repo)
    second = run_import(svc, objects)
    assert snapshot(repo) == before
    assert first.to_dict()["lines"] == second.to_dict()["lines"]


def test_stripes_example_objects_are_refused_for_what_they_lack() -> None:
    # Stripe's examples are random values in real shapes: no email, a price that divides
    # quantities by 1592560163, a current period that ends before it starts.
    objects = [
        (f"fixtures3.json#{kind}", EXAMPLES[kind])
        for kind in ("customer", "price", "product", "subscription")
    ]
    svc = a_store()
    report = run_import(svc, objects)
    assert report.refused
    assert "divide_by" in reason(report, "plan", "price_1PgafmB7WZ01zgkW6dKueIc5")
    why = reason(report, "customer", "cus_QXg1o8vcGmoR32")
    assert "no email" in why
    assert "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw" in why
    assert svc.repo.get_customer("cus_QXg1o8vcGmoR32") is None


def test_stripes_example_objects_map_once_their_values_are_coherent() -> None:
    customer = copy.deepcopy(EXAMPLES["customer"])
    customer |= {"email": "jenny@example.com", "discount": None}
    customer["invoice_settings"]["default_payment_method"] = EXAMPLES["payment_method"]["id"]
    price = copy.deepcopy(EXAMPLES["price"]) | {"transform_quantity": None}
    sub = copy.deepcopy(EXAMPLES["subscription"])
    [item] = sub["items"]["data"]
    item["price"] = price
    item["current_period_start"] = int(at("2026-03-01T00:00:00").timestamp())
    item["current_period_end"] = int(at("2026-04-01T00:00:00").timestamp())
    sub |= {
        "billing_cycle_anchor": int(at("2025-11-01T00:00:00").timestamp()),
        "cancel_at": item["current_period_end"],
        "pause_collection": None,
    }
    objects = [("c", customer), ("p", price), ("prod", EXAMPLES["product"]), ("s", sub)]
    svc = a_store()
    report = run_import(svc, objects)
    assert not report.refused, report.to_dict()
    imported = subscriptions.get_subscription(svc, sub["id"])
    assert imported.cancel_at_period_end
    assert imported.periods_since_anchor == 4
    plan = svc.repo.get_plan(price["id"])
    assert plan is not None and plan.name == "T-shirt"


# -- renewals, trials, pauses after the import ------------------------------------------------
def test_an_imported_subscription_renews_on_its_original_anchor_on_the_imported_card() -> None:
    repo, clock = InMemoryRepository(), FixedClock(NOW)
    gateway = SandboxGateway(clock=clock.now)
    importer = Services(repo=repo, clock=clock)
    run_import(importer, export_files())
    billing = Services(repo=repo, clock=clock, gateway=gateway)
    run_due(billing, at("2026-03-31T12:00:00"))
    [invoice] = repo.list_invoices("sub_Chen003")
    assert invoice.period_start == at("2026-03-31T12:00:00")
    assert invoice.period_end == at("2026-04-30T12:00:00")
    assert invoice.total == 1500
    [intent] = [
        e["data"]["object"]
        for e in gateway.events
        if e["type"] == "payment_intent.succeeded"
        and e["data"]["object"]["metadata"]["tenure_invoice_id"] == invoice.id
    ]
    assert (intent["customer"], intent["payment_method"]) == ("cus_Chen003", "pm_card_mastercard")
    ana_invoices = repo.list_invoices("sub_Ana0001")
    assert [i.period_start for i in ana_invoices] == [at("2026-03-15T08:00:00")]


def test_an_imported_trial_ends_exactly_when_stripe_said() -> None:
    repo, clock = InMemoryRepository(), FixedClock(NOW)
    run_import(Services(repo=repo, clock=clock), export_files())
    billing = Services(repo=repo, clock=clock, gateway=SandboxGateway(clock=clock.now))
    trial_end = at("2026-03-20T10:00:00")
    run_due(billing, trial_end - timedelta(seconds=1))
    assert subscriptions.get_subscription(billing, "sub_Bob0002").status is (
        SubscriptionStatus.TRIALING
    )
    run_due(billing, trial_end)
    sub = subscriptions.get_subscription(billing, "sub_Bob0002")
    assert sub.status is not SubscriptionStatus.TRIALING
    [invoice] = repo.list_invoices("sub_Bob0002")
    assert invoice.period_start == trial_end
    assert (invoice.total, invoice.currency) == (4900, "EUR")


def test_a_paused_collection_is_imported_as_a_pause_until_stripes_resume_date() -> None:
    svc = a_store()
    run_import(svc, export_files())
    sub = subscriptions.get_subscription(svc, "sub_Dana004")
    assert sub.status is SubscriptionStatus.PAUSED
    assert sub.paused_until == at("2026-04-15T09:00:00")
    assert sub.next_due() is not None and sub.next_due()[0] == at("2026-04-15T09:00:00")


# -- --dry-run --------------------------------------------------------------------------------
def test_a_dry_run_writes_nothing_and_says_what_it_would_import() -> None:
    svc = a_store()
    repo = memory_repo(svc)
    before = snapshot(repo)
    report = run_import(svc, export_files(), dry_run=True)
    assert snapshot(repo) == before
    assert outcomes(report)[("customer", "cus_Ana0001")] == Outcome.WOULD_IMPORT
    assert outcomes(report)[("plan", "price_BasicMonthly")] == Outcome.WOULD_IMPORT


def test_an_import_refuses_services_that_could_charge() -> None:
    svc = Services(repo=InMemoryRepository(), clock=FixedClock(NOW), gateway=SandboxGateway())
    with pytest.raises(ValueError, match="charges nothing"):
        run_import(svc, export_files())


def test_a_batch_read_once_imports_into_any_number_of_stores() -> None:
    batch = read_objects(export_files(), NOW)
    for _ in range(2):
        svc = a_store()
        assert not import_batch(svc, batch, dry_run=False).refused
        assert svc.repo.get_customer("cus_Ana0001") is not None


# -- the buyer's details invoices print ---------------------------------------------------------
def _with_customer_fields(**fields: Any) -> list[tuple[str, Any]]:
    objects = export_files()
    out = []
    for origin, obj in objects:
        if obj.get("object") == "customer" and obj.get("id") == "cus_Ana0001":
            obj = obj | fields
        out.append((origin, obj))
    return out


def test_stripes_address_and_tax_id_become_the_buyers_details() -> None:
    svc = a_store()
    address = {
        "line1": "Unter den Linden 1",
        "line2": None,
        "postal_code": "10117",
        "city": "Berlin",
        "state": None,
        "country": "DE",
    }
    tax_ids = {"object": "list", "data": [{"type": "eu_vat", "value": "DE123456789"}]}
    report = run_import(svc, _with_customer_fields(address=address, tax_ids=tax_ids))
    assert not report.refused, report.to_dict()
    customer = svc.repo.get_customer("cus_Ana0001")
    assert customer is not None and customer.billing is not None
    assert customer.billing.address == "Unter den Linden 1\n10117 Berlin\nDE"
    assert (customer.billing.name, customer.billing.tax_id) == (None, "DE123456789")
    assert customer.provider is None  # the deployment's default provider keeps the cus_ id


def test_a_tax_id_the_buyer_rules_refuse_refuses_the_customer_whole() -> None:
    svc = a_store()
    tax_ids = {"object": "list", "data": [{"type": "eu_vat", "value": "DE<123>"}]}
    report = run_import(svc, _with_customer_fields(tax_ids=tax_ids))
    assert "tax_id" in reason(report, "customer", "cus_Ana0001")
    assert svc.repo.get_customer("cus_Ana0001") is None
