"""Benchmark of ``itest-shared report``: speed as a ratio against a plain read, and flat memory.

Run: ``python benchmarks/bench_report.py`` (``--quick`` for a short run).

For stores of 20,000, 200,000 and (not with ``--quick``) 1,000,000 records (4
runs, 3 worktrees, every record type):

1. Speed: ``report --format json --all-runs`` (every record, as the baselines read)
   in-process (its output checked, not printed)
   against two baselines that read the same files line by line and do nothing
   else: ``json.loads`` (issue 11's baseline: target <= 1.3x) and ``orjson.loads``
   (the fastest parse of a line there is, so that a gain is not only a faster
   parser). Best of a few rounds, the three interleaved so that drift of the
   machine hits them alike.
2. Memory: the peak RSS of a ``python -m itest_shared report`` child process per
   size, and the tracemalloc peak of the in-process report (20k and 200k only:
   tracemalloc slows it several times). A streaming report keeps both nearly the
   same as the store grows.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from itest_shared.cli import main as cli_main
from itest_shared.store import RecordStore

RUNS = 4
WORKTREES = [("/repos/proj", "main"), ("/repos/proj-a", "feature-a"), ("/repos/proj-b", None)]
BATCH = 1_000
SIZES = (20_000, 200_000, 1_000_000)
QUICK_SIZES = SIZES[:2]
TRACEMALLOC_SIZES = SIZES[:2]


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


def report_once(directory: Path) -> int:
    """Run ``report --format json`` in-process; return the number of records it counted."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli_main(["report", str(directory), "--format", "json", "--all-runs"])
    if status != 0:
        raise SystemExit(f"report exited with {status}")
    document = json.loads(out.getvalue())
    if document["problems"]["total"]:
        raise SystemExit(f"report found problems: {document['problems']['shown'][:3]}")
    return int(document["records"])


def loads_loop(loads: Callable[[bytes], Any]) -> Callable[[Path], int]:
    """A baseline: read every record file line by line with ``loads`` and nothing else."""

    def read(directory: Path) -> int:
        count = 0
        for path in RecordStore(directory).files():
            with open(path, "rb") as stream:
                for line in stream:
                    loads(line)
                    count += 1
        return count

    return read


CANDIDATES: dict[str, Callable[[Path], int]] = {
    "json.loads loop": loads_loop(json.loads),
    "orjson.loads loop": loads_loop(orjson.loads),
    "report": report_once,
}


def best_times(directory: Path, count: int, rounds: int) -> dict[str, float]:
    """Best seconds of each candidate over ``rounds`` interleaved rounds; counts checked."""
    best = dict.fromkeys(CANDIDATES, float("inf"))
    for _ in range(rounds):
        for name, run in CANDIDATES.items():
            began = time.perf_counter()
            seen = run(directory)
            elapsed = time.perf_counter() - began
            if seen != count:
                raise SystemExit(f"{name} read {seen} records, expected {count}")
            best[name] = min(best[name], elapsed)
    return best


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
    command = [
        *(sys.executable, "-m", "itest_shared", "report", str(directory)),
        *("--format", "json", "--all-runs"),
    ]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    # wait4 gives this child's own rusage, not the maximum over every child so far.
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"report child exited with {child.returncode}")
    return int(usage.ru_maxrss)  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k and 200k records, 3 rounds")
    args = parser.parse_args()
    sizes, rounds = (QUICK_SIZES, 3) if args.quick else (SIZES, 5)
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"{RUNS} runs, {len(WORKTREES)} worktrees, 4 record types; best of {rounds} interleaved"
        f" rounds; {os.cpu_count()} CPUs, load average {load} at the start"
    )
    print(
        f"{'records':>9}  {'json.loads':>10}  {'orjson':>8}  {'report':>8}  {'vs json':>7}"
        f"  {'vs orjson':>9}  {'child peak RSS':>21}  {'tracemalloc peak':>19}"
    )
    first_rss = first_peak = 0
    with tempfile.TemporaryDirectory() as tmp:
        for count in sizes:
            store = Path(tmp) / f"store-{count}"
            build_store(store, count)
            best = best_times(store, count, rounds)
            base, fast, ours = (best[name] for name in CANDIDATES)
            rss = child_max_rss_kib(store)
            first_rss = first_rss or rss
            peak = tracemalloc_peak(store) if count in TRACEMALLOC_SIZES else 0
            first_peak = first_peak or peak
            shown_peak = f"{peak / 1024:,.0f} KiB ({peak / first_peak:.2f}x)" if peak else "-"
            print(
                f"{count:>9,}  {base:>8.3f} s  {fast:>6.3f} s  {ours:>6.3f} s  {ours / base:>6.2f}x"
                f"  {ours / fast:>8.2f}x  {rss:>8,} KiB ({rss / first_rss:.2f}x)  {shown_peak:>19}"
            )
            shutil.rmtree(store)
    print(
        "vs json, vs orjson: report time over that loop's time (issue 11: vs json <= 1.3x)."
        " Memory: (x) over the first row's."
    )


if __name__ == "__main__":
    main()
