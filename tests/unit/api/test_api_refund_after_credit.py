"""Over HTTP: a refund after a downgrade's credit gives back only what was not credited and
takes that credit back; a paused subscription canceled with a refund gets its pause's
credit back as money."""

from datetime import timedelta

from api_harness import Api

DAYS_LEFT = 27  # of April's 30, three days in
UNUSED = round(1000 * DAYS_LEFT / 30)


def credit(api: Api) -> int:
    reply = api.get("/v1/subscriptions/sub-1")
    assert reply.status == 200, reply.text
    return int(reply.json["credit"])


def test_a_refund_after_a_downgrade_gives_back_only_what_was_not_credited(
    paid: tuple[Api, str],
) -> None:
    api, invoice_id = paid
    api.plan("small", 100)
    api.clock.advance(timedelta(days=3))
    assert api.post("/v1/subscriptions/sub-1/change-plan", {"plan": "small"}).status == 200
    granted = credit(api)
    left = 1000 - (UNUSED - granted)  # the small plan's rest was paid by the unused time

    too_much = api.post(f"/v1/invoices/{invoice_id}/refund", {"amount": left + 1})
    made = api.post(f"/v1/invoices/{invoice_id}/refund")

    assert too_much.status == 422 and str(left) in too_much.text
    assert made.status == 201, made.text
    assert made.json["refund"]["amount"] == left and credit(api) == 0


def test_canceling_a_paused_subscription_with_a_refund_refunds_its_credit(
    paid: tuple[Api, str],
) -> None:
    api, invoice_id = paid
    api.clock.advance(timedelta(days=3))
    assert api.post("/v1/subscriptions/sub-1/pause", {}).status == 200
    assert credit(api) == UNUSED
    api.clock.advance(timedelta(days=40))  # the paused period would have ended

    reply = api.post("/v1/subscriptions/sub-1/cancel", {"refund": "full"})

    assert reply.status == 200, reply.text
    invoice = api.get(f"/v1/invoices/{invoice_id}").json
    assert invoice["amount_refunded"] == 1000 and credit(api) == 0


def test_a_cancel_with_a_refund_after_a_full_refund_cancels(paid: tuple[Api, str]) -> None:
    api, invoice_id = paid
    assert api.post(f"/v1/invoices/{invoice_id}/refund").status == 201

    reply = api.post("/v1/subscriptions/sub-1/cancel", {"refund": "full"})

    assert reply.status == 200, reply.text
    assert reply.json["subscription"]["status"] == "canceled" and reply.json["refunds"] == []
