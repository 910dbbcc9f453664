"""PerformanceMonitor statistics, unknown operations, reset, and assert_within thresholds."""

from __future__ import annotations

import json
import math
import pickle
import statistics
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared.perf import (
    PerformanceMonitor,
    TimingStats,
    UnknownOperationError,
)
from tests.perf.support import FakeClock

durations = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(st.lists(durations, min_size=1, max_size=200))
def test_stats_agree_with_the_statistics_module(samples: list[float]) -> None:
    stats = TimingStats.from_samples("op", samples)
    assert stats.count == len(samples)
    assert stats.total == math.fsum(samples)
    assert stats.min == min(samples) and stats.max == max(samples)
    assert stats.average == pytest.approx(statistics.fmean(samples))
    assert stats.median == pytest.approx(statistics.median(samples))
    if len(samples) == 1:
        assert stats.stdev == 0.0
        assert stats.p95 == stats.p99 == samples[0]
    else:
        cuts = statistics.quantiles(samples, n=100, method="inclusive")
        assert stats.p95 == pytest.approx(cuts[94]) and stats.p99 == pytest.approx(cuts[98])
        assert stats.stdev == pytest.approx(statistics.stdev(samples), rel=1e-9, abs=1e-9)
    assert stats.min <= stats.median <= stats.p95 <= stats.p99 <= stats.max


def test_stats_to_dict_is_json_safe(monitor: PerformanceMonitor) -> None:
    for duration in (0.1, 0.2, 0.4):
        monitor.record("op", duration)
    stats = monitor.get_stats("op")
    data = stats.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert TimingStats(**data) == stats  # type: ignore[arg-type]
    assert list(data) == [
        "operation",
        "count",
        "total",
        "average",
        "min",
        "max",
        "median",
        "p95",
        "p99",
        "stdev",
    ]


def test_from_samples_refuses_bad_samples() -> None:
    with pytest.raises(ValueError, match="at least one duration"):
        TimingStats.from_samples("op", [])
    with pytest.raises(ValueError, match=r"samples\[1\] must be a finite number >= 0"):
        TimingStats.from_samples("op", [1.0, -1.0])


def test_unknown_operations_list_the_known_ones(monitor: PerformanceMonitor) -> None:
    monitor.record("parse", 0.1)
    monitor.record("chunk", 0.2)
    assert monitor.get_stats("pasre") == {}  # the copied prototype's answer
    with pytest.raises(KeyError) as raised:
        monitor.get_samples("pasre")
    assert isinstance(raised.value, UnknownOperationError)
    assert str(raised.value) == (
        "no timings recorded for operation 'pasre'; known operations: 'chunk', 'parse'"
    )
    again = pickle.loads(pickle.dumps(raised.value))
    assert str(again) == str(raised.value)
    with pytest.raises(UnknownOperationError, match="known operations: none"):
        PerformanceMonitor().get_samples("x")


def test_record_checks_durations_and_keeps_earlier_samples(monitor: PerformanceMonitor) -> None:
    monitor.record("op", 1)
    bad_durations: list[tuple[Any, type[Exception]]] = [
        (-0.1, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (True, TypeError),
        ("1", TypeError),
    ]
    for bad, error in bad_durations:
        with pytest.raises(error, match="duration must be"):
            monitor.record("op", bad)
    assert monitor.get_samples("op") == [1.0]


def test_get_all_stats_and_operations(monitor: PerformanceMonitor) -> None:
    assert monitor.get_all_stats() == {} and monitor.operations == ()
    monitor.record("b", 2)
    monitor.record("a", 1)
    monitor.record("a", 3)
    all_stats = monitor.get_all_stats()
    assert list(all_stats) == ["a", "b"] == list(monitor.operations)
    assert all_stats["a"] == monitor.get_stats("a") and all_stats["a"].average == 2


def test_reset_discards_samples_but_not_timings_in_progress(
    monitor: PerformanceMonitor, clock: FakeClock
) -> None:
    monitor.record("a", 1)
    monitor.record("b", 1)
    running = monitor.start_timing("a")
    monitor.reset("a")
    assert monitor.operations == ("b",)
    with pytest.raises(UnknownOperationError, match="'a'"):
        monitor.reset("a")
    monitor.reset()
    assert not monitor.operations
    clock.now = 2
    assert monitor.end_timing(running) == 2
    assert monitor.get_samples("a") == [2]


def test_assert_within_passes_and_returns_the_stats(monitor: PerformanceMonitor) -> None:
    for duration in range(1, 101):
        monitor.record("op", duration / 1000)
    stats = monitor.assert_within("op", p95=0.1, max=0.1, average=0.0505)
    assert stats.count == 100


def test_assert_within_lists_every_violated_limit(monitor: PerformanceMonitor) -> None:
    for duration in range(1, 101):
        monitor.record("op", duration / 1000)
    with pytest.raises(AssertionError) as raised:
        monitor.assert_within("op", max=0.05, average=1, p95=0.09, p99=0.5)
    assert str(raised.value) == (
        "operation 'op' exceeded 2 of 4 limits (100 timings):\n"
        "  max = 0.1 s > limit 0.05 s\n"
        "  p95 = 0.09505 s > limit 0.09 s"
    )


def test_assert_within_checks_its_arguments(monitor: PerformanceMonitor) -> None:
    monitor.record("op", 1)
    with pytest.raises(TypeError, match="needs at least one of: max, average, median, p95"):
        monitor.assert_within("op")
    with pytest.raises(ValueError, match="p95 must be a finite number >= 0"):
        monitor.assert_within("op", p95=-1)
    with pytest.raises(TypeError, match="max must be a number"):
        monitor.assert_within("op", max="1")  # type: ignore[arg-type]
    with pytest.raises(UnknownOperationError):
        monitor.assert_within("nope", max=1)
