"""The operator actions the console offers: what each asks for, how its confirmation step
words it, and which service runs it (the same ones as the API's routes, so the same audit
entries). The console itself (api_console.py) renders, checks and runs them."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

from tenure.domain.customers import Customer
from tenure.domain.errors import ValidationFailedError
from tenure.domain.invoices import Invoice, InvoiceStatus
from tenure.domain.money import exponent
from tenure.domain.subscription import Subscription
from tenure.notify import pages
from tenure.services import operator_actions as ops
from tenure.services import privacy, refunds
from tenure.services.context import Services

Target = Invoice | Subscription | Customer
Values = dict[str, str]

# What an action's form may hold besides its note: a field's name, its label, and whether it
# must be filled in.
FIELD_LABELS = {
    "amount": "Amount",
    "credit": "Credit change",
    "reason": "Reason (optional)",
    "reference": "Payment reference",
    "until": "New trial end (date, UTC)",
    "at": "New renewal date (date, UTC)",
}
FIELD_MAX = 200


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    required: bool
    kind: str = "text"  # "text", "money" (major units), "signed-money", "date"

    @property
    def label(self) -> str:
        return FIELD_LABELS[self.name]


@dataclass(frozen=True, slots=True)
class Done:
    """What an action did, as the console reports it."""

    text: str
    audit_id: str | None


@dataclass(frozen=True, slots=True)
class Action:
    name: str  # its path segment, as the API's route names it
    on: str  # "invoices" or "subscriptions"
    label: str
    fields: tuple[Field, ...]
    offered: Callable[[Target], bool]
    describe: Callable[[Target, Values], str]
    run: Callable[[Services, Target, Values, str, str], Done]
    # Whether only an `admin` token may take it (what the API's route asks), not `billing`.
    admin: bool = False


def money_of(amount: int, currency: str) -> str:
    return pages.money(amount, currency, "en")


def parse_money(text: str, currency: str, *, signed: bool) -> int:
    """Major units as an operator types them ("12.50", "-3") in minor units, exactly: more
    decimals than the currency has is refused, never rounded."""
    raw = text.strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationFailedError("amount", "must be a number such as 12.50") from None
    places = exponent(currency)
    minor = value * (10**places)
    if not raw.isascii() or not value.is_finite() or minor != minor.to_integral_value():
        raise ValidationFailedError("amount", f"must have at most {places} decimals in {currency}")
    if value == 0 or (value < 0 and not signed):
        raise ValidationFailedError("amount", "must be more than zero" if not signed else "not 0")
    if abs(minor) > 100_000_000:
        raise ValidationFailedError("amount", "is too large")
    return int(minor)


def parse_day(text: str, name: str) -> datetime:
    """A date field (YYYY-MM-DD, as a date input sends it): midnight UTC of that day."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailedError(name, "must be a date such as 2026-05-01") from None
    if len(text.strip()) != 10:
        raise ValidationFailedError(name, "must be a date such as 2026-05-01")
    return datetime.combine(day, time(0), UTC)


