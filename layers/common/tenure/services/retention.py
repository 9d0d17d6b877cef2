"""Retention metrics use cases: aggregate a day, backfill or catch up a range, read reports.

`aggregate_day` reads the previous day's snapshot, the day's ledger entries (each carries
its customer's facts, stamped when it was committed) and domain events, and the invoices
the day's payment events name: its reads follow the day's changes, never the table size.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tenure.domain import mrr
from tenure.domain.charges import ChargeOutcome
from tenure.domain.events import EventType
from tenure.domain.invoices import LineKind
from tenure.ports import MetricsStore
from tenure.services.context import Services

CURSOR = "cursor"  # a snapshot-shaped item naming the last day aggregated: {"day": ...}
MAX_CATCH_UP_DAYS = 400  # one scheduled run never works more days than this
RECOVERY_WINDOW = 30  # days of first failures in one recovery-rate window
RECOVERY_MATURITY = 14  # dunning ends within ~14 days, so younger failures are left out
ON_TIME_WINDOW = 28
_FAILED = (ChargeOutcome.DECLINED, ChargeOutcome.AUTHENTICATION_REQUIRED)


@dataclass(frozen=True, slots=True)
class DaySummary:
    day: date
    snapshot: dict[str, Any]
    ledger_entries: int
    events: int
    customers: int
    inconsistent: int


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def aggregate_day(svc: Services, day: date) -> DaySummary:
    """Aggregate one UTC day. Idempotent: running a day again writes the same snapshot."""
    repo: MetricsStore = svc.repo
    start = day_start(day)
    end = start + timedelta(days=1)
    previous = repo.get_snapshot(mrr.day_key(day - timedelta(days=1)))
    entries = repo.ledger_between(start, end)
    events = repo.events_between(start, end)
    result = mrr.aggregate_day(
        day,
        previous,
        entries,
        cancellations=_cancellations(events),
        payments=_payment_outcomes(svc, events),
        points=_points_flows(events),
        programs=_program_flows(events),
    )
    repo.save_snapshot(mrr.day_key(day), result.snapshot)
    return DaySummary(
        day,
        result.snapshot,
        len(entries),
        len(events),
        len({e.customer_id for e in entries}),
        # An entry without its customer's facts was not committed through the store.
        result.inconsistent + result.unstamped,
    )


def backfill(svc: Services, first: date, last: date) -> list[DaySummary]:
    """Aggregate every day first..last in order (each from the one before)."""
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    summaries = [aggregate_day(svc, day) for day in mrr.days(first, last)]
    _advance_cursor(svc.repo, last)
    return summaries


def catch_up(svc: Services, through: date) -> list[DaySummary]:
    """The scheduled run: aggregate every day since the last one aggregated, up to `through`.

    On a table never aggregated before it starts at `through` (a new deployment); a table
    with older history needs one `backfill` from its first day."""
    cursor = svc.repo.get_snapshot(CURSOR)
    first = through
    if cursor and cursor.get("day"):
        first = min(date.fromisoformat(cursor["day"]) + timedelta(days=1), through)
    first = max(first, through - timedelta(days=MAX_CATCH_UP_DAYS - 1))
    return backfill(svc, first, through)


def _advance_cursor(store: MetricsStore, day: date) -> None:
    cursor = store.get_snapshot(CURSOR)
    if cursor and cursor.get("day", "") >= mrr.day_key(day):
        return
    store.save_snapshot(CURSOR, {"day": mrr.day_key(day)})


def _cancellations(events: Sequence[dict[str, Any]]) -> dict[str, mrr.Cancellation]:
    found = {}
    for event in events:
        if event.get("type") == EventType.SUBSCRIPTION_CANCELED:
            data = event.get("data") or {}
            found[event["entity_id"]] = mrr.Cancellation(
                data.get("reason"), bool(data.get("voluntary", True))
            )
    return found


def _points_flows(events: Sequence[dict[str, Any]]) -> list[mrr.PointsFlow]:
    """Loyalty points earned (invoices paid) and redeemed (credited on invoices) that day."""
    flows = []
    for event in events:
        data = event.get("data") or {}
        if event.get("type") == EventType.LOYALTY_POINTS_EARNED:
            flows.append(mrr.PointsFlow(str(data.get("currency")), earned=int(data["points"])))
        elif event.get("type") == EventType.LOYALTY_POINTS_APPLIED:
            flows.append(mrr.PointsFlow(str(data.get("currency")), redeemed=int(data["points"])))
    return flows


def _program_flows(events: Sequence[dict[str, Any]]) -> list[mrr.ProgramFlow]:
    """Refunds, cancellations asked for and customers saved by offers, from the day's events.
    A cancellation that followed offers was counted when the offers were presented."""
    flows = []
    for event in events:
        kind, data = event.get("type"), event.get("data") or {}
        currency = data.get("currency")
        if not currency:
            continue
        if kind == EventType.INVOICE_REFUNDED and data.get("amount"):
            flows.append(mrr.ProgramFlow(currency, "refunded", int(data["amount"])))
        elif kind == EventType.SAVE_OFFERS_PRESENTED or _asked_to_cancel(kind, data):
            flows.append(mrr.ProgramFlow(currency, "cancellations_requested"))
        elif kind == EventType.SAVE_OFFER_ACCEPTED:
            flows.append(mrr.ProgramFlow(currency, "saved_by_offer"))
        elif kind in _CASE_CLOSED and data.get("recovered"):
            # Counted once, when the case closes (settled or written off), with all it
            # recovered: the case's own events carry the currency its instalments' lack.
            flows.append(
                mrr.ProgramFlow(currency, "recovered_by_collections", int(data["recovered"]))
            )
    return flows


_CASE_CLOSED = (EventType.COLLECTION_CASE_SETTLED, EventType.COLLECTION_CASE_WRITTEN_OFF)


def _asked_to_cancel(kind: object, data: dict[str, Any]) -> bool:
    """A cancellation asked for (not the end of a scheduled one), not after offers."""
    asked = kind == EventType.CANCELLATION_SCHEDULED or (
        kind == EventType.SUBSCRIPTION_CANCELED and bool(data.get("requested"))
    )
    return asked and not data.get("after_offers")


def _payment_outcomes(svc: Services, events: Sequence[dict[str, Any]]) -> list[mrr.PaymentOutcome]:
    """First attempts, payments and recoveries of the day, from its invoice events."""
    paid = [e for e in events if e.get("type") == EventType.INVOICE_PAID]
    failed = [
        e
        for e in events
        if e.get("type") == EventType.PAYMENT_FAILED and (e.get("data") or {}).get("attempt") == 1
    ]
    if not paid and not failed:
        return []
    invoices = svc.repo.get_invoices(sorted({e["entity_id"] for e in paid + failed}))
    outcomes = []
    for event in failed:
        invoice = invoices.get(event["entity_id"])
        if invoice is not None:
            outcomes.append(mrr.PaymentOutcome(invoice.id, invoice.currency, True, False))
    for event in paid:
        invoice = invoices.get(event["entity_id"])
        if invoice is None:
            continue
        tax = sum(line.amount for line in invoice.lines if line.kind is LineKind.TAX)
        coupon = -sum(line.amount for line in invoice.lines if line.kind is LineKind.COUPON)
        tenure = -sum(
            line.amount for line in invoice.lines if line.kind is LineKind.TENURE_DISCOUNT
        )
        first = invoice.attempts <= 1
        recovered_from = None
        if not first:
            charge = svc.repo.get_charge(invoice.id, 1)
            if charge is not None and charge.outcome in _FAILED:
                recovered_from = mrr.day_key(charge.at.date())
        outcomes.append(
            mrr.PaymentOutcome(
                invoice.id,
                invoice.currency,
                first,
                True,
                invoice.total - tax,
                recovered_from,
                coupon_discount=coupon,
                tenure_discount=tenure,
                installment=invoice.installment_plan_id is not None,
            )
        )
    return outcomes


# -- reading ----------------------------------------------------------------------------------
def snapshots_between(svc: Services, first: date, last: date) -> dict[str, dict[str, Any]]:
    """The snapshots of first..last and of the day before (the opening levels)."""
    return svc.repo.get_snapshots([mrr.day_key(d) for d in mrr.days(first - timedelta(1), last)])


def metrics_document(
    svc: Services, first: date, last: date, currency: str | None = None
) -> dict[str, Any]:
    """The metrics.json document for first..last (docs/metrics.md)."""
    snapshots = snapshots_between(svc, first, last)
    return document_from_snapshots(first, last, snapshots, currency)


def document_from_snapshots(
    first: date, last: date, snapshots: dict[str, dict[str, Any]], currency: str | None = None
) -> dict[str, Any]:
    found = mrr.currencies_in(snapshots)
    reporting = currency or (found[0] if found else "USD")
    doc: dict[str, Any] = {
        "currency": reporting,
        "start": mrr.day_key(first),
        "until": mrr.day_key(last),
        **mrr.rollup(first, last, reporting, snapshots),
        "other_currencies": {
            c: mrr.rollup(first, last, c, snapshots) for c in found if c != reporting
        },
    }
    return doc


def headline(svc: Services, day: date) -> dict[str, dict[str, float]]:
    """The figures the daily run publishes to CloudWatch, per currency (docs/metrics.md).

    Reads a constant number of snapshots, whatever the table size."""
    span = RECOVERY_MATURITY + 2 * RECOVERY_WINDOW
    window = [mrr.day_key(d) for d in mrr.days(day - timedelta(days=span), day)]
    snapshots = svc.repo.get_snapshots(window)
    today = snapshots.get(mrr.day_key(day))
    yesterday = snapshots.get(mrr.day_key(day - timedelta(days=1)))
    ordered = [snapshots.get(d) for d in window]
    recent = ordered[-(RECOVERY_MATURITY + RECOVERY_WINDOW) : -RECOVERY_MATURITY]
    earlier = ordered[
        -(RECOVERY_MATURITY + 2 * RECOVERY_WINDOW) : -(RECOVERY_MATURITY + RECOVERY_WINDOW)
    ]
    out: dict[str, dict[str, float]] = {}
    for currency, figures in mrr.snapshot_currencies(today).items():
        before = mrr.snapshot_currencies(yesterday).get(currency)
        row: dict[str, float] = {
            "Mrr": figures.mrr,
            "Customers": figures.customers,
            "NewMrr": figures.flows["new_mrr"],
            "ExpansionMrr": figures.flows["expansion_mrr"],
            "ContractionMrr": figures.flows["contraction_mrr"],
            "ChurnedMrr": figures.flows["churned_mrr"],
            "ReactivationMrr": figures.flows["reactivation_mrr"],
            "CustomersNew": figures.flows["customers_new"],
            "CustomersLost": figures.flows["customers_lost"],
            "VoluntaryChurned": figures.flows["voluntary_churned"],
            "InvoluntaryChurned": figures.flows["involuntary_churned"],
        }
        if before is not None and before.mrr > 0:
            row["MrrDrop"] = max(0.0, (before.mrr - figures.mrr) / before.mrr)
        on_time = mrr.trailing_payment_health(ordered[-ON_TIME_WINDOW:], currency)
        if on_time["on_time_payment_rate"] is not None:
            row["OnTimePaymentRate"] = on_time["on_time_payment_rate"]
        now_rate = _matured_recovery(recent, ordered, currency)
        then_rate = _matured_recovery(earlier, ordered, currency)
        if now_rate is not None:
            row["DunningRecoveryRate"] = now_rate
            if then_rate:
                row["DunningRecoveryDrop"] = max(0.0, (then_rate - now_rate) / then_rate)
        out[currency] = row
    return out


def _matured_recovery(
    failures: Sequence[dict[str, Any] | None],
    everything: Sequence[dict[str, Any] | None],
    currency: str,
) -> float | None:
    """Of the invoices whose first attempt failed on the `failures` days, the share paid
    since (recoveries counted from every later day in `everything`)."""
    failed_days = {s["day"] for s in failures if s}
    failed = recovered = 0
    for snap in failures:
        figures = mrr.snapshot_currencies(snap).get(currency)
        if figures is not None:
            failed += figures.flows["failed_first_attempt"]
    for snap in everything:
        figures = mrr.snapshot_currencies(snap).get(currency)
        if figures is not None:
            recovered += sum(n for d, n in figures.recoveries.items() if d in failed_days)
    return mrr.ratio(recovered, failed)
