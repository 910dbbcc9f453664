"""ParallelTestEnvironment: close stops workers and frees processes, queues and descriptors."""

# Spawn and forkserver children unpickle this module's targets by importing it:
# keep its imports light (hypothesis, psutil and dill are imported inside the tests).

from __future__ import annotations

import contextlib
import gc
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from itest_shared.parallel import ParallelTestEnvironment, SharedQueue, WorkerError, _workers
from tests.parallel.support import HANG, _explode, _worker_children


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

    # Declared servers: stopping them at close is not a failure.
    polite = env.create_worker_process(hang, stop_at_close=True)
    stubborn = env.create_worker_process(ignore_sigterm, stop_at_close=True)
    env.start_all()
    assert {ready.get(timeout=HANG) for _ in range(2)} == {"hang", "stubborn"}
    began = time.monotonic()
    env.close()
    assert time.monotonic() - began < HANG
    assert (polite.exitcode, stubborn.exitcode) == (-signal.SIGTERM, -signal.SIGKILL)
    assert env.failures == []


def test_close_leaves_no_child_and_no_zombie(start_method: str) -> None:
    env = ParallelTestEnvironment(start_method=start_method, join_timeout=0.05, grace_period=0.1)
    env.create_worker_process(print, args=("done",)).start()  # ends, never joined
    env.create_worker_process(time.sleep, args=(HANG,)).start()  # still running at close
    never = env.create_worker_process(print)  # never started
    with pytest.raises(WorkerError, match="still running at close"):
        env.close()  # reported, and still stopped and reaped
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


def test_a_slow_feeder_is_drained_to_the_end_not_cut_off_by_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As on a loaded machine: the flush window is over before the feeder has sent
    # much. Bytes keep coming, so it is slow, not stuck: close() waits for it.
    monkeypatch.setattr(_workers, "QUEUE_FLUSH_TIMEOUT", 0.0)
    env = ParallelTestEnvironment()
    big = env.create_queue("big")
    big.put(b"x" * 2_000_000)  # far more than a pipe holds; nobody will read it
    feeder = big._thread  # type: ignore[attr-defined]
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

    env.create_worker_process(hog, stop_at_close=True).start()
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
