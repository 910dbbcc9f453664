"""A busy lock is handed over first come, first served: no waiter starves, none times out.

Measured without the clock deciding anything: each process notes when it asked
and when it got the lock (the host's monotonic clock, shared by its processes),
and the test counts how many acquisitions by others came in between. A queue
lets each waiter be overtaken at most once by every other process; the polled
lock of 1.4 let one waiter be overtaken by nearly every acquisition of the run.
"""

from __future__ import annotations

import bisect
import itertools
import json
import time
from pathlib import Path

from tests.coordination.support import HANG_GUARD, finish, start_worker

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
