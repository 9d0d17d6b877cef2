"""The scenario file: plans, customers and timed actions, validated before anything runs."""

import itertools
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from tenure.domain.coupon_spec import CouponSpec
from tenure.domain.customers import (
    BILLING_ADDRESS_MAX,
    BILLING_NAME_MAX,
    TAX_ID_MAX,
    billing_details,
    valid_address,
    validate_timezone,
)
from tenure.domain.dunning import DunningPolicy
from tenure.domain.errors import ValidationFailedError
from tenure.domain.ids import DISPLAY_NAME_MAX, DISPLAY_NAME_PATTERN, ID_PATTERN
from tenure.domain.item_spec import AddonSpec
from tenure.domain.offers import NO_CONTROL_CHARACTERS, REASON_TEXT_MAX
from tenure.domain.plan_spec import PlanSpec
from tenure.domain.programs_spec import Programs
from tenure.domain.timeutil import utc
from tenure.payments.razorpay_sandbox import token_for as razorpay_token_for
from tenure.payments.sandbox import payment_method_for
from tenure_local.simulator.scenario_catalog import (
    ChangePrice,
    Erase,
    Locale,
    Phone,
    UpdateCustomer,
    price_step_problems,
)
from tenure_local.simulator.scenario_collections import RepaymentPlan
from tenure_local.simulator.scenario_installments import Installments, installment_problems
from tenure_local.simulator.scenario_mandates import mandate_currency_problems
from tenure_local.simulator.scenario_problems import (
    Problem,
    ScenarioError,
    duplicate_keys,
    kind_of,
    path_parts,
    plain,
    read,
    show,
    with_lines,
)
from tenure_local.simulator.scenario_programs import (
    Coupons,
    cancel_problems,
    coupon_problems,
    loyalty_on,
    offer_references,
    some,
)
from tenure_local.simulator.scenario_refund_failed import ProviderRefundFailed, RefundsSeen

