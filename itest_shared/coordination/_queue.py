"""File locks that wait without polling, and a first-come-first-served queue of one host.

Two problems of a plain polled lock file, both measured (issue 10):

- **Starvation.** Waiters that poll burn the CPU the holder needs, and the
  process that just released wins the next round: 200 processes x 5
  acquisitions had 444 of 1,000 time out at 30 s. Here a waiter sleeps in the
  kernel (``flock`` without ``LOCK_NB``) and waits for exactly one other
  process: the one ahead of it in a queue of ticket files. ``benchmarks/
  bench_coordination.py`` (section 3) measures it.
- **Deletion.** A lock file removed while held (``git clean -fdx``,
  ``rm -rf .itest-shared``) is re-created by the next caller, who then locks a
  different file and gets in. The queue lives in a per-user folder of the
  system's temporary directory, keyed by the lock file's path, which no
  repository cleanup touches; the lock file in the shared folder is still
  taken after it, for processes that share the repository but not ``/tmp``
  (containers on one checkout). Only deleting both while held breaks
  exclusion.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import stat
import threading
import time
from pathlib import Path

# A fixed place, not tempfile.gettempdir(): TMPDIR differs between processes
# (pytest, tox and CI runners set it), and every process must find the same queue.
_QUEUE_ROOT = Path("/tmp")
_TICKET = re.compile(r"\d{20}")


def lock_by(fd: int, operation: int, deadline: float | None) -> bool:
    """Take ``flock(fd, operation)``, sleeping until ``deadline`` (``time.monotonic()``).

    ``None`` waits forever. Return ``False`` on timeout; ``fd`` then belongs to
    a helper thread still asleep in ``flock`` (no syscall can be given a
    timeout), which closes it when it wakes: the caller must not touch it again.
    If this raises (``KeyboardInterrupt``, ``ENOLCK``), ``fd`` is closed.
    """
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        if deadline is not None and deadline <= time.monotonic():
            os.close(fd)
            return False
    if deadline is None:
        try:
            fcntl.flock(fd, operation)
        except BaseException:  # KeyboardInterrupt while asleep, or ENOLCK
            os.close(fd)
            raise
        return True
    outcome: list[BaseException | None] = []
    decided = threading.Lock()
    woke = threading.Event()
    abandoned = False

    def wait() -> None:
        try:
            fcntl.flock(fd, operation)
            error = None
        except OSError as failure:
            error = failure
        with decided:
            outcome.append(error)
            woke.set()
            if abandoned:  # the caller gave up: hand the lock straight on
                with contextlib.suppress(OSError):
                    fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    threading.Thread(target=wait, name="itest-shared lock waiter", daemon=True).start()
    try:
        woke.wait(min(max(0.0, deadline - time.monotonic()), threading.TIMEOUT_MAX))
    except BaseException:  # KeyboardInterrupt: give the lock up, whether it came or not
        with decided:
            abandoned = not outcome
            if outcome == [None]:
                unlock_file(fd)
            elif outcome:
                os.close(fd)
        raise
    with decided:
        if not outcome:
            abandoned = True
            return False
    (error,) = outcome
    if error is not None:
        os.close(fd)
        raise error
    return True


def _queue_directory(lock_path: Path) -> Path:
    """The queue of ``lock_path``: ``/tmp/itest-shared-<uid>/<path hash>-<name>``."""
    root = _QUEUE_ROOT / f"itest-shared-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        os.mkdir(root, 0o700)
    info = os.lstat(root)
    # In a sticky /tmp anyone may create this name first; a queue others control is no lock.
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(
            errno.EPERM, "the worktree_lock queue folder is not a folder of this user", str(root)
        )
    # The real path, so that every spelling of the same folder meets in one queue.
    digest = hashlib.sha256(os.fsencode(os.path.realpath(lock_path.parent))).hexdigest()[:16]
    return root / f"{digest}-{lock_path.stem}"


def _tickets(queue: Path) -> list[int]:
    return [int(name) for name in os.listdir(queue) if _TICKET.fullmatch(name)]


class Ticket:
    """A place in the queue of one lock: held (``LOCK_EX``) by its process while it waits or holds.

    The process with the lowest ticket holds the lock. Each waiter sleeps on the
    ticket just ahead of it, and wakes when that process leaves (or dies: the
    kernel drops a dead process's locks, and the next in line removes its file).
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def take(cls, lock_path: Path, deadline: float | None) -> Ticket | None:
        """Queue for ``lock_path`` and wait for our turn; ``None`` if ``deadline`` passes first."""
        queue = _queue_directory(lock_path)
        ticket = cls._join(queue, deadline)
        if ticket is None:
            return None
        try:
            if ticket._wait_turn(deadline):
                return ticket
        except BaseException:
            ticket.leave()
            raise
        ticket.leave()
        return None

    @classmethod
    def _join(cls, queue: Path, deadline: float | None) -> Ticket | None:
        # Tickets are numbered under a lock on the queue folder, so a new one is
        # always after every ticket present: nobody joins ahead of a waiter.
        while True:
            with contextlib.suppress(FileExistsError):
                os.mkdir(queue, 0o700)
            try:
                folder = os.open(queue, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except FileNotFoundError:  # removed by a leaving process in between
                continue
            if not lock_by(folder, fcntl.LOCK_EX, deadline):
                return None
            try:
                if not _same_file(queue, folder):
                    continue
                number = max(_tickets(queue), default=0) + 1
                path = queue / f"{number:020d}"
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # new: nobody else has it open
                return cls(path, fd)
            finally:
                os.close(folder)  # closing drops the folder lock

    def _wait_turn(self, deadline: float | None) -> bool:
        queue, mine = self.path.parent, int(self.path.name)
        while True:
            ahead = [number for number in _tickets(queue) if number < mine]
            if not ahead:
                return True
            before = queue / f"{max(ahead):020d}"
            try:
                fd = os.open(before, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:  # it left between listing and opening
                continue
            if not lock_by(fd, fcntl.LOCK_SH, deadline):
                return False
            try:
                # Its owner removes the file before unlocking; still there means it died.
                if _same_file(before, fd):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(before)
            finally:
                os.close(fd)

    def leave(self) -> None:
        """Give up our place (or the lock): the next in line wakes."""
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)  # first: a ticket found unlocked is a dead process's
        finally:
            unlock_file(self.fd)  # explicitly: a forked child may share the fd
        self._remove_empty_queue()

    def _remove_empty_queue(self) -> None:
        # Under the folder lock, so that nobody is numbering a ticket in it meanwhile.
        queue = self.path.parent
        try:
            folder = os.open(queue, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return
        try:
            fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same_file(queue, folder):
                os.rmdir(queue)
        except OSError:  # busy, not empty, or gone: someone else's queue now
            pass
        finally:
            os.close(folder)


def _same_file(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not removed or replaced)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def lock_file_by(path: Path, deadline: float | None) -> int | None:
    """Lock ``path`` (created if missing) exclusively; the fd, or ``None`` on timeout.

    The file locked is the one ``path`` names once the lock is ours: if it was
    removed or replaced meanwhile, the new one is locked instead.
    """
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except PermissionError:  # another user's lock file: flock needs no write access
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:  # the folder was removed in between
            continue
        if not lock_by(fd, fcntl.LOCK_EX, deadline):
            return None
        if _same_file(path, fd):
            return fd
        os.close(fd)


def unlock_file(fd: int) -> None:
    """Release a lock from :func:`lock_file_by` (also for forked children sharing ``fd``)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
