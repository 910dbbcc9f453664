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
  different file and gets in. The queue and the gate (below) live in a
  per-user folder of the system's temporary directory, keyed by the lock
  file's path, which no repository cleanup touches; the lock file in the
  shared folder is still taken after them, for processes that share the
  repository but not ``/tmp`` (containers on one checkout). Only deleting both
  while held breaks exclusion.

Whoever holds the lock on this host also holds its **gate**, a file beside the
queue folder. Nobody queued means no queue folder, and then the gate is tried
without waiting: an uncontended lock takes no ticket, and does not create and
remove the queue folder (a ``mkdir`` + ``rmdir`` pair costs ~60 us, half a
bare ``filelock.FileLock``; ``bench_coordination.py`` section 1). A newcomer
that finds the queue folder queues, so it cannot pass a waiter; only the head
of the queue waits for the gate. A newcomer that found no queue folder and then
takes the gate asked before anyone queued.
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
from collections.abc import Callable
from pathlib import Path

# A fixed place, not tempfile.gettempdir(): TMPDIR differs between processes
# (pytest, tox and CI runners set it), and every process must find the same queue.
_QUEUE_ROOT = Path("/tmp")
_TICKET = re.compile(r"\d{20}")
# The name of each lock folder's queue, by the folder as spelled: realpath() costs
# one lstat per path component, and a folder is asked for on every acquisition.
_queue_names: dict[str, str] = {}
_MAX_REMEMBERED = 10_000
# A folder removed again each time it is made is someone's cleanup loop; a lock
# path that stays missing after its folder is made is a dangling symlink.
_MAX_MISSING = 100


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


def _queue_root() -> str:
    """``/tmp/itest-shared-<uid>``, made if missing; checked on every use, as it may be replaced."""
    root = f"{_QUEUE_ROOT}/itest-shared-{os.getuid()}"
    try:
        info = os.lstat(root)
    except FileNotFoundError:
        with contextlib.suppress(FileExistsError):
            os.mkdir(root, 0o700)
        info = os.lstat(root)
    # In a sticky /tmp anyone may create this name first; a queue others control is no lock.
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(
            errno.EPERM, "the worktree_lock queue folder is not a folder of this user", root
        )
    return root


def _queue_name(lock_path: str) -> str:
    """``<hash of the lock folder's real path>-<lock name>``: one per lock, however spelled.

    Remembered per spelling for the life of the process: a symlink on the way
    to the folder that is pointed elsewhere later is not seen. The lock file,
    opened by its spelling, still excludes; only processes that resolved the
    spelling before and after then queue apart.
    """
    queue = _queue_names.get(lock_path)
    if queue is None:
        folder, name = os.path.split(lock_path)
        # The real path, so that every spelling of the same folder meets in one queue.
        digest = hashlib.sha256(os.fsencode(os.path.realpath(folder))).hexdigest()[:16]
        queue = f"{digest}-{name.removesuffix('.lock')}"
        if len(_queue_names) >= _MAX_REMEMBERED:  # a process making endless lock names
            _queue_names.clear()
        _queue_names[lock_path] = queue
    return queue


def _queue_directory(lock_path: Path) -> Path:
    """The queue of ``lock_path``: ``/tmp/itest-shared-<uid>/<path hash>-<name>``."""
    return Path(_queue_root(), _queue_name(str(lock_path)))


def _tickets(queue: Path) -> list[int]:
    return [int(name) for name in os.listdir(queue) if _TICKET.fullmatch(name)]


class Ticket:
    """A place in the queue of one lock: held (``LOCK_EX``) by its process while it waits or holds.

    The process with the lowest ticket holds the lock, or is next and waits for
    the gate. Each waiter sleeps on the ticket just ahead of it, and wakes when
    that process leaves (or dies: the kernel drops a dead process's locks, and
    the next in line removes its file).
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


def _same_file(path: Path | str, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not removed or replaced)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _make_parent(path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)


def lock_file_by(
    path: Path | str,
    deadline: float | None,
    make_folder: Callable[[str], object] = _make_parent,
) -> int | None:
    """Lock ``path`` (created if missing) exclusively; the fd, or ``None`` on timeout.

    The file locked is the one ``path`` names once the lock is ours: if it was
    removed or replaced meanwhile, the new one is locked instead. A missing
    folder is made by ``make_folder(path)``. A ``deadline`` already passed
    (``0.0``) makes one attempt without waiting.
    """
    path = os.fspath(path)
    missing = 0
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except PermissionError:  # another user's lock file: flock needs no write access
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:  # no folder yet, or it was removed in between
            missing += 1
            if missing > _MAX_MISSING:  # still missing once made: a dangling symlink
                raise
            make_folder(path)
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


class Turn:
    """This host's hold on one lock: its gate, and its ticket if it had to queue."""

    __slots__ = ("fd", "gate", "ticket")

    def __init__(self, gate: str, fd: int, ticket: Ticket | None) -> None:
        self.gate = gate
        self.fd = fd
        self.ticket = ticket

    @classmethod
    def take(cls, lock_path: str, deadline: float | None) -> Turn | None:
        """Wait for this host's turn at ``lock_path``; ``None`` if ``deadline`` passes first.

        With nobody queued, one try at the gate, then the queue if it is taken.
        """
        root = _queue_root()
        queue = _queue_name(lock_path)
        gate = f"{root}/{queue}.lock"
        try:
            os.stat(f"{root}/{queue}")
        except FileNotFoundError:  # nobody queued: try the gate at once
            fd = lock_file_by(gate, 0.0, _make_root)
            if fd is not None:
                return cls(gate, fd, None)
        ticket = Ticket.take(Path(lock_path), deadline)
        if ticket is None:
            return None
        try:
            fd = lock_file_by(gate, deadline, _make_root)
        except BaseException:
            ticket.leave()
            raise
        if fd is None:
            ticket.leave()
            return None
        return cls(gate, fd, ticket)

    def leave(self) -> None:
        """Give the turn up: the gate, then the ticket (the next in line then takes the gate).

        The gate is removed while still ours, so that none is left behind; a
        waiter asleep on it wakes to find it gone and makes a new one.
        """
        try:
            try:
                # Only while it is ours: a gate made after ours was deleted is another's.
                if _same_file(self.gate, self.fd):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.gate)
            finally:
                unlock_file(self.fd)
        finally:
            if self.ticket is not None:
                self.ticket.leave()


def _make_root(_gate: str) -> None:
    # The gate's folder is the queue root: made (and checked) by its own rules.
    _queue_root()
