"""worktree_lock: exclusion across threads, processes and worktrees; timeouts; names; arguments."""

from __future__ import annotations

import math
import os
import pickle
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared.coordination import WorktreeLockTimeout, shared_once, worktree_lock
from itest_shared.coordination._lock import safe_name
from tests.coordination.support import HANG_GUARD, finish, start_worker, wait_for
from tests.helpers import run_together


def test_threads_exclude_each_other(tmp_path: Path, contention: None) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    per_thread = 40

    def work(_: int) -> None:
        for _ in range(per_thread):
            with worktree_lock("counter", timeout=HANG_GUARD, directory=tmp_path):
                value = int(counter.read_text())
                time.sleep(0)  # let another thread in, if the lock would let it
                counter.write_text(str(value + 1))

    run_together(work, 16)
    assert int(counter.read_text()) == 16 * per_thread


def test_the_counter_harness_loses_updates_without_a_lock(tmp_path: Path) -> None:
    # Shows the exclusion tests can fail: the same work without the lock loses updates.
    counter = tmp_path / "counter"
    counter.write_text("0")

    def work(_: int) -> None:
        for _ in range(5):
            value = int(counter.read_text() or 0)  # unguarded, a read can see a half write
            time.sleep(0.002)
            counter.write_text(str(value + 1))

    run_together(work, 16)
    assert int(counter.read_text()) < 16 * 5


def _count_in_four_processes(
    repo: tuple[Path, Path], directory: Path, times: int, with_lock: bool
) -> int:
    """Four processes, two per worktree, each adding 1 to a counter file ``times`` times."""
    directory.mkdir()
    counter = directory / "counter"
    counter.write_text("0")
    go = directory / "go"
    workers = [
        start_worker(
            repo[i % 2], "count", str(counter), str(times), "1" if with_lock else "0", go=go
        )
        for i in range(4)
    ]
    # All four start counting at once, so that the control really races.
    deadline = time.monotonic() + HANG_GUARD
    while len(list(directory.glob("go.ready.*"))) < len(workers):
        assert time.monotonic() < deadline, "the workers never got ready"
        time.sleep(0.01)
    go.touch()
    for worker in workers:
        finish(worker)
    return int(counter.read_text())


def test_processes_in_both_worktrees_exclude_each_other(
    repo: tuple[Path, Path], tmp_path: Path
) -> None:
    assert _count_in_four_processes(repo, tmp_path / "run", 60, with_lock=True) == 4 * 60


def test_the_process_harness_loses_updates_without_the_lock(
    repo: tuple[Path, Path], tmp_path: Path
) -> None:
    """The control: the same processes without the lock do lose updates.

    On a loaded machine the scheduler may run the four one after another, and
    then nothing races; a few rounds make sure they overlapped at least once.
    """
    totals = []
    for n in range(5):
        totals.append(_count_in_four_processes(repo, tmp_path / f"round-{n}", 20, False))
        if totals[-1] < 4 * 20:
            return
    pytest.fail(f"no update lost in 5 rounds without the lock: {totals}")


