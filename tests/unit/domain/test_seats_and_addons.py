"""Seats, add-ons and graduated tiers: priced by hand-computed oracles, prorated to the second."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.domain.errors import NotFoundError, ValidationFailedError
from tenure.domain.invoices import InvoiceStatus, LineKind
from tenure.domain.plan_spec import PlanSpec
from tenure.domain.plans import Plan, PlanKind, Tier
from tenure.domain.pricing import Item, Items, check_tiers, graduated_amount, priced_plan
from tenure.domain.subscription import Subscription
from tenure.fakes import FixedClock, InMemoryRepository
from tenure.ports import Commit
from tenure.services import catalog
from tenure.services import subscriptions as service
from tenure.services.context import Services
from tenure.views import subscription_view

APR_1 = datetime(2026, 4, 1, tzinfo=UTC)  # April: 30 days, 2,592,000 seconds
APR_16 = datetime(2026, 4, 16, tzinfo=UTC)  # exactly halfway
MAY_1 = datetime(2026, 5, 1, tzinfo=UTC)


def a_price(price_id: str, amount: int, **overrides: Any) -> Plan:
    fields: dict[str, Any] = {
        "id": price_id,
        "name": price_id.title(),
        "amount": amount,
        "currency": "USD",
        "interval": "month",
    }
    return Plan(**(fields | overrides))


TEAM = a_price("team", 1000)  # 10.00 a seat
SSO = a_price("sso", 500, kind=PlanKind.ADDON)
SSO_EUR = a_price("sso-eur", 500, currency="EUR", kind=PlanKind.ADDON)
SSO_YEAR = a_price("sso-year", 5000, interval="year", kind=PlanKind.ADDON)
# 1-5 at 10.00 plus 2.00 once, 6-100 at 8.00, then 5.00
TIERS = (Tier(5, 1000, 200), Tier(100, 800), Tier(None, 500))
TIERED = a_price("tiered", 0, tiers=TIERS)


def a_shop(*prices: Plan) -> tuple[Services, InMemoryRepository, FixedClock]:
    repo, clock = InMemoryRepository(), FixedClock(APR_1)
    svc = Services(repo, clock)
    catalog.create_customer(svc, "alice", "alice@example.com")
    for price in prices or (TEAM, SSO, SSO_EUR, SSO_YEAR, TIERED):
        catalog.create_plan(svc, price)
    return svc, repo, clock


def an_active_subscription(svc: Services, plan_id: str, items: Items) -> Subscription:
    outcome = service.subscribe(svc, "sub-1", "alice", plan_id, items=items)
    sub = outcome.subscription
    sub.activate(catalog.subscription_plan(svc, sub), svc.clock.now())
    change = Commit()
    change.add_subscription(sub)
    svc.repo.commit(change)
    return service.get_subscription(svc, "sub-1")


# -- graduated tiers ---------------------------------------------------------------------------
def test_a_graduated_table_prices_one_ten_and_a_hundred_and_one_units_by_hand() -> None:
    # 1 unit: 1 × 10.00 + 2.00 flat = 12.00
    assert graduated_amount(TIERS, 1) == 1200
    # 10 units: 5 × 10.00 + 2.00 + 5 × 8.00 = 92.00
    assert graduated_amount(TIERS, 10) == 9200
    # 101 units: 5 × 10.00 + 2.00 + 95 × 8.00 + 1 × 5.00 = 817.00
    assert graduated_amount(TIERS, 101) == 81700


def test_a_tiered_plan_is_invoiced_at_its_graduated_price_on_one_line() -> None:
    svc, _, _ = a_shop()

    outcome = service.subscribe(svc, "sub-1", "alice", "tiered", items=Items(10))

    invoice = outcome.invoice
    assert invoice is not None
    assert [(ln.kind, ln.amount) for ln in invoice.lines] == [(LineKind.PLAN, 9200)]
    assert invoice.lines[0].description.startswith("Tiered: 10 units (")


@pytest.mark.parametrize(
    ("tiers", "field"),
    [
        ((Tier(10, 100), Tier(5, 90), Tier(None, 80)), "tiers[1].up_to"),  # overlap
        ((Tier(10, 100), Tier(10, 90), Tier(None, 80)), "tiers[1].up_to"),  # overlap
        ((Tier(10, 100), Tier(None, 90), Tier(20, 80)), "tiers[1].up_to"),  # open in the middle
        ((Tier(10, 100), Tier(20, 90)), "tiers[1].up_to"),  # a gap above 20
        ((Tier(None, -1),), "tiers[0]"),
    ],
)
def test_a_tier_table_with_a_gap_or_an_overlap_is_refused(
    tiers: tuple[Tier, ...], field: str
) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        check_tiers(tiers)
    assert refused.value.field == field


def test_a_plan_spec_with_overlapping_tiers_is_refused_with_the_tier_named() -> None:
    body = {
        "id": "bad",
        "amount": 0,
        "currency": "USD",
        "interval": "month",
        "tiers": [{"up_to": 10, "unit_amount": 100}, {"up_to": 10, "unit_amount": 90}],
    }
    with pytest.raises(ValueError, match=r"tiers\[1\]\.up_to"):
        PlanSpec.model_validate(body)


def test_a_plan_spec_with_tiers_and_an_amount_is_refused() -> None:
    body = {
        "id": "bad",
        "amount": 100,
        "currency": "USD",
        "interval": "month",
        "tiers": [{"up_to": None, "unit_amount": 90}],
    }
    with pytest.raises(ValueError, match="amount must be 0"):
        PlanSpec.model_validate(body)


# -- seats and add-ons on invoices -----------------------------------------------------------
def test_a_plain_subscription_prices_its_plan_unchanged() -> None:
    assert priced_plan(TEAM, Items(), {}) is TEAM


def test_an_invoice_has_one_line_per_item_quantity_times_unit() -> None:
    svc, repo, _ = a_shop()

    outcome = service.subscribe(svc, "sub-1", "alice", "team", items=Items(5, (Item("sso", 2),)))

    invoice = outcome.invoice
    assert invoice is not None
    assert [ln.amount for ln in invoice.lines] == [5000, 1000]
    assert invoice.lines[0].description.startswith("Team: 5 × 1000 (2026-04-01")
    assert invoice.lines[1].description.startswith("Sso: 2 × 500 (2026-04-01")
    assert invoice.total == 6000
    view = subscription_view(repo.subscriptions["sub-1"])
    assert view["items"] == [{"price": "team", "quantity": 5}, {"price": "sso", "quantity": 2}]


def test_state_of_a_plain_subscription_has_no_items_field() -> None:
    svc, repo, _ = a_shop()
    service.subscribe(svc, "sub-1", "alice", "team")
    assert "items" not in subscription_view(repo.subscriptions["sub-1"])


def test_mrr_counts_quantity_times_price() -> None:
    svc, _, _ = a_shop()

    sub = an_active_subscription(svc, "team", Items(5, (Item("sso", 2),)))

    assert sub.mrr == 5 * 1000 + 2 * 500


# -- changing seats ------------------------------------------------------------------------------
def test_seats_five_to_eight_halfway_through_april_prorate_to_the_second() -> None:
    svc, _repo, clock = a_shop()
    an_active_subscription(svc, "team", Items(5))
    clock.set(APR_16)

    outcome = service.change_items(svc, "sub-1", quantity=8)

    # Half of April is left: 5 seats × 10.00 × 1/2 back, 8 seats × 10.00 × 1/2 charged.
    invoice = outcome.invoice
    assert invoice is not None
    assert [(ln.kind, ln.amount) for ln in invoice.lines] == [
        (LineKind.PRORATION, -2500),
        (LineKind.PRORATION, 4000),
    ]
    assert invoice.total == 1500
    assert (invoice.period_start, invoice.period_end) == (APR_16, MAY_1)
    assert outcome.subscription.items == Items(8)
    assert outcome.subscription.mrr == 8000


def test_seats_prorate_to_the_second_not_the_day() -> None:
    svc, _, clock = a_shop()
    an_active_subscription(svc, "team", Items(5))
    clock.set(APR_16 + timedelta(seconds=1))

    outcome = service.change_items(svc, "sub-1", quantity=8)

    # 1,295,999 of 2,592,000 seconds left: 5000 × that = 2499.998… → 2500; 8000 × = 3999.99… → 4000
    left = 1_295_999
    assert outcome.invoice is not None
    assert [ln.amount for ln in outcome.invoice.lines] == [
        -round(5000 * left / 2_592_000),
        round(8000 * left / 2_592_000),
    ]


def test_removing_an_add_on_mid_period_becomes_credit() -> None:
    svc, _, clock = a_shop()
    an_active_subscription(svc, "team", Items(1, (Item("sso", 1),)))
    clock.set(APR_16)

    outcome = service.change_items(svc, "sub-1", addons=())

    assert outcome.invoice is None  # nothing to pay: 750 back, 500 charged
    assert outcome.subscription.credit == 250


def test_a_downgrade_at_period_end_waits_and_the_renewal_is_priced_with_it() -> None:
    svc, _repo, clock = a_shop()
    an_active_subscription(svc, "team", Items(8))
    clock.set(APR_16)

    outcome = service.change_items(svc, "sub-1", quantity=3, at_period_end=True)

    assert outcome.invoice is None and outcome.subscription.items == Items(8)
    assert subscription_view(outcome.subscription)["scheduled_items"] == [
        {"price": "team", "quantity": 3}
    ]
    clock.set(MAY_1)
    renewed = service.process_due(svc, "sub-1")
    assert renewed is not None and renewed.invoice is not None
    assert renewed.subscription.items == Items(3)
    assert renewed.subscription.scheduled_items is None
    assert [ln.amount for ln in renewed.invoice.lines] == [3000]
    assert renewed.invoice.status is InvoiceStatus.OPEN


# -- bad input changes nothing -------------------------------------------------------------------
@pytest.mark.parametrize("quantity", [0, -3, 10_001])
def test_a_quantity_outside_one_to_ten_thousand_is_refused(quantity: int) -> None:
    svc, repo, _ = a_shop()
    with pytest.raises(ValidationFailedError) as refused:
        service.subscribe(svc, "sub-1", "alice", "team", items=Items(quantity))
    assert refused.value.field == "quantity"
    assert repo.subscriptions == {}


@pytest.mark.parametrize(
    ("addon", "why"), [("sso-eur", "currency"), ("sso-year", "interval"), ("team", "not an add-on")]
)
def test_an_add_on_in_another_currency_or_interval_is_refused(addon: str, why: str) -> None:
    svc, repo, _ = a_shop()
    with pytest.raises(ValidationFailedError, match=why) as refused:
        service.subscribe(svc, "sub-1", "alice", "team", items=Items(1, (Item(addon),)))
    assert refused.value.field == "addons[0].price"
    assert repo.subscriptions == {}


def test_an_unknown_add_on_is_not_found() -> None:
    svc, repo, _ = a_shop()
    with pytest.raises(NotFoundError):
        service.subscribe(svc, "sub-1", "alice", "team", items=Items(1, (Item("nope"),)))
    assert repo.subscriptions == {}


def test_a_change_to_zero_seats_changes_nothing() -> None:
    svc, repo, clock = a_shop()
    an_active_subscription(svc, "team", Items(5))
    before = repo.subscriptions["sub-1"].version
    clock.set(APR_16)
    with pytest.raises(ValidationFailedError):
        service.change_items(svc, "sub-1", quantity=0)
    assert repo.subscriptions["sub-1"].items == Items(5)
    assert repo.subscriptions["sub-1"].version == before


def test_a_change_that_changes_nothing_is_refused() -> None:
    svc, _, _clock = a_shop()
    an_active_subscription(svc, "team", Items(5))
    with pytest.raises(ValidationFailedError, match="already has these items"):
        service.change_items(svc, "sub-1", quantity=5)


def test_a_change_with_neither_quantity_nor_add_ons_is_refused() -> None:
    svc, _, _ = a_shop()
    an_active_subscription(svc, "team", Items(5))
    with pytest.raises(ValidationFailedError, match="give a quantity"):
        service.change_items(svc, "sub-1")


def test_subscribing_to_an_add_on_as_a_plan_is_refused() -> None:
    svc, repo, _ = a_shop()
    with pytest.raises(ValidationFailedError, match="is an add-on"):
        service.subscribe(svc, "sub-1", "alice", "sso")
    assert repo.subscriptions == {}


def test_seats_that_come_back_from_unpaid_return_at_their_whole_price_in_mrr() -> None:
    from tenure.payments.sandbox import SandboxGateway
    from tenure.services import cards
    from tests.unit.services.conftest import run_due

    repo, clock = InMemoryRepository(), FixedClock(APR_1)
    svc = Services(repo, clock, SandboxGateway(clock=clock.now))
    catalog.create_customer(svc, "alice", "alice@example.com")
    for price in (TEAM, SSO):
        catalog.create_plan(svc, price)
    catalog.attach_payment_method(svc, "alice", "pm_card_visa", "sandbox", make_default=True)
    service.subscribe(svc, "sub-1", "alice", "team", items=Items(5, (Item("sso", 2),)))
    cards.update_payment_method(svc, "alice", "pm_card_chargeDeclined", "sandbox", True)
    run_due(svc, datetime(2026, 6, 1, tzinfo=UTC))  # May's renewal fails through dunning
    assert service.get_subscription(svc, "sub-1").status.value == "unpaid"

    cards.update_payment_method(svc, "alice", "pm_card_visa", "sandbox", True)

    sub = service.get_subscription(svc, "sub-1")
    assert (sub.status.value, sub.mrr) == ("active", 5 * 1000 + 2 * 500)
