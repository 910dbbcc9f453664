"""Benchmark of ``itest-shared compare``: time as a ratio against a plain read, and peak memory.

Run: ``python benchmarks/bench_compare.py`` (``--quick`` for a short run).

Two sides of 100,000 records each (20,000 with ``--quick``; 4 runs a side, 500
tests, 20 timed operations: test results, timing statistics, errors,
resources and an environment record per run), compared with
``build_comparison`` in-process, against a baseline that reads the same files
line by line with ``json.loads`` and does nothing else; best of a few rounds,
interleaved. Peak memory: the RSS high-water mark of a child process that
runs the comparison, at each size (what the comparison keeps grows with tests,
operations and runs, not with records).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from itest_shared.report import build_comparison
from itest_shared.store import RecordStore

RUNS = 4
TESTS = 500
OPERATIONS = 20
SIDES = (("/repos/proj", "main", 1.0), ("/repos/proj-feature", "feature", 1.2))
SIZES = (20_000, 100_000)


def envelope(kind: str, i: int, path: str, branch: str, test: str | None) -> dict[str, Any]:
    return {
        "record_type": kind,
        "schema_version": "1.2",
        "record_id": f"bench-{kind}-{i:x}",
        "producer": {"package_version": "2.2.0", "pid": 1, "thread_id": 1, "thread_name": "M"},
        "context": {
            "test": test,
            "run_id": "bench",
            "worktree": {"path": path, "branch": branch, "commit": "0" * 40},
        },
    }


def make_record(i: int, path: str, branch: str, slow: float, rng: random.Random) -> dict[str, Any]:
    test = f"tests/test_mod{i % 25}.py::test_{i % TESTS}"
    base = envelope("", i, path, branch, test)
    kind = i % 10
    if kind < 4:
        outcome = "failed" if i % 97 == 0 else "passed"
        return base | {
            "record_type": "test_result",
            "node_id": test,
            "outcome": outcome,
            "setup_duration": 0.001,
            "call_duration": 0.02 * rng.lognormvariate(0, 0.1),
            "teardown_duration": 0.001,
            "failed_phase": "call" if outcome == "failed" else None,
            "failure": None,
            "markers": [],
            "worker": None,
            "rerun": 0,
            "timestamp": 1.0,
        }
    if kind < 8:
        median = 0.001 * (1 + i % OPERATIONS) * slow * rng.lognormvariate(0, 0.1)
        return base | {
            "record_type": "timing_stats",
            "operation": f"op{i % OPERATIONS}",
            "count": 5,
            "total": median * 5,
            "average": median,
            "min": median,
            "max": median,
            "median": median,
            "p95": median,
            "p99": median,
            "stdev": 0.0,
            "timestamp": 1.0,
        }
    if kind == 8:
        return base | {
            "record_type": "error_context",
            "source_module": f"mod{i % 7}",
            "target_module": "cli.main",
            "operation": "parse",
            "original_error": None,
            "error_type": "ValueError",
            "error_message": "boom",
            "timestamp": 1.0,
            "context_data": {"traceback": [], "call_stack": []},
        }
    return base | {
        "record_type": "resource",
        "resource_id": f"r{i}",
        "resource_type": "process",
        "owner_module": f"mod{i % 5}",
        "created_at": 1.0,
        "state": "leaked" if i % 50 == 9 else "released",
        "metadata": {},
        "released_at": None if i % 50 == 9 else 2.0,
    }


def build(directory: Path, per_side: int) -> None:
    rng = random.Random(1)
    for side, (path, branch, slow) in enumerate(SIDES):
        for run in range(RUNS):
            run_id = f"2026120{side + 1}T00000{run}Z-{branch}{run}"
            with RecordStore(directory).writer(run_id) as writer:
                env = envelope("environment", run, path, branch, None) | {
                    "host": "bench",
                    "os": "Linux",
                    "cpu_model": None,
                    "cpu_count": 2,
                    "python_version": "3.11.7",
                    "python_implementation": "CPython",
                    "python_build": "3.11.7",
                    "packages": {},
                    "worktree": {"path": path, "branch": branch, "commit": "0" * 40},
                    "dirty": False,
                    "tree_hash": f"{side}" * 40,
                    "worker": None,
                    "timestamp": 1.0,
                }
                records = [env]
                records += [
                    make_record(i, path, branch, slow, rng)
                    for i in range(run * per_side // RUNS, (run + 1) * per_side // RUNS)
                ]
                writer.write_many(records)


def plain_read(directory: Path) -> int:
    count = 0
    for path in sorted(directory.rglob("*.jsonl")):
        with open(path, "rb") as stream:
            for line in stream:
                json.loads(line)
                count += 1
    return count


def best(function: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


CHILD = (
    "import resource, sys\n"
    "from itest_shared.report import build_comparison\n"
    "document = build_comparison([sys.argv[1]], 'main', 'feature')\n"
    "assert document['verdict'] == 'regressed', document['regressions']\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller stores, fewer rounds")
    quick = parser.parse_args().quick
    sizes = SIZES[:1] if quick else SIZES
    rounds = 2 if quick else 5
    print(f"compare of two sides, {RUNS} runs each; best of {rounds}, interleaved")
    with tempfile.TemporaryDirectory() as name:
        for per_side in sizes:
            directory = Path(name) / str(per_side)
            build(directory, per_side)
            lines = plain_read(directory)
            document = build_comparison([directory], "main", "feature")
            operations = [row for row in document["timings"] if row["kind"] == "operation"]
            slower = sum(1 for row in operations if row["verdict"] == "slower")
            compared = len(operations)
            plain, ours = [], []
            for _ in range(rounds):
                plain.append(best(lambda d=directory: plain_read(d), 1))
                ours.append(best(lambda d=directory: build_comparison([d], "main", "feature"), 1))
            base, mine = min(plain), min(ours)
            child = subprocess.run(
                [sys.executable, "-c", CHILD, str(directory)],
                capture_output=True,
                text=True,
                check=True,
            )
            rss = int(child.stdout.strip()) / 1024
            print(
                f"  {per_side:>7,} records a side ({lines:,} lines):"
                f" json.loads loop {base * 1e3:8.1f} ms   compare {mine * 1e3:8.1f} ms"
                f"   ratio {mine / base:5.2f}x   peak RSS {rss:6.1f} MiB"
                f"   ({slower} of {compared} operations called slower, at 1.2x)"
            )


if __name__ == "__main__":
    main()
