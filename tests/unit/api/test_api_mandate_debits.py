"""Through the API paths that can trigger a charge (a new card retries what is owed; a plan
change invoices a proration), a debit on a mandate is never made sooner than 24 hours after
its pre-debit email: the request succeeds and nothing is charged."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from api_harness import Api

from tenure import bootstrap
from tenure.domain.invoices import InvoiceStatus
from tenure.domain.mandates import pre_debit_key
from tenure.domain.notices import NoticeStatus
from tenure.notify.compose import Composer
from tenure.payments.sandbox import SandboxGateway, payment_method_for
from tenure.services import subscriptions
from tenure.services.context import Services
from tenure.services.reminders import send_due

DAY = timedelta(hours=24)


class MandateSandbox(SandboxGateway):
    name = "razorpay"


class Mailer:
    def send(self, message: object, **_: object) -> str:
        return "<id@test>"


@pytest.fixture
def ravi(api: Api) -> Iterator[Api]:
    """ravi pays by a Razorpay mandate, on a monthly ₹499 plan, his first payment made."""
    mandate = MandateSandbox(clock=api.clock.now)
    services = Services(
        api.repo,
        api.clock,
        gateway=SandboxGateway(clock=api.clock.now),
        gateways={"razorpay": mandate},
    )
    bootstrap.use(bootstrap.Wiring(services))
    api.plan("inr", 49900, currency="INR")
    api.plan("inr-pro", 99900, currency="INR")
    api.plan("inr-trial", 49900, currency="INR", trial_days=14)
    api.customer("ravi", provider="razorpay")
    card = payment_method_for("4242424242424242")
    reply = api.post("/v1/customers/ravi/payment-methods", {"payment_method": card})
    assert reply.status == 201, reply.text
    api.subscription("sub-ravi", "ravi", "inr")
    api.subscription("sub-trial", "ravi", "inr-trial")
    yield api


def held_renewal(api: Api) -> tuple[str, datetime]:
    """The trial converts and its first debit is held; its pre-debit email goes out.
    Returns the invoice's id and when its email went out."""
    svc = bootstrap.wiring().services
    sub = api.repo.get_subscription("sub-trial")
    assert sub is not None and sub.trial_end is not None
    api.clock.set(sub.trial_end)
    subscriptions.process_due(svc, "sub-trial")
    [renewal] = [i for i in api.repo.list_invoices("sub-trial") if i.status is InvoiceStatus.OPEN]
    notice = api.repo.get_notice(pre_debit_key(renewal.id, 1, renewal.total))
    assert notice is not None
    compose = Composer("billing@shop.example", "Shop")
    send_due(svc, Mailer(), compose, lambda *a: "https://pages.test/x", notice.due_at)
    sent = api.repo.get_notice(notice.key)
    assert sent is not None and sent.status is NoticeStatus.SENT and sent.sent_at is not None
    return renewal.id, sent.sent_at


def test_a_new_card_an_hour_after_the_notice_does_not_debit_early(ravi: Api) -> None:
    renewal_id, sent_at = held_renewal(ravi)
    ravi.clock.set(sent_at + timedelta(hours=1))

    card = payment_method_for("5555555555554444")
    reply = ravi.post(
        "/v1/customers/ravi/payment-methods", {"payment_method": card, "default": True}
    )

    assert reply.status == 201, reply.text
    assert ravi.repo.list_charges(renewal_id) == []
    held = ravi.repo.get_invoice(renewal_id)
    assert held is not None and held.status is InvoiceStatus.OPEN and held.attempts == 0
    assert held.next_attempt_at == sent_at + DAY


def test_an_upgrade_on_a_mandate_is_invoiced_but_not_charged_at_once(ravi: Api) -> None:
    ravi.clock.set(ravi.clock.now() + timedelta(days=10))
    reply = ravi.post("/v1/subscriptions/sub-ravi/change-plan", {"plan": "inr-pro"})

    assert reply.status == 200, reply.text
    [proration] = [i for i in ravi.repo.list_invoices("sub-ravi") if i.status is InvoiceStatus.OPEN]
    assert ravi.repo.list_charges(proration.id) == []
    notice = ravi.repo.get_notice(pre_debit_key(proration.id, 1, proration.total))
    assert notice is not None and proration.next_attempt_at == notice.due_at + DAY
