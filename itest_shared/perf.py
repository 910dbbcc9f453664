"""Operation timings with statistics and thresholds, and a thread-safe counter.

``PerformanceMonitor`` times operations on ``time.perf_counter``. Every
``start_timing`` hands out its own ``Timing`` token, so concurrent and nested
timings of one operation (threads, asyncio tasks, recursion) never overwrite
each other. Durations are in seconds.

.. versionadded:: 1.1
"""

from __future__ import annotations

import functools
import inspect
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar, cast

import attrs

from . import _checks
from ._mapping import AttributeMapping

__all__ = [
    "Measure",
    "PerformanceMonitor",
    "ThreadSafeCounter",
    "Timing",
    "TimingStats",
    "UnknownOperationError",
]

F = TypeVar("F", bound=Callable[..., Any])
# Who is timing: the thread, and the asyncio task when one is running in it.
_Owner = tuple[int, object]
_NO_OWNER: _Owner = (0, None)  # thread idents are never 0
_THRESHOLDS = ("max", "average", "median", "p95", "p99", "stdev", "total")


def _check_int(name: str, value: object) -> int:
    # bool is an int subclass, but increment(True) is a bug, not a count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return int(value)


def _check_operation(operation: object) -> str:
    if not isinstance(operation, str):
        raise TypeError(f"operation must be a str, got {operation!r}")
    if not operation:
        raise ValueError("operation must be a non-empty str")
    return operation


def _current_owner() -> _Owner:
    # Only code under asyncio can be in a task: look asyncio up, don't import it;
    # asking for the running loop first avoids current_task()'s costly raise
    # (every measure() asks: bench_perf.py).
    asyncio = sys.modules.get("asyncio")
    if asyncio is None or asyncio._get_running_loop() is None:
        return (threading.get_ident(), None)
    return (threading.get_ident(), asyncio.current_task())


class ThreadSafeCounter:
    """An integer counter whose updates are atomic across threads.

    Amounts are ints, zero and negative ones included (``bool`` is refused). The
    counter lives in one process: a forked or spawned worker gets its own copy.
    """

    __slots__ = ("_initial", "_lock", "_value")

    def __init__(self, initial: int = 0) -> None:
        self._initial = _check_int("initial", initial)
        self._value = self._initial
        self._lock = threading.Lock()

    def increment(self, amount: int = 1) -> int:
        """Add ``amount`` and return the new value."""
        amount = _check_int("amount", amount)
        with self._lock:
            self._value += amount
            return self._value

    def decrement(self, amount: int = 1) -> int:
        """Subtract ``amount`` and return the new value."""
        return self.increment(-_check_int("amount", amount))

    @property
    def value(self) -> int:
        """The current value."""
        with self._lock:
            return self._value

    def reset(self) -> int:
        """Set the counter back to its initial value and return the value it had."""
        with self._lock:
            previous, self._value = self._value, self._initial
            return previous

    def __repr__(self) -> str:
        return f"ThreadSafeCounter(value={self.value})"


class UnknownOperationError(KeyError):
    """An operation name the monitor holds no finished timings for."""

    def __init__(self, operation: str, known: Iterable[str] = ()) -> None:
        self.operation = operation
        self.known = tuple(known)
        super().__init__(operation)

    def __str__(self) -> str:
        # KeyError's own __str__ shows only repr(args[0]); say what is known.
        known = ", ".join(map(repr, self.known)) or "none"
        return f"no timings recorded for operation {self.operation!r}; known operations: {known}"

    def __reduce__(self) -> tuple[type[UnknownOperationError], tuple[str, tuple[str, ...]]]:
        return type(self), (self.operation, self.known)


@attrs.define(eq=False)
class Timing:
    """One timing handed out by ``start_timing``; ``duration`` is set when it ends."""

    operation: str
    started_at: float
    duration: float | None = None
    owner: _Owner = attrs.field(default=_NO_OWNER, repr=False)


def _percentile(ordered: list[float], fraction: float) -> float:
    # Linear interpolation between the two nearest ranks: numpy's default and
    # statistics.quantiles(method="inclusive"); one sample is every percentile.
    position = (len(ordered) - 1) * fraction
    low = int(position)
    if low + 1 >= len(ordered):
        return ordered[low]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * (position - low)


# The statistics a TimingStats reads like a dict with: the copied prototype's
# five keys first, then ours.
_STAT_KEYS = ("count", "total", "average", "min", "max", "median", "p95", "p99", "stdev")


