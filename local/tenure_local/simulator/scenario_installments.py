"""The scenario action `installments`: a one-off amount split into instalments for a customer
(docs/installments.md). The file is checked against the domain's own rules before anything
runs, with the domain's words; the run then creates the plan through the API, like the
business's application would, so anything refused there is reported as any refused action."""

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tenure.domain.errors import ValidationFailedError
from tenure.domain.ids import ID_PATTERN
from tenure.domain.installments import (
    MAX_DESCRIPTION,
    check_count,
    check_whole_steps,
    parse_every,
    split_amount,
)
from tenure.domain.money import UnknownCurrencyError, charge_step, charged_currency
from tenure_local.simulator.scenario_problems import Problem, show


class Installments(BaseModel):
    """Split `amount` (minor units) into `count` instalments `every` week, two weeks or
    month, the first charged at `at`. The rules are the domain's (see `problems`)."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime
    do: Literal["installments"]
    customer: str
    id: str = Field(pattern=ID_PATTERN)
    amount: int = Field(strict=True, le=10**12)  # the API's bound (the rest: the domain's)
    currency: str
    count: int = Field(strict=True)
    every: str
    description: str | None = Field(default=None, min_length=1, max_length=MAX_DESCRIPTION)

    def body(self) -> dict[str, Any]:
        """What POST /v1/customers/{customer}/installment-plans takes (start: now, `at`)."""
        return {
            "id": self.id,
            "amount": self.amount,
            "currency": self.currency,
            "count": self.count,
            "every": self.every,
            "description": self.description or self.id,
        }


def installment_problems(where: str, action: Installments, seen: set[str]) -> list[Problem]:
    """The domain's rules for a new plan, each broken one a problem on its field; `seen` holds
    the plan ids of earlier `installments` actions (an id is given once)."""
    problems: list[Problem] = []
    if action.id in seen:
        problems.append(
            Problem(
                f"{where}.id",
                f"installment plan {show(action.id)} is created twice; expected unique ids",
            )
        )
    seen.add(action.id)
    checks = (
        ("count", lambda: check_count(action.count)),
        ("every", lambda: parse_every(action.every)),
        ("currency", lambda: _currency(action.currency)),
    )
    count_ok = True
    for field, check in checks:
        try:
            check()
        except ValidationFailedError as exc:
            count_ok = count_ok and field != "count"
            problems.append(Problem(f"{where}.{field}", _words(exc)))
    if count_ok:
        try:
            step = _step(action.currency)
            split_amount(action.amount, action.count, step)
            check_whole_steps(action.amount, str(action.currency).upper(), step)
        except ValidationFailedError as exc:
            problems.append(Problem(f"{where}.amount", _words(exc)))
    return problems


def _step(currency: str) -> int:
    """The currency's charge step, or 1 for one the file gets wrong (reported on its own)."""
    try:
        return charge_step(currency)
    except UnknownCurrencyError:
        return 1


def _currency(value: str) -> None:
    try:
        charged_currency(value)
    except UnknownCurrencyError as exc:
        raise ValidationFailedError("currency", str(exc)) from exc


def _words(exc: ValidationFailedError) -> str:
    """The domain's message without its field prefix (the problem's path names the field)."""
    text = str(exc)
    prefix = f"{exc.field}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
