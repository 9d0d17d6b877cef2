"""examples/catalog.yaml through `tenure simulate` on the memory engine (the engines agree
byte for byte, see test_engines_agree): seats, add-ons and graduated tiers, then price
changes with notice on the tiered plan and an add-on, and a grandfathered one. Every amount
expected here is worked out by hand from the example's catalog, never read from a run."""

import email
import email.policy
import json
import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from tenure_local.simulator.engines import engine_named
from tenure_local.simulator.scenario import load
from tenure_local.simulator.simulate import Simulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog.yaml"
NOTICE = timedelta(days=30)

# The catalog, in cents. Workspace before 1 April: the first 5 seats at 12.00 plus a flat
# 3.00, every further seat at 9.00; after: the first 5 at 14.00 plus 3.00, the rest at 10.00.
WS_4 = 300 + 4 * 1200  # 51.00
WS_7 = 300 + 5 * 1200 + 2 * 900  # 81.00
WS_8 = 300 + 5 * 1200 + 3 * 900  # 90.00
WS_6 = 300 + 5 * 1200 + 1 * 900  # 72.00
WS_3 = 300 + 3 * 1200  # 39.00
NEW_WS_6 = 300 + 5 * 1400 + 1 * 1000  # 83.00
NEW_WS_3 = 300 + 3 * 1400  # 45.00
AUDIT, SSO, NEW_SSO, BASIC, NEW_BASIC = 400, 600, 800, 1500, 1800


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalog")
    Simulator(load(EXAMPLE), folder, measure_raw_speed=False, engine=engine_named("memory")).run()
    return folder


@pytest.fixture(scope="module")
def state(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "state.json").read_text()))


def invoices_of(state: dict[str, Any], sub: str) -> list[tuple[str, str, list[int]]]:
    """(kind, day the invoice's period starts, its line amounts), oldest period first."""
    found = sorted(
        (i["period_start"], i["kind"], [ln["amount"] for ln in i["lines"]])
        for i in state["invoices"]
        if i["subscription"] == sub
    )
    return [(kind, start[:10], amounts) for start, kind, amounts in found]


def subscription(state: dict[str, Any], sub: str) -> dict[str, Any]:
    (found,) = [s for s in state["subscriptions"] if s["id"] == sub]
    return dict(found)


def price_change_emails(out: Path) -> dict[str, list[email.message.EmailMessage]]:
    """The price_change emails, by the customer they went to."""
    sent: dict[str, list[email.message.EmailMessage]] = {}
    for path in sorted((out / "outbox").glob("*-price_change*.eml")):
        customer = path.name.split("-")[1]
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        sent.setdefault(customer, []).append(message)
    return sent


def test_every_invoice_totals_its_lines(state: dict[str, Any]) -> None:
    for invoice in state["invoices"]:
        assert invoice["total"] == sum(ln["amount"] for ln in invoice["lines"]), invoice["id"]


def test_each_per_unit_line_is_its_quantity_times_its_unit_amount(state: dict[str, Any]) -> None:
    checked = 0
    for invoice in state["invoices"]:
        for line in invoice["lines"]:
            if found := re.search(r": (\d+) × (\d+) \(", line["description"]):
                quantity, unit = int(found[1]), int(found[2])
                assert line["amount"] == quantity * unit, line
                checked += 1
    assert checked >= 20  # every add-on line and every Basic line is one


def test_seats_raised_mid_period_are_prorated_to_the_second_and_charged_at_once(
    state: dict[str, Any],
) -> None:
    # alice's period runs 5 Jan 09:00 - 5 Feb 09:00 (31 days); on 20 Jan 09:00, 16 days are
    # left. Unused: (4 seats + audit) × 16/31 = 5,500 × 16 / 31 = 2,838.71 → 2,839.
    # Remaining: (7 seats + audit) × 16/31 = 8,500 × 16 / 31 = 4,387.10 → 4,387.
    assert invoices_of(state, "sub-alice") == [
        ("first", "2026-01-05", [WS_4, AUDIT]),
        ("proration", "2026-01-20", [-2839, 4387]),
        ("renewal", "2026-02-05", [WS_7, AUDIT]),
        # 6 seats and no audit log from the period's end (scheduled on 25 Feb).
        ("renewal", "2026-03-05", [WS_6]),
        ("renewal", "2026-04-05", [NEW_WS_6]),
        ("renewal", "2026-05-05", [NEW_WS_6]),
    ]
    assert (WS_4 + AUDIT, WS_7 + AUDIT) == (5500, 8500)


def test_an_addon_added_mid_period_is_prorated_and_its_new_price_follows_the_notice(
    state: dict[str, Any],
) -> None:
    # salma's period runs 7 Feb 08:00 - 7 Mar 08:00 (28 days); SSO on 12 Feb 08:00, 23 days
    # left: unused 3,900 × 23 / 28 = 3,203.57 → 3,204; remaining 4,500 × 23 / 28 = 3,696.43
    # → 3,696.
    assert invoices_of(state, "sub-salma") == [
        ("first", "2026-01-07", [WS_3]),
        ("renewal", "2026-02-07", [WS_3]),
        ("proration", "2026-02-12", [-3204, 3696]),
        ("renewal", "2026-03-07", [WS_3, SSO]),
        ("renewal", "2026-04-07", [NEW_WS_3, NEW_SSO]),
        ("renewal", "2026-05-07", [NEW_WS_3, NEW_SSO]),
    ]


