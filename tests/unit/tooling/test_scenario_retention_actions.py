"""The scenario's refund action and cancel's refund and accept_offer: refused before the run,
naming the action's index and field, when they cannot be right."""

from typing import Any

import pytest
from scenario_refusals import problems

from tenure_local.simulator.scenario import Cancel, Refund, parse


def scenario(*actions: dict[str, Any], offers: bool = True) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-03-01T00:00:00Z",
        "plans": [{"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}],
        "customers": [{"id": "alice", "email": "alice@example.com"}],
        "actions": [
            {
                "at": "2026-01-01T00:00:00Z",
                "do": "subscribe",
                "customer": "alice",
                "plan": "basic",
                "id": "sub-1",
            },
            *actions,
        ],
    }
    if offers:
        raw["programs"] = {"save_offers": [{"id": "pause2", "kind": "pause", "months": 2}]}
    return raw


AT = "2026-01-20T00:00:00Z"


def test_a_refund_and_a_cancel_that_accepts_an_offer_are_read() -> None:
    parsed = parse(
        scenario(
            {
                "at": AT,
                "do": "refund",
                "invoice": "in_sub-1_first_20260101T000000Z",
                "amount": 300,
                "reason": "outage",
            },
            {"at": AT, "do": "cancel", "subscription": "sub-1", "accept_offer": "pause2"},
        )
    )
    refund, cancel = parsed.actions[1:]
    assert isinstance(refund, Refund) and refund.amount == 300
    assert isinstance(cancel, Cancel) and cancel.accept_offer == "pause2"


def test_accepting_an_offer_that_is_not_configured_is_refused_at_its_field() -> None:
    found = problems(
        scenario({"at": AT, "do": "cancel", "subscription": "sub-1", "accept_offer": "free"})
    )
    [(path, what)] = found
    assert path == "actions[1].accept_offer" and "unknown offer 'free'" in what


def test_accepting_an_offer_with_no_offers_configured_is_refused() -> None:
    found = problems(
        scenario(
            {"at": AT, "do": "cancel", "subscription": "sub-1", "accept_offer": "pause2"},
            offers=False,
        )
    )
    assert [p for p, _ in found] == ["actions[1].accept_offer"]


def test_a_refund_with_a_cancel_at_the_period_end_is_refused() -> None:
    found = problems(
        scenario(
            {
                "at": AT,
                "do": "cancel",
                "subscription": "sub-1",
                "at_period_end": True,
                "refund": "full",
            }
        )
    )
    assert [p for p, _ in found] == ["actions[1].refund"]


def test_a_refund_of_an_unknown_subscription_is_refused() -> None:
    found = problems(
        scenario(
            {
                "at": AT,
                "do": "refund",
                "subscription": "sub-9",
                "period_start": "2026-01-01T00:00:00Z",
            }
        )
    )
    assert [p for p, _ in found] == ["actions[1].subscription"]


@pytest.mark.parametrize(
    "words", [pytest.param("x" * 1001, id="too long"), pytest.param("a\tb", id="a tab")]
)
def test_a_cancel_whose_words_the_api_would_refuse_is_refused_naming_the_field(
    words: str,
) -> None:
    cancel = {"at": AT, "do": "cancel", "subscription": "sub-1", "reason": "other"}
    found = problems(scenario(cancel | {"reason_text": words}, offers=False))
    assert [p for p, _ in found] == ["actions[1].reason_text"]


def test_a_cancel_reason_with_a_line_break_is_refused_naming_the_field() -> None:
    cancel = {"at": AT, "do": "cancel", "subscription": "sub-1", "reason": "too\nexpensive"}
    found = problems(scenario(cancel, offers=False))
    assert [p for p, _ in found] == ["actions[1].reason"]
