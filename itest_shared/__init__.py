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
    from ._envelope import SCHEMA_VERSION
    from .config import ConfigChangeObserver
    from .errors import ErrorPropagationMixin
    from .exceptions import (
        FormatError,
        ResourceStateError,
        SchemaVersionError,
        UnknownResourceError,
    )
    from .formats import (
        ConfigChangeEvent,
        ErrorContext,
        ExceptionInfo,
        Record,
        ResourceRecord,
        load_record,
    )
    from .resources import ResourceTracker

# public name -> the module that defines it
_EXPORTS = {
    "SCHEMA_VERSION": "._envelope",
    "ConfigChangeEvent": ".formats",
    "ConfigChangeObserver": ".config",
    "ErrorContext": ".formats",
    "ErrorPropagationMixin": ".errors",
    "ExceptionInfo": ".formats",
    "FormatError": ".exceptions",
    "Record": ".formats",
    "ResourceRecord": ".formats",
    "ResourceStateError": ".exceptions",
    "ResourceTracker": ".resources",
    "SchemaVersionError": ".exceptions",
    "UnknownResourceError": ".exceptions",
    "load_record": ".formats",
}

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
    if name == "__version__":
        # From the installed metadata; importlib.metadata is slow to import.
        from ._envelope import package_version

        return package_version()
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'itest_shared' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
