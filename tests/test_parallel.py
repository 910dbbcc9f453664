"""Tests for ``itest_shared.parallel``: ``ParallelTestEnvironment`` under fork, spawn, forkserver.

Spawn and forkserver children unpickle the targets below by importing this
module, so it imports only what they need anyway; hypothesis, psutil and dill
are imported inside the tests that use them.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import pickle
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from itest_shared.parallel import (
    ParallelTestEnvironment,
    SharedEvent,
    SharedQueue,
    WorkerError,
    WorkerProcess,
)
from tests.helpers import run_together

METHODS = ("fork", "spawn", "forkserver")
# Bounds that only stop a hang (a spawn child takes ~0.5 s here); never speed claims.
HANG = 60.0


@pytest.fixture(params=METHODS)
def start_method(request: pytest.FixtureRequest) -> str:
    """Each start method in turn."""
    method: str = request.param
    return method


def _worker_children() -> dict[int, str]:
    """Child processes of this process (recursively), but not multiprocess's helpers."""
    import psutil  # type: ignore[import-untyped, unused-ignore]
    from multiprocess import forkserver, resource_tracker  # type: ignore[import-untyped, unused-ignore]

    # The forkserver and resource tracker are long-lived, shared by every context;
    # the forkserver's own children (our workers under forkserver) are still counted.
    helpers = {forkserver._forkserver._forkserver_pid, resource_tracker._resource_tracker._pid}
    found = {}
    for child in psutil.Process().children(recursive=True):
        if child.pid not in helpers:
            with contextlib.suppress(psutil.Error):
                found[child.pid] = f"{child.name()} ({child.status()})"
    return found


@pytest.fixture(autouse=True)
def no_worker_left() -> Iterator[None]:
    """Every test must leave no child process and no zombie behind."""
    before = _worker_children()
    yield
    left = {pid: what for pid, what in _worker_children().items() if pid not in before}
    assert not left, f"child processes left behind: {left}"


# -- the SPEC example and target kinds ---------------------------------------------------


def test_spec_example_concurrent_operations(start_method: str) -> None:
    parallel_test_environment = ParallelTestEnvironment(start_method=start_method)
    # From SPEC.md, verbatim but for the env being built here instead of by the fixture.
    with parallel_test_environment as env:
        lock = env.create_shared_lock("data_lock")
        queue = env.create_queue("results")

        def worker_func(worker_id: int) -> None:
            with lock:
                queue.put(f"Result from {worker_id}")

        workers = []
        for i in range(4):
            w = env.create_worker_process(worker_func, args=(i,))
            w.start()
            workers.append(w)
        results = []
        for _ in range(4):
            results.append(queue.get(timeout=5))
    assert sorted(results) == [f"Result from {i}" for i in range(4)]
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert env.closed and env.failures == []
    parallel_test_environment.close()  # the fixture's teardown: a no-op by now


def _make_counter(out: SharedQueue, label: str) -> Callable[..., None]:
    def count(times: int) -> None:
        out.put((label, sum(range(times))))

    return count


def test_lambdas_closures_and_nested_functions_are_targets(start_method: str) -> None:
    with ParallelTestEnvironment(start_method=start_method) as env:
        out = env.create_queue("out")
        factor = 7

        def outer(n: int) -> None:
            def inner() -> int:
                return n * factor

            out.put(("nested", inner()))

        env.create_worker_process(lambda: out.put(("lambda", factor)))
        env.create_worker_process(outer, args=(6,))
        env.create_worker_process(_make_counter(out, "closure"), kwargs={"times": 4})
        env.create_worker_thread(lambda: out.put(("thread", factor + 1)))
        env.run_all(HANG)
        got = dict(out.get(timeout=HANG) for _ in range(4))
    assert got == {"lambda": 7, "nested": 42, "closure": 6, "thread": 8}


# -- shared primitives -------------------------------------------------------------------


def _make_incrementer(
    guard: contextlib.AbstractContextManager[Any],
    ready: SharedQueue,
    go: SharedEvent,
    workdir: Path,
    rounds: int,
) -> Callable[[], None]:
    """A worker doing ``rounds`` read-modify-writes of a counter file under ``guard``.

    It counts overlaps it can see: another worker inside the section (an O_EXCL
    marker file exists) or a half-written counter. Only without exclusion can
    either happen; lost updates show in the final count.
    """
    counter, marker = workdir / "counter", str(workdir / "inside")

    def increment() -> None:
        ready.put("ready")
        if not go.wait(HANG):
            raise TimeoutError("never released by the test")
        overlaps = 0
        for _ in range(rounds):
            with guard:
                try:
                    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    overlaps, fd = overlaps + 1, -1
                try:
                    text = counter.read_text()
                    time.sleep(0.0002)  # widen the window an unguarded worker could use
                    counter.write_text(str(int(text) + 1))
                except ValueError:
                    overlaps += 1  # read while another was writing
                finally:
                    if fd >= 0:
                        os.close(fd)
                        os.unlink(marker)
        ready.put(("overlaps", overlaps))

    return increment


