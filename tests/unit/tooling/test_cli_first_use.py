"""The `tenure` command as a new user first meets it: its version, and how a run ends."""

import json
import socket
from importlib.metadata import PackageNotFoundError
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tenure_local.cli.main import app
from tenure_local.simulator.run_summary import SummaryInputError, business_lines
from tenure_local.simulator.simulate import SimulationResult


def test_version_prints_the_installed_package_version_and_nothing_else() -> None:
    from importlib.metadata import version

    done = CliRunner().invoke(app, ["--version"])

    assert done.exit_code == 0
    assert done.stdout == f"tenure {version('tenure')}\n"


def test_version_from_a_checkout_never_installed_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr("importlib.metadata.version", missing)

    done = CliRunner().invoke(app, ["--version"])

    assert done.exit_code == 1
    assert "tenure is not installed" in done.output and "make venv" in done.output


def test_the_commands_still_run_beside_the_version_option() -> None:
    done = CliRunner().invoke(app, ["report", "/nonexistent-folder"])

    assert done.exit_code == 2
    assert "holds neither metrics.json nor state.json" in done.output


def month(name: str, **figures: Any) -> dict[str, Any]:
    row = dict.fromkeys(
        (
            "mrr_start", "mrr_end", "customers_start", "customers_end", "customers_new",
            "customers_reactivated", "customers_lost", "invoices_failed", "invoices_recovered",
            "voluntary_churned", "involuntary_churned",
        ),
        0,
    )  # fmt: skip
    return {"month": name, "customer_churn_rate": None, **row, **figures}


def write_run(folder: Path, emails: int = 2, **doc: Any) -> Path:
    (folder / "outbox").mkdir(parents=True, exist_ok=True)
    for n in range(emails):
        (folder / "outbox" / f"{n}.eml").write_text("x")
    metrics = {
        "currency": "USD",
        "start": "2026-01-31",
        "until": "2026-04-01",
        "daily": [
            {"date": "2026-01-31", "mrr": 1000},
            {"date": "2026-02-10", "mrr": 29000},
            {"date": "2026-02-11", "mrr": 29000},
            {"date": "2026-04-01", "mrr": 11000},
        ],
        "monthly": [
            month("2026-01", mrr_end=1000, customers_end=1, customers_new=1),
            month(
                "2026-02", mrr_start=1000, mrr_end=29000, customers_start=1, customers_end=10,
                customers_new=9, invoices_failed=3, invoices_recovered=2,
            ),
            month(
                "2026-03", mrr_start=29000, mrr_end=11000, customers_start=10, customers_end=4,
                customers_reactivated=1, customers_lost=7, customer_churn_rate=0.7,
                voluntary_churned=5, involuntary_churned=2, invoices_failed=1,
            ),
            month("2026-04", mrr_start=11000, mrr_end=11000, customers_start=4, customers_end=4),
        ],
        "other_currencies": {},
    } | doc  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def test_the_business_lines_say_what_metrics_json_and_the_outbox_hold(tmp_path: Path) -> None:
    lines = business_lines(write_run(tmp_path, emails=3))

    assert lines == [
        "The business from 2026-01-31 to 2026-04-01 (USD):",
        "  MRR        $110.00 at the end, from $0.00 at the start; peak $290.00 on 2026-02-10",
        "  customers  4 paying at the end; 10 new, 1 came back",
        "  churn      7 customers lost (5 left, 2 for failed payments); in March 2026, the last"
        " whole month: 7 of 10 (70%)",
        "  recovered  2 of 4 invoices whose first payment failed (50%)",
        "  emails     3 sent to customers",
    ]


def test_a_run_that_billed_nothing_says_so_rather_than_print_zeros(tmp_path: Path) -> None:
    lines = business_lines(write_run(tmp_path, emails=0, currency=None, monthly=[], daily=[]))

    assert lines[1:] == ["  no subscriptions were billed", "  emails     0 sent to customers"]


def test_no_peak_is_named_when_the_end_is_the_peak_and_other_currencies_are_pointed_to(
    tmp_path: Path,
) -> None:
    folder = write_run(
        tmp_path, daily=[{"date": "2026-02-01", "mrr": 500}], other_currencies={"EUR": {}}
    )

    lines = business_lines(folder)

    assert lines[1] == "  MRR        $110.00 at the end, from $0.00 at the start"
    assert "  also billed in EUR: see the report" in lines


