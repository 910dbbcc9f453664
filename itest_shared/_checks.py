"""Argument checks shared by the package: one rule per kind of value, one message style.

Each check returns the value in the form the caller keeps, or raises
``TypeError("<name> must be <what>, got <type>")`` for a value of the wrong type
and ``ValueError("<name> must be <rule>, got <value>")`` for one out of range,
``<name>`` being the argument (or field) as the caller's user wrote it.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Final, TypeVar

T = TypeVar("T")


def seconds(value: object, name: str, *, infinite: bool = False, zero: bool = True) -> float:
    """A number of seconds as a float: ``>= 0``, or ``> 0`` unless ``zero``.

    ``math.inf`` is accepted only with ``infinite`` (meaning "no limit"; the
    caller decides what that does).
    """
    # The common case first, in one test: every timing sample and statistic
    # passes here (a recorded test checks dozens: bench_plugin.py).
    if type(value) is float and 0.0 < value < math.inf:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    bound = ">= 0" if zero else "> 0"
    if math.isnan(value) or value < 0 or (value == 0 and not zero):
        raise ValueError(f"{name} must be {_seconds_rule(bound, infinite)}, got {value!r}")
    if math.isinf(value) and not infinite:
        raise ValueError(f"{name} must be {_seconds_rule(bound, infinite)}, got {value!r}")
    return float(value)


def _seconds_rule(bound: str, infinite: bool) -> str:
    return f"a number {bound} (math.inf: no limit)" if infinite else f"a finite number {bound}"


def module_name(value: object, name: str, *, dotted: bool = False, empty: bool = False) -> str:
    """A module name (``"chunker.parser"``) as a plain str.

    ``empty`` lets ``""`` through; ``dotted`` also refuses empty segments
    (``"a..b"``, ``".a"``), for names matched segment by segment.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a module name (str), got {type(value).__name__}")
    if (not value and not empty) or (value and dotted and "" in value.split(".")):
        kind = "non-empty dotted" if dotted else "non-empty"
        raise ValueError(
            f"{name} must be a {kind} module name such as 'chunker.parser', got {value!r}"
        )
    return str(value)  # a str subclass is kept as the plain string it equals


def path(value: object, name: str) -> Path:
    """A filesystem path (a str, or an os.PathLike naming a str path) as a Path."""
    return _path(value, name, "a path (str or os.PathLike)")


def optional_path(value: object, name: str) -> Path | None:
    """As :func:`path`, and None stays None."""
    return None if value is None else _path(value, name, "a path (str or os.PathLike) or None")


def _path(value: object, name: str, what: str) -> Path:
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    text = os.fspath(value)
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str path, got {type(text).__name__}")
    # A Path is kept as it is: the prototype's env.workspace *is* temp_workspace.
    return value if isinstance(value, Path) else Path(text)


class _Unset:
    def __repr__(self) -> str:
        return "<not given>"


#: Default of a deprecated keyword: tells "not given" from any value, None included.
UNSET: Final = _Unset()


def renamed(new: str, value: T, old: str, old_value: object, default: T) -> T:
    """The argument ``new``, or its deprecated old name ``old`` if that was given.

    Warns (DeprecationWarning, pointing at the caller's caller) when ``old`` is
    used; a TypeError when ``new`` was given a value other than its default too.
    The value is not checked here: the caller checks what it gets.
    """
    if old_value is UNSET:
        return value
    if value != default:
        raise TypeError(f"{new} given twice: as {new} and as {old} (its old name); give {new}")
    warnings.warn(f"{old} is deprecated; call it {new}", DeprecationWarning, stacklevel=3)
    return old_value  # type: ignore[return-value]  # checked by the caller
