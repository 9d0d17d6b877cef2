"""The scenario actions that change the catalog and customers: `change_price` (a plan's new
price with notice, docs/pricing.md), `update_customer` (PATCH /v1/customers/{id}) and `erase`
(POST /v1/customers/{id}/erase, docs/privacy.md). The run sends each as the API call it
stands for; what the file alone can tell is refused at load (`price_step_problems`: a price
its plan's currency cannot be charged in), the API's other checks decide at run time."""

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from tenure.domain.audit import check_note
from tenure.domain.customers import SUPPORTED_LOCALES, validate_phone, validate_timezone
from tenure.domain.errors import ValidationFailedError
from tenure.domain.ids import DISPLAY_NAME_MAX, DISPLAY_NAME_PATTERN
from tenure.domain.money import UnknownCurrencyError, unchargeable
from tenure.domain.prices import MAX_AMOUNT
from tenure_local.simulator.scenario_problems import Problem


def _e164(number: str) -> str:
    # The API's rule, so that a file is refused at load, not halfway through a run.
    try:
        return validate_phone(number)
    except ValidationFailedError as exc:
        raise ValueError(str(exc)) from exc


def _note(text: str) -> str:
    # The API's rule for an operator's note, so that a file is refused at load.
    try:
        return str(check_note(text))
    except ValidationFailedError as exc:
        raise ValueError(str(exc)) from exc


# A customer's phone in E.164 (`+919876543210`): Razorpay's contact for them.
Phone = Annotated[str, AfterValidator(_e164)]


def _zone(name: str) -> str:
    try:
        return validate_timezone(name)
    except ValidationFailedError as exc:
        raise ValueError(str(exc)) from exc


def _locale(code: str) -> str:
    # The API takes these exactly (POST and PATCH /v1/customers): a file naming another is
    # refused at load rather than losing its customer to a 422 at run time.
    if code not in SUPPORTED_LOCALES:
        raise ValueError(
            f"unsupported locale {code!r}; expected one of: {', '.join(SUPPORTED_LOCALES)}"
        )
    return code


# An IANA time zone (`Europe/Berlin`), and a locale the emails and pages are written in.
Timezone = Annotated[str, AfterValidator(_zone)]
Locale = Annotated[str, AfterValidator(_locale)]


class _CatalogAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime


class ChangePrice(_CatalogAction):
    """A new price for a plan: new subscribers pay it from `effective_at`, earlier ones
    after their notice, or never when `grandfather`."""

    do: Literal["change_price"]
    plan: str
    # The API's bounds, so that a file is refused at load (0 goes with `tiers` only).
    amount: int | None = Field(default=None, strict=True, ge=0, le=MAX_AMOUNT)
    # A tiered plan's new graduated table instead of an amount: checked by the API.
    tiers: list[dict[str, Any]] | None = None
    effective_at: AwareDatetime
    notice_days: int = Field(default=30, strict=True)
    grandfather: bool = False

    method: ClassVar[str] = "POST"

    @field_validator("effective_at")
    @classmethod
    def _not_before_the_action(cls, value: datetime, info: ValidationInfo) -> datetime:
        # The API refuses a change effective in the past: the action's `at` is its now.
        at = info.data.get("at")
        if isinstance(at, datetime) and value < at:
            raise ValueError("is before the action's `at`; expected a moment no earlier")
        return value

    def path(self) -> str:
        return f"/v1/plans/{self.plan}/price-changes"

    def amounts(self) -> list[tuple[str, int]]:
        """The amounts it names, each with its field: the amount, or the tiers' amounts
        (those of a tier written wrong are left to the API, which says why)."""
        found = [("amount", self.amount)] if self.amount is not None else []
        for k, tier in enumerate(self.tiers or []):
            for name in ("unit_amount", "flat_amount"):
                value = tier.get(name) if isinstance(tier, dict) else None
                if isinstance(value, int) and not isinstance(value, bool):
                    found.append((f"tiers[{k}].{name}", value))
        return found

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"amount": self.amount} if self.amount is not None else {}
        if self.tiers is not None:
            body["tiers"] = self.tiers
        return {
            **body,
            "effective_at": self.effective_at.isoformat(),
            "notice_days": self.notice_days,
            "grandfather": self.grandfather,
        }


def price_step_problems(raw: dict[str, Any], actions: list[tuple[int, Any]]) -> list[Problem]:
    """A `change_price` to an amount its plan's currency cannot be charged in (KWD 1.505:
    Stripe takes three-decimal currencies only in tens), refused at load on its field with
    the nearest amounts, as the API refuses it at run time and as a plan's own price is
    refused. `actions`: (index in the file, validated action) pairs."""
    currencies: dict[str, str] = {}
    plans = raw.get("plans")
    for plan in plans if isinstance(plans, list) else []:
        if isinstance(plan, dict) and isinstance(plan.get("id"), str):
            currencies[plan["id"]] = str(plan.get("currency"))
    problems: list[Problem] = []
    for n, action in actions:
        if not isinstance(action, ChangePrice) or action.plan not in currencies:
            continue  # an unknown plan is reported on its own
        for field, amount in action.amounts():
            try:
                why = unchargeable(amount, currencies[action.plan])
            except UnknownCurrencyError:
                break  # the plan's currency is reported on the plan
            if why:
                problems.append(Problem(f"actions[{n}].{field}", f"plan {action.plan}: {why}"))
    return problems


class UpdateCustomer(_CatalogAction):
    """Change a customer's details: the fields given change, the others stay."""

    do: Literal["update_customer"]
    customer: str
    email: str | None = None
    # The API's rule for a customer's name, so that a file is refused at load.
    name: str | None = Field(
        default=None, max_length=DISPLAY_NAME_MAX, pattern=DISPLAY_NAME_PATTERN
    )
    locale: Locale | None = None
    timezone: Timezone | None = None
    billing_name: str | None = None
    billing_address: str | None = None
    tax_id: str | None = None
    phone: Phone | None = None

    method: ClassVar[str] = "PATCH"

    def path(self) -> str:
        return f"/v1/customers/{self.customer}"

    def body(self) -> dict[str, Any]:
        fixed = {"do", "at", "customer"}
        return {name: getattr(self, name) for name in self.model_fields_set - fixed}


class Erase(_CatalogAction):
    """Erase the customer's personal data, as the data-protection officer would: refused
    (409, reported at run time) while a subscription or installment plan is live."""

    do: Literal["erase"]
    customer: str
    # Why, for the audit entry: 1-1000 characters, no control characters (the API's rule).
    note: Annotated[str, AfterValidator(_note)] = "asked by the customer"

    method: ClassVar[str] = "POST"

    def path(self) -> str:
        return f"/v1/customers/{self.customer}/erase"

    def body(self) -> dict[str, Any]:
        return {"note": self.note}
