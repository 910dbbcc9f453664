"""ParallelTestEnvironment: close stops a worker's whole process tree, orphans included."""

# Spawn and forkserver children unpickle this module's targets by importing it:
# keep its imports light (psutil is imported inside the tests).

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from itest_shared.parallel import ParallelTestEnvironment, WorkerError
from tests.parallel.support import HANG

# A grandchild that sleeps far longer than any test; with "stubborn" it ignores SIGTERM.
SLEEPER = (
    "import signal, sys, time\n"
    "if sys.argv[1:] == ['stubborn']:\n"
    "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(600)"
)


def _start_grandchild(queue: object, stubborn: bool = False) -> subprocess.Popen[bytes]:
    extra = ["stubborn"] if stubborn else []
    child = subprocess.Popen([sys.executable, "-c", SLEEPER, *extra], stdout=subprocess.PIPE)
    assert child.stdout is not None
    child.stdout.readline()  # it has set its handlers
    queue.put(child.pid)  # type: ignore[attr-defined]
    return child


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie (init reaps orphans when it gets to it)."""
    import psutil  # type: ignore[import-untyped, unused-ignore]

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _kill_if_alive(pid: int) -> None:
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def test_a_grandchild_orphaned_by_its_worker_is_stopped_at_close(start_method: str) -> None:
    env = ParallelTestEnvironment(start_method=start_method, grace_period=0.5)
    pids = env.create_queue("pids")

    def leave_one_behind() -> None:
        _start_grandchild(pids)  # and return: it is orphaned, adopted by init

    env.create_worker_process(leave_one_behind).start()
    env.join_all(timeout=HANG)  # the worker ended cleanly
    grandchild = pids.get(timeout=HANG)
    try:
        assert _alive(grandchild)
        env.close()
        assert not _alive(grandchild)
        assert env.failures == []  # the worker did nothing wrong; teardown tidied up
    finally:
        _kill_if_alive(grandchild)


def test_a_grandchild_of_a_running_worker_goes_with_it(start_method: str) -> None:
    env = ParallelTestEnvironment(start_method=start_method, join_timeout=0.05, grace_period=0.5)
    pids = env.create_queue("pids")

    def serve() -> None:
        _start_grandchild(pids)
        time.sleep(HANG * 10)

    worker = env.create_worker_process(serve, stop_at_close=True)
    worker.start()
    grandchild = pids.get(timeout=HANG)
    try:
        env.close()
        assert worker.exitcode == -signal.SIGTERM
        assert not _alive(grandchild)
    finally:
        _kill_if_alive(grandchild)


def test_a_grandchild_that_ignores_sigterm_is_killed_after_the_grace_period() -> None:
    env = ParallelTestEnvironment(grace_period=0.2)
    pids = env.create_queue("pids")

    def leave_a_stubborn_one() -> None:
        _start_grandchild(pids, stubborn=True)

    env.create_worker_process(leave_a_stubborn_one).start()
    env.join_all(timeout=HANG)
    grandchild = pids.get(timeout=HANG)
    try:
        began = time.monotonic()
        env.close()
        assert not _alive(grandchild)
        assert time.monotonic() - began < HANG  # a hang guard, not a speed claim
    finally:
        _kill_if_alive(grandchild)


def test_a_worker_still_running_at_close_is_reported_and_its_tree_stopped() -> None:
    env = ParallelTestEnvironment(join_timeout=0.05, grace_period=0.5)
    pids = env.create_queue("pids")

    def busy() -> None:
        _start_grandchild(pids)
        time.sleep(HANG * 10)

    env.create_worker_process(busy, name="busy").start()
    grandchild = pids.get(timeout=HANG)
    try:
        with pytest.raises(WorkerError, match=r"busy.*still running at close"):
            env.close()
        assert not _alive(grandchild)
    finally:
        _kill_if_alive(grandchild)


def test_a_process_that_left_the_group_is_not_the_envs_to_stop() -> None:
    # A grandchild in a session of its own has left the worker's group: close()
    # cannot find it without reading every process's environment, and does not.
    # (The leak audit finds it: tests/leaks/test_orphans.py.)
    env = ParallelTestEnvironment(grace_period=0.2)
    pids = env.create_queue("pids")

    def detach() -> None:
        child = subprocess.Popen(
            [sys.executable, "-c", SLEEPER], stdout=subprocess.PIPE, start_new_session=True
        )
        assert child.stdout is not None
        child.stdout.readline()
        pids.put(child.pid)

    env.create_worker_process(detach).start()
    env.join_all(timeout=HANG)
    detached = pids.get(timeout=HANG)
    try:
        env.close()
        assert _alive(detached)
    finally:
        _kill_if_alive(detached)
