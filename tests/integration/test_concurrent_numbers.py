"""Containers finalizing invoices at once on DynamoDB Local: every invoice gets a number, no
number is given twice, and every series runs from 1 without a gap."""

import re
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from tenure.domain.invoices import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tenure.domain.numbering import Numbering
from tenure.ports import Commit
from tenure.store.dynamodb import DynamoRepository
from tenure_local.stack.local_stack import LocalStack

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
COUNT = 50


def an_invoice(n: int) -> Invoice:
    return Invoice(
        id=f"inv-{n:03d}",
        subscription_id=f"sub-{n}",
        customer_id=f"customer-{n}",
        kind=InvoiceKind.RENEWAL,
        period_start=T0,
        period_end=T0 + timedelta(days=30),
        currency="EUR",
        lines=[InvoiceLine(LineKind.PLAN, "Basic", 1000)],
        status=InvoiceStatus.OPEN,
        created_at=T0,
    )


def finalize_at_once(stack: LocalStack, table: str, numberings: list[Numbering]) -> list[str]:
    """One container (client and repository) per invoice, all committing at the same moment;
    each one first numbers an invoice of its own, as a warm container has, so that what it
    knows of its series is stale by the time of the race. Returns the numbers stored."""
    repos = [
        DynamoRepository(stack.dynamodb_client(), table, numbering=numbering)
        for numbering in numberings
    ]
    for n, repo in enumerate(repos):
        repo.commit(Commit(invoices=[an_invoice(1000 + n)]))  # warm: knows a number
    start = threading.Barrier(len(repos), timeout=300)  # bounded: never a hung run
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait()
            repos[n].commit(Commit(invoices=[an_invoice(n)]))
        except BaseException as exc:  # a finding the test reports
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(repos))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    reader = DynamoRepository(stack.dynamodb_client(), table)
    ids = [f"inv-{n:03d}" for n in range(len(repos))] + [
        f"inv-{1000 + n:03d}" for n in range(len(repos))
    ]
    found = reader.get_invoices(ids)
    assert len(found) == len(ids)
    return [str(invoice.number) for invoice in found.values()]


def assert_gap_free(numbers: list[str]) -> dict[str, list[int]]:
    assert len(set(numbers)) == len(numbers), "a number was given twice"
    series: dict[str, list[int]] = defaultdict(list)
    for number in numbers:
        matched = re.fullmatch(r"(.+)-(\d{6})", number)
        assert matched is not None, number
        series[matched[1]].append(int(matched[2]))
    for head, sequences in series.items():
        assert sorted(sequences) == list(range(1, len(sequences) + 1)), f"a gap in {head}"
    return series


def test_fifty_containers_on_one_series_number_without_gaps_or_doubles(
    local_stack: LocalStack, fresh_table: str
) -> None:
    numbers = finalize_at_once(local_stack, fresh_table, [Numbering()] * COUNT)
    assert assert_gap_free(numbers).keys() == {"INV-2026"}
    assert len(numbers) == 2 * COUNT


def test_fifty_containers_over_eight_series_keep_each_series_gap_free(
    local_stack: LocalStack, fresh_table: str
) -> None:
    # Homes as a cold start would spread them: several containers share each series.
    numberings = [Numbering(series=8, home=n % 8) for n in range(COUNT)]
    numbers = finalize_at_once(local_stack, fresh_table, numberings)
    series = assert_gap_free(numbers)
    assert set(series) <= {f"INV-{letter}-2026" for letter in "ABCDEFGH"}
    assert sum(map(len, series.values())) == 2 * COUNT


def test_a_container_that_lost_its_series_numbers_from_the_next_one(
    local_stack: LocalStack, fresh_table: str
) -> None:
    first = DynamoRepository(
        local_stack.dynamodb_client(), fresh_table, numbering=Numbering(series=2)
    )
    other = DynamoRepository(
        local_stack.dynamodb_client(), fresh_table, numbering=Numbering(series=2)
    )
    first.commit(Commit(invoices=[an_invoice(1)]))
    other.commit(Commit(invoices=[an_invoice(2)]))  # moves series A past what `first` knows
    late = an_invoice(3)
    first.commit(Commit(invoices=[late]))
    assert late.number == "INV-B-2026-000001"
    again = an_invoice(4)
    first.commit(Commit(invoices=[again]))  # stays on B: it knows where B is
    assert again.number == "INV-B-2026-000002"
    found = first.get_invoices(["inv-001", "inv-002"])
    assert (found["inv-001"].number, found["inv-002"].number) == (
        "INV-A-2026-000001",
        "INV-A-2026-000002",
    )
