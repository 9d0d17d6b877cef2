"""The scenario file: plans, customers and timed actions, validated before anything runs."""

import itertools
import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from tenure.domain.customers import SUPPORTED_LOCALES, valid_address, validate_timezone
from tenure.domain.dunning import DunningPolicy
from tenure.domain.errors import ValidationFailedError
from tenure.domain.ids import ID_PATTERN
from tenure.domain.plan_spec import PlanSpec
from tenure.domain.timeutil import utc
from tenure.payments.sandbox import payment_method_for


class ScenarioError(Exception):
    """The scenario cannot run; the message names the place and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


CARD_EXPIRY_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"


def _card(value: str | None) -> str | None:
    if value is not None and payment_method_for(str(value)) is None:
        raise ValueError(f"unknown test card {value!r} (use one of Stripe's public test cards)")
    return None if value is None else str(value)


class ScenarioCustomer(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    email: str
    name: str = ""
    locale: str = "en"
    timezone: str = "UTC"
    card: str | None = None
    # The card's expiry as the customer typed it (YYYY-MM); test cards take any date.
    card_expires: str | None = Field(default=None, pattern=CARD_EXPIRY_PATTERN)

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

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value.split("-")[0].split("_")[0] not in SUPPORTED_LOCALES:
            # Unknown locales fall back to English when emails are rendered; keep the value.
            return value
        return value


class _Action(_Strict):
    at: AwareDatetime


class Subscribe(_Action):
    do: Literal["subscribe"]
    customer: str
    plan: str
    id: str | None = Field(default=None, pattern=ID_PATTERN)


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
    do: Literal["cancel"]
    subscription: str
    at_period_end: bool = False
    reason: str | None = Field(default=None, max_length=200)


class UpdateCard(_Action):
    do: Literal["update_card"]
    customer: str
    card: str
    card_expires: str | None = Field(default=None, pattern=CARD_EXPIRY_PATTERN)

    @field_validator("card", mode="before")
    @classmethod
    def _known_card(cls, value: Any) -> str:
        return str(_card(str(value)))


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


API_ACTIONS = ("subscribe", "change_plan", "pause", "resume", "cancel", "update_card")
PROVIDER_ACTIONS = ("provider_refund", "dispute", "card_auto_updated")
Action = Annotated[
    Subscribe
    | ChangePlan
    | Pause
    | Resume
    | Cancel
    | UpdateCard
    | ProviderRefund
    | Dispute
    | CardAutoUpdated,
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
    customers: list[ScenarioCustomer] = Field(default_factory=list)
    actions: list[Any] = Field(default_factory=list)

    def ordered_actions(self) -> list[tuple[int, Any]]:
        """Actions by time; the file's order breaks ties."""
        return sorted(enumerate(self.actions), key=lambda pair: (utc(pair[1].at), pair[0]))


def _where(loc: tuple[Any, ...]) -> str:
    parts = []
    for part in loc:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".")


def load(path: Path) -> Scenario:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(
            f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}"
        ) from exc
    return parse(raw)


def parse(raw: Any) -> Scenario:
    if not isinstance(raw, dict):
        raise ScenarioError("scenario: expected a mapping with start, until, plans, customers")
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_first_error(exc)) from exc
    actions = []
    for n, action in enumerate(scenario.actions):
        if not isinstance(action, dict) or "do" not in action:
            raise ScenarioError(f"actions[{n}].do: every action needs a `do`")
        try:
            actions.append(_action_adapter.validate_python(action))
        except ValidationError as exc:
            raise ScenarioError(_first_error(exc, prefix=f"actions[{n}]")) from exc
    scenario.actions = actions
    _check_references(scenario)
    return scenario


def _first_error(exc: ValidationError, prefix: str = "") -> str:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    if prefix and loc and isinstance(loc[0], str) and loc[0] in (*API_ACTIONS, *PROVIDER_ACTIONS):
        loc = loc[1:]  # drop the discriminator tag pydantic puts first
    where = _where(loc)
    where = f"{prefix}.{where}" if prefix and where else (prefix or where)
    return f"{where}: {err['msg']}"


def _check_references(s: Scenario) -> None:
    start, until = utc(s.start), utc(s.until)
    if until <= start:
        raise ScenarioError("until: must be after start")
    plan_ids = [p.id for p in s.plans]
    customer_ids = [c.id for c in s.customers]
    for kind, ids in (("plans", plan_ids), ("customers", customer_ids)):
        seen: set[str] = set()
        for n, item_id in enumerate(ids):
            if item_id in seen:
                raise ScenarioError(f"{kind}[{n}].id: duplicate id {item_id!r}")
            seen.add(item_id)
    subscriptions: dict[str, datetime] = {}
    for n, action in s.ordered_actions():
        at = utc(action.at)
        where = f"actions[{n}]"
        if not start <= at <= until:
            raise ScenarioError(f"{where}.at: {action.at.isoformat()} is outside start..until")
        if getattr(action, "customer", None) is not None and action.customer not in customer_ids:
            raise ScenarioError(f"{where}.customer: unknown customer {action.customer!r}")
        if getattr(action, "plan", None) is not None and action.plan not in plan_ids:
            raise ScenarioError(f"{where}.plan: unknown plan {action.plan!r}")
        if isinstance(action, Subscribe):
            sub_id = action.id or subscription_id_for(action)
            if sub_id in subscriptions:
                raise ScenarioError(f"{where}.id: subscription {sub_id!r} is created twice")
            subscriptions[sub_id] = at
        elif hasattr(action, "subscription") and action.subscription not in subscriptions:
            raise ScenarioError(
                f"{where}.subscription: unknown subscription {action.subscription!r} "
                "(no earlier subscribe action creates it)"
            )
        if isinstance(action, Pause) and action.until is not None and utc(action.until) <= at:
            raise ScenarioError(f"{where}.until: must be after the action's `at`")
        if isinstance(action, Dispute) and not at < utc(action.closed_at) <= until:
            raise ScenarioError(f"{where}.closed_at: must be after `at` and no later than until")


def subscription_id_for(action: Subscribe) -> str:
    """Content-derived id when the scenario gives none."""
    return action.id or f"sub_{action.customer}_{action.plan}_{utc(action.at):%Y%m%dT%H%M%SZ}"
