"""A scenario's customers who pay on a mandate (provider: razorpay) are billed in the
mandate's currency only, as the API refuses otherwise: a `subscribe` to a plan in another
currency, or `installments` in another currency, is refused at load on its field. Their
cards are tokens at Razorpay, which the default provider's card updater never touches: a
`card_auto_updated` of such a customer is refused at load too."""

from typing import Any

from tenure.domain.mandates import on_mandate, other_currency
from tenure_local.simulator.scenario_problems import Problem, show


def mandate_currency_problems(raw: dict[str, Any], actions: list[tuple[int, Any]]) -> list[Problem]:
    """`actions`: (index in the file, validated action) pairs."""
    providers: dict[str, str] = {}
    currencies: dict[str, str] = {}
    for kind, into, key in (
        ("customers", providers, "provider"),
        ("plans", currencies, "currency"),
    ):
        items = raw.get(kind)
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                into[item["id"]] = str(item.get(key) or "").upper()
    problems: list[Problem] = []
    for n, action in actions:
        customer = getattr(action, "customer", None)
        provider = providers.get(customer or "", "").lower()
        if not on_mandate(provider):
            continue
        do = getattr(action, "do", None)
        if do == "subscribe":
            field, currency = "plan", currencies.get(action.plan, "")
        elif do == "installments":
            field, currency = "currency", str(action.currency).upper()
        elif do == "card_auto_updated":
            problems.append(Problem(f"actions[{n}].customer", _not_updated(str(customer))))
            continue
        else:
            continue
        why = other_currency(provider, currency, field, f"customer {show(customer)}")
        if currency and why:
            problems.append(Problem(f"actions[{n}].{field}", why))
    return problems


def _not_updated(customer: str) -> str:
    return (
        f"customer {show(customer)} pays through Razorpay, whose tokens the card network's "
        "updater of the default provider (`card_auto_updated`) does not reach; expected a "
        "customer of the default provider"
    )
