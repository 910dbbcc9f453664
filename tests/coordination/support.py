"""Helpers of the coordination tests: git, and worker processes that run in a worktree."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from itest_shared.coordination._queue import _queue_directory, _tickets

HANG_GUARD = 60.0  # seconds; only ever hit when something hangs

# One script for every child process: it runs in a worktree (its cwd) and uses
# the default shared directory, exactly as a test in that worktree would.
WORKER = r"""
import json, os, sys, time
from itest_shared.coordination import shared_once, worktree_lock

mode, args = sys.argv[1], sys.argv[2:]
go = os.environ.get("GO_FILE")
if go:  # start line: say we are ready, then wait for the test's signal
    open(f"{go}.ready.{os.getpid()}", "w").close()
    while not os.path.exists(go):
        time.sleep(0.002)
if mode == "count":
    counter, times, with_lock = args[0], int(args[1]), args[2] == "1"
    for _ in range(times):
        lock = worktree_lock("counter", timeout=60)
        if with_lock:
            lock.acquire()
        value = int(open(counter).read() or 0)  # unguarded, a read can see a half write
        time.sleep(0.0005)  # widen the race window: without the lock updates get lost
        with open(counter, "w") as stream:
            stream.write(str(value + 1))
        if with_lock:
            lock.release()
elif mode == "try":  # print whether the lock was free within the timeout
    from itest_shared.coordination import WorktreeLockTimeout
    try:
        with worktree_lock(args[0], timeout=float(args[1])):
            print("acquired")
    except WorktreeLockTimeout:
        print("timed out")
elif mode == "turns":  # take the lock (default timeout) n times; print each wait
    from itest_shared.coordination import WorktreeLockTimeout
    spans = []
    for _ in range(int(args[1])):
        requested = time.monotonic()  # one clock for every process of the host
        try:
            lock = worktree_lock(args[0])
            lock.acquire()
        except WorktreeLockTimeout:
            spans.append([requested, None, None])
            continue
        granted = time.monotonic()
        time.sleep(0.0005)
        spans.append([requested, granted, time.monotonic()])
        lock.release()
    print(json.dumps(spans))
elif mode == "churn":  # try at once, again and again, until told to stop; print the grants
    from itest_shared.coordination import WorktreeLockTimeout
    name, stop = args
    first, attempts, grants = time.monotonic(), 0, []
    while not os.path.exists(stop):
        attempts += 1
        try:
            lock = worktree_lock(name, timeout=0)
            lock.acquire()
        except WorktreeLockTimeout:
            pass
        else:
            grants.append(time.monotonic())
            lock.release()
            if len(grants) == 1:
                open(f"{stop}.got.{os.getpid()}", "w").close()
        if attempts == 1:
            open(f"{stop}.trying.{os.getpid()}", "w").close()
    print(json.dumps({"first": first, "attempts": attempts, "grants": grants}))
elif mode == "hold":
    with worktree_lock(args[0], timeout=60):
        open(args[1], "w").close()
        sys.stdin.read()  # hold until the test closes our stdin
elif mode == "once":
    name, calls, pause = args[0], args[1], float(args[2])

    def factory():
        with open(calls, "a") as stream:
            stream.write(f"{os.getpid()}\n")
        if len(args) > 3:
            open(args[3], "w").close()  # tell the test the factory is running
        time.sleep(pause)
        return {"pid": os.getpid(), "cwd": os.getcwd(), "pair": (1, 2)}

    print(json.dumps(shared_once(name, factory, timeout=60)))
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout.strip()


def start_worker(
    cwd: Path, *args: str, stdin: int | None = None, go: Path | None = None
) -> subprocess.Popen[str]:
    """Run WORKER in ``cwd``; with ``go``, it waits at the start line until ``go`` exists."""
    env = {**os.environ, "GO_FILE": str(go)} if go else None
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
        cwd=cwd,
        stdin=stdin,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], stdin: str | None = None) -> str:
    """Wait for a worker (closing its stdin if ``stdin`` is given); return its output."""
    out, err = process.communicate(stdin, timeout=HANG_GUARD)
    assert process.returncode == 0, err
    return out


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def wait_for_all(folder: Path, pattern: str, count: int) -> None:
    """Wait until ``count`` files in ``folder`` match ``pattern`` (workers at a start line)."""
    deadline = time.monotonic() + HANG_GUARD
    while len(list(folder.glob(pattern))) < count:
        assert time.monotonic() < deadline, f"never {count} files {pattern} in {folder}"
        time.sleep(0.01)


def queued(lock_folder: Path, name: str) -> int:
    """How many processes hold a ticket in the host queue of the lock ``name``."""
    (lock_file,) = lock_folder.glob(f"{name}-*.lock")
    queue = _queue_directory(lock_file)
    # An uncontended holder takes no ticket: no queue until the first waiter comes.
    return len(_tickets(queue)) if queue.exists() else 0


def wait_until_queued(lock_folder: Path, name: str, count: int) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while queued(lock_folder, name) < count:
        assert time.monotonic() < deadline, f"never {count} in the queue"
        time.sleep(0.01)
