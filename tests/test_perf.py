"""ThreadSafeCounter and PerformanceMonitor: behaviour, statistics, bad input, contention."""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import pickle
import queue
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared.perf import (
    PerformanceMonitor,
    ThreadSafeCounter,
    Timing,
    TimingStats,
    UnknownOperationError,
)

THREADS, OPERATIONS = 16, 2_000


class FakeClock:
    """A clock the test moves by hand, so durations are exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_threads(target: Callable[[int], None], count: int = THREADS) -> None:
    barrier = threading.Barrier(count)

    def start(index: int) -> None:
        barrier.wait()  # all threads contend from the same moment
        target(index)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)


class YieldingInt(int):
    """An int whose arithmetic lets other threads run mid-update, widening race windows."""

    def __add__(self, other: object) -> YieldingInt:
        time.sleep(0)
        return YieldingInt(int(self) + int(other))  # type: ignore[call-overload]

    def __sub__(self, other: object) -> YieldingInt:
        time.sleep(0)
        return YieldingInt(int(self) - int(other))  # type: ignore[call-overload]


class YieldingName(str):
    """An operation name whose hashing lets other threads run inside dict operations."""

    def __hash__(self) -> int:
        time.sleep(0)
        return str.__hash__(self)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def monitor(clock: FakeClock) -> PerformanceMonitor:
    return PerformanceMonitor(clock=clock)


# --- ThreadSafeCounter ---------------------------------------------------------------


def test_counter_returns_new_values_and_resets_to_its_initial_value() -> None:
    counter = ThreadSafeCounter(initial=10)
    assert counter.value == 10
    assert counter.increment() == 11
    assert counter.increment(5) == 16
    assert counter.decrement() == 15
    assert counter.decrement(20) == -5
    assert counter.increment(0) == -5
    assert counter.reset() == -5  # the value it had
    assert counter.value == 10
    assert repr(counter) == "ThreadSafeCounter(value=10)"


@given(amount=st.booleans() | st.floats() | st.text(max_size=2) | st.none())
def test_counter_refuses_amounts_that_are_not_ints(amount: Any) -> None:
    counter = ThreadSafeCounter(3)
    with pytest.raises(TypeError, match="amount must be an int"):
        counter.increment(amount)
    with pytest.raises(TypeError, match="amount must be an int"):
        counter.decrement(amount)
    assert counter.value == 3
    with pytest.raises(TypeError, match="initial must be an int"):
        ThreadSafeCounter(amount)


@given(st.lists(st.tuples(st.sampled_from(["inc", "dec", "reset"]), st.integers())))
def test_counter_matches_a_plain_integer(steps: list[tuple[str, int]]) -> None:
    counter, model = ThreadSafeCounter(7), 7
    for step, amount in steps:
        if step == "inc":
            model += amount
            assert counter.increment(amount) == model
        elif step == "dec":
            model -= amount
            assert counter.decrement(amount) == model
        else:
            assert counter.reset() == model
            model = 7
    assert counter.value == model


def test_counter_is_exact_under_contention() -> None:
    counter = ThreadSafeCounter()
    # Under the GIL `+=` on a plain int rarely switches threads mid-update; this
    # int does, so an unguarded read-modify-write would lose updates here.
    counter._value = YieldingInt(0)

    def mixed(index: int) -> None:
        for step in range(OPERATIONS):
            if index % 2:  # odd threads: +3 and -1 in turn; even threads: +1
                counter.increment(3) if step % 2 else counter.decrement()
            else:
                counter.increment()

    run_threads(mixed)
    half = THREADS // 2
    assert counter.value == half * OPERATIONS + half * (OPERATIONS // 2) * (3 - 1)


def test_counter_increments_each_see_a_distinct_value() -> None:
    counter = ThreadSafeCounter()
    counter._value = YieldingInt(0)
    returned: list[list[int]] = [[] for _ in range(THREADS)]

    def work(index: int) -> None:
        for _ in range(OPERATIONS):
            returned[index].append(counter.increment())

    run_threads(work)
    # Every new value was handed to exactly one caller: read-modify-write is atomic.
    seen = sorted(value for values in returned for value in values)
    assert seen == list(range(1, THREADS * OPERATIONS + 1))


# --- timings ---------------------------------------------------------------------


def test_start_and_end_timing_with_a_token(monitor: PerformanceMonitor, clock: FakeClock) -> None:
    clock.now = 1.0
    timing = monitor.start_timing("parse")
    assert isinstance(timing, Timing) and timing.duration is None
    clock.now = 1.25
    assert monitor.end_timing(timing) == 0.25
    assert timing.duration == 0.25
    assert monitor.get_samples("parse") == [0.25]


def test_nested_timings_of_one_operation_do_not_overwrite(
    monitor: PerformanceMonitor, clock: FakeClock
) -> None:
    outer = monitor.start_timing("op")
    clock.now = 1
    monitor.start_timing("op")
    clock.now = 3
    assert monitor.end_timing("op") == 2  # without a token: the most recent start here
    clock.now = 10
    assert monitor.end_timing("op") == 10
    assert outer.duration == 10
    # Overlapping, ended out of order with tokens.
    first, second = monitor.start_timing("op"), monitor.start_timing("op")
    clock.now = 11
    monitor.end_timing(first)
    clock.now = 15
    monitor.end_timing(second)
    assert monitor.get_samples("op") == [2, 10, 1, 5]


def test_async_tasks_sharing_a_thread_keep_their_own_timings(
    monitor: PerformanceMonitor, clock: FakeClock
) -> None:
    """A starts, B starts, A ends first: a per-thread stack would end B's timing."""

    async def scenario() -> tuple[float, float]:
        a_started, b_started, a_ended = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def task_a() -> float:
            monitor.start_timing("op")  # at 0
            a_started.set()
            await b_started.wait()
            clock.now = 5
            duration = monitor.end_timing("op")
            a_ended.set()
            return duration

        async def task_b() -> float:
            await a_started.wait()
            clock.now = 1
            monitor.start_timing("op")
            b_started.set()
            await a_ended.wait()
            clock.now = 10
            return monitor.end_timing("op")

        a, b = await asyncio.gather(task_a(), task_b())
        return a, b

    assert asyncio.run(scenario()) == (5, 9)


