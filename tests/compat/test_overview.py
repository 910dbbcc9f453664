"""COMPAT sections 1, 2, 6, 7: the prototype's names import; every fixture; workspace; samples."""

from __future__ import annotations

import pytest

from itest_shared import ConfigChangeObserver, ErrorTrackingContext
from tests.compat.support import run_suite

# --- section 1: the classes the prototype's fixtures module handed out ---------------------------


def test_1_the_fixtures_module_hands_out_the_prototypes_classes() -> None:
    # "from tests.integration.fixtures import ErrorTrackingContext" -> the module path only.
    from itest_shared.fixtures import ConfigChangeObserver as FromFixtures
    from itest_shared.fixtures import ErrorTrackingContext as Tracking

    assert Tracking is ErrorTrackingContext and FromFixtures is ConfigChangeObserver
    with pytest.raises(ImportError):
        from itest_shared.fixtures import Nonexistent  # noqa: F401


# --- sections 2, 6, 7: the overview, temp_workspace, sample_code_files ----------------------

OVERVIEW = """
from pathlib import Path

from itest_shared import (
    ConfigChangeObserver, ErrorTrackingContext, ResourceTracker, ErrorPropagationMixin,
)

FIXTURES = [
    "temp_workspace", "sample_code_files", "error_tracking_context", "config_change_tracker",
    "resource_monitor", "parallel_test_environment", "mock_parser_factory",
    "test_file_generator", "async_test_runner", "thread_safe_counter", "performance_monitor",
]


def test_every_fixture_exists(request):
    for name in FIXTURES:
        assert request.getfixturevalue(name) is not None
        assert request._fixturemanager.getfixturedefs(name, request.node)[-1].scope == "function"


def test_temp_workspace(temp_workspace):
    assert isinstance(temp_workspace, Path) and temp_workspace.is_absolute()
    assert temp_workspace.name.startswith("chunker_test_")  # the project's prefix
    assert sorted(p.name for p in temp_workspace.iterdir()) == ["cache", "output", "src", "tests"]
    assert all(not any((temp_workspace / d).iterdir()) for d in ("src", "tests", "cache", "output"))


def test_the_workspace_is_shared(temp_workspace, parallel_test_environment, test_file_generator):
    assert parallel_test_environment.workspace == temp_workspace
    assert test_file_generator.workspace == temp_workspace


def test_sample_code_files(sample_code_files):
    assert isinstance(sample_code_files, dict)
    assert list(sample_code_files) == ["example.py", "example.js", "example.rs", "example.c"]
    assert len(sample_code_files) == 4
    for name, source in sample_code_files.items():
        assert isinstance(source, str) and source.isascii(), name
        assert source.startswith("\\n") and source.endswith("\\n"), name
    compile(sample_code_files["example.py"], "example.py", "exec")
    assert "def calculate_sum" in sample_code_files["example.py"]
    assert "class DataProcessor" in sample_code_files["example.py"]
    assert "async def fetch_data" in sample_code_files["example.py"]
    assert "def " not in sample_code_files["example.js"]
    sample_code_files["example.py"] = "changed"  # a new dict for every test


def test_sample_code_files_are_new_each_test(sample_code_files):
    assert sample_code_files["example.py"] != "changed"


def test_interfaces_are_importable():
    assert ConfigChangeObserver and ErrorTrackingContext and ResourceTracker
    assert ErrorPropagationMixin
"""


def test_overview_workspace_and_samples(worktree: pytest.Pytester) -> None:
    run_suite(worktree, OVERVIEW).assert_outcomes(passed=6)