def _run_incrementers(
    env: ParallelTestEnvironment, guard: contextlib.AbstractContextManager[Any]
) -> tuple[int, int]:
    """Two processes and a thread increment under ``guard``: (final count, overlaps seen)."""
    rounds, workers = 150, 3
    ready, go = env.create_queue("ready"), env.create_event("go")
    (env.workspace / "counter").write_text("0")
    worker = _make_incrementer(guard, ready, go, env.workspace, rounds)
    env.create_worker_process(worker)
    env.create_worker_process(worker)
    env.create_worker_thread(worker)
    env.start_all()
    # Release all at once: spawned children start ~0.5 s apart, and workers that
    # run one after the other would never contend.
    assert [ready.get(timeout=HANG) for _ in range(workers)] == ["ready"] * workers
    go.set()
    overlaps = sum(ready.get(timeout=HANG)[1] for _ in range(workers))
    env.join_all(HANG)
    return int((env.workspace / "counter").read_text()), overlaps


def test_lock_excludes_across_processes_and_threads(start_method: str) -> None:
    with ParallelTestEnvironment(start_method=start_method) as env:
        count, overlaps = _run_incrementers(env, env.create_shared_lock("counter"))
    assert (count, overlaps) == (3 * 150, 0)


def test_the_exclusion_check_fails_without_a_lock() -> None:
    # The control for the test above: the same workers with no lock get caught.
    with ParallelTestEnvironment(start_method="fork") as env:
        count, overlaps = _run_incrementers(env, contextlib.nullcontext())
    assert overlaps > 0 or count < 3 * 150


def test_queues_and_events_link_processes_and_threads(start_method: str) -> None:
    with ParallelTestEnvironment(start_method=start_method) as env:
        to_thread, results = env.create_queue("to_thread"), env.create_queue("results")
        go, thread_done = env.create_event("go"), env.create_event("thread_done")

        def producer() -> None:  # process: waits for the test's event, feeds the thread
            assert go.wait(HANG)
            to_thread.put("from a process")

        def relay() -> None:  # thread: passes the item on, then sets an event
            results.put(("thread got", to_thread.get(timeout=HANG)))
            thread_done.set()

        def watcher() -> None:  # process: waits for the thread's event
            assert thread_done.wait(HANG)
            results.put(("process saw", "thread_done"))

        env.create_worker_process(producer)
        env.create_worker_thread(relay)
        env.create_worker_process(watcher)
        env.start_all()
        go.set()
        got = {results.get(timeout=HANG) for _ in range(2)}
        env.join_all(HANG)
        assert env.create_queue("results") is results  # same name, same object
        assert env.create_event("go") is go
        assert env.create_shared_lock("l") is env.create_shared_lock("l")
    assert got == {("thread got", "from a process"), ("process saw", "thread_done")}


def test_registries_hold_under_thread_contention(contention: None) -> None:
    env = ParallelTestEnvironment(start_method="fork")
    seen: list[dict[str, object]] = [{} for _ in range(16)]
    names = [f"n{i}" for i in range(25)]

    def hammer(slot: int) -> None:
        for op in range(2000):
            name = names[op % len(names)]  # the same names for all three kinds
            kind = op % 3
            key = f"{kind}:{name}"
            if kind == 0:
                # Explicit maxsize=0 and "not given" must both find the same queue.
                obj: object = env.create_queue(name, *([0] if op % 2 else []))
            elif kind == 1:
                obj = env.create_event(name)
            else:
                obj = env.create_shared_lock(name)
            assert seen[slot].setdefault(key, obj) is obj
            if op % 100 == 0:
                env.create_worker_thread(print)

    run_together(hammer, 16)
    # Every thread was handed the very same object for each name and kind, the
    # three kinds are three objects, and every worker name is unique.
    for key in seen[0]:
        assert len({id(seen[slot][key]) for slot in range(16)}) == 1
    views: dict[str, dict[str, Any]] = {"0": env.queues, "1": env.events, "2": env.locks}
    assert seen[0] == {
        f"{kind}:{name}": obj for kind, view in views.items() for name, obj in view.items()
    }
    assert len({id(obj) for obj in seen[0].values()}) == 3 * len(names)
    assert len({t.name for t in env.threads}) == len(env.threads) == 16 * 20
    env.close()


# -- the prototype's call shapes (COMPAT.md section 11) ------------------------------------


def _put(queue: SharedQueue, item: object) -> None:
    queue.put(item)


def test_prototype_call_shapes_work_unchanged() -> None:
    # A test written against the prototype, as a worktree has it today.
    env = ParallelTestEnvironment(start_method="fork")
    with env:
        lock = env.create_shared_lock("data_lock")
        results = env.create_queue("results", 10)
        done = env.create_event("done")
        p = env.create_worker_process(_put, (results, "p"), "proc-1")
        t = env.create_worker_thread(_put, (results, "t"), "thread-1")
        assert (p.name, t.name) == ("proc-1", "thread-1")
        assert p.pid is None and t.ident is None  # not started on return
        assert not p.daemon
        assert env.processes == [p] and env.threads == [t]
        assert env.locks == {"data_lock": lock} and env.events == {"done": done}
        assert env.queues["results"] is env.create_queue("results") is results
        p.start()
        t.start()
        assert sorted(results.get(timeout=HANG) for _ in range(2)) == ["p", "t"]
        p.join(HANG)
        t.join(HANG)
    env.cleanup()  # the fixture's teardown after the with block: harmless
    env.cleanup()
    assert env.closed and env.failures == [] and env.processes == [p]