def test_one_measure_object_shared_by_overlapping_tasks(
    monitor: PerformanceMonitor, clock: FakeClock
) -> None:
    shared = monitor.measure("op")

    async def scenario() -> None:
        a_in, b_in, a_out = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def task_a() -> None:
            with shared:  # enters at 0
                a_in.set()
                await b_in.wait()
                clock.now = 5
            a_out.set()

        async def task_b() -> None:
            await a_in.wait()
            clock.now = 1
            with shared:
                b_in.set()
                await a_out.wait()
                clock.now = 10

        await asyncio.gather(task_a(), task_b())

    asyncio.run(scenario())
    assert monitor.get_samples("op") == [5, 9]


def test_ending_what_was_not_started_returns_zero_and_records_nothing(
    monitor: PerformanceMonitor,
) -> None:
    # The copied prototype's answer: 0.0, nothing recorded, no error.
    assert monitor.end_timing("parse") == 0.0
    assert monitor.get_stats("parse") == {}
    assert monitor.metrics == {}
    timing = monitor.start_timing("parse")
    monitor.end_timing(timing)
    with pytest.raises(ValueError, match="timing of 'parse' has already ended"):
        monitor.end_timing(timing)
    stranger = PerformanceMonitor().start_timing("parse")
    with pytest.raises(ValueError, match="was not started here"):
        monitor.end_timing(stranger)
    assert monitor.end_timing("parse") == 0.0
    assert monitor.get_samples("parse") == [0.0]  # earlier state intact


def test_a_tokenless_end_prefers_the_calling_thread_then_the_latest_elsewhere(
    monitor: PerformanceMonitor, clock: FakeClock
) -> None:
    first = monitor.start_timing("op")
    clock.now = 1
    later = monitor.start_timing("op")
    clock.now = 2
    ended: list[float] = []

    def other_thread() -> None:
        mine = monitor.start_timing("op")  # the other thread's own timing wins
        ended.append(monitor.end_timing("op"))
        assert mine.duration == 0
        # With none of its own, it ends the latest started elsewhere, as the
        # prototype's single pending start per name would have been ended.
        ended.append(monitor.end_timing("op"))

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(10)
    assert ended == [0, 1]
    assert later.duration == 1 and first.duration is None
    assert monitor.end_timing("op") == 2  # the main thread's remaining one
    assert monitor.end_timing("op") == 0.0
    assert monitor.get_samples("op") == [0, 1, 2]


