"""Shared test helpers."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# pytester runs small test suites against the plugin, end to end.
pytest_plugins = ["pytester"]

# Imported before any pytester run: an in-process run drops from sys.modules the
# modules it imported first, and a later import makes fresh ones beside those
# still in use. multiprocess then has two resource trackers (one unknown to the
# leak checks) and two connection modules (pickling a queue fails: "not the same
# object as multiprocess.connection.rebuild_connection").
for _name in (
    "connection",
    "forkserver",
    "managers",
    "popen_fork",
    "popen_forkserver",
    "popen_spawn_posix",
    "queues",
    "reduction",
    "resource_tracker",
    "spawn",
    "synchronize",
    "util",
):
    importlib.import_module(f"multiprocess.{_name}")

# Hypothesis' deadline (200 ms per example) and its too_slow health check are
# wall-clock assertions: on a loaded machine they fail tests whose behaviour is
# right. Our tests assert behaviour only; benchmarks/ measures speed.
settings.register_profile(
    "itest-shared", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("itest-shared")


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


@pytest.fixture(autouse=True)
def _inner_runs_in_file_order(request: pytest.FixtureRequest) -> Iterator[None]:
    """Inner pytest runs do not load pytest-randomly, even where it is installed.

    Both pytester's runs and ``python -m pytest`` subprocesses: the small suites
    they run are written in file order (a test may look at what an earlier one
    left), and an in-process run that loads pytest-randomly reseeds ``random`` in
    this process too. A test that wants it passes ``-p randomly`` to its run,
    which wins over this ``-p no:randomly``.
    """
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")  # which clears PYTEST_ADDOPTS when it starts
    addopts = " ".join(filter(None, ["-p no:randomly", os.environ.get("PYTEST_ADDOPTS")]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTEST_ADDOPTS", addopts)
        yield
