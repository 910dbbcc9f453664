"""measure(): one object per operation, owners asked only when its timings overlap, no registry.

The exact-duration tests run on an ``OwnersClock``: each thread and task counts
its own reads, from its own far-apart origin, so a timing ended with another
owner's start shows as a duration off by about 1e9.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from itest_shared.perf import Measure, PerformanceMonitor, Timing
from tests.perf.support import OPERATIONS, THREADS, FakeClock, run_threads


class OwnersClock:
    """A clock read per thread or asyncio task: each owner counts its own reads, one per read."""

    def __init__(self) -> None:
        self._reads: contextvars.ContextVar[list[float]] = contextvars.ContextVar("reads")

    def start_owner(self, origin: float) -> None:
        """Give the calling thread or task its own count (a task shares its parent's otherwise)."""
        self._reads.set([origin])

    def __call__(self) -> float:
        reads = self._reads.get()
        reads[0] += 1
        return reads[0]


class PausingList(list[Timing]):
    """A list whose armed len() lets a step run (in another thread) after it counted, once."""

    def __init__(self) -> None:
        super().__init__()
        self.step: Any = None

    def __len__(self) -> int:
        length = super().__len__()
        step, self.step = self.step, None
        if step is not None:
            step()
        return length


def test_measure_hands_out_one_object_per_operation(monitor: PerformanceMonitor) -> None:
    parse = monitor.measure("parse")
    assert isinstance(parse, Measure)
    assert monitor.measure("parse") is parse and monitor.measure("chunk") is not parse
    for name, error in ((["parse"], TypeError), (b"parse", TypeError), ("", ValueError)):
        with pytest.raises(error, match="operation must be a"):
            monitor.measure(name)  # type: ignore[arg-type]


def test_a_tokenless_end_timing_leaves_measure_timings_alone(
    monitor: PerformanceMonitor, clock: FakeClock
) -> None:
    """Only start_timing fills the registry that end_timing(name) reads."""
    with monitor.measure("op") as timing:
        assert monitor.end_timing("op") == 0.0
        clock.now = 2
    outer = monitor.start_timing("op")
    clock.now = 3
    with monitor.measure("op"):
        clock.now = 7
        assert monitor.end_timing("op") == 5  # the start_timing, not the block
    assert outer.duration == 5 and timing.duration == 2
    assert monitor.get_samples("op") == [2, 5, 4]


def test_end_timing_refuses_a_token_of_measure(monitor: PerformanceMonitor) -> None:
    with (
        monitor.measure("op") as timing,
        pytest.raises(ValueError, match="was not started here"),
    ):
        monitor.end_timing(timing)
    with pytest.raises(ValueError, match="has already ended"):
        monitor.end_timing(timing)
    assert len(monitor.get_samples("op")) == 1


def test_recursive_blocks_of_one_operation_end_innermost_first(
    monitor: PerformanceMonitor, clock: FakeClock
) -> None:
    tokens: list[Timing] = []

    def descend(depth: int) -> None:
        with monitor.measure("walk") as timing:  # the same Measure at every depth
            tokens.append(timing)
            clock.now += 1
            if depth:
                descend(depth - 1)
            clock.now += 10

    descend(3)
    assert [t.duration for t in tokens] == [44, 33, 22, 11]
    assert monitor.get_samples("walk") == [11, 22, 33, 44]
    assert not monitor.measure("walk")._entered


def test_decorated_recursion_and_reset_during_a_block(
    monitor: PerformanceMonitor, clock: FakeClock
) -> None:
    @monitor.measure("fib")
    def fib(n: int) -> int:
        clock.now += 1
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert fib(3) == 2
    assert sorted(monitor.get_samples("fib")) == [1, 1, 1, 3, 5]
    with monitor.measure("fib"):  # a Measure keeps the monitor's samples, not a copy
        monitor.reset()
        clock.now += 2
    assert fib(1) == 1
    assert monitor.get_samples("fib") == [2, 1]


def test_overlapping_blocks_from_many_threads_end_their_own_timing(contention: None) -> None:
    clock = OwnersClock()
    monitor = PerformanceMonitor(clock=clock)
    failures: list[str] = []

    @monitor.measure("op")
    def decorated() -> None:
        clock()

    def work(index: int) -> None:
        clock.start_owner(index * 1e9)
        for step in range(OPERATIONS):
            extra = (index + step) % 3
            with monitor.measure("op") as outer:  # one Measure, shared by every thread
                for _ in range(extra):
                    clock()
                if step % 4 == 0:
                    with monitor.measure("op") as inner:
                        clock()
                    if inner.duration != 2:
                        failures.append(f"thread {index}: inner {inner.duration}")
                    extra += 3
                elif step % 4 == 1:
                    decorated()  # 3 reads: its start, its one read, its end
                    extra += 3
            if outer.duration != extra + 1:
                failures.append(f"thread {index}: outer {outer.duration} != {extra + 1}")

    run_threads(work)
    assert failures == []
    samples = monitor.get_samples("op")
    assert len(samples) == THREADS * OPERATIONS * 3 // 2
    assert max(samples) <= 6
    assert not monitor.measure("op")._entered


def test_an_enter_between_an_exits_count_and_its_pop(
    monitor: PerformanceMonitor, clock: FakeClock
) -> None:
    """The exit of a timing alone pops it from the head, past one appended meanwhile."""
    measure = monitor.measure("op")
    entered = measure._entered = PausingList()
    other: list[Timing] = []

    def enter_elsewhere() -> None:
        thread = threading.Thread(target=lambda: other.append(measure.__enter__()))
        thread.start()
        thread.join(10)

    with measure as alone:
        clock.now = 1
        entered.step = enter_elsewhere  # the exit counts 1, then the other enters
    assert alone.duration == 1 and len(other) == 1
    assert other[0].duration is None and entered == other
    assert other[0].owner != (0, None)  # it found company, so it took an owner


def test_overlapping_blocks_in_many_tasks_end_their_own_timing() -> None:
    clock = OwnersClock()
    monitor = PerformanceMonitor(clock=clock)
    tasks, rounds = 50, 40

    @monitor.measure("op")
    async def decorated() -> None:
        await asyncio.sleep(0)
        clock()

    async def task(index: int) -> list[float | None]:
        clock.start_owner(index * 1e9)
        durations = []
        for step in range(rounds):
            with monitor.measure("op") as outer:
                await asyncio.sleep(0)  # every task is inside a block at once
                if step % 2:
                    with monitor.measure("op") as inner:
                        await asyncio.sleep(0)
                        clock()
                    durations.append(inner.duration)
                else:
                    await decorated()
            durations.append(outer.duration)
        return durations

    async def scenario() -> list[list[float | None]]:
        return await asyncio.gather(*(task(i) for i in range(tasks)))

    for durations in asyncio.run(scenario()):
        assert durations == [4, 2, 4] * (rounds // 2)
    assert len(monitor.get_samples("op")) == tasks * rounds * 2
    assert not monitor.measure("op")._entered


def test_a_block_that_ends_in_another_thread(monitor: PerformanceMonitor, clock: FakeClock) -> None:
    """Alone, it still ends its own timing; among others it cannot be told apart, and says so."""
    measure = monitor.measure("op")
    errors: list[BaseException] = []

    def in_thread(step: Any) -> None:
        def run() -> None:
            try:
                step()
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(10)

    def block() -> Iterator[None]:
        with measure:
            yield

    moved = block()
    next(moved)
    clock.now = 1
    in_thread(lambda: next(moved, None))  # alone: its own timing
    assert errors == [] and monitor.get_samples("op") == [1]
    # A timing owned by the main thread at the head, then a block that moves.
    in_thread(measure.__enter__)
    first = measure.__enter__()
    in_thread(lambda: measure.__exit__(None, None, None))
    moved = block()
    next(moved)
    in_thread(lambda: next(moved, None))
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    assert "ended in another thread or asyncio task" in str(errors[0])
    assert first.owner != (0, None)
