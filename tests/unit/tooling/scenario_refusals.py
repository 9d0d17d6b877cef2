"""What the scenario loader refuses in a file, as (path, what) pairs, for the action tests;
and the one-action scenario those tests give it."""

from typing import Any

import pytest

from tenure_local.simulator.scenario import ScenarioError, parse


def problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """The problems `parse` reports for `raw`, which it must refuse."""
    with pytest.raises(ScenarioError) as refused:
        parse(raw)
    return [(p.path, p.what) for p in refused.value.problems]


def ana_does(action: dict[str, Any]) -> dict[str, Any]:
    """A five-month scenario whose one customer, ana, does `action`."""
    return {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-06-01T00:00:00Z",
        "customers": [{"id": "ana", "email": "ana@example.com"}],
        "actions": [action],
    }