def test_timeout_names_the_holder_in_another_worktree(
    repo: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    main, wt2 = repo
    ready = tmp_path / "ready"
    holder = start_worker(wt2, "hold", "port-range", str(ready), stdin=subprocess.PIPE)
    try:
        wait_for(ready)
        monkeypatch.chdir(main)
        with pytest.raises(WorktreeLockTimeout) as caught:
            worktree_lock("port-range", timeout=0.2).acquire()
    finally:
        finish(holder, stdin="")  # closing its stdin lets the holder release and exit
    message = str(caught.value)
    assert f"pid {holder.pid}" in message
    assert f"worktree {wt2}" in message and "(branch wt2)" in message
    assert re.search(r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d .*\(\d+\.\d s ago\)", message)
    assert "'port-range'" in message and "0.2 s" in message
    assert caught.value.holder is not None and caught.value.holder["pid"] == holder.pid
    assert isinstance(caught.value, TimeoutError)
    # Released when the holder exited: now it is ours at once.
    with worktree_lock("port-range", timeout=HANG_GUARD):
        pass


def test_timeout_between_threads_and_holder_unknown(tmp_path: Path) -> None:
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with worktree_lock("build-dir", directory=tmp_path):
            held.set()
            done.wait(HANG_GUARD)

    thread = threading.Thread(target=hold, name="holder-thread")
    thread.start()
    try:
        held.wait(HANG_GUARD)
        with pytest.raises(
            WorktreeLockTimeout, match=rf"pid {os.getpid()} \(thread holder-thread\)"
        ):
            worktree_lock("build-dir", timeout=0, directory=tmp_path).acquire()
        for holder_file in (tmp_path / "locks").glob("*.holder.json"):
            holder_file.write_text("{torn")
        with pytest.raises(WorktreeLockTimeout, match="holder unknown"):
            worktree_lock("build-dir", timeout=0.05, directory=tmp_path).acquire()
    finally:
        done.set()
        thread.join(HANG_GUARD)
    assert not list((tmp_path / "locks").glob("*.holder.json")), "holder file left behind"


def test_timeout_error_pickles_unchanged() -> None:
    holder = {"pid": 7, "worktree": "/w", "branch": "b", "hostname": "h", "since": 100.0}
    error = WorktreeLockTimeout("grammar-cache", 1.5, holder, "/x.lock", now=110.0)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is WorktreeLockTimeout
    assert str(copy) == str(error) and "(10.0 s ago)" in str(copy)
    assert (copy.name, copy.timeout, copy.holder, copy.lock_path) == (
        "grammar-cache",
        1.5,
        holder,
        "/x.lock",
    )


def test_reentrant_in_one_thread_and_released_on_error(tmp_path: Path) -> None:
    lock = worktree_lock("cache", timeout=1, directory=tmp_path)
    with pytest.raises(KeyError), lock:
        with worktree_lock("cache", timeout=1, directory=tmp_path) as inner:
            assert inner.is_held
        assert lock.is_held  # the inner exit left the outer hold in place
        raise KeyError("boom")
    assert not lock.is_held
    assert not list((tmp_path / "locks").glob("*.holder.json"))
    # Really free: another thread takes it at once.
    taken: list[bool] = []
    thread = threading.Thread(target=lambda: taken.append(_try_once(tmp_path, "cache")))
    thread.start()
    thread.join(HANG_GUARD)
    assert taken == [True]


def _try_once(directory: Path, name: str) -> bool:
    try:
        with worktree_lock(name, timeout=0, directory=directory):
            return True
    except WorktreeLockTimeout:
        return False


def test_release_after_chdir_frees_the_same_lock(
    repo: tuple[Path, Path], outside_git: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo[0])
    lock = worktree_lock("chdir")
    with lock:
        monkeypatch.chdir(outside_git)  # the default shared directory is another one here
    monkeypatch.chdir(repo[1])
    assert _try_once(repo[0] / ".git" / "itest-shared", "chdir")


def test_release_by_a_thread_that_does_not_hold_it(tmp_path: Path) -> None:
    lock = worktree_lock("x", directory=tmp_path)
    with pytest.raises(RuntimeError, match="not held by this thread"):
        lock.release()


def test_decorator_runs_each_call_under_the_lock(tmp_path: Path) -> None:
    lock = worktree_lock("decorated", directory=tmp_path)

    @lock
    def inside(value: int) -> tuple[int, bool]:
        return value, lock.is_held

    assert inside(3) == (3, True)
    assert inside.__name__ == "inside"
    assert not lock.is_held


def test_unsafe_names_get_distinct_readable_files(tmp_path: Path) -> None:
    for name in ["a/b", "a_b", "..", "../../etc/passwd", "grammar cache: ü"]:
        with worktree_lock(name, directory=tmp_path):
            pass
    files = sorted(p.name for p in (tmp_path / "locks").iterdir())
    assert len(files) == 5 and all(
        p.parent == tmp_path / "locks" for p in (tmp_path / "locks").iterdir()
    )
    assert any(f.startswith("a_b-") for f in files) and any(
        f.startswith("grammar_cache__") for f in files
    )
    assert not any(f.startswith(".") for f in files)


@given(st.text(min_size=1).filter(str.strip), st.text(min_size=1).filter(str.strip))
def test_safe_names_are_file_names_and_never_collide(first: str, second: str) -> None:
    a = safe_name(first)
    assert re.fullmatch(r"(?!\.)[A-Za-z0-9._-]{1,80}-[0-9a-f]{12}", a)
    assert (a == safe_name(second)) == (first == second)


@given(st.none() | st.integers() | st.binary() | st.lists(st.text()))
def test_name_must_be_a_str(name: object) -> None:
    with pytest.raises(TypeError, match="name must be a str"):
        worktree_lock(name)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "   ", "\n"])
def test_name_must_not_be_blank(name: str) -> None:
    with pytest.raises(ValueError, match="name must be a non-empty"):
        worktree_lock(name)


@pytest.mark.parametrize(
    ("timeout", "error"),
    [
        ("1", TypeError),
        (True, TypeError),
        ([], TypeError),
        (-0.1, ValueError),
        (math.nan, ValueError),
    ],
)
def test_bad_timeout(timeout: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="timeout must be"):
        worktree_lock("x", timeout)  # type: ignore[arg-type]
    with pytest.raises(error, match="timeout must be"):
        shared_once("x", dict, timeout=timeout)  # type: ignore[arg-type]


def test_bad_directory() -> None:
    with pytest.raises(TypeError, match="directory must be a path"):
        worktree_lock("x", directory=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="directory must be a path"):
        shared_once("x", dict, directory=b"/tmp")  # type: ignore[arg-type]


def test_infinite_timeout_waits(tmp_path: Path) -> None:
    for timeout in (None, math.inf):
        with worktree_lock("forever", timeout, directory=tmp_path) as lock:
            assert lock.timeout is None
