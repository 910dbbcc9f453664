"""Argument checks shared by the statistics, in the message style of ``_checks``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable


def _sample(values: object, name: str) -> list[float]:
    """A non-empty sample of finite real numbers (no bools) as a list of floats."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(values).__name__}")
    out = list(values)
    if not out:
        raise ValueError(f"{name} must hold at least one number, got an empty sample")
    kinds = set(map(type, out))  # one C-speed pass in the common all-float case
    if kinds != {float}:
        for index, value in enumerate(out):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name}[{index}] must be a number, got {type(value).__name__}")
        try:
            out = list(map(float, out))
        except OverflowError:
            raise ValueError(f"{name} must hold finite numbers, got an int too large") from None
    if not all(map(math.isfinite, out)):
        index = next(i for i, value in enumerate(out) if not math.isfinite(value))
        raise ValueError(f"{name}[{index}] must be a finite number, got {out[index]!r}")
    return out


def _choice(value: object, name: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _number(value: object, name: str) -> float:
    """A real number (not a bool) as a float; its range is the caller's to check."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


def _fraction(value: object, name: str) -> float:
    """A probability strictly between 0 and 1 (alpha, a confidence level)."""
    number = _number(value, name)
    if not 0 < number < 1:
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {value!r}")
    return number


def _size(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(value)
