"""ErrorPropagationMixin: describe an error that crossed a module boundary, and check it."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Mapping
from typing import Any

from . import _checks
from .formats import ErrorContext

__all__ = ["ErrorPropagationMixin", "capture_error"]

# Frames of this file are the machinery, not the caller's story.
_OWN_FILE = __file__


def _call_stack(skip: int) -> list[str]:
    # sys._getframe and a walk over f_back cost microseconds; inspect.stack()
    # reads every frame's source lines and costs ~30x the traceback itself.
    frame = sys._getframe(1)
    stack = []
    while frame is not None:
        code = frame.f_code
        if code.co_filename != _OWN_FILE:
            if skip:
                skip -= 1
            else:
                stack.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        frame = frame.f_back  # type: ignore[assignment]
    return stack


def capture_error(
    source_module: str,
    target_module: str,
    error: BaseException,
    operation: str,
    *,
    skip: int = 0,
) -> ErrorContext:
    """Build the ErrorContext for ``error`` as seen from the calling code.

    The call stack starts at the caller, leaving out ``skip`` more frames (a
    caller's own helpers).
    """
    _checks.module_name(source_module, "source_module", empty=True)
    _checks.module_name(target_module, "target_module", empty=True)
    if not isinstance(error, BaseException):
        raise TypeError(f"error must be an exception instance, got {error!r}")
    info_context = {
        "traceback": traceback.format_exception(error),
        "call_stack": _call_stack(skip),
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

    @staticmethod
    def verify_error_context(
        error: Mapping[str, Any] | None = None,
        expected_context: Mapping[str, Any] | None = None,
        **aliases: Any,
    ) -> None:
        """Assert the error record ``error`` has every key of ``expected_context``, equal.

        A staticmethod, as in the copied prototype. The AssertionError lists every
        missing key and every mismatch, not just the first, each in the
        prototype's words (``Missing context key: <key>``, ``Context mismatch for
        <key>: <actual> != <expected>``, values shown with ``str()``), then the
        ``repr`` of both values. ``timestamp`` is only checked for presence (it
        cannot be predicted). ``error`` may be an ErrorContext or a plain dict.
        The 1.1 keyword names ``context=`` and ``expected=`` still work.

        .. versionchanged:: 1.3 a staticmethod; parameters named ``error`` and
           ``expected_context`` as in the prototype.
        """
        record, expected = _verify_arguments(error, expected_context, aliases)
        if not isinstance(record, Mapping):
            raise TypeError(f"error must be an ErrorContext or a mapping, got {record!r}")
        if not isinstance(expected, Mapping):
            raise TypeError(f"expected_context must be a mapping of key -> value, got {expected!r}")
        problems = []
        for key, want in expected.items():
            if key not in record or (key == "timestamp" and record[key] is None):
                problems.append(f"  Missing context key: {key}")
            elif key != "timestamp" and record[key] != want:
                got = record[key]
                problems.append(
                    f"  Context mismatch for {key}: {_text(got)} != {_text(want)}"
                    f" (expected {want!r}, got {got!r})"
                )
        if problems:
            raise AssertionError("\n".join(["error context does not match:", *problems]))


def _text(value: object) -> str:
    try:
        return str(value)
    except Exception:
        # A broken __str__ must not hide the mismatch being reported.
        return f"<unprintable {type(value).__name__} object>"


def _verify_arguments(
    error: object, expected_context: object, aliases: dict[str, Any]
) -> tuple[object, object]:
    """Accept the 1.1 keyword names ``context``/``expected`` beside the prototype's."""
    unknown = sorted(set(aliases) - {"context", "expected"})
    if unknown:
        raise TypeError(f"verify_error_context() got an unexpected keyword argument {unknown[0]!r}")
    for alias, name, value in (
        ("context", "error", error),
        ("expected", "expected_context", expected_context),
    ):
        if alias in aliases and value is not None:
            raise TypeError(f"verify_error_context() got both {name} and {alias}; give one")
    if "context" in aliases:
        error = aliases["context"]
    if "expected" in aliases:
        expected_context = aliases["expected"]
    if error is None or expected_context is None:
        missing = "error" if error is None else "expected_context"
        raise TypeError(f"verify_error_context() missing required argument: {missing!r}")
    return error, expected_context