def test_seats_lowered_mid_period_go_to_credit_used_by_the_next_renewal(
    state: dict[str, Any],
) -> None:
    # dmitri's period runs 6 Feb 10:00 - 6 Mar 10:00 (28 days); on 20 Feb 10:00, 14 are left:
    # (8 seats + 2 SSO) × 14/28 back, (6 seats + 2 SSO) × 14/28 charged, so he is owed
    # (10,200 - 8,400) / 2 = 900, taken off his next renewal.
    credit = ((WS_8 + 2 * SSO) - (WS_6 + 2 * SSO)) * 14 // 28
    assert credit == 900
    assert invoices_of(state, "sub-dmitri") == [
        ("first", "2026-01-06", [WS_8, 2 * SSO]),
        ("renewal", "2026-02-06", [WS_8, 2 * SSO]),
        ("renewal", "2026-03-06", [WS_6, 2 * SSO, -credit]),
        ("renewal", "2026-04-06", [NEW_WS_6, 2 * NEW_SSO]),
        ("renewal", "2026-05-06", [NEW_WS_6, 2 * NEW_SSO]),
    ]
    assert subscription(state, "sub-dmitri")["credit"] == 0


def test_a_subscriber_who_joins_before_the_change_takes_effect_is_told_and_given_notice(
    state: dict[str, Any], out: Path
) -> None:
    # omar joins on 15 March at the old prices; told that day, his first period at least 30
    # days later is 15 April's.
    assert invoices_of(state, "sub-omar") == [
        ("first", "2026-03-15", [WS_6, SSO]),
        ("renewal", "2026-04-15", [NEW_WS_6, NEW_SSO]),
        ("renewal", "2026-05-15", [NEW_WS_6, NEW_SSO]),
    ]
    assert len(price_change_emails(out)["omar"]) == 2


def test_the_grandfathered_subscriber_keeps_the_old_price_and_a_new_one_pays_the_new(
    state: dict[str, Any], out: Path
) -> None:
    kenji = invoices_of(state, "sub-kenji")
    assert [amounts for _, _, amounts in kenji] == [[2 * BASIC]] * 5
    assert subscription(state, "sub-kenji")["price_steps"] == [
        {"change": "basic:pc1", "starts": None}
    ]
    assert "kenji" not in price_change_emails(out)
    assert invoices_of(state, "sub-hana") == [
        ("first", "2026-04-10", [2 * NEW_BASIC]),
        ("renewal", "2026-05-10", [2 * NEW_BASIC]),
    ]
    assert "hana" not in price_change_emails(out)


def first_invoice_at_new_prices(state: dict[str, Any], sub: str) -> datetime:
    new = {NEW_WS_6, NEW_WS_3, NEW_SSO, 2 * NEW_SSO}
    dates = sorted(
        i["created_at"]
        for i in state["invoices"]
        if i["subscription"] == sub and new & {ln["amount"] for ln in i["lines"]}
    )
    return datetime.fromisoformat(dates[0])


def test_each_price_change_email_comes_the_notice_before_the_first_invoice_at_the_new_price(
    state: dict[str, Any], out: Path
) -> None:
    sent = price_change_emails(out)
    # alice holds no SSO, so she is told of the tier table only; Basic's change is
    # grandfathered, so kenji is told nothing.
    assert {c: len(m) for c, m in sent.items()} == {"alice": 1, "dmitri": 2, "salma": 2, "omar": 2}
    for customer, messages in sent.items():
        charged = first_invoice_at_new_prices(state, f"sub-{customer}")
        for message in messages:
            assert charged - parsedate_to_datetime(str(message["Date"])) >= NOTICE, customer


def test_the_emails_quote_what_the_subscribers_own_items_will_cost(out: Path) -> None:
    def text(message: email.message.EmailMessage) -> str:
        body = message.get_body(("plain",))
        assert isinstance(body, email.message.EmailMessage)
        return str(body.get_content())

    sent = price_change_emails(out)
    # alice holds 7 seats when told, but 6 from 5 March: 72.00 → 83.00, not 81.00 → 93.00.
    (alice,) = sent["alice"]
    assert "from $72.00 to $83.00 per period" in text(alice)
    # dmitri's two SSO seats: 2 × 6.00 → 2 × 8.00, in Russian (a no-break space before $).
    ru = [text(m) for m in sent["dmitri"]]
    assert any("было 12,00\u00a0$, станет 16,00\u00a0$" in t for t in ru), ru
    assert any("было 72,00\u00a0$, станет 83,00\u00a0$" in t for t in ru), ru


def test_the_reminder_before_a_scheduled_downgrade_announces_the_downgraded_amount(
    out: Path,
) -> None:
    # alice's 5 March renewal bills the 6 seats she scheduled on 25 February, without the
    # audit log: 72.00, not the 81.00 + 4.00 she holds when reminded on 2 March.
    path = out / "outbox" / "20260302T140000Z-alice-upcoming_renewal.eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    body = message.get_body(("plain",))
    assert isinstance(body, email.message.EmailMessage)
    text = str(body.get_content())
    assert "$72.00" in text and "$85.00" not in text and "Audit log" not in text
