"""`make bench` figures for the reminders run: what sending 1,000 due emails costs in
DynamoDB, in a table of 10,000 subscriptions and in one of 100,000 (it must cost the same).

Every item is written as `DynamoRepository.commit` writes it: the commits are made against
a stand-in client that keeps their TransactItems, which then go to DynamoDB Local by
BatchWriteItem (a fresh scratch table needs no conditions, and loads ten times faster).
The bulk subscriptions are bench_renewals' `_subscription_items`. See docs/benchmarks.md,
"Reminder emails".
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from tenure_local.bench.capacity import READ_OPS, TableGrowth, read_unit_figures, scratch_table
from tenure_local.bench.load import StagedTable, batch_write
from tenure_local.bench.renewals import _subscription_items, load_budget
from tenure_local.stack.local_stack import LocalStack

SIZES_ENV = "TENURE_BENCH_REMINDER_SIZES"
DEFAULT_SIZES = (10_000, 100_000)
RUN_AT = datetime(2026, 3, 4, 12, tzinfo=UTC)  # the hourly run measured: noon UTC
LEAD = timedelta(days=3)  # the monthly plans' upcoming-renewal lead (ReminderPolicy)
LINK_KEY = "bench-link-key"
# Locales of every template; zones where noon UTC is inside the quiet-hours window.
CUSTOMER_STYLES = (("en", "UTC"), ("ru", "Europe/Moscow"), ("ar", "Europe/Berlin"))
MAX_RUNS = 10  # a run sends up to its limit; the rest wait for the next one


class CountingMailer:
    """Accepts every message, as SES would, after turning it into the bytes SES is sent."""

    def __init__(self) -> None:
        self.sent = 0
        self.bytes = 0
        self.kinds: Counter[str] = Counter()

    def send(self, message: EmailMessage, *, customer_id: str, kind: str, sent_at: datetime) -> str:
        self.sent += 1
        self.bytes += len(message.as_bytes())
        self.kinds[kind] += 1
        return f"bench-{self.sent:07d}"


def committed_writes(table: str, changes: Iterable[Any]) -> list[dict[str, Any]]:
    """BatchWriteItem requests for what DynamoRepository.commit writes for each change."""
    from tenure.store.dynamodb import DynamoRepository

    staged = StagedTable()
    repo = DynamoRepository(staged, table)
    for change in changes:
        repo.commit(change)
    return staged.final_requests()  # one request per key: a numbering counter is written often


def _plan() -> Any:
    from tenure.domain.calendar import IntervalUnit
    from tenure.domain.plans import Plan

    return Plan(id="basic", name="Basic", amount=1000, currency="USD", interval=IntervalUnit.MONTH)


def reminder_population(table: str, due: int) -> tuple[list[dict[str, Any]], list[Any]]:
    """(writes, due notices): the plan, and `due` customers each with an active monthly
    subscription renewing 3 days after RUN_AT, its paid first invoice, and the
    upcoming-renewal notice the real planner makes when it activates, due by RUN_AT."""
    from tenure.domain.customers import Customer
    from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceStatus, plan_lines, with_tax
    from tenure.domain.notices import NoticeKind
    from tenure.domain.subscription import Subscription
    from tenure.notify.planner import plan_notices
    from tenure.notify.policy import ReminderPolicy
    from tenure.notify.timing import QuietHours
    from tenure.ports import Commit

    plan, policy, hours = _plan(), ReminderPolicy(), QuietHours()
    changes: list[Commit] = [Commit(plans=[plan])]
    notices = []
    for n in range(due):
        sub_id, customer_id = f"sub_{n:07d}", f"cus_{n:07d}"
        locale, zone = CUSTOMER_STYLES[n % len(CUSTOMER_STYLES)]
        # A month before renewing at RUN_AT + 3 days, spread over the ten hours before.
        created = RUN_AT + LEAD - timedelta(days=28) - timedelta(minutes=n % 600)
        customer = Customer(
            customer_id, f"{customer_id}@example.com", created, f"Customer {n}", locale, zone
        )
        sub = Subscription.subscribe(sub_id, customer_id, plan, created)
        sub.timezone = zone
        invoice = Invoice(
            f"in_{n:07d}",
            sub_id,
            customer_id,
            InvoiceKind.FIRST,
            sub.current_period_start,
            sub.current_period_end,
            plan.currency,
            with_tax(plan_lines(plan, 0, plan.name), plan),
            InvoiceStatus.OPEN,
            created,
        )
        invoice.mark_paid(created)
        sub.activate(plan, created)
        events, _ = sub.pull_events()
        planned = plan_notices(
            Commit(customers=[customer], subscriptions=[sub], events=events), policy, created
        )
        reminders = [p for p in planned if p.kind is NoticeKind.UPCOMING_RENEWAL]
        if len(reminders) != 1 or reminders[0].due_at > RUN_AT:
            raise RuntimeError(f"{sub_id}: the planner gave {reminders!r}, not one due reminder")
        if not hours.allows(RUN_AT, zone):
            raise RuntimeError(f"{zone} is outside the quiet-hours window at {RUN_AT}")
        changes.append(
            Commit(customers=[customer], subscriptions=[sub], invoices=[invoice], notices=reminders)
        )
        notices.extend(reminders)
    return committed_writes(table, changes), notices


def bulk_population(table: str, count: int, start: int) -> list[dict[str, Any]]:
    """Subscriptions start..start+count-1 (`_subscription_items`: one in five canceled, the
    rest renewing 1 hour to 30 days after RUN_AT), each with its customer; each one not
    canceled with its upcoming-renewal notice, 3 days before: scheduled when that is still
    ahead, else already sent (and so out of the sparse due index)."""
    from tenure.domain.customers import Customer
    from tenure.domain.notices import Notice, NoticeKind, NoticeStatus, notice_key
    from tenure.domain.timeutil import parse_iso
    from tenure.ports import Commit

    subs = _subscription_items(count, start, 0, RUN_AT)
    created = RUN_AT - timedelta(days=31)  # as _subscription_items subscribes them
    changes = []
    # 30 customers, their email index entries and their notices: one commit (≤ 100 items)
    for first in range(0, len(subs), 30):
        customers, notices = [], []
        for item in subs[first : first + 30]:
            sub_id, customer_id = item["id"]["S"], item["customer_id"]["S"]
            customers.append(Customer(customer_id, f"{customer_id}@example.com", created))
            if item["status"]["S"] == "canceled":
                continue
            renews_at = item["current_period_end"]["S"]
            due_at = parse_iso(renews_at) - LEAD
            notice = Notice(
                notice_key(sub_id, NoticeKind.UPCOMING_RENEWAL, renews_at, 3),
                NoticeKind.UPCOMING_RENEWAL,
                customer_id,
                sub_id,
                due_at,
                created,
                data={"renews_at": renews_at, "lead_days": 3, "zone": "UTC"},
            )
            if due_at <= RUN_AT:
                notice.status, notice.sent_at = NoticeStatus.SENT, due_at
                notice.message_id = f"earlier-{sub_id}"
            notices.append(notice)
        changes.append(Commit(customers=customers, notices=notices))
    return [{"PutRequest": {"Item": i}} for i in subs] + committed_writes(table, changes)


def _reset_notices(table: str, notices: list[Any]) -> list[dict[str, Any]]:
    """Writes that make the due notices scheduled again and forget they were sent (their
    `email:` markers), so the next run sends the same emails."""
    from tenure.ports import Commit

    fresh = [Commit(notices=[_copy(n)]) for n in notices]
    markers = [f"email:{n.key}" for n in notices]
    forgotten = [Commit(released_markers=markers[i : i + 100]) for i in range(0, len(markers), 100)]
    return committed_writes(table, [*fresh, *forgotten])


def _copy(notice: Any) -> Any:
    from dataclasses import replace

    return replace(notice, data=dict(notice.data), version=0)


def _link_maker(now: datetime) -> Any:
    """As bootstrap.Wiring.link_maker makes it, with a test key."""
    from urllib.parse import urlencode

    from tenure.notify.customer_links import make_link
    from tenure.settings import Settings

    settings = Settings(TENURE_LINK_SECRET=LINK_KEY)

    def make(customer_id: str, purpose: Any, subject: str, action: str | None) -> str:
        url = make_link(settings, customer_id, purpose, subject, now)
        return f"{url}&{urlencode({'action': action})}" if action else url

    return make


def _send_all(repo: Any, limit: int) -> tuple[Counter[str], list[int], float]:
    """Run send_due at RUN_AT until a run finds nothing due: (outcomes, notices each run
    read, seconds)."""
    from tenure import bootstrap
    from tenure.fakes import FixedClock
    from tenure.notify.compose import Composer
    from tenure.services.context import Services
    from tenure.services.reminders import send_due

    settings = bootstrap.settings()
    svc = Services(repo=repo, clock=FixedClock(RUN_AT))
    compose = Composer(settings.mail_from, settings.business_name)
    links = _link_maker(RUN_AT)
    mailer = CountingMailer()
    outcomes: Counter[str] = Counter()
    per_run: list[int] = []
    began = time.perf_counter()
    for _ in range(MAX_RUNS):
        report = send_due(svc, mailer, compose, links, RUN_AT, limit=limit)
        per_run.append(report.read)
        outcomes.update(report.counts)
        if not report.read:
            break
    seconds = time.perf_counter() - began
    if mailer.sent != outcomes["sent"]:
        raise RuntimeError(f"mailer took {mailer.sent}, the runs counted {outcomes['sent']}")
    return outcomes, per_run, seconds


def _figures(calls: list[Any], emails: int) -> dict[str, Any]:
    per = max(emails, 1)
    by_op = Counter(c.operation for c in calls)
    by_step = Counter(f"{c.operation} {c.step}" for c in calls)
    items = sum(c.items_read for c in calls)
    rcu = read_unit_figures(calls, 1)
    wcu = sum(c.wcu for c in calls)
    return {
        "items_read": items,
        "items_read_per_email": items / per,
        "items_read_by_operation": dict(
            Counter({op: sum(c.items_read for c in calls if c.operation == op) for op in by_op})
        ),
        "requests": len(calls),
        "requests_per_email": len(calls) / per,
        "by_operation": {op: n / per for op, n in sorted(by_op.items(), key=lambda x: -x[1])},
        "by_step": {s: n / per for s, n in sorted(by_step.items(), key=lambda x: -x[1])},
        "rcu": rcu["rcu_per_renewal"],
        "rcu_source": rcu["rcu_source"],
        "rcu_per_email": rcu["rcu_per_renewal"] / per,
        "wcu": wcu,
        "wcu_per_email": wcu / per,
        "index_wcu_per_email": sum(c.index_wcu for c in calls) / per,
        "read_requests": sum(1 for c in calls if c.operation in READ_OPS),
        "failed_requests": sum(1 for c in calls if c.failed),
    }


def reminder_reads(
    stack: LocalStack,
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    due: int = 1_000,
    load_budget_s: float | None = None,
    chunk: int = 5_000,
    limit: int | None = None,
) -> dict[str, Any]:
    """Send `due` upcoming-renewal emails with the real reminders run in tables of each of
    `sizes` subscriptions (one scratch table, topped up), counting every DynamoDB request.

    At each size the same `due` notices are made scheduled again first, then send_due runs
    at RUN_AT (with the function's RUN_LIMIT unless `limit` says) until a run finds nothing
    due. The load budget works as in bench_renewals.scheduler_reads: the first size is
    loaded whole; beyond it loading stops before a chunk that would overrun it, and that
    size is measured at what was loaded (`short_of`).
    """
    from tenure.store.dynamodb import DynamoRepository

    if limit is None:
        limit = _run_limit()
    load_budget_s = load_budget(load_budget_s)
    rows: list[dict[str, Any]] = []
    growth = TableGrowth(chunk, load_budget_s)
    with scratch_table(stack, "reminders") as (table, admin, client, recorder):
        began = time.perf_counter()
        writes, notices = reminder_population(table, due)
        batch_write(admin, table, writes)
        growth.seconds += time.perf_counter() - began
        growth.items_written += len(writes)
        growth.loaded = due

        def write(count: int, first: int) -> int:
            bulk = bulk_population(table, count, first)
            batch_write(admin, table, bulk)
            return len(bulk)

        for size in sorted(sizes):
            if size <= growth.loaded and rows:
                continue
            growth.grow_to(size, write, measured=bool(rows))
            loaded = growth.loaded
            if rows and rows[-1]["subscriptions"] == loaded:
                rows[-1]["short_of"] = size
                break

            # Scheduled again, through the recorder so it knows each notice's last image.
            batch_write(client, table, _reset_notices(table, notices))
            mark = recorder.mark()
            recorder.keep_params = True  # for each request's step
            outcomes, per_run, seconds = _send_all(DynamoRepository(client, table), limit)
            recorder.keep_params = False
            calls = recorder.calls[mark:]
            for call in calls:
                call.params = None
            sent = outcomes["sent"]
            rows.append(
                {
                    "subscriptions": loaded,
                    "short_of": size if loaded < size else None,
                    "due": due,
                    "limit": limit,
                    "sent": sent,
                    "outcomes": dict(outcomes),
                    "runs": len(per_run),
                    "read_per_run": per_run,
                    "seconds": seconds,
                    "emails_per_s": sent / seconds if seconds else 0.0,
                    **_figures(calls, sent),
                }
            )
    return {
        "rows": rows,
        "loaded_subscriptions": growth.loaded,
        "loaded_items": growth.items_written,
        "load_budget_s": max(load_budget_s, 0.0),
        "load_seconds": growth.seconds,
        "load_items_per_s": growth.items_written / growth.seconds if growth.seconds else 0.0,
        "equal_items_read": len({r["items_read"] for r in rows}) == 1,
    }


def _run_limit() -> int:
    """The reminders function's own limit per run."""
    from tenure_local.runtime.functions import load_module

    return int(load_module("reminders").RUN_LIMIT)


def sizes_from_env() -> tuple[int, ...]:
    text = os.environ.get(SIZES_ENV, "")
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        sizes = ()
    return sizes or DEFAULT_SIZES


def run_all(
    sizes: tuple[int, ...] | None = None,
    due: int = 1_000,
    load_budget_s: float | None = None,
) -> dict[str, Any]:
    """The reminder figures from one local stack, plus the render rate."""
    from tenure_local.bench.emails import render_rate

    with LocalStack() as stack:
        reads = reminder_reads(stack, sizes or sizes_from_env(), due, load_budget_s=load_budget_s)
    return {"reads": reads, "render": render_rate()}
