"""What the business's application and its customers' pages do in a simulation: each
scenario action sent to Tenure's HTTP API as they would send it (a cancellation through the
save offers, a repayment plan for the customer's open case), or handed to the provider's
side for what happens at the provider. Refusals are kept with the run's rejections."""

import json
from typing import Any

from tenure.domain.timeutil import iso, utc
from tenure.fakes import FixedClock
from tenure.payments.razorpay_sandbox import token_for as razorpay_token_for
from tenure.payments.sandbox import payment_method_for
from tenure.ports import Repository
from tenure_local.runtime import functions
from tenure_local.simulator.scenario import (
    ApplyCoupon,
    Cancel,
    CardAutoUpdated,
    ChangeItems,
    ChangePlan,
    Dispute,
    Pause,
    ProviderRefund,
    RedeemPoints,
    Refund,
    Resume,
    Scenario,
    Subscribe,
    UpdateCard,
    subscription_id_for,
)
from tenure_local.simulator.scenario_catalog import ChangePrice, Erase, UpdateCustomer
from tenure_local.simulator.scenario_collections import RepaymentPlan
from tenure_local.simulator.scenario_installments import Installments
from tenure_local.simulator.scenario_refund_failed import ProviderRefundFailed
from tenure_local.simulator.webhooks_provider import ProviderSandbox


