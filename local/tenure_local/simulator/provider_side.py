"""The provider's side of a simulation: what happens at the provider on its own (refunds from
its dashboard, disputes, card updates, debits settling) and the webhooks that tell Tenure."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from tenure.domain.charges import Charge
from tenure.domain.money import Money
from tenure.domain.timeutil import iso, utc
from tenure.fakes import FixedClock
from tenure.payments.razorpay_sandbox import RazorpaySandbox
from tenure.ports import Repository
from tenure_local.runtime import functions
from tenure_local.simulator.chaos import Chaos, SimulatedCrash
from tenure_local.simulator.scenario import CardAutoUpdated, Dispute, ProviderRefund
from tenure_local.simulator.scenario_refund_failed import ProviderRefundFailed
from tenure_local.simulator.webhooks_provider import (
    ProviderActionError,
    ProviderSandbox,
    WebhookCourier,
    fail_razorpay_refund,
    open_razorpay_dispute,
    razorpay_dashboard_refund,
)


class ProviderSide:
    """Mixed into the Simulator, whose run state it shares; kept apart because Tenure never
    calls any of it: Tenure hears of the provider only through the webhooks delivered here."""

    clock: FixedClock
    repo: Repository | None
    gateway: ProviderSandbox | None
    razorpay: RazorpaySandbox | None
    courier: WebhookCourier | None
    razorpay_courier: WebhookCourier | None
    chaos: Chaos | None
    webhook_chaos: bool
    rejected: list[dict[str, Any]]
    _provider_later: list[tuple[datetime, int, Callable[[], None]]]

    def _invoke(self, name: str, event: dict[str, Any]) -> Any:
        raise NotImplementedError  # the Simulator's: one invocation under its chaos

    def _at_provider(
        self,
        action: ProviderRefund | ProviderRefundFailed | Dispute | CardAutoUpdated,
        where: str,
    ) -> None:
        """What happens at the provider; Tenure hears of it only through webhooks."""
        assert self.gateway is not None and self.repo is not None
        try:
            if isinstance(action, ProviderRefundFailed):
                self._fail_refund(action)
                return
            if isinstance(action, CardAutoUpdated):
                customer = self.repo.get_customer(action.customer)
                method = customer.default_payment_method if customer else None
                if customer is None or method is None:
                    raise ProviderActionError(f"{action.customer} has no card at the provider")
                self.gateway.auto_update_card(method, customer.provider_customer_id, action.card)
                return
            # At the provider that took the invoice's payment (Razorpay's or the Stripe-shaped
            # sandbox), which tells Tenure by its own webhooks.
            charge = self._paid_charge(action.subscription, utc(action.period_start))
            payment_id, at_razorpay = str(charge.payment_id), charge.provider == "razorpay"
            key = f"{action.do}:{action.subscription}:{iso(action.at)}"
            if isinstance(action, ProviderRefund):
                invoice = self._invoice_of(action.subscription, utc(action.period_start))
                amount = Money(action.amount, invoice.currency) if action.amount else None
                if at_razorpay:
                    assert self.razorpay is not None
                    razorpay_dashboard_refund(self.razorpay, payment_id, amount, key)
                else:
                    self.gateway.dashboard_refund(payment_id, amount, key)
                return
            if at_razorpay:
                assert self.razorpay is not None
                dispute_id = open_razorpay_dispute(self.razorpay, payment_id)
            else:
                dispute_id = self.gateway.open_dispute(payment_id, key)
            closing = self._close_dispute(dispute_id, action.outcome, at_razorpay)
            self._provider_later.append((utc(action.closed_at), len(self._provider_later), closing))
        except ProviderActionError as exc:
            self.rejected.append(
                {
                    "at": iso(self.clock.now()),
                    "where": where,
                    "status": 402,
                    "response": {"error": "refused_by_provider", "message": str(exc)},
                }
            )

    def _fail_refund(self, action: ProviderRefundFailed) -> None:
        """At the provider that took the invoice's payment (Razorpay's or the Stripe-shaped
        sandbox), which then sends its `refund.failed`."""
        assert self.gateway is not None and self.razorpay is not None
        charge = self._paid_charge(action.subscription, utc(action.period_start))
        payment_id = str(charge.payment_id)
        named = f"invoice {charge.invoice_id}"
        if charge.provider == "razorpay":
            fail_razorpay_refund(self.razorpay, payment_id, action.amount, named)
        else:
            self.gateway.fail_refund(payment_id, action.amount, named)

    def _close_dispute(
        self, dispute_id: str, outcome: str, at_razorpay: bool
    ) -> Callable[[], None]:
        def close() -> None:
            if at_razorpay:
                assert self.razorpay is not None
                self.razorpay.close_dispute(dispute_id, outcome)
                return
            assert self.gateway is not None
            self.gateway.close_dispute(dispute_id, outcome)

        return close

    def _invoice_of(self, subscription_id: str, period_start: datetime) -> Any:
        assert self.repo is not None
        for invoice in self.repo.list_invoices(subscription_id):
            if invoice.period_start == period_start:
                return invoice
        raise ProviderActionError(f"{subscription_id} has no invoice for {iso(period_start)}")

    def _paid_charge(self, subscription_id: str, period_start: datetime) -> Charge:
        assert self.repo is not None
        invoice = self._invoice_of(subscription_id, period_start)
        for charge in self.repo.list_charges(invoice.id):
            if charge.outcome == "succeeded" and charge.payment_id:
                return charge
        raise ProviderActionError(f"{invoice.id} has no successful payment")

    def _provider_upcoming(self) -> list[datetime]:
        moments = [at for at, _, _ in self._provider_later]
        for courier in (self.courier, self.razorpay_courier):
            if courier is not None and (next_delivery := courier.next_at()) is not None:
                moments.append(next_delivery)
        return moments

    def _provider_side(self, now: datetime) -> None:
        """The provider acts on its own time (disputes close, bank debits settle), then every
        webhook due by now is delivered; deliveries can cause more (a retry on a new card)."""
        assert self.gateway is not None and self.courier is not None
        self._provider_later.sort()
        while self._provider_later and self._provider_later[0][0] <= now:
            self._provider_later.pop(0)[2]()
        self.gateway.settle_pending(now)
        self.courier.collect(now)
        self.courier.deliver_due(now)
        self.gateway.pack_finished()  # what the moment changed is done with, until read again
        if self.razorpay_courier is not None:
            self.razorpay_courier.collect(now)
            self.razorpay_courier.deliver_due(now)

    def _post_webhook(self, provider: str, body: bytes, headers: dict[str, str]) -> int:
        event = functions.http_event(
            "POST",
            f"/webhooks/{provider}",
            headers=headers,
            raw_body=body,
            route_key="POST /webhooks/{provider}",
        )
        event["pathParameters"] = {"provider": provider}
        try:
            if self.chaos is not None:
                return int(self._invoke("webhooks", event).get("statusCode", 500))
            return int(functions.invoke("webhooks", event).get("statusCode", 500))
        except Exception:  # a crash is a 5xx to the provider: it delivers again later
            return 500
        except SimulatedCrash:  # the process died: no answer, the provider delivers again
            return 502

    def _webhook_summary(self) -> dict[str, Any]:
        if self.courier is None:
            return {}
        summary = _courier_summary(self.courier, self.webhook_chaos)
        razorpay = self.razorpay_courier
        if razorpay is not None and razorpay.delivered_any():
            # Only when Razorpay's sandbox sent anything: other runs' summaries stay as they were.
            summary["razorpay"] = _courier_summary(razorpay, self.webhook_chaos)
        return summary


def _courier_summary(courier: WebhookCourier, chaos: bool) -> dict[str, Any]:
    stats = courier.stats
    return {
        "chaos": chaos,
        "delivered": dict(stats.delivered),
        "duplicates_sent": stats.duplicates_sent,
        "late": stats.late,
        "refused": stats.refused,
    }
