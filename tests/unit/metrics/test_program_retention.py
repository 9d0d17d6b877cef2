"""Retention in and out of each retention program, from the state a period ended in: the
groups, their churn, and a plain "too few" when a group is under ten customers."""

from typing import Any

from tenure.report.page import program_retention_table
from tenure.report.program_retention import Group, program_retention


def invoice(customer: str, *kinds: str, status: str = "paid") -> dict[str, Any]:
    lines = [{"kind": "plan", "amount": 1000}] + [{"kind": k, "amount": -50} for k in kinds]
    return {"customer": customer, "status": status, "lines": lines}


def subscription(customer: str, status: str) -> dict[str, Any]:
    return {"customer": customer, "status": status}


def a_state(couponed: int, couponed_gone: int, others: int, others_gone: int) -> dict[str, Any]:
    """Customers c0.. with a coupon line and o0.. without; the first `*_gone` of each ended."""
    invoices, subs = [], []
    for prefix, count, gone, kinds in (
        ("c", couponed, couponed_gone, ("coupon",)),
        ("o", others, others_gone, ()),
    ):
        for n in range(count):
            invoices.append(invoice(f"{prefix}{n}", *kinds))
            subs.append(subscription(f"{prefix}{n}", "canceled" if n < gone else "active"))
    return {"invoices": invoices, "subscriptions": subs, "points": {}}


def test_customers_with_a_coupon_are_compared_with_the_other_paying_customers() -> None:
    [found] = program_retention(a_state(12, 3, 20, 10))
    assert found.program == "coupons"
    assert (found.inside, found.outside) == (Group(12, 3), Group(20, 10))
    assert found.inside.retention == 0.75 and found.outside.churn_rate == 0.5
    assert found.comparable and found.difference == 0.25


def test_a_group_under_ten_is_counted_but_not_compared() -> None:
    [found] = program_retention(a_state(9, 0, 30, 15))
    assert not found.comparable and found.difference is None
    assert found.inside == Group(9, 0)


def test_a_customer_who_never_paid_is_in_neither_group() -> None:
    state = a_state(10, 0, 10, 0)
    state["invoices"].append(invoice("unpaid", "coupon", status="open"))
    state["subscriptions"].append(subscription("unpaid", "incomplete"))
    [found] = program_retention(state)
    assert (found.inside.customers, found.outside.customers) == (10, 10)


def test_a_customer_with_any_subscription_still_running_has_not_churned() -> None:
    state = a_state(10, 0, 10, 0)
    state["subscriptions"] += [subscription("c0", "canceled"), subscription("o0", "unpaid")]
    state["subscriptions"] = [s for s in state["subscriptions"] if s["customer"] != "o1"]
    state["subscriptions"].append(subscription("o1", "paused"))
    state["subscriptions"].append(subscription("o2", "unpaid"))  # and its active one stays
    [found] = program_retention(state)
    assert (found.inside.churned, found.outside.churned) == (0, 0)
    state["subscriptions"] = [s for s in state["subscriptions"] if s["customer"] != "o3"]
    state["subscriptions"].append(subscription("o3", "unpaid"))
    [found] = program_retention(state)
    assert found.outside.churned == 1  # unpaid is gone: continuity is lost


def test_points_count_those_who_redeemed_and_tenure_those_with_a_tenure_line() -> None:
    state = a_state(0, 0, 12, 2)
    state["invoices"].append(invoice("o5", "tenure_discount"))
    state["points"] = {
        "o0": {"entries": [{"kind": "earned"}, {"kind": "redeemed"}]},
        "o1": {"entries": [{"kind": "earned"}]},
    }
    found = {f.program: f for f in program_retention(state)}
    assert set(found) == {"loyalty points (redeemed)", "tenure discount"}
    assert found["loyalty points (redeemed)"].inside == Group(1, 1)  # o0 ended
    assert found["loyalty points (redeemed)"].outside == Group(11, 1)
    assert found["tenure discount"].inside == Group(1, 0)


def test_no_paying_customer_in_any_program_shows_no_comparison() -> None:
    assert program_retention(a_state(0, 0, 15, 3)) == []
    assert program_retention({"invoices": [], "subscriptions": []}) == []


def report_row(state: dict[str, Any], program: str) -> list[str]:
    table = program_retention_table(state)
    assert table is not None
    [row] = [[str(cell) for cell in r[1:]] for r in table.rows if r[0] == program]
    return row


def test_the_report_shows_counts_retention_and_the_difference() -> None:
    cells = report_row(a_state(12, 3, 20, 10), "coupons")
    assert cells == ["12", "3", "75.0%", "20", "10", "50.0%", "+25.0 pts"]


def test_the_report_says_plainly_when_a_group_is_too_small() -> None:
    cells = report_row(a_state(4, 1, 30, 3), "coupons")
    assert cells[-1] == "too few to compare: 4 in it, under 10"
    assert cells[:3] == ["4", "1", "75.0%"]
    assert report_row(a_state(30, 3, 2, 0), "coupons")[-1] == (
        "too few to compare: 2 not in it, under 10"
    )


def test_without_any_program_customer_the_report_has_no_such_table() -> None:
    assert program_retention_table(a_state(0, 0, 15, 3)) is None
