"""Shared integration-testing interfaces for projects developed in many git worktrees.

Import is cheap: records and the three core interfaces only. The pytest plugin
lives in ``itest_shared.fixtures`` and is activated only by projects that ask
for it (``pytest_plugins = ["itest_shared.fixtures"]``).
"""

from __future__ import annotations

from typing import Any

from ._envelope import SCHEMA_VERSION
from .config import ConfigChangeObserver
from .errors import ErrorPropagationMixin
from .exceptions import FormatError, ResourceStateError, SchemaVersionError, UnknownResourceError
from .formats import (
    ConfigChangeEvent,
    ErrorContext,
    ExceptionInfo,
    Record,
    ResourceRecord,
    load_record,
)
from .resources import ResourceTracker

__all__ = [
    "SCHEMA_VERSION",
    "ConfigChangeEvent",
    "ConfigChangeObserver",
    "ErrorContext",
    "ErrorPropagationMixin",
    "ExceptionInfo",
    "FormatError",
    "Record",
    "ResourceRecord",
    "ResourceStateError",
    "ResourceTracker",
    "SchemaVersionError",
    "UnknownResourceError",
    "__version__",
    "load_record",
]


def __getattr__(name: str) -> Any:
    # __version__ comes from the installed metadata; importlib.metadata is slow
    # to import, so it is looked up only when someone asks.
    if name == "__version__":
        from ._envelope import package_version

        return package_version()
    raise AttributeError(f"module 'itest_shared' has no attribute {name!r}")