def test_third_positional_argument_is_name_or_kwargs() -> None:
    with ParallelTestEnvironment(start_method="fork") as env:
        out = env.create_queue("out")
        made: list[WorkerProcess | threading.Thread] = [
            env.create_worker_process(_put, (out,), {"item": "kwargs"}),
            env.create_worker_process(_put, (out,), {"item": "both"}, "named-p"),
            env.create_worker_process(_put, (out, "by name"), None, name="kw-name"),
            env.create_worker_process(_put, (out, "positional"), "pos-p"),
            env.create_worker_thread(_put, (out, "thread"), "pos-t"),
            env.create_worker_thread(_put, (out,), {"item": "thread kwargs"}),
        ]
        names = [worker.name for worker in made]
        assert names == ["_put-1", "named-p", "kw-name", "pos-p", "pos-t", "_put-2"]
        env.run_all(HANG)
        got = sorted(out.get(timeout=HANG) for _ in made)
    assert got == sorted(["kwargs", "both", "by name", "positional", "thread", "thread kwargs"])
    fresh = ParallelTestEnvironment(start_method="fork")
    for make in (fresh.create_worker_process, fresh.create_worker_thread):
        with pytest.raises(TypeError) as info:
            make(_put, (), "first", name="second")
        assert "'first'" in str(info.value) and "(kwargs)" in str(info.value)
        assert "name='second'" in str(info.value)
    assert fresh.processes == [] and fresh.threads == []
    fresh.close()


def test_locks_queues_and_events_are_separate_namespaces() -> None:
    with ParallelTestEnvironment(start_method="fork") as env:
        queue = env.create_queue("shared")
        lock = env.create_shared_lock("shared")
        event = env.create_event("shared")
        assert len({id(queue), id(lock), id(event)}) == 3
        assert env.create_queue("shared") is queue
        assert env.create_shared_lock("shared") is lock
        assert env.create_event("shared") is event
        views = env.locks, env.queues, env.events
        assert views == ({"shared": lock}, {"shared": queue}, {"shared": event})
        env.locks.clear()  # copies: the env's registries are untouched
        env.queues.clear()
        assert env.locks == {"shared": lock} and env.queues == {"shared": queue}
        env.create_queue("b")
        env.create_queue("a")
        assert list(env.queues) == ["shared", "b", "a"]  # creation order


def test_queue_maxsize_not_given_fetches_any_size() -> None:
    import queue as queue_module

    with ParallelTestEnvironment(start_method="fork") as env:
        bounded = env.create_queue("bounded", maxsize=2)
        assert env.create_queue("bounded") is bounded  # as the prototype's create_queue(name)
        assert env.create_queue("bounded", 2) is bounded
        with pytest.raises(ValueError, match="maxsize=2, not maxsize=5"):
            env.create_queue("bounded", maxsize=5)
        bounded.put_nowait(1)
        bounded.put_nowait(2)
        with pytest.raises(queue_module.Full):
            bounded.put_nowait(3)
        unbounded = env.create_queue("unbounded")
        assert env.create_queue("unbounded", maxsize=0) is unbounded
        with pytest.raises(ValueError, match="maxsize=0, not maxsize=1"):
            env.create_queue("unbounded", 1)
        for item in range(100):
            unbounded.put_nowait(item)
        assert [unbounded.get(timeout=HANG) for _ in range(100)] == list(range(100))


def test_cleanup_is_close() -> None:
    env = ParallelTestEnvironment(start_method="fork")
    env.create_worker_process(_explode, args=("cleanup",), name="bad").start()
    with pytest.raises(WorkerError, match="'bad' raised ValueError: boom cleanup"):
        env.cleanup()
    assert env.closed
    env.cleanup()  # idempotent: reported once
    env.close()
    assert [error.worker_name for error in env.failures] == ["bad"]


# -- the default start method and the parent's environment ---------------------------------


def _noop() -> None:
    """A worker with nothing to do."""


def _start_one_while_a_thread_runs(start_method: str | None) -> tuple[int, list[str]]:
    """Start and join one worker while this process has a second thread.

    Returns how often this process called ``os.fork`` and the fork warnings it
    got. The warning must be recorded, not turned into an error: CPython clears
    the exception an "error" filter makes of it (``PyErr_Clear`` after the warn
    in ``os.fork``), so ``-W error`` would never see it.
    """
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        forks.append(1)
        return real_fork()

    release = threading.Event()
    bystander = threading.Thread(target=release.wait, args=(HANG,))
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings(record=True) as caught:
        patch.setattr(os, "fork", counting_fork)
        warnings.simplefilter("always")
        bystander.start()
        try:
            with ParallelTestEnvironment(start_method=start_method) as env:
                env.create_worker_process(_noop).start()
                env.join_all(HANG)
        finally:
            release.set()
            bystander.join(HANG)
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    return len(forks), [message for message in messages if "fork" in message]


