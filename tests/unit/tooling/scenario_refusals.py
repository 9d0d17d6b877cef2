"""What the scenario loader refuses in a file, as (path, what) pairs, for the action tests."""

from typing import Any

import pytest

from tenure_local.simulator.scenario import ScenarioError, parse


def problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """The problems `parse` reports for `raw`, which it must refuse."""
    with pytest.raises(ScenarioError) as refused:
        parse(raw)
    return [(p.path, p.what) for p in refused.value.problems]
