"""Field checks and converters that several record modules share (the messages name the field)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from .. import _checks


def check_timestamp(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A finite number of epoch seconds (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{attribute.name} must be a number (epoch seconds), got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{attribute.name} must be finite, got {value!r}")


def check_optional_timestamp(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """None, or what :func:`check_timestamp` accepts."""
    if value is not None:
        check_timestamp(inst, attribute, value)


def check_nonempty_str(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A str that is not empty."""
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be a non-empty str, got {value!r}")
    if not value:
        raise ValueError(f"{attribute.name} must be a non-empty str, got ''")


def check_seconds(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A finite number of seconds >= 0 (``_checks.seconds``)."""
    _checks.seconds(value, attribute.name)


def check_optional_seconds(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """None, or what :func:`check_seconds` accepts."""
    if value is not None:
        check_seconds(inst, attribute, value)


def check_str_list(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A list of strings."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"{attribute.name} must be a list of strings, got {value!r}")


def copy_list(value: Any) -> Any:
    """A list or tuple as a new list (the record keeps its own); anything else as it is."""
    return list(value) if isinstance(value, (list, tuple)) else value


def copy_dict(value: Any) -> Any:
    """A mapping as a new dict; anything else as it is, for the validator to refuse."""
    return dict(value) if isinstance(value, Mapping) else value
