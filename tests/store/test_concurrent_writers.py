"""Many writers at once: threads, processes, kills mid-write, forks and live readers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from itest_shared.formats import ResourceRecord, load_record
from itest_shared.store import TORN_LAST_LINE, Problem, RecordStore, RecordWriter, validate_file
from tests.helpers import run_together

# Spawn and forkserver children unpickle ``_write_from_worker`` by importing this
# module: keep its imports to what these tests need.

HANG = 60.0  # only stops a hang; never a speed claim

# One writer process: waits for the go file, then writes `count` records (-1: until
# killed), printing each index once write() has returned.
WRITER_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from itest_shared.formats import ResourceRecord
    from itest_shared.store import RecordStore

    directory, run_id, worker, count, go, big = sys.argv[1:]
    worker, count, big = int(worker), int(count), int(big)
    deadline = time.monotonic() + 60
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            sys.exit("go file never appeared")
        time.sleep(0.001)
    with RecordStore(directory).writer(run_id) as writer:
        i = 0
        while count < 0 or i < count:
            pad = "y" * (big if i % 2 else i % 97)
            writer.write(ResourceRecord(
                resource_id=f"w{worker}-{i}", resource_type="process",
                owner_module="store.test", created_at=1.0 + i,
                metadata={"worker": worker, "i": i, "pad": pad},
            ))
            if count < 0:
                print(i, flush=True)
            i += 1
    """
)


def expected_metadata(worker: int, i: int, big: int = 0) -> dict[str, Any]:
    """What WRITER_SCRIPT puts in record ``i`` of ``worker``."""
    return {"worker": worker, "i": i, "pad": "y" * (big if i % 2 else i % 97)}


