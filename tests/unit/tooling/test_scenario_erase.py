"""The scenario action `erase`: read as written (the API call it stands for), and refused
before the run, naming the action's index and field, when it names no customer of the file
or its note breaks the API's rule for an operator's note."""

from typing import Any

from scenario_refusals import problems

from tenure_local.simulator.scenario import Erase, parse

AT = "2026-01-20T00:00:00Z"


def scenario(*actions: dict[str, Any]) -> dict[str, Any]:
    return {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-03-01T00:00:00Z",
        "plans": [{"id": "basic", "amount": 1000, "currency": "USD", "interval": "month"}],
        "customers": [{"id": "alice", "email": "alice@example.com"}],
        "actions": list(actions),
    }


def test_an_erasure_is_the_apis_erasure_of_the_customer_with_its_note() -> None:
    parsed = parse(
        scenario(
            {"at": AT, "do": "erase", "customer": "alice", "note": "Alice wrote to the DPO"},
            {"at": AT, "do": "erase", "customer": "alice"},
        )
    )
    noted, plain = parsed.actions
    assert isinstance(noted, Erase) and isinstance(plain, Erase)
    assert (noted.method, noted.path()) == ("POST", "/v1/customers/alice/erase")
    assert noted.body() == {"note": "Alice wrote to the DPO"}
    assert plain.body() == {"note": "asked by the customer"}  # the API requires one


def test_an_erasure_of_an_unknown_customer_is_refused_at_its_field() -> None:
    [(path, what)] = problems(scenario({"at": AT, "do": "erase", "customer": "bob"}))
    assert path == "actions[0].customer" and "unknown customer 'bob'" in what


def test_an_erasure_whose_note_the_api_would_refuse_is_refused_at_load() -> None:
    blank = problems(scenario({"at": AT, "do": "erase", "customer": "alice", "note": "  "}))
    broken = problems(scenario({"at": AT, "do": "erase", "customer": "alice", "note": "a\nb"}))
    long = problems(scenario({"at": AT, "do": "erase", "customer": "alice", "note": "x" * 1001}))
    assert [path for path, _ in blank + broken + long] == ["actions[0].note"] * 3
    assert "blank" in blank[0][1] and "control characters" in broken[0][1]
    assert "1000" in long[0][1]
