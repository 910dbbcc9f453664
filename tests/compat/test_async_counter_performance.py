"""COMPAT sections 14, 15, 16: async_test_runner, ThreadSafeCounter and PerformanceMonitor."""

from __future__ import annotations

import pytest

from itest_shared import PerformanceMonitor, ThreadSafeCounter
from tests.compat.support import run_suite

# --- sections 14, 15, 16: async, counter, performance ---------------------------------------------

RUNNERS = """
import asyncio

import pytest


async def fetch(n, delay=0):
    await asyncio.sleep(delay)
    return n


def test_async_runner_from_sync_code(async_test_runner):
    runner = async_test_runner
    assert runner.loop is None
    assert runner.run(runner.run_parallel(fetch(1), fetch(2, 0.01), fetch(3))) == [1, 2, 3]
    assert runner.loop is not None and len(runner.tasks) == 3
    assert runner.run(runner.run_async(fetch(4))) == 4
    with pytest.raises(TimeoutError):
        runner.run(runner.run_with_timeout(fetch(5, 10), timeout=0.01))


def test_async_runner_with_form_then_teardown(async_test_runner):
    # [DEFECT 17] fixed: the with form plus the fixture's teardown is fine.
    with async_test_runner as runner:
        assert runner.run(fetch(6)) == 6
    async_test_runner.cleanup()


def test_no_closed_loop_is_left_installed():
    # [DEFECT 18] fixed (runs after the tests above).
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            return
    assert not loop.is_closed()


def test_counter(thread_safe_counter):
    assert thread_safe_counter.value == 0
    assert thread_safe_counter.increment() == 1
    assert thread_safe_counter.increment(5) == 6
    assert thread_safe_counter.decrement(2) == 4
    with pytest.raises(AttributeError):
        thread_safe_counter.value = 3


def test_performance_monitor(performance_monitor):
    performance_monitor.start_timing("parse")
    assert performance_monitor.end_timing("parse") >= 0.0
    with performance_monitor.measure("parse") as inside:
        pass
    stats = performance_monitor.get_stats("parse")
    assert stats["count"] == 2 and stats["min"] <= stats["average"] <= stats["max"]
    assert stats["total"] == pytest.approx(sum(performance_monitor.metrics["parse"]))
    assert performance_monitor.get_stats("never") == {}
    assert performance_monitor.end_timing("never") == 0.0
"""


def test_async_counter_and_performance_fixtures(worktree: pytest.Pytester) -> None:
    run_suite(worktree, RUNNERS).assert_outcomes(passed=5)


# --- section 15: ThreadSafeCounter -------------------------------------------------------------


def test_15_counter_returns_new_values_and_value_is_read_only() -> None:
    counter = ThreadSafeCounter()
    assert counter.value == 0
    assert counter.increment() == 1
    assert counter.increment(5) == 6
    assert counter.decrement() == 5
    assert counter.decrement(2) == 3
    with pytest.raises(AttributeError):
        counter.value = 10  # type: ignore[misc]
    # The prototype accepted floats; a count is an int here (a clear TypeError).
    with pytest.raises(TypeError, match=r"amount must be an int, got 0\.5"):
        counter.increment(0.5)  # type: ignore[arg-type]


# --- section 16: PerformanceMonitor -------------------------------------------------------------


def test_16_timing_returns_durations_and_get_stats_reads_like_the_prototypes_dict() -> None:
    monitor = PerformanceMonitor()
    assert monitor.start_timing("parse") is not None  # returns a token now; None before
    duration = monitor.end_timing("parse")
    assert isinstance(duration, float) and duration >= 0
    with monitor.measure("parse"):
        pass
    stats = monitor.get_stats("parse")
    assert stats["count"] == 2
    assert stats["total"] == pytest.approx(sum(monitor.metrics["parse"]))
    assert stats["average"] == pytest.approx(stats["total"] / 2)
    assert stats["min"] <= stats["average"] <= stats["max"]
    assert {"count", "total", "average", "min", "max"} <= set(stats)
    assert isinstance(stats["count"], int) and isinstance(stats["total"], float)
    assert dict(stats)["max"] == stats.max
    assert len(monitor.metrics["parse"]) == 2


def test_16_unknown_operations_give_an_empty_mapping_and_zero() -> None:
    monitor = PerformanceMonitor()
    assert monitor.get_stats("never") == {}
    assert len(monitor.get_stats("never")) == 0
    assert monitor.end_timing("never") == 0.0
    monitor.start_timing("pending")  # started, not ended: still no statistics
    assert monitor.get_stats("pending") == {}
    assert monitor.metrics == {}


def test_16_measure_records_even_when_the_block_raises() -> None:
    # [DEFECT 15] fixed: the time was spent; nothing stays pending.
    monitor = PerformanceMonitor()
    with pytest.raises(ValueError), monitor.measure("op"):
        raise ValueError("inside")
    assert monitor.get_stats("op")["count"] == 1
    assert monitor.end_timing("op") == 0.0


def test_16_overlapping_timings_of_one_name_do_not_overwrite_each_other() -> None:
    # [DEFECTS 14, 16] fixed: a monotonic clock, one token per start.
    monitor = PerformanceMonitor()
    outer = monitor.start_timing("op")
    with monitor.measure("op"):
        pass
    monitor.end_timing(outer)
    assert monitor.get_stats("op")["count"] == 2
    assert all(d >= 0 for d in monitor.metrics["op"])
