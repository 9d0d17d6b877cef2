"""Replays a scenario on a simulated clock through the real handlers, on an engine's adapters
(DynamoDB Local and moto, or in-process: tenure_local.simulator.engines)."""

import json
import os
import time
import warnings
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tenure import bootstrap
from tenure.domain.dunning import DunningPolicy
from tenure.domain.timeutil import iso, utc
from tenure.fakes import FixedClock
from tenure.payments.razorpay_sandbox import RazorpaySandbox
from tenure.ports import Repository
from tenure.services.context import Services
from tenure_local.report.metrics_report import (
    build_simulation_metrics,
    reporting_currency,
    write_metrics_json,
    write_report,
)
from tenure_local.runtime import functions
from tenure_local.runtime.state import OutputEvents, build_state, write_state_json
from tenure_local.runtime.state_rows import SpillingRows
from tenure_local.simulator import out_folder
from tenure_local.simulator.api_side import ApiSide
from tenure_local.simulator.aws_timer import AwsTimer
from tenure_local.simulator.chaos import QUIET, Chaos, SimulatedBackoff, SimulatedCrash, summary
from tenure_local.simulator.collector import fewer_collections
from tenure_local.simulator.engines import (
    DEFAULT_VISIBILITY,
    Adapters,
    DueView,
    DynamoLocalEngine,
    Engine,
    RunSpec,
)
from tenure_local.simulator.hours import hour_at_or_after, on_the_hour
from tenure_local.simulator.provider_side import ProviderSide
from tenure_local.simulator.scenario import Scenario
from tenure_local.simulator.webhooks_provider import (
    ProviderSandbox,
    RazorpayCourier,
    WebhookCourier,
)
from tenure_local.stack.local_stack import LocalStack, restore_environ

QUIET_ENV = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
SCHEDULER_TICK = timedelta(minutes=15)  # how often the deployed renewals schedule runs
# Under chaos: a failed scheduled run is run again by the schedule's retry policy this much
# later, at most this many times (template.yaml's RetryPolicy); then the next run does it.
SCHEDULE_RETRY = timedelta(minutes=1)
SCHEDULE_RETRIES = 3


@dataclass
class SimulationResult:
    out: Path
    seconds: float
    aws_seconds: float
    aws_calls: int
    customer_months: float
    rejected: list[dict[str, Any]]
    raw_speed: dict[str, Any]
    backend: str
    webhooks: dict[str, Any] = field(default_factory=dict)  # deliveries by status, chaos counts
    chaos: dict[str, Any] = field(default_factory=dict)  # what was injected (chaos.summary)

    @property
    def own_share(self) -> float:
        return max(self.seconds - self.aws_seconds, 0.0) / self.seconds if self.seconds else 0.0


