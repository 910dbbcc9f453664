"""Records built for the tests: one of each type with known fields, and the golden files."""

from __future__ import annotations

import functools
import importlib.util
import pathlib
import types
from typing import Any

from itest_shared import (
    ConfigChangeEvent,
    EnvironmentRecord,
    ErrorContext,
    FailureSummary,
    Record,
    RecordContext,
    ResourceRecord,
    TestResultRecord,
    TimingStatsRecord,
    WorktreeInfo,
)

GOLDEN = pathlib.Path(__file__).parent.parent / "fixtures"  # golden records, per schema version

DOCUMENTED_FIELDS: dict[type[Record], list[str]] = {
    ErrorContext: [
        "source_module",
        "target_module",
        "operation",
        "original_error",
        "error_type",
        "error_message",
        "timestamp",
        "context_data",
    ],
    ConfigChangeEvent: ["config_path", "old_value", "new_value", "affected_modules", "timestamp"],
    ResourceRecord: [
        "resource_id",
        "resource_type",
        "owner_module",
        "created_at",
        "state",
        "metadata",
        "released_at",
    ],
    TimingStatsRecord: [
        "operation",
        "count",
        "total",
        "average",
        "min",
        "max",
        "median",
        "p95",
        "p99",
        "stdev",
        "timestamp",
    ],
    TestResultRecord: [
        "node_id",
        "outcome",
        "setup_duration",
        "call_duration",
        "teardown_duration",
        "failed_phase",
        "failure",
        "markers",
        "worker",
        "rerun",
        "timestamp",
    ],
    EnvironmentRecord: [
        "host",
        "os",
        "cpu_model",
        "cpu_count",
        "python_version",
        "python_implementation",
        "python_build",
        "packages",
        "worktree",
        "dirty",
        "tree_hash",
        "worker",
        "timestamp",
    ],
}
ENVELOPE = {"record_type", "schema_version", "record_id", "producer"}


def make_error_context(error: BaseException | None = None, **changes: Any) -> ErrorContext:
    fields: dict[str, Any] = {
        "source_module": "chunker.parser",
        "target_module": "cli.main",
        "operation": "Parse",
        "original_error": error,
        "error_type": type(error).__name__ if error else "ValueError",
        "error_message": str(error) if error else "boom",
        "timestamp": 1795000000.5,
        "context_data": {"traceback": ["Traceback...\n"], "call_stack": ["a.py:1 in f"]},
    }
    fields.update(changes)
    return ErrorContext(**fields)


def make_resource(**changes: Any) -> ResourceRecord:
    fields: dict[str, Any] = {
        "resource_id": "worker_1",
        "resource_type": "process",
        "owner_module": "chunker.parallel",
        "created_at": 1795000000.0,
    }
    fields.update(changes)
    return ResourceRecord(**fields)


def make_event(**changes: Any) -> ConfigChangeEvent:
    fields: dict[str, Any] = {
        "config_path": "parser_timeout",
        "old_value": 5,
        "new_value": 10,
        "affected_modules": ["chunker.parser"],
        "timestamp": 1795000000.0,
    }
    fields.update(changes)
    return ConfigChangeEvent(**fields)


def make_test_result(**changes: Any) -> TestResultRecord:
    fields: dict[str, Any] = {
        "node_id": "tests/test_x.py::test_y[1]",
        "outcome": "failed",
        "setup_duration": 0.001,
        "call_duration": 0.25,
        "teardown_duration": 0.0005,
        "failed_phase": "call",
        "failure": FailureSummary(
            exception_type="builtins.AssertionError",
            message="assert 1 == 2",
            location="tests/test_x.py:12",
            longrepr=None,
        ),
        "markers": ["parametrize", "slow"],
        "worker": "gw0",
        "rerun": 0,
        "timestamp": 1795000000.0,
    }
    fields.update(changes)
    return TestResultRecord(**fields)


def make_environment(**changes: Any) -> EnvironmentRecord:
    fields: dict[str, Any] = {
        "host": "ci-runner-1",
        "os": "Linux-6.1.0-x86_64-with-glibc2.36",
        "cpu_model": "Example CPU @ 2.00GHz",
        "cpu_count": 2,
        "python_version": "3.11.7",
        "python_implementation": "CPython",
        "python_build": "3.11.7 (main, Dec 19 2023, 20:28:19) [GCC 12.2.0]",
        "packages": {"pytest": "8.3.0", "itest-shared": "2.2.0"},
        "worktree": WorktreeInfo(pathlib.Path("/src/proj-wt2"), "phase-8", "a" * 40),
        "dirty": False,
        "tree_hash": "b" * 40,
        "worker": None,
        "timestamp": 1795000000.0,
    }
    fields.update(changes)
    return EnvironmentRecord(**fields)


def chained_error() -> ValueError:
    try:
        try:
            raise KeyError("lang")
        except KeyError as exc:
            raise ValueError("Parser timeout") from exc
    except ValueError as exc:
        return exc


WORKTREE = WorktreeInfo(pathlib.Path("/src/proj-wt2"), "phase-8", "a" * 40)
CONTEXT = RecordContext(test="tests/test_x.py::test_y[1]", run_id="run-1", worktree=WORKTREE)
DOCUMENTED_FIELDS_BY_TYPE = {cls.RECORD_TYPE: cls for cls in DOCUMENTED_FIELDS}


def make_stats(**changes: Any) -> TimingStatsRecord:
    fields: dict[str, Any] = {
        "operation": "parse",
        "count": 3,
        "total": 0.6,
        "average": 0.2,
        "min": 0.1,
        "max": 0.3,
        "median": 0.2,
        "p95": 0.29,
        "p99": 0.298,
        "stdev": 0.1,
        "timestamp": 1795000000.0,
    }
    fields.update(changes)
    return TimingStatsRecord(**fields)


# --- golden files added with issue 10 (fixtures/make_golden.py made them, once) -------------

EDGE_CASES = GOLDEN / "1.1" / "edge-cases"  # schema 1.1 as written: special forms, groups, chains
NEWER_MINOR = GOLDEN / "newer-minor"  # what a later minor (1.5) may write
FROZEN_STORE = GOLDEN / "frozen-store"  # a frozen store, and the report this release prints
MAKE_GOLDEN = GOLDEN / "make_golden.py"


@functools.cache
def make_golden() -> types.ModuleType:
    """fixtures/make_golden.py, imported from its file (it is no package module)."""
    spec = importlib.util.spec_from_file_location("make_golden", MAKE_GOLDEN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def golden_record_files() -> list[pathlib.Path]:
    """Every golden record file but the frozen store's, sorted."""
    return sorted(path for path in GOLDEN.rglob("*.jsonl") if FROZEN_STORE not in path.parents)
