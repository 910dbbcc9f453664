"""Benchmark of ``itest-shared report``: speed as a ratio against a plain read, and flat memory.

Run: ``python benchmarks/bench_report.py`` (``--quick`` for a short run).

1. Speed: ``report --format json`` in-process (output discarded) over a store of
   N records (4 runs, 3 worktrees, every record type), against the baseline of
   reading the same files line by line with ``json.loads`` and nothing else.
   Records/s of each, and the ratio (best of a few rounds, interleaved).
2. Memory: tracemalloc peak of the in-process report, and the peak RSS of a
   ``python -m itest_shared report`` child process, for N/10 vs N records. A
   streaming report keeps both nearly the same as the store grows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from itest_shared.cli import main as cli_main
from itest_shared.store import RecordStore

RUNS = 4
WORKTREES = [("/repos/proj", "main"), ("/repos/proj-a", "feature-a"), ("/repos/proj-b", None)]
BATCH = 1_000


def make_record(i: int) -> dict[str, Any]:
    """One record of a mixed stream: errors, resources, config changes and timings."""
    path, branch = WORKTREES[i % len(WORKTREES)]
    envelope = {
        "schema_version": "1.1",
        "record_id": f"bench-{i:x}",
        "producer": {"package_version": "1.2.0", "pid": 1, "thread_id": 1, "thread_name": "M"},
        "context": {
            "test": f"tests/test_mod{i % 40}.py::test_{i % 500}",
            "run_id": "bench",
            "worktree": {"path": path, "branch": branch, "commit": "0" * 40},
        },
    }
    kind = i % 4
    if kind == 0:
        fields: dict[str, Any] = {
            "record_type": "error_context",
            "source_module": f"chunker.mod{i % 13}",
            "target_module": f"cli.mod{i % 7}",
            "operation": "parse",
            "original_error": {"type": "builtins.ValueError", "message": "bad", "cause": None,
                               "context": None, "exceptions": []},
            "error_type": f"Error{i % 17}",
            "error_message": "x" * (i % 60),
            "timestamp": 1795000000.0 + i,
            "context_data": {"traceback": ["  File x, line 1"] * 3, "call_stack": ["f", "g"]},
        }  # fmt: skip
    elif kind == 1:
        state = ("active", "released", "leaked")[i % 3]
        fields = {
            "record_type": "resource",
            "resource_id": f"worker_{i}",
            "resource_type": ("process", "file_handle", "lock")[i % 3],
            "owner_module": f"chunker.mod{i % 11}",
            "created_at": 1795000000.0 + i,
            "state": state,
            "metadata": {"attempt": i % 7},
            "released_at": 1795000001.0 + i if state == "released" else None,
        }
    elif kind == 2:
        fields = {
            "record_type": "config_change",
            "config_path": f"key{i % 23}",
            "old_value": i,
            "new_value": i + 1,
            "affected_modules": ["chunker.parser", "cli.main"],
            "timestamp": 1795000000.0 + i,
        }
    else:
        fields = {
            "record_type": "timing_stats",
            "operation": f"op{i % 19}",
            "count": 1 + i % 50,
            "total": 0.5 + i % 10,
            "average": 0.1,
            "min": 0.001 * (1 + i % 5),
            "max": 0.5 + i % 3,
            "median": 0.1,
            "p95": 0.3 + (i % 7) / 10,
            "p99": 0.4 + (i % 7) / 10,
            "stdev": 0.05,
            "timestamp": 1795000000.0 + i,
        }
    return envelope | fields


def build_store(directory: Path, count: int) -> None:
    """Write ``count`` records over RUNS runs, one RecordWriter per run, in batches."""
    store = RecordStore(directory)
    per_run = count // RUNS
    for run in range(RUNS):
        with store.writer(f"run-{run}") as writer:
            first = run * per_run
            for start in range(first, first + per_run, BATCH):
                stop = min(start + BATCH, first + per_run)
                lines = [
                    json.dumps(make_record(i), separators=(",", ":")) for i in range(start, stop)
                ]
                writer.write_many(lines)


class Discard:
    """A text stream that drops what it is given: the output is not what is measured."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def report_once(directory: Path) -> float:
    """Seconds of one in-process ``report --format json``."""
    began = time.perf_counter()
    with contextlib.redirect_stdout(Discard()):
        status = cli_main(["report", str(directory), "--format", "json"])
    elapsed = time.perf_counter() - began
    if status != 0:
        raise SystemExit(f"report exited with {status}")
    return elapsed


def baseline_once(directory: Path) -> tuple[float, int]:
    """Seconds to read every record file line by line with json.loads, and the lines read."""
    began = time.perf_counter()
    count = 0
    loads = json.loads
    for path in RecordStore(directory).files():
        with open(path, "rb") as stream:
            for line in stream:
                loads(line)
                count += 1
    return time.perf_counter() - began, count


def tracemalloc_peak(directory: Path) -> int:
    """Peak bytes allocated by Python during one in-process report."""
    tracemalloc.start()
    try:
        report_once(directory)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def child_max_rss_kib(directory: Path) -> int:
    """Peak RSS (KiB) of ``python -m itest_shared report`` in a child process."""
    command = [sys.executable, "-m", "itest_shared", "report", str(directory), "--format", "json"]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    # wait4 gives this child's own rusage, not the maximum over every child so far.
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"report child exited with {child.returncode}")
    return int(usage.ru_maxrss)  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer records, one round")
    args = parser.parse_args()
    count, rounds = (40_000, 1) if args.quick else (200_000, 3)
    small = count // 10
    print(f"{count:,} records ({RUNS} runs, {len(WORKTREES)} worktrees, 4 record types);"
          f" best of {rounds}; {os.cpu_count()} CPUs")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        large_store, small_store = Path(tmp) / "large", Path(tmp) / "small"
        began = time.perf_counter()
        build_store(large_store, count)
        build_store(small_store, small)
        print(f"stores written in {time.perf_counter() - began:.1f} s")
        base_times, report_times = [], []
        for _ in range(rounds):
            # Interleaved, so drift of the machine hits both alike.
            seconds, lines = baseline_once(large_store)
            if lines != count:
                raise SystemExit(f"baseline read {lines} lines, expected {count}")
            base_times.append(seconds)
            report_times.append(report_once(large_store))
        base_rate, report_rate = count / min(base_times), count / min(report_times)
        print(f"baseline: lines + json.loads       : {base_rate:12,.0f} records/s")
        print(
            f"report --format json (in-process)  : {report_rate:12,.0f} records/s"
            f"   ratio {report_rate / base_rate:.2f}x"
        )
        peak_small, peak_large = tracemalloc_peak(small_store), tracemalloc_peak(large_store)
        print(
            f"tracemalloc peak: {small:,} records {peak_small / 1024:8,.0f} KiB;"
            f" {count:,} records {peak_large / 1024:8,.0f} KiB"
            f"   ratio {peak_large / peak_small:.2f}x"
        )
        rss_small, rss_large = child_max_rss_kib(small_store), child_max_rss_kib(large_store)
        print(
            f"child max RSS   : {small:,} records {rss_small:8,} KiB;"
            f" {count:,} records {rss_large:8,} KiB"
            f"   ratio {rss_large / rss_small:.2f}x"
        )


if __name__ == "__main__":
    main()
