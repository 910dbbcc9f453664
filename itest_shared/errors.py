"""ErrorPropagationMixin: describe an error that crossed a module boundary, and check it."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Mapping
from typing import Any

from .formats import ErrorContext

__all__ = ["ErrorPropagationMixin", "capture_error"]

# Frames of this file are the machinery, not the caller's story.
_OWN_FILE = __file__


def _call_stack() -> list[str]:
    # sys._getframe and a walk over f_back cost microseconds; inspect.stack()
    # reads every frame's source lines and costs ~30x the traceback itself.
    frame = sys._getframe(1)
    stack = []
    while frame is not None:
        code = frame.f_code
        if code.co_filename != _OWN_FILE:
            stack.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        frame = frame.f_back  # type: ignore[assignment]
    return stack


def _check_module(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a module name (str), got {value!r}")


def capture_error(
    source_module: str, target_module: str, error: BaseException, operation: str
) -> ErrorContext:
    """Build the ErrorContext for ``error`` as seen from the calling code."""
    _check_module("source_module", source_module)
    _check_module("target_module", target_module)
    if not isinstance(error, BaseException):
        raise TypeError(f"error must be an exception instance, got {error!r}")
    info_context = {
        "traceback": traceback.format_exception(error),
        "call_stack": _call_stack(),
    }
    message: str
    try:
        message = str(error)
    except Exception:
        message = f"<unprintable {type(error).__name__} object>"
    return ErrorContext(
        source_module=source_module,
        target_module=target_module,
        operation=operation,
        original_error=error,
        error_type=type(error).__name__,
        error_message=message,
        timestamp=time.time(),
        context_data=info_context,
    )


class ErrorPropagationMixin:
    """Capture and verify cross-module errors; mix into any class, pytest test classes included.

    It has no ``__init__`` and keeps no instance state (pytest does not collect
    classes with an ``__init__``), so it is thread-safe by construction: every
    capture is built from its arguments and the calling thread's own stack.
    """

    def capture_cross_module_error(
        self, source_module: str, target_module: str, error: BaseException
    ) -> ErrorContext:
        """Return an ErrorContext for ``error``; ``operation`` is this class's name.

        ``context_data["traceback"]`` is the formatted exception with its chain;
        ``context_data["call_stack"]`` lists the caller's frames as
        ``"file:line in function"``, innermost first, without the mixin's frames.
        """
        return capture_error(source_module, target_module, error, type(self).__name__)

    def verify_error_context(self, context: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
        """Assert ``context`` has every key of ``expected`` with an equal value.

        The AssertionError lists every missing key and every mismatch, not just
        the first. ``timestamp`` is only checked for presence (it cannot be
        predicted).
        """
        if not isinstance(context, Mapping):
            raise TypeError(f"context must be an ErrorContext or a mapping, got {context!r}")
        if not isinstance(expected, Mapping):
            raise TypeError(f"expected must be a mapping of key -> value, got {expected!r}")
        missing = []
        mismatches = []
        for key, want in expected.items():
            if key not in context or (key == "timestamp" and context[key] is None):
                missing.append(key)
            elif key != "timestamp" and context[key] != want:
                mismatches.append(f"  {key}: expected {want!r}, got {context[key]!r}")
        if missing or mismatches:
            lines = ["error context does not match what was expected:"]
            if missing:
                lines.append(f"  missing keys: {', '.join(map(repr, missing))}")
            lines.extend(mismatches)
            raise AssertionError("\n".join(lines))
