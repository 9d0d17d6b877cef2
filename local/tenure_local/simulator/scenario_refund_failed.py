"""The scenario action `provider_refund_failed`: the provider reports that a refund of an
invoice's payment failed (the customer's bank could not take the money back). Refused at
load when no earlier action can have refunded that invoice; whether the invoice has such a
refund when the action runs is the provider's to say (docs/scenarios.md)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tenure.domain.timeutil import utc
from tenure_local.simulator.scenario_problems import Problem, show


class ProviderRefundFailed(BaseModel):
    """The invoice's latest refund not failed yet, or the latest of `amount`, fails. Sent as
    the invoice's provider sends it (Stripe's or Razorpay's `refund.failed`)."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime
    do: Literal["provider_refund_failed"]
    subscription: str
    period_start: AwareDatetime  # which invoice: the one of the period starting then
    amount: int | None = Field(default=None, gt=0, strict=True)  # which refund, in minor units


class RefundsSeen:
    """The invoices the actions read so far may have refunded, read in time order. A refund
    naming its invoice by id, or a cancellation's, may be of any of the subscription's
    invoices: whether there is one then is left to the run."""

    def __init__(self) -> None:
        self.periods: set[tuple[str, datetime]] = set()  # (subscription, period start)
        self.any_period: set[str] = set()  # subscriptions
        self.by_id: list[str] = []  # invoice ids

    def note(self, action: Any) -> None:
        """Take in a validated action (the file's `refund`, `provider_refund`, `cancel`)."""
        if action.do == "refund" and action.invoice is not None:
            self.by_id.append(action.invoice)
        elif action.do in ("refund", "provider_refund"):
            self.periods.add((action.subscription, utc(action.period_start)))
        elif action.do == "cancel" and action.refund != "none":
            self.any_period.add(action.subscription)

    def failing(self, where: str, action: ProviderRefundFailed) -> list[Problem]:
        """The problem with `action` (at `where`) when nothing before it refunds its invoice."""
        sub, starts = action.subscription, utc(action.period_start)
        if (
            (sub, starts) in self.periods
            or sub in self.any_period
            or any(i.startswith(f"in_{sub}_") for i in self.by_id)
        ):
            return []
        return [
            Problem(
                f"{where}.period_start",
                f"no earlier action refunds the invoice of subscription {show(sub)} of "
                f"{starts.isoformat()}, so there is no refund to fail; expected a `refund`, "
                "`provider_refund` or `cancel` with `refund` of it before this action",
            )
        ]
