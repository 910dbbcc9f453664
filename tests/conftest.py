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


@pytest.fixture(autouse=True)
def _not_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest runs (pytester) format their output the same here and on CI.

    With CI or BUILD_NUMBER set, pytest prints the whole message of every error
    in the short summary too, so a test counting a message in the output would
    count it twice on CI only.
    """
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
