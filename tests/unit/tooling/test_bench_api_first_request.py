"""The bench's API first-request figure comes from a request the API really answered."""

import math

import pytest

from tenure_local.bench import api_first_request as bench


def test_the_first_request_figure_is_measured_on_an_answered_request() -> None:
    seconds, ratio = bench.api_first_request(rounds=1)

    assert seconds > 0 and math.isfinite(ratio)


def test_a_first_request_the_api_refuses_gives_no_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    # A probe whose request is not answered 201 must not pass for a measurement.
    broken = bench._IMPORT_AND_ONE_REQUEST.replace('"Bearer bench"', '"Bearer wrong"')
    monkeypatch.setattr(bench, "_IMPORT_AND_ONE_REQUEST", broken)

    seconds, ratio = bench.api_first_request(rounds=1)

    assert math.isnan(seconds) and math.isnan(ratio)
