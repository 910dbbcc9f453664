"""ParallelTestEnvironment: a worker still running at close is a failure, unless declared.

A worker that close() has to stop never got to finish: whatever it would have
raised is lost, so its test must not pass silently (issue 10, item 15). A
server-like worker, declared with ``stop_at_close=True``, may be stopped.
"""

# Spawn and forkserver children unpickle this module's targets by importing it:
# keep its imports light (hypothesis, psutil and dill are imported inside the tests).

from __future__ import annotations

import re
import signal
import threading

import pytest

from itest_shared.parallel import ParallelTestEnvironment, SharedEvent, WorkerError
from tests.parallel.support import HANG


def _raise_later(started: SharedEvent, never: SharedEvent) -> None:
    """Say it has started, wait far longer than any join timeout, then raise."""
    started.set()
    never.wait(HANG)
    raise ValueError("the failure close() would lose")


def _small_env(start_method: str = "fork") -> ParallelTestEnvironment:
    return ParallelTestEnvironment(start_method=start_method, join_timeout=0.2, grace_period=0.2)


def test_never_joined_worker_still_running_at_close_fails(start_method: str) -> None:
    env = _small_env(start_method)
    started, never = env.create_event("started"), env.create_event("never")
    slow = env.create_worker_process(_raise_later, args=(started, never), name="slow-raiser")
    slow.start()
    assert started.wait(HANG)
    with pytest.raises(WorkerError) as info:
        env.close()
    error = info.value
    assert (error.worker_name, error.others) == ("slow-raiser", ())
    assert error.exitcode == -signal.SIGTERM == slow.exitcode  # stopped, and how
    message = str(error)
    assert "'slow-raiser'" in message and "still running at close()" in message
    assert re.search(r"ran for \d+\.\d s", message), message  # how long it ran
    assert "stop_at_close=True" in message  # what to do if stopping it is fine
    assert [e.worker_name for e in env.failures] == ["slow-raiser"]


def test_stop_at_close_worker_is_stopped_without_a_failure() -> None:
    env = _small_env()
    started, never = env.create_event("started"), env.create_event("never")
    server = env.create_worker_process(_raise_later, args=(started, never), stop_at_close=True)
    server.start()
    assert started.wait(HANG)
    env.close()
    assert server.exitcode == -signal.SIGTERM and env.failures == []


def test_stop_at_close_does_not_hide_a_worker_that_failed_by_itself(start_method: str) -> None:
    env = _small_env(start_method)
    started, never = env.create_event("started"), env.create_event("never")
    never.set()  # so it raises at once
    env.create_worker_process(
        _raise_later, args=(started, never), name="server", stop_at_close=True
    ).start()
    # Waited for directly (not by env.join_all, which would report it): it has
    # ended by itself before close(), however slowly this machine starts it.
    assert started.wait(HANG)
    env.processes[0].join(HANG)
    with pytest.raises(WorkerError, match="'server' raised ValueError: the failure"):
        env.close()


def test_running_worker_reported_by_join_all_is_not_reported_again_at_close() -> None:
    env = _small_env()
    started, never = env.create_event("started"), env.create_event("never")
    env.create_worker_process(_raise_later, args=(started, never), name="slow").start()
    assert started.wait(HANG)
    with pytest.raises(WorkerError, match="still running after join_all"):
        env.join_all(timeout=0.05)
    env.close()  # the test has seen it running already: stopped, reported once
    assert [e.worker_name for e in env.failures] == ["slow"]


def test_alive_thread_says_how_long_it_ran_and_stop_at_close_thread_is_left_running() -> None:
    release = threading.Event()
    env = ParallelTestEnvironment(join_timeout=0.1)
    stuck = env.create_worker_thread(release.wait, args=(HANG,), name="stuck")
    server = env.create_worker_thread(release.wait, args=(HANG,), name="srv", stop_at_close=True)
    stuck.start()
    server.start()
    try:
        with pytest.raises(WorkerError) as info:
            env.close()
        # Threads cannot be stopped: the declared one is not reported, but it is
        # not stopped either; it is left running (a daemon) like the other.
        assert server.is_alive() and stuck.is_alive()
    finally:
        release.set()
        stuck.join(HANG)
        server.join(HANG)
    assert [e.worker_name for e in env.failures] == ["stuck"]
    assert re.search(r"ran for \d+\.\d s", str(info.value)), str(info.value)
    assert "cannot be killed" in str(info.value)


@pytest.mark.parametrize("flag", ["yes", 1, None])
def test_stop_at_close_must_be_a_bool(flag: object) -> None:
    env = ParallelTestEnvironment(start_method="fork")
    for make in (env.create_worker_process, env.create_worker_thread):
        with pytest.raises(TypeError, match="stop_at_close must be a bool, got "):
            make(print, stop_at_close=flag)  # type: ignore[arg-type]
    assert env.processes == [] and env.threads == []
    env.close()
