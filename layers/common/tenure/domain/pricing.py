"""What a subscription's items cost: seats of its plan, add-ons, per unit or graduated tiers.

A subscription holds items: its plan at a `quantity` (seats) and add-ons, each a catalog
entry of kind `addon` at its own quantity. Everything that prices a period (invoices, MRR,
prorations, a pause's credit) works from one `Plan`: `priced_plan` gives the subscription's
plan with `amount` set to what its items cost together and `items` listing them, so those
rules stay as they were. A plan at quantity 1 with no add-ons and no tiers is returned as is,
which keeps every invoice of such a subscription exactly as before items existed.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from tenure.domain.errors import ValidationFailedError
from tenure.domain.money import unchargeable
from tenure.domain.plans import Plan, PlanKind, PricedItem, Tier

MAX_QUANTITY = 10_000
MAX_ADDONS = 20


@dataclass(frozen=True, slots=True)
class Item:
    """One add-on of a subscription: the catalog entry (`price`) and how many."""

    price: str
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class Items:
    """What a subscription is for besides its plan's id: seats and add-ons."""

    quantity: int = 1
    addons: tuple[Item, ...] = ()

    @property
    def plain(self) -> bool:
        """The plan alone at one seat: what every subscription was before items."""
        return self.quantity == 1 and not self.addons


PLAIN = Items()


def check_quantity(field: str, quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValidationFailedError(field, "must be a whole number")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailedError(field, f"must be between 1 and {MAX_QUANTITY}")


def check_tiers(tiers: Sequence[Tier], field: str = "tiers") -> None:
    """A graduated table covers every quantity once: bands in ascending order of `up_to`,
    each starting where the last ended (no gap, no overlap by construction), the last open."""
    if not tiers:
        return
    if len(tiers) > 20:
        raise ValidationFailedError(field, "at most 20 tiers")
    previous = 0
    for n, tier in enumerate(tiers):
        where = f"{field}[{n}]"
        if tier.unit_amount < 0 or tier.flat_amount < 0:
            raise ValidationFailedError(where, "amounts must not be negative")
        last = n == len(tiers) - 1
        if tier.up_to is None:
            if not last:
                raise ValidationFailedError(f"{where}.up_to", "only the last tier is open (null)")
            continue
        if last:
            raise ValidationFailedError(f"{where}.up_to", "the last tier must be open (null)")
        if tier.up_to <= previous:
            raise ValidationFailedError(
                f"{where}.up_to",
                f"must be above the previous tier's {previous}: tiers ascend without overlap",
            )
        previous = tier.up_to


def check_chargeable(amount: int, tiers: Sequence[Tier], currency: str) -> None:
    """Refuse (ValidationFailedError naming the field and the nearest amounts) a price that
    could never be charged in `currency`: in a three-decimal currency (KWD, BHD, JOD, OMR,
    TND) Stripe takes only amounts ending in 0, so a plan at KWD 1.001, or a seat at 2.125,
    would make invoices declined at every try. Tax, proration and percentage shares are
    rounded to that step where they are computed (money.round_to_step)."""
    why = unchargeable(amount, currency)
    if why:
        raise ValidationFailedError("amount", why)
    for n, tier in enumerate(tiers):
        for name in ("unit_amount", "flat_amount"):
            why = unchargeable(getattr(tier, name), currency)
            if why:
                raise ValidationFailedError(f"tiers[{n}].{name}", why)


def graduated_amount(tiers: Sequence[Tier], quantity: int) -> int:
    """Each unit at the price of the band it falls in (Stripe's `graduated` mode): units
    1..up_to of the first band, the next ones at the second band's price, and so on."""
    total, below = 0, 0
    for tier in tiers:
        if quantity <= below:
            break
        top = quantity if tier.up_to is None else min(quantity, tier.up_to)
        total += (top - below) * tier.unit_amount + tier.flat_amount
        below = top
    return total


def item_amount(price: Plan, quantity: int) -> int:
    """What `quantity` units of a plan or add-on cost for one period."""
    if price.tiers:
        return graduated_amount(price.tiers, quantity)
    return price.amount * quantity


def check_addon(plan: Plan, addon: Plan, field: str) -> None:
    """An add-on is bought with a plan: its own kind, the plan's currency and interval."""
    if addon.kind is not PlanKind.ADDON:
        raise ValidationFailedError(field, f"{addon.id} is a plan, not an add-on")
    if addon.currency != plan.currency:
        raise ValidationFailedError(
            field, f"add-on currency {addon.currency} differs from the plan's {plan.currency}"
        )
    if addon.billing_interval != plan.billing_interval:
        raise ValidationFailedError(field, f"add-on {addon.id} bills on another interval")


def check_items(plan: Plan, items: Items, catalog: Mapping[str, Plan]) -> None:
    """Refuses items a subscription to `plan` cannot hold (ValidationFailedError)."""
    if plan.kind is not PlanKind.PLAN:
        raise ValidationFailedError("plan", f"{plan.id} is an add-on: subscribe to a plan")
    check_quantity("quantity", items.quantity)
    if len(items.addons) > MAX_ADDONS:
        raise ValidationFailedError("addons", f"at most {MAX_ADDONS} add-ons")
    seen: set[str] = set()
    for n, item in enumerate(items.addons):
        check_quantity(f"addons[{n}].quantity", item.quantity)
        if item.price in seen:
            raise ValidationFailedError(f"addons[{n}].price", f"{item.price} is listed twice")
        seen.add(item.price)
        check_addon(plan, catalog[item.price], f"addons[{n}].price")


def items_amount(plan: Plan, items: Items, catalog: Mapping[str, Plan]) -> int:
    """What the items cost together for one full period, before any discount or tax."""
    return sum(p.amount for p in _priced(plan, items, catalog))


def priced_plan(plan: Plan, items: Items, catalog: Mapping[str, Plan]) -> Plan:
    """`plan` as one subscription pays it: the amount of all its items, each itemized."""
    if items.plain and not plan.tiers:
        return plan
    priced = _priced(plan, items, catalog)
    return replace(plan, amount=sum(p.amount for p in priced), items=priced)


def _priced(plan: Plan, items: Items, catalog: Mapping[str, Plan]) -> tuple[PricedItem, ...]:
    entries: Iterable[tuple[Plan, int]] = [
        (plan, items.quantity),
        *((catalog[a.price], a.quantity) for a in items.addons),
    ]
    return tuple(
        PricedItem(
            name=price.name or price.id,
            quantity=quantity,
            unit_amount=None if price.tiers else price.amount,
            amount=item_amount(price, quantity),
        )
        for price, quantity in entries
    )
