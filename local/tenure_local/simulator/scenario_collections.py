"""The scenario action `repayment_plan`: a customer in collections chooses a repayment plan
for their open case, as they would on the collections page (docs/collections.md). The
file's count and interval are checked against the default policy's bounds before anything
runs; the run then finds the customer's open case and chooses the plan through the API."""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from tenure.domain.collection_cases import CollectionsPolicy

DEFAULT_POLICY = CollectionsPolicy()


class RepaymentPlan(BaseModel):
    """Pay the customer's open collections case off in `count` instalments `every` week or
    two weeks, the first charged at `at`."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime
    do: Literal["repayment_plan"]
    customer: str
    count: int = Field(strict=True)
    every: Literal["week", "two_weeks"]

    @field_validator("count")
    @classmethod
    def _within_bounds(cls, count: int) -> int:
        low, high = DEFAULT_POLICY.min_count, DEFAULT_POLICY.max_count
        if not low <= count <= high:
            raise ValueError(f"must be an integer from {low} to {high}")
        return count

    def body(self) -> dict[str, object]:
        """What POST /v1/collection-cases/{id}/repayment-plan takes."""
        return {"count": self.count, "every": self.every}
