"""Fixtures shared by the tests of itest_shared.parallel: start methods, no worker left."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.parallel.support import _worker_children

METHODS = ("fork", "spawn", "forkserver")


@pytest.fixture(params=METHODS)
def start_method(request: pytest.FixtureRequest) -> str:
    """Each start method in turn."""
    method: str = request.param
    return method


@pytest.fixture(autouse=True)
def no_worker_left() -> Iterator[None]:
    """Every test must leave no child process and no zombie behind."""
    before = _worker_children(helpers=True)
    yield
    left = {pid: what for pid, what in _worker_children().items() if pid not in before}
    assert not left, f"child processes left behind: {left}"
