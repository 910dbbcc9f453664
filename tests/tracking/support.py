"""Helpers shared by the ErrorTrackingContext tests."""

from __future__ import annotations

from itest_shared import ErrorContext


def broken_handler(context: ErrorContext) -> None:
    raise KeyError("handler bug")
