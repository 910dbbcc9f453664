"""The leak audit on real threads and child processes (grandchildren, zombies, multiprocessing)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from itest_shared.leaks import (
    LeakSnapshot,
    ThreadInfo,
)
from tests.leaks.support import SETTLE, SHORT


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts on purpose; killed and reaped (zombies too) at teardown."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            try:
                # Each one leads its own session: kill its descendants with it.
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                process.kill()
        process.wait(timeout=30)


def start(children: list[subprocess.Popen[bytes]], *command: str) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session of its own and remember it for cleanup."""
    process = subprocess.Popen(command, start_new_session=True)
    children.append(process)
    return process


# -- threads ---------------------------------------------------------------------------


def test_unjoined_threads_are_reported_with_their_names(stop: threading.Event) -> None:
    old = threading.Thread(target=stop.wait, name="old-timer")
    old.start()
    before = LeakSnapshot.take()
    assert "old-timer" in [t.name for t in before.threads]  # there before: not reported
    thread = threading.Thread(target=stop.wait, name="forgotten-poller")
    thread.start()
    threading.Thread(target=stop.wait, name="background", daemon=True).start()
    report = before.audit(grace_period=SHORT)
    assert report.threads[0] == ThreadInfo(
        name="forgotten-poller", ident=thread.ident, native_id=thread.native_id, daemon=False
    )
    assert [(t.name, t.daemon) for t in report.threads[1:]] == [("background", True)]
    assert not report.is_clean and report.processes == () and report.fds == ()
    description = report.describe()
    assert "left behind (not there before): 2 threads\n" in description
    assert "thread 'forgotten-poller'" in description and "not daemon" in description
    assert "thread 'background'" in description
    stop.set()
    thread.join()
    assert before.audit(grace_period=SETTLE).is_clean


def test_a_thread_finishing_within_the_grace_period_is_not_reported() -> None:
    go = threading.Event()
    before = LeakSnapshot.take()

    def finish_soon() -> None:
        go.wait()
        time.sleep(0.1)

    thread = threading.Thread(target=finish_soon, name="finishing")
    thread.start()
    # Without settling it is there...
    assert [t.name for t in before.diff(LeakSnapshot.take()).threads] == ["finishing"]
    go.set()
    # ...and the audit gives it the time to go, joining nothing.
    report = before.audit(grace_period=SETTLE)
    assert report.is_clean, report.describe()
    assert not thread.is_alive()


# -- child processes ---------------------------------------------------------------------


def test_a_running_child_is_reported_with_pid_and_command_line(
    children: list[subprocess.Popen[bytes]],
) -> None:
    before = LeakSnapshot.take()
    process = start(children, "sleep", "30")
    (child,) = before.audit(grace_period=SHORT).processes
    assert child.pid == process.pid
    assert child.name == "sleep" and child.cmdline == ("sleep", "30")
    assert child.status != "zombie"
    description = before.audit(grace_period=0).describe()
    assert f"child process {process.pid} 'sleep'" in description
    assert "sleep 30" in description
    assert "left behind (not there before): 1 child process\n" in description


def test_grandchildren_are_reported_too(children: list[subprocess.Popen[bytes]]) -> None:
    before = LeakSnapshot.take()
    shell = start(children, "sh", "-c", "sleep 30 & wait")
    report = before.audit(grace_period=SHORT)
    deadline = time.monotonic() + SETTLE
    while len(report.processes) < 2 and time.monotonic() < deadline:
        report = before.audit(grace_period=0)  # the shell may not have started sleep yet
    assert {p.pid for p in report.processes} >= {shell.pid}
    assert ("sleep", "30") in {p.cmdline for p in report.processes}
    assert "2 child processes" in report.describe()


def test_a_zombie_child_is_reported(children: list[subprocess.Popen[bytes]]) -> None:
    before = LeakSnapshot.take()
    process = start(children, "true")
    # Wait for it to exit without reaping it: it stays a zombie.
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
    (child,) = before.audit(grace_period=SHORT).processes
    assert child.pid == process.pid and child.status == "zombie"
    assert "[zombie]" in child.describe()
    process.wait()  # reaped: nothing is left
    assert before.audit(grace_period=SETTLE).is_clean


def test_a_child_reaped_within_the_grace_period_is_not_reported(
    children: list[subprocess.Popen[bytes]],
) -> None:
    before = LeakSnapshot.take()
    process = start(children, "sleep", "0.1")
    reaper = threading.Thread(target=process.wait, name="reaper")
    reaper.start()
    report = before.audit(grace_period=SETTLE)
    assert report.is_clean, report.describe()
    reaper.join()


def test_multiprocessing_helpers_are_not_leaks_but_their_workers_are(tmp_path: Path) -> None:
    # In a fresh interpreter: the forkserver and resource tracker live until it exits.
    script = tmp_path / "helpers.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, time
            import multiprocess
            from itest_shared.leaks import LeakSnapshot

            if __name__ == "__main__":
                for method in ("fork", "spawn", "forkserver"):
                    context = multiprocess.get_context(method)
                    before = LeakSnapshot.take()
                    worker = context.Process(target=time.sleep, args=(0,))
                    worker.start(); worker.join(); worker.close()
                    report = before.audit(grace_period=10)
                    assert report.is_clean, (method, report.describe())
                    worker = context.Process(target=time.sleep, args=(30,), name="stuck")
                    worker.start()
                    report = before.audit(grace_period=0.05)
                    assert [p.pid for p in report.processes] == [worker.pid], report.describe()
                    worker.kill(); worker.join(); worker.close()
                    report = before.audit(grace_period=10)
                    assert report.is_clean, (method, report.describe())
                print("ok")
            """
        )
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=90, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("reads", ["proc", "proc without fds", "psutil"])
def test_a_helper_there_before_is_no_leak_once_a_fresh_module_replaced_it(
    tmp_path: Path, reads: str
) -> None:
    # What pytester's in-process runs do: the multiprocess submodules they imported
    # leave sys.modules, and a later import makes a fresh module with its own helper.
    script = tmp_path / "reimport.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import multiprocess
            import multiprocess.resource_tracker as first
            from itest_shared import leaks
            from itest_shared.leaks import _procs

            if __name__ == "__main__":
                if sys.argv[1] != "proc":
                    leaks._PROC_FD = "/no/such/dir"  # the audit goes through diff()
                if sys.argv[1] == "psutil":
                    _procs._usable = False  # and psutil reads the process tree
                first.ensure_running()
                old = first._resource_tracker._pid
                before = leaks.LeakSnapshot.take()
                assert old not in {p.pid for p in before.processes}
                del sys.modules["multiprocess.resource_tracker"]
                del multiprocess.resource_tracker
                import multiprocess.resource_tracker as second
                assert second is not first
                second.ensure_running()
                assert second._resource_tracker._pid != old
                report = before.audit(grace_period=0)
                assert report.is_clean, report.describe()
                # Still a leak: a child started after the snapshot.
                worker = multiprocess.get_context("spawn").Process(target=input)
                worker.start()
                report = before.audit(grace_period=0)
                assert [p.pid for p in report.processes] == [worker.pid], report.describe()
                worker.kill(); worker.join()
                print("ok")
            """
        )
    )
    result = subprocess.run(
        [sys.executable, str(script), reads],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