def day_of(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%d %b %Y %H:%M UTC") if moment else "—"


def _invoice(target: Target) -> Invoice:
    assert isinstance(target, Invoice)
    return target


def _subscription(target: Target) -> Subscription:
    assert isinstance(target, Subscription)
    return target


def _open(target: Target) -> bool:
    return isinstance(target, Invoice) and target.status is InvoiceStatus.OPEN


def _refundable(target: Target) -> bool:
    return (
        isinstance(target, Invoice)
        and target.status is InvoiceStatus.PAID
        and target.amount_refunded < target.total
    )


def _refund_amount(invoice: Invoice, values: Values) -> int | None:
    text = values.get("amount", "").strip()
    return parse_money(text, invoice.currency, signed=False) if text else None


def _describe_refund(target: Target, values: Values) -> str:
    invoice = _invoice(target)
    amount = _refund_amount(invoice, values)
    left = invoice.total - invoice.amount_refunded
    what = money_of(amount, invoice.currency) if amount is not None else "what the policy gives"
    return (
        f"Refund {what} of invoice {invoice.id} through the payment provider "
        f"(paid {money_of(invoice.total, invoice.currency)}, "
        f"{money_of(left, invoice.currency)} left to refund). The money goes back to the "
        "customer's card; this cannot be undone."
    )


def _run_refund(svc: Services, target: Target, values: Values, actor: str, note: str) -> Done:
    invoice = _invoice(target)
    made = refunds.refund_invoice(
        svc,
        invoice.id,
        amount=_refund_amount(invoice, values),
        reason=values.get("reason") or None,
        note=note,
        policy=refunds.configured_policy(svc),
        actor=actor,
    )
    # The refund's entry is committed with it; the timeline and the audit trail show it.
    return Done(f"Refunded {money_of(made.amount, made.currency)} ({made.id}).", None)


def _invoice_action(
    run: Callable[..., ops.Acted], text: str
) -> Callable[[Services, Target, Values, str, str], Done]:
    def act(svc: Services, target: Target, values: Values, actor: str, note: str) -> Done:
        done = run(svc, target.id, actor=actor, note=note)
        return Done(text.format(id=target.id), done.audit.id)

    return act


def _run_mark_paid(svc: Services, target: Target, values: Values, actor: str, note: str) -> Done:
    done = ops.mark_paid_out_of_band(
        svc, target.id, actor=actor, note=note, reference=values["reference"]
    )
    return Done(f"Invoice {target.id} is marked paid.", done.audit.id)


def _run_retry(svc: Services, target: Target, values: Values, actor: str, note: str) -> Done:
    done = ops.retry_now(svc, target.id, actor=actor, note=note)
    assert done.charge is not None
    return Done(
        f"Attempt {done.charge.attempt} of invoice {target.id}: {done.charge.status}.",
        done.audit.id,
    )


def _credit(target: Target, values: Values) -> int:
    sub = _subscription(target)
    return parse_money(values.get("credit", ""), sub.currency, signed=True)


def _describe_credit(target: Target, values: Values) -> str:
    sub = _subscription(target)
    change = _credit(target, values)
    verb = "Add" if change > 0 else "Take"
    return (
        f"{verb} {money_of(abs(change), sub.currency)} {'to' if change > 0 else 'from'} the "
        f"credit of subscription {sub.id} (now {money_of(sub.credit, sub.currency)}, then "
        f"{money_of(sub.credit + change, sub.currency)}); its next invoices use it."
    )


def _run_credit(svc: Services, target: Target, values: Values, actor: str, note: str) -> Done:
    done = ops.adjust_credit(svc, target.id, _credit(target, values), actor=actor, note=note)
    assert done.subscription is not None
    credit = money_of(done.subscription.credit, done.subscription.currency)
    return Done(f"The credit of subscription {target.id} is now {credit}.", done.audit.id)


def _describe_trial(target: Target, values: Values) -> str:
    sub = _subscription(target)
    until = parse_day(values.get("until", ""), "until")
    return (
        f"End the trial of subscription {sub.id} on {day_of(until)} instead of "
        f"{day_of(sub.trial_end)}; the first charge moves with it."
    )


def _run_trial(svc: Services, target: Target, values: Values, actor: str, note: str) -> Done:
    until = parse_day(values.get("until", ""), "until")
    done = ops.extend_trial(svc, target.id, until, actor=actor, note=note)
    return Done(f"The trial of subscription {target.id} now ends {day_of(until)}.", done.audit.id)


def _describe_renewal(target: Target, values: Values) -> str:
    sub = _subscription(target)
    at = parse_day(values.get("at", ""), "at")
    return (
        f"Renew subscription {sub.id} on {day_of(at)} instead of "
        f"{day_of(sub.current_period_end)}; later periods follow from that day."
    )


def _run_renewal(svc: Services, target: Target, values: Values, actor: str, note: str) -> Done:
    at = parse_day(values.get("at", ""), "at")
    done = ops.change_renewal_date(svc, target.id, at, actor=actor, note=note)
    return Done(f"Subscription {target.id} now renews {day_of(at)}.", done.audit.id)


def _run_cancel(svc: Services, target: Target, values: Values, actor: str, note: str) -> Done:
    reason = values.get("reason") or None
    done = ops.cancel_now(svc, target.id, actor=actor, note=note, reason=reason)
    return Done(f"Subscription {target.id} is canceled.", done.audit.id)


def owner_of(target: Target) -> str:
    """The customer whose page an action on `target` returns to."""
    return target.id if isinstance(target, Customer) else target.customer_id


def _erasable(target: Target) -> bool:
    return isinstance(target, Customer) and target.erased_at is None


def _describe_erase(target: Target, values: Values) -> str:
    return (
        f"Erase the personal data of customer {target.id}: their name, email, billing "
        "details, their own words and operators' notes, in every record Tenure holds, "
        "replaced by a pseudonym; emails still owed to them are dropped, and their record at "
        "the payment provider is erased too. What issued invoices were made out to moves to "
        "the legal hold. Invoices keep their totals. This cannot be undone. Refused while a "
        "subscription or installment plan is live: cancel it first."
    )


def _run_erase(svc: Services, target: Target, values: Values, actor: str, note: str) -> Done:
    done = privacy.erase_customer(svc, target.id, actor=actor, note=note)
    if done.audit is None:
        return Done(f"Customer {target.id} was already erased.", None)
    held = " Their invoices' buyer details are in the legal hold." if done.legal_hold else ""
    return Done(f"Customer {target.id} is erased.{held}", done.audit.id)


def _active(target: Target) -> bool:
    return isinstance(target, Subscription) and target.canceled_at is None


def _trialing(target: Target) -> bool:
    return isinstance(target, Subscription) and target.trial_end is not None and _active(target)


ACTIONS: dict[tuple[str, str], Action] = {
    (a.on, a.name): a
    for a in (
        Action(
            "refund",
            "invoices",
            "Refund",
            (Field("amount", False, "money"), Field("reason", False)),
            _refundable,
            _describe_refund,
            _run_refund,
        ),
        Action(
            "void",
            "invoices",
            "Void",
            (),
            _open,
            lambda t, v: f"Void invoice {t.id}: nobody owes it any more and it is never charged.",
            _invoice_action(ops.void_invoice, "Invoice {id} is void."),
        ),
        Action(
            "write-off",
            "invoices",
            "Write off",
            (),
            _open,
            lambda t, v: (
                f"Write off invoice {t.id} as uncollectible: its dunning stops, the debt stays "
                "on record."
            ),
            _invoice_action(ops.write_off_invoice, "Invoice {id} is written off."),
        ),
        Action(
            "mark-paid",
            "invoices",
            "Mark paid",
            (Field("reference", True),),
            _open,
            lambda t, v: (
                f"Record that invoice {t.id} was paid outside the payment provider "
                f"(reference {v.get('reference', '').strip()!r}); nothing is charged."
            ),
            _run_mark_paid,
        ),
        Action(
            "retry",
            "invoices",
            "Retry now",
            (),
            _open,
            lambda t, v: f"Charge invoice {t.id} now, once, with the payment method on file.",
            _run_retry,
        ),
        Action(
            "credit",
            "subscriptions",
            "Adjust credit",
            (Field("credit", True, "signed-money"),),
            _active,
            _describe_credit,
            _run_credit,
        ),
        Action(
            "extend-trial",
            "subscriptions",
            "Extend trial",
            (Field("until", True, "date"),),
            _trialing,
            _describe_trial,
            _run_trial,
        ),
        Action(
            "renewal-date",
            "subscriptions",
            "Change renewal date",
            (Field("at", True, "date"),),
            _active,
            _describe_renewal,
            _run_renewal,
        ),
        Action(
            "cancel-now",
            "subscriptions",
            "Cancel now",
            (Field("reason", False),),
            _active,
            lambda t, v: (
                f"Cancel subscription {t.id} now. No refund is made: refund its invoices "
                "separately if one is owed."
            ),
            _run_cancel,
        ),
        Action(
            "erase",
            "customers",
            "Erase customer",
            (),
            _erasable,
            _describe_erase,
            _run_erase,
            admin=True,
        ),
    )
}


def values_of(action: Action, form: dict[str, str]) -> Values:
    """The action's fields as the form sent them; a required one empty, or any too long or
    holding control characters, is refused (ValidationFailedError) before anything runs."""
    values: Values = {}
    for field in action.fields:
        text = form.get(field.name, "")
        if len(text) > FIELD_MAX or not text.isprintable():
            raise ValidationFailedError(field.name, f"must be 1-{FIELD_MAX} printable characters")
        if field.required and not text.strip():
            raise ValidationFailedError(field.name, f"{field.label} is required")
        values[field.name] = text
    return values
