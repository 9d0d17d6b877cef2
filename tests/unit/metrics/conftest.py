"""Fixtures for the metrics tests."""

import pytest
from metrics_helpers import Business, make_business


@pytest.fixture
def business() -> Business:
    return make_business()
