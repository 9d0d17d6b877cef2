"""Collections cases over HTTP: list a customer's, read one, choose a repayment plan (201,
idempotent); every refusal clear and changing nothing."""

from datetime import timedelta
from typing import Any

import pytest
from api_harness import Api

from tenure.domain.collection_cases import CollectionCase
from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tenure.ports import Commit


def an_open_case(
    api: Api, customer: str = "alice", amount: int = 1001, currency: str = "USD"
) -> str:
    """A case as dunning leaves one: the customer's unpaid renewal, stored with its case."""
    now = api.clock.now()
    invoice = Invoice(
        id=f"in-{customer}",
        subscription_id=f"sub-{customer}",
        customer_id=customer,
        kind=InvoiceKind.RENEWAL,
        period_start=now - timedelta(days=20),
        period_end=now + timedelta(days=10),
        currency=currency,
        lines=[InvoiceLine(LineKind.PLAN, "Basic", amount)],
        status=InvoiceStatus.OPEN,
        created_at=now - timedelta(days=20),
    )
    case = CollectionCase.open(customer, f"sub-{customer}", [invoice], now)
    assert case is not None
    change = Commit(invoices=[invoice])
    change.add_collection_case(case)
    api.repo.commit(change)
    return case.id


@pytest.fixture
def shop(api: Api) -> Api:
    api.customer("alice")
    api.customer("bob")
    return api


def choose(api: Api, case_id: str, body: Any, **kwargs: Any) -> Any:
    return api.post(f"/v1/collection-cases/{case_id}/repayment-plan", body, **kwargs)


def test_a_customers_cases_are_listed_with_every_line(shop: Api) -> None:
    case_id = an_open_case(shop)
    an_open_case(shop, "bob")
    listed = shop.get("/v1/collection-cases", query={"customer": "alice"})
    assert listed.status == 200, listed.text
    (case,) = listed.json["data"]
    assert (case["id"], case["status"], case["balance"], case["plan"]) == (
        case_id,
        "open",
        1001,
        None,
    )
    assert [(ln["invoice"], ln["amount"]) for ln in case["lines"]] == [("in-alice", 1001)]
    assert shop.get(f"/v1/collection-cases/{case_id}").json == case


def test_choosing_a_plan_answers_the_case_in_its_plan(shop: Api) -> None:
    case_id = an_open_case(shop)
    reply = choose(shop, case_id, {"count": 3, "every": "two_weeks"})
    assert reply.status == 201, reply.text
    case = reply.json
    assert case["status"] == "in_plan"
    assert (case["plan"]["count"], case["plan"]["every"]) == (3, "two_weeks")
    assert [i["amount"] for i in case["plan"]["instalments"]] == [335, 333, 333]
    assert shop.get(f"/v1/collection-cases/{case_id}").json == case
    # ... and the plan is an installment plan, charged by the same machinery
    assert shop.get(f"/v1/installment-plans/{case['plan']['id']}").status == 200


def test_a_repeated_request_with_the_same_idempotency_key_chooses_once(shop: Api) -> None:
    case_id = an_open_case(shop)
    body = {"count": 2, "every": "week"}
    first = choose(shop, case_id, body, headers={"idempotency-key": "k-1"})
    again = choose(shop, case_id, body, headers={"idempotency-key": "k-1"})
    assert first.status == again.status == 201
    assert first.json == again.json
    assert len(shop.repo.installment_plans) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"count": 1, "every": "week"}, "count"),
        ({"count": 7, "every": "week"}, "count"),
        ({"count": "3", "every": "week"}, "count"),
        ({"count": 3, "every": "month"}, "every"),
        ({"count": 3}, "every"),
        ({"count": 3, "every": "week", "extra": 1}, "extra"),
    ],
)
def test_a_bad_plan_is_a_422_naming_the_field_and_changes_nothing(
    shop: Api, body: dict[str, Any], field: str
) -> None:
    case_id = an_open_case(shop)
    before = shop.state()
    reply = choose(shop, case_id, body)
    assert reply.status == 422, reply.text
    assert field in reply.text
    assert shop.state() == before


def test_a_balance_too_small_for_the_count_is_a_422_on_count(shop: Api) -> None:
    # KWD is charged in tens of fils: 20 fils make two instalments at most, not three. The
    # body holds no amount, so the refusal names what the customer chose: the count.
    case_id = an_open_case(shop, amount=20, currency="KWD")
    before = shop.state()
    reply = choose(shop, case_id, {"count": 3, "every": "week"})
    assert reply.status == 422, reply.text
    [fault] = reply.json["detail"]
    assert fault["loc"] == ["body", "count"]
    assert fault["msg"] == (
        "the balance, KWD 0.020 (20 minor units), does not split into 3 positive instalments "
        "(at least 30 minor units needed); choose fewer"
    )
    assert shop.state() == before
    assert choose(shop, case_id, {"count": 2, "every": "week"}).status == 201


def test_a_refused_count_names_the_balance_and_the_part_charged_when_they_differ(
    shop: Api,
) -> None:
    # KWD 0.025: the 5 fils under the charge step are forgiven, so 20 fils are charged. The
    # refusal names the balance the customer sees (25), not the charged 20 as "the balance".
    case_id = an_open_case(shop, amount=25, currency="KWD")
    before = shop.state()
    reply = choose(shop, case_id, {"count": 3, "every": "week"})
    assert reply.status == 422, reply.text
    [fault] = reply.json["detail"]
    assert fault["loc"] == ["body", "count"]
    assert fault["msg"].startswith("the balance, KWD 0.025 (25 minor units), is charged as 20")
    assert "the 5 under KWD's charge step of 10 are forgiven" in fault["msg"]
    assert shop.state() == before


