"""What seats and add-ons must be to be accepted: the API's and a scenario file's items.

A pydantic model, so a refusal names its field; the rules that need the catalog (an add-on's
currency and interval) are tenure.domain.pricing's, checked by the service.
"""

from pydantic import BaseModel, ConfigDict, Field

from tenure.domain.ids import ID_PATTERN
from tenure.domain.pricing import MAX_QUANTITY, Item


class AddonSpec(BaseModel):
    """One add-on of a subscription: a catalog entry of kind `addon`, and how many."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="AddonItem")

    price: str = Field(pattern=ID_PATTERN, max_length=64, description="the add-on's id")
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY, strict=True)

    def to_item(self) -> Item:
        return Item(self.price, self.quantity)


def to_addons(specs: list[AddonSpec] | None) -> tuple[Item, ...] | None:
    return None if specs is None else tuple(s.to_item() for s in specs)
