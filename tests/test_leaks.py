"""The leak audit: real threads, child processes and file descriptors left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import itest_shared.leaks as leaks
from itest_shared.leaks import (
    FdInfo,
    LeakAudit,
    LeakReport,
    LeakSnapshot,
    ProcessInfo,
    ThreadInfo,
)
from tests.helpers import run_together

# Long enough for anything finishing to finish on a loaded 2-core machine; a
# clean audit returns as soon as it is clean, so this costs only on failure.
SETTLE = 10.0
# For audits that must report something: they always wait this long.
SHORT = 0.05


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


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    """An event that leaked test threads wait on; set at teardown, and the threads end."""
    event = threading.Event()
    yield event
    event.set()


# -- threads ---------------------------------------------------------------------------


def test_unjoined_threads_are_reported_with_their_names(stop: threading.Event) -> None:
    old = threading.Thread(target=stop.wait, name="old-timer")
    old.start()
    before = LeakSnapshot.take()
    assert "old-timer" in [t.name for t in before.threads]  # there before: not reported
    thread = threading.Thread(target=stop.wait, name="forgotten-poller")
    thread.start()
    threading.Thread(target=stop.wait, name="background", daemon=True).start()
    report = before.audit(grace=SHORT)
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
    assert before.audit(grace=SETTLE).is_clean


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
    report = before.audit(grace=SETTLE)
    assert report.is_clean, report.describe()
    assert not thread.is_alive()


# -- child processes ---------------------------------------------------------------------


def test_a_running_child_is_reported_with_pid_and_command_line(
    children: list[subprocess.Popen[bytes]],
) -> None:
    before = LeakSnapshot.take()
    process = start(children, "sleep", "30")
    (child,) = before.audit(grace=SHORT).processes
    assert child.pid == process.pid
    assert child.name == "sleep" and child.cmdline == ("sleep", "30")
    assert child.status != "zombie"
    description = before.audit(grace=0).describe()
    assert f"child process {process.pid} 'sleep'" in description
    assert "sleep 30" in description
    assert "left behind (not there before): 1 child process\n" in description


def test_grandchildren_are_reported_too(children: list[subprocess.Popen[bytes]]) -> None:
    before = LeakSnapshot.take()
    shell = start(children, "sh", "-c", "sleep 30 & wait")
    report = before.audit(grace=SHORT)
    deadline = time.monotonic() + SETTLE
    while len(report.processes) < 2 and time.monotonic() < deadline:
        report = before.audit(grace=0)  # the shell may not have started sleep yet
    assert {p.pid for p in report.processes} >= {shell.pid}
    assert ("sleep", "30") in {p.cmdline for p in report.processes}
    assert "2 child processes" in report.describe()


def test_a_zombie_child_is_reported(children: list[subprocess.Popen[bytes]]) -> None:
    before = LeakSnapshot.take()
    process = start(children, "true")
    # Wait for it to exit without reaping it: it stays a zombie.
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
    (child,) = before.audit(grace=SHORT).processes
    assert child.pid == process.pid and child.status == "zombie"
    assert "[zombie]" in child.describe()
    process.wait()  # reaped: nothing is left
    assert before.audit(grace=SETTLE).is_clean


def test_a_child_reaped_within_the_grace_period_is_not_reported(
    children: list[subprocess.Popen[bytes]],
) -> None:
    before = LeakSnapshot.take()
    process = start(children, "sleep", "0.1")
    reaper = threading.Thread(target=process.wait, name="reaper")
    reaper.start()
    report = before.audit(grace=SETTLE)
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
                    report = before.audit(grace=10)
                    assert report.is_clean, (method, report.describe())
                    worker = context.Process(target=time.sleep, args=(30,), name="stuck")
                    worker.start()
                    report = before.audit(grace=0.05)
                    assert [p.pid for p in report.processes] == [worker.pid], report.describe()
                    worker.kill(); worker.join(); worker.close()
                    report = before.audit(grace=10)
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


# -- file descriptors ---------------------------------------------------------------------


def test_an_unclosed_file_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "left-open.txt"
    before = LeakSnapshot.take()
    with open(path, "w") as handle:
        report = before.audit(grace=SHORT)
        assert report.fds == (FdInfo(fd=handle.fileno(), target=os.path.realpath(path)),)
        assert f"fd {handle.fileno()} -> {os.path.realpath(path)}" in report.describe()
    assert before.audit(grace=SETTLE).is_clean


def test_unclosed_pipes_and_sockets_are_reported_as_such() -> None:
    before = LeakSnapshot.take()
    read, write = os.pipe()
    one, two = socket.socketpair()
    try:
        report = before.audit(grace=SHORT)
        targets = {f.fd: f.target.partition(":")[0] for f in report.fds}
        assert targets == {
            read: "pipe",
            write: "pipe",
            one.fileno(): "socket",
            two.fileno(): "socket",
        }
        assert all(f.target.endswith("]") for f in report.fds)  # pipe:[inode], socket:[inode]
        assert "4 file descriptors" in report.describe()
    finally:
        os.close(read)
        os.close(write)
        one.close()
        two.close()


def test_a_reused_fd_number_with_a_new_target_is_new(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "first", os.O_WRONLY | os.O_CREAT)
    before = LeakSnapshot.take()
    read, write = os.pipe()  # while fd is open, so the pipe gets other numbers
    os.close(fd)
    os.dup2(read, fd)  # the old number, now pointing at a pipe
    try:
        (info,) = [f for f in before.audit(grace=SHORT).fds if f.fd == fd]
        assert info.target.startswith("pipe:[")
    finally:
        for number in (fd, read, write):
            os.close(number)


def test_the_same_fd_number_and_target_as_before_is_not_new(tmp_path: Path) -> None:
    path = tmp_path / "reopened"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    before = LeakSnapshot.take()
    os.close(fd)
    again = os.open(path, os.O_RDONLY)
    if again != fd:
        os.dup2(again, fd)
        os.close(again)
    try:
        assert before.audit(grace=0).is_clean
    finally:
        os.close(fd)


def test_the_audit_reports_none_of_its_own_fds() -> None:
    for _ in range(20):
        before = LeakSnapshot.take()
        report = before.diff(LeakSnapshot.take())
        assert report.is_clean, report.describe()
    # Every fd listed was really open (the listing's own fd is closed by then).
    for info in LeakSnapshot.take().fds:
        os.fstat(info.fd)


def test_without_proc_psutil_names_files_and_counts_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leaks, "_PROC_FD", str(tmp_path / "no-such-dir"))
    path = tmp_path / "left-open.txt"
    before = LeakSnapshot.take()
    assert before.fd_coverage.startswith("open files")
    read, write = os.pipe()
    try:
        with open(path, "w") as handle:
            report = before.audit(grace=SHORT)
            assert FdInfo(fd=handle.fileno(), target=os.path.realpath(path)) in report.fds
            assert report.unnamed_fds == 2  # the pipe's ends: counted, not named
            description = report.describe()
            assert "2 more file descriptors that this platform cannot name" in description
            assert "3 file descriptors" in description
            assert "file descriptors seen on this platform: open files" in description
    finally:
        os.close(read)
        os.close(write)
    assert before.audit(grace=SETTLE).is_clean


# -- the whole audit ------------------------------------------------------------------------


def test_a_clean_block_reports_nothing(tmp_path: Path) -> None:
    with LeakAudit(grace=SETTLE) as audit:
        (tmp_path / "f").write_text("x")
        thread = threading.Thread(target=time.sleep, args=(0.01,), name="tidy")
        thread.start()
        thread.join()
        subprocess.run(["true"], check=True)
        read, write = os.pipe()
        os.close(read)
        os.close(write)
    assert audit.report.is_clean, audit.report.describe()
    assert audit.report.describe() == (
        "leak audit: no leaked threads, child processes or file descriptors"
    )
    audit.report.assert_clean()


def test_leak_audit_reports_what_the_block_left_even_when_it_raised(
    stop: threading.Event,
) -> None:
    audit = LeakAudit(grace=SHORT)
    with pytest.raises(RuntimeError, match="not ended"):
        _ = audit.report
    with pytest.raises(KeyError, match="boom"), audit:
        threading.Thread(target=stop.wait, name="abandoned").start()
        raise KeyError("boom")
    assert [t.name for t in audit.report.threads] == ["abandoned"]
    with pytest.raises(AssertionError, match="thread 'abandoned'"):
        audit.report.assert_clean()


def test_snapshots_stay_right_under_fd_and_process_churn(tmp_path: Path) -> None:
    # Threads open and close files and run processes while snapshots are taken:
    # an fd or child that goes between listing and looking must not break the
    # audit, and once the churn ends nothing is reported.
    before = LeakSnapshot.take()
    done = threading.Event()

    def churn(index: int) -> None:
        path = tmp_path / f"churn-{index}"
        count = 0
        while not done.is_set() or count < 200:
            if index < 2 and count % 20 == 0:
                subprocess.run(["true"], check=True)
            with open(path, "w") as handle:
                handle.write("x")
            count += 1

    def snapshots(index: int) -> None:
        if index >= 14:
            try:
                for _ in range(40):
                    LeakSnapshot.take()
            finally:
                done.set()  # a failing snapshot must not leave the churn running
        else:
            churn(index)

    run_together(snapshots, count=16, name="churn")
    report = before.audit(grace=SETTLE)
    assert report.is_clean, report.describe()


# -- diffs of made-up snapshots: identity rules -------------------------------------------


def snapshot(
    threads: tuple[ThreadInfo, ...] = (),
    processes: tuple[ProcessInfo, ...] = (),
    fds: tuple[FdInfo, ...] = (),
    unnamed_fds: int = 0,
) -> LeakSnapshot:
    return LeakSnapshot(threads=threads, processes=processes, fds=fds, unnamed_fds=unnamed_fds)


def test_reused_pids_and_thread_idents_are_new() -> None:
    old = ProcessInfo(pid=42, name="a", cmdline=("a",), status="sleeping", create_time=1.0)
    new = ProcessInfo(pid=42, name="b", cmdline=("b",), status="sleeping", create_time=2.0)
    assert snapshot(processes=(old,)).diff(snapshot(processes=(old,))).is_clean
    assert snapshot(processes=(old,)).diff(snapshot(processes=(new,))).processes == (new,)
    thread = ThreadInfo(name="t", ident=7, native_id=100, daemon=False)
    reused = ThreadInfo(name="t", ident=7, native_id=101, daemon=False)
    renamed = ThreadInfo(name="renamed", ident=7, native_id=100, daemon=False)
    assert snapshot(threads=(thread,)).diff(snapshot(threads=(renamed,))).is_clean
    assert snapshot(threads=(thread,)).diff(snapshot(threads=(reused,))).threads == (reused,)


def test_unnumbered_fds_count_each_opening() -> None:
    # Windows: no fd numbers, so one path open twice is two entries.
    one = FdInfo(fd=-1, target="C:\\log.txt")
    report = snapshot(fds=(one,)).diff(snapshot(fds=(one, one), unnamed_fds=3))
    assert report.fds == (one,) and report.unnamed_fds == 3
    assert "open file C:\\log.txt" in report.describe()
    assert snapshot(unnamed_fds=5).diff(snapshot(unnamed_fds=2)).is_clean


def test_describe_lists_every_kind() -> None:
    report = LeakReport(
        threads=(ThreadInfo(name="poller", ident=1, native_id=2, daemon=True),),
        processes=(
            ProcessInfo(
                pid=9, name="sh", cmdline=("sh", "-c", "a b"), status="zombie", create_time=0.0
            ),
        ),
        fds=(FdInfo(fd=5, target="pipe:[77]"),),
    )
    assert report.describe().splitlines() == [
        "leak audit: left behind (not there before): 1 thread, 1 child process, 1 file descriptor",
        "  thread 'poller' (ident 1, native id 2, daemon)",
        "  child process 9 'sh' [zombie]: sh -c 'a b'",
        "  fd 5 -> pipe:[77]",
    ]


# -- bad input -----------------------------------------------------------------------------

bad_types = st.one_of(st.none(), st.booleans(), st.text(), st.lists(st.integers()))
bad_values = st.one_of(
    st.floats(max_value=-1e-9),
    st.integers(max_value=-1),
    st.just(float("nan")),
    st.just(float("inf")),
)


@pytest.mark.parametrize(
    "use",
    [LeakAudit, lambda grace: LeakSnapshot(threads=(), processes=(), fds=()).audit(grace)],
    ids=["LeakAudit", "LeakSnapshot.audit"],
)
@given(grace=st.one_of(bad_types, bad_values))
def test_a_bad_grace_is_refused_by_name(use: Callable[[object], object], grace: object) -> None:
    expected = TypeError if isinstance(grace, (bool, str, list)) or grace is None else ValueError
    with pytest.raises(expected, match="grace must be"):
        use(grace)


@given(later=st.one_of(bad_types, st.integers()))
def test_diff_refuses_what_is_not_a_snapshot(later: object) -> None:
    with pytest.raises(TypeError, match="later must be a LeakSnapshot"):
        snapshot().diff(later)  # type: ignore[arg-type]
