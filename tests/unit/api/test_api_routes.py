"""Every route's happy path through the real handler, with the in-memory store and a fixed clock."""

from datetime import timedelta

from api_harness import Api


def test_healthz_answers_ok(api: Api) -> None:
    reply = api.get("/healthz", token=None)

    assert reply.status == 200
    assert reply.json == {"status": "ok"}


def test_a_customer_is_created_with_defaults_and_read_back(api: Api) -> None:
    reply = api.post("/v1/customers", {"id": "alice", "email": "alice@example.com"})

    assert reply.status == 201
    assert reply.json == {
        "id": "alice",
        "email": "alice@example.com",
        "name": "",
        "locale": "en",
        "timezone": "UTC",
        "default_payment_method": None,
        "created_at": "2026-04-01T00:00:00Z",
        "at_risk": False,
        "billing_name": None,
        "billing_address": None,
        "tax_id": None,
    }
    assert api.get("/v1/customers/alice").json == reply.json


def test_a_customer_without_an_id_gets_a_generated_one(api: Api) -> None:
    body = {"email": "b@example.com", "name": "Бо", "locale": "ru", "timezone": "Europe/Moscow"}

    reply = api.post("/v1/customers", body)

    assert reply.status == 201
    assert reply.json["id"].startswith("cus_")
    assert reply.json["locale"] == "ru"
    assert reply.json["timezone"] == "Europe/Moscow"
    assert reply.json["id"] in api.repo.customers


def test_customers_are_listed_a_page_at_a_time(api: Api) -> None:
    for name in ("ann", "bob", "cyd"):
        api.customer(name)
        api.clock.advance(timedelta(minutes=1))

    first = api.get("/v1/customers", query={"limit": "2"}).json
    rest = api.get(
        "/v1/customers", query={"limit": "2", "starting_after": first["next_cursor"]}
    ).json

    assert [c["id"] for c in first["data"]] == ["ann", "bob"]
    assert first["has_more"] is True
    assert [c["id"] for c in rest["data"]] == ["cyd"]
    assert rest == {"data": rest["data"], "has_more": False, "next_cursor": None}


def test_a_payment_method_token_is_attached_and_becomes_the_default(api: Api) -> None:
    api.customer("alice")

    reply = api.post("/v1/customers/alice/payment-methods", {"payment_method": "pm_card_visa"})

    assert reply.status == 201
    assert reply.json == {
        "id": "pm_card_visa",
        "customer": "alice",
        "provider": "sandbox",
        "created_at": "2026-04-01T00:00:00Z",
    }
    assert api.get("/v1/customers/alice").json["default_payment_method"] == "pm_card_visa"


def test_a_second_payment_method_replaces_the_default_only_when_asked(api: Api) -> None:
    api.customer("alice")
    api.post("/v1/customers/alice/payment-methods", {"payment_method": "pm_card_visa"})

    api.post("/v1/customers/alice/payment-methods", {"payment_method": "pm_card_mastercard"})
    kept = api.get("/v1/customers/alice").json["default_payment_method"]
    api.post(
        "/v1/customers/alice/payment-methods", {"payment_method": "pm_card_amex", "default": True}
    )
    replaced = api.get("/v1/customers/alice").json["default_payment_method"]

    assert (kept, replaced) == ("pm_card_visa", "pm_card_amex")


def test_a_plan_is_created_and_listed(api: Api) -> None:
    body = {
        "id": "pro",
        "name": "Pro",
        "amount": 2000,
        "currency": "usd",
        "interval": "month",
        "trial_days": 14,
        "intro": [{"periods": 3, "percent_off": 50}],
        "tax_rate": "20",
        "tax_behavior": "inclusive",
    }

    reply = api.post("/v1/plans", body)

    assert reply.status == 201
    assert reply.json == {
        **body,
        "currency": "USD",
        "interval_count": 1,
        "kind": "plan",  # the defaults an answer names: a plan, not an add-on, per unit
        "tiers": [],
        "intro": [{"periods": 3, "percent_off": "50"}],
    }
    assert api.get("/v1/plans").json == {"data": [reply.json]}


def test_subscribing_returns_the_subscription_and_its_first_invoice(api: Api) -> None:
    api.plan("basic", 1000, name="Basic")
    api.customer("alice")

    reply = api.post("/v1/subscriptions", {"id": "sub-1", "customer": "alice", "plan": "basic"})

    assert reply.status == 201
    assert reply.json["subscription"] == {
        "id": "sub-1",
        "customer": "alice",
        "plan": "basic",
        "status": "incomplete",
        "current_period_start": "2026-04-01T00:00:00Z",
        "current_period_end": "2026-05-01T00:00:00Z",
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancel_reason": None,
        "cancel_reason_text": None,
        "paused_until": None,
        "trial_end": None,
        "credit": 0,
        "currency": "USD",
        "created_at": "2026-04-01T00:00:00Z",
        "mrr": 0,  # incomplete until the first invoice is paid
        "discount": None,
    }
    invoice = reply.json["invoice"]
    assert invoice["subscription"] == "sub-1"
    assert invoice["customer"] == "alice"
    assert (invoice["kind"], invoice["status"], invoice["currency"]) == ("first", "open", "USD")
    assert (invoice["period_start"], invoice["period_end"]) == (
        "2026-04-01T00:00:00Z",
        "2026-05-01T00:00:00Z",
    )
    assert invoice["total"] == 1000 == sum(line["amount"] for line in invoice["lines"])
    assert invoice["lines"][0]["kind"] == "plan"
    assert invoice["paid_at"] is None
    # The same shape as state.json's: dunning and provider-reported facts.
    assert (invoice["attempts"], invoice["next_attempt_at"]) == (0, None)
    assert (invoice["amount_refunded"], invoice["disputed"]) == (0, False)
    assert invoice["refund_owed"] is None


