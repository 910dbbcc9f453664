"""The process table behind audits: what it reads again, and when; a made-up /proc, and Linux's."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from itest_shared.leaks import LeakAudit, _procs
from tests.helpers import run_together
from tests.leaks.support import SHORT

ME = 10


class FakeProc:
    """A made-up /proc: a ``loadavg`` and a ``<pid>/stat`` per process."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.last = 100
        (root / "self").mkdir(parents=True)  # a name that is no pid, as in /proc
        self.write_loadavg()

    def write_loadavg(self) -> None:
        (self.root / "loadavg").write_text(f"0.00 0.00 0.00 1/99 {self.last}\n")

    def start(self, pid: int, parent: int, start: int, state: str = "S") -> None:
        """A process found in /proc; the pid handed out last moves to it."""
        self.set(pid, parent, start, state)
        self.last = pid
        self.write_loadavg()

    def set(self, pid: int, parent: int, start: int, state: str = "S") -> None:
        (self.root / str(pid)).mkdir(exist_ok=True)
        # Seventeen fields between the parent and the start time (field 22).
        zeros = " ".join(["0"] * 17)
        stat = f"{pid} (a (b) c) {state} {parent} {zeros} {start} 0 0\n"
        (self.root / str(pid) / "stat").write_text(stat)

    def end(self, pid: int, aside: Path | None = None) -> None:
        """The process is reaped; ``aside`` keeps its directory (and inode) alive."""
        directory = self.root / str(pid)
        if aside is None:
            (directory / "stat").unlink()
            directory.rmdir()
        else:
            directory.rename(aside)


@pytest.fixture
def proc(tmp_path: Path) -> FakeProc:
    fake = FakeProc(tmp_path / "proc")
    fake.set(1, 0, 1)
    fake.set(ME, 1, 50)
    fake.set(11, 1, 60)  # not ours
    return fake


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[object]]:
    """What the table reads: each listing of the root and each stat file, in order."""
    seen: dict[str, list[object]] = {"listings": [], "stats": []}

    def spy(name: str, func: Callable[..., object]) -> None:
        def wrapper(root: str, *args: int) -> object:
            seen[name].append(args[0] if args else root)
            return func(root, *args)

        monkeypatch.setattr(_procs, "list_root" if name == "listings" else "read_stat", wrapper)

    spy("listings", _procs.list_root)
    spy("stats", _procs.read_stat)
    return seen


def pids(look: _procs.Look) -> list[int]:
    return [pid for pid, _ in look.descendants]


def test_a_second_look_lists_nothing_while_no_pid_was_handed_out(
    proc: FakeProc, reads: dict[str, list[object]]
) -> None:
    proc.start(20, ME, 70)
    table = _procs.ProcessTable(str(proc.root))
    first = table.look(ME)
    assert first.descendants == ((20, 70),)
    assert first.pids == {1, ME, 11, 20}
    assert len(reads["listings"]) == 1 and sorted(reads["stats"]) == [1, ME, 11, 20, 20]
    reads["listings"].clear()
    reads["stats"].clear()
    second = table.look(ME, since=first.serial)
    # No listing; of the rest, only the descendant is read again (it may have ended).
    assert reads == {"listings": [], "stats": [20]}
    assert second.descendants == first.descendants and second.born == ()


def test_after_a_new_pid_only_that_one_and_the_descendants_are_read(
    proc: FakeProc, reads: dict[str, list[object]]
) -> None:
    proc.start(20, ME, 70)
    table = _procs.ProcessTable(str(proc.root))
    first = table.look(ME)
    reads["stats"].clear()
    proc.start(21, 11, 80)  # someone else's
    proc.start(22, 20, 90)  # a grandchild
    later = table.look(ME, since=first.serial)
    assert len(reads["listings"]) == 2
    assert sorted(reads["stats"]) == [20, 21, 22, 22]
    assert later.descendants == ((20, 70), (22, 90))
    assert sorted(later.born) == [(21, 80), (22, 90)]
    assert later.pids == {1, ME, 11, 20, 21, 22}


def test_a_pid_a_new_process_took_is_read_again(proc: FakeProc, tmp_path: Path) -> None:
    # Process 30 (not ours) ends and a child of ours gets its pid: the entry's
    # inode is new, so the table reads it again and finds it ours.
    proc.start(30, 11, 70)
    proc.start(35, 11, 75)  # the last pid handed out when the table first looks
    table = _procs.ProcessTable(str(proc.root))
    first = table.look(ME)
    assert first.descendants == ()
    before = os.stat(proc.root / "30").st_ino
    proc.end(30, aside=tmp_path / "ended-30")  # kept: its inode is not reused
    proc.start(30, ME, 95)
    assert os.stat(proc.root / "30").st_ino != before
    later = table.look(ME, since=first.serial)
    assert later.descendants == ((30, 95),)
    assert later.born == ((30, 95),)