class ApiSide:
    """Mixed into the Simulator, whose run state it shares; kept apart from the loop that
    decides when each action runs."""

    scenario: Scenario
    clock: FixedClock
    repo: Repository | None
    gateway: ProviderSandbox | None
    rejected: list[dict[str, Any]]
    subscription_ids: list[str]
    _token: str
    _providers: dict[str, str | None]

    def _at_provider(
        self,
        action: ProviderRefund | ProviderRefundFailed | Dispute | CardAutoUpdated,
        where: str,
    ) -> None:
        raise NotImplementedError  # the provider side's (provider_side.ProviderSide)

    def _apply(self, index: int, action: Any) -> None:
        where = f"actions[{index}]"
        if isinstance(action, Subscribe):
            sub_id = subscription_id_for(action)
            body = {"id": sub_id, "customer": action.customer, "plan": action.plan}
            if action.coupon is not None:
                body["coupon"] = action.coupon
            if action.quantity is not None:
                body["quantity"] = action.quantity
            if action.addons is not None:
                body["addons"] = [a.model_dump() for a in action.addons]
            if self._api("POST", "/v1/subscriptions", body, where=where):
                self.subscription_ids.append(sub_id)
        elif isinstance(action, ChangePlan):
            path = f"/v1/subscriptions/{action.subscription}/change-plan"
            self._api("POST", path, {"plan": action.plan}, where=where)
        elif isinstance(action, ChangeItems):
            path = f"/v1/subscriptions/{action.subscription}/items"
            self._api("POST", path, action.body(), where=where)
        elif isinstance(action, Pause):
            path = f"/v1/subscriptions/{action.subscription}/pause"
            self._api("POST", path, {"until": iso(action.until)}, where=where)
        elif isinstance(action, Resume):
            self._api("POST", f"/v1/subscriptions/{action.subscription}/resume", {}, where=where)
        elif isinstance(action, Cancel):
            self._cancel(action, where)
        elif isinstance(action, RedeemPoints):
            path = f"/v1/customers/{action.customer}/points/redeem"
            self._api("POST", path, {"points": action.points}, where=where)
        elif isinstance(action, Refund):
            self._refund(action, where)
        elif isinstance(action, ApplyCoupon):
            path = f"/v1/subscriptions/{action.subscription}/coupon"
            self._api("POST", path, {"coupon": action.coupon}, where=where)
        elif isinstance(action, Installments):
            path = f"/v1/customers/{action.customer}/installment-plans"
            self._api("POST", path, action.body(), where=where)
        elif isinstance(action, RepaymentPlan):
            self._repayment_plan(action, where)
        elif isinstance(action, UpdateCard):
            self._attach_card(action.customer, action.card, where, action.card_expires)
        elif isinstance(action, ProviderRefund | ProviderRefundFailed | Dispute | CardAutoUpdated):
            self._at_provider(action, where)
        elif isinstance(action, ChangePrice | UpdateCustomer | Erase):
            self._api(action.method, action.path(), action.body(), where=where)

    def _cancel(self, action: Cancel, where: str) -> None:
        """As the customer page does: with save offers configured they are presented first,
        then the one named is accepted, or all are declined and the cancellation goes on."""
        path = f"/v1/subscriptions/{action.subscription}/cancel"
        body: dict[str, Any] = {"at_period_end": action.at_period_end, "reason": action.reason}
        if action.reason_text is not None:
            body["reason_text"] = action.reason_text
        if action.refund != "none":
            body["refund"] = action.refund
        programs = self.scenario.programs
        if programs is None or not programs.save_offers:
            self._api("POST", path, body, where=where)
            return
        presented = self._api("POST", path, body | {"offers": True}, where=where)
        if presented is None or not presented.get("offers"):
            return  # refused, or canceled there and then (no offer applied to it)
        if action.accept_offer is not None:
            accept = f"/v1/subscriptions/{action.subscription}/offers/{action.accept_offer}/accept"
            self._api("POST", accept, {}, where=f"{where}.accept_offer")
            return
        self._api("POST", path, body | {"decline_offers": True}, where=where)

    def _repayment_plan(self, action: RepaymentPlan, where: str) -> None:
        """As the collections page does: the customer's open case (the latest), then the
        plan chosen for it. No open case: refused as the page would say so."""
        listed = self._api("GET", f"/v1/collection-cases?customer={action.customer}", None, where)
        if listed is None:
            return
        open_cases = [c for c in listed.get("data", []) if c.get("status") == "open"]
        if not open_cases:
            message = f"customer {action.customer} has no open collections case"
            self.rejected.append(
                {
                    "at": iso(self.clock.now()),
                    "where": where,
                    "status": 409,
                    "response": {"error": "conflict", "message": message},
                }
            )
            return
        path = f"/v1/collection-cases/{open_cases[-1]['id']}/repayment-plan"
        self._api("POST", path, action.body(), where=where)

    def _refund(self, action: Refund, where: str) -> None:
        invoice_id = action.invoice
        if invoice_id is None and self.repo is not None:
            assert action.subscription is not None and action.period_start is not None
            starts = utc(action.period_start)
            found = [
                i.id
                for i in self.repo.list_invoices(action.subscription)
                if i.period_start == starts
            ]
            invoice_id = found[0] if found else f"in_{action.subscription}_none"
        body: dict[str, Any] = {}
        if action.amount is not None:
            body["amount"] = action.amount
        if action.reason is not None:
            body["reason"] = action.reason
        self._api("POST", f"/v1/invoices/{invoice_id}/refund", body, where=where)

    def _attach_card(
        self, customer_id: str, card: str, where: str, expires: str | None = None
    ) -> None:
        if self._providers.get(customer_id) == "razorpay":
            # Razorpay's test UPI ids and cards stand for mandate tokens (docs/razorpay.md).
            body = {"payment_method": razorpay_token_for(card), "default": True}
            self._api("POST", f"/v1/customers/{customer_id}/payment-methods", body, where=where)
            return
        method = payment_method_for(card)
        if expires and method and self.gateway is not None:
            year, month = expires.split("-")
            self.gateway.next_card_expires(method, int(month), int(year))
        body = {"payment_method": method, "default": True}
        self._api("POST", f"/v1/customers/{customer_id}/payment-methods", body, where=where)

    def _api(self, method: str, path: str, body: Any, where: str) -> dict[str, Any] | None:
        event = functions.http_event(
            method, path, body, headers={"authorization": f"Bearer {self._token}"}
        )
        response = functions.invoke("api", event)
        status = int(response.get("statusCode", 500))
        payload = json.loads(response.get("body") or "null")
        if status >= 400:
            # A business rule refused the action (e.g. pausing a canceled subscription): the
            # scenario goes on, as the business's own application would.
            self.rejected.append(
                {"at": iso(self.clock.now()), "where": where, "status": status, "response": payload}
            )
            return None
        return payload if isinstance(payload, dict) else {}