def test_a_trial_subscription_has_no_first_invoice_and_a_generated_id(api: Api) -> None:
    api.plan("trial", 1000, trial_days=14)
    api.customer("alice")

    reply = api.post("/v1/subscriptions", {"customer": "alice", "plan": "trial"})

    assert reply.status == 201
    assert reply.json["subscription"]["id"].startswith("sub_")
    assert reply.json["subscription"]["status"] == "trialing"
    assert reply.json["subscription"]["trial_end"] == "2026-04-15T00:00:00Z"
    assert reply.json["invoice"] is None


def test_a_subscription_is_read_and_listed_for_its_customer(api: Api) -> None:
    api.plan()
    api.customer("alice")
    created = api.subscription("sub-1")["subscription"]

    assert api.get("/v1/subscriptions/sub-1").json == created
    assert api.get("/v1/customers/alice/subscriptions").json == {"data": [created]}


def test_invoices_are_read_one_by_one_and_listed_for_their_subscription(api: Api) -> None:
    api.plan()
    api.customer("alice")
    invoice = api.subscription("sub-1")["invoice"]

    # Read alone, the invoice also shows its credit notes, seller and buyer.
    alone = api.get(f"/v1/invoices/{invoice['id']}").json
    assert {key: alone[key] for key in invoice} == invoice
    assert api.get("/v1/subscriptions/sub-1/invoices").json == {"data": [invoice]}


def test_cancel_at_period_end_is_scheduled_with_its_reason(api: Api) -> None:
    api.plan()
    api.customer("alice")
    api.subscription("sub-1")
    api.activate("sub-1")

    reply = api.post(
        "/v1/subscriptions/sub-1/cancel", {"at_period_end": True, "reason": "too_expensive"}
    )

    assert reply.status == 200
    sub = reply.json["subscription"]
    assert (sub["status"], sub["cancel_at_period_end"], sub["cancel_reason"]) == (
        "active",
        True,
        "too_expensive",
    )
    assert reply.json["invoice"] is None


def test_cancel_without_a_body_cancels_now(api: Api) -> None:
    api.plan()
    api.customer("alice")
    api.subscription("sub-1")

    reply = api.post("/v1/subscriptions/sub-1/cancel")

    assert reply.status == 200
    assert reply.json["subscription"]["status"] == "canceled"
    assert reply.json["subscription"]["canceled_at"] == "2026-04-01T00:00:00Z"


def test_resume_withdraws_a_scheduled_cancellation(api: Api) -> None:
    api.plan()
    api.customer("alice")
    api.subscription("sub-1")
    api.activate("sub-1")
    api.post("/v1/subscriptions/sub-1/cancel", {"at_period_end": True})

    reply = api.post("/v1/subscriptions/sub-1/resume")

    assert reply.status == 200
    assert reply.json["subscription"]["cancel_at_period_end"] is False


def test_pause_until_a_date_then_resume_starts_a_new_invoiced_period(api: Api) -> None:
    api.plan()
    api.customer("alice")
    api.subscription("sub-1")
    api.activate("sub-1")
    api.clock.advance(timedelta(days=15))

    paused = api.post("/v1/subscriptions/sub-1/pause", {"until": "2026-06-01T00:00:00+02:00"})
    api.clock.advance(timedelta(days=5))
    resumed = api.post("/v1/subscriptions/sub-1/resume")

    assert paused.status == 200
    assert paused.json["subscription"]["status"] == "paused"
    assert paused.json["subscription"]["paused_until"] == "2026-05-31T22:00:00Z"
    assert paused.json["subscription"]["credit"] == 500
    assert resumed.status == 200
    assert resumed.json["subscription"]["status"] == "active"
    assert resumed.json["subscription"]["current_period_start"] == "2026-04-21T00:00:00Z"
    assert resumed.json["invoice"]["kind"] == "renewal"
    assert resumed.json["invoice"]["total"] == 500  # the paused half-period's credit was used


def test_an_open_ended_pause_has_no_end_date(api: Api) -> None:
    api.plan()
    api.customer("alice")
    api.subscription("sub-1")
    api.activate("sub-1")

    reply = api.post("/v1/subscriptions/sub-1/pause", {})

    assert reply.status == 200
    assert reply.json["subscription"]["status"] == "paused"
    assert reply.json["subscription"]["paused_until"] is None


def test_changing_plan_in_a_trial_switches_without_an_invoice(api: Api) -> None:
    api.plan("trial", 1000, trial_days=14)
    api.plan("trial-pro", 2000, trial_days=14)
    api.customer("alice")
    api.subscription("sub-1", plan="trial")

    reply = api.post("/v1/subscriptions/sub-1/change-plan", {"plan": "trial-pro"})

    assert reply.status == 200
    assert reply.json["subscription"]["plan"] == "trial-pro"
    assert reply.json["invoice"] is None
