"""PerformanceMonitor timings: start/end tokens, measure(), async tasks, and many threads."""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from itest_shared.perf import (
    PerformanceMonitor,
    Timing,
)
from tests.perf.support import OPERATIONS, THREADS, FakeClock, run_threads


class YieldingName(str):
    """An operation name whose hashing lets other threads run inside dict operations."""

    def __hash__(self) -> int:
        time.sleep(0)
        return str.__hash__(self)


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
    assert monitor._open == {} and shared._entered == []


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
