"""What a stored item leaves out because it reads back the same without it: a null, or a
value equal to what codec's decoder gives an absent attribute. DynamoDB bills a write per
started kilobyte (store/sizes.py), in the table and again in each index that holds the
item, so every byte of a renewal's items is paid several times over; ids of real length
(`sub_`, `cus_`, `pm_` and 24 characters) would otherwise push a notice past one unit.

Items written before this held every attribute; the decoders read both shapes. No key
attribute (PK, SK, GSI1*, Due*) is ever left out, and neither is an attribute a condition
or an update names (a subscription's `customer_id`, any item's `version`)."""

from typing import Any

# Each entity's attributes that read back as these when absent (codec's *_from_attrs).
SUBSCRIPTION_DEFAULTS: dict[str, Any] = {
    "cancel_at_period_end": False,
    "credit": 0,
    "mrr": 0,
    "timezone": "UTC",
    "cycle": 0,
    "periods_since_anchor": 0,
}
INVOICE_DEFAULTS: dict[str, Any] = {
    "credit_applied": 0,
    "attempts": 0,
    "failures": 0,
    "amount_refunded": 0,
    "refunded_total_seen": 0,
    "disputed": False,
    "metadata": {},
    "refunds": {},
}
CHARGE_DEFAULTS: dict[str, Any] = {"calls": 0}
NOTICE_DEFAULTS: dict[str, Any] = {"data": {}}
CONTACT_DEFAULTS: dict[str, Any] = {"name": "", "locale": "en", "timezone": "UTC"}


def compact(attrs: dict[str, Any], defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """`attrs` without its nulls and without the attributes equal to their `defaults`."""
    defaults = defaults or {}
    return {
        key: value
        for key, value in attrs.items()
        if value is not None and not (key in defaults and _same(value, defaults[key]))
    }


def _same(value: Any, default: Any) -> bool:
    # False == 0 in Python, yet a stored False is not a stored 0: types must match too.
    return type(value) is type(default) and value == default


def without_repeats(
    copy: dict[str, Any], holder: dict[str, Any], names: dict[str, str]
) -> dict[str, Any]:
    """A copy held inside an item without what the item says already: each attribute
    `name` of `names` whose value is the holder's `names[name]` (a notice's subscription
    copy repeats its `id` as the notice's `subscription_id`). `with_repeats` undoes it."""
    return {
        k: v
        for k, v in copy.items()
        if not (k in names and v is not None and v == holder.get(names[k]))
    }


def with_repeats(
    copy: dict[str, Any], holder: dict[str, Any], names: dict[str, str]
) -> dict[str, Any]:
    """The copy as it was before `without_repeats`: an attribute it lacks is the holder's.
    A copy of the old shape holds them all, and they win."""
    repeated = {k: holder[h] for k, h in names.items() if holder.get(h) is not None}
    return repeated | copy