class Simulator(ProviderSide, ApiSide):
    def __init__(
        self,
        scenario: Scenario,
        out: Path,
        seed: int = 0,
        on_progress: Callable[[float, str], None] | None = None,
        measure_raw_speed: bool = True,
        stack: LocalStack | None = None,
        webhook_chaos: bool = False,
        chaos: Chaos | None = None,
        engine: Engine | None = None,
    ) -> None:
        # What holds the table, the queue and the mail (tenure_local.simulator.engines); by
        # default DynamoDB Local and moto, started here or `stack` reused (emptied first).
        self.engine = engine if engine is not None else DynamoLocalEngine(stack)
        self.scenario = scenario
        self.out = out
        self.seed = seed
        self.on_progress = on_progress or (lambda fraction, label: None)
        self.measure_raw_speed = measure_raw_speed
        self.start = utc(scenario.start)
        self.until = utc(scenario.until)
        self.clock = FixedClock(self.start)
        self.timer = AwsTimer()
        self.rejected: list[dict[str, Any]] = []
        self.subscription_ids: list[str] = []
        self._token = ""
        self._queue_url = ""
        self._sqs: Any = None
        self.repo: Repository | None = None
        self._due: DueView | None = None  # where the loop asks what is next due
        # Every sandbox event goes through the real webhooks handler; with chaos, late (up to
        # hours), duplicated and reordered by the seed, all delivered by `until`.
        self.webhook_chaos = webhook_chaos or (chaos is not None and chaos.webhooks)
        # Faults injected at the edges (tenure_local.simulator.chaos); None: a calm run.
        self.chaos = chaos
        # Under chaos the functions' retry backoffs pass in simulated time (chaos.SimulatedBackoff).
        self.backoff = SimulatedBackoff() if chaos is not None else None
        if chaos is not None:
            chaos.clock = self.clock.now
            chaos.quiet_from = self.until - QUIET
        self._chaos_later: list[tuple[datetime, int, Callable[[], None]]] = []
        self._visibility = DEFAULT_VISIBILITY  # the renewal queue's; read from the template
        self.gateway: ProviderSandbox | None = None
        self.courier: WebhookCourier | None = None
        # Customers with `provider: razorpay` are charged through Razorpay's sandbox (the
        # real adapter over an in-memory Razorpay), whose webhooks go to /webhooks/razorpay.
        self.razorpay: RazorpaySandbox | None = None
        self.razorpay_courier: WebhookCourier | None = None
        self._providers = {c.id: c.provider for c in scenario.customers}
        self._provider_later: list[tuple[datetime, int, Callable[[], None]]] = []

    # -- running ----------------------------------------------------------------------------
    def run(self) -> SimulationResult:
        began = time.perf_counter()
        out_folder.check(self.out)  # before an engine starts: nothing runs for lost outputs
        saved = {key: os.environ.get(key) for key in (*QUIET_ENV, "TENURE_OUTBOX_DIR")}
        spec = RunSpec(out=self.out, timer=self.timer, chaos=self.chaos, backoff=self.backoff)
        with warnings.catch_warnings():
            # The handlers' JSON logs and EMF lines are for CloudWatch; keep the terminal quiet.
            os.environ.update(QUIET_ENV)
            # Every email sent is also kept as DIR/outbox/*.eml.
            os.environ["TENURE_OUTBOX_DIR"] = str(self.out / "outbox")
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            try:
                with ExitStack() as backoffs, self.engine.open(spec) as adapters:
                    backoffs.enter_context(fewer_collections())  # for the run, not the engine
                    if self.backoff is not None:
                        backoffs.enter_context(self.backoff.botocore_retries())
                    result = self._run_on(adapters, began)
            finally:
                bootstrap.use(None)
                restore_environ(saved)
        return result

    def _run_on(self, adapters: Adapters, began: float) -> SimulationResult:
        out_folder.empty(self.out)  # the outbox fills while the run goes
        settings = adapters.settings
        self._token = settings.api_token
        self._queue_url = adapters.queue_url
        self._sqs = adapters.queue
        self._visibility = adapters.visibility
        bootstrap.use(None)
        chaos = self.chaos
        repo = adapters.repo
        self.repo = repo
        self._due = adapters.due_view or repo
        policy = self.scenario.dunning.policy() if self.scenario.dunning else DunningPolicy()
        gateway = ProviderSandbox(clock=lambda: int(self.clock.now().timestamp()))
        self.gateway = gateway
        self.courier = WebhookCourier(
            gateway,
            adapters.webhook_secret,
            self._post_webhook,
            self.until,
            chaos=self.webhook_chaos,
            seed=self.seed,
        )
        self.razorpay = RazorpaySandbox(clock=lambda: int(self.clock.now().timestamp()))
        self.razorpay_courier = RazorpayCourier(
            self.razorpay,
            adapters.razorpay_webhook_secret,
            self._post_webhook,
            self.until,
            chaos=self.webhook_chaos,
            seed=self.seed,
        )
        # Under chaos the functions reach the provider through a faulty line; the provider's
        # own side (the courier, scenario actions at the provider) does not.
        used = gateway if chaos is None else chaos.gateway(gateway)
        wired = bootstrap.build(
            settings,
            store=repo,
            clock=self.clock,
            gateway=used,
            policy=policy,
            mailer=adapters.mailer,
            clients=adapters.clients,
            gateways={"razorpay": self.razorpay.gateway()},
        )
        # The real handlers run in this process, on the simulator's adapters.
        bootstrap.use(wired)
        sim_began = time.perf_counter()
        self._setup()
        self._loop()
        sim_seconds = time.perf_counter() - sim_began
        self._write_outputs(repo, wired.services)
        if self.chaos is not None:
            injected = summary(self.chaos, self.backoff)
            (self.out / "chaos.json").write_text(json.dumps(injected, indent=2) + "\n")
        raw = {}
        if self.measure_raw_speed:
            raw = adapters.raw_speed()
        months = len(self.scenario.customers) * (self.until - self.start).days / 30.4375
        return SimulationResult(
            out=self.out,
            seconds=sim_seconds,
            aws_seconds=self.timer.seconds,
            aws_calls=self.timer.calls,
            customer_months=months,
            rejected=self.rejected,
            raw_speed=raw,
            backend=adapters.backend,
            webhooks=self._webhook_summary(),
            chaos=summary(self.chaos) if self.chaos is not None else {},
        )

    def _setup(self) -> None:
        for plan in self.scenario.plans:
            self._api("POST", "/v1/plans", plan.model_dump(mode="json"), where="plans")
        for n, coupon in enumerate(self.scenario.coupons):
            body = coupon.model_dump(mode="json", exclude_none=True)
            self._api("POST", "/v1/coupons", body, where=f"coupons[{n}]")
        if self.scenario.programs is not None:
            body = self.scenario.programs.model_dump(mode="json", exclude_none=True)
            self._api("PUT", "/v1/programs", body | {"version": 0}, where="programs")
        for n, customer in enumerate(self.scenario.customers):
            body = customer.model_dump(exclude={"card", "card_expires"}, exclude_none=True)
            self._api("POST", "/v1/customers", body, where=f"customers[{n}]")
            if customer.card:
                where = f"customers[{n}].card"
                self._attach_card(customer.id, customer.card, where, customer.card_expires)

    def _loop(self) -> None:
        pending = deque(self.scenario.ordered_actions())
        total = (self.until - self.start).total_seconds() or 1.0
        now = self.start
        next_due = self._due.next_due_at() if self._due else None
        next_notice = self._due.next_notice_at() if self._due else None
        while True:
            self.clock.set(now)
            self.on_progress((now - self.start).total_seconds() / total, iso(now) or "")
            if next_due is not None and next_due <= now:
                self._run_due_work(now)  # the schedule runs when something is due
            while pending and utc(pending[0][1].at) <= now:
                index, action = pending.popleft()
                self._apply(index, action)
            self._provider_side(now)
            self._chaos_side(now)
            if next_notice is not None and next_notice <= now and on_the_hour(now):
                self._send_reminders(now)  # the hourly reminders run, when an email is due
            upcoming = [utc(pending[0][1].at)] if pending else []
            upcoming += self._provider_upcoming()
            upcoming += [at for at, _, _ in self._chaos_later]
            next_due = self._due.next_due_at() if self._due else None
            if next_due is not None:
                # Work that is still due now failed this round: the schedule runs again later.
                upcoming.append(next_due if next_due > now else now + SCHEDULER_TICK)
            next_notice = self._due.next_notice_at() if self._due else None
            if next_notice is not None:
                # Emails go out on the hourly run at or after their time.
                upcoming.append(hour_at_or_after(max(next_notice, now + timedelta(seconds=1))))
            upcoming = [m for m in upcoming if m <= self.until]
            if not upcoming:
                break
            now = max(min(upcoming), now + timedelta(seconds=1))
        self.clock.set(self.until)
        self.on_progress(1.0, iso(self.until) or "")

    def _run_due_work(self, now: datetime, tries: int = 0) -> None:
        """One run of the renewals schedule, then the charger drains the queue."""
        if self.chaos is not None:
            self._run_due_work_under_chaos(now, tries)
            return
        for _ in range(1000):  # a run reads one page of due work; bounded, never endless
            result = functions.invoke(
                "renewals-scheduler", functions.scheduler_event(iso(now) or "")
            )
            if not result.get("queued") or not functions.drain_renewal_queue(
                self._sqs, self._queue_url
            ):
                return  # nothing due, or only work that keeps failing (retried next tick)
            if not self._still_due(now):
                return  # the run that would follow would find nothing: skip its queries

    def _still_due(self, now: datetime) -> bool:
        upcoming = self._due.next_due_at() if self._due else None
        return upcoming is not None and upcoming <= now

    def _send_reminders(self, now: datetime, tries: int = 0) -> None:
        # One run sends everything due (it repeats its passes until none is left).
        event = functions.scheduler_event(iso(now) or "")
        if self.chaos is None:
            functions.invoke("reminders", event)
            return
        if not self._scheduled_run("reminders", event):
            self._retry_run(lambda n: self._send_reminders(now, n), tries)

    # -- under chaos: Lambda's side of a crash (redelivery, the schedule's retries) --------
    def _invoke(self, name: str, event: dict[str, Any]) -> Any:
        assert self.chaos is not None
        with self.chaos.running(name):
            return functions.invoke(name, event)

    def _scheduled_run(self, name: str, event: dict[str, Any]) -> Any:
        """A scheduled invocation; None when it failed (its process died, or it raised), as
        EventBridge Scheduler sees it."""
        try:
            return self._invoke(name, event)
        except (SimulatedCrash, Exception):
            return None

    def _retry_run(self, run: Callable[[int], None], tries: int) -> None:
        """The schedule's retry policy: the same run again a little later, a few times."""
        if tries < SCHEDULE_RETRIES:
            self._later(self.clock.now() + SCHEDULE_RETRY, lambda: run(tries + 1))

    def _later(self, at: datetime, work: Callable[[], None]) -> None:
        self._chaos_later.append((at, len(self._chaos_later), work))
        self._chaos_later.sort(key=lambda item: (item[0], item[1]))

    def _chaos_side(self, now: datetime) -> None:
        while self._chaos_later and self._chaos_later[0][0] <= now:
            self._chaos_later.pop(0)[2]()

    def _run_due_work_under_chaos(self, now: datetime, tries: int) -> None:
        event = functions.scheduler_event(iso(now) or "")
        for _ in range(1000):
            result = self._scheduled_run("renewals-scheduler", event)
            # What it queued before it failed is worked all the same.
            worked = self._drain_under_chaos()
            if result is None:
                self._retry_run(lambda n: self._run_due_work(now, n), tries)
                return
            if not result.get("queued") or not worked:
                return

    def _drain_under_chaos(self) -> int:
        """functions.drain_renewal_queue, with the charger's process liable to die: a batch
        whose invocation died is not deleted, and SQS delivers it again once its
        visibility timeout has passed."""
        worked = 0
        while True:
            batch = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return worked
            try:
                response = self._invoke(
                    "renewals-charger", functions.sqs_event(batch, functions.RENEWAL_QUEUE_ARN)
                )
            except (SimulatedCrash, Exception):
                # Died, or failed as a whole (Powertools raises when every record of the
                # batch failed): Lambda deletes nothing, and SQS delivers the batch again.
                handles = [m["ReceiptHandle"] for m in batch]
                self._later(self.clock.now() + self._visibility, self._redeliverer(handles))
                continue
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            worked += len(batch) - len(failed)
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)
                ],
            )

    def _redeliverer(self, handles: list[str]) -> Callable[[], None]:
        def redeliver() -> None:
            # moto keeps visibility in wall-clock time: the simulated timeout has passed.
            self._sqs.change_message_visibility_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0}
                    for n, h in enumerate(handles)
                ],
            )
            self._drain_under_chaos()

        return redeliver

    # -- output -----------------------------------------------------------------------------
    def _write_outputs(self, repo: Repository, services: Services) -> None:
        if self.chaos is not None:
            self.chaos.armed = False  # what is read for the output is not faulted
        customer_ids = [c.id for c in self.scenario.customers]
        state = build_state(repo, customer_ids, rows=SpillingRows)  # in a file: see there
        write_state_json(self.out / "state.json", state)
        events = OutputEvents(repo, self.start, self.until + timedelta(seconds=1))
        with (self.out / "events.jsonl").open("w") as fh:
            for event in events:
                fh.write(json.dumps(event, sort_keys=True) + "\n")
        currency = reporting_currency(self.scenario.plans)
        # Metrics are output, not simulation: their calls stay out of the run's AWS time.
        seconds, calls = self.timer.seconds, self.timer.calls
        if self.chaos is None:
            doc = build_simulation_metrics(services, self.start, self.until, currency)
        else:
            doc = self._metrics_under_chaos(services, currency)
        self.timer.seconds, self.timer.calls = seconds, calls
        write_metrics_json(self.out, doc)
        write_report(
            self.out, state, self.rejected, title="Tenure simulation", metrics=doc, events=events
        )

    def _metrics_under_chaos(self, services: Services, currency: str | None) -> dict[str, Any]:
        """The daily schedule of the metrics function, run for every simulated day (a calm
        run aggregates them in one backfill): each run aggregates yesterday plus any day a
        failed run left behind; a run that died is retried by the schedule, and failing
        that, the next day's run catches up. The document is read from what they wrote."""
        from tenure.services import retention

        assert self.chaos is not None
        first, last = self.start.date(), self.until.date()
        # These runs come after the scenario (their days are over): each retries until done,
        # so none is spared for coming late.
        self.chaos.armed, self.chaos.quiet_from = True, None
        day = first
        while day <= last:
            moment = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
            event = functions.scheduler_event(iso(moment + timedelta(minutes=5)) or "")
            for _ in range(1 + SCHEDULE_RETRIES):
                if self._scheduled_run("metrics", event) is not None:
                    break
            day += timedelta(days=1)
        self.chaos.armed = False
        # A last run whose retries all failed is caught up by the next day's run.
        self._invoke("metrics", functions.scheduler_event(iso(moment) or ""))
        return retention.metrics_document(services, first, last, currency)
