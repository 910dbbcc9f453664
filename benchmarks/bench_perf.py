"""Cost of timing, counting and running coroutines, as ratios against baselines in the same run.

Run: ``python benchmarks/bench_perf.py`` (``--quick`` for a short run).

1. ``with monitor.measure(op)`` (and start/end tokens, and a decorated function)
   against a bare ``time.perf_counter()`` pair plus a list append, and against
   the earlier design (one start time per name in a plain dict, no lock); and
   the duration recorded for an empty block, which is the bias in every sample.
2. ``ThreadSafeCounter.increment`` against ``with lock: value += 1`` written by hand.
3. ``AsyncTestRunner.run_parallel`` of 1,000 trivial coroutines against
   ``asyncio.gather`` of the same, both on one already-running loop; and
   ``runner.run`` against ``loop.run_until_complete`` on a reused loop.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
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


def bench_timing(number: int, repeat: int) -> dict[str, float]:
    """Per-timing cost of each way to time an empty block."""
    monitor, earlier = PerformanceMonitor(), EarlierMonitor()
    samples: list[float] = []
    clock = time.perf_counter

    def bare() -> None:
        start = clock()
        samples.append(clock() - start)

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
            "earlier design (dict, no lock)": earlier_pair,
            "with monitor.measure(op)": context_manager,
            "end_timing(start_timing(op))": token_pair,
            "start_timing(op); end_timing(op)": tokenless_pair,
            "@monitor.measure(op) function call": decorated,
        },
        number,
        repeat,
    )
    samples.clear()
    return result


def bench_bias(count: int) -> tuple[float, float]:
    """Median recorded duration of an empty block: measure() against a bare perf_counter pair.

    This is how much the monitor's own work inflates each sample it records.
    """
    monitor, clock, bare = PerformanceMonitor(), time.perf_counter, []
    for _ in range(count):
        start = clock()
        bare.append(clock() - start)
        with monitor.measure("empty"):
            pass
    return statistics.median(monitor.get_samples("empty")), statistics.median(bare)


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
    ratio = timings["with monitor.measure(op)"] / timings["earlier design (dict, no lock)"]
    print(f"  measure() against the earlier design: {ratio:.2f}x")
    ours, bare = bench_bias(number)
    print(
        f"Recorded duration of an empty block (median): measure() {ours * 1e9:6.0f} ns"
        f"   bare pair {bare * 1e9:6.0f} ns   ratio {ours / bare:.2f}x"
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
