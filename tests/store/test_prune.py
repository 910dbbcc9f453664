"""``RecordStore.prune``: which runs go, and that it is safe while others write and read."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from itest_shared.store import PruneResult, RecordStore
from itest_shared.store._prune import TOMBSTONE_PREFIX, hold_run, start_time
from tests.stores import config

HANG = 120.0  # only stops a hang; never a speed claim
A, B = "/repos/proj", "/repos/proj-feature"
OLD = time.time() - 7200  # older than the default min_idle (1 hour)


def run_id(day: int, token: str = "aaaaaa") -> str:
    return f"202401{day:02d}T000000Z-{token}"


def make_run(
    store: RecordStore,
    run: str,
    worktrees: tuple[str | None, ...] = (A,),
    *,
    records: int = 2,
    mtime: float | None = OLD,
) -> None:
    """A closed run: one file per worktree, ``records`` records each, written ``mtime``."""
    for worktree in worktrees:
        with store.writer(run) as writer:
            writer.write_many([config("timeout", worktree=worktree)] * records)
    if mtime is not None:
        age(store, run, mtime)


def age(store: RecordStore, run: str, mtime: float = OLD) -> None:
    directory = store.directory / "records" / run
    for entry in os.scandir(directory):
        os.utime(entry.path, (mtime, mtime), follow_symlinks=False)
    os.utime(directory, (mtime, mtime))


def removed(result: PruneResult) -> list[str]:
    return [run.run_id for run in result.removed]


def kept(result: PruneResult) -> dict[str, str]:
    return {run.run_id: run.reason for run in result.kept}


@pytest.fixture
def store(tmp_path: Path) -> RecordStore:
    return RecordStore(tmp_path / "store")


# --- which runs go ----------------------------------------------------------


def test_keep_last_keeps_the_newest_n_of_each_worktree(store: RecordStore) -> None:
    for day in range(1, 6):
        make_run(store, run_id(day), (A if day % 2 else B,))
    result = store.prune(keep_last=1)
    # A ran on days 1, 3, 5 and B on 2, 4: each keeps its newest.
    assert removed(result) == [run_id(1), run_id(2), run_id(3)]
    assert store.runs() == [run_id(4), run_id(5)]
    assert result.runs_kept == 2 and result.kept == ()
    assert result.files_removed == 3 and result.bytes_removed > 0
    assert [run.worktrees for run in result.removed] == [(A,), (B,), (A,)]


def test_a_run_of_two_worktrees_stays_if_either_keeps_it(store: RecordStore) -> None:
    make_run(store, run_id(1), (A,))
    make_run(store, run_id(2), (A, B))
    make_run(store, run_id(3), (A,))
    result = store.prune(keep_last=1)
    assert removed(result) == [run_id(1)]  # day 2 is B's newest, though not A's
    assert store.runs() == [run_id(2), run_id(3)]


def test_records_without_a_worktree_are_a_group_of_their_own(store: RecordStore) -> None:
    make_run(store, run_id(1), (None,))
    make_run(store, run_id(2), (None,))
    make_run(store, run_id(3), (A,))
    # A run of nothing readable counts with them, as report would show it.
    (store.directory / "records" / run_id(4)).mkdir()
    (store.directory / "records" / run_id(4) / "x.jsonl").write_text("not json\n")
    age(store, run_id(4))
    result = store.prune(keep_last=1)
    assert removed(result) == [run_id(1), run_id(2)]
    assert {run.worktrees for run in result.removed} == {("(no worktree)",)}
    assert store.runs() == [run_id(3), run_id(4)]


def test_older_than_removes_runs_started_before_it(store: RecordStore) -> None:
    for day in (1, 2, 3):
        make_run(store, run_id(day))
    result = store.prune(older_than=datetime(2024, 1, 2, tzinfo=UTC))
    assert removed(result) == [run_id(1)]
    assert result.removed[0].worktrees == (A,)  # read to say whose it was
    # Another zone, the same moment: run ids are UTC.
    result = store.prune(older_than=datetime(2024, 1, 3, 1, tzinfo=UTC).astimezone())
    assert removed(result) == [run_id(2), run_id(3)]


def test_both_rules_remove_only_what_both_would(store: RecordStore) -> None:
    for day in (1, 2, 3, 4):
        make_run(store, run_id(day))
    result = store.prune(keep_last=1, older_than=datetime(2024, 1, 3, tzinfo=UTC))
    # keep_last alone: 1-3; older_than alone: 1-2.
    assert removed(result) == [run_id(1), run_id(2)]


def test_undated_run_ids_are_never_removed_and_said_so(store: RecordStore) -> None:
    for run in ("custom", "20241399T000000Z-aaaaaa", "20240101T000000Zbad"):
        make_run(store, run)
    make_run(store, run_id(1))
    make_run(store, run_id(2))
    result = store.prune(keep_last=1, older_than=datetime(2030, 1, 1, tzinfo=UTC))
    assert removed(result) == [run_id(1)]
    assert set(kept(result)) == {"custom", "20241399T000000Z-aaaaaa", "20240101T000000Zbad"}
    assert all("never removed" in reason for reason in kept(result).values())
    assert start_time("20240101T000000Z") == datetime(2024, 1, 1, tzinfo=UTC)


def test_dry_run_removes_nothing_and_names_the_same_runs(store: RecordStore) -> None:
    for day in (1, 2, 3):
        make_run(store, run_id(day))
    before = sorted(p.name for p in store.files())
    dry = store.prune(keep_last=1, dry_run=True)
    assert dry.dry_run and sorted(p.name for p in store.files()) == before
    done = store.prune(keep_last=1)
    assert removed(dry) == removed(done) == [run_id(1), run_id(2)]
    assert dry.bytes_removed == done.bytes_removed


def test_recently_written_runs_are_kept_for_older_writers(store: RecordStore) -> None:
    make_run(store, run_id(1), mtime=None)  # just written
    make_run(store, run_id(2))
    result = store.prune(older_than=datetime(2030, 1, 1, tzinfo=UTC))
    assert removed(result) == [run_id(2)]
    assert kept(result) == {run_id(1): "written to less than 1h ago"}
    result = store.prune(older_than=datetime(2030, 1, 1, tzinfo=UTC), min_idle=timedelta(0))
    assert removed(result) == [run_id(1)]


def test_an_empty_or_missing_store_prunes_nothing(store: RecordStore) -> None:
    assert store.prune(keep_last=1) == PruneResult((), (), False, 0)
    (store.directory / "records").mkdir(parents=True)
    assert store.prune(keep_last=1) == PruneResult((), (), False, 0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "give keep_last, older_than or both"),
        ({"keep_last": 0}, ValueError, "keep_last must be >= 1, got 0"),
        ({"keep_last": True}, TypeError, "keep_last must be an int or None, got bool"),
        ({"keep_last": 1.5}, TypeError, "got float"),
        ({"older_than": "2024-01-01"}, TypeError, "older_than must be a datetime"),
        ({"older_than": datetime(2024, 1, 1)}, ValueError, "must carry a time zone"),
        ({"keep_last": 1, "dry_run": 1}, TypeError, "dry_run must be a bool"),
        ({"keep_last": 1, "min_idle": 60}, TypeError, "min_idle must be a timedelta"),
        ({"keep_last": 1, "min_idle": timedelta(-1)}, ValueError, "min_idle must be >= 0"),
    ],
)
def test_bad_arguments(
    store: RecordStore, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        store.prune(**kwargs)


# --- a run being written ------------------------------------------------------


def test_a_run_a_writer_holds_is_kept_until_it_closes(store: RecordStore) -> None:
    make_run(store, run_id(1))
    writer = store.writer(run_id(1))
    writer.write(config("timeout"))  # an old run, written again
    age(store, run_id(1))
    when = datetime(2030, 1, 1, tzinfo=UTC)
    result = store.prune(older_than=when)
    assert kept(result) == {run_id(1): "being written (a writer holds it open)"}
    assert store.prune(older_than=when, dry_run=True).kept == result.kept
    writer.write(config("timeout"))
    writer.close()
    age(store, run_id(1))
    assert removed(store.prune(older_than=when)) == [run_id(1)]


def test_a_writer_that_writes_nothing_holds_nothing(store: RecordStore) -> None:
    make_run(store, run_id(1))
    writer = store.writer(run_id(1))  # no file yet: nothing to protect
    assert removed(store.prune(older_than=datetime(2030, 1, 1, tzinfo=UTC))) == [run_id(1)]
    writer.write(config("timeout"))  # starts the run afresh: nothing lost
    writer.close()
    assert [p.name for p in store.files(run_id(1))] == [writer.path.name]


def test_a_writer_waiting_on_a_pruned_run_starts_it_afresh(store: RecordStore) -> None:
    """The writer's side of the handshake: it never writes into the tombstone."""
    run = store.directory / "records" / run_id(1)
    run.mkdir(parents=True)
    fd = os.open(run, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as prune holds it
    writer = store.writer(run_id(1))
    done = threading.Event()
    thread = threading.Thread(target=lambda: (writer.write(config("timeout")), done.set()))
    thread.start()
    time.sleep(0.2)  # let it reach the lock (the test holds either way)
    assert not done.is_set()
    tombstone = run.with_name(TOMBSTONE_PREFIX + "x")
    run.rename(tombstone)
    fcntl.flock(fd, fcntl.LOCK_UN)
    thread.join(HANG)
    assert done.is_set()
    assert os.listdir(tombstone) == []
    assert [p.name for p in store.files(run_id(1))] == [writer.path.name]
    writer.close()
    os.close(fd)


def test_hold_run_starts_over_when_the_directory_was_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen between open and stat: the name points at a new directory."""
    directory = tmp_path / "records" / "r"
    real_flock, swapped = fcntl.flock, []

    def flock(fd: int, operation: int) -> None:
        real_flock(fd, operation)
        if not swapped:
            swapped.append(True)
            directory.rename(tmp_path / "records" / ".prune-r")
            directory.mkdir()

    monkeypatch.setattr(fcntl, "flock", flock)
    fd = hold_run(directory)
    try:
        assert os.fstat(fd).st_ino == os.stat(directory).st_ino
    finally:
        os.close(fd)


def test_a_forked_child_holds_the_run_as_long_as_it_writes(store: RecordStore) -> None:
    make_run(store, run_id(1))
    writer = store.writer(run_id(1))
    writer.write(config("timeout"))
    # Two pipes: one each way, so that neither side reads back its own byte.
    from_child, to_parent = os.pipe()
    from_parent, to_child = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a file of its own, then wait to be told
        status = b"0"
        try:
            writer.write(config("timeout"))
            status = b"1"
        finally:
            os.write(to_parent, status)
            if status == b"1":
                os.read(from_parent, 1)
                writer.close()
            os._exit(0)
    assert os.read(from_child, 1) == b"1"
    writer.close()  # the parent lets go; the child still writes
    age(store, run_id(1))
    when = datetime(2030, 1, 1, tzinfo=UTC)
    assert kept(store.prune(older_than=when)) == {
        run_id(1): "being written (a writer holds it open)"
    }
    os.write(to_child, b"1")
    os.waitpid(pid, 0)
    age(store, run_id(1))
    assert removed(store.prune(older_than=when)) == [run_id(1)]
    for fd in (from_child, to_parent, from_parent, to_child):
        os.close(fd)


# --- hostile stores -----------------------------------------------------------


def test_a_symlinked_run_directory_is_left_alone(store: RecordStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.jsonl").write_text("{}\n")
    make_run(store, run_id(2))
    (store.directory / "records" / run_id(1)).symlink_to(outside)
    result = store.prune(older_than=datetime(2030, 1, 1, tzinfo=UTC))
    assert removed(result) == [run_id(2)]
    assert result.problems == (
        f"{store.directory / 'records' / run_id(1)}: a symbolic link, not a run directory:"
        " left alone",
    )
    assert (outside / "precious.jsonl").read_text() == "{}\n"


def test_symlinks_and_odd_files_in_a_run_go_with_it_targets_stay(
    store: RecordStore, tmp_path: Path
) -> None:
    precious = tmp_path / "precious.jsonl"
    precious.write_text("{}\n")
    make_run(store, run_id(1))
    run = store.directory / "records" / run_id(1)
    (run / "link.jsonl").symlink_to(precious)
    (run / "dangling.jsonl").symlink_to(tmp_path / "nowhere")
    (run / "notes.txt").write_text("not a record file")
    os.mkfifo(run / "pipe.jsonl")
    age(store, run_id(1))
    result = store.prune(keep_last=1, older_than=datetime(2030, 1, 1, tzinfo=UTC))
    assert result.removed == ()  # the newest of its worktree
    make_run(store, run_id(2))
    result = store.prune(keep_last=1)
    assert removed(result) == [run_id(1)] and result.removed[0].files == 5
    assert not run.exists() and precious.read_text() == "{}\n"


def test_a_run_holding_a_directory_is_kept(store: RecordStore, tmp_path: Path) -> None:
    make_run(store, run_id(1))
    (store.directory / "records" / run_id(1) / "sub").mkdir()
    age(store, run_id(1))
    result = store.prune(older_than=datetime(2030, 1, 1, tzinfo=UTC))
    assert kept(result) == {run_id(1): "holds a directory (sub), which the store never writes"}
    assert run_id(1) in store.runs()


def test_a_symlinked_records_directory_is_refused(store: RecordStore, tmp_path: Path) -> None:
    elsewhere = RecordStore(tmp_path / "elsewhere")
    make_run(elsewhere, run_id(1))
    store.directory.mkdir()
    (store.directory / "records").symlink_to(elsewhere.directory / "records")
    with pytest.raises(ValueError, match="symbolic link: prune removes nothing outside"):
        store.prune(keep_last=1)
    assert elsewhere.runs() == [run_id(1)]


def test_stray_entries_in_records_are_not_runs(store: RecordStore) -> None:
    make_run(store, run_id(1))
    records = store.directory / "records"
    (records / "README").write_text("hello")
    (records / ".hidden").mkdir()
    result = store.prune(older_than=datetime(2030, 1, 1, tzinfo=UTC))
    assert removed(result) == [run_id(1)]
    assert sorted(os.listdir(records)) == [".hidden", "README"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_keeps_its_run_for_keep_last(store: RecordStore) -> None:
    make_run(store, run_id(1))
    make_run(store, run_id(2))
    make_run(store, run_id(3))
    secret = next((store.directory / "records" / run_id(1)).iterdir())
    secret.chmod(0)
    age(store, run_id(1))
    result = store.prune(keep_last=1)
    assert removed(result) == [run_id(2)]
    assert kept(result) == {run_id(1): f"cannot read {secret.name}: its worktree is unknown"}
    # By date, whose it was does not matter: unlinking needs no read access.
    result = store.prune(older_than=datetime(2024, 1, 2, tzinfo=UTC))
    assert removed(result) == [run_id(1)]


def test_a_file_made_unreadable_by_a_fifo_name_keeps_nothing_back(store: RecordStore) -> None:
    """As root, too: an entry that is not a regular file tells no worktree, and blocks nothing."""
    make_run(store, run_id(1))
    make_run(store, run_id(2))
    os.mkfifo(store.directory / "records" / run_id(1) / "fifo.jsonl")
    age(store, run_id(1))
    assert removed(store.prune(keep_last=1)) == [run_id(1)]


# --- interrupted, and read while it runs ----------------------------------------


def test_a_prune_interrupted_part_way_leaves_a_readable_store(store: RecordStore) -> None:
    from itest_shared.report import build_report

    for day in (1, 2):
        make_run(store, run_id(day), (A, B))
    # What a prune killed between two unlinks leaves: a tombstone, one file gone.
    records = store.directory / "records"
    tombstone = records / f"{TOMBSTONE_PREFIX}{run_id(1)}-0123abcd"
    (records / run_id(1)).rename(tombstone)
    next(tombstone.iterdir()).unlink()
    assert build_report(store.directory)["records"] == 4  # the other run only
    assert list(store.iter_problems()) == []
    done = subprocess.run(
        [sys.executable, "-m", "itest_shared", "validate", str(store.directory)],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert store.prune(keep_last=1, dry_run=True).removed == ()  # a dry run leaves it
    assert tombstone.exists()
    store.prune(keep_last=1)  # nothing to remove by the rule: the tombstone goes
    assert os.listdir(records) == [run_id(2)]


_KILL_SCRIPT = """
import sys
from datetime import UTC, datetime, timedelta
from itest_shared.store import RecordStore
print("ready", flush=True)
RecordStore(sys.argv[1]).prune(older_than=datetime(2030, 1, 1, tzinfo=UTC), min_idle=timedelta(0))
"""


def test_prune_killed_at_any_moment_leaves_whole_runs(store: RecordStore) -> None:
    files, runs = 20, 12
    delays = [0.0, 0.005, 0.01, 0.02, 0.04, 0.08]
    for attempt, delay in enumerate(delays):
        for day in range(1, runs + 1):
            run = f"2024{attempt + 1:02d}{day:02d}T000000Z-aaaaaa"
            make_run(store, run, (A,) * files, records=1, mtime=None)
        child = subprocess.Popen(
            [sys.executable, "-c", _KILL_SCRIPT, str(store.directory)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(HANG)
        child.stdout.close()
        for run in store.runs():  # each run still listed is whole
            assert len(store.files(run)) == files, run
        assert list(store.iter_problems()) == []
        store.prune(older_than=datetime(2030, 1, 1, tzinfo=UTC), min_idle=timedelta(0))
        assert os.listdir(store.directory / "records") == []  # tombstones finished too


def test_report_reads_on_while_prune_removes_runs(store: RecordStore) -> None:
    from itest_shared.report import build_report

    stop = threading.Event()
    failures: list[BaseException] = []
    reports = [0]

    def read() -> None:
        while not stop.is_set():
            try:
                build_report(store.directory)
                list(store.iter_problems())
                reports[0] += 1
            except BaseException as error:  # the test's point: nothing escapes
                failures.append(error)
                return

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        for round_ in range(30):
            for day in range(1, 6):
                make_run(store, f"202401{round_ + 1:02d}T{day:02d}0000Z-aaaaaa", (A, B))
            store.prune(keep_last=1, min_idle=timedelta(0))
    finally:
        stop.set()
        for thread in readers:
            thread.join(HANG)
    assert failures == []
    assert reports[0] > 0
    assert len(store.runs()) == 1


# --- under real contention: writers in many processes, prune in a loop ------------

KEEP = "20300101T000000Z-keep00"  # newer than the cut-off: prune keeps it
TARGET = "20200101T000000Z-target"  # older: prune removes it whenever it may
CUT = datetime(2025, 1, 1, tzinfo=UTC)


def _write_and_check(
    directory: str, run: str, lives: int, batches: int, counts: Any, results: Any
) -> None:
    """Write ``lives`` writers' worth of records to ``run``; each checks its file stays put.

    Goes on past ``lives`` until prune has removed the target run a few times,
    so that machine load cannot make the test prove nothing. Puts (file name,
    records) of each writer on ``results``; raises if a writer's file left its
    place in the store while the writer held it open.
    """
    store = RecordStore(directory)
    written = []
    life = 0
    while life < lives or (counts[0] < 5 and life < 50 * lives):
        writer = store.writer(run)
        for batch in range(batches):
            writer.write_many(
                [config("timeout", test=f"{os.getpid()}:{life}:{batch}:{i}") for i in range(5)]
            )
            held, named = os.fstat(writer._fd), os.stat(writer.path)  # type: ignore[arg-type]
            if (held.st_ino, held.st_nlink) != (named.st_ino, 1):
                raise AssertionError(f"{writer.path} moved or went while its writer wrote")
            time.sleep(random.random() / 1000)  # hold the run a while
        written.append((writer.path.name, writer.records_written))
        writer.close()  # from now on the run may go (TARGET)
        if run == TARGET:
            # A gap in which prune can take it: until it does, or 50 ms (on a
            # loaded machine, random gaps of three writers seldom line up).
            removals, deadline = counts[0], time.monotonic() + 0.05
            while counts[0] == removals and time.monotonic() < deadline:
                time.sleep(0.001)
        life += 1
    results.put((run, written))


def _prune_loop(directory: str, stop: Any, counts: Any) -> None:
    store = RecordStore(directory)
    while not stop.is_set():
        result = store.prune(older_than=CUT, min_idle=timedelta(0))
        counts[0] += len(result.removed)
        counts[1] += sum(1 for run in result.kept if run.reason.startswith("being written"))


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_writers_lose_nothing_while_prune_runs_in_a_loop(
    store: RecordStore, start_method: str
) -> None:
    context = multiprocessing.get_context(start_method)
    stop = context.Event()
    counts = context.Array("i", 2)
    results = context.Queue()
    pruner = context.Process(target=_prune_loop, args=(str(store.directory), stop, counts))
    writers = [
        context.Process(
            target=_write_and_check, args=(str(store.directory), run, 30, 10, counts, results)
        )
        for run in (KEEP, TARGET) * 3
    ]
    pruner.start()
    try:
        for process in writers:
            process.start()
        done = [results.get(timeout=HANG) for _ in writers]
        for process in writers:
            process.join(HANG)
    finally:
        stop.set()
        pruner.join(HANG)
        for process in writers:
            if process.is_alive():
                process.kill()
    assert pruner.exitcode == 0
    assert [process.exitcode for process in writers] == [0] * len(writers)
    # Every record of the kept run is there, whole, in its writer's file.
    report = store.read(KEEP)
    lines: dict[str, int] = {}
    for _, location in report:
        lines[location.path.name] = lines.get(location.path.name, 0) + 1
    assert report.problems == []
    expected = dict(pair for run, written in done if run == KEEP for pair in written)
    assert lines == expected and sum(expected.values()) >= 3 * 30 * 10 * 5
    # Whatever is left of the target is whole too; and prune did remove it, often.
    assert list(store.iter_problems(TARGET) if TARGET in store.runs() else []) == []
    # And prune both removed the target and found it busy, many times over.
    assert counts[0] >= 5 and counts[1] >= 5, f"{list(counts)}: the test proved little"
    assert not [n for n in os.listdir(store.directory / "records") if n.startswith(".")]
