"""Benchmark of the record store, each figure a ratio against a plain-file baseline in the same run.

Run: ``python benchmarks/bench_store.py`` (``--quick`` for a short run).

1. Writing: 4 processes at once, each writing N records through its own
   ``RecordWriter`` (one ``os.write`` per record, so a record whose ``write()``
   returned survives a SIGKILL), against one process appending the same JSON
   lines to one plain file with ``f.write(line)`` (buffered, flushed at the end).
   Records/s of each, and the ratio. Measured three times: writers given ready
   JSON lines (str, checked by parsing), dicts (the store serialises them), and
   ready lines in batches of 20 through ``write_many`` (one ``os.write`` each).
   A second baseline appends the lines after checking each with ``json.loads``,
   the check ``write(str)`` makes: most of the gap to the plain append is that.
2. Reading: ``RecordStore.read()`` over the 4N written records against
   ``for line in open(...)`` + ``json.loads`` over the plain file.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from itest_shared.store import RecordStore

PROCESSES = 4
# Records per write_many call in the batch mode: about what one test records.
BATCH = 20


def make_record(worker: int, i: int) -> dict[str, Any]:
    """A record of a realistic size (~300 bytes of JSON), like a ResourceRecord."""
    return {
        "record_type": "resource",
        "schema_version": "1.0",
        "record_id": f"bench-{worker}-{i:x}",
        "producer": {"package_version": "1.2.0", "pid": worker, "thread_id": 1, "thread_name": "M"},
        "resource_id": f"worker_{worker}_{i}",
        "resource_type": "process",
        "owner_module": "chunker.parallel",
        "created_at": 1795000000.5 + i,
        "state": "active",
        "metadata": {"attempt": i % 7, "note": "x" * (i % 40)},
        "released_at": None,
    }


def line_of(record: dict[str, Any]) -> str:
    return json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n"


def store_worker(directory: str, worker: int, count: int, kind: str, start: Any, done: Any) -> None:
    """Write ``count`` records through one RecordWriter once every worker is ready."""
    if kind in ("str", "batch"):
        items: list[Any] = [line_of(make_record(worker, i)) for i in range(count)]
    else:
        items = [make_record(worker, i) for i in range(count)]
    writer = RecordStore(directory).writer("bench")
    start.wait()
    if kind == "batch":
        # Batches of a test's worth of records, as the pytest recorder writes them.
        for first in range(0, len(items), BATCH):
            writer.write_many(items[first : first + BATCH])
    else:
        write = writer.write
        for item in items:
            write(item)
    writer.close()
    done.put(time.perf_counter())


def bench_store_write(directory: Path, count: int, kind: str) -> float:
    """Records/s of PROCESSES writers at once, from the common start to the last finish."""
    import multiprocess  # type: ignore[import-untyped, unused-ignore]

    context = multiprocess.get_context("fork")
    start = context.Barrier(PROCESSES + 1)
    done = context.Queue()
    workers = [
        context.Process(target=store_worker, args=(str(directory), w, count, kind, start, done))
        for w in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    start.wait()
    began = time.perf_counter()
    finished = [done.get(timeout=600) for _ in workers]
    for process in workers:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"writer exited with {process.exitcode}")
    last: float = max(finished)
    return PROCESSES * count / (last - began)


def bench_plain_write(path: Path, count: int) -> float:
    """Records/s of one process appending the same lines to one plain file."""
    lines = [line_of(make_record(w, i)) for w in range(PROCESSES) for i in range(count)]
    began = time.perf_counter()
    with open(path, "a", encoding="utf-8") as stream:
        for line in lines:
            stream.write(line)
        stream.flush()
    return len(lines) / (time.perf_counter() - began)


def bench_plain_write_checked(path: Path, count: int) -> float:
    """Records/s of one process appending the lines after checking each with json.loads.

    What ``write(str)`` does besides the file: it refuses a line that is not one
    JSON object. Shows how much of the gap to the plain append is that check.
    """
    lines = [line_of(make_record(w, i)) for w in range(PROCESSES) for i in range(count)]
    began = time.perf_counter()
    with open(path, "a", encoding="utf-8") as stream:
        for line in lines:
            if not isinstance(json.loads(line), dict):
                raise SystemExit("not an object")
            stream.write(line)
        stream.flush()
    return len(lines) / (time.perf_counter() - began)


def bench_plain_write_per_line(path: Path, count: int) -> float:
    """Records/s of one process making one os.write per line: the plain file at equal durability."""
    lines = [line_of(make_record(w, i)).encode() for w in range(PROCESSES) for i in range(count)]
    began = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        for line in lines:
            os.write(fd, line)
    finally:
        os.close(fd)
    return len(lines) / (time.perf_counter() - began)


def bench_read(store: RecordStore, plain: Path) -> tuple[float, float]:
    """Records/s of RecordStore.read() and of a plain line loop with json.loads."""
    began = time.perf_counter()
    report = store.read("bench")
    count = sum(1 for _ in report)
    store_rate = count / (time.perf_counter() - began)
    assert not report.problems, report.problems[:3]
    began = time.perf_counter()
    with open(plain, encoding="utf-8") as stream:
        plain_count = sum(1 for line in stream if json.loads(line))
    plain_rate = plain_count / (time.perf_counter() - began)
    assert count == plain_count, (count, plain_count)
    return store_rate, plain_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer records, one round")
    args = parser.parse_args()
    count, rounds = (5_000, 1) if args.quick else (50_000, 3)
    print(
        f"{PROCESSES} processes x {count} records vs 1 process x {PROCESSES * count} lines;"
        f" best of {rounds}; {os.cpu_count()} CPUs"
    )
    results: dict[str, list[float]] = {}
    for _ in range(rounds):
        for kind in ("str", "dict", "batch"):
            with tempfile.TemporaryDirectory() as tmp:
                base = Path(tmp)
                # Interleaved in each round, so drift of the machine hits both alike.
                plain = bench_plain_write(base / "plain.jsonl", count)
                per_line = bench_plain_write_per_line(base / "per-line.jsonl", count)
                checked = bench_plain_write_checked(base / "checked.jsonl", count)
                results.setdefault("write-checked", []).append(checked)
                results.setdefault("write-per-line", []).append(per_line)
                stored = bench_store_write(base / "store", count, kind)
                results.setdefault(f"write-{kind}", []).append(stored)
                results.setdefault("write-plain", []).append(plain)
                if kind == "str":
                    store = RecordStore(base / "store")
                    read_store, read_plain = bench_read(store, base / "plain.jsonl")
                    results.setdefault("read-store", []).append(read_store)
                    results.setdefault("read-plain", []).append(read_plain)
    best = {name: max(rates) for name, rates in results.items()}
    plain = best["write-plain"]
    print(f"plain append, 1 process          : {plain:12,.0f} records/s")
    per_line = best["write-per-line"]
    print(
        f"plain os.write per line, 1 proc  : {per_line:12,.0f} records/s"
        f"   ratio {per_line / plain:.2f}x (the syscall a SIGKILL-safe write costs)"
    )
    checked = best["write-checked"]
    print(
        f"plain append + json.loads check  : {checked:12,.0f} records/s"
        f"   ratio {checked / plain:.2f}x (the check write(str) makes of every line)"
    )
    for kind in ("str", "dict", "batch"):
        rate = best[f"write-{kind}"]
        label = {"str": "write(str) ", "dict": "write(dict)", "batch": f"write_many({BATCH})"}[kind]
        print(
            f"{label:15}, {PROCESSES} processes : {rate:12,.0f} records/s"
            f"   ratio {rate / plain:.2f}x"
        )
    print(f"plain read (json.loads per line) : {best['read-plain']:12,.0f} records/s")
    print(
        f"RecordStore.read()               : {best['read-store']:12,.0f} records/s"
        f"   ratio {best['read-store'] / best['read-plain']:.2f}x"
    )


if __name__ == "__main__":
    main()
