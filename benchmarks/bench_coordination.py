"""Cost of worktree_lock and shared_once, as ratios against baselines in the same run.

Run: ``python benchmarks/bench_coordination.py`` (``--quick`` for a short run).

1. An uncontended ``with worktree_lock(name)`` against a bare
   ``with filelock.FileLock(path)`` on a new object (what it was built on up
   to 1.4), both in one temporary folder. Target (issue 11): at most x1.5. The
   difference is the per-thread mutex, this host's gate (the queue is skipped
   when nobody waits), the git lookup cache and the holder file. Measured for
   one lock object used again and again, and for a new ``worktree_lock(name)``
   each time (the name hashed, the shared directory looked up).
2. ``shared_once`` of a value already computed (the lock-free read) against
   reading the same JSON file by hand, and against the locked path (the lock
   taken and the file read under it) to show what the lock-free read saves.
3. Fairness under load (issue 10): ``--processes`` processes (200; ``--quick``:
   40) each take one lock 5 times around a 0.5 ms critical section, all at
   once, with the default timeout. Printed: timeouts, the worst and mean wait,
   the worst wait against the total time the lock was held (a fair lock keeps
   it near 1/5: the last of a full queue waits for everyone once), and the most
   acquisitions that overtook one waiter (first come, first served: fewer than
   the number of processes). Baseline: a bare blocking ``flock`` (the kernel
   wakes an arbitrary waiter; no timeout possible). ``--polling`` adds the
   polled ``filelock.FileLock`` (5 ms) that ``worktree_lock`` used up to 1.4
   (slow: at 200 processes it times out and takes minutes).
"""

from __future__ import annotations

import argparse
import bisect
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import interleaved
from filelock import FileLock

from itest_shared.coordination import shared_once, worktree_lock


def report(title: str, times: dict[str, float], baseline: str) -> None:
    """Print each candidate's time per call and its ratio to ``baseline``."""
    print(title)
    for name, seconds in times.items():
        print(f"  {name:<42} {seconds * 1e6:9.1f} us   x{seconds / times[baseline]:.2f}")


# One process of the fairness load: import first, then wait at the start line so
# that start-up is not counted; print (requested, granted, released) per
# acquisition, granted None for a timeout.
_LOAD_WORKER = r"""
import fcntl, json, os, sys, time
kind, times, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
from filelock import FileLock, Timeout
from itest_shared.coordination import DEFAULT_LOCK_TIMEOUT, WorktreeLockTimeout, worktree_lock
go = os.path.join(directory, "go")
open(f"{go}.ready.{os.getpid()}", "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
path = os.path.join(directory, "bare.lock")
spans = []
for _ in range(times):
    requested = time.monotonic()
    try:
        if kind == "flock":
            fd = os.open(path, os.O_RDWR | os.O_CREAT)
            fcntl.flock(fd, fcntl.LOCK_EX)
        elif kind == "polling":
            lock = FileLock(path, timeout=DEFAULT_LOCK_TIMEOUT, poll_interval=0.005)
            lock.acquire()
        else:
            lock = worktree_lock("load", directory=directory)
            lock.acquire()
    except (Timeout, WorktreeLockTimeout):
        spans.append((requested, None, time.monotonic()))
        continue
    granted = time.monotonic()
    time.sleep(0.0005)
    released = time.monotonic()
    if kind == "flock":
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    else:
        lock.release()
    spans.append((requested, granted, released))
print(json.dumps(spans))
"""


