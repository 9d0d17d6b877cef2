"""Fixtures the browser tests share: one headless Chromium per module."""

from collections.abc import Iterator
from typing import Any

import pytest

from tenure_local.browser import chromium_path, headless_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless; a missing browser fails the test (never skips it)."""
    if chromium_path() is None:
        pytest.fail("Chromium is missing (apt-get install -y chromium)")
    with headless_chromium() as chromium:
        yield chromium
