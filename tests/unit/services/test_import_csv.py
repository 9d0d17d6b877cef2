"""Importing Tenure's CSV format: the same exact takeover as from Stripe, refusals per row."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tenure.domain.subscription import SubscriptionStatus
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.imports.csv_tables import UnreadableError, read_tables
from tenure.payments.sandbox import SandboxGateway
from tenure.services import subscriptions
from tenure.services.context import Services
from tenure.services.imports import ImportReport, Outcome, import_batch
from tests.unit.services.conftest import run_due
from tests.unit.services.test_import_stripe import (
    NOW,
    a_store,
    memory_repo,
    outcomes,
    reason,
    snapshot,
)

FOLDER = Path(__file__).resolve().parents[2] / "fixtures" / "import_csv"


def tables() -> dict[str, str]:
    return {path.name: path.read_text() for path in FOLDER.glob("*.csv")}


def run_csv(svc: Services, texts: dict[str, str], dry_run: bool = False) -> ImportReport:
    return import_batch(svc, read_tables(texts, svc.clock.now()), dry_run=dry_run)


def with_line(texts: dict[str, str], name: str, line: str) -> dict[str, str]:
    return texts | {name: texts[name] + line + "\n"}


def replaced(texts: dict[str, str], name: str, old: str, new: str) -> dict[str, str]:
    assert old in texts[name], old
    return texts | {name: texts[name].replace(old, new)}


def test_the_csv_files_become_plans_customers_and_subscriptions() -> None:
    svc = a_store()
    report = run_csv(svc, tables())
    assert not report.refused, report.to_dict()
    assert outcomes(report)[("subscription", "sub-ana-old")] == Outcome.SKIPPED
    chen = subscriptions.get_subscription(svc, "sub-chen")
    assert (chen.anchor, chen.periods_since_anchor, chen.cancel_at_period_end) == (
        datetime(2026, 1, 31, 12, tzinfo=UTC),
        1,
        True,
    )
    assert chen.payer.payment_method == "pm_card_mastercard"
    customer = svc.repo.get_customer("chen")
    assert customer is not None and customer.name == "Wei, Chen"
    assert svc.repo.find_provider_object("stripe", "cus_Chen003") == "chen"


def test_importing_the_csv_files_twice_changes_nothing() -> None:
    svc = a_store()
    run_csv(svc, tables())
    repo = memory_repo(svc)
    before = snapshot(repo)
    second = run_csv(svc, tables())
    assert snapshot(repo) == before
    assert outcomes(second)[("customer", "ana")] == Outcome.UNCHANGED


def test_a_csv_dry_run_writes_nothing() -> None:
    svc = a_store()
    repo = memory_repo(svc)
    before = snapshot(repo)
    report = run_csv(svc, tables(), dry_run=True)
    assert snapshot(repo) == before
    assert outcomes(report)[("customer", "ana")] == Outcome.WOULD_IMPORT


def test_a_csv_subscription_renews_on_its_anchor_and_a_cancel_ends_it_there() -> None:
    repo, clock = InMemoryRepository(), FixedClock(NOW)
    run_csv(Services(repo=repo, clock=clock), tables())
    billing = Services(repo=repo, clock=clock, gateway=SandboxGateway(clock=clock.now))
    run_due(billing, datetime(2026, 3, 31, 12, tzinfo=UTC))
    [invoice] = repo.list_invoices("sub-ana")
    assert invoice.period_start == datetime(2026, 3, 15, 8, tzinfo=UTC)
    chen = subscriptions.get_subscription(billing, "sub-chen")
    assert chen.status is SubscriptionStatus.CANCELED
    assert chen.canceled_at == datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert repo.list_invoices("sub-chen") == []


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("1500,USD", "1500,XYZ", "unknown currency 'XYZ'"),
        ("1500,USD", "15.00,USD", "is not a whole number"),
        ("1500,USD", "-1,USD", "is not from 0"),
        ("USD,month", "USD,fortnight", "not day, week, month or year"),
        ("month,1,0", "month,0,0", "interval_count 0"),
        # The API's rules for a new plan: a price its currency can be charged in (Stripe
        # takes KWD only in tens of fils), a name it may show, never cut short
        ("Basic,1500,USD", "Basic,1001,KWD", "amount_minor: 1001 minor units of KWD"),
        ("Basic,1500,USD", "Basic,1505,BHD", "nearest: 1500 or 1510"),
        # ... and a currency a provider charges in (CLF, UYW: four decimals; funds; metals)
        ("1500,USD", "1500,CLF", "currency: CLF (an ISO 4217 fund code) is not a currency"),
        ("1500,USD", "1500,uyw", "currency: UYW (an ISO 4217 fund code) is not a currency"),
        ("1500,USD", "1500,XAU", "currency: XAU (an ISO 4217 code for a metal"),
        ("1500,USD", "1500,XTS", "not a currency Tenure charges in: no payment provider"),
        (",Basic,", ',"Basic\nPlus",', "name holds control characters"),
        (",Basic,", ",Basic \u202eculP,", "name holds control characters or bidi"),
        (",Basic,", "," + "B" * 201 + ",", "name is 201 characters long; at most 200"),
    ],
)
def test_a_plan_row_that_cannot_be_read_is_refused_with_its_customers(
    old: str, new: str, why: str
) -> None:
    svc = a_store()
    report = run_csv(svc, replaced(tables(), "plans.csv", old, new))
    assert why in reason(report, "plan", "basic-monthly")
    assert "basic-monthly" in reason(report, "customer", "ana")
    assert svc.repo.get_customer("ana") is None
    assert svc.repo.get_customer("bob") is not None


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("ana@example.com", "ana@", "not an address"),
        (",ru,", ",fr,", "locale 'fr'"),
        ("Europe/Moscow", "Europe/Atlantis", "unknown IANA time zone"),
        ("2025-12-01T10:00:00Z,stripe", "yesterday,stripe", "not an ISO 8601 time"),
        ("2025-12-01T10:00:00Z,stripe", "2025-12-01T10:00:00,stripe", "has no offset"),
        (",cus_Ana0001,", ",,", "needs the provider_customer_id"),
        ("pm_card_visa", "4242 4242 4242 4242", "like a card number"),
        # The API's rule for a customer's name, printed on invoices and in emails
        ("Ana Petrova", '"Ana\nTotal: 0"', "name holds control characters"),
        ("Ana Petrova", "Ana \u2066Petrova\u2069", "name holds control characters or bidi"),
        ("Ana Petrova", "A" * 201, "name is 201 characters long; at most 200"),
    ],
)
def test_a_customer_row_that_cannot_be_read_is_refused_whole(old: str, new: str, why: str) -> None:
    svc = a_store()
    report = run_csv(svc, replaced(tables(), "customers.csv", old, new))
    assert why in reason(report, "customer", "ana")
    assert outcomes(report)[("subscription", "sub-ana")] == Outcome.REFUSED
    assert svc.repo.get_customer("ana") is None
    assert svc.repo.get_subscription("sub-ana") is None


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("basic-monthly,active,2026-01-15", "gold,active,2026-01-15", "plan 'gold'"),
        ("sub-ana,ana,basic-monthly,active", "sub-ana,ana,basic-monthly,past_due", "status"),
        ("2026-02-15T08:00:00Z,2026-03-15", "2026-02-16T08:00:00Z,2026-03-15", "billing cycle"),
        ("2026-03-15T08:00:00Z,,false", "2026-03-15T08:00:00Z,,maybe", "true or false"),
        ("2026-03-15T08:00:00Z,,false", ",,false", "current_period_end is empty"),
    ],
)
def test_a_subscription_row_that_cannot_be_read_refuses_its_customer_whole(
    old: str, new: str, why: str
) -> None:
    svc = a_store()
    report = run_csv(svc, replaced(tables(), "subscriptions.csv", old, new))
    assert why in reason(report, "customer", "ana")
    assert svc.repo.get_customer("ana") is None
    assert svc.repo.list_payment_methods("ana") == []
    assert svc.repo.get_customer("chen") is not None


def test_a_refused_name_is_reported_on_its_row_and_nothing_of_the_customer_is_written() -> None:
    svc = a_store()
    report = run_csv(svc, replaced(tables(), "customers.csv", "Wei, Chen", "Wei\u202e Chen"))
    [line] = [line for line in report.lines if (line.kind, line.id) == ("customer", "chen")]
    assert (line.outcome, line.origin) == (Outcome.REFUSED, "customers.csv:4")
    assert "\u202e" not in line.reason  # the refused value is not repeated back
    assert svc.repo.get_customer("chen") is None and svc.repo.get_subscription("sub-chen") is None
    assert svc.repo.find_provider_object("stripe", "cus_Chen003") is None
    assert svc.repo.get_customer("ana") is not None


def test_a_razorpay_customer_on_a_plan_in_another_currency_than_inr_is_refused_whole() -> None:
    # As the API refuses subscribing them: Razorpay's recurring debits are in INR only.
    svc = a_store()
    report = run_csv(
        svc, replaced(tables(), "customers.csv", ",stripe,cus_Ana", ",razorpay,cus_Ana")
    )
    why = reason(report, "customer", "ana")
    assert "subscription sub-ana" in why and "INR only; expected a INR plan, not USD" in why
    assert svc.repo.get_customer("ana") is None and svc.repo.get_subscription("sub-ana") is None
    assert svc.repo.get_customer("chen") is not None  # a Stripe customer on the same plan


def test_an_id_on_two_rows_that_differ_is_refused_on_both() -> None:
    svc = a_store()
    texts = with_line(tables(), "customers.csv", "ana,other@example.com,Ana,en,,,,,")
    report = run_csv(svc, texts)
    refused = [line for line in report.lines if (line.kind, line.id) == ("customer", "ana")]
    assert [line.origin for line in refused] == ["customers.csv:2", "customers.csv:5"]
    assert all("duplicate id" in line.reason for line in refused)
    assert svc.repo.get_customer("ana") is None


def test_the_same_row_twice_is_one_row() -> None:
    texts = tables()
    first_row = texts["plans.csv"].splitlines()[1]
    report = run_csv(a_store(), with_line(texts, "plans.csv", first_row))
    assert not report.refused


def test_a_row_with_the_wrong_number_of_fields_is_refused_on_its_line() -> None:
    report = run_csv(a_store(), with_line(tables(), "plans.csv", "gold,Gold,100"))
    [line] = [line for line in report.lines if line.origin == "plans.csv:4"]
    assert (line.outcome, line.reason) == (Outcome.REFUSED, "wrong number of fields")


def test_a_row_whose_id_is_not_an_id_is_refused() -> None:
    report = run_csv(
        a_store(), with_line(tables(), "plans.csv", "gold plan,Gold,100,USD,month,1,0")
    )
    assert "is not an id" in reason(report, "plan", "gold plan")


def test_a_subscription_of_a_customer_not_in_the_file_is_refused() -> None:
    texts = with_line(
        tables(),
        "subscriptions.csv",
        "sub-x,nobody,basic-monthly,active,,2026-03-01T00:00:00Z,2026-03-01T00:00:00Z,"
        "2026-04-01T00:00:00Z,,false,",
    )
    report = run_csv(a_store(), texts)
    assert "'nobody' is not in customers.csv" in reason(report, "subscription", "sub-x")
    assert report.refused


@pytest.mark.parametrize(
    ("texts", "why"),
    [
        ({"plans.csv": "id\n"}, "customers.csv is missing"),
        ({"customers.csv": "id,name\n"}, "missing columns email"),
        ({"customers.csv": "id,email,mail\n"}, "unknown columns mail"),
        ({"customers.csv": "id,email,email\n"}, "a column twice"),
        ({"customers.csv": 'id,email\n"ana,a@example.com\n'}, "customers.csv"),
    ],
)
def test_a_file_that_is_not_the_format_is_refused_whole(texts: dict[str, str], why: str) -> None:
    with pytest.raises(UnreadableError, match=why):
        read_tables(texts, NOW)


def test_a_card_number_in_the_payment_method_column_is_never_stored_nor_repeated() -> None:
    svc = a_store()
    texts = replaced(tables(), "customers.csv", "pm_card_visa", "4242424242424242")
    report = run_csv(svc, texts)
    assert "4242" not in json.dumps(report.to_dict())
    assert svc.repo.get_customer("ana") is None
    assert svc.repo.list_payment_methods("ana") == []


def test_billing_columns_and_a_razorpay_provider_are_taken_over() -> None:
    svc = a_store()
    # Razorpay debits a mandate in INR only: ana's plan is priced in rupees.
    texts = replaced(tables(), "plans.csv", "Basic,1500,USD", "Basic,1500,INR")
    header, *rows = texts["customers.csv"].splitlines()
    texts["customers.csv"] = (
        "\n".join(
            [header + ",billing_name,billing_address,tax_id"]
            + [
                row.replace(",stripe,", ",razorpay,")
                + ',Ana Ltd,"1 Tverskaya\\nMoscow",RU7707083893'
                if row.startswith("ana,")
                else row + ",,,"
                for row in rows
            ]
        )
        + "\n"
    )
    report = run_csv(svc, texts)
    assert not report.refused, report.to_dict()
    ana = svc.repo.get_customer("ana")
    assert ana is not None and ana.billing is not None and ana.provider == "razorpay"
    assert (ana.billing.name, ana.billing.address, ana.billing.tax_id) == (
        "Ana Ltd",
        "1 Tverskaya\nMoscow",
        "RU7707083893",
    )
    bob = svc.repo.get_customer("bob")
    assert bob is not None and bob.billing is None and bob.provider is None


def test_an_unknown_payment_provider_refuses_the_customer_whole() -> None:
    svc = a_store()
    report = run_csv(svc, replaced(tables(), "customers.csv", ",stripe,cus_Ana", ",paypal,cus_Ana"))
    assert "unknown payment provider 'paypal'" in reason(report, "customer", "ana")
    assert svc.repo.get_customer("ana") is None
