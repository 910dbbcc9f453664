"""ParallelTestEnvironment: worker failures reported by join_all, close and the callback."""

# Spawn and forkserver children unpickle this module's targets by importing it:
# keep its imports light (hypothesis, psutil and dill are imported inside the tests).

from __future__ import annotations

import math
import os
import pickle
import shutil
import signal
import sys
import time

import pytest

from itest_shared.parallel import ParallelTestEnvironment, WorkerError
from tests.parallel.support import HANG, _explode


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
    hung = env.create_worker_process(time.sleep, args=(HANG,), name="hung", stop_at_close=True)
    hung.start()
    with pytest.raises(WorkerError) as info:
        env.close()  # callbacks raise during cleanup; cleanup and reporting go on
    assert [e.worker_name for e in info.value.failures] == ["x", "y"]
    assert [e.worker_name for e in seen] == ["x", "y"]
    assert [str(e) for e in env.callback_errors] == ["callback bug"] * 2
    assert not workspace.exists() and hung.exitcode == -signal.SIGTERM
