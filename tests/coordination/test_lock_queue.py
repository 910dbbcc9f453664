"""The host queue of a lock: waiters that give up or die leave it; the gate of a free lock."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from itest_shared.coordination import _queue, worktree_lock
from itest_shared.coordination._queue import Ticket, _queue_directory
from tests.coordination.support import (
    HANG_GUARD,
    finish,
    queued,
    start_worker,
    wait_for,
    wait_until_queued,
)


def test_waiters_that_time_out_or_die_leave_the_queue(outside_git: Path, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    holder = start_worker(outside_git, "hold", "resource", str(ready), stdin=subprocess.PIPE)
    try:
        wait_for(ready)
        # Started (imports done) first, then queued one by one: their order is known.
        waiters = [
            start_worker(outside_git, "try", "resource", timeout, go=tmp_path / f"go{index}")
            for index, timeout in enumerate(["3", "60", "60"])
        ]
        for index, waiter in enumerate(waiters):
            wait_for(tmp_path / f"go{index}.ready.{waiter.pid}")
        locks = outside_git / ".itest-shared" / "locks"
        ahead = queued(locks, "resource")  # the holder: no ticket when it took the lock free
        for index in range(3):
            (tmp_path / f"go{index}").touch()
            wait_until_queued(locks, "resource", ahead + index + 1)
        gives_up, dies, last = waiters
        assert finish(gives_up).strip() == "timed out"
        dies.send_signal(signal.SIGKILL)
        dies.communicate(timeout=HANG_GUARD)
        # Both ahead of it are gone; the holder still holds, so it waits on.
        time.sleep(0.3)
        assert last.poll() is None, "got in while the lock was held"
    finally:
        finish(holder, stdin="")
    assert finish(last).strip() == "acquired"
    queue = _queue_directory(
        next((outside_git / ".itest-shared" / "locks").glob("resource-*.lock"))
    )
    assert not queue.exists(), "the empty queue was left behind"
    assert not queue.with_name(f"{queue.name}.lock").exists(), "the gate was left behind"


def _gate(queue: Path) -> Path:
    return queue.with_name(f"{queue.name}.lock")


def test_an_uncontended_lock_takes_no_ticket_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_ticket(*args: object) -> None:
        raise AssertionError("took a ticket with nobody queued")

    monkeypatch.setattr(Ticket, "take", no_ticket)
    with worktree_lock("free", directory=tmp_path):
        (lock_file,) = (tmp_path / "locks").glob("free-*.lock")
        queue = _queue_directory(lock_file)
        assert _gate(queue).exists() and not queue.exists()
    assert not _gate(queue).exists() and not queue.exists()


def test_anyone_queued_sends_a_newcomer_to_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lock is free, but a queue folder says someone may be waiting for it.
    with worktree_lock("queued", directory=tmp_path):
        (lock_file,) = (tmp_path / "locks").glob("queued-*.lock")
    queue = _queue_directory(lock_file)
    queue.mkdir(0o700)
    taken: list[Ticket | None] = []
    take = Ticket.take

    def spy(lock_path: Path, deadline: float | None) -> Ticket | None:
        taken.append(take(lock_path, deadline))
        return taken[-1]

    monkeypatch.setattr(Ticket, "take", spy)
    with worktree_lock("queued", directory=tmp_path):
        assert len(taken) == 1 and taken[0] is not None
    assert not queue.exists() and not _gate(queue).exists()


def test_deleting_the_gate_while_held_lets_nobody_in(outside_git: Path, tmp_path: Path) -> None:
    # A cleanup of /tmp: the lock file in the shared folder still keeps the others out.
    ready = tmp_path / "ready"
    holder = start_worker(outside_git, "hold", "resource", str(ready), stdin=subprocess.PIPE)
    try:
        wait_for(ready)
        (lock_file,) = (outside_git / ".itest-shared" / "locks").glob("resource-*.lock")
        gate = _gate(_queue_directory(lock_file))
        gate.unlink()
        assert finish(start_worker(outside_git, "try", "resource", "0.5")).strip() == "timed out"
    finally:
        finish(holder, stdin="")
    assert finish(start_worker(outside_git, "try", "resource", "60")).strip() == "acquired"
    assert not gate.exists()


def test_the_queue_folder_is_made_private_and_must_stay_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_queue, "_QUEUE_ROOT", tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    root = tmp_path / "tmp" / f"itest-shared-{os.getuid()}"
    shared = tmp_path / "shared"
    with worktree_lock("x", directory=shared):
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
    shutil.rmtree(root)  # a cleanup of /tmp between two locks: made again
    with worktree_lock("x", directory=shared):
        assert root.is_dir()
    shutil.rmtree(root)
    (tmp_path / "elsewhere").mkdir()
    root.symlink_to(tmp_path / "elsewhere")  # what another user could put there first
    with pytest.raises(PermissionError, match="not a folder of this user"):
        worktree_lock("x", directory=shared).acquire()


def test_every_spelling_of_a_folder_meets_in_one_queue(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    spellings = [tmp_path / "real", tmp_path / "link", tmp_path / "real" / ".." / "link"]
    queues = {_queue_directory(folder / "locks" / "x.lock") for folder in spellings}
    assert len(queues) == 1