def test_a_known_process_whose_entry_was_made_anew_is_not_new(
    proc: FakeProc, tmp_path: Path
) -> None:
    # The kernel may drop and make again an idle process's /proc entry: a new
    # inode, the same process (same start). It is not reported as born.
    proc.start(30, 11, 70)
    table = _procs.ProcessTable(str(proc.root))
    first = table.look(ME)
    before = os.stat(proc.root / "30").st_ino
    proc.end(30, aside=tmp_path / "old-entry")
    proc.set(30, 11, 70)
    assert os.stat(proc.root / "30").st_ino != before
    proc.start(31, 11, 71)  # a process was created: the table lists /proc again
    later = table.look(ME, since=first.serial)
    assert later.born == ((31, 71),) and 30 in later.pids


def test_a_process_whose_parent_ended_is_read_again(proc: FakeProc) -> None:
    proc.start(20, ME, 70)
    proc.start(30, 20, 80)
    table = _procs.ProcessTable(str(proc.root))
    assert pids(table.look(ME)) == [20, 30]
    # 20 exits and is reaped; init adopts 30. No pid is handed out, so /proc
    # is not listed: reading 20 again finds it gone, and 30 is read again.
    proc.end(20)
    proc.set(30, 1, 80)
    assert pids(table.look(ME)) == []
    assert 30 in table.look(ME).pids


def test_a_child_of_a_zombie_is_no_descendant(proc: FakeProc) -> None:
    proc.start(20, ME, 70)
    proc.start(30, 20, 80)
    table = _procs.ProcessTable(str(proc.root))
    assert pids(table.look(ME)) == [20, 30]
    proc.set(20, ME, 70, state="Z")  # exited, not waited for: its child went to init
    proc.set(30, 1, 80)
    assert pids(table.look(ME)) == [20]


def test_a_process_given_to_a_subreaper_among_the_descendants_stays_one(proc: FakeProc) -> None:
    proc.start(20, ME, 70)
    proc.start(30, 20, 80)
    proc.start(40, 30, 90)
    table = _procs.ProcessTable(str(proc.root))
    assert pids(table.look(ME)) == [20, 30, 40]
    proc.end(30)
    proc.set(40, 20, 90)  # 20 is a subreaper
    assert pids(table.look(ME)) == [20, 40]


def test_without_a_moving_last_pid_every_look_lists(
    proc: FakeProc, reads: dict[str, list[object]]
) -> None:
    # A stand-in /proc whose last pid never moves: the gate is off.
    assert not _procs.last_pid_moves(str(proc.root))
    table = _procs.ProcessTable(str(proc.root), gate=False)
    table.look(ME)
    proc.set(20, ME, 70)  # the last pid does not move
    assert pids(table.look(ME)) == [20]
    assert len(reads["listings"]) == 2


def test_the_real_proc_is_usable_and_its_last_pid_moves() -> None:
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc here")
    assert _procs.usable("/proc")
    assert _procs.last_pid_moves("/proc")
    assert _procs.shared() is _procs.shared() is not None


# -- on the real /proc ---------------------------------------------------------------------


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=30)


def test_looks_from_many_threads_agree_with_psutil_under_churn(
    contention: None, children: list[subprocess.Popen[bytes]]
) -> None:
    psutil = pytest.importorskip("psutil")
    table = _procs.shared()
    if table is None:
        pytest.skip("no /proc here")
    me = os.getpid()
    sleepers = [subprocess.Popen(["sleep", "60"]) for _ in range(3)]
    children.extend(sleepers)
    done = threading.Event()

    def work(index: int) -> None:
        if index < 2:  # churn: children that start and end
            try:
                for _ in range(30):
                    subprocess.run(["true"], check=True)
            finally:
                done.set()
        else:
            while not done.is_set():
                found = {pid for pid, _ in table.look(me).descendants}
                assert found >= {s.pid for s in sleepers}

    run_together(work, count=16, name="looker")
    expected = {p.pid for p in psutil.Process().children(recursive=True)}
    assert {pid for pid, _ in table.look(me).descendants} == expected


ORPHAN_AT = """
import subprocess, sys
with open("/proc/sys/kernel/ns_last_pid", "w") as last:
    last.write(str(int(sys.argv[1]) - 1))
sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
print(sleeper.pid, flush=True)
"""


def test_an_orphan_on_a_pid_that_was_in_use_before_the_block_is_reported() -> None:
    # A child of ours holds pid P at the start of the block; it ends, and an
    # orphan the block leaves gets P (set through ns_last_pid, where we may):
    # P is among the pids that were there before, and is still reported.
    if not os.access("/proc/sys/kernel/ns_last_pid", os.W_OK):
        pytest.skip("needs to set the next pid (root, Linux)")
    for _ in range(20):
        holder = subprocess.Popen(["sleep", "60"])
        with LeakAudit(grace_period=SHORT) as audit:
            assert audit.before is not None and holder.pid in audit.before.pids
            holder.kill()
            holder.wait()
            time.sleep(0.02)  # a later clock tick: the new process's start time differs
            out = subprocess.run(
                [sys.executable, "-c", ORPHAN_AT, str(holder.pid)],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            )
        orphan = int(out.stdout)
        os.kill(orphan, signal.SIGKILL)  # init adopted it: it is not ours to wait for
        if orphan == holder.pid:
            assert orphan in {p.pid for p in audit.report.processes if p.orphaned}, (
                audit.report.describe()
            )
            return
    pytest.skip("other processes kept taking the pid")