def test_measure_as_context_manager_also_times_a_block_that_raises(
    monitor: PerformanceMonitor, clock: FakeClock
) -> None:
    with monitor.measure("block") as timing:
        clock.now = 2
    assert timing.duration == 2
    with pytest.raises(KeyError), monitor.measure("block"):
        clock.now = 5
        raise KeyError("inside")
    assert monitor.get_samples("block") == [2, 3]
    reused = monitor.measure("block")
    with reused, reused:  # re-entered: each exit ends its own enter
        clock.now = 6
    assert monitor.get_stats("block").count == 4


def test_measure_decorates_sync_functions(monitor: PerformanceMonitor, clock: FakeClock) -> None:
    @monitor.measure("work")
    def work(x: int, *, y: int) -> int:
        """Add."""
        clock.now += 1.5
        return x + y

    assert work(1, y=2) == 3 and work(2, y=2) == 4
    assert work.__name__ == "work" and work.__doc__ == "Add."
    assert monitor.get_samples("work") == [1.5, 1.5]


def test_measure_times_the_awaited_coroutine_not_its_creation(
    monitor: PerformanceMonitor, clock: FakeClock
) -> None:
    @monitor.measure("fetch")
    async def fetch() -> str:
        await asyncio.sleep(0)
        clock.now += 4
        return "data"

    pending = fetch()
    clock.now = 100  # time passing before the await does not count
    assert monitor.operations == ()
    assert asyncio.run(pending) == "data"
    assert monitor.get_samples("fetch") == [4]
    assert inspect.iscoroutinefunction(fetch)


def test_measure_refuses_what_it_cannot_time(monitor: PerformanceMonitor) -> None:
    def gen() -> Iterator[int]:
        yield 1

    async def agen() -> Any:
        yield 1

    with pytest.raises(TypeError, match="cannot time generator function"):
        monitor.measure("x")(gen)
    with pytest.raises(TypeError, match="cannot time generator function"):
        monitor.measure("x")(agen)
    with pytest.raises(TypeError, match="measure\\(\\) decorates a function"):
        monitor.measure("x")(5)  # type: ignore[type-var]


@pytest.mark.parametrize("name, error", [(None, TypeError), (3, TypeError), ("", ValueError)])
def test_operation_names_are_checked(
    monitor: PerformanceMonitor, name: Any, error: type[Exception]
) -> None:
    for call in (monitor.start_timing, monitor.end_timing, monitor.measure, monitor.get_stats):
        with pytest.raises(error, match="operation must be a"):
            call(name)
    with pytest.raises(TypeError, match="clock must be a callable"):
        PerformanceMonitor(clock=0)  # type: ignore[arg-type]


def test_same_operation_from_many_threads_loses_nothing(contention: None) -> None:
    monitor = PerformanceMonitor()
    shared = monitor.measure("shared")

    def work(index: int) -> None:
        for step in range(OPERATIONS):
            if step % 2:
                with shared:
                    pass
            else:
                monitor.end_timing(monitor.start_timing("op"))

    run_threads(work)
    assert monitor.get_stats("op").count == THREADS * OPERATIONS // 2
    assert monitor.get_stats("shared").count == THREADS * OPERATIONS // 2
    assert monitor._open == {} and shared._entered == {}


def test_timings_ended_by_other_threads_lose_nothing() -> None:
    """Each even thread starts timings that the next (odd) thread ends, one at a time."""
    monitor = PerformanceMonitor()
    name = YieldingName("op")
    handoffs: list[queue.Queue[Timing]] = [queue.Queue(maxsize=1) for _ in range(THREADS // 2)]
    failures: list[BaseException] = []

    def work(index: int) -> None:
        handoff = handoffs[index // 2]
        try:
            for _ in range(OPERATIONS):
                if index % 2:
                    monitor.end_timing(handoff.get(timeout=10))
                else:
                    handoff.put(monitor.start_timing(name), timeout=10)
        except BaseException as error:
            failures.append(error)

    run_threads(work)
    assert failures == []
    assert len(monitor.get_samples("op")) == THREADS // 2 * OPERATIONS
    assert monitor._open == {}


def test_tokenless_timings_from_many_threads_loses_nothing(contention: None) -> None:
    monitor = PerformanceMonitor()

    def work(index: int) -> None:
        for _ in range(OPERATIONS):
            monitor.start_timing("op")
            monitor.end_timing("op")

    run_threads(work)
    assert len(monitor.get_samples("op")) == THREADS * OPERATIONS
    assert min(monitor.get_samples("op")) >= 0


# --- statistics, thresholds, reset -----------------------------------------------------

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
