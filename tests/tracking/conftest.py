"""Fixtures shared by the ErrorTrackingContext tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from itest_shared.tracking import ErrorTrackingContext


@pytest.fixture
def ctx() -> Iterator[ErrorTrackingContext]:
    context = ErrorTrackingContext()
    yield context
    context.deactivate()
