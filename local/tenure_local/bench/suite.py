"""`make bench`: cold-start import cost, DynamoDB requests per API call, simulation speed,
and the renewal, webhook, metrics and reminder figures of the bench_* modules (see
docs/benchmarks.md). It prints one table and writes it, with every figure behind it, the
machine and the commit, to OUT/bench.txt and OUT/bench.json."""

import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tenure_local.bench import renewals as bench_renewals
from tenure_local.bench.api_first_request import api_first_request
from tenure_local.runtime.functions import FUNCTIONS

REPO = Path(__file__).resolve().parents[3]
LAYER = REPO / "layers" / "common"
# The table sizes of the scheduler, metrics and reminder benches. `make bench` keeps under 10
# minutes on 2 cores: loading 100,000-subscription tables alone takes about 9 of them, so
# the default measures 2,000 and 20,000 (ten times apart: what must stay flat with size
# still shows) and `make bench-full` the issues' 10,000 and 100,000.
DEFAULT_SIZES = (2_000, 20_000)
FULL_SIZES = (10_000, 100_000)


class RecordingTable(Table):
    """A rich table that also keeps its rows as plain text, for bench.json."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows_as_text: list[dict[str, str]] = []

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        super().add_row(*cells, **kwargs)
        names = [str(c.header) for c in self.columns]
        self.rows_as_text.append({n: str(c) for n, c in zip(names, cells, strict=False)})


_IMPORT_HANDLER = """
import sys, time
sys.path[:0] = [{layer!r}, {folder!r}]
t = time.perf_counter()
import importlib.util
spec = importlib.util.spec_from_file_location("app", {path!r})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
print(time.perf_counter() - t)
"""
_IMPORT_BOTO = """
import time
t = time.perf_counter()
import boto3
boto3.client("dynamodb", region_name="us-east-1")
print(time.perf_counter() - t)
"""


def _sample(code: str, env: dict[str, str] | None = None) -> float:
    """Seconds one fresh interpreter takes to run `code` (a cold start is a fresh one)."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"} | (env or {}),
    )
    return float(done.stdout.strip().splitlines()[-1])


def _median(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] if ordered else float("nan")


def cold_starts(rounds: int = 7) -> list[tuple[str, float, float]]:
    """(function, seconds, ratio to boto3): medians over `rounds` rounds, each importing
    boto3 once and then every handler, so that a machine getting busier or quieter meanwhile
    moves both sides of a ratio. A handler that fails to import has seconds NaN."""
    folders = sorted(p for p in FUNCTIONS.iterdir() if (p / "app.py").exists())
    boto: list[float] = []
    samples: dict[str, list[float]] = {f.name: [] for f in folders}
    failed: set[str] = set()
    for _ in range(rounds):
        boto.append(_sample(_IMPORT_BOTO))
        for folder in folders:
            if folder.name in failed:
                continue
            code = _IMPORT_HANDLER.format(
                layer=str(LAYER), folder=str(folder), path=str(folder / "app.py")
            )
            try:
                samples[folder.name].append(_sample(code))
            except subprocess.CalledProcessError as exc:
                # One broken handler must not hide every other figure: its row says it failed.
                last = (exc.stderr or "").strip().splitlines()[-1:] or ["failed"]
                print(f"import functions/{folder.name} failed: {last[0]}", file=sys.stderr)
                failed.add(folder.name)
    base = _median(boto)
    rows = []
    for folder in folders:
        seconds = float("nan") if folder.name in failed else _median(samples[folder.name])
        rows.append((folder.name, seconds, seconds / base))
    return rows


