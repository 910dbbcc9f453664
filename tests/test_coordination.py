"""Coordination between worktrees: shared directory, worktree_lock, shared_once, contended."""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared.coordination import (
    WorktreeInfo,
    WorktreeLockTimeout,
    clear_git_cache,
    clear_shared,
    current_worktree,
    shared_directory,
    shared_once,
    worktree_lock,
)
from itest_shared.coordination._lock import safe_name
from tests.helpers import run_together
from tests.strategies import Opaque, json_values

HANG_GUARD = 60.0  # seconds; only ever hit when something hangs

# One script for every child process: it runs in a worktree (its cwd) and uses
# the default shared directory, exactly as a test in that worktree would.
WORKER = r"""
import json, os, sys, time
from itest_shared.coordination import shared_once, worktree_lock

mode, args = sys.argv[1], sys.argv[2:]
go = os.environ.get("GO_FILE")
if go:  # start line: say we are ready, then wait for the test's signal
    open(f"{go}.ready.{os.getpid()}", "w").close()
    while not os.path.exists(go):
        time.sleep(0.002)
if mode == "count":
    counter, times, with_lock = args[0], int(args[1]), args[2] == "1"
    for _ in range(times):
        lock = worktree_lock("counter", timeout=60)
        if with_lock:
            lock.acquire()
        value = int(open(counter).read() or 0)  # unguarded, a read can see a half write
        time.sleep(0.0005)  # widen the race window: without the lock updates get lost
        with open(counter, "w") as stream:
            stream.write(str(value + 1))
        if with_lock:
            lock.release()
elif mode == "hold":
    with worktree_lock(args[0], timeout=60):
        open(args[1], "w").close()
        sys.stdin.read()  # hold until the test closes our stdin
elif mode == "once":
    name, calls, pause = args[0], args[1], float(args[2])

    def factory():
        with open(calls, "a") as stream:
            stream.write(f"{os.getpid()}\n")
        if len(args) > 3:
            open(args[3], "w").close()  # tell the test the factory is running
        time.sleep(pause)
        return {"pid": os.getpid(), "cwd": os.getcwd(), "pair": (1, 2)}

    print(json.dumps(shared_once(name, factory, timeout=60)))
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout.strip()


def start_worker(
    cwd: Path, *args: str, stdin: int | None = None, go: Path | None = None
) -> subprocess.Popen[str]:
    """Run WORKER in ``cwd``; with ``go``, it waits at the start line until ``go`` exists."""
    env = {**os.environ, "GO_FILE": str(go)} if go else None
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
        cwd=cwd,
        stdin=stdin,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], stdin: str | None = None) -> str:
    """Wait for a worker (closing its stdin if ``stdin`` is given); return its output."""
    out, err = process.communicate(stdin, timeout=HANG_GUARD)
    assert process.returncode == 0, err
    return out


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def fresh_git_cache() -> Iterator[None]:
    clear_git_cache()
    yield
    clear_git_cache()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    """A repository with one commit and a second worktree on branch wt2."""
    main = tmp_path / "main"
    main.mkdir()
    git(main, "init", "-q")
    git(
        main,
        "-c",
        "user.email=t@example.com",
        "-c",
        "user.name=t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "init",
    )
    git(main, "worktree", "add", "-q", str(tmp_path / "wt2"), "-b", "wt2")
    return main.resolve(), (tmp_path / "wt2").resolve()


@pytest.fixture
def outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory git is told never to look above, so it is outside any repository."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    plain = tmp_path / "plain"
    plain.mkdir()
    return plain


# -- shared_directory and current_worktree ---------------------------------------


def test_shared_directory_is_the_same_from_every_worktree(repo: tuple[Path, Path]) -> None:
    main, wt2 = repo
    (main / "sub").mkdir()
    expected = main / ".git" / "itest-shared"
    assert shared_directory(main) == expected
    assert shared_directory(wt2) == expected
    assert shared_directory(main / "sub") == expected
    assert not expected.exists()  # asking creates nothing; writers make their own folders


def test_shared_directory_defaults_to_cwd(
    repo: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo[1])
    assert shared_directory() == repo[0] / ".git" / "itest-shared"


def test_shared_directory_outside_git(outside_git: Path) -> None:
    assert shared_directory(outside_git) == outside_git / ".itest-shared"
    assert not (outside_git / ".itest-shared").exists()
    assert current_worktree(outside_git) == WorktreeInfo(outside_git, None, None)


def test_without_git_installed_behaves_as_outside(
    outside_git: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(outside_git))  # no git executable on PATH
    assert shared_directory(outside_git) == outside_git / ".itest-shared"


def test_current_worktree_names_path_branch_and_commit(repo: tuple[Path, Path]) -> None:
    main, wt2 = repo
    head = git(main, "rev-parse", "HEAD")
    assert current_worktree(main) == WorktreeInfo(main, "main", head)
    assert current_worktree(wt2 / ".") == WorktreeInfo(wt2, "wt2", head)


def test_current_worktree_detached_and_unborn(repo: tuple[Path, Path], tmp_path: Path) -> None:
    main, wt2 = repo
    head = git(main, "rev-parse", "HEAD")
    git(wt2, "checkout", "-q", "--detach")
    assert current_worktree(wt2) == WorktreeInfo(wt2, None, head)
    unborn = tmp_path / "unborn"
    unborn.mkdir()
    git(unborn, "init", "-q")
    # A new repository: the branch has a name before its first commit.
    assert current_worktree(unborn) == WorktreeInfo(unborn.resolve(), "main", None)


def test_answers_are_cached_per_start(
    repo: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    main, wt2 = repo
    first = shared_directory(main), current_worktree(main)

    def no_git(*args: object, **kwargs: object) -> None:
        raise AssertionError("git ran again for a cached start")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert (shared_directory(main), current_worktree(main)) == first
    with pytest.raises(AssertionError, match="git ran again"):
        shared_directory(wt2)  # another start is not cached yet


@pytest.mark.parametrize("bad", [b"/tmp", 3, True, object()])
def test_bad_start_type(bad: object) -> None:
    with pytest.raises(TypeError, match="start must be a path"):
        shared_directory(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="start must be a path"):
        current_worktree(bad)  # type: ignore[arg-type]


def test_missing_start_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="start must be an existing directory"):
        shared_directory(tmp_path / "missing")


# -- worktree_lock ---------------------------------------------------------------


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


@pytest.mark.parametrize("with_lock", [True, False], ids=["locked", "unlocked-control"])
def test_processes_in_both_worktrees_exclude_each_other(
    repo: tuple[Path, Path], tmp_path: Path, with_lock: bool
) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    times = 60 if with_lock else 20
    go = tmp_path / "go"
    workers = [
        start_worker(
            repo[i % 2], "count", str(counter), str(times), "1" if with_lock else "0", go=go
        )
        for i in range(4)
    ]
    # All four start counting at once, so that the control really races.
    deadline = time.monotonic() + HANG_GUARD
    while len(list(tmp_path.glob("go.ready.*"))) < len(workers):
        assert time.monotonic() < deadline, "the workers never got ready"
        time.sleep(0.01)
    go.touch()
    for worker in workers:
        finish(worker)
    total = int(counter.read_text())
    if with_lock:
        assert total == 4 * times
    else:  # the control: the same processes without the lock do lose updates
        assert total < 4 * times


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


# -- shared_once -----------------------------------------------------------------


def test_computed_once_across_processes_worktrees_and_threads(
    repo: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, contention: None
) -> None:
    calls, go = tmp_path / "calls", tmp_path / "go"
    workers = [
        start_worker(repo[i % 2], "once", "tree", str(calls), "0.3", go=go) for i in range(8)
    ]
    deadline = time.monotonic() + HANG_GUARD
    while len(list(tmp_path.glob("go.ready.*"))) < len(workers):
        assert time.monotonic() < deadline, "workers never reached the start line"
        time.sleep(0.01)
    monkeypatch.chdir(repo[0])
    in_threads: list[Any] = []

    def from_thread(index: int) -> None:
        def factory() -> dict[str, object]:
            with calls.open("a") as stream:
                stream.write(f"thread {index}\n")
            time.sleep(0.3)
            return {"pid": os.getpid(), "cwd": os.getcwd(), "pair": (1, 2)}

        in_threads.append(shared_once("tree", factory, timeout=HANG_GUARD))

    go.touch()  # processes and threads all start now
    run_together(from_thread, 8)
    values = [json.loads(finish(worker)) for worker in workers] + in_threads
    assert len(calls.read_text().splitlines()) == 1, calls.read_text()
    assert all(value == values[0] for value in values)
    assert values[0]["pair"] == [1, 2]  # JSON round trip, for the computing caller too


def test_raising_factory_is_not_cached_and_the_next_waiter_computes(tmp_path: Path) -> None:
    entered, fail_now = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def failing() -> object:
        entered.set()
        fail_now.wait(HANG_GUARD)
        raise OSError("disk full")

    def first() -> None:
        try:
            shared_once("v", failing, directory=tmp_path)
        except OSError as error:
            errors.append(error)

    thread = threading.Thread(target=first)
    thread.start()
    entered.wait(HANG_GUARD)
    threading.Timer(0.1, fail_now.set).start()  # fail while we wait on the lock
    assert shared_once("v", lambda: {"ok": 1}, directory=tmp_path) == {"ok": 1}
    thread.join(HANG_GUARD)
    assert [str(e) for e in errors] == ["disk full"]
    assert shared_once("v", lambda: pytest.fail("recomputed"), directory=tmp_path) == {"ok": 1}


def test_killed_holder_does_not_block_the_others(repo: tuple[Path, Path], tmp_path: Path) -> None:
    calls, started = tmp_path / "calls", tmp_path / "started"
    doomed = start_worker(repo[0], "once", "slow", str(calls), "600", str(started))
    try:
        wait_for(started)
        waiter = start_worker(repo[1], "once", "slow", str(calls), "0")
        time.sleep(0.3)
        assert waiter.poll() is None, "the waiter did not wait for the holder"
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=HANG_GUARD)
    value = json.loads(finish(waiter))
    assert value["pid"] == waiter.pid and value["cwd"] == str(repo[1])
    assert calls.read_text().split() == [str(doomed.pid), str(waiter.pid)]


@pytest.mark.parametrize(
    "value", [{1, 2}, Opaque(), {"x": math.nan}, b"bytes", {(1, 2): "tuple key"}]
)
def test_non_json_value_raises_and_caches_nothing(tmp_path: Path, value: object) -> None:
    with pytest.raises(
        TypeError, match=rf"shared_once 'v': factory returned a {type(value).__name__}"
    ):
        shared_once("v", lambda: value, directory=tmp_path)
    assert not any((tmp_path / "once").glob("*")) if (tmp_path / "once").exists() else True
    assert shared_once("v", lambda: [1], directory=tmp_path) == [1]


@given(json_values)
def test_values_round_trip(value: object) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        computed = shared_once("v", lambda: value, directory=directory)
        assert computed == value
        assert shared_once("v", lambda: pytest.fail("recomputed"), directory=directory) == value


def test_callers_cannot_change_each_others_value(tmp_path: Path) -> None:
    first = shared_once("v", lambda: {"items": [1]}, directory=tmp_path)
    first["items"].append(2)
    assert shared_once("v", dict, directory=tmp_path) == {"items": [1]}


def test_cache_file_records_who_computed_it(
    repo: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo[1])
    shared_once("ports", lambda: [8000, 8100])
    (path,) = (repo[0] / ".git" / "itest-shared" / "once").glob("ports-*.json")
    data = json.loads(path.read_text())
    assert data["value"] == [8000, 8100] and data["name"] == "ports"
    assert data["computed_by"]["pid"] == os.getpid()
    assert data["computed_by"]["worktree"] == str(repo[1])
    assert data["computed_by"]["branch"] == "wt2"
    assert data["computed_at"] <= time.time()


def test_corrupt_cache_is_computed_again(tmp_path: Path) -> None:
    assert shared_once("v", lambda: 1, directory=tmp_path) == 1
    (path,) = (tmp_path / "once").glob("*.json")
    for bad in ["{torn", "[]", json.dumps({"format": "other", "name": "v", "value": 9})]:
        path.write_text(bad)
        assert shared_once("v", lambda: 2, directory=tmp_path) == 2


def test_clear_shared_forgets_the_value(tmp_path: Path) -> None:
    assert clear_shared("v", directory=tmp_path) is False
    assert shared_once("v", lambda: 1, directory=tmp_path) == 1
    assert clear_shared("v", directory=tmp_path) is True
    assert shared_once("v", lambda: 2, directory=tmp_path) == 2


def test_factory_asking_for_its_own_value(tmp_path: Path) -> None:
    def factory() -> object:
        return shared_once("loop", factory, directory=tmp_path)

    with pytest.raises(RuntimeError, match="called again from inside its own factory"):
        shared_once("loop", factory, directory=tmp_path)
    assert shared_once("loop", lambda: "fine", directory=tmp_path) == "fine"


def test_waiting_too_long_for_a_value_times_out(tmp_path: Path) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow() -> int:
        entered.set()
        release.wait(HANG_GUARD)
        return 1

    thread = threading.Thread(target=lambda: shared_once("v", slow, directory=tmp_path))
    thread.start()
    try:
        entered.wait(HANG_GUARD)
        with pytest.raises(WorktreeLockTimeout, match="'shared-once-v'"):
            shared_once("v", lambda: 2, timeout=0.05, directory=tmp_path)
    finally:
        release.set()
        thread.join(HANG_GUARD)
    assert shared_once("v", lambda: 2, directory=tmp_path) == 1


@pytest.mark.parametrize("factory", [None, 1, "name"])
def test_factory_must_be_callable(tmp_path: Path, factory: object) -> None:
    with pytest.raises(TypeError, match="factory must be callable"):
        shared_once("v", factory, directory=tmp_path)  # type: ignore[arg-type]
    assert not (tmp_path / "once").exists() and not (tmp_path / "locks").exists()


@pytest.mark.parametrize(("name", "error"), [(3, TypeError), ("", ValueError), (None, TypeError)])
def test_shared_once_and_clear_check_the_name(name: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="name must be"):
        shared_once(name, dict)  # type: ignore[arg-type]
    with pytest.raises(error, match="name must be"):
        clear_shared(name)  # type: ignore[arg-type]