def test_default_start_method_does_not_fork_a_threaded_process() -> None:
    import multiprocess  # type: ignore[import-untyped, unused-ignore]

    expected = "forkserver" if "forkserver" in multiprocess.get_all_start_methods() else "spawn"
    assert ParallelTestEnvironment().start_method == expected
    assert _start_one_while_a_thread_runs(None) == (0, [])
    # The control: the same check sees an explicit fork (which keeps working),
    # and on Python 3.12+ the warning it brings.
    forks, warned = _start_one_while_a_thread_runs("fork")
    assert forks == 1
    assert len(warned) == (1 if sys.version_info >= (3, 12) else 0), warned


def test_default_ignores_multiprocess_global_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocess

    before = multiprocess.get_start_method(allow_none=True)
    multiprocess.set_start_method("fork", force=True)  # as other code easily pins it
    try:
        assert ParallelTestEnvironment().start_method in ("forkserver", "spawn")
    finally:
        multiprocess.set_start_method(before, force=True)
    assert multiprocess.get_start_method(allow_none=True) == before
    ParallelTestEnvironment().close()
    assert multiprocess.get_start_method(allow_none=True) == before  # creating pins nothing
    # Where forkserver is missing (macOS without it, Windows), the default is spawn.
    for available in (["fork", "spawn"], ["spawn"]):
        monkeypatch.setattr(multiprocess, "get_all_start_methods", lambda a=available: list(a))
        with ParallelTestEnvironment() as env:
            assert env.start_method == "spawn"
            env.create_worker_process(_noop).start()
            env.join_all(HANG)


def _report_environment(out: SharedQueue) -> None:
    out.put((dict(os.environ), os.getcwd()))


