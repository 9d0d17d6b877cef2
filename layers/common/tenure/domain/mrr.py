"""Retention metrics math: MRR movements, daily snapshots, monthly rates and cohorts. Pure.

Each ledger entry is committed with its customer's facts (`CustomerMrr.record`: the
customer's MRR before and after it, whether the customer had paid before, the signup
cohort), so a day is aggregated from the previous day's snapshot and the day's ledger
entries alone (see `aggregate_day`): its cost follows the day's changes, never the number
of customers. Months, cohorts and rates are then rolled up from daily snapshots alone (see
`rollup`). Definitions: docs/metrics.md.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from tenure.domain.events import CustomerFacts, EventType, MrrLedgerEntry
from tenure.domain.money import round_half_up

SNAPSHOT_SCHEMA = 1
TRAILING_MONTHS = 6  # CLV's churn rate is the trailing six months' (ChartMogul's choice)
NEW, EXPANSION, CONTRACTION, CHURN, REACTIVATION = (
    "new",
    "expansion",
    "contraction",
    "churned",
    "reactivation",
)
MOVEMENTS = (NEW, EXPANSION, CONTRACTION, CHURN, REACTIVATION)
# Cancel reasons that mean the customer did not choose to leave (Stripe's vocabulary).
INVOLUNTARY_REASONS = frozenset({"payment_failed", "incomplete_expired"})


def day_key(day: date) -> str:
    return day.isoformat()


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# -- customers --------------------------------------------------------------------------------
@dataclass(slots=True)
class CustomerMrr:
    """One customer's MRR, per currency, kept by the store beside the customer and updated
    in the same transaction as every ledger entry (`record`).

    `subs`: the monthly value of each earning subscription (zeros are dropped);
    `since`: the month of the customer's first-ever MRR (the signup cohort);
    `month`/`at_month_start`: the last month the customer changed in, and whether the
    customer was paying when that month began (for the retention rate);
    `seq`: how many ledger entries the customer has had (orders them)."""

    subs: dict[str, dict[str, int]] = field(default_factory=dict)
    since: dict[str, str] = field(default_factory=dict)
    month: dict[str, str] = field(default_factory=dict)
    at_month_start: dict[str, bool] = field(default_factory=dict)
    seq: int = 0

    def total(self, currency: str) -> int:
        return sum(self.subs.get(currency, {}).values())

    def record(self, entry: MrrLedgerEntry) -> MrrLedgerEntry:
        """Apply one ledger entry and return it stamped with the customer's facts."""
        currency, month = entry.currency, month_key(entry.at.date())
        before = self.total(currency)
        paid_before = currency in self.since
        if self.month.get(currency) != month:
            self.month[currency] = month
            self.at_month_start[currency] = before > 0
        subs = self.subs.setdefault(currency, {})
        if entry.after:
            subs[entry.subscription_id] = entry.after
        else:
            subs.pop(entry.subscription_id, None)
        after = self.total(currency)
        if after > 0 and not paid_before:
            self.since[currency] = month
        self.seq += 1
        facts = CustomerFacts(
            self.seq,
            before,
            after,
            paid_before,
            self.since.get(currency),
            self.at_month_start[currency],
        )
        return replace(entry, customer=facts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "subs": {c: dict(s) for c, s in self.subs.items() if s},
            "since": dict(self.since),
            "month": dict(self.month),
            "at_month_start": dict(self.at_month_start),
            "seq": self.seq,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "CustomerMrr":
        data = data or {}
        return cls(
            subs={
                c: {s: int(v) for s, v in subs.items()} for c, subs in data.get("subs", {}).items()
            },
            since=dict(data.get("since", {})),
            month=dict(data.get("month", {})),
            at_month_start={c: bool(v) for c, v in data.get("at_month_start", {}).items()},
            seq=int(data.get("seq", 0)),
        )


def record_entries(
    entries: Sequence[MrrLedgerEntry], customers: dict[str, CustomerMrr]
) -> list[MrrLedgerEntry]:
    """Stamp entries in order with their customers' facts, updating `customers` (the
    customers' states before the entries; a customer missing has never had MRR)."""
    return [customers.setdefault(e.customer_id, CustomerMrr()).record(e) for e in entries]


@dataclass(frozen=True, slots=True)
class Movement:
    kind: str
    amount: int  # a positive magnitude in minor units


def classify(before: int, after: int, was_customer: bool) -> Movement | None:
    """One customer's MRR went from `before` to `after` (ChartMogul's five movements)."""
    if before == after:
        return None
    if before == 0:
        return Movement(REACTIVATION if was_customer else NEW, after)
    if after == 0:
        return Movement(CHURN, before)
    if after > before:
        return Movement(EXPANSION, after - before)
    return Movement(CONTRACTION, before - after)


@dataclass(frozen=True, slots=True)
class Cancellation:
    """Why a subscription ended, from its SubscriptionCanceled event."""

    reason: str | None
    voluntary: bool


def churn_cause(entry: MrrLedgerEntry, cancellations: dict[str, Cancellation]) -> tuple[str, bool]:
    """The exit reason and whether leaving was the customer's choice."""
    if entry.reason == EventType.SUBSCRIPTION_CANCELED:
        found = cancellations.get(entry.subscription_id)
        if found is None:
            return "unspecified", True
        reason = found.reason or "unspecified"
        return reason, found.voluntary and reason not in INVOLUNTARY_REASONS
    if entry.reason == EventType.SUBSCRIPTION_UNPAID:
        return "payment_failed", False  # dunning ran out: the debt stays, the MRR goes
    if entry.reason == EventType.SUBSCRIPTION_PAUSED:
        return "paused", True
    return "other", True


# -- payments -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """One invoice's payment news of the day, as the aggregator counts it."""

    invoice_id: str
    currency: str
    first_attempt: bool  # the outcome of the invoice's first attempt
    paid: bool
    revenue: int = 0  # paid amount net of tax, minor units (paid outcomes only)
    recovered_from: str | None = None  # paid after its first attempt failed on this day
    coupon_discount: int = 0  # what its coupon lines took off, minor units (paid outcomes)
    tenure_discount: int = 0  # what its tenure discount line took off (paid outcomes)
    installment: bool = False  # an instalment of an installment plan, not a period's invoice


@dataclass(frozen=True, slots=True)
class PointsFlow:
    """Loyalty points that moved on one invoice that day, in the invoice's currency."""

    currency: str
    earned: int = 0
    redeemed: int = 0


@dataclass(frozen=True, slots=True)
class ProgramFlow:
    """One day's count or amount of a retention program's flow (`refunded`,
    `cancellations_requested`, `saved_by_offer`, `recovered_by_collections`) in one
    currency."""

    currency: str
    name: str
    value: int = 1


# -- one day ----------------------------------------------------------------------------------
FLOW_FIELDS = (
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "customers_new",
    "customers_expanded",
    "customers_contracted",
    "customers_reactivated",
    "customers_lost",
    "start_customers_lost",
    "start_customers_returned",
    "voluntary_churned",
    "involuntary_churned",
    "first_attempts",
    "paid_first_attempt",
    "failed_first_attempt",
    "payments",
    "revenue",
    "coupon_discounts",  # what coupons took off the invoices paid that day
    "tenure_discounts",  # what the tenure discount took off the invoices paid that day
    "points_earned",  # loyalty points earned on the invoices paid that day
    "points_redeemed",  # loyalty points credited on the invoices made that day
    "refunded",  # what refunds gave back that day (Tenure's and the provider's)
    "cancellations_requested",  # cancellations asked for (offers presented count once)
    "saved_by_offer",  # save offers accepted: cancellations that did not happen
    "recovered_by_collections",  # what collections cases recovered, counted when they close
    "installments_paid",  # instalments of installment plans paid that day
    "installments_collected",  # what they brought in (minor units, no tax on instalments)
    # What invoices whose first attempt failed brought in when paid later that day (a
    # retry, a new card, a repayment): the amount behind `recoveries`' count.
    "recovered_revenue",
)
_MOVEMENT_FIELD = {
    NEW: ("new_mrr", "customers_new"),
    EXPANSION: ("expansion_mrr", "customers_expanded"),
    CONTRACTION: ("contraction_mrr", "customers_contracted"),
    CHURN: ("churned_mrr", "customers_lost"),
    REACTIVATION: ("reactivation_mrr", "customers_reactivated"),
}


@dataclass(slots=True)
class CurrencyDay:
    """One currency's figures for one UTC day: levels at the end of the day, and flows."""

    mrr: int = 0
    customers: int = 0
    flows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLOW_FIELDS, 0))
    exit_reasons: dict[str, int] = field(default_factory=dict)
    cohorts: dict[str, list[int]] = field(default_factory=dict)  # month -> [customers, mrr]
    recoveries: dict[str, int] = field(default_factory=dict)  # failure day -> invoices

    def opening(self) -> "CurrencyDay":
        """The next day starts from this day's levels, with no flows yet."""
        return CurrencyDay(
            mrr=self.mrr,
            customers=self.customers,
            cohorts={k: list(v) for k, v in self.cohorts.items() if v != [0, 0]},
        )

    def add(self, name: str, value: int = 1) -> None:
        self.flows[name] = self.flows.get(name, 0) + value

    def to_dict(self) -> dict[str, Any]:
        return {
            "mrr": self.mrr,
            "customers": self.customers,
            **{k: self.flows.get(k, 0) for k in FLOW_FIELDS},
            "exit_reasons": dict(sorted(self.exit_reasons.items())),
            "cohorts": {k: list(v) for k, v in sorted(self.cohorts.items())},
            "recoveries": dict(sorted(self.recoveries.items())),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CurrencyDay":
        return cls(
            mrr=int(data.get("mrr", 0)),
            customers=int(data.get("customers", 0)),
            flows={k: int(data.get(k, 0)) for k in FLOW_FIELDS},
            exit_reasons={k: int(v) for k, v in data.get("exit_reasons", {}).items()},
            cohorts={k: [int(x) for x in v] for k, v in data.get("cohorts", {}).items()},
            recoveries={k: int(v) for k, v in data.get("recoveries", {}).items()},
        )


def snapshot_currencies(snapshot: dict[str, Any] | None) -> dict[str, CurrencyDay]:
    if not snapshot:
        return {}
    return {c: CurrencyDay.from_dict(v) for c, v in snapshot.get("currencies", {}).items()}


@dataclass(slots=True)
class DayResult:
    snapshot: dict[str, Any]
    customers: dict[str, CustomerMrr]  # states given for entries without facts, after the day
    inconsistent: int = 0  # entries whose customer figures do not chain up (see below)
    unstamped: int = 0  # entries that came without their customer's facts


def aggregate_day(
    day: date,
    previous: dict[str, Any] | None,
    entries: Sequence[MrrLedgerEntry],
    customers: dict[str, CustomerMrr] | None = None,
    cancellations: dict[str, Cancellation] | None = None,
    payments: Iterable[PaymentOutcome] = (),
    points: Iterable["PointsFlow"] = (),
    programs: Iterable[ProgramFlow] = (),
) -> DayResult:
    """Day `day` from the previous day's snapshot and the day's ledger entries.

    Every entry the store committed carries its customer's facts, so nothing else about
    the customer is needed. `customers` (states before the day) serves only entries made
    without them (tests, hand-made ledgers): those are stamped here, in time order.

    Entries of one customer at the same moment are one movement (a customer who takes two
    subscriptions at once is new business once), as ChartMogul's activity grouping does."""
    cancellations = cancellations or {}
    book = {c: d.opening() for c, d in snapshot_currencies(previous).items()}
    states = {cid: CustomerMrr.from_dict(s.to_dict()) for cid, s in (customers or {}).items()}
    bare = sorted(
        (p for p in enumerate(entries) if p[1].customer is None),
        key=lambda p: (p[1].at, p[1].customer_id, p[1].currency, p[0]),
    )
    stamped = [e for e in entries if e.customer is not None]
    stamped += record_entries([e for _, e in bare], states)
    touched = {e.customer_id: states[e.customer_id] for _, e in bare}
    inconsistent = 0
    runs: dict[tuple[str, str], list[list[MrrLedgerEntry]]] = {}
    for entry in sorted(stamped, key=_in_customer_order):
        run = runs.setdefault((entry.customer_id, entry.currency), [])
        if run and run[-1][-1].at == entry.at:
            run[-1].append(entry)
        else:
            run.append([entry])
    for (_, currency), groups in sorted(runs.items()):
        figures = book.setdefault(currency, CurrencyDay())
        last_after = None
        for group in groups:
            first, final = _facts(group[0]), _facts(group[-1])
            # The customer's figures must follow each entry, and each group the one before.
            inconsistent += sum(_facts(e).after - _facts(e).before != e.delta for e in group)
            if last_after is not None and first.before != last_after:
                inconsistent += 1
            last_after = final.after
            _count_movement(figures, group, first, final, cancellations)
    for payment in payments:
        figures = book.setdefault(payment.currency, CurrencyDay())
        if payment.first_attempt:
            figures.add("first_attempts")
            figures.add("paid_first_attempt" if payment.paid else "failed_first_attempt")
        if payment.paid:
            figures.add("payments")
            figures.add("revenue", payment.revenue)
            figures.add("coupon_discounts", payment.coupon_discount)
            figures.add("tenure_discounts", payment.tenure_discount)
            if payment.installment:
                figures.add("installments_paid")
                figures.add("installments_collected", payment.revenue)
        if payment.recovered_from:
            key = payment.recovered_from
            figures.recoveries[key] = figures.recoveries.get(key, 0) + 1
            figures.add("recovered_revenue", payment.revenue)
    for moved in points:
        figures = book.setdefault(moved.currency, CurrencyDay())
        figures.add("points_earned", moved.earned)
        figures.add("points_redeemed", moved.redeemed)
    for flow in programs:
        book.setdefault(flow.currency, CurrencyDay()).add(flow.name, flow.value)
    snapshot = {
        "schema": SNAPSHOT_SCHEMA,
        "day": day_key(day),
        "currencies": {c: book[c].to_dict() for c in sorted(book)},
    }
    return DayResult(snapshot, touched, inconsistent, len(bare))


def _facts(entry: MrrLedgerEntry) -> CustomerFacts:
    assert entry.customer is not None
    return entry.customer


def _in_customer_order(entry: MrrLedgerEntry) -> tuple[str, str, int, Any]:
    return entry.customer_id, entry.currency, _facts(entry).seq, entry.at


def _count_movement(
    figures: CurrencyDay,
    group: list[MrrLedgerEntry],
    first: CustomerFacts,
    final: CustomerFacts,
    cancellations: dict[str, Cancellation],
) -> None:
    """One customer's entries of one moment and currency, as one movement in `figures`."""
    before, after = first.before, final.after
    movement = classify(before, after, first.paid_before)
    if movement is None:
        return
    amount_field, count_field = _MOVEMENT_FIELD[movement.kind]
    figures.add(amount_field, movement.amount)
    figures.add(count_field)
    figures.mrr += after - before
    figures.customers += (after > 0) - (before > 0)
    cohort = figures.cohorts.setdefault(final.cohort or month_key(group[0].at.date()), [0, 0])
    cohort[0] += (after > 0) - (before > 0)
    cohort[1] += after - before
    if movement.kind == CHURN:
        last = next(e for e in reversed(group) if e.after == 0)
        reason, voluntary = churn_cause(last, cancellations)
        figures.exit_reasons[reason] = figures.exit_reasons.get(reason, 0) + 1
        figures.add("voluntary_churned" if voluntary else "involuntary_churned")
        if first.paying_at_month_start:
            figures.add("start_customers_lost")
    elif movement.kind == REACTIVATION and first.paying_at_month_start:
        figures.add("start_customers_returned")


# -- rates ------------------------------------------------------------------------------------
def ratio(numerator: int, denominator: int) -> float | None:
    """A rate as a fraction (0.05, not 5); None where the denominator is zero."""
    if not denominator:
        return None
    return float(Fraction(numerator, denominator))


def per(amount: int | Fraction, count: int) -> int | None:
    """Money divided by a count, in minor units rounded half-up; None for a zero count."""
    if not count:
        return None
    return round_half_up(Fraction(amount) / count)


# -- months, cohorts, the whole report --------------------------------------------------------
@dataclass(slots=True)
class _Month:
    key: str
    opening: CurrencyDay
    days: list[tuple[date, CurrencyDay]] = field(default_factory=list)

    def flow(self, name: str) -> int:
        return sum(d.flows.get(name, 0) for _, d in self.days)


def _series(
    first: date, last: date, currency: str, snapshots: dict[str, dict[str, Any]]
) -> list[tuple[date, CurrencyDay]]:
    """Every day first..last for one currency; a day without a snapshot keeps the levels."""
    out = []
    level = CurrencyDay()
    opening = snapshots.get(day_key(first - timedelta(days=1)))
    if opening and currency in opening.get("currencies", {}):
        level = CurrencyDay.from_dict(opening["currencies"][currency])
    for day in days(first, last):
        snap = snapshots.get(day_key(day))
        if snap is not None and currency in snap.get("currencies", {}):
            figures = CurrencyDay.from_dict(snap["currencies"][currency])
        else:
            figures = level.opening()
        out.append((day, figures))
        level = figures
    return out


def currencies_in(snapshots: dict[str, dict[str, Any]]) -> list[str]:
    found: set[str] = set()
    for snap in snapshots.values():
        found.update(snap.get("currencies", {}))
    return sorted(found)


def rollup(
    first: date, last: date, currency: str, snapshots: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """One currency's `daily`, `monthly`, `cohorts` and `exit_reasons` for first..last.

    `snapshots` maps a day ("2026-02-01") to its snapshot and should hold the day before
    `first` (the opening levels) when there is one."""
    series = _series(first, last, currency, snapshots)
    opening = CurrencyDay()
    before = snapshots.get(day_key(first - timedelta(days=1)))
    if before and currency in before.get("currencies", {}):
        opening = CurrencyDay.from_dict(before["currencies"][currency])
    months: list[_Month] = []
    for day, figures in series:
        if not months or months[-1].key != month_key(day):
            months.append(_Month(month_key(day), months[-1].days[-1][1] if months else opening))
        months[-1].days.append((day, figures))
    daily = [
        {
            "date": day_key(day),
            "mrr": f.mrr,
            "customers": f.customers,
            "new_mrr": f.flows["new_mrr"],
            "expansion_mrr": f.flows["expansion_mrr"],
            "contraction_mrr": f.flows["contraction_mrr"],
            "churned_mrr": f.flows["churned_mrr"],
            "reactivation_mrr": f.flows["reactivation_mrr"],
        }
        for day, f in series
    ]
    recovered_by_month: dict[str, int] = {}
    exit_reasons: dict[str, int] = {}
    for _, f in series:
        for failed_on, count in f.recoveries.items():
            key = failed_on[:7]
            recovered_by_month[key] = recovered_by_month.get(key, 0) + count
        for reason, count in f.exit_reasons.items():
            exit_reasons[reason] = exit_reasons.get(reason, 0) + count
    monthly = []
    for n, m in enumerate(months):
        monthly.append(_month_row(m, months[max(0, n - TRAILING_MONTHS + 1) : n + 1]))
        monthly[-1]["recovery_rate"] = ratio(
            recovered_by_month.get(m.key, 0), m.flow("failed_first_attempt")
        )
        monthly[-1]["invoices_recovered"] = recovered_by_month.get(m.key, 0)
    return {
        "daily": daily,
        "monthly": monthly,
        "cohorts": _cohorts(months),
        "exit_reasons": dict(sorted(exit_reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def _month_row(m: _Month, window: list[_Month]) -> dict[str, Any]:
    end = m.days[-1][1]
    start_mrr, start_customers = m.opening.mrr, m.opening.customers
    flows = {k: m.flow(k) for k in FLOW_FIELDS}
    retained = start_customers - flows["start_customers_lost"] + flows["start_customers_returned"]
    arpa = per(end.mrr, end.customers)
    lost = sum(w.flow("customers_lost") for w in window)
    at_start = sum(w.opening.customers for w in window)
    churn = Fraction(lost, at_start) if at_start else None
    ltv = round_half_up(Fraction(arpa) / churn) if arpa is not None and churn else None
    payments = sum(w.flow("payments") for w in window)
    revenue = sum(w.flow("revenue") for w in window)
    # Everyone who was a paying customer at some point of each month could have bought.
    buyers = sum(
        w.opening.customers + w.flow("customers_new") + w.flow("customers_reactivated")
        for w in window
    )
    purchase_value = Fraction(revenue, payments) if payments else None
    frequency = Fraction(payments, buyers) if buyers else None
    lifespan = 1 / churn if churn else None
    ltv_purchases = (
        round_half_up(purchase_value * frequency * lifespan)
        if purchase_value is not None and frequency is not None and lifespan is not None
        else None
    )
    shrink = flows["churned_mrr"] + flows["contraction_mrr"]
    growth = flows["expansion_mrr"] + flows["reactivation_mrr"]
    return {
        "month": m.key,
        "mrr_start": start_mrr,
        "mrr_end": end.mrr,
        "new_mrr": flows["new_mrr"],
        "expansion_mrr": flows["expansion_mrr"],
        "contraction_mrr": flows["contraction_mrr"],
        "churned_mrr": flows["churned_mrr"],
        "reactivation_mrr": flows["reactivation_mrr"],
        "net_new_mrr": end.mrr - start_mrr,
        "customers_start": start_customers,
        "customers_end": end.customers,
        "customers_new": flows["customers_new"],
        "customers_reactivated": flows["customers_reactivated"],
        "customers_lost": flows["customers_lost"],
        "customers_retained": retained,
        "customer_churn_rate": ratio(flows["customers_lost"], start_customers),
        "retention_rate": ratio(retained, start_customers),
        "gross_mrr_churn_rate": ratio(shrink, start_mrr),
        "net_mrr_churn_rate": ratio(shrink - growth, start_mrr),
        "nrr": ratio(start_mrr + growth - shrink, start_mrr),
        "grr": ratio(start_mrr - shrink, start_mrr),
        "arpa": arpa,
        "ltv": ltv,
        "ltv_purchases": ltv_purchases,
        "trailing_customer_churn_rate": float(churn) if churn is not None else None,
        "average_purchase_value": per(revenue, payments),
        "purchase_frequency": float(frequency) if frequency is not None else None,
        "lifespan_months": float(lifespan) if lifespan is not None else None,
        "payments": flows["payments"],
        "revenue": flows["revenue"],
        "on_time_payment_rate": ratio(flows["paid_first_attempt"], flows["first_attempts"]),
        "recovery_rate": None,  # filled in by rollup: recoveries may come in later months
        "invoices_failed": flows["failed_first_attempt"],
        "invoices_recovered": 0,
        "voluntary_churned": flows["voluntary_churned"],
        "involuntary_churned": flows["involuntary_churned"],
        # What retention programs cost on the invoices paid in the month, by program.
        "discounts": {"coupon": flows["coupon_discounts"], "tenure": flows["tenure_discounts"]},
        "points_earned": flows["points_earned"],
        "points_redeemed": flows["points_redeemed"],
        "refunded": flows["refunded"],
        "cancellations_requested": flows["cancellations_requested"],
        "saved_by_offer": flows["saved_by_offer"],
        "recovered_by_collections": flows["recovered_by_collections"],
        # Instalments paid in the month and what they brought in (also within `payments` and
        # `revenue`, which count every paid invoice).
        "installments_paid": flows["installments_paid"],
        "installments_collected": flows["installments_collected"],
        # What invoices recovered after a failed first attempt brought in, in the month they
        # were paid (`invoices_recovered` counts them by the month they failed).
        "recovered_revenue": flows["recovered_revenue"],
    }


def _cohorts(months: list[_Month]) -> list[dict[str, Any]]:
    """Each signup month: its size and new MRR, then who and what is left at each month end."""
    out = []
    for n, m in enumerate(months):
        size = m.flow("customers_new")
        if not size:
            continue
        customers, mrr = [size], [m.flow("new_mrr")]
        for later in months[n + 1 :]:
            left = later.days[-1][1].cohorts.get(m.key, [0, 0])
            customers.append(left[0])
            mrr.append(left[1])
        out.append({"cohort": m.key, "customers": customers, "mrr": mrr})
    return out


def trailing_payment_health(
    snapshots: Sequence[dict[str, Any] | None], currency: str
) -> dict[str, Any]:
    """On-time and recovery rates over a window of daily snapshots, oldest first.

    Recovery counts invoices whose first attempt failed inside the window and that were
    paid by the window's last day."""
    window_days = {s["day"] for s in snapshots if s}
    first_attempts = paid_first = failed_first = recovered = 0
    for snap in snapshots:
        if not snap or currency not in snap.get("currencies", {}):
            continue
        f = CurrencyDay.from_dict(snap["currencies"][currency])
        first_attempts += f.flows["first_attempts"]
        paid_first += f.flows["paid_first_attempt"]
        failed_first += f.flows["failed_first_attempt"]
        recovered += sum(n for d, n in f.recoveries.items() if d in window_days)
    return {
        "on_time_payment_rate": ratio(paid_first, first_attempts),
        "recovery_rate": ratio(recovered, failed_first),
        "invoices_failed": failed_first,
        "invoices_recovered": recovered,
    }
