"""A busy lock is handed over first come, first served: no waiter starves, none times out.

Measured without the clock deciding anything: each process notes when it asked
and when it got the lock (the host's monotonic clock, shared by its processes),
and the test counts how many acquisitions by others came in between. A queue
lets each waiter be overtaken at most once by every other process; the polled
lock of 1.4 let one waiter be overtaken by nearly every acquisition of the run.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.coordination.support import (
    HANG_GUARD,
    finish,
    queued,
    start_worker,
    wait_for,
    wait_for_all,
    wait_until_queued,
)

PROCESSES = 24
TIMES = 5


def test_a_busy_lock_starves_nobody(outside_git: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    workers = [
        start_worker(outside_git, "turns", "busy", str(TIMES), go=go) for _ in range(PROCESSES)
    ]
    deadline = time.monotonic() + HANG_GUARD
    while len(list(tmp_path.glob("go.ready.*"))) < PROCESSES:
        assert time.monotonic() < deadline, "the workers never got ready"
        time.sleep(0.01)
    go.touch()
    spans = [span for worker in workers for span in json.loads(finish(worker))]

    timed_out = [span for span in spans if span[1] is None]
    assert not timed_out, f"{len(timed_out)} of {len(spans)} acquisitions timed out"
    held = sorted((granted, released) for _, granted, released in spans)
    assert all(after[0] >= before[1] for before, after in itertools.pairwise(held))
    grants = [granted for granted, _ in held]
    overtaken = [
        bisect.bisect_left(grants, granted) - bisect.bisect_right(grants, requested)
        for requested, granted, _ in spans
    ]
    # First come, first served once queued: every other process at most once,
    # plus the few that queue while one is still joining the queue.
    assert max(overtaken) < 2 * PROCESSES, sorted(overtaken)[-10:]


WAITERS = 4
NEWCOMERS = 8


@contextlib.contextmanager
def _killed_on_error(workers: list[subprocess.Popen[str]]) -> Iterator[None]:
    # A failed assertion must not leave workers spinning for the rest of the suite.
    try:
        yield
    except BaseException:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
        raise


def test_an_uncontended_try_never_passes_a_queued_waiter(outside_git: Path, tmp_path: Path) -> None:
    """Newcomers trying at once, over and over, get in only after everyone already queued.

    The lock is first taken uncontended (no queue yet, so no ticket); waiters
    queue behind it one by one; then newcomers try with ``timeout=0`` in a loop,
    each try a new arrival that may take the free-lock shortcut, throughout
    every hand-over. Had the shortcut not checked for waiters, one of the
    hundreds of tries made while the lock passes from one waiter to the next
    would have got in first.
    """
    locks = outside_git / ".itest-shared" / "locks"
    stop = tmp_path / "stop"
    workers: list[subprocess.Popen[str]] = []
    with _killed_on_error(workers):
        holder = start_worker(
            outside_git, "hold", "resource", str(tmp_path / "held"), stdin=subprocess.PIPE
        )
        workers.append(holder)
        wait_for(tmp_path / "held")
        waiters = [
            start_worker(outside_git, "turns", "resource", "1", go=tmp_path / f"go{index}")
            for index in range(WAITERS)
        ]
        workers += waiters
        for index, waiter in enumerate(waiters):
            wait_for(tmp_path / f"go{index}.ready.{waiter.pid}")
        ahead = queued(locks, "resource")  # the holder: no ticket when it took the lock free
        for index in range(WAITERS):
            (tmp_path / f"go{index}").touch()
            wait_until_queued(locks, "resource", ahead + index + 1)
        newcomers = [
            start_worker(outside_git, "churn", "resource", str(stop), go=tmp_path / "go-new")
            for _ in range(NEWCOMERS)
        ]
        workers += newcomers
        wait_for_all(tmp_path, "go-new.ready.*", NEWCOMERS)
        (tmp_path / "go-new").touch()
        wait_for_all(tmp_path, "stop.trying.*", NEWCOMERS)
        finish(holder, stdin="")  # the hand-overs begin, every newcomer trying meanwhile
        spans = [json.loads(finish(waiter))[0] for waiter in waiters]
        wait_for_all(tmp_path, "stop.got.*", 1)  # and once the queue is empty, they get in
        stop.touch()
        tries = [json.loads(finish(newcomer)) for newcomer in newcomers]

    granted = [granted for _, granted, _ in spans]
    assert None not in granted and granted == sorted(granted), "the waiters were not served in turn"
    last_release = max(released for _, _, released in spans)
    early = [grant for each in tries for grant in each["grants"] if grant < last_release]
    assert not early, f"{len(early)} newcomers got in before a waiter queued ahead of them"
    assert all(each["first"] < granted[0] for each in tries)  # trying throughout the hand-overs
    assert sum(each["attempts"] for each in tries) > 10 * NEWCOMERS