def test_worker_sees_environment_and_directory_as_of_start(
    start_method: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with ParallelTestEnvironment(start_method=start_method) as env:
        out = env.create_queue("out")
        env.create_worker_process(_noop).start()
        env.join_all(HANG)  # the forkserver (if used) runs from here on, if not before
        monkeypatch.setenv("ITEST_SHARED_MODULE_MAP", '{"chunker": ["chunker.core"]}')
        monkeypatch.chdir(tmp_path)
        worker = env.create_worker_process(_report_environment, args=(out,))
        monkeypatch.setenv("ITEST_PARALLEL_LATE", start_method)  # after creation, before start
        expected = dict(os.environ), os.getcwd()
        worker.start()
        got = out.get(timeout=HANG)
        env.join_all(HANG)
    assert got[0]["ITEST_SHARED_MODULE_MAP"] == '{"chunker": ["chunker.core"]}'
    assert got[0]["ITEST_PARALLEL_LATE"] == start_method
    assert got == expected


def test_forkserver_worker_drops_stale_environment_before_unpickling(tmp_path: Path) -> None:
    # In a fresh process, so the forkserver starts when this script says: with a
    # variable, time zone and directory that the script then changes.
    (tmp_path / "late_reader.py").write_text(
        textwrap.dedent(
            """
            import os
            import time

            AT_IMPORT = os.environ.get("ITEST_SHARED_MODULE_MAP")

            def report(out):
                out.put({
                    "at_import": AT_IMPORT,
                    "map": os.environ.get("ITEST_SHARED_MODULE_MAP"),
                    "gone": os.environ.get("ITEST_PARALLEL_GONE"),
                    "zone": time.tzname[0],
                    "cwd": os.getcwd(),
                })
            """
        )
    )
    (tmp_path / "later").mkdir()
    (tmp_path / "script.py").write_text(
        textwrap.dedent(
            """
            import json, os, sys, time
            from itest_shared.parallel import ParallelTestEnvironment

            def main():
                os.environ["ITEST_PARALLEL_GONE"] = "stale"
                os.environ["TZ"] = "OLD+0"
                time.tzset()
                with ParallelTestEnvironment(start_method="forkserver") as env:
                    env.create_worker_process(print).start()  # starts the forkserver
                    env.join_all(60)
                    del os.environ["ITEST_PARALLEL_GONE"]
                    os.environ["ITEST_SHARED_MODULE_MAP"] = "{}"
                    os.environ["TZ"] = "NEW-3"
                    time.tzset()
                    os.chdir("later")
                    import late_reader  # here, not at the top: the forkserver preloads this script

                    out = env.create_queue("out")
                    env.create_worker_process(late_reader.report, args=(out,)).start()
                    print(json.dumps(out.get(timeout=60)))

            if __name__ == "__main__":
                main()
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "script.py"],
        capture_output=True,
        text=True,
        timeout=HANG,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    import json

    got = json.loads(done.stdout.splitlines()[-1])
    assert got == {
        "at_import": "{}",  # applied before the target's module was imported
        "map": "{}",
        "gone": None,
        "zone": "NEW",
        "cwd": str(tmp_path / "later"),
    }


# -- failures are reported -----------------------------------------------------------------


def _explode(tag: str) -> None:
    raise ValueError(f"boom {tag}")


def test_raising_process_is_reported_by_join_all(start_method: str) -> None:
    env = ParallelTestEnvironment(start_method=start_method)
    env.create_worker_process(_explode, args=("x1",), name="exploder").start()
    with pytest.raises(WorkerError) as info:
        env.join_all(HANG)
    error = info.value
    assert (error.worker_name, error.exitcode, error.others) == ("exploder", 1, ())
    assert "in _explode" in error.remote_traceback
    assert error.remote_traceback.rstrip().endswith("ValueError: boom x1")
    assert "'exploder'" in str(error) and "ValueError: boom x1" in str(error)
    env.close()  # reported already: close raises nothing more
    assert env.failures == [error]


def test_signal_and_exit_code_are_reported_at_close(start_method: str) -> None:
    env = ParallelTestEnvironment(start_method=start_method)
    env.create_worker_process(lambda: os.kill(os.getpid(), signal.SIGKILL), name="killed")
    env.create_worker_process(sys.exit, args=(3,), name="exits-3")
    env.create_worker_process(sys.exit, args=(0,), name="exits-0")
    env.start_all()
    with pytest.raises(WorkerError) as info:
        env.close()  # the test never joined: close reports, as the fixture's teardown will
    by_name = {error.worker_name: error for error in info.value.failures}
    assert set(by_name) == {"killed", "exits-3"}
    assert by_name["killed"].exitcode == -signal.SIGKILL
    assert "SIGKILL" in by_name["killed"].reason
    assert (by_name["exits-3"].exitcode, by_name["exits-3"].remote_traceback) == (3, "")
    assert "exited with code 3" in str(info.value)


def test_child_that_cannot_leave_its_report_still_fails_loudly(
    capfd: pytest.CaptureFixture[str],
) -> None:
    env = ParallelTestEnvironment(start_method="fork")
    go = env.create_event("go")

    def late() -> None:
        assert go.wait(HANG)
        raise ValueError("unreportable")

    env.create_worker_process(late, name="late").start()
    shutil.rmtree(env._private_dir)  # where reports go: gone, so the child cannot write one
    go.set()
    with pytest.raises(WorkerError, match="'late' exited with code 1"):
        env.join_all(HANG)
    assert "ValueError: unreportable" in capfd.readouterr().err  # the child printed it
    env.close()


def test_raising_thread_is_reported_without_exit_code() -> None:
    env = ParallelTestEnvironment()
    env.create_worker_thread(_explode, args=("t",), name="t1").start()
    with pytest.raises(WorkerError) as info:
        env.join_all(HANG)
    assert (info.value.worker_name, info.value.exitcode) == ("t1", None)
    assert "ValueError: boom t" in info.value.remote_traceback
    env.close()


def test_with_block_raises_unjoined_failure_and_fixture_close_is_silent() -> None:
    env = ParallelTestEnvironment(start_method="fork")
    with pytest.raises(WorkerError, match="boom w"), env:
        env.create_worker_process(_explode, args=("w",)).start()
    env.close()  # what the fixture does afterwards
    assert [error.worker_name for error in env.failures] == ["_explode-1"]


def test_no_failure_is_lost_when_several_fail(start_method: str) -> None:
    env = ParallelTestEnvironment(start_method=start_method)
    env.create_worker_process(_explode, args=("a",), name="a")
    env.create_worker_process(sys.exit, args=(4,), name="b")
    env.create_worker_thread(_explode, args=("c",), name="c")
    env.create_worker_thread(print, args=("fine",), name="ok")
    env.start_all()
    with pytest.raises(WorkerError) as info:
        env.close()
    error = info.value
    assert [e.worker_name for e in error.failures] == ["a", "b", "c"]
    assert str(error).startswith("3 workers failed:")
    assert all(f"'{name}'" in str(error) for name in "abc")
    assert [(e.worker_name, e.reason) for e in env.failures] == [
        (e.worker_name, e.reason) for e in error.failures
    ]


def test_worker_error_survives_pickle_and_dill() -> None:
    import dill  # type: ignore[import-untyped, unused-ignore]

    inner = WorkerError("b", -9, "", "was killed by signal 9 (SIGKILL)")
    error = WorkerError("a", 1, "Traceback...\nValueError: x\n", "raised ValueError: x", [inner])
    for dumps, loads in ((pickle.dumps, pickle.loads), (dill.dumps, dill.loads)):
        copy = loads(dumps(error))
        assert type(copy) is WorkerError
        assert (copy.worker_name, copy.exitcode, copy.remote_traceback, copy.reason) == (
            "a",
            1,
            "Traceback...\nValueError: x\n",
            "raised ValueError: x",
        )
        assert [(o.worker_name, o.exitcode) for o in copy.others] == [("b", -9)]
        assert str(copy) == str(error)


def test_running_worker_is_reported_once_by_join_all_timeout() -> None:
    env = ParallelTestEnvironment(start_method="fork")
    release = env.create_event("release")
    env.create_worker_process(release.wait, args=(HANG,), name="slow").start()
    with pytest.raises(WorkerError, match="still running") as info:
        env.join_all(timeout=0.05)
    assert (info.value.worker_name, info.value.exitcode) == ("slow", None)
    release.set()
    env.join_all(math.inf)  # it then ends cleanly: nothing new to report
    env.close()


def test_callback_sees_each_failure_and_a_raising_one_does_not_stop_cleanup() -> None:
    seen: list[WorkerError] = []

    def broken(error: WorkerError) -> None:
        seen.append(error)
        raise RuntimeError("callback bug")

    env = ParallelTestEnvironment(
        start_method="fork", on_worker_error=broken, join_timeout=0.5, grace_period=0.1
    )
    workspace = env.workspace
    env.create_worker_process(_explode, args=("1",), name="x").start()
    env.create_worker_process(sys.exit, args=(2,), name="y").start()
    hung = env.create_worker_process(time.sleep, args=(HANG,), name="hung")
    hung.start()
    with pytest.raises(WorkerError) as info:
        env.close()  # callbacks raise during cleanup; cleanup and reporting go on
    assert [e.worker_name for e in info.value.failures] == ["x", "y"]
    assert [e.worker_name for e in seen] == ["x", "y"]
    assert [str(e) for e in env.callback_errors] == ["callback bug"] * 2
    assert not workspace.exists() and hung.exitcode == -signal.SIGTERM


# -- cleanup -------------------------------------------------------------------------------


def test_hung_workers_are_terminated_then_killed_at_close(start_method: str) -> None:
    env = ParallelTestEnvironment(start_method=start_method, join_timeout=0.05, grace_period=0.3)
    ready = env.create_queue("ready")

    def hang() -> None:
        ready.put("hang")
        time.sleep(HANG * 10)

    def ignore_sigterm() -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        ready.put("stubborn")
        time.sleep(HANG * 10)

    polite = env.create_worker_process(hang)
    stubborn = env.create_worker_process(ignore_sigterm)
    env.start_all()
    assert {ready.get(timeout=HANG) for _ in range(2)} == {"hang", "stubborn"}
    began = time.monotonic()
    env.close()  # stopped by the env itself: not a failure
    assert time.monotonic() - began < HANG
    assert (polite.exitcode, stubborn.exitcode) == (-signal.SIGTERM, -signal.SIGKILL)
    assert env.failures == []


def test_close_leaves_no_child_and_no_zombie(start_method: str) -> None:
    env = ParallelTestEnvironment(start_method=start_method, join_timeout=0.05, grace_period=0.1)
    env.create_worker_process(print, args=("done",)).start()  # ends, never joined
    env.create_worker_process(time.sleep, args=(HANG,)).start()  # still running at close
    never = env.create_worker_process(print)  # never started
    env.close()
    started = {p.pid for p in env.processes if p is not never}
    assert len(started) == 2 and not started & set(_worker_children())
    with pytest.raises(ValueError, match="closed"):
        never.start()  # a worker cannot escape the env by starting after close


def test_close_releases_every_descriptor_it_opened(start_method: str) -> None:
    import psutil

    def put(queue: SharedQueue, item: int) -> None:
        queue.put(item)

    with ParallelTestEnvironment(start_method=start_method) as warm_up:
        warm_up.create_worker_process(print).start()  # starts the forkserver, tracker
    before = psutil.Process().num_fds()
    env = ParallelTestEnvironment(start_method=start_method)
    used, unused = env.create_queue("used"), env.create_queue("unused")
    env.create_worker_process(put, args=(used, 1)).start()
    env.create_worker_thread(put, args=(used, 2)).start()
    used.put(3)  # starts this process's feeder thread too
    assert sorted(used.get(timeout=HANG) for _ in range(3)) == [1, 2, 3]
    assert psutil.Process().num_fds() > before
    env.close()
    assert psutil.Process().num_fds() == before
    del unused


def test_close_is_idempotent_and_reentrant_safe() -> None:
    env = ParallelTestEnvironment(start_method="fork")
    with env as outer, env as inner:
        assert outer is inner is env
        env.create_worker_process(print, args=("x",)).start()
    assert env.closed
    env.close()
    env.close()
    for misuse in (
        env.__enter__,
        lambda: env.create_queue("q"),
        lambda: env.create_worker_thread(print),
        lambda: env.join_all(),
    ):
        with pytest.raises(RuntimeError, match="closed"):
            misuse()


def test_concurrent_close_reports_once() -> None:
    env = ParallelTestEnvironment(start_method="fork")
    env.create_worker_process(_explode, args=("c",)).start()
    raised: list[BaseException] = []

    def close() -> None:
        try:
            env.close()
        except WorkerError as exc:
            raised.append(exc)

    closers = [threading.Thread(target=close) for _ in range(8)]
    for thread in closers:
        thread.start()
    for thread in closers:
        thread.join(HANG)
    assert len(raised) == 1 and len(env.failures) == 1


def test_alive_thread_is_reported_by_name_at_close() -> None:
    release = threading.Event()
    env = ParallelTestEnvironment(join_timeout=0.1)
    stuck = env.create_worker_thread(release.wait, args=(HANG,), name="stuck-thread")
    stuck.start()
    try:
        with pytest.raises(WorkerError) as info:
            env.close()
    finally:
        release.set()
        stuck.join(HANG)
    error = info.value
    assert (error.worker_name, error.exitcode) == ("stuck-thread", None)
    assert "cannot be killed" in str(error)
    assert "in wait" in error.remote_traceback  # where it was stuck


def test_thread_started_after_close_refuses_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    ran, caught = [], []
    monkeypatch.setattr(threading, "excepthook", lambda args: caught.append(args.exc_value))
    env = ParallelTestEnvironment()
    late = env.create_worker_thread(lambda: ran.append(1))
    env.close()
    late.start()
    late.join(HANG)
    assert ran == [] and "after its ParallelTestEnvironment was closed" in str(caught[0])


def test_queues_close_without_hanging_when_full_or_unread(start_method: str) -> None:
    env = ParallelTestEnvironment(start_method=start_method)
    unread, big = env.create_queue("unread"), env.create_queue("big")

    def fill(item: int) -> None:
        for _ in range(100):
            unread.put(item)  # left for nobody to read

    for i in range(3):
        env.create_worker_process(fill, args=(i,)).start()
    big.put(b"x" * 2_000_000)  # far more than a pipe holds; nobody will read it
    feeder = big._thread  # type: ignore[attr-defined]
    env.join_all(HANG)
    env.close()
    assert not feeder.is_alive()


def test_queue_closes_when_a_child_died_holding_its_write_lock() -> None:
    env = ParallelTestEnvironment(start_method="fork", join_timeout=0.05, grace_period=0.1)
    queue, ready = env.create_queue("shared"), env.create_event("ready")

    def hog() -> None:
        queue.put(b"y" * 2_000_000)  # its feeder takes the write lock and blocks on the pipe
        time.sleep(0.2)
        ready.set()
        time.sleep(HANG * 10)

    env.create_worker_process(hog).start()
    assert ready.wait(HANG)
    queue.put("stuck behind the dead child's lock")
    feeder = queue._thread  # type: ignore[attr-defined]
    try:
        env.close()  # the child is killed holding the lock; close must still return
        assert feeder.is_alive()  # stuck for good, as documented: nothing can free it
    finally:
        # Free it by hand, so no thread stays blocked after this test.
        queue._wlock.release()  # type: ignore[attr-defined]
        feeder.join(HANG)
    assert not feeder.is_alive()


def test_env_dropped_without_close_still_stops_its_workers() -> None:
    env = ParallelTestEnvironment(start_method="fork", grace_period=0.1)
    worker = env.create_worker_process(time.sleep, args=(HANG,))
    worker.start()
    workspace = env.workspace
    del env
    gc.collect()
    assert worker.exitcode == -signal.SIGTERM
    assert not workspace.exists()


def test_script_exiting_without_close_does_not_hang(tmp_path: Path) -> None:
    script = tmp_path / "forgetful.py"
    script.write_text(
        textwrap.dedent(
            """
            import time
            from itest_shared.parallel import ParallelTestEnvironment
            env = ParallelTestEnvironment(start_method="fork", grace_period=0.1)
            worker = env.create_worker_process(time.sleep, args=(3600,))
            worker.start()
            print(worker.pid, flush=True)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=HANG, check=True
    )
    import psutil

    pid = int(done.stdout)
    with contextlib.suppress(psutil.NoSuchProcess):
        # Had the script left it running, it would now be an orphan: alive, not a zombie.
        assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


# -- bad input -----------------------------------------------------------------------------


def test_bad_constructor_arguments_name_the_field(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    with pytest.raises(ValueError, match=r"start_method 'bogus'.*'fork'.*'spawn'.*'forkserver'"):
        ParallelTestEnvironment(fresh, start_method="bogus")
    assert not fresh.exists()  # bad input made nothing
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"start_method": 1}, TypeError, "start_method"),
        ({"grace_period": -1}, ValueError, "grace_period"),
        ({"grace_period": float("nan")}, ValueError, "grace_period"),
        ({"join_timeout": float("inf")}, ValueError, "join_timeout"),
        ({"join_timeout": "5"}, TypeError, "join_timeout"),
        ({"grace_period": True}, TypeError, "grace_period"),
        ({"on_worker_error": 5}, TypeError, "on_worker_error"),
    ]
    for kwargs, error, field in cases:
        with pytest.raises(error, match=field):
            ParallelTestEnvironment(fresh, **kwargs)
    assert not fresh.exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="not a directory"):
        ParallelTestEnvironment(tmp_path / "file")
    with pytest.raises(TypeError, match="workspace"):
        ParallelTestEnvironment(5)  # type: ignore[arg-type]


