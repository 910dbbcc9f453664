"""Cost of timing, counting and running coroutines, as ratios against baselines in the same run.

Run: ``python benchmarks/bench_perf.py`` (``--quick`` for a short run).

1. ``with monitor.measure(op)`` (and start/end tokens, and a decorated function)
   against a bare ``time.perf_counter()`` pair plus a list append, against a
   minimal thread-safe context manager (a perf_counter pair, a lock, a list
   append; issue 11's target: measure() <= 1.3x it), and against the earlier
   design (one start time per name in a plain dict, no lock); and the duration
   recorded for an empty block, which is the bias in every sample (target:
   <= 1.5x a bare perf_counter pair's), beside that of a ``with`` whose enter
   and exit only read the clock (the floor of any context manager).
2. pytest-benchmark as an outside anchor (issue 11): in one pytest run, turns
   of a ``benchmark.pedantic`` round of a call of an empty function (one
   iteration per round) and of ``with monitor.measure(op):`` around the same
   call; the cost per round and per timing, and the median duration each
   records. Skipped when pytest-benchmark is not installed (a dev extra).
3. ``ThreadSafeCounter.increment`` against ``with lock: value += 1`` written by hand.
4. ``AsyncTestRunner.run_parallel`` of 1,000 trivial coroutines against
   ``asyncio.gather`` of the same, both on one already-running loop; and
   ``runner.run`` against ``loop.run_until_complete`` on a reused loop.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from time import perf_counter
from typing import Any

from _timing import interleaved

from itest_shared.aio import AsyncTestRunner
from itest_shared.perf import PerformanceMonitor, ThreadSafeCounter


class EarlierMonitor:
    """The baseline: the earlier design, one start time per operation name, no lock."""

    def __init__(self) -> None:
        self.starts: dict[str, float] = {}
        self.samples: dict[str, list[float]] = {}

    def start_timing(self, operation: str) -> None:
        self.starts[operation] = time.perf_counter()

    def end_timing(self, operation: str) -> float:
        duration = time.perf_counter() - self.starts.pop(operation)
        self.samples.setdefault(operation, []).append(duration)
        return duration


MINIMAL = "minimal thread-safe context manager"
MINIMAL_ACQUIRE = "the same, lock.acquire()/release()"
FLOOR = "a `with` that only reads the clock"


class MinimalTimer:
    """The baseline issue 11 names: a minimal thread-safe context manager, made per block."""

    __slots__ = ("_lock", "_samples", "_start")

    def __init__(self, samples: list[float], lock: threading.Lock) -> None:
        self._samples, self._lock = samples, lock

    def __enter__(self) -> None:
        self._start = perf_counter()

    def __exit__(self, *exc_info: object) -> None:
        duration = perf_counter() - self._start
        with self._lock:
            self._samples.append(duration)


class MinimalTimerAcquire(MinimalTimer):
    """The same with ``acquire()``/``release()``, which measure() uses: cheaper than ``with``."""

    __slots__ = ()

    def __exit__(self, *exc_info: object) -> None:
        duration = perf_counter() - self._start
        self._lock.acquire()
        try:
            self._samples.append(duration)
        finally:
            self._lock.release()


def bench_timing(number: int, repeat: int) -> dict[str, float]:
    """Per-timing cost of each way to time an empty block."""
    monitor, earlier = PerformanceMonitor(), EarlierMonitor()
    samples: list[float] = []
    clock, lock = time.perf_counter, threading.Lock()

    def bare() -> None:
        start = clock()
        samples.append(clock() - start)

    def minimal() -> None:
        with MinimalTimer(samples, lock):
            pass

    def minimal_acquire() -> None:
        with MinimalTimerAcquire(samples, lock):
            pass

    def earlier_pair() -> None:
        earlier.start_timing("op")
        earlier.end_timing("op")

    def context_manager() -> None:
        with monitor.measure("op"):
            pass

    def token_pair() -> None:
        monitor.end_timing(monitor.start_timing("op"))

    def tokenless_pair() -> None:
        monitor.start_timing("op")
        monitor.end_timing("op")

    @monitor.measure("op")
    def decorated() -> None:
        pass

    result = interleaved(
        {
            "bare perf_counter pair + append": bare,
            MINIMAL: minimal,
            MINIMAL_ACQUIRE: minimal_acquire,
            "earlier design (dict, no lock)": earlier_pair,
            "with monitor.measure(op)": context_manager,
            "end_timing(start_timing(op))": token_pair,
            "start_timing(op); end_timing(op)": tokenless_pair,
            "@monitor.measure(op) function call": decorated,
        },
        number,
        repeat,
    )
    if len(monitor.get_samples("op")) != 4 * number * repeat:
        raise SystemExit("sanity: the monitor lost timings")
    samples.clear()
    return result


class ClockOnly:
    """The floor of any ``with`` for the bias: its enter and exit only read the clock."""

    __slots__ = ("samples", "start")

    def __init__(self) -> None:
        self.samples: list[float] = []

    def __enter__(self) -> None:
        self.start = perf_counter()

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        now = perf_counter()
        self.samples.append(now - self.start)


def bench_bias(count: int) -> dict[str, float]:
    """Median recorded duration of an empty block: measure(), the floor of a ``with``, a bare pair.

    This is how much the monitor's own work inflates each sample it records. A
    ``with`` puts the return from ``__enter__`` and the call of ``__exit__``
    between its two clock reads; ``ClockOnly`` shows what that alone costs.
    """
    monitor, clock, floor = PerformanceMonitor(), time.perf_counter, ClockOnly()
    bare: list[float] = []
    for turn in range(count):
        start = clock()
        bare.append(clock() - start)
        if turn % 2:
            with monitor.measure("empty"):
                pass
            with floor:
                pass
        else:
            with floor:
                pass
            with monitor.measure("empty"):
                pass
    recorded = monitor.get_samples("empty")
    if not len(recorded) == len(floor.samples) == len(bare) == count:
        raise SystemExit("sanity: a recorded duration is missing")
    return {
        "measure()": statistics.median(recorded),
        FLOOR: statistics.median(floor.samples),
        "bare perf_counter pair": statistics.median(bare),
    }


# The anchor's test file: each turn (one test, as the benchmark fixture serves
# one call) times ROUNDS pedantic rounds, then ROUNDS measure() blocks, of the
# same call; turns alternate which goes first. pytest-benchmark's own figures
# (its median recorded duration) come from --benchmark-json; ours from extra_info.
ANCHOR_TEST = """
import statistics
import time