def start_writer(
    store: Path, worker: int, count: int, go: Path, big: int = 0
) -> subprocess.Popen[str]:
    argv = [sys.executable, "-c", WRITER_SCRIPT, str(store), "run", str(worker), str(count)]
    return subprocess.Popen(
        [*argv, str(go), str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def check_worker_records(
    store: RecordStore, big: dict[int, int]
) -> tuple[dict[int, list[int]], list[Problem]]:
    """Read the run back; check every record intact; return indexes seen per worker."""
    report = store.read("run")
    seen: dict[int, list[int]] = {}
    ids: set[str] = set()
    for data, location in report:
        record = load_record(data)  # the full format check: nothing damaged
        assert isinstance(record, ResourceRecord)
        worker, i = record.metadata["worker"], record.metadata["i"]
        assert record.metadata == expected_metadata(worker, i, big.get(worker, 0)), location
        assert record.resource_id == f"w{worker}-{i}"
        assert record.producer["pid"] == int(location.path.name.split("-")[-2])
        assert record.record_id not in ids, f"duplicated record at {location}"
        ids.add(record.record_id)
        seen.setdefault(worker, []).append(i)
    return seen, report.problems


# --- concurrency ----------------------------------------------------------------


@pytest.mark.usefixtures("contention")
def test_16_threads_x_2000_writes_through_one_writer(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    with store.writer("threads") as writer:

        def work(thread: int) -> None:
            for i in range(2000):
                writer.write({"t": thread, "i": i, "pad": "z" * ((thread * i) % 300)})

        run_together(work, count=16)
    assert writer.records_written == 32000
    report = store.read("threads")
    seen: Counter[tuple[int, int]] = Counter()
    for data, _ in report:
        assert data["pad"] == "z" * ((data["t"] * data["i"]) % 300)
        seen[(data["t"], data["i"])] += 1
    assert report.problems == []
    assert seen == Counter({(t, i): 1 for t in range(16) for i in range(2000)})


def test_4_processes_x_5000_records_at_once(tmp_path: Path) -> None:
    go = tmp_path / "go"
    writers = [start_writer(tmp_path, worker, 5000, go) for worker in range(4)]
    go.touch()  # released together: they really contend
    for process in writers:
        _, err = process.communicate(timeout=HANG)
        assert process.returncode == 0, err
    store = RecordStore(tmp_path)
    assert len(store.files("run")) == 4
    seen, problems = check_worker_records(store, {})
    assert problems == []
    assert {worker: sorted(indexes) for worker, indexes in seen.items()} == {
        worker: list(range(5000)) for worker in range(4)
    }
    assert sum(len(indexes) for indexes in seen.values()) == 20000


def test_a_writer_killed_mid_run_damages_nothing_but_its_own_last_line(tmp_path: Path) -> None:
    go = tmp_path / "go"
    big = 1 << 20  # 1 MiB records: a kill often lands inside one write
    others = [start_writer(tmp_path, worker, 5000, go) for worker in range(3)]
    victim = start_writer(tmp_path, 3, -1, go, big=big)
    go.touch()
    assert victim.stdout is not None
    deadline = time.monotonic() + HANG
    reported = -1
    while reported < 40 and time.monotonic() < deadline:
        reported = int(victim.stdout.readline())
    time.sleep(random.uniform(0, 0.03))  # not always right after a print: anywhere in a write
    victim.send_signal(signal.SIGKILL)
    rest, _ = victim.communicate(timeout=HANG)
    finished = int(rest.split()[-1]) if rest.split() else reported
    assert victim.returncode == -signal.SIGKILL
    for process in others:
        _, err = process.communicate(timeout=HANG)
        assert process.returncode == 0, err

    seen, problems = check_worker_records(RecordStore(tmp_path), {3: big})
    for worker in range(3):
        assert seen[worker] == list(range(5000))
    # Everything the victim finished is there, in order, intact; nothing after a gap.
    assert seen[3] == list(range(len(seen[3])))
    assert len(seen[3]) >= finished + 1
    # At most one problem: the victim's own last line, torn by the kill.
    assert len(problems) <= 1
    for problem in problems:
        assert problem.reason == TORN_LAST_LINE
        assert problem.path.name.split("-")[-2] == str(victim.pid)
        assert problem.line == len(seen[3]) + 1


def test_a_kill_inside_a_write_tears_only_the_last_line_and_says_so(tmp_path: Path) -> None:
    big = 1 << 20
    for attempt in range(6):
        store_dir = tmp_path / str(attempt)
        go = store_dir / "go"
        store_dir.mkdir()
        victim = start_writer(store_dir, 0, -1, go, big=big)
        go.touch()
        assert victim.stdout is not None
        reported = -1
        while reported < 10:
            reported = int(victim.stdout.readline())
        # A random moment: the kill lands inside one of the 1 MiB writes about
        # half of the time here, and the kernel then leaves a short write behind.
        time.sleep(random.uniform(0, 0.03))
        victim.kill()
        victim.communicate(timeout=HANG)
        store = RecordStore(store_dir)
        (path,) = store.files("run")
        seen, problems = check_worker_records(store, {0: big})
        assert seen[0] == list(range(len(seen[0]))) and len(problems) <= 1
        if not problems:
            # The kill fell between two writes this time (how often depends on
            # the machine's load): leave what a kill inside the next one leaves.
            data = path.read_bytes()
            last = data[data.rindex(b"\n", 0, len(data) - 1) + 1 :]
            with path.open("ab") as fh:
                fh.write(last[: len(last) // 2])
            seen, problems = check_worker_records(store, {0: big})
        assert problems == [Problem(path, len(seen[0]) + 1, TORN_LAST_LINE)]
        assert not path.read_bytes().endswith(b"\n")
        assert [p.line for p in validate_file(path)] == [len(seen[0]) + 1]


def _write_from_worker(writer: RecordWriter, worker: int) -> None:
    with writer:
        for i in range(300):
            writer.write({"worker": worker, "i": i})


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_parallel_environment_workers_write_their_own_files(tmp_path: Path, method: str) -> None:
    import multiprocess  # type: ignore[import-untyped, unused-ignore]

    context = multiprocess.get_context(method)
    store = RecordStore(tmp_path)
    with store.writer("mp") as writer:
        writer.write({"worker": -1, "i": 0})
        workers = [
            context.Process(target=_write_from_worker, args=(writer, worker)) for worker in (0, 1)
        ]
        for process in workers:
            process.start()
        for process in workers:
            process.join(HANG)
            assert process.exitcode == 0
        writer.write({"worker": -1, "i": 1})
    files = store.files("mp")
    assert len(files) == 3
    by_file = {
        path: [(d["worker"], d["i"]) for d, _ in store.read("mp") if _.path == path]
        for path in files
    }
    assert by_file[writer.path] == [(-1, 0), (-1, 1)], "no child wrote into the parent's file"
    children = sorted(v for path, v in by_file.items() if path != writer.path)
    assert children == [[(w, i) for i in range(300)] for w in (0, 1)]
    pids = {path.name.split("-")[-2] for path in files}
    assert pids == {str(os.getpid()), *(str(p.pid) for p in workers)}


@pytest.mark.usefixtures("contention")
def test_fork_while_other_threads_write_gives_the_child_its_own_file(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    stop = threading.Event()
    with store.writer("fork") as writer:

        def hammer() -> None:
            while not stop.is_set():
                writer.write({"who": "parent-thread"})

        thread = threading.Thread(target=hammer)
        thread.start()
        try:
            children = []
            for n in range(5):
                # The hammering thread often holds the writer's lock at the fork; a
                # child that inherited it locked would hang here.
                with warnings.catch_warnings():
                    # Python 3.12+ warns of fork with threads: exactly what is tested here.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    pid = os.fork()
                if pid == 0:  # pragma: no cover - the child
                    try:
                        writer.write({"who": "child", "n": n})
                        os._exit(0 if writer.path.name.split("-")[-2] == str(os.getpid()) else 3)
                    finally:
                        os._exit(4)
                children.append(pid)
            codes = [_wait_exit(pid) for pid in children]
            # -9: hung on a lock inherited locked; 3: wrote into the parent's file.
            assert codes == [0] * 5
        finally:
            stop.set()
            thread.join(HANG)
    by_who: dict[str, set[Path]] = {}
    for data, location in store.read("fork"):
        by_who.setdefault(data["who"], set()).add(location.path)
    assert by_who["parent-thread"] == {writer.path}
    assert len(by_who["child"]) == 5 and writer.path not in by_who["child"]


def _wait_exit(pid: int, timeout: float = 20.0) -> int:
    """Exit code of a forked child; a child still running after ``timeout`` is killed: -9."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    # Hung (it inherited a lock held by another thread): kill it, never leave it behind.
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return -signal.SIGKILL


def test_reading_while_a_writer_appends_never_yields_a_partial_record(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    done = threading.Event()

    def write() -> None:
        with store.writer("live") as writer:
            for i in range(400):
                writer.write({"i": i, "pad": "p" * (i * 997 % 300_000)})
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    passes = 0
    try:
        while not done.is_set() or passes == 0:
            passes += 1
            report = store.read("live")
            for data, _ in report:
                assert data["pad"] == "p" * (data["i"] * 997 % 300_000)
            for problem in report.problems:
                # The line being written right now: incomplete, skipped, said so.
                assert problem.reason == TORN_LAST_LINE
                assert problem.line == report.records_read + 1
    finally:
        thread.join(HANG)
    assert [d["i"] for d, _ in store.read("live")] == list(range(400))


@pytest.mark.usefixtures("contention")
def test_16_threads_x_200_batches_through_one_writer(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    with store.writer("batches") as writer:

        def work(thread: int) -> None:
            for batch in range(200):
                size = 1 + (thread + batch) % 10
                written = writer.write_many(
                    {"t": thread, "b": batch, "k": k, "pad": "q" * ((thread * k) % 200)}
                    for k in range(size)
                )
                assert written == size

        run_together(work, count=16)
    report = store.read("batches")
    lines: list[tuple[int, int, int]] = []
    for data, _ in report:
        assert data["pad"] == "q" * ((data["t"] * data["k"]) % 200)
        lines.append((data["t"], data["b"], data["k"]))
    assert report.problems == []
    expected = {(t, b, k) for t in range(16) for b in range(200) for k in range(1 + (t + b) % 10)}
    assert len(lines) == len(expected) == writer.records_written
    assert set(lines) == expected
    # A batch is one write: its lines are adjacent in the file, in order.
    position = {line: n for n, line in enumerate(lines)}
    for t, b, k in expected:
        if k:
            assert position[(t, b, k)] == position[(t, b, k - 1)] + 1
