"""The business's retention programs: one validated, versioned settings document.

Four programs, each off while its section is absent (or, for the lists, empty):
`tenure_discount` (a ladder of steps), `loyalty` (points earned on paid invoices),
`refunds` (the refund promise) and `save_offers` (what a leaving customer is offered).
`combine_discounts` says what happens when a coupon and the tenure discount both apply to
one invoice: the larger wins (the default), or both are taken (`stack`); the rule itself
is `tenure.domain.discounts.choose_discounts`.

Plain frozen dataclasses, like `Plan`: every function reads the programs, and defining
pydantic models costs a cold start more than a third of importing boto3. The document is
validated by its pydantic twin, `tenure.domain.programs_spec` (the API's `PUT /v1/programs`
body and a scenario file's `programs:` block are that shape, so a refusal names its field),
which `Programs.model_validate` and the dumps import only when they run. Stored as one
setting (`ProgramsSetting`) whose version moves by one on each write; a write names the
version it replaces, so of two writers that read the same version only one succeeds.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tenure.domain.calendar import Interval, IntervalUnit, add_intervals

if TYPE_CHECKING:
    from tenure.domain import programs_spec


@dataclass(frozen=True, slots=True)
class TenureStep:
    """From the first period that starts `after_months` of continuous paid time after
    continuity began, each period invoice is `percent_off` cheaper."""

    after_months: int
    percent_off: Decimal


@dataclass(frozen=True, slots=True)
class LoyaltyProgram:
    """`points_per_unit` points for each whole `unit_minor` paid (rounded down); a point
    redeems for `point_value_minor` off a later invoice."""

    points_per_unit: int
    unit_minor: int
    point_value_minor: int

    def points_for(self, paid_minor: int) -> int:
        """The points an invoice paid with `paid_minor` earns: whole units only."""
        if paid_minor <= 0:
            return 0
        return paid_minor // self.unit_minor * self.points_per_unit


class AfterWindow(StrEnum):
    PRORATED = "prorated"  # the unused share of the period, to the second
    NONE = "none"


@dataclass(frozen=True, slots=True)
class RefundPolicy:
    """A refund asked within `window_days` of a charge returns it in full; after that,
    `after_window` says what is returned."""

    window_days: int
    after_window: AfterWindow


class OfferKind(StrEnum):
    PAUSE = "pause"  # with `months`: 1 to 3
    COUPON = "coupon"  # with `coupon`: a coupon's id
    CHANGE_PLAN = "change_plan"  # with `plan`: a plan's id


_OFFER_FIELD = {
    OfferKind.PAUSE: "months",
    OfferKind.COUPON: "coupon",
    OfferKind.CHANGE_PLAN: "plan",
}


@dataclass(frozen=True, slots=True)
class SaveOffer:
    """One offer shown to a customer who is cancelling, instead of the cancellation."""

    id: str
    kind: OfferKind
    months: int | None = None
    coupon: str | None = None
    plan: str | None = None


class DiscountCombination(StrEnum):
    LARGER_WINS = "larger_wins"  # a coupon and the tenure discount: only the larger applies
    STACK = "stack"  # both apply, the invoice never going below zero


@dataclass(frozen=True, slots=True)
class Programs:
    """The retention programs document (docs/api.md, `PUT /v1/programs`), as validated."""

    tenure_discount: list[TenureStep] | None = None
    loyalty: LoyaltyProgram | None = None
    refunds: RefundPolicy | None = None
    save_offers: list[SaveOffer] | None = None
    combine_discounts: DiscountCombination = DiscountCombination.LARGER_WINS

    # Named as pydantic names them, so callers that validated or dumped the pydantic model
    # read the same; each goes through `programs_spec` (imported here: pydantic's cost).
    @classmethod
    def model_validate(cls, document: Any) -> "Programs":
        """The document validated (pydantic's ValidationError names a refused field)."""
        from tenure.domain.programs_spec import Programs as Spec

        return from_spec(Spec.model_validate(document))

    def spec(self) -> "programs_spec.Programs":
        from tenure.domain.programs_spec import Programs as Spec

        return Spec.model_validate(self, from_attributes=True)

    def model_dump(self, **options: Any) -> dict[str, Any]:
        return self.spec().model_dump(**options)

    def model_dump_json(self, **options: Any) -> str:
        return self.spec().model_dump_json(**options)

    @property
    def stacks_discounts(self) -> bool:
        return self.combine_discounts is DiscountCombination.STACK

    def tenure_step(
        self, continuity_start: datetime, paused_seconds: int, period_start: datetime
    ) -> TenureStep | None:
        """The step a period starting at `period_start` earns: the last one whose
        start + N months + the time spent paused is at or before it (None: none yet)."""
        earned = None
        for step in self.tenure_discount or []:
            if step_reached(step, continuity_start, paused_seconds) <= period_start:
                earned = step
        return earned

    def offer(self, offer_id: str) -> SaveOffer | None:
        return next((o for o in self.save_offers or [] if o.id == offer_id), None)


def from_spec(spec: "programs_spec.Programs") -> Programs:
    """The validated pydantic document as the dataclasses the rest of Tenure reads."""
    return programs_from_document(spec.model_dump(exclude_none=True))


def programs_from_json(text: str) -> Programs:
    """A stored document (written by `model_dump_json` after validation) read back without
    validating it again: a read is on every function's path, a write only on the API's."""
    return programs_from_document(json.loads(text))


def programs_from_document(doc: dict[str, Any]) -> Programs:
    steps, loyalty, refunds, offers = (
        doc.get(k) for k in ("tenure_discount", "loyalty", "refunds", "save_offers")
    )
    return Programs(
        tenure_discount=(
            [TenureStep(int(s["after_months"]), Decimal(str(s["percent_off"]))) for s in steps]
            if steps is not None
            else None
        ),
        loyalty=(
            LoyaltyProgram(
                int(loyalty["points_per_unit"]),
                int(loyalty["unit_minor"]),
                int(loyalty["point_value_minor"]),
            )
            if loyalty is not None
            else None
        ),
        refunds=(
            RefundPolicy(int(refunds["window_days"]), AfterWindow(refunds["after_window"]))
            if refunds is not None
            else None
        ),
        save_offers=(
            [
                SaveOffer(
                    str(o["id"]),
                    OfferKind(o["kind"]),
                    o.get("months"),
                    o.get("coupon"),
                    o.get("plan"),
                )
                for o in offers
            ]
            if offers is not None
            else None
        ),
        combine_discounts=DiscountCombination(
            doc.get("combine_discounts", DiscountCombination.LARGER_WINS)
        ),
    )


_MONTH = Interval(IntervalUnit.MONTH, 1)


def step_reached(step: TenureStep, continuity_start: datetime, paused_seconds: int) -> datetime:
    """When continuous paid time reaches a step: calendar months (month-end anchored, like
    billing periods) from when continuity began, pushed back by the time spent paused."""
    reached = add_intervals(continuity_start, _MONTH, step.after_months)
    return reached + timedelta(seconds=paused_seconds)


NO_PROGRAMS = Programs()


@dataclass(frozen=True, slots=True)
class ProgramsSetting:
    """The programs as stored: `version` counts the writes (0: never written, all off)."""

    programs: Programs
    version: int = 0
    updated_at: datetime | None = None
