"""Reads Stripe objects as its API lists them and maps them to an ImportBatch.

Accepted: list responses (`{"object": "list", "data": [...]}`), single objects, and JSON
arrays of either, holding `customer`, `price` or `plan`, `product`, `subscription` and
`payment_method` objects; expanded fields (a subscription's `customer`, a price's
`product`, a default payment method) are read whether expanded or given as ids. What Tenure
cannot bill the same way Stripe would is refused with its reason (docs/import.md), never
approximated: a subscription imported here renews for the same amount, on the same day, on
the same saved payment method.
"""

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from tenure.domain.calendar import IntervalUnit
from tenure.domain.customers import (
    SUPPORTED_LOCALES,
    Customer,
    PaymentMethod,
    billing_details,
    valid_address,
    validate_timezone,
)
from tenure.domain.errors import DomainError, ValidationFailedError
from tenure.domain.ids import display_name_refusal, is_valid_id
from tenure.domain.imported import (
    CARD_NUMBER_REFUSAL,
    IMPORTED_FROM,
    CustomerEntry,
    Finding,
    ImportBatch,
    PlanEntry,
    SubscriptionTerms,
    TermsStatus,
    card_number_like,
)
from tenure.domain.money import (
    UnchargedCurrencyError,
    UnknownCurrencyError,
    charged_currency,
    from_stripe_amount,
    unchargeable,
)
from tenure.domain.plans import Plan, TaxBehavior

SOURCE = "stripe"
PROVIDER = "stripe"  # the provider whose ids (cus_, pm_) are kept for charging
KINDS = ("customer", "price", "plan", "product", "subscription", "payment_method")
_TAKEN = {"trialing": TermsStatus.TRIALING, "active": TermsStatus.ACTIVE}
_ENDED = ("canceled", "incomplete_expired")
Obj = Mapping[str, Any]


class UnreadableError(ValueError):
    """The input is not Stripe JSON at all (nothing of it can be read)."""


