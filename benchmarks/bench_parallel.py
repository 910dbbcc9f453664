"""Benchmark: worker create+start+join through ``ParallelTestEnvironment`` vs raw ``multiprocess``.

Run: ``python benchmarks/bench_parallel.py`` (``--quick`` for a short run).

For each start method, N rounds of (create a process with a trivial target,
start it, join it), once through the env (``create_worker_process``, ``start``,
``join``; the env's own creation and ``close()`` are included, spread over its
rounds) and once through ``multiprocess.get_context(method).Process``. The two
run in alternating batches in the same process, so drift of the machine hits
both alike. Target: env/raw <= 1.2x for fork and spawn.
"""

from __future__ import annotations

import argparse
import statistics
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


def main() -> None:
    """Print per-round times and the env/raw ratio for each start method."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    quick = parser.parse_args().quick
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


if __name__ == "__main__":
    main()