def run_load(kind: str, processes: int, times: int) -> dict[str, float]:
    """Run the fairness load with one kind of lock; return its figures."""
    with tempfile.TemporaryDirectory() as raw:
        go = Path(raw) / "go"
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", _LOAD_WORKER, kind, str(times), raw],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        while len(list(Path(raw).glob("go.ready.*"))) < processes:
            time.sleep(0.05)
        start = time.monotonic()
        go.touch()
        spans = [span for worker in workers for span in json.loads(worker.communicate()[0])]
        elapsed = time.monotonic() - start
    done = [span for span in spans if span[1] is not None]
    # A process waits for one acquisition at a time, so every grant between a
    # request and its own grant went to another process: it overtook.
    grant_times = sorted(span[1] for span in done)
    waits = [span[1] - span[0] for span in done]
    hold = sum(span[2] - span[1] for span in done)
    overtaken = [
        bisect.bisect_left(grant_times, span[1]) - bisect.bisect_right(grant_times, span[0])
        for span in done
    ]
    return {
        "timeouts": len(spans) - len(done),
        "worst wait": max(waits, default=0.0),
        "mean wait": sum(waits) / max(1, len(waits)),
        "total hold": hold,
        "worst overtaken": max(overtaken, default=0),
        "elapsed": elapsed,
    }


def report_load(processes: int, times: int, polling: bool) -> None:
    """Section 3: run the load with each kind of lock and print the figures."""
    print(
        f"3. fairness: {processes} processes x {times} acquisitions, 0.5 ms held, default timeout"
    )
    kinds = {"flock, blocking (baseline)": "flock", "worktree_lock": "ours"}
    if polling:
        kinds["FileLock, polled every 5 ms"] = "polling"
    for title, kind in kinds.items():
        figures = run_load(kind, processes, times)
        print(
            f"  {title:<28} timeouts {figures['timeouts']:4}   "
            f"worst wait {figures['worst wait']:7.2f} s "
            f"(x{figures['worst wait'] / figures['total hold']:.1f} the total hold of "
            f"{figures['total hold']:.2f} s)   mean wait {figures['mean wait']:6.2f} s   "
            f"worst overtaken {figures['worst overtaken']:4} times   "
            f"elapsed {figures['elapsed']:.1f} s"
        )


def main() -> None:
    """Run the measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds, rougher figures")
    parser.add_argument("--processes", type=int, help="processes of the fairness load")
    parser.add_argument(
        "--polling", action="store_true", help="also run the load with a polled FileLock"
    )
    arguments = parser.parse_args()
    quick = arguments.quick
    number, repeat = (100, 3) if quick else (1_000, 5)
    with tempfile.TemporaryDirectory() as raw:
        directory = Path(raw)
        (directory / "bare").mkdir()
        bare_path = directory / "bare" / "x.lock"
        lock = worktree_lock("bench", directory=directory)

        def bare_filelock() -> None:
            with FileLock(bare_path):
                pass

        def our_lock() -> None:
            with lock:
                pass

        def our_new_lock() -> None:
            with worktree_lock("bench-new", directory=directory):
                pass

        report(
            "1. uncontended acquire + release (target: x1.5 at most)",
            interleaved(
                {
                    "FileLock (baseline)": bare_filelock,
                    "worktree_lock, one object": our_lock,
                    "worktree_lock, a new object each time": our_new_lock,
                },
                number,
                repeat,
            ),
            "FileLock (baseline)",
        )

        value = {"ports": list(range(100)), "name": "grammar-cache"}
        shared_once("value", lambda: value, directory=directory)
        (path,) = (directory / "once").glob("value-*.json")

        def read_by_hand() -> object:
            return json.loads(path.read_text(encoding="utf-8"))["value"]

        def cached() -> object:
            return shared_once("value", dict, directory=directory)

        def locked_read() -> object:
            with worktree_lock("shared-once-value", directory=directory):
                return json.loads(path.read_text(encoding="utf-8"))["value"]

        report(
            "2. shared_once of a computed value",
            interleaved(
                {
                    "read + json.loads by hand (baseline)": read_by_hand,
                    "shared_once (lock-free read)": cached,
                    "lock + read (what the fast path avoids)": locked_read,
                },
                number,
                repeat,
            ),
            "read + json.loads by hand (baseline)",
        )
    report_load(arguments.processes or (40 if quick else 200), 5, arguments.polling)


if __name__ == "__main__":
    main()
