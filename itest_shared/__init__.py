"""Shared integration-testing interfaces for projects developed in many git worktrees.

Every public name is importable from here, but each is loaded on first use
(PEP 562): ``import itest_shared`` costs almost nothing, and the pytest plugin
(``itest_shared.fixtures``) adds nothing to a test run's start-up until a
fixture is used. The plugin is activated only by projects that ask for it
(``pytest_plugins = ["itest_shared.fixtures"]``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .aio import (
        AsyncTestRunner,
        UnretrievedTaskError,
    )
    from .config import (
        ConfigChangeObserver,
        ConfigChangeTracker,
        ModuleMap,
        project_module_map,
    )
    from .coordination import (
        WorktreeLock,
        WorktreeLockTimeout,
        clear_shared,
        current_worktree,
        shared_directory,
        shared_once,
        worktree_lock,
    )
    from .errors import ErrorPropagationMixin
    from .exceptions import (
        FormatError,
        ResourceStateError,
        SchemaVersionError,
        UnknownResourceError,
    )
    from .files import (
        TestFileGenerator,
        UnsafePathError,
    )
    from .formats import (
        SCHEMA_VERSION,
        ConfigChangeEvent,
        EnvironmentRecord,
        ErrorContext,
        ExceptionInfo,
        FailureSummary,
        Record,
        RecordContext,
        ResourceRecord,
        TestResultRecord,
        TimingStatsRecord,
        WorktreeInfo,
        load_record,
    )
    from .leaks import (
        LeakAudit,
        LeakReport,
        LeakSnapshot,
    )
    from .monitor import ResourceMonitor
    from .parallel import (
        ParallelTestEnvironment,
        WorkerError,
    )
    from .parsers import (
        MockParseError,
        MockParserFactory,
    )
    from .perf import (
        PerformanceMonitor,
        ThreadSafeCounter,
        TimingStats,
        UnknownOperationError,
    )
    from .recording import Recorder
    from .resources import ResourceTracker, TrackedResource
    from .samples import sample_code_files
    from .schema import (
        json_schema,
        json_schemas,
    )
    from .store import (
        RecordStore,
        RecordWriter,
        validate_file,
    )
    from .tracking import (
        ErrorTrackingContext,
        HandlerRecursionError,
    )

# public name -> the module that defines it
_EXPORTS = {
    "SCHEMA_VERSION": ".formats",
    "AsyncTestRunner": ".aio",
    "ConfigChangeEvent": ".formats",
    "ConfigChangeObserver": ".config",
    "ConfigChangeTracker": ".config",
    "ErrorContext": ".formats",
    "ErrorPropagationMixin": ".errors",
    "ErrorTrackingContext": ".tracking",
    "ExceptionInfo": ".formats",
    "FormatError": ".exceptions",
    "HandlerRecursionError": ".tracking",
    "LeakAudit": ".leaks",
    "LeakReport": ".leaks",
    "LeakSnapshot": ".leaks",
    "MockParseError": ".parsers",
    "ModuleMap": ".config",
    "MockParserFactory": ".parsers",
    "ParallelTestEnvironment": ".parallel",
    "PerformanceMonitor": ".perf",
    "EnvironmentRecord": ".formats",
    "FailureSummary": ".formats",
    "TestResultRecord": ".formats",
    "Record": ".formats",
    "RecordContext": ".formats",
    "RecordStore": ".store",
    "RecordWriter": ".store",
    "Recorder": ".recording",
    "ResourceMonitor": ".monitor",
    "ResourceRecord": ".formats",
    "ResourceStateError": ".exceptions",
    "ResourceTracker": ".resources",
    "SchemaVersionError": ".exceptions",
    "TestFileGenerator": ".files",
    "ThreadSafeCounter": ".perf",
    "TimingStats": ".perf",
    "TimingStatsRecord": ".formats",
    "TrackedResource": ".resources",
    "UnknownOperationError": ".perf",
    "UnknownResourceError": ".exceptions",
    "UnretrievedTaskError": ".aio",
    "UnsafePathError": ".files",
    "WorkerError": ".parallel",
    "WorktreeInfo": ".formats",
    "WorktreeLock": ".coordination",
    "WorktreeLockTimeout": ".coordination",
    "clear_shared": ".coordination",
    "current_worktree": ".coordination",
    "json_schema": ".schema",
    "json_schemas": ".schema",
    "load_record": ".formats",
    "project_module_map": ".config",
    "sample_code_files": ".samples",
    "shared_directory": ".coordination",
    "shared_once": ".coordination",
    "validate_file": ".store",
    "worktree_lock": ".coordination",
}

__all__ = [
    "SCHEMA_VERSION",
    "AsyncTestRunner",
    "ConfigChangeEvent",
    "ConfigChangeObserver",
    "ConfigChangeTracker",
    "EnvironmentRecord",
    "ErrorContext",
    "ErrorPropagationMixin",
    "ErrorTrackingContext",
    "ExceptionInfo",
    "FailureSummary",
    "FormatError",
    "HandlerRecursionError",
    "LeakAudit",
    "LeakReport",
    "LeakSnapshot",
    "MockParseError",
    "MockParserFactory",
    "ModuleMap",
    "ParallelTestEnvironment",
    "PerformanceMonitor",
    "Record",
    "RecordContext",
    "RecordStore",
    "RecordWriter",
    "Recorder",
    "ResourceMonitor",
    "ResourceRecord",
    "ResourceStateError",
    "ResourceTracker",
    "SchemaVersionError",
    "TestFileGenerator",
    "TestResultRecord",
    "ThreadSafeCounter",
    "TimingStats",
    "TimingStatsRecord",
    "TrackedResource",
    "UnknownOperationError",
    "UnknownResourceError",
    "UnretrievedTaskError",
    "UnsafePathError",
    "WorkerError",
    "WorktreeInfo",
    "WorktreeLock",
    "WorktreeLockTimeout",
    "__version__",
    "clear_shared",
    "current_worktree",
    "json_schema",
    "json_schemas",
    "load_record",
    "project_module_map",
    "sample_code_files",
    "shared_directory",
    "shared_once",
    "validate_file",
    "worktree_lock",
]


# The public modules, reachable as attributes (``itest_shared.formats.load_record``)
# after a bare ``import itest_shared``, as they were in 1.0 before names loaded
# lazily. (tests/test_package.py checks this list against the package's files.)
_SUBMODULES = frozenset(
    {
        "aio",
        "cli",
        "config",
        "coordination",
        "errors",
        "exceptions",
        "files",
        "fixtures",
        "formats",
        "leaks",
        "monitor",
        "parallel",
        "parsers",
        "perf",
        "recording",
        "report",
        "resources",
        "samples",
        "schema",
        "stats",
        "store",
        "tracking",
    }
)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        # From the installed metadata; importlib.metadata is slow to import.
        from .formats import package_version

        return package_version()
    if name in _SUBMODULES:
        # import_module also sets the attribute on this package: later lookups skip this.
        return importlib.import_module(f".{name}", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'itest_shared' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