def test_a_folder_without_metrics_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(SummaryInputError, match=r"metrics\.json"):
        business_lines(tmp_path)


GOOD = """\
start: 2026-01-31T09:00:00Z
until: 2026-04-01T00:00:00Z
plans: [{id: basic, amount: 1000, currency: USD, interval: month}]
customers: [{id: alice, email: alice@example.com}]
"""


class FakeSimulator:
    """Writes what a run writes and returns its statistics, without a stack."""

    def __init__(self, scenario: Any, out: Path, **options: Any) -> None:
        self.out = out

    def run(self) -> SimulationResult:
        write_run(self.out)
        return SimulationResult(
            out=self.out,
            seconds=2.0,
            aws_seconds=1.5,
            aws_calls=300,
            customer_months=4.0,
            rejected=[{"at": "2026-02-01T00:00:00Z", "where": "actions[2]", "status": 409,
                       "response": "conflict"}],
            raw_speed={"conditional_puts_per_s": 300, "transact_writes_per_s": 120},
            backend="dynamodb-local",
            webhooks={"delivered": {200: 5}, "chaos": False, "duplicates_sent": 0, "late": 0},
        )  # fmt: skip


def simulate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> Any:
    monkeypatch.setattr("tenure_local.simulator.simulate.Simulator", FakeSimulator)
    (tmp_path / "s.yaml").write_text(GOOD)
    args = ["simulate", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"), *extra]
    return CliRunner().invoke(app, args)


def test_simulate_ends_with_the_business_and_keeps_engine_statistics_for_verbose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = simulate(tmp_path, monkeypatch)

    assert done.exit_code == 0, done.output
    assert "customer-months" not in done.output and "AWS calls" not in done.output
    assert "webhooks:" not in done.output and "raw local DynamoDB" not in done.output
    assert "  MRR        $110.00 at the end" in done.stdout
    assert "1 action(s) refused by the API" in done.output  # scripts read this line
    assert "  2026-02-01T00:00:00Z actions[2]: 409 conflict" in done.output
    out = (tmp_path / "out").resolve()
    assert done.stdout.splitlines()[-2:] == [
        f"outbox: 2 emails in {out / 'outbox'}",
        f"report: {out / 'report.html'}",
    ]


def test_simulate_verbose_adds_the_engine_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = simulate(tmp_path, monkeypatch, "--verbose")

    assert done.exit_code == 0, done.output
    assert "simulated 4 customer-months in 2.00 s (2.0 customer-months/s)" in done.output
    assert "time in AWS calls: 1.50 s over 300 calls" in done.output
    assert "300 conditional puts/s" in done.output and "webhooks: 5x 200" in done.output
    assert "  MRR        $110.00 at the end" in done.stdout


@pytest.mark.parametrize("workers", ["1", "3"])
def test_serve_on_a_taken_port_refuses_before_any_stack_is_built(
    monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    built: list[object] = []
    monkeypatch.setattr(
        "tenure_local.stack.local_stack.LocalStack", lambda *a, **k: built.append(a)
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])

        done = CliRunner().invoke(app, ["serve", "--port", port, "--workers", workers])

    assert done.exit_code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in done.output
    assert built == []


def test_serve_on_an_address_not_of_this_machine_says_which_to_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[object] = []
    monkeypatch.setattr(
        "tenure_local.stack.local_stack.LocalStack", lambda *a, **k: built.append(a)
    )

    done = CliRunner().invoke(app, ["serve", "--host", "192.0.2.1", "--port", "0"])

    assert done.exit_code == 1
    assert "192.0.2.1 is not an address of this machine" in done.output
    assert built == []


def test_instalments_paid_are_counted_in_every_currency_they_were_billed_in(
    tmp_path: Path,
) -> None:
    usd = [
        month("2026-01", installments_paid=2, installments_collected=50_000),
        month("2026-02", installments_paid=1, installments_collected=25_003),
    ]
    eur = {"monthly": [month("2026-02", installments_paid=3, installments_collected=12_000)]}
    folder = write_run(tmp_path, monthly=usd, other_currencies={"EUR": eur})

    lines = business_lines(folder)

    assert "  instalments 6 paid, $750.03 + €120.00 collected" in lines


def test_a_run_without_instalments_prints_no_instalment_line(tmp_path: Path) -> None:
    lines = business_lines(write_run(tmp_path))

    assert not any("instalment" in line for line in lines)