def test_a_case_already_in_a_plan_is_a_409_and_changes_nothing(shop: Api) -> None:
    case_id = an_open_case(shop)
    assert choose(shop, case_id, {"count": 2, "every": "week"}).status == 201
    before = shop.state()
    reply = choose(shop, case_id, {"count": 3, "every": "week"})
    assert reply.status == 409, reply.text
    assert shop.state() == before


def test_an_unknown_case_or_customer_is_a_404(shop: Api) -> None:
    before = shop.state()
    assert choose(shop, "cc_nope", {"count": 2, "every": "week"}).status == 404
    assert shop.get("/v1/collection-cases/cc_nope").status == 404
    assert shop.get("/v1/collection-cases", query={"customer": "nobody"}).status == 404
    assert shop.state() == before


def test_listing_without_a_customer_is_a_422(shop: Api) -> None:
    assert shop.get("/v1/collection-cases").status == 422


def cancel(api: Api, case_id: str, **kwargs: Any) -> Any:
    return api.post(f"/v1/collection-cases/{case_id}/repayment-plan/cancel", **kwargs)


def test_a_plan_left_before_its_first_charge_opens_the_case_again(shop: Api) -> None:
    case_id = an_open_case(shop)
    shop.clock.set(shop.clock.now())
    chosen = choose(shop, case_id, {"count": 2, "every": "week"}).json
    # The first instalment is due now but not yet invoiced (the scheduler has not run)
    reply = cancel(shop, case_id)
    assert reply.status == 200, reply.text
    case = reply.json
    assert (case["status"], case["balance"]) == ("open", 1001)
    assert case["plan"]["id"] == chosen["plan"]["id"]
    assert case["plan"]["status"] == "canceled"
    assert [i["status"] for i in case["plan"]["instalments"]] == ["canceled"] * 2
    # ... and another plan may be chosen
    assert choose(shop, case_id, {"count": 3, "every": "week"}).status == 201


def test_a_repayment_plan_cannot_be_canceled_as_a_plain_installment_plan(shop: Api) -> None:
    # Its case holds the balance: canceling the plan alone would leave the case in a plan
    # that charges nothing.
    case_id = an_open_case(shop)
    plan_id = choose(shop, case_id, {"count": 2, "every": "week"}).json["plan"]["id"]
    before = shop.state()

    reply = shop.post(f"/v1/installment-plans/{plan_id}/cancel")

    assert reply.status == 409, reply.text
    assert case_id in reply.json["message"]
    assert shop.state() == before


def test_leaving_a_plan_of_an_open_case_is_a_409_and_changes_nothing(shop: Api) -> None:
    case_id = an_open_case(shop)
    before = shop.state()
    reply = cancel(shop, case_id)
    assert reply.status == 409, reply.text
    assert shop.state() == before
    assert cancel(shop, "cc_nope").status == 404


def test_paying_a_case_of_another_state_is_a_409_and_changes_nothing(shop: Api) -> None:
    case_id = an_open_case(shop)
    assert choose(shop, case_id, {"count": 2, "every": "week"}).status == 201
    before = shop.state()
    reply = shop.post(f"/v1/collection-cases/{case_id}/pay")
    assert reply.status == 409, reply.text
    assert shop.state() == before
    assert shop.post("/v1/collection-cases/cc_nope/pay").status == 404


def test_paying_in_full_without_a_provider_leaves_one_instalment_open(shop: Api) -> None:
    # The API harness has no payment provider: the instalment is invoiced, not charged
    case_id = an_open_case(shop)
    reply = shop.post(f"/v1/collection-cases/{case_id}/pay")
    assert reply.status == 200, reply.text
    case = reply.json
    assert (case["status"], case["plan"]["count"]) == ("in_plan", 1)
    assert [(i["amount"], i["status"]) for i in case["plan"]["instalments"]] == [(1001, "open")]


def test_a_kwd_balance_under_10_fils_paid_in_full_is_forgiven_and_the_case_settles(
    shop: Api,
) -> None:
    # Stripe charges KWD only in tens of fils: 5 fils can never be charged, so paying in full
    # forgives them and closes the case, with nothing sent to a provider.
    case_id = an_open_case(shop, amount=5, currency="KWD")
    reply = shop.post(f"/v1/collection-cases/{case_id}/pay")
    assert reply.status == 200, reply.text
    case = reply.json
    assert (case["status"], case["recovered"], case["forgiven"], case["balance"]) == (
        "settled",
        0,
        5,
        0,
    )
    assert case["plan"] is None and len(shop.repo.installment_plans) == 0
    assert case["total"] == case["recovered"] + case["forgiven"] + case["balance"]
    assert shop.get(f"/v1/collection-cases/{case_id}").json == case
    assert shop.post(f"/v1/collection-cases/{case_id}/pay").status == 409


def test_a_kwd_balance_of_1005_paid_in_full_asks_for_the_1000_that_can_be_charged(
    shop: Api,
) -> None:
    case_id = an_open_case(shop, amount=1005, currency="KWD")
    case = shop.post(f"/v1/collection-cases/{case_id}/pay").json
    assert (case["status"], case["balance"]) == ("in_plan", 1005)
    assert "forgiven" not in case  # nothing forgiven until the 1000 is paid
    assert [i["amount"] for i in case["plan"]["instalments"]] == [1000]
