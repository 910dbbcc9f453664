"""Argument checks for ``ParallelTestEnvironment``: a clear, typed error naming the argument."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import _checks


def check_workspace(workspace: object) -> Path | None:
    """``workspace`` as a Path (None stays None); it may be missing but not a file."""
    # A Path is kept as it is: the prototype's env.workspace *is* temp_workspace.
    resolved = _checks.optional_path(workspace, "workspace")
    if resolved is not None and resolved.exists() and not resolved.is_dir():
        raise ValueError(f"workspace {str(resolved)!r} exists and is not a directory")
    return resolved


# Preferred when no start method is given, best first. Not fork: fork in a
# process with threads can deadlock the child (Python 3.12+ warns about it), and
# under pytest-xdist or pytest-timeout's thread method the process always has
# threads. Python 3.14 makes forkserver the Linux default too. multiprocess's own
# default is not consulted: any argument-less get_context() or get_start_method(),
# including its own when it starts a spawn or forkserver child, pins it to fork.
DEFAULT_START_METHODS = ("forkserver", "spawn")


def check_start_method(method: object, available: list[str]) -> str:
    """``method`` if it is one of ``available``; None picks from DEFAULT_START_METHODS."""
    choices = ", ".join(repr(m) for m in available)
    if method is None:
        return next(m for m in DEFAULT_START_METHODS if m in available)
    if not isinstance(method, str):
        raise TypeError(
            f"start_method must be a str or None, got {type(method).__name__}; "
            f"available here: {choices}"
        )
    if method not in available:
        raise ValueError(
            f"start_method {method!r} is not available on this platform; choose one of "
            f"{choices} (or None for the default)"
        )
    return method


def check_name(name: object) -> str:
    """``name`` if it is a non-blank str."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not name.strip():
        raise ValueError(f"name must be a non-empty str, got {name!r}")
    return name


def check_callback(callback: object) -> None:
    """Refuse an ``on_worker_error`` that is neither None nor callable."""
    if callback is not None and not callable(callback):
        raise TypeError(
            f"on_worker_error must be a callable or None, got {type(callback).__name__}"
        )


def check_stop_at_close(flag: object) -> bool:
    """``stop_at_close`` if it is a bool."""
    if not isinstance(flag, bool):
        raise TypeError(f"stop_at_close must be a bool, got {type(flag).__name__}")
    return flag


def check_maxsize(maxsize: object) -> int | None:
    """``maxsize`` if it is None (not given) or an int >= 0."""
    if maxsize is None:
        return None
    if isinstance(maxsize, bool) or not isinstance(maxsize, int):
        raise TypeError(f"maxsize must be an int >= 0 or None, got {type(maxsize).__name__}")
    if maxsize < 0:
        raise ValueError(f"maxsize must be >= 0 (0 means unbounded), got {maxsize}")
    return maxsize


def check_call(
    target: object, args: object, kwargs: object, name: object
) -> tuple[tuple[Any, ...], dict[str, Any], object]:
    """A worker's ``args``, ``kwargs`` and ``name``, once ``target`` is callable.

    The third positional parameter is ``kwargs`` (1.1) or, as in the prototype
    that worktrees copied, ``name``: a str there is the name.
    """
    if not callable(target):
        raise TypeError(f"target must be callable, got {type(target).__name__}")
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"args must be a tuple or list, got {type(args).__name__}")
    if isinstance(kwargs, str):
        if name is not None:
            raise TypeError(
                f"name given twice: {kwargs!r} in the third position (kwargs) and "
                f"name={name!r}; pass the name once, or kwargs as a mapping"
            )
        return tuple(args), {}, kwargs
    if kwargs is None:
        return tuple(args), {}, name
    if not isinstance(kwargs, Mapping) or not all(isinstance(key, str) for key in kwargs):
        raise TypeError(
            "kwargs (the third parameter) must be a mapping with str keys, the worker's "
            f"name as a str, or None, got {kwargs!r}"
        )
    return tuple(args), dict(kwargs), name
