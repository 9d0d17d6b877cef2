"""The renewal capacity bench's second measurement: ids of the length the API and Stripe
make, reported beside the short ids' figures (which stay as they were)."""

import secrets
from typing import Any

from rich.table import Table

from tenure.domain.charges import ChargeOutcome
from tenure.payments.sandbox_cards import behaviour, card_details
from tenure_local.bench import renewal_capacity
from tenure_local.bench.renewals import bench_ids, stripe_length_card
from tenure_local.bench.suite import renewal_rows


def test_short_ids_stay_the_benchs_and_long_ones_are_as_long_as_the_apis() -> None:
    assert bench_ids(7) == ("sub_r00007", "cus_r00007")
    api_sub, api_customer = f"sub_{secrets.token_hex(12)}", f"cus_{secrets.token_hex(12)}"
    sub_id, customer = bench_ids(7, long_ids=True)
    assert (len(sub_id), len(customer)) == (len(api_sub), len(api_customer)) == (28, 28)
    assert sub_id.startswith("sub_") and customer.startswith("cus_")
    int(sub_id[4:], 16), int(customer[4:], 16)  # hex, as the API's
    # Each subscription its own ids, the same in every run (comparable runs).
    assert len({bench_ids(n, long_ids=True) for n in range(100)}) == 100
    assert bench_ids(7, long_ids=True) == (sub_id, customer)


def test_the_long_card_is_the_4242_card_under_a_stripe_length_id_while_the_bench_runs() -> None:
    with stripe_length_card(False) as short:
        assert short == "pm_card_visa"
    with stripe_length_card(True) as alias:
        assert alias.startswith("pm_") and len(alias) == len("pm_") + 24
        assert behaviour(alias) == (ChargeOutcome.SUCCEEDED, None)
        assert card_details(alias) == card_details("pm_card_visa")
    # Forgotten afterwards: the sandbox knows no such card outside the bench.
    assert behaviour(alias)[1] == "invalid_payment_method"
    assert card_details(alias) is None


def pipeline(wcu: float, by_item: dict[str, list[float]]) -> dict[str, Any]:
    return {
        "renewed": 10,
        "subscriptions": 10,
        "requests_per_renewal": 2.8,
        "by_operation": {"TransactWriteItems": 2.0},
        "by_step": {},
        "wcu_per_renewal": wcu,
        "index_wcu_per_renewal": 11.0,
        "floor_wcu_per_renewal": 24.2,
        "floor_index_wcu_per_renewal": 8.0,
        "rcu_per_renewal": 0.4,
        "rcu_source": "estimate",
        "provider_calls_per_renewal": 1.0,
        "renewals_per_s": 5.0,
        "raw_renewals_per_s": 10.0,
        "raw": {"requests": 28},
        "pipeline_over_raw": 0.5,
        "wcu_by_item": by_item,
    }


def test_the_quick_run_prints_the_long_ids_figures_after_the_short_ones() -> None:
    short = pipeline(33.0, {"_claim NOTICE": [4.0, 2.0]})
    alone = renewal_capacity.lines(short)
    both = renewal_capacity.lines(short | {"long_ids": pipeline(37.0, {"_claim NOTICE": [8, 4]})})
    assert both[: len(alone)] == alone  # the short ids' lines unchanged, first
    added = both[len(alone) :]
    assert added[0].startswith("with ids of the API's and Stripe's length: 37.0 WCU per renewal")
    assert any("_claim NOTICE" in line and "8.0 (4.0)" in line for line in added)


def rows(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    table = Table()
    for column in ("measure", "value", "target"):
        table.add_column(column)
    renewal_rows(table, figures)
    cells = [list(column.cells) for column in table.columns]
    return list(zip(*cells, strict=True))


def test_the_bench_table_has_a_long_ids_row_when_the_figures_hold_one() -> None:
    scheduler = {"rows": [], "loaded_items": 0, "load_seconds": 0.0, "load_items_per_s": 0.0}
    provider = {
        "renewals": 1_000_000,
        "provider_rps": 80.0,
        "hours": 3.5,
        "floor_hours_one_call": 3.5,
        "hours_at_stripe_live_limit": 2.8,
    }
    figures = {"pipeline": pipeline(33.0, {}), "scheduler": scheduler, "provider": provider}
    before = rows(figures)
    after = rows(figures | {"pipeline_long_ids": pipeline(35.0, {})})
    (added,) = [row for row in after if row not in before]
    assert "ids of the API's and Stripe's length" in added[0]
    assert added[1].startswith("35.0 WCU") and "33.0 WCU" in added[2]
    assert [row for row in after if row != added] == before  # an older bench.json: no row