__all__ = ["Problem", "Scenario", "ScenarioError", "load", "parse"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


CARD_EXPIRY_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"


def _card(value: str | None) -> str | None:
    if value is not None and payment_method_for(str(value)) is None:
        if razorpay_token_for(str(value)) is not None:
            return str(value)  # Razorpay's test data: for customers with provider: razorpay
        raise ValueError(
            f"unknown test card {value!r}; expected one of Stripe's public test card numbers, "
            "like '4242424242424242' (docs/payments.md), or for a customer with provider: "
            "razorpay one of Razorpay's test UPI ids or cards (docs/razorpay.md)"
        )
    return None if value is None else str(value)


class ScenarioCustomer(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    email: str
    name: str = Field(default="", max_length=DISPLAY_NAME_MAX, pattern=DISPLAY_NAME_PATTERN)
    locale: Locale = "en"
    timezone: str = "UTC"
    card: str | None = None
    # The card's expiry as the customer typed it (YYYY-MM); test cards take any date.
    card_expires: str | None = Field(default=None, pattern=CARD_EXPIRY_PATTERN)
    # The payment provider that charges this customer (None: the simulator's default, the
    # Stripe-shaped sandbox); `razorpay` charges through the Razorpay sandbox.
    provider: Literal["sandbox", "razorpay"] | None = None
    # What invoices print of the buyer (docs/invoices.md); the API checks them as it does
    # any customer's.
    billing_name: str | None = Field(default=None, max_length=BILLING_NAME_MAX)
    billing_address: str | None = Field(default=None, max_length=BILLING_ADDRESS_MAX)
    tax_id: str | None = Field(default=None, max_length=TAX_ID_MAX)
    phone: Phone | None = None  # E.164, Razorpay's contact (docs/scenarios.md)

    @model_validator(mode="after")
    def _card_of_its_provider(self) -> Self:
        # Each provider's sandbox knows its own test data only.
        if self.card is not None and (self.provider == "razorpay") != (
            razorpay_token_for(self.card) is not None
        ):
            wanted = "Razorpay's" if self.provider == "razorpay" else "Stripe's"
            raise ValueError(f"card {self.card!r} is not one of {wanted} test cards or UPI ids")
        return self

    @model_validator(mode="after")
    def _printable_billing(self) -> "ScenarioCustomer":
        # The API's rule, so that a file is refused at load, not halfway through a run.
        try:
            billing_details(self.billing_name, self.billing_address, self.tax_id)
        except ValidationFailedError as exc:
            raise ValueError(str(exc)) from exc
        return self

    @field_validator("email")
    @classmethod
    def _writable_address(cls, value: str) -> str:
        if not valid_address(value):  # the mailer's rule, as at the API
            raise ValueError("must be an address the mailer can write to, like name@example.com")
        return value

    @field_validator("card", mode="before")
    @classmethod
    def _known_card(cls, value: Any) -> str | None:
        return _card(None if value is None else str(value))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            return validate_timezone(value)
        except ValidationFailedError as exc:
            raise ValueError(str(exc)) from exc


class _Action(_Strict):
    at: AwareDatetime


class Subscribe(_Action):
    do: Literal["subscribe"]
    customer: str
    plan: str
    id: str | None = Field(default=None, pattern=ID_PATTERN)
    coupon: str | None = None  # one of the file's coupons, redeemed with the subscription
    quantity: int | None = None  # seats of the plan (1 when absent)
    addons: list[AddonSpec] | None = None  # the file's plans of kind addon, with quantities


class ChangeItems(_Action):
    """Change seats or add-ons (the whole list); `at_period: period_end` waits for the
    period's end (the file's `at` is when the action happens, so the API's `at` is named
    `when` here)."""

    do: Literal["change_items"]
    subscription: str
    quantity: int | None = None
    addons: list[AddonSpec] | None = None
    when: Literal["now", "period_end"] = "now"

    def body(self) -> dict[str, Any]:
        """What POST /v1/subscriptions/{id}/items takes."""
        items: dict[str, Any] = {"at": self.when}
        if self.quantity is not None:
            items["quantity"] = self.quantity
        if self.addons is not None:
            items["addons"] = [a.model_dump() for a in self.addons]
        return items


class ApplyCoupon(_Action):
    """Redeem a coupon for a subscription; it covers its invoices from the next one on."""

    do: Literal["apply_coupon"]
    subscription: str
    coupon: str


class ChangePlan(_Action):
    do: Literal["change_plan"]
    subscription: str
    plan: str


class Pause(_Action):
    do: Literal["pause"]
    subscription: str
    until: AwareDatetime | None = None


class Resume(_Action):
    do: Literal["resume"]
    subscription: str


class Cancel(_Action):
    """Cancel. With save offers configured, the offers are presented first: `accept_offer`
    accepts one of them instead of cancelling; without it they are declined."""

    do: Literal["cancel"]
    subscription: str
    at_period_end: bool = False
    reason: str | None = Field(default=None, max_length=200, pattern=NO_CONTROL_CHARACTERS)
    reason_text: str | None = Field(
        default=None, max_length=REASON_TEXT_MAX, pattern=NO_CONTROL_CHARACTERS
    )
    refund: Literal["none", "full", "policy"] = "none"
    accept_offer: str | None = Field(default=None, pattern=ID_PATTERN)


class Refund(_Action):
    """Refund an invoice: named by its id, or as the subscription's invoice of the period
    starting at `period_start`. Without `amount` the refund policy decides."""

    do: Literal["refund"]
    invoice: str | None = Field(default=None, pattern=ID_PATTERN)
    subscription: str | None = None
    period_start: AwareDatetime | None = None
    amount: int | None = Field(default=None, gt=0, strict=True)
    reason: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_invoice(self) -> Self:
        by_period = self.subscription is not None and self.period_start is not None
        if (self.invoice is None) == (not by_period) or (
            self.invoice is not None and (self.subscription or self.period_start)
        ):
            raise ValueError("name the invoice: `invoice`, or `subscription` with `period_start`")
        return self


class UpdateCard(_Action):
    do: Literal["update_card"]
    customer: str
    card: str
    card_expires: str | None = Field(default=None, pattern=CARD_EXPIRY_PATTERN)

    @field_validator("card", mode="before")
    @classmethod
    def _known_card(cls, value: Any) -> str:
        return str(_card(str(value)))


class RedeemPoints(_Action):
    """Redeem a customer's loyalty points for a credit on their next invoice."""

    do: Literal["redeem_points"]
    customer: str
    points: int = Field(ge=1, le=10**12, strict=True)


class ProviderRefund(_Action):
    """A refund made in the provider's dashboard: Tenure hears of it only by webhook."""

    do: Literal["provider_refund"]
    subscription: str
    period_start: AwareDatetime  # which invoice: the one of the period starting then
    amount: int | None = Field(default=None, gt=0)  # minor units; none: what is left


class Dispute(_Action):
    """The customer's bank disputes an invoice's payment at `at`; it closes at `closed_at`."""

    do: Literal["dispute"]
    subscription: str
    period_start: AwareDatetime
    outcome: Literal["won", "lost"]
    closed_at: AwareDatetime


class CardAutoUpdated(_Action):
    """The card network replaced the customer's card (new number or expiry) at the provider."""

    do: Literal["card_auto_updated"]
    customer: str
    card: str

    @field_validator("card", mode="before")
    @classmethod
    def _known_card(cls, value: Any) -> str:
        return str(_card(str(value)))


API_ACTIONS = (
    "subscribe",
    "change_plan",
    "change_items",
    "pause",
    "resume",
    "cancel",
    "update_card",
    "apply_coupon",
    "redeem_points",
    "refund",
    "installments",
    "repayment_plan",
    "change_price",
    "update_customer",
    "erase",
)
PROVIDER_ACTIONS = ("provider_refund", "provider_refund_failed", "dispute", "card_auto_updated")
Action = Annotated[
    Subscribe
    | ChangePlan
    | ChangeItems
    | Pause
    | Resume
    | Cancel
    | UpdateCard
    | ProviderRefund
    | ProviderRefundFailed
    | Dispute
    | CardAutoUpdated
    | ApplyCoupon
    | RedeemPoints
    | Refund
    | Installments
    | RepaymentPlan
    | ChangePrice
    | UpdateCustomer
    | Erase,
    Field(discriminator="do"),
]
_action_adapter: TypeAdapter[Any] = TypeAdapter(Action)


class ScenarioDunning(_Strict):
    """Overrides of the dunning policy for this run (see docs/dunning.md)."""

    retry_days: list[Annotated[float, Field(gt=0, le=365)]] = Field(
        default_factory=lambda: [3.0, 7.0, 14.0], min_length=1, max_length=20
    )
    final_action: Literal["unpaid", "canceled"] = "unpaid"
    cancel_trial_without_payment_method: bool = False

    @field_validator("retry_days")
    @classmethod
    def _growing(cls, days: list[float]) -> list[float]:
        if any(b <= a for a, b in itertools.pairwise(days)):
            raise ValueError("retry days must grow")
        return days

    def policy(self) -> DunningPolicy:
        base = DunningPolicy.from_days(self.retry_days, self.final_action)
        return replace(
            base, cancel_trial_without_payment_method=self.cancel_trial_without_payment_method
        )


class Scenario(_Strict):
    start: AwareDatetime
    until: AwareDatetime
    dunning: ScenarioDunning | None = None
    plans: list[PlanSpec] = Field(default_factory=list)
    coupons: list[CouponSpec] = Field(default_factory=list)
    # The retention programs, as `PUT /v1/programs` takes them (absent: every program off).
    programs: Programs | None = None
    customers: list[ScenarioCustomer] = Field(default_factory=list)
    actions: list[Any] = Field(default_factory=list)

    def ordered_actions(self) -> list[tuple[int, Any]]:
        """Actions by time; the file's order breaks ties."""
        return sorted(enumerate(self.actions), key=lambda pair: (utc(pair[1].at), pair[0]))


# Each action's model by its `do`, read off the union so that a new action cannot be missed.
_ACTION_CLASSES: dict[str, type[BaseModel]] = {
    get_args(model.model_fields["do"].annotation)[0]: model
    for model in get_args(get_args(Action)[0])
}


def load(path: Path) -> Scenario:
    """The scenario in the file at `path`, or a ScenarioError listing every problem in it,
    each with its line."""
    raw, node = read(path)
    duplicates = duplicate_keys(node)
    try:
        scenario = parse(raw)
    except ScenarioError as exc:
        problems = duplicates + exc.problems
    else:
        if not duplicates:
            return scenario
        problems = duplicates
    raise ScenarioError(with_lines(problems, node))


def parse(raw: Any) -> Scenario:
    """The scenario in `raw` (a file's data), or a ScenarioError listing every problem."""
    if not isinstance(raw, dict):
        got = "the file is empty" if raw is None else f"the file holds {kind_of(raw)}"
        raise ScenarioError(
            [Problem("", f"{got}; expected a mapping with start, until, plans, customers, actions")]
        )
    problems: list[Problem] = []
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        problems += [plain(err, Scenario) for err in exc.errors()]
    actions: list[tuple[int, Any]] = []
    raw_actions = raw.get("actions")
    for n, action in enumerate(raw_actions if isinstance(raw_actions, list) else []):
        where = f"actions[{n}]"
        if not isinstance(action, dict):
            problems.append(
                Problem(where, f"got {kind_of(action)}; expected a mapping with `do` and `at`")
            )
        elif "do" not in action:
            problems.append(
                Problem(
                    f"{where}.do",
                    f"missing; every action needs `do`, one of: {', '.join(_ACTION_CLASSES)}",
                )
            )
        else:
            try:
                actions.append((n, _action_adapter.validate_python(action)))
            except ValidationError as exc:
                problems += [plain(err, None, where, _ACTION_CLASSES) for err in exc.errors()]
    problems += _check_references(raw, actions) + mandate_currency_problems(raw, actions)
    problems += price_step_problems(raw, actions)
    if problems or scenario is None:
        raise ScenarioError(problems)
    scenario.actions = [action for _, action in actions]
    return scenario


def _check_references(raw: dict[str, Any], actions: list[tuple[int, Any]]) -> list[Problem]:
    """What the fields cannot say alone: ids given twice, references to nothing, moments out
    of order. Ids are read from the file itself, so a plan refused for its amount is not also
    reported as unknown wherever an action names it."""
    problems: list[Problem] = []
    ids: dict[str, list[str]] = {}
    for kind in ("plans", "customers", "coupons"):
        items = raw.get(kind)
        ids[kind] = []
        for n, item in enumerate(items if isinstance(items, list) else []):
            item_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(item_id, str):
                continue
            if item_id in ids[kind]:
                problems.append(
                    Problem(
                        f"{kind}[{n}].id", f"{show(item_id)} is given twice; expected unique ids"
                    )
                )
            ids[kind].append(item_id)
    problems += offer_references(raw, ids)
    # Read on their own, so that a mistake elsewhere does not hide the actions out of range.
    start, until = _moment(raw.get("start")), _moment(raw.get("until"))
    problems += coupon_problems(raw, ids["plans"], start)
    if start is not None and until is not None and until <= start:
        problems.append(
            Problem(
                "until",
                f"{until.isoformat()} is not after start ({start.isoformat()}); "
                "expected a later moment",
            )
        )
        until = None  # every action would be out of range: one problem is enough
    subscriptions: dict[str, datetime] = {}
    coupons, installment_ids, refunds = Coupons(raw), set[str](), RefundsSeen()
    ordered = sorted(actions, key=lambda pair: (utc(pair[1].at), pair[0]))
    for n, action in ordered:
        at = utc(action.at)
        where = f"actions[{n}]"
        if start is not None and until is not None and not start <= at <= until:
            problems.append(
                Problem(
                    f"{where}.at",
                    f"{action.at.isoformat()} is outside start..until; expected a moment from "
                    f"{start.isoformat()} to {until.isoformat()}",
                )
            )
        for field, kind in (("customer", "customers"), ("plan", "plans")):
            value = getattr(action, field, None)
            if value is not None and value not in ids[kind]:
                problems.append(
                    Problem(
                        f"{where}.{field}",
                        f"unknown {field} {show(value)}; expected one of the {kind}: "
                        f"{some(ids[kind])}",
                    )
                )
        if isinstance(action, RedeemPoints) and not loyalty_on(raw):
            problems.append(
                Problem(
                    f"{where}.do",
                    "redeem_points needs the loyalty program; expected programs.loyalty "
                    "in the file",
                )
            )
        if isinstance(action, Installments):
            problems += installment_problems(where, action, installment_ids)
        if isinstance(action, Subscribe):
            sub_id = action.id or subscription_id_for(action)
            if sub_id in subscriptions:
                problems.append(
                    Problem(
                        f"{where}.id",
                        f"subscription {show(sub_id)} is created twice; expected one `subscribe` "
                        "per subscription (give each its own `id`)",
                    )
                )
            subscriptions[sub_id] = at
            coupons.plans_of[sub_id] = action.plan
            if action.coupon is not None:
                problems += coupons.redeem(where, action.coupon, action.plan, at)
        elif isinstance(action, ApplyCoupon) and action.subscription in subscriptions:
            plan = coupons.plans_of.get(action.subscription)
            problems += coupons.redeem(where, action.coupon, plan, at)
        elif (
            getattr(action, "subscription", None) is not None
            and action.subscription not in subscriptions
        ):
            problems.append(
                Problem(
                    f"{where}.subscription",
                    f"unknown subscription {show(action.subscription)} (no earlier subscribe "
                    f"action creates it); expected one of: {some(list(subscriptions))}",
                )
            )
        if isinstance(action, ProviderRefundFailed) and action.subscription in subscriptions:
            problems += refunds.failing(where, action)
        refunds.note(action)
        if isinstance(action, ChangePlan):
            coupons.plans_of[action.subscription] = action.plan
        if isinstance(action, Cancel):
            problems += cancel_problems(raw, where, action)
        if isinstance(action, Pause) and action.until is not None and utc(action.until) <= at:
            problems.append(
                Problem(f"{where}.until", "is not after the action's `at`; expected a later moment")
            )
        if (
            isinstance(action, Dispute)
            and until is not None
            and not at < utc(action.closed_at) <= until
        ):
            problems.append(
                Problem(
                    f"{where}.closed_at",
                    "is not between the action's `at` and the scenario's until; expected a "
                    "moment after `at`, no later than until",
                )
            )
    return sorted(problems, key=lambda p: _order_key(p.path))


def _order_key(path: str) -> tuple[Any, ...]:
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in path_parts(path))


_moment_adapter: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)


def _moment(value: Any) -> datetime | None:
    try:
        return utc(_moment_adapter.validate_python(value))
    except ValidationError:
        return None  # reported where the field is validated


def subscription_id_for(action: Subscribe) -> str:
    """Content-derived id when the scenario gives none."""
    return action.id or f"sub_{action.customer}_{action.plan}_{utc(action.at):%Y%m%dT%H%M%SZ}"
