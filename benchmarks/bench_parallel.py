"""Benchmark: worker create+start+join through ``ParallelTestEnvironment`` vs raw ``multiprocess``.

Run: ``python benchmarks/bench_parallel.py`` (``--quick`` for a short run).

For each start method, N rounds of (create a process with a trivial target,
start it, join it), once through the env (``create_worker_process``, ``start``,
``join``; the env's own creation and ``close()`` are included, spread over its
rounds) and once through ``multiprocess.get_context(method).Process``. The two
run in alternating batches in the same process, so drift of the machine hits
both alike. Target: env/raw <= 1.2x for each method.

Then the first start in a fresh process, where the default start method
(forkserver where available) first has to start its server: env creation plus
the first worker's create+start+join, against a second worker's, each in a new
interpreter, for the default and for fork (the default before 1.3).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import multiprocess  # type: ignore[import-untyped, unused-ignore]

TARGET_RATIO = 1.2


def trivial() -> None:
    """The worker's whole job: return at once, so only start-up and join are measured."""


def raw_batch(method: str, rounds: int) -> float:
    """Seconds per round of raw Process create+start+join."""
    ctx = multiprocess.get_context(method)
    began = time.perf_counter()
    for _ in range(rounds):
        process = ctx.Process(target=trivial)
        process.start()
        process.join()
    return (time.perf_counter() - began) / rounds


def env_batch(method: str, rounds: int) -> float:
    """Seconds per round through a fresh env, its creation and close included."""
    # Imported here, not at the top: spawn and forkserver children re-import this
    # script as __mp_main__, and a top-level import would make every child of both
    # arms pay for itest_shared, hiding the env's own cost in a bigger baseline.
    from itest_shared.parallel import ParallelTestEnvironment

    began = time.perf_counter()
    env = ParallelTestEnvironment(start_method=method)
    for _ in range(rounds):
        worker = env.create_worker_process(trivial)
        worker.start()
        worker.join()
    env.close()
    return (time.perf_counter() - began) / rounds


def measure(method: str, rounds: int, batches: int) -> tuple[float, float]:
    """Median per-round seconds (env, raw) over ``batches`` alternating batches."""
    raw_batch(method, 2)  # warm up: start the forkserver / resource tracker once
    env_batch(method, 2)
    env_times, raw_times = [], []
    for _ in range(batches):
        raw_times.append(raw_batch(method, rounds))
        env_times.append(env_batch(method, rounds))
    return statistics.median(env_times), statistics.median(raw_times)


def first_starts(method: str | None, raw: bool) -> tuple[str, float, float]:
    """In this fresh process: the method used, seconds to the first worker's end, the second's.

    Through the env (its creation included) or raw; raw with no method takes
    the method the env would.
    """
    from itest_shared.parallel import ParallelTestEnvironment  # see env_batch

    times = []
    began = time.perf_counter()
    env = ParallelTestEnvironment(start_method=method)
    used = env.start_method
    ctx = multiprocess.get_context(used)
    for _ in range(2):
        worker = ctx.Process(target=trivial) if raw else env.create_worker_process(trivial)
        worker.start()
        worker.join()
        times.append(time.perf_counter() - began)
        began = time.perf_counter()
    env.close()
    return used, times[0], times[1]


def measure_first_start(method: str | None, raw: bool, runs: int) -> tuple[str, float, float]:
    """The method used and median (first, second) seconds over ``runs`` fresh interpreters."""
    firsts, seconds, used = [], [], ""
    for _ in range(runs):
        flag = f"{'raw' if raw else 'env'}:{method or ''}"
        done = subprocess.run(
            [sys.executable, __file__, "--first-start", flag],
            capture_output=True,
            text=True,
            check=True,
        )
        used, first, second = json.loads(done.stdout)
        firsts.append(first)
        seconds.append(second)
    return used, statistics.median(firsts), statistics.median(seconds)


def main() -> None:
    """Print per-round times and the env/raw ratio for each start method."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    parser.add_argument("--first-start", metavar="METHOD", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.first_start is not None:  # a child of measure_first_start
        kind, _, method = options.first_start.partition(":")
        print(json.dumps(first_starts(method or None, kind == "raw")))
        return
    quick = options.quick
    plan = {"fork": (50, 5), "spawn": (8, 5), "forkserver": (20, 5)}
    if quick:
        plan = {method: (max(2, rounds // 4), 3) for method, (rounds, _) in plan.items()}
    print(f"worker create+start+join, env vs raw multiprocess (target <= {TARGET_RATIO}x)")
    print(f"{'method':<11} {'rounds':>7} {'env ms':>9} {'raw ms':>9} {'env/raw':>8}")
    for method in multiprocess.get_all_start_methods():
        rounds, batches = plan.get(method, (8, 3))
        env_s, raw_s = measure(method, rounds, batches)
        ratio = env_s / raw_s
        print(
            f"{method:<11} {rounds * batches:>7} {env_s * 1e3:>9.2f} {raw_s * 1e3:>9.2f} "
            f"{ratio:>7.2f}x"
        )
    runs = 3 if quick else 7
    print(f"\nfirst start in a fresh process (median of {runs}; env: its creation included)")
    print(f"{'start_method':<25} {'first ms':>9} {'second ms':>10} {'extra ms':>9}")
    for requested in (None, "fork"):
        for raw in (False, True):
            used, first, second = measure_first_start(requested, raw, runs)
            label = f"{used}{' (default)' if requested is None else ''} {'raw' if raw else 'env'}"
            extra = first - second
            print(f"{label:<25} {first * 1e3:>9.1f} {second * 1e3:>10.1f} {extra * 1e3:>9.1f}")


if __name__ == "__main__":
    main()