def test_given_workspace_is_used_and_kept(tmp_path: Path) -> None:
    given = tmp_path / "ws"
    with ParallelTestEnvironment(given, start_method="fork") as env:
        assert env.workspace is given and env.workspace.is_dir()  # the very Path object
        assert env.start_method == "fork"
    assert given.is_dir()
    with ParallelTestEnvironment(str(given)) as env:
        assert env.workspace == given


def test_bad_worker_and_primitive_arguments_change_nothing() -> None:
    env = ParallelTestEnvironment(start_method="fork")
    queue = env.create_queue("q", maxsize=2)
    env.create_worker_process(print, name="taken")
    bad_calls: list[tuple[Callable[[], object], type[Exception], str]] = [
        (lambda: env.create_worker_process(42), TypeError, "target must be callable"),  # type: ignore[arg-type]
        (lambda: env.create_worker_thread("x"), TypeError, "target must be callable"),  # type: ignore[arg-type]
        (lambda: env.create_worker_process(print, args=5), TypeError, "args"),  # type: ignore[arg-type]
        (lambda: env.create_worker_process(print, kwargs={1: 2}), TypeError, "kwargs"),  # type: ignore[dict-item]
        (lambda: env.create_worker_process(print, name="taken"), ValueError, "'taken'"),
        (lambda: env.create_worker_thread(print, name=" "), ValueError, "non-empty"),
        (lambda: env.create_worker_process(print, (), 5), TypeError, "kwargs"),  # type: ignore[arg-type]
        (lambda: env.create_worker_thread(print, (), "a", name="b"), TypeError, "'a'.*name='b'"),
        (lambda: env.create_worker_process(print, (), " "), ValueError, "non-empty"),
        (lambda: env.create_queue("q", 0), ValueError, "maxsize=2, not maxsize=0"),
        (lambda: env.create_queue("r", maxsize=-1), ValueError, "maxsize"),
        (lambda: env.create_queue("r", maxsize=True), TypeError, "maxsize"),
        (lambda: env.create_queue("r", maxsize="3"), TypeError, "maxsize"),  # type: ignore[arg-type]
        (lambda: env.join_all(timeout=-1), ValueError, "timeout"),
    ]
    for call, error, message in bad_calls:
        with pytest.raises(error, match=message):
            call()
    assert [p.name for p in env.processes] == ["taken"] and env.threads == []
    assert env.queues == {"q": queue} and env.locks == {} and env.events == {}
    assert env.create_queue("q", maxsize=2) is queue
    with pytest.raises(TypeError, match="cannot be sent to a worker"):
        pickle.dumps(env)
    env.close()


