"""Shared test helpers."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

# pytester runs small test suites against the plugin, end to end.
pytest_plugins = ["pytester"]


@pytest.fixture
def contention() -> Iterator[None]:
    """Make threads switch every microsecond instead of every 5 ms.

    With the default interval a thread usually finishes a short operation before
    another runs, so a race that exists stays hidden; this makes it show.
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)
