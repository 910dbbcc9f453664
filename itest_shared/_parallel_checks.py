"""Argument checks for ``ParallelTestEnvironment``: a clear, typed error naming the argument."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def check_workspace(workspace: object) -> Path | None:
    """``workspace`` as a Path (None stays None); it may be missing but not a file."""
    if workspace is None:
        return None
    if not isinstance(workspace, (str, os.PathLike)):
        raise TypeError(f"workspace must be a path or None, got {type(workspace).__name__}")
    path = os.fspath(workspace)
    if not isinstance(path, str):
        raise TypeError(f"workspace must be a str path, got {type(path).__name__}")
    resolved = Path(path)
    if resolved.exists() and not resolved.is_dir():
        raise ValueError(f"workspace {path!r} exists and is not a directory")
    return resolved


def check_start_method(method: object, available: list[str]) -> str | None:
    """``method`` if it is None or one of ``available``."""
    choices = ", ".join(repr(m) for m in available)
    if method is not None and not isinstance(method, str):
        raise TypeError(
            f"start_method must be a str or None, got {type(method).__name__}; "
            f"available here: {choices}"
        )
    if method is not None and method not in available:
        raise ValueError(
            f"start_method {method!r} is not available on this platform; choose one of "
            f"{choices} (or None for the default)"
        )
    return method


def check_seconds(value: object, field: str, allow_inf: bool = False) -> float:
    """``value`` as a float number of seconds >= 0 (finite unless ``allow_inf``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{field} must be a number of seconds, got {type(value).__name__}")
    if math.isnan(value) or value < 0 or (math.isinf(value) and not allow_inf):
        limit = "a number >= 0 (math.inf waits for ever)" if allow_inf else "a finite number >= 0"
        raise ValueError(f"{field} must be {limit}, got {value!r}")
    return float(value)


def check_name(name: object) -> None:
    """Refuse a ``name`` that is not a non-blank str."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not name.strip():
        raise ValueError("name must be a non-empty str")


def check_callback(callback: object) -> None:
    """Refuse an ``on_worker_error`` that is neither None nor callable."""
    if callback is not None and not callable(callback):
        raise TypeError(
            f"on_worker_error must be a callable or None, got {type(callback).__name__}"
        )


def check_maxsize(maxsize: object) -> int:
    """``maxsize`` if it is an int >= 0."""
    if isinstance(maxsize, bool) or not isinstance(maxsize, int):
        raise TypeError(f"maxsize must be an int >= 0, got {type(maxsize).__name__}")
    if maxsize < 0:
        raise ValueError(f"maxsize must be >= 0 (0 means unbounded), got {maxsize}")
    return maxsize


def check_call(
    target: object, args: object, kwargs: object
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A worker's ``args`` and ``kwargs`` as a tuple and a dict, once ``target`` is callable."""
    if not callable(target):
        raise TypeError(f"target must be callable, got {type(target).__name__}")
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"args must be a tuple or list, got {type(args).__name__}")
    if kwargs is None:
        return tuple(args), {}
    if not isinstance(kwargs, Mapping) or not all(isinstance(key, str) for key in kwargs):
        raise TypeError(f"kwargs must be a mapping with str keys or None, got {kwargs!r}")
    return tuple(args), dict(kwargs)