import pytest

from itest_shared.perf import PerformanceMonitor

ROUNDS = {rounds}


def empty():
    pass


@pytest.mark.parametrize("turn", range({turns}))
def test_turn(benchmark, turn):
    monitor, clock = PerformanceMonitor(), time.perf_counter

    def theirs():
        start = clock()
        benchmark.pedantic(empty, rounds=ROUNDS, iterations=1, warmup_rounds=0)
        return (clock() - start) / ROUNDS

    def ours():
        start = clock()
        for _ in range(ROUNDS):
            with monitor.measure("empty"):
                empty()
        return (clock() - start) / ROUNDS

    if turn % 2:
        per_timing, per_round = ours(), theirs()
    else:
        per_round, per_timing = theirs(), ours()
    samples = monitor.get_samples("empty")
    assert len(samples) == ROUNDS
    benchmark.extra_info.update(
        per_round=per_round, per_timing=per_timing, recorded=statistics.median(samples)
    )
"""


def bench_pytest_benchmark(rounds: int, turns: int) -> dict[str, float] | None:
    """Best per-round and per-timing cost over the turns, and the median recorded durations."""
    if importlib.util.find_spec("pytest_benchmark") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "test_anchor.py").write_text(ANCHOR_TEST.format(rounds=rounds, turns=turns))
        report = directory / "benchmark.json"
        # Only pytest-benchmark: no other plugin of the environment (ours, randomly,
        # timeout, xdist...) in the run, and no project configuration (-c: an empty one).
        (directory / "pytest.ini").write_text("[pytest]\n")
        env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "pytest_benchmark.plugin"]
        command += ["-p", "no:cacheprovider", "-c", str(directory / "pytest.ini")]
        command += [f"--benchmark-json={report}", str(directory / "test_anchor.py")]
        done = subprocess.run(
            command,
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"the pytest-benchmark run failed:\n{done.stdout}{done.stderr}")
        benchmarks = json.loads(report.read_text())["benchmarks"]
    if len(benchmarks) != turns or any(b["stats"]["rounds"] != rounds for b in benchmarks):
        raise SystemExit("sanity: pytest-benchmark ran another number of turns or rounds")
    extra = [b["extra_info"] for b in benchmarks]
    return {
        "per_round": min(e["per_round"] for e in extra),
        "per_timing": min(e["per_timing"] for e in extra),
        "their_recorded": statistics.median(b["stats"]["median"] for b in benchmarks),
        "our_recorded": statistics.median(e["recorded"] for e in extra),
    }


def bench_counter(number: int, repeat: int) -> dict[str, float]:
    """Per-increment cost of the counter and of a hand-written locked increment."""
    counter, lock = ThreadSafeCounter(), threading.Lock()
    box = [0]

    def by_hand() -> int:
        with lock:
            box[0] += 1
            return box[0]

    return interleaved(
        {"with lock: value += 1": by_hand, "ThreadSafeCounter.increment()": counter.increment},
        number,
        repeat,
    )


async def noop(value: int) -> int:
    return value


def bench_aio(coroutines: int, repeat: int) -> dict[str, float]:
    """Wall time of running ``coroutines`` trivial coroutines concurrently, best of ``repeat``."""
    loop = asyncio.new_event_loop()
    runner = AsyncTestRunner()
    try:

        async def gathered() -> list[Any]:
            return await asyncio.gather(*(noop(i) for i in range(coroutines)))

        async def via_runner() -> list[Any]:
            return await runner.run_parallel(*(noop(i) for i in range(coroutines)))

        result = interleaved(
            {
                f"asyncio.gather({coroutines:,})": lambda: loop.run_until_complete(gathered()),
                f"runner.run_parallel({coroutines:,})": lambda: loop.run_until_complete(
                    via_runner()
                ),
                "loop.run_until_complete(noop)": lambda: loop.run_until_complete(noop(1)),
                "runner.run(noop)": lambda: runner.run(noop(1)),
            },
            1,
            repeat,
        )
    finally:
        runner.close()
        loop.close()
    return result


def report(title: str, timings: dict[str, float], baseline: str, unit: str = "us") -> None:
    scale = {"us": 1e6, "ms": 1e3}[unit]
    print(title)
    for name, seconds in timings.items():
        ratio = seconds / timings[baseline]
        print(f"  {name:38s} {seconds * scale:9.3f} {unit}   {ratio:5.2f}x {baseline!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    quick = parser.parse_args().quick
    number, repeat = (2_000, 5) if quick else (20_000, 15)

    timings = bench_timing(number, repeat)
    report("One timing of an empty block:", timings, "bare perf_counter pair + append")
    ours = timings["with monitor.measure(op)"]
    print(
        f"  measure() against a {MINIMAL}: {ours / timings[MINIMAL]:.2f}x (target <= 1.3x);"
        f" against {MINIMAL_ACQUIRE}: {ours / timings[MINIMAL_ACQUIRE]:.2f}x"
    )
    ratio = ours / timings["earlier design (dict, no lock)"]
    print(f"  measure() against the earlier design: {ratio:.2f}x")
    bias = bench_bias(number if quick else number * 5)
    print("Recorded duration of an empty block (median):")
    for name, seconds in bias.items():
        ratio = seconds / bias["bare perf_counter pair"]
        print(f"  {name:38s} {seconds * 1e9:6.0f} ns   {ratio:5.2f}x 'bare perf_counter pair'")
    print(
        f"  measure() against {FLOOR!r}: {bias['measure()'] / bias[FLOOR]:.2f}x"
        " (target: measure() <= 1.5x a bare pair)"
    )
    rounds, turns = (2_000, 4) if quick else (20_000, 10)
    anchor = bench_pytest_benchmark(rounds, turns)
    if anchor is None:
        print("pytest-benchmark anchor: skipped (pytest-benchmark is not installed)")
    else:
        per_round, per_timing = anchor["per_round"], anchor["per_timing"]
        theirs, ours_recorded = anchor["their_recorded"], anchor["our_recorded"]
        print(f"pytest-benchmark anchor (one pytest run, {turns} turns of {rounds:,}, best):")
        print(
            f"  with monitor.measure(op): empty()   {per_timing * 1e6:7.3f} us per timing"
            f"   benchmark.pedantic(empty) {per_round * 1e6:7.3f} us per round"
            f"   ratio {per_timing / per_round:.2f}x"
        )
        print(
            f"  duration recorded for empty() (median): measure() {ours_recorded * 1e9:6.0f} ns"
            f"   pytest-benchmark {theirs * 1e9:6.0f} ns   ratio {ours_recorded / theirs:.2f}x"
        )
    report("One counter increment:", bench_counter(number, repeat), "with lock: value += 1")
    aio = bench_aio(1_000, 5 if quick else 21)
    print("Coroutines on one loop (best of runs):")
    for base_name, our_name in (
        ("asyncio.gather(1,000)", "runner.run_parallel(1,000)"),
        ("loop.run_until_complete(noop)", "runner.run(noop)"),
    ):
        ours_ms, base_ms = aio[our_name] * 1e3, aio[base_name] * 1e3
        print(
            f"  {our_name:30s} {ours_ms:8.3f} ms   {base_name:30s} {base_ms:8.3f} ms"
            f"   ratio {ours_ms / base_ms:.2f}x"
        )


if __name__ == "__main__":
    main()