def parse_document(text: str, origin: str) -> list[tuple[str, Obj]]:
    """The objects of one JSON document, each with where it was found (`file#id`)."""
    try:
        found = json.loads(text.lstrip("\ufeff"))  # a BOM, as editors on Windows save one
    except json.JSONDecodeError as exc:
        raise UnreadableError(f"{origin}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    return list(_objects(found, origin))


def _objects(found: Any, origin: str) -> Iterable[tuple[str, Obj]]:
    if isinstance(found, list):
        for item in found:
            yield from _objects(item, origin)
    elif isinstance(found, Mapping) and found.get("object") == "list":
        data = found.get("data")
        if not isinstance(data, list):
            raise UnreadableError(f"{origin}: a list response without a `data` array")
        yield from _objects(data, origin)
    elif isinstance(found, Mapping) and isinstance(found.get("object"), str):
        yield f"{origin}#{found.get('id', '?')}", found
    else:
        raise UnreadableError(f"{origin}: neither a Stripe object nor a list of them")


def read_objects(objects: Iterable[tuple[str, Obj]], now: datetime) -> ImportBatch:
    """Map Stripe objects to a batch. `now` decides nothing but what is already over."""
    reader = _Reader(now)
    for origin, obj in objects:
        reader.take(origin, obj)
    return reader.batch()


class _Reader:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.findings: list[Finding] = []
        self.products: dict[str, str] = {}
        self.prices: dict[str, list[tuple[str, Obj]]] = {}
        self.customers: dict[str, list[tuple[str, Obj]]] = {}
        self.subscriptions: dict[str, list[tuple[str, Obj]]] = {}
        self.methods: dict[str, list[tuple[str, Obj]]] = {}

    def take(self, origin: str, obj: Obj) -> None:
        kind, object_id = obj.get("object"), obj.get("id")
        if kind not in KINDS:
            self._note(origin, str(kind), str(object_id), "Tenure does not import this object")
            return
        if obj.get("deleted") is True:
            self._note(origin, str(kind), str(object_id), "deleted in Stripe")
            return
        if not isinstance(object_id, str) or not is_valid_id(object_id):
            self._refuse(origin, str(kind), str(object_id), "its id is missing or not an id")
            return
        if kind == "product":
            if isinstance(obj.get("name"), str):
                self.products[object_id] = obj["name"]
            return
        table = {
            "price": self.prices,
            "plan": self.prices,  # a plan is a price's older face, under the same id
            "customer": self.customers,
            "subscription": self.subscriptions,
            "payment_method": self.methods,
        }[kind]
        table.setdefault(object_id, []).append((origin, obj))
        if kind == "subscription":
            for item in _items(obj):
                price = item.get("price")
                if isinstance(price, Mapping) and isinstance(price.get("id"), str):
                    self.prices.setdefault(price["id"], []).append((origin, price))

    # -- mapping ----------------------------------------------------------------------------
    def batch(self) -> ImportBatch:
        batch = ImportBatch(SOURCE, findings=self.findings)
        plans = {pid: self._plan(pid, copies) for pid, copies in sorted(self.prices.items())}
        batch.plans = [p for p in plans.values() if p.plan is not None or p.problem]
        subs_of: dict[str, list[tuple[str, list[tuple[str, Obj]]]]] = {}
        for sub_id, copies in sorted(self.subscriptions.items()):
            origin, sub = copies[0]
            owner = _id_of(sub.get("customer"))
            if owner is None:
                self._refuse(origin, "subscription", sub_id, "it names no customer")
            elif owner not in self.customers:
                self._refuse(
                    origin,
                    "subscription",
                    sub_id,
                    f"its customer {owner} is not in the input: import a customer with its "
                    "subscriptions, in one run",
                )
            else:
                subs_of.setdefault(owner, []).append((sub_id, copies))
        methods_of: dict[str, list[tuple[str, list[tuple[str, Obj]]]]] = {}
        for pm_id, copies in sorted(self.methods.items()):
            owner = _id_of(copies[0][1].get("customer"))
            if owner is not None and owner in self.customers:
                methods_of.setdefault(owner, []).append((pm_id, copies))
            else:
                why = f"its customer {owner} is not in the input" if owner else "no customer"
                self._note(copies[0][0], "payment_method", pm_id, f"not imported: {why}")
        for cus_id, copies in sorted(self.customers.items()):
            batch.customers.append(
                self._customer(
                    cus_id, copies, subs_of.get(cus_id, []), methods_of.get(cus_id, []), plans
                )
            )
        return batch

    def _plan(self, price_id: str, copies: list[tuple[str, Obj]]) -> PlanEntry:
        origin = copies[0][0]
        try:
            mapped = {_plan_of(obj, self.products) for _, obj in copies}
        except _Refused as exc:
            return PlanEntry(id=price_id, origin=origin, problem=str(exc))
        if len(mapped) > 1:
            return PlanEntry(
                id=price_id,
                origin=origin,
                problem=f"it appears {len(copies)} times with different terms",
            )
        return PlanEntry(id=price_id, origin=origin, plan=mapped.pop())

    def _customer(
        self,
        cus_id: str,
        copies: list[tuple[str, Obj]],
        subs: list[tuple[str, list[tuple[str, Obj]]]],
        methods: list[tuple[str, list[tuple[str, Obj]]]],
        plans: dict[str, PlanEntry],
    ) -> CustomerEntry:
        origin, obj = copies[0]
        problems: list[str] = []
        if any(_differs(other, obj) for _, other in copies[1:]):
            problems.append(f"customer {cus_id} appears {len(copies)} times with different data")
        name = str(obj.get("name") or "")
        why = display_name_refusal(name)  # the API's rule for a customer's name
        if why:
            problems.append(f"its name {why}")
        customer = Customer(
            id=cus_id,
            email=obj.get("email") or "",
            name=name,
            created_at=_time(obj.get("created")) or self.now,
            provider_customer_id=cus_id,
            metadata={IMPORTED_FROM: SOURCE},
        )
        # The customer keeps the deployment's default provider (a Stripe deployment's), which
        # holds the cus_/pm_ ids kept above: `provider` stays unset.
        problems.extend(_billing(customer, obj))
        problems.extend(_contact(customer, obj))
        problems.extend(_money_left_in_stripe(obj))
        entry = CustomerEntry(
            customer=customer, origin=origin, provider=PROVIDER, problems=problems
        )
        default = _id_of(_get(obj, "invoice_settings", "default_payment_method")) or _id_of(
            obj.get("default_source")
        )
        for pm_id, pm_copies in methods:
            entry.payment_methods.append(_method(pm_id, cus_id, pm_copies[0][1], customer))
        for sub_id, sub_copies in subs:
            sub_origin, sub = sub_copies[0]
            if any(_differs(other, sub) for _, other in sub_copies[1:]):
                problems.append(f"subscription {sub_id} appears {len(sub_copies)} times")
                continue
            status = sub.get("status")
            if status in _ENDED:
                self._note(sub_origin, "subscription", sub_id, f"{status} in Stripe: ended")
                continue
            try:
                terms = _terms(sub_id, cus_id, sub, plans, sub_origin)
            except _Refused as exc:
                problems.append(f"subscription {sub_id}: {exc}")
                continue
            own = _id_of(sub.get("default_payment_method"))
            if own is not None and default is None:
                default = own
            elif own is not None and own != default:
                problems.append(
                    f"subscription {sub_id} charges {own}, not the customer's default {default}: "
                    "Tenure charges a customer's subscriptions on one default method"
                )
            entry.subscriptions.append(terms)
        if default is not None and card_number_like(default):
            problems.append(CARD_NUMBER_REFUSAL)
            default = None
        if default is not None:
            customer.default_payment_method = default
            if not any(pm.id == default for pm in entry.payment_methods):
                entry.payment_methods.append(
                    PaymentMethod(default, cus_id, PROVIDER, customer.created_at)
                )
        return entry

    def _note(self, origin: str, kind: str, object_id: str, reason: str) -> None:
        self.findings.append(Finding(origin, kind, object_id, reason, refused=False))

    def _refuse(self, origin: str, kind: str, object_id: str, reason: str) -> None:
        self.findings.append(Finding(origin, kind, object_id, reason, refused=True))


class _Refused(ValueError):
    pass


def _plan_of(obj: Obj, products: Mapping[str, str]) -> Plan:
    """A Stripe price (or legacy plan) as a Tenure plan, or _Refused."""
    price_id = str(obj["id"])
    if obj.get("object") == "plan":
        recurring: Obj = {
            "interval": obj.get("interval"),
            "interval_count": obj.get("interval_count"),
            "usage_type": obj.get("usage_type"),
            "trial_period_days": obj.get("trial_period_days"),
        }
        amount, transform = obj.get("amount"), obj.get("transform_usage")
    else:
        if obj.get("type") != "recurring" or not isinstance(obj.get("recurring"), Mapping):
            raise _Refused("it is a one-time price, not a recurring one")
        recurring, amount = obj["recurring"], obj.get("unit_amount")
        transform = obj.get("transform_quantity")
        custom = obj.get("custom_unit_amount")
        if isinstance(custom, Mapping) and any(v is not None for v in custom.values()):
            raise _Refused("it lets the customer choose the amount (custom_unit_amount)")
    if obj.get("billing_scheme", "per_unit") != "per_unit" or obj.get("tiers_mode"):
        raise _Refused("it is tiered: Tenure imports per-unit prices only")
    if recurring.get("usage_type", "licensed") != "licensed":
        raise _Refused("it is metered: Tenure bills licensed prices only")
    if transform:
        raise _Refused("it transforms quantities (divide_by): Tenure bills whole units")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise _Refused("it has no whole unit amount")
    currency = obj.get("currency")
    try:
        money = from_stripe_amount(amount, charged_currency(str(currency)))
    except UnchargedCurrencyError as exc:  # as the API refuses a plan in it
        raise _Refused(str(exc)) from exc
    except UnknownCurrencyError as exc:
        raise _Refused(f"unknown currency {currency!r}") from exc
    except ValueError as exc:
        raise _Refused(str(exc)) from exc
    why = unchargeable(money.amount_minor, money.currency)
    if why:  # as the API refuses such a plan: every renewal of it would be declined
        raise _Refused(why)
    try:
        unit = IntervalUnit(str(recurring.get("interval")))
    except ValueError as exc:
        raise _Refused(f"unknown interval {recurring.get('interval')!r}") from exc
    count = recurring.get("interval_count")
    count = 1 if count is None else count
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 365:
        raise _Refused(f"its interval count {count!r} is not a whole number from 1 to 365")
    trial = recurring.get("trial_period_days") or 0
    product = obj.get("product")
    name = str(
        (
            product.get("name")
            if isinstance(product, Mapping)
            else products.get(str(product)) or obj.get("nickname")
        )
        or ""
    )
    why = display_name_refusal(name)  # the API's rule for a plan's name, never cut short
    if why:
        raise _Refused(f"its name (the product's, else the nickname) {why}")
    return Plan(
        id=price_id,
        name=name,
        amount=money.amount_minor,
        currency=money.currency,
        interval=unit,
        interval_count=count,
        trial_days=trial if isinstance(trial, int) and 0 <= trial <= 730 else 0,
        tax_behavior=TaxBehavior.INCLUSIVE
        if obj.get("tax_behavior") == "inclusive"
        else TaxBehavior.EXCLUSIVE,
    )


def _terms(
    sub_id: str, cus_id: str, sub: Obj, plans: Mapping[str, PlanEntry], origin: str
) -> SubscriptionTerms:
    status = sub.get("status")
    paused = sub.get("pause_collection")
    if status == "paused":
        taken = TermsStatus.PAUSED  # a trial that ended without a payment method
    elif status in _TAKEN:
        taken = TermsStatus.PAUSED if isinstance(paused, Mapping) else _TAKEN[status]
    else:
        raise _Refused(
            f"it is {status}: only trialing, active and paused subscriptions are imported "
            "(settle its open invoice in Stripe first)"
        )
    if taken is TermsStatus.PAUSED and status == "trialing":
        raise _Refused("its trial's collection is paused: Tenure pauses paid periods only")
    if sub.get("collection_method", "charge_automatically") != "charge_automatically":
        raise _Refused("it is billed by sending invoices; Tenure charges saved methods only")
    if sub.get("discounts") or sub.get("discount"):
        raise _Refused("it has a discount: coupons are not imported (docs/import.md)")
    items = _items(sub)
    if len(items) != 1:
        raise _Refused(f"it has {len(items)} items: Tenure imports one price per subscription")
    item = items[0]
    if item.get("discounts") or item.get("discount"):
        # A coupon on the item (Stripe's items.data[].discounts) discounts the same renewals.
        raise _Refused("its item has a discount: coupons are not imported (docs/import.md)")
    quantity = item.get("quantity", 1)
    if quantity not in (1, None):
        raise _Refused(f"its quantity is {quantity}: Tenure imports one unit per subscription")
    if sub.get("default_tax_rates") or item.get("tax_rates"):
        raise _Refused("it has tax rates: set the tax on the plan, then import it")
    price_id = _id_of(item.get("price")) or _id_of(item.get("plan"))
    entry = plans.get(price_id or "")
    if entry is None or entry.plan is None:
        why = entry.problem if entry is not None else "not in the input"
        raise _Refused(f"its price {price_id} cannot be imported ({why})")
    if str(sub.get("currency", entry.plan.currency)).upper() != entry.plan.currency:
        raise _Refused(f"its currency {sub.get('currency')} is not its price's")
    start = _time(item.get("current_period_start") or sub.get("current_period_start"))
    end = _time(item.get("current_period_end") or sub.get("current_period_end"))
    anchor = _time(sub.get("billing_cycle_anchor"))
    created = _time(sub.get("created")) or _time(sub.get("start_date"))
    if start is None or end is None or anchor is None or created is None:
        raise _Refused("it lacks its current period, billing cycle anchor or creation time")
    cancel_at = _time(sub.get("cancel_at"))
    if cancel_at is not None and cancel_at != end:
        raise _Refused("it cancels on a date other than its period end (cancel_at)")
    resumes = _time(paused.get("resumes_at")) if isinstance(paused, Mapping) else None
    return SubscriptionTerms(
        id=sub_id,
        customer_id=cus_id,
        plan_id=entry.plan.id,
        status=taken,
        created_at=created,
        anchor=anchor,
        current_period_start=start,
        current_period_end=end,
        trial_end=_time(sub.get("trial_end")) if taken is TermsStatus.TRIALING else None,
        cancel_at_period_end=sub.get("cancel_at_period_end") is True or cancel_at is not None,
        paused_until=resumes,
        origin=origin,
    )


def _contact(customer: Customer, obj: Obj) -> list[str]:
    problems = []
    if not valid_address(customer.email):
        problems.append(
            f"its email {customer.email!r} is not an address Tenure can write to"
            if customer.email
            else "it has no email: Tenure writes to every customer"
        )
    for wanted in obj.get("preferred_locales") or []:
        language = str(wanted).split("-")[0].lower()
        if language in SUPPORTED_LOCALES:
            customer.locale = language
            break
    zone = (obj.get("metadata") or {}).get("timezone")
    if zone:
        try:
            customer.timezone = validate_timezone(str(zone))
        except DomainError as exc:
            problems.append(f"its metadata.timezone: {exc}")
    return problems


def _money_left_in_stripe(obj: Obj) -> list[str]:
    """Money Stripe holds for the customer that Tenure would not apply."""
    problems = []
    balance = obj.get("balance")
    if isinstance(balance, int) and balance != 0:
        problems.append(f"its Stripe balance is {balance}: settle it in Stripe first")
    discount = obj.get("discount")
    if isinstance(discount, Mapping) and (
        discount.get("coupon") or _get(discount, "source", "coupon")
    ):
        problems.append("it has a coupon: coupons are not imported (docs/import.md)")
    return problems


def _method(pm_id: str, cus_id: str, obj: Obj, customer: Customer) -> PaymentMethod:
    card = obj.get("card") if isinstance(obj.get("card"), Mapping) else {}
    method = PaymentMethod(
        pm_id, cus_id, PROVIDER, _time(obj.get("created")) or customer.created_at
    )
    if card:
        method.brand = card.get("brand") if isinstance(card.get("brand"), str) else None
        method.last4 = card.get("last4") if isinstance(card.get("last4"), str) else None
        method.exp_month = card.get("exp_month") if isinstance(card.get("exp_month"), int) else None
        method.exp_year = card.get("exp_year") if isinstance(card.get("exp_year"), int) else None
    return method


def _items(sub: Obj) -> list[Obj]:
    items = sub.get("items")
    data = items.get("data") if isinstance(items, Mapping) else None
    return [i for i in data if isinstance(i, Mapping)] if isinstance(data, list) else []


def _id_of(value: Any) -> str | None:
    """An id given as itself or as the expanded object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _get(obj: Obj, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)  # type: ignore[assignment]
    return obj


def _time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return datetime.fromtimestamp(value, UTC)


def _differs(a: Obj, b: Obj) -> bool:
    return json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True)


def _billing(customer: Customer, obj: Obj) -> list[str]:
    """Stripe's postal address and first tax id as the buyer's details invoices print
    (docs/invoices.md); refused with the reason when they break the buyer rules."""
    found = obj.get("address")
    address: dict[str, Any] = found if isinstance(found, dict) else {}
    city_line = " ".join(
        str(part) for part in (address.get("postal_code"), address.get("city")) if part
    )
    lines = [address.get("line1"), address.get("line2"), city_line, address.get("state")]
    lines.append(address.get("country"))
    tax_ids = _get(obj, "tax_ids", "data")
    first_tax = tax_ids[0] if isinstance(tax_ids, list) and tax_ids else None
    tax_id = first_tax.get("value") if isinstance(first_tax, dict) else None
    try:
        customer.billing = billing_details(
            None, "\n".join(str(line) for line in lines if line) or None, tax_id
        )
    except ValidationFailedError as exc:
        return [f"customer {customer.id}: {exc}"]
    return []