def requests_per_call() -> dict[str, int]:
    """DynamoDB requests made by create-subscription and get-subscription through the API."""
    import boto3

    from tenure import bootstrap
    from tenure.fakes import FixedClock
    from tenure.services.context import Services
    from tenure.store.dynamodb import DynamoRepository
    from tenure_local.runtime import functions
    from tenure_local.stack.local_stack import LocalStack

    counts: dict[str, int] = {}
    with LocalStack() as stack:
        stack.apply_env()
        bootstrap.use(None)
        calls: list[str] = []
        ddb = boto3.client("dynamodb")
        ddb.meta.events.register(
            "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
        )
        from datetime import UTC, datetime

        clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
        bootstrap.use(
            bootstrap.Wiring(Services(DynamoRepository(ddb, stack.env["TABLE_NAME"]), clock))
        )
        auth = {"authorization": f"Bearer {stack.env['TENURE_API_TOKEN']}"}

        def call(method: str, path: str, body: Any = None) -> dict[str, Any]:
            result: dict[str, Any] = functions.invoke(
                "api", functions.http_event(method, path, body, headers=auth)
            )
            return result

        plan = {"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}
        call("POST", "/v1/plans", plan)
        call("POST", "/v1/customers", {"id": "c1", "email": "c1@example.com"})
        calls.clear()
        created = call("POST", "/v1/subscriptions", {"id": "s1", "customer": "c1", "plan": "basic"})
        counts["create-subscription"] = len(calls)
        counts["create-subscription-status"] = int(created.get("statusCode", 0))
        calls.clear()
        call("GET", "/v1/subscriptions/s1")
        counts["get-subscription"] = len(calls)
        bootstrap.use(None)
    return counts


def simulation_speed() -> tuple[float, float, float, dict[str, Any]]:
    """Customer-months/s, Tenure's share of the run time, seconds, and the provider calls
    per successful charge the run's sandbox counted (bench.provider_calls)."""
    from tenure_local.bench.provider_calls import per_successful_charge
    from tenure_local.simulator.scenario import load
    from tenure_local.simulator.simulate import Simulator

    scenario = load(REPO / "examples" / "bench.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        simulator = Simulator(scenario, Path(tmp) / "out", measure_raw_speed=False)
        result = simulator.run()
        state = json.loads((Path(tmp) / "out" / "state.json").read_text())
    assert simulator.gateway is not None  # made by the run
    calls = per_successful_charge(simulator.gateway, state)
    return result.customer_months / result.seconds, result.own_share, result.seconds, calls


def memory_scale_rows(table: Table, full: bool) -> dict[str, Any]:
    """The memory engine on generated mixed scenarios of growing size, each in a fresh
    interpreter (tenure_local.bench.simulation_scale): 500 and 2,000 customers over six
    months (the first is examples/mixed-500.yaml), and with `full` a 10,000-customer year."""
    from tenure_local.bench import simulation_scale

    sizes = [(500, 6), (2_000, 6), *([(10_000, 12)] if full else [])]
    runs = [simulation_scale.measure(customers, months) for customers, months in sizes]
    for run in runs:
        table.add_row(
            f"simulate --engine memory, {run['customers']:,} customers × {run['months']} months:"
            " customer-months/s by wall time (by CPU time); peak RSS",
            f"{run['customer_months_per_s']:.1f} ({run['customer_months_per_cpu_s']:.1f});"
            f" {run['peak_rss_mb']:,.0f} MB in {run['wall_seconds']:.0f} s",
            "≥ 200; < 1,024 MB",
        )
    ratio = simulation_scale.flatness(runs)
    table.add_row(
        f"simulate --engine memory: CPU per customer-month, {runs[-1]['customers']:,} customers"
        f" ÷ {runs[0]['customers']:,}",
        f"{ratio:.2f}",
        "≤ 1.2",
    )
    return {"runs": runs, "cpu_per_customer_month_ratio": ratio}


def renewal_rows(table: Table, figures: dict[str, Any]) -> Table:
    """Adds the renewal rows to `table`; returns the per-step breakdown as its own table."""
    p, sched, prov = figures["pipeline"], figures["scheduler"], figures["provider"]
    ops = ", ".join(f"{op} {n:.2f}" for op, n in p["by_operation"].items())
    table.add_row(
        f"Renewal: DynamoDB requests per successful renewal ({p['renewed']} of "
        f"{p['subscriptions']} renewed)",
        f"{p['requests_per_renewal']:.2f} ({ops})",
        "≤ 3 (floor 2)",
    )
    rcu_from = "DynamoDB Local's" if p["rcu_source"] == "dynamodb-local" else "estimated"
    table.add_row(
        f"Renewal: capacity units per renewal (WCU estimated from the requests, {rcu_from} RCU)",
        f"{p['wcu_per_renewal']:.1f} WCU ({p['index_wcu_per_renewal']:.1f} on indexes)"
        f" + {p['rcu_per_renewal']:.1f} RCU",
        f"≤ 20 WCU (floor {p['floor_wcu_per_renewal']:.1f}: each item changed written once, "
        f"{p['floor_index_wcu_per_renewal']:.1f} on indexes)",
    )
    if long := figures.get("pipeline_long_ids"):
        table.add_row(
            "Renewal: capacity units per renewal with ids of the API's and Stripe's length "
            "(sub_/cus_/pm_ + 24 characters)",
            f"{long['wcu_per_renewal']:.1f} WCU ({long['index_wcu_per_renewal']:.1f} on "
            f"indexes) + {long['rcu_per_renewal']:.1f} RCU",
            f"≤ the short ids' {p['wcu_per_renewal']:.1f} WCU (floor "
            f"{long['floor_wcu_per_renewal']:.1f})",
        )
    if "reported_rcu_per_renewal" in p:
        table.add_row(
            "Renewal: capacity units per renewal as DynamoDB Local reports them",
            f"{p['reported_wcu_per_renewal']:.1f} WCU + {p['reported_rcu_per_renewal']:.1f} RCU",
            "",
        )
    for row in sched["rows"]:
        due, size = row["due"], row["table_items"]
        if row.get("short_of"):
            table.add_row(
                f"Scheduler: {row['short_of']:,} subscriptions did not fit the bench's load "
                f"budget ({sched['load_budget_s']:.0f} s at {sched['load_items_per_s']:,.0f} "
                f"items/s): measured at {size:,}",
                "-",
                "",
            )
    for row in sched["rows"]:
        due, size = row["due"], row["table_items"]
        table.add_row(
            f"Scheduler: items read for {due:,} due by one due(limit={due:,}), "
            f"{size:,} subscriptions",
            f"{row['one_call_items_read']:,} ({row['one_call_items_read'] / due:.2f} × due, "
            f"{row['one_call_queries']} queries)",
            "≤ 1.1 × due, same at every size",
        )
    for row in sched["rows"]:
        due, size = row["due"], row["table_items"]
        table.add_row(
            f"Scheduler as deployed (pages of {row['deployed_page']} until none due): items read "
            f"for {due:,} due, {size:,} subscriptions",
            f"{row['deployed_items_read']:,} ({row['deployed_items_read'] / due:.2f} × due, "
            f"{row['deployed_runs']} runs)",
            "≤ 1.1 × due",
        )
    table.add_row(
        f"Scheduler tables: BatchWriteItem load of {sched['loaded_items']:,} items",
        f"{sched['load_seconds']:.0f} s ({sched['load_items_per_s']:,.0f} items/s)",
        "",
    )
    table.add_row(
        "Renewals/s through the local pipeline (scheduler, SQS, charger)",
        f"{p['renewals_per_s']:.1f}",
        "",
    )
    table.add_row(
        f"Renewals/s of raw DynamoDB Local: the same {p['raw']['requests']:,} requests replayed",
        f"{p['raw_renewals_per_s']:.1f}",
        "",
    )
    table.add_row("Renewal pipeline ÷ raw DynamoDB Local", f"{p['pipeline_over_raw']:.2f}", "")
    table.add_row(
        "Provider calls per renewal (sandbox gateway)", f"{p['provider_calls_per_renewal']:.2f}", ""
    )
    table.add_row(
        f"Projected hours for {prov['renewals']:,} renewals at {prov['provider_rps']:g} provider "
        f"requests/s ({bench_renewals.PROVIDER_RPS_ENV})",
        f"{prov['hours']:.1f} h",
        f"floor {prov['floor_hours_one_call']:.1f} h (1 call); "
        f"{prov['hours_at_stripe_live_limit']:.1f} h at Stripe's "
        f"{bench_renewals.STRIPE_LIVE_RPS:g}/s",
    )
    steps = Table(title="DynamoDB requests per successful renewal, by step")
    steps.add_column("request  call chain in tenure.services  repository method")
    steps.add_column("per renewal", justify="right")
    for step, n in p["by_step"].items():
        steps.add_row(step, f"{n:.2f}")
    return steps


def webhook_rows(table: Table) -> dict[str, Any]:
    """Webhooks (issue 5): requests per applied event and per duplicate, on DynamoDB Local."""
    from tenure_local.bench import webhooks as webhooks_bench

    w = webhooks_bench.measure()
    # `requests` is already per event (see webhooks_bench.measure).
    for kind, label in (("settle", "settle a pending payment"), ("refund", "a refund")):
        table.add_row(
            f"Webhook ({label}): DynamoDB requests per applied event",
            f"{w[kind]['requests']:.2f} ({_by_operation(w[kind]['by_operation'])})",
            "≤ 2",
        )
    table.add_row(
        "Webhook: DynamoDB requests per duplicate delivery",
        f"{w['duplicate']['requests']:.2f} ({_by_operation(w['duplicate']['by_operation'])})",
        "1",
    )
    table.add_row(
        "Webhook handler time ÷ a bare conditional put (DynamoDB Local; applied / duplicate)",
        f"{w['ratio_to_bare_put']['refund']:.0f} / {w['ratio_to_bare_put']['duplicate']:.1f}",
        "",
    )
    return w


def _by_operation(per_op: dict[str, float]) -> str:
    return ", ".join(f"{n:g} {op}" for op, n in per_op.items())


def metrics_rows(table: Table, default: tuple[int, ...] = DEFAULT_SIZES) -> dict[str, Any]:
    """Metrics (issue 7): items read by the daily run, report build time."""
    from tenure_local.bench import metrics as bench_metrics

    # At 10,000 and 100,000 subscriptions the loads take about 7 minutes here.
    # TENURE_BENCH_METRICS_SIZES=1000,5000 gives a quick look (the report uses the last).
    given = os.environ.get("TENURE_BENCH_METRICS_SIZES")
    sizes = tuple(int(s) for s in given.split(",")) if given else default
    m = bench_metrics.run_all(sizes=sizes, report_size=sizes[-1])
    for row in m["daily_reads"]:
        table.add_row(
            f"Metrics daily run: items read for {row['changes']:,} changes, "
            f"{row['subscriptions']:,} subscriptions",
            f"{row['items_read']:,} ({row['items_read'] / row['changes']:.2f} × changes)",
            "≤ 1.1 × changes + c, equal at every size",
        )
    r = m["report"]
    table.add_row(
        f"Metrics report build (metrics.json + report.html): {r['subscriptions']:,} "
        f"subscriptions × {r['days']} days, {r['ledger_entries']:,} ledger entries",
        f"{r['seconds']:.1f} s",
        "",
    )
    loads = [*m["daily_reads"], r]
    table.add_row(
        "Metrics tables: BatchWriteItem load of "
        + " / ".join(f"{row['items_loaded']:,}" for row in loads)
        + " items",
        " / ".join(f"{row['load_seconds']:.0f} s" for row in loads),
        "",
    )
    return m


def reminder_rows(table: Table, default: tuple[int, ...] = DEFAULT_SIZES) -> dict[str, Any]:
    """Reminders (issue 6): what the hourly run costs per email, at two table sizes."""
    from tenure_local.bench import reminders as bench_reminders

    # TENURE_BENCH_REMINDER_SIZES overrides the sizes; the load budget is TENURE_BENCH_LOAD_S
    # (see bench_renewals.load_budget); 100,000 subscriptions take about 260 s to load here.
    given = os.environ.get(bench_reminders.SIZES_ENV)
    figures = bench_reminders.run_all(sizes=bench_reminders.sizes_from_env() if given else default)
    reads, render = figures["reads"], figures["render"]
    rows = reads["rows"]
    for row in rows:
        if row.get("short_of"):
            table.add_row(
                f"Reminders: {row['short_of']:,} subscriptions did not fit the load budget "
                f"({reads['load_budget_s']:.0f} s at {reads['load_items_per_s']:,.0f} items/s): "
                f"measured at {row['subscriptions']:,}",
                "-",
                "",
            )
    for row in rows:
        runs = ", ".join(f"{n:,}" for n in row["read_per_run"])
        table.add_row(
            f"Reminders: items read to send {row['due']:,} due emails, "
            f"{row['subscriptions']:,} subscriptions (runs of up to {row['limit']:,})",
            f"{row['items_read']:,} ({row['items_read_per_email']:.2f} per email; "
            f"{row['sent']:,} sent, due read per run {runs})",
            "equal at every size",
        )
    if len(rows) > 1 and not reads["equal_items_read"]:
        table.add_row("Reminders: items read differ between sizes", "see bench_reminders", "")
    last = rows[-1]
    ops = ", ".join(f"{op} {n:.2f}" for op, n in last["by_operation"].items())
    table.add_row(
        "Reminders: DynamoDB requests per email sent",
        f"{last['requests_per_email']:.2f} ({ops})",
        "≤ 2.2 (floor: the claim, the record, the due query's share)",
    )
    table.add_row(
        "Reminders: items read per email sent",
        f"{last['items_read_per_email']:.2f}",
        "≤ 1.2 (floor: the notice itself)",
    )
    rcu_from = "DynamoDB Local's" if last["rcu_source"] == "dynamodb-local" else "estimated"
    table.add_row(
        f"Reminders: capacity units per email (WCU estimated, {rcu_from} RCU)",
        f"{last['wcu_per_email']:.1f} WCU ({last['index_wcu_per_email']:.1f} on indexes)"
        f" + {last['rcu_per_email']:.1f} RCU",
        "",
    )
    table.add_row(
        "Reminders: emails sent per second (real templates, DynamoDB Local, no SES)",
        f"{last['emails_per_s']:.1f}",
        "",
    )
    table.add_row(
        f"Reminders tables: BatchWriteItem load of {reads['loaded_items']:,} items",
        f"{reads['load_seconds']:.0f} s ({reads['load_items_per_s']:,.0f} items/s)",
        "",
    )
    table.add_row(
        "Emails rendered per second (render / whole message)",
        f"{render['render_per_s']:,.0f} / {render['emails_per_s']:,.0f}",
        "",
    )
    return figures


def run(console: Console, sizes: tuple[int, ...] = DEFAULT_SIZES, out: Path | None = None) -> None:
    from tenure_local.simulator.simulate import QUIET_ENV

    os.environ.update(QUIET_ENV)
    began = time.perf_counter()
    facts = machine_facts()
    table = RecordingTable(
        title="Tenure benchmarks (one run on this machine; ratios are what to compare)"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    figures: dict[str, Any] = {"sizes": list(sizes)}
    stages = StageClock()
    figures["stage_seconds"] = stages.seconds
    stages.start("cold_starts")
    figures["cold_starts"] = [
        {"function": name, "seconds": None if math.isnan(seconds) else seconds, "ratio": ratio}
        for name, seconds, ratio in cold_starts()
    ]
    for row in figures["cold_starts"]:
        table.add_row(
            f"import functions/{row['function']} (cold start) ÷ import boto3 + client",
            "import failed"
            if row["seconds"] is None
            else f"{row['ratio']:.2f} ({row['seconds'] * 1000:.0f} ms)",
            "≤ 1.5",
        )
    seconds, ratio = api_first_request()
    figures["api_first_request"] = {"seconds": None if math.isnan(seconds) else seconds}
    figures["api_first_request"]["ratio"] = None if math.isnan(ratio) else ratio
    table.add_row(
        "import functions/api + its first POST /v1/customers ÷ import boto3 + client",
        "failed" if math.isnan(seconds) else f"{ratio:.2f} ({seconds * 1000:.0f} ms)",
        "(no target)",
    )
    stages.start("requests_per_call")
    counts = requests_per_call()
    figures["requests_per_call"] = counts
    table.add_row(
        "DynamoDB requests: POST /v1/subscriptions (warm, no card yet)",
        str(counts["create-subscription"]),
        "≤ 2",
    )
    table.add_row(
        "DynamoDB requests: GET /v1/subscriptions/{id}", str(counts["get-subscription"]), "1"
    )
    stages.start("simulate_bench")
    speed, own, seconds, calls = simulation_speed()
    figures["simulate_bench"] = {
        "customer_months_per_s": speed,
        "own_share": own,
        "seconds": seconds,
        "provider_calls": calls,
    }
    table.add_row(
        "simulate examples/bench.yaml (DynamoDB Local): customer-months/s", f"{speed:.1f}", "≥ 20"
    )
    table.add_row("simulate: Tenure's own share of run time", f"{own:.0%}", "≤ 50%")
    table.add_row(
        f"simulate: provider calls per successful charge, every charge ({calls['succeeded']} "
        f"of {calls['attempts']} attempts succeeded; sandbox's count)",
        f"{calls['per_successful_charge']:.3f} ({calls['per_attempt']:.3f} per attempt)",
        "≤ 1.05 (floor 1)",
    )
    stages.start("simulate_memory")
    scale = memory_scale_rows(table, full=sizes == FULL_SIZES)
    figures["simulate_memory_scale"] = scale
    mixed_500 = scale["runs"][0]  # examples/mixed-500.yaml, as the generator writes it
    figures["simulate_mixed_500_memory"] = {
        "customer_months_per_s": mixed_500["customer_months_per_s"],
        "customer_months_per_cpu_s": mixed_500["customer_months_per_cpu_s"],
        "seconds": mixed_500["wall_seconds"],
    }
    # The large tables load at ~1,000 items/s on 2 idle cores; TENURE_BENCH_LOAD_S caps each
    # bench's load time (then it measures what fits).
    stages.start("renewals")
    renewals = bench_renewals.run_all(sizes=sizes)
    figures["renewals"] = renewals
    steps = renewal_rows(table, renewals)
    stages.start("webhooks")
    figures["webhooks"] = webhook_rows(table)
    stages.start("metrics")
    figures["metrics"] = metrics_rows(table, sizes)
    stages.start("reminders")
    figures["reminders"] = reminder_rows(table, sizes)
    stages.stop()
    console.print(table)
    console.print(steps)
    took = round(time.perf_counter() - began, 1)
    console.print(json.dumps({"bench_seconds": took, "stage_seconds": stages.seconds}))
    if out is not None:
        write_results(out, table, steps, figures, facts | {"bench_seconds": took})


class StageClock:
    """Seconds each stage of the run took, in the order run: what to cut first when the
    whole run grows past its budget (bench.json keeps them beside the total)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.seconds: dict[str, float] = {}
        self._current: tuple[str, float] | None = None

    def start(self, stage: str) -> None:
        self.stop()
        self._current = (stage, self._clock())

    def stop(self) -> None:
        if self._current is not None:
            stage, began = self._current
            self.seconds[stage] = round(self._clock() - began, 1)
            self._current = None


def machine_facts() -> dict[str, Any]:
    """What the figures depend on: the machine, how busy it was, and the code measured."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    meminfo = Path("/proc/meminfo")
    lines = meminfo.read_text().splitlines() if meminfo.exists() else []
    memory_kb = next((int(ln.split()[1]) for ln in lines if ln.startswith("MemTotal:")), 0)
    return {
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no")),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "memory_mb": memory_kb // 1024,
        "load_average_at_start": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def write_results(
    out: Path, table: RecordingTable, steps: Table, figures: dict[str, Any], facts: dict[str, Any]
) -> None:
    """OUT/bench.txt: the tables as printed; OUT/bench.json: each row (measure, value,
    target with its floor), the figures behind them, and the machine and commit."""
    out.mkdir(parents=True, exist_ok=True)
    text = Console(width=160, record=True, file=io.StringIO())
    text.print(table)
    text.print(steps)
    (out / "bench.txt").write_text(text.export_text())
    facts = facts | {"load_average_at_end": list(os.getloadavg())}
    document = {"machine": facts, "rows": table.rows_as_text, "figures": figures}
    (out / "bench.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
