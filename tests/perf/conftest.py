"""Fixtures shared by the PerformanceMonitor tests: a fake clock and a monitor on it."""

from __future__ import annotations

import pytest

from itest_shared.perf import PerformanceMonitor
from tests.perf.support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def monitor(clock: FakeClock) -> PerformanceMonitor:
    return PerformanceMonitor(clock=clock)
