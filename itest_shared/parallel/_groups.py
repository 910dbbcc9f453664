"""A worker's process group: the worker and every process it started, orphans included.

Each worker process makes itself the leader of a new process group as it
starts (``_child``); what it starts joins that group unless it asks for a
session or group of its own. So the group id is the worker's pid, and it stays
reserved while any member lives, even after the worker itself was reaped: the
kernel reuses no pid that is still a group's id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Collection, Iterable
from typing import Any

# SIGKILL cannot be caught, so killed members end at once; this bound only
# matters for a process stuck in uninterruptible sleep (D state).
KILL_WAIT = 2.0
_POLL = 0.01


def signal_worker(process: Any, number: int) -> None:
    """Send signal ``number`` to a running worker and to its process group."""
    killpg = getattr(os, "killpg", None)
    if killpg is not None:
        try:
            killpg(process.pid, number)
            return
        except (ProcessLookupError, PermissionError):
            pass  # not a group leader (yet): it has not reached its entry point
    if number == signal.SIGTERM:
        process.terminate()
    else:
        process.kill()


def _all_pids() -> Iterable[int]:
    try:
        names = os.listdir("/proc")
    except OSError:
        # Deferred: psutil only where there is no /proc to list.
        import psutil  # type: ignore[import-untyped, unused-ignore]

        return psutil.pids()  # type: ignore[no-any-return]
    return (int(name) for name in names if name.isdigit())


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        # Gone, or no /proc: ask psutil. Deferred: only on systems without /proc.
        import psutil  # type: ignore[import-untyped, unused-ignore]

        try:
            return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
        except psutil.Error:
            return True  # gone: as good as a zombie, nothing left to stop
    # "pid (comm) S ...": comm may hold spaces and parentheses, so split after the last ")".
    return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] in (b"Z", b"X")


def live_members(groups: Collection[int]) -> set[int]:
    """The ids of ``groups`` that still have a member that is not a zombie."""
    getpgid = getattr(os, "getpgid", None)
    if not groups or getpgid is None:
        return set()
    me = os.getpid()
    found: set[int] = set()
    for pid in _all_pids():
        if pid == me:
            continue
        try:
            group = getpgid(pid)
        except OSError:
            continue  # ended since the listing
        if group in groups and group not in found and not _is_zombie(pid):
            found.add(group)
    return found


def _wait_until_empty(groups: set[int], deadline: float) -> set[int]:
    while groups and time.monotonic() < deadline:
        time.sleep(_POLL)
        groups = live_members(groups)
    return groups


def stop_groups(groups: Collection[int], grace: float) -> set[int]:
    """Stop what is left of ``groups``: SIGTERM, ``grace`` s, SIGKILL. Returns groups left.

    Members that are zombies count as stopped: an orphan's parent is now init
    (or a subreaper), whose job it is to reap it.
    """
    left = live_members(groups)
    for number, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, KILL_WAIT)):
        if not left:
            break
        for group in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, number)  # unless emptied meanwhile
        left = _wait_until_empty(left, time.monotonic() + wait)
    return left
