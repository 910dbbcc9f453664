"""The host queue of a lock: waiters that give up or die leave it, and those behind go on."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from itest_shared.coordination._queue import _queue_directory, _tickets
from tests.coordination.support import HANG_GUARD, finish, start_worker, wait_for


def _queued(outside_git: Path) -> int:
    (lock_file,) = (outside_git / ".itest-shared" / "locks").glob("resource-*.lock")
    return len(_tickets(_queue_directory(lock_file)))


def _wait_until_queued(outside_git: Path, count: int) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while _queued(outside_git) < count:
        assert time.monotonic() < deadline, f"never {count} in the queue"
        time.sleep(0.01)


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
        for index in range(3):
            (tmp_path / f"go{index}").touch()
            _wait_until_queued(outside_git, 2 + index)
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
    assert not _queue_directory(
        next((outside_git / ".itest-shared" / "locks").glob("resource-*.lock"))
    ).exists(), "the empty queue was left behind"