@attrs.frozen
class TimingStats(AttributeMapping):
    """Statistics of one operation's durations, in seconds.

    ``median``, ``p95`` and ``p99`` interpolate linearly between the nearest ranks
    (as ``statistics.quantiles(method="inclusive")``); ``stdev`` is the sample
    standard deviation (n - 1), and 0.0 for a single sample.

    It also reads like the copied prototype's statistics dict: ``stats["count"]``,
    ``"p95" in stats``, ``len(stats)``, ``dict(stats)`` give the statistics
    ``count``, ``total``, ``average``, ``min``, ``max``, ``median``, ``p95``,
    ``p99`` and ``stdev`` (not ``operation``, which is not a statistic).

    .. versionchanged:: 1.3 reads like a dict.
    """

    operation: str
    count: int
    total: float
    average: float
    min: float
    max: float
    median: float
    p95: float
    p99: float
    stdev: float

    @classmethod
    def from_samples(cls, operation: str, samples: Iterable[float]) -> TimingStats:
        """Compute the statistics of ``samples`` (at least one duration >= 0)."""
        _check_operation(operation)
        ordered = sorted(_checks.seconds(v, f"samples[{i}]") for i, v in enumerate(samples))
        if not ordered:
            raise ValueError(f"samples for {operation!r} must hold at least one duration")
        count, total = len(ordered), math.fsum(ordered)
        average = total / count
        # Two passes with fsum: the one-pass sum-of-squares formula loses all
        # precision when durations are large and nearly equal.
        variance = math.fsum((x - average) ** 2 for x in ordered) / (count - 1) if count > 1 else 0
        return cls(
            operation=operation,
            count=count,
            total=total,
            average=average,
            min=ordered[0],
            max=ordered[-1],
            median=_percentile(ordered, 0.5),
            p95=_percentile(ordered, 0.95),
            p99=_percentile(ordered, 0.99),
            stdev=math.sqrt(variance),
        )

    def to_dict(self) -> dict[str, str | int | float]:
        """Return the JSON-safe form: every field by name."""
        return attrs.asdict(self)

    def _keys(self) -> tuple[str, ...]:
        return _STAT_KEYS


class Measure:
    """Times a ``with`` block, or every call of a decorated sync or async function.

    Its timings hold their own token, so they stay out of the registry that
    only a tokenless ``end_timing(op)`` reads: that never ends them. One object
    may be entered by several threads and tasks at once, and re-entered in one;
    each exit ends the timing its own enter began.
    """

    # Speed (bench_perf.py, issue 11: a timing <= 1.3x a minimal thread-safe
    # context manager): the monitor hands out one Measure per operation, so a
    # `with monitor.measure(op)` allocates only its Timing, and the usual case, one
    # timing of op in progress at a time, never asks who is timing.
    __slots__ = ("_clock", "_entered", "_lock", "_operation", "_samples")

    def __init__(self, monitor: PerformanceMonitor, operation: str) -> None:
        self._operation = operation
        self._clock, self._lock, self._samples = monitor._clock, monitor._lock, monitor._samples
        # The timings in progress, in the order they began. Enters append without
        # a lock; exits remove under the monitor's lock, so they never race each
        # other. An enter that finds its timing alone in the list leaves its
        # owner unset: alone, it is at index 0 and stays there (nothing is ever
        # inserted before it), and no later enter is alone while it is in. Any
        # other enter stamps its (thread, task) owner on its timing, so an exit
        # that finds company takes its owner's newest timing, else the ownerless
        # one at index 0. (A block that ends in another thread or task than it
        # began in, as a generator can, ends its own timing only when alone; in
        # company it takes the ownerless one if any, else raises RuntimeError.)
        self._entered: list[Timing] = []

    def __enter__(self) -> Timing:
        timing = Timing(self._operation, 0.0)
        entered = self._entered
        entered.append(timing)
        if len(entered) != 1:
            timing.owner = _current_owner()
        timing.started_at = self._clock()  # last: the bookkeeping is not timed
        return timing

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # The block's time counts even when it raised: the time was spent.
        clock = self._clock  # `self._clock()` would be a slower LOAD_METHOD, and timed
        now = clock()  # first: the bookkeeping is not timed
        entered = self._entered
        # _record inlined, with acquire/release rather than `with`: together they
        # save 110 ns of a 650 ns timing on CPython 3.11 (bench_perf.py).
        self._lock.acquire()
        try:
            # Alone: the timing is ours, at index 0 even if an enter appended since.
            timing = entered.pop(0) if len(entered) == 1 else self._pop_own(entered)
            duration = timing.duration = now - timing.started_at
            samples = self._samples.get(self._operation)
            if samples is None:
                self._samples[self._operation] = [duration]
            else:
                samples.append(duration)
        finally:
            self._lock.release()

    def _record(self, duration: float) -> None:
        with self._lock:
            samples = self._samples.get(self._operation)
            if samples is None:
                self._samples[self._operation] = [duration]
            else:
                samples.append(duration)

    def _pop_own(self, entered: list[Timing]) -> Timing:
        owner = _current_owner()
        for index in range(len(entered) - 1, -1, -1):
            if entered[index].owner == owner:
                return entered.pop(index)
        if entered[0].owner == _NO_OWNER:
            return entered.pop(0)  # ours: entered alone, so it never took an owner
        raise RuntimeError(
            f"measure({self._operation!r}): a block ended in another thread or asyncio task "
            "than the one it began in; its timing cannot be told from the others in progress"
        )

    def __call__(self, func: F) -> F:
        """Wrap ``func`` so that each call is timed; an async one until it is awaited to the end."""
        if not callable(func):
            raise TypeError(f"measure() decorates a function, got {func!r}")
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise TypeError(
                f"measure() cannot time generator function {func.__qualname__}: calling it only "
                "creates the generator; time its consumer with `with monitor.measure(...)`"
            )
        # Each call keeps its start in a local: concurrent and recursive calls
        # cannot mix up their timings, and no token is needed.
        record, clock = self._record, self._clock

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
                started_at = clock()
                try:
                    return await func(*args, **kwargs)
                finally:
                    record(clock() - started_at)

            return cast(F, timed_coroutine)

        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started_at = clock()
            try:
                return func(*args, **kwargs)
            finally:
                record(clock() - started_at)

        return cast(F, timed)


