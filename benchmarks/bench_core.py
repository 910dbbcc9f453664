"""Benchmarks of the core interfaces, each as a ratio against a baseline run in the same process.

Run: ``python benchmarks/bench_core.py`` (``--quick`` for a short run).

1. ``capture_cross_module_error`` at a stack depth of 20, against
   ``traceback.format_exception`` of the same exception alone (target: <= 2x).
2. ``ResourceTracker`` track+release pairs per second, one thread and four,
   against the copied prototype's unlocked dict tracker, which also builds and
   returns a dict (target: >= 1.0x).
3. ``python -c "import itest_shared"`` against ``python -c "import attrs"``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from _timing import best_per_call

from itest_shared import ErrorPropagationMixin, ResourceTracker

DEPTH = 20


def raise_through(depth: int) -> None:
    if depth == 0:
        raise ValueError("Parser timeout")
    raise_through(depth - 1)


def at_depth(depth: int, then: Callable[[], Any]) -> Any:
    return then() if depth == 0 else at_depth(depth - 1, then)


def bench_capture(number: int, repeat: int) -> tuple[float, float]:
    """Capture and format_exception of an exception with a 20-frame traceback, 20 frames deep."""

    class Chunker(ErrorPropagationMixin):
        pass

    def measure() -> tuple[float, float]:
        try:
            raise_through(DEPTH)
        except ValueError as exc:
            error = exc
        mixin = Chunker()
        # Interleave the two so that drift of the machine hits both alike.
        capture, baseline = [], []
        for _ in range(repeat):
            baseline.append(best_per_call(lambda: traceback.format_exception(error), number, 1))
            capture.append(
                best_per_call(
                    lambda: mixin.capture_cross_module_error("chunker.parser", "cli.main", error),
                    number,
                    1,
                )
            )
        return min(capture), min(baseline)

    result: tuple[float, float] = at_depth(DEPTH, measure)
    return result


class PrototypeTracker:
    """The baseline: the copied prototype's tracker (COMPAT.md section 5), a dict of dicts.

    No lock; ``track_resource`` builds, stores and returns the record dict and
    notes the id in the allocation order; ``release_resource`` ignores unknown ids.
    """

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}
        self.allocation_order: list[str] = []

    def track_resource(self, module: str, resource_type: str, resource_id: str) -> dict[str, Any]:
        record = {
            "resource_id": resource_id,
            "resource_type": resource_type,
            "owner_module": module,
            "created_at": time.time(),
            "state": "active",
            "metadata": {},
        }
        self.resources[resource_id] = record
        self.allocation_order.append(resource_id)
        return record

    def release_resource(self, resource_id: str) -> None:
        if resource_id in self.resources:
            self.resources[resource_id]["state"] = "released"
            self.resources[resource_id]["released_at"] = time.time()


def _pairs_per_second(tracker: Any, ids: list[str]) -> float:
    track, release = tracker.track_resource, tracker.release_resource
    start = time.perf_counter()
    for resource_id in ids:
        track("chunker.parallel", "process", resource_id)
        release(resource_id)
    return len(ids) / (time.perf_counter() - start)


def bench_tracker(pairs: int, runs: int) -> tuple[float, float]:
    """Track+release pairs per second, one thread: ResourceTracker and the prototype's.

    Many short runs, alternating between the two, each on a fresh tracker; the
    best run of each counts. On a shared machine the best of many short runs is
    what the code costs, and the worst is what the neighbours cost.
    """
    ids = [f"worker_{n}" for n in range(pairs)]
    ours, baseline = [], []
    for _ in range(runs):
        baseline.append(_pairs_per_second(PrototypeTracker(), ids))
        ours.append(_pairs_per_second(ResourceTracker(), ids))
    return max(ours), max(baseline)


def bench_tracker_threads(pairs: int, runs: int, threads: int = 4) -> tuple[float, float]:
    """Track+release pairs per second of ``threads`` threads sharing one tracker.

    Each thread works on its own ids (the prototype is not thread-safe on shared
    ones); the figure is all threads' pairs over the wall time of the slowest.
    """
    id_sets = [[f"worker_{t}_{n}" for n in range(pairs)] for t in range(threads)]

    def run(tracker: Any) -> float:
        barrier = threading.Barrier(threads + 1)

        def work(ids: list[str]) -> None:
            barrier.wait()
            _pairs_per_second(tracker, ids)

        workers = [threading.Thread(target=work, args=(ids,)) for ids in id_sets]
        for worker in workers:
            worker.start()
        barrier.wait()
        start = time.perf_counter()
        for worker in workers:
            worker.join()
        return threads * pairs / (time.perf_counter() - start)

    ours, baseline = [], []
    for _ in range(runs):
        baseline.append(run(PrototypeTracker()))
        ours.append(run(ResourceTracker()))
    return max(ours), max(baseline)


def bench_import(runs: int) -> tuple[float, float]:
    """Median wall time of a fresh interpreter importing each module."""

    def once(module: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        return time.perf_counter() - start

    ours, baseline = [], []
    for _ in range(runs):
        baseline.append(once("attrs"))
        ours.append(once("itest_shared"))
    return statistics.median(ours), statistics.median(baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    quick = parser.parse_args().quick

    capture, fmt = bench_capture(number=200 if quick else 1000, repeat=3 if quick else 7)
    print(
        f"capture_cross_module_error (depth {DEPTH}): {capture * 1e6:8.1f} us"
        f"   traceback.format_exception alone: {fmt * 1e6:8.1f} us"
        f"   ratio {capture / fmt:.2f}x  (target <= 2x)"
    )
    ours, base = bench_tracker(pairs=2_000, runs=50 if quick else 500)
    print(
        f"ResourceTracker track+release, 1 thread: {ours:12,.0f} pairs/s"
        f"   prototype's dict tracker: {base:12,.0f} pairs/s"
        f"   ratio {ours / base:.2f}x  (target >= 1.0x)"
    )
    ours, base = bench_tracker_threads(pairs=2_000, runs=20 if quick else 200)
    print(
        f"ResourceTracker track+release, 4 threads: {ours:12,.0f} pairs/s"
        f"   prototype's dict tracker: {base:12,.0f} pairs/s"
        f"   ratio {ours / base:.2f}x  (target >= 1.0x)"
    )
    ours_import, attrs_import = bench_import(runs=5 if quick else 21)
    print(
        f"python -c 'import itest_shared': {ours_import * 1e3:6.1f} ms"
        f"   python -c 'import attrs': {attrs_import * 1e3:6.1f} ms"
        f"   ratio {ours_import / attrs_import:.2f}x"
    )


if __name__ == "__main__":
    main()