def test_non_str_names_are_refused_everywhere() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    env = ParallelTestEnvironment(start_method="fork")
    makers: list[Callable[[Any], object]] = [
        env.create_shared_lock,
        env.create_queue,
        env.create_event,
        lambda name: env.create_worker_process(print, name=name),
        lambda name: env.create_worker_thread(print, name=name),
    ]
    not_str = st.integers() | st.floats() | st.binary() | st.lists(st.text(), max_size=2)

    @settings(max_examples=40, deadline=None)
    @given(not_str, st.text(alphabet=" \t\n", max_size=4))
    def check(bad: Any, blank: str) -> None:
        for make in makers:
            with pytest.raises(TypeError, match="name must be a str"):
                make(bad)
            with pytest.raises(ValueError, match="name must be a non-empty str"):
                make(blank)
        assert env.processes == [] and env.threads == []

    try:
        check()
    finally:
        env.close()


# -- under pytest-xdist --------------------------------------------------------------------


def test_behaves_the_same_under_xdist(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            """
            import os, sys, warnings
            import pytest
            from itest_shared.parallel import ParallelTestEnvironment, WorkerError

            @pytest.mark.parametrize("method", [None, "fork", "spawn", "forkserver"])
            def test_spec(method):
                if os.path.isdir("/proc/self/task"):  # Linux: count the OS threads
                    assert len(os.listdir("/proc/self/task")) > 1  # execnet's own
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    with ParallelTestEnvironment(start_method=method) as env:
                        lock, queue = env.create_shared_lock("l"), env.create_queue("q")
                        def worker(i):
                            with lock:
                                queue.put(i)
                        for i in range(2):
                            env.create_worker_process(worker, args=(i,)).start()
                        assert sorted(queue.get(timeout=60) for _ in range(2)) == [0, 1]
                warned = [w for w in caught if "fork()" in str(w.message)]
                if method is None:
                    assert env.start_method == "forkserver" and not warned
                elif method == "fork" and sys.version_info >= (3, 12):
                    assert warned  # the control: this process has threads CPython counts

            def test_failure_fails_the_test():
                def broken():
                    raise ValueError("boom-under-xdist")
                with ParallelTestEnvironment(start_method="spawn") as env:
                    env.create_worker_process(broken).start()
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=HANG * 2,
        cwd=tmp_path,
    )
    assert "4 passed" in done.stdout and "1 failed" in done.stdout, done.stdout + done.stderr
    assert "WorkerError: worker 'broken-1' raised ValueError: boom-under-xdist" in done.stdout
    assert "remote traceback:" in done.stdout