class PerformanceMonitor:
    """Records operation durations from any thread or task and summarises them.

    ``start_timing(op)`` returns a ``Timing`` token; ``end_timing(token)`` ends
    exactly that timing. ``end_timing(op)`` without a token ends the most recent
    unfinished ``start_timing`` of ``op`` started in the calling thread *and*
    asyncio task (each task is its own owner even when tasks share a thread),
    else the latest one started elsewhere, else returns ``0.0``; timings of
    ``measure()`` end with their block or call only. ``get_stats(op)`` is ``{}``
    for an operation with no finished timing. Timings still running when
    ``reset()`` is called survive it and are recorded when they end. The clock
    must be monotonic; it defaults to ``time.perf_counter``.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        if not callable(clock):
            raise TypeError(f"clock must be a callable returning seconds, got {clock!r}")
        self._clock = clock
        self._lock = threading.Lock()
        # Never rebound (reset() empties it): each Measure holds it.
        self._samples: dict[str, list[float]] = {}
        # The timings start_timing handed out, until they end.
        self._open: dict[tuple[str, _Owner], list[Timing]] = {}
        self._measures: dict[str, Measure] = {}

    def start_timing(self, operation: str) -> Timing:
        """Start timing ``operation`` and return the token that ends it."""
        timing = self._register(operation)
        # Read the clock last (and first in end_timing) so the bookkeeping is
        # not part of the measured duration.
        timing.started_at = self._clock()
        return timing

    def end_timing(self, operation: str | Timing) -> float:
        """End a timing (a ``Timing`` token, or an operation name), record it, return seconds.

        An operation name ends the most recent unfinished ``start_timing`` of it
        in the calling thread and task; if there is none, the most recently
        started one elsewhere (the copied prototype kept one pending start per
        name, whoever started it); if there is none at all, it returns ``0.0``
        and records nothing, as the prototype did. A ``Timing`` that has already
        ended, or that this monitor's ``start_timing`` did not hand out (another
        monitor's, or a ``measure()`` block's), raises ValueError.

        .. versionchanged:: 1.3 a name with no timing in progress in the calling
           thread/task ends the latest one elsewhere, or returns ``0.0`` (was
           ValueError).
        .. versionchanged:: 2.1 a name never ends a ``measure()`` timing, and a
           ``measure()`` block's token raises ValueError (either made the
           block's own end raise ValueError before).
        """
        return self._finish(operation, self._clock())

    def _register(self, operation: str) -> Timing:
        timing = Timing(_check_operation(operation), 0.0, owner=_current_owner())
        with self._lock:
            self._open.setdefault((operation, timing.owner), []).append(timing)
        return timing

    def _finish(self, operation: str | Timing, now: float) -> float:
        timing = operation if isinstance(operation, Timing) else None
        operation = _check_operation(operation if timing is None else timing.operation)
        with self._lock:
            if timing is None:
                key = (operation, _current_owner())
                stack = self._open.get(key, [])
                if not stack:
                    elsewhere = [k for k in self._open if k[0] == operation]
                    if not elsewhere:
                        return 0.0  # nothing to end: the prototype's answer, nothing recorded
                    key = max(elsewhere, key=lambda k: self._open[k][-1].started_at)
                    stack = self._open[key]
                timing = stack.pop()
            else:
                key = (operation, timing.owner)
                stack = self._open.get(key, [])
                if timing not in stack:
                    state = (
                        "has already ended"
                        if timing.duration is not None
                        else "was not started here (by this monitor's start_timing)"
                    )
                    raise ValueError(f"this timing of {operation!r} {state}")
                stack.remove(timing)
            if not stack:
                del self._open[key]
            duration = timing.duration = now - timing.started_at
            self._samples.setdefault(operation, []).append(duration)
        return duration

    def measure(self, operation: str) -> Measure:
        """Time a block (``with monitor.measure(op):``) or a function (``@monitor.measure(op)``).

        Its timings end with their block or call; ``end_timing(op)`` does not end them.

        .. versionchanged:: 2.1 the same ``Measure`` for the same operation.
        """
        # One Measure per operation, made once: this call is part of every timed
        # block (bench_perf.py). A hit is a valid name; a miss is checked.
        measure = self._measures.get(operation) if isinstance(operation, str) else None
        if measure is None:
            measure = self._measures.setdefault(
                _check_operation(operation), Measure(self, operation)
            )
        return measure

    def record(self, operation: str, duration: float) -> None:
        """Add a duration measured elsewhere (e.g. in a worker process) to ``operation``."""
        seconds = _checks.seconds(duration, "duration")
        with self._lock:
            self._samples.setdefault(_check_operation(operation), []).append(seconds)

    @property
    def metrics(self) -> dict[str, list[float]]:
        """Operation -> its recorded durations in the order they ended (a copy).

        The copied prototype's name for what ``get_samples`` returns per operation.

        .. versionadded:: 1.3
        """
        with self._lock:
            return {op: list(samples) for op, samples in self._samples.items()}

    @property
    def operations(self) -> tuple[str, ...]:
        """The operations with at least one finished timing, sorted."""
        with self._lock:
            return tuple(sorted(self._samples))

    def get_samples(self, operation: str) -> list[float]:
        """Return the recorded durations of ``operation``, in the order they ended."""
        _check_operation(operation)
        with self._lock:
            samples = self._samples.get(operation)
            if samples is None:
                raise UnknownOperationError(operation, sorted(self._samples))
            return list(samples)

    def get_stats(self, operation: str) -> TimingStats | dict[str, float]:
        """Return the statistics of ``operation``, or ``{}`` if it has no finished timing.

        The statistics read like a dict (``stats["count"]``, ``stats["average"]``)
        and have attributes (``stats.p95``); ``{}`` for an operation never timed
        (or still running) is what the copied prototype returned: test it with
        ``if stats:``. ``get_samples`` and ``assert_within`` still raise
        UnknownOperationError for such an operation.

        .. versionchanged:: 1.3 ``{}`` for an operation with no timings (was
           UnknownOperationError).
        """
        _check_operation(operation)
        with self._lock:
            samples = self._samples.get(operation)
            if not samples:
                return {}
            samples = list(samples)
        return TimingStats.from_samples(operation, samples)

    def get_all_stats(self) -> dict[str, TimingStats]:
        """Return the statistics of every operation with finished timings, by name."""
        with self._lock:
            snapshot = {op: list(samples) for op, samples in sorted(self._samples.items())}
        return {op: TimingStats.from_samples(op, samples) for op, samples in snapshot.items()}

    def assert_within(
        self,
        operation: str,
        *,
        max: float | None = None,
        average: float | None = None,
        median: float | None = None,
        p95: float | None = None,
        p99: float | None = None,
        stdev: float | None = None,
        total: float | None = None,
    ) -> TimingStats:
        """Assert each given statistic of ``operation`` is <= its limit; list every violation."""
        given = dict(zip(_THRESHOLDS, (max, average, median, p95, p99, stdev, total), strict=True))
        limits = {name: _checks.seconds(v, name) for name, v in given.items() if v is not None}
        if not limits:
            raise TypeError(f"assert_within() needs at least one of: {', '.join(_THRESHOLDS)}")
        stats = TimingStats.from_samples(operation, self.get_samples(operation))
        violations = [
            f"  {name} = {getattr(stats, name):.6g} s > limit {limit:.6g} s"
            for name, limit in limits.items()
            if getattr(stats, name) > limit
        ]
        if violations:
            raise AssertionError(
                f"operation {operation!r} exceeded {len(violations)} of {len(limits)} limits"
                f" ({stats.count} timings):\n" + "\n".join(violations)
            )
        return stats

    def reset(self, operation: str | None = None) -> None:
        """Discard the recorded durations of ``operation``, or of every operation."""
        with self._lock:
            if operation is None:
                self._samples.clear()
            elif _check_operation(operation) in self._samples:
                del self._samples[operation]
            else:
                raise UnknownOperationError(operation, sorted(self._samples))
