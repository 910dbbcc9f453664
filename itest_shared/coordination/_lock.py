"""A named lock exclusive across threads, processes and every worktree of a repository."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeGuard, TypeVar

import attrs

from .. import _checks
from .._inert import printable
from ._files import read_json_object, write_holder
from ._git import current_worktree, shared_directory
from ._queue import Turn, lock_file_by, unlock_file

P = ParamSpec("P")
R = TypeVar("R")

#: Timeout of :func:`worktree_lock` when none is given, in seconds.
DEFAULT_LOCK_TIMEOUT = 30.0
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# Long enough to read the name in a directory listing, short enough that the
# file name stays far below every file system's 255-byte limit.
_MAX_READABLE = 80
# A holder field is shown in an error message: enough for any real path.
_MAX_SHOWN = 300
# Our holder files are a few hundred bytes; a bigger one is not ours.
_MAX_HOLDER_BYTES = 64 * 1024


class WorktreeLockTimeout(TimeoutError):
    """A :func:`worktree_lock` was not acquired in time; the message names who holds it."""

    def __init__(
        self,
        name: str,
        timeout: float,
        holder: Mapping[str, Any] | None,
        lock_path: str,
        now: float | None = None,
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.holder = dict(holder) if holder is not None else None
        self.lock_path = lock_path
        # Remember when it happened so that "seconds ago" survives pickling unchanged.
        self.now = time.time() if now is None else now
        super().__init__(
            f"worktree_lock {name!r} not acquired within {timeout:g} s: "
            f"{_describe_holder(self.holder, self.now)} (lock file {lock_path})"
        )

    def __reduce__(
        self,
    ) -> tuple[type[WorktreeLockTimeout], tuple[str, float, dict[str, Any] | None, str, float]]:
        return type(self), (self.name, self.timeout, self.holder, self.lock_path, self.now)


def _describe_holder(holder: Mapping[str, Any] | None, now: float) -> str:
    # The holder file is written by whoever holds the lock, or by anyone with
    # write access to the folder: every field may be any JSON value.
    if holder is None:
        return "holder unknown (no readable holder file)"
    when = _describe_since(holder.get("since"), now)
    branch = holder.get("branch")
    pid = holder.get("pid")
    if holder.get("hostname") == socket.gethostname() and _is_pid(pid) and not _alive(pid):
        # The OS freed the dead process's lock; a new holder has not yet written its file.
        when += ", but that process is no longer running (stale holder file)"
    return (
        f"held by pid {_shown(pid)} (thread {_shown(holder.get('thread'))}) "
        f"on host {_shown(holder.get('hostname'))} in worktree {_shown(holder.get('worktree'))}"
        + (f" (branch {_shown(branch)})" if branch else "")
        + f" {when}"
    )


def _describe_since(since: object, now: float) -> str:
    if isinstance(since, int | float) and not isinstance(since, bool):
        try:
            readable = datetime.fromtimestamp(since).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
            return f"since {readable} ({max(0.0, now - since):.1f} s ago)"
        except (ValueError, OverflowError, OSError):  # NaN, or no date this platform can show
            pass
    return "at an unknown time"


def _is_pid(value: object) -> TypeGuard[int]:
    # os.kill(0 or -1, ...) means a process group or every process; pid_t is 32 bits.
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def _shown(value: object) -> str:
    """``value`` as text that cannot drive a terminal: control and bidi characters escaped."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "..."
    return printable(text)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to another user
        return True
    return True


def safe_name(name: str) -> str:
    """Map a lock or value name to a readable file name that no other name maps to."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    if not name.strip():
        raise ValueError(f"name must be a non-empty, non-blank str, got {name!r}")
    readable = _UNSAFE.sub("_", name)[:_MAX_READABLE]
    if readable.startswith("."):  # no hidden files, and never "." or ".."
        readable = "_" + readable[1:]
    # "a/b" and "a_b" read the same once mapped; the hash of the real name keeps them apart.
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{readable}-{digest}"


def check_timeout(timeout: object, argument: str = "timeout") -> float | None:
    """Validate a timeout in seconds: a number >= 0, or ``None``/``inf`` to wait forever."""
    if timeout is None:
        return None
    value = _checks.seconds(timeout, argument, infinite=True)
    return None if math.isinf(value) else value


def check_directory(directory: object) -> Path | None:
    """Validate an optional directory argument and make it absolute."""
    directory = _checks.optional_path(directory, "directory")
    return None if directory is None else directory.absolute()


def read_holder(holder_path: Path) -> dict[str, Any] | None:
    """Return the holder record next to a lock, or ``None`` if missing or unreadable."""
    return read_json_object(holder_path, _MAX_HOLDER_BYTES)


@attrs.define
class _PathState:
    """What this process knows about one lock file: which thread holds it, how deep."""

    # Threads of one process queue here rather than on the files: one thread per
    # process waits in the host queue, whose tickets are per process.
    mutex: threading.Lock = attrs.field(factory=threading.Lock)
    owner: int | None = None
    depth: int = 0
    # While held: this host's turn (gate and ticket) and the locked lock file's fd.
    held: tuple[Turn, int] | None = None


_registry_lock = threading.Lock()
_states: dict[str, _PathState] = {}


def _reset_after_fork() -> None:
    # A forked child inherits mutexes that parent threads held at fork time and
    # would wait on them forever; it holds none of the parent's locks.
    global _registry_lock, _states
    _registry_lock = threading.Lock()
    _states = {}


os.register_at_fork(after_in_child=_reset_after_fork)


def _state_for(lock_path: str) -> _PathState:
    with _registry_lock:
        state = _states.get(lock_path)
        if state is None:
            state = _states[lock_path] = _PathState()
        return state


class WorktreeLock:
    """A named lock shared by every thread, process and worktree of a repository.

    Use it as a context manager or decorator. It is re-entrant within one thread;
    other threads, processes and worktrees wait up to ``timeout`` seconds and then
    raise :class:`WorktreeLockTimeout` naming the holder. The processes of one
    host are served first come, first served, and stay excluded even if the
    lock file or its folder is deleted while held (see ``_queue``).

    .. versionchanged:: 1.5 a fair queue under ``/tmp/itest-shared-<uid>/``;
       exclusive even when the lock file is deleted while held.
    """

    def __init__(
        self,
        name: str,
        timeout: float | None = DEFAULT_LOCK_TIMEOUT,
        *,
        directory: str | os.PathLike[str] | None = None,
    ) -> None:
        """Check the arguments; nothing is acquired or created until the lock is entered."""
        self.name = name
        self._safe = safe_name(name)
        self.timeout = check_timeout(timeout)
        self._directory = check_directory(directory)
        # The lock and holder files, as str made on first use: building them with
        # pathlib on every acquisition cost ~10 us (bench_coordination section 1).
        self._paths: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"WorktreeLock({self.name!r}, timeout={self.timeout!r})"

    @property
    def directory(self) -> Path:
        """The folder holding the lock and holder files (``<shared dir>/locks``)."""
        # Resolved once per object: a chdir between acquire and release must not
        # make the release look for a different lock.
        if self._directory is None:
            self._directory = shared_directory()
        return self._directory / "locks"

    def _files(self) -> tuple[str, str]:
        if self._paths is None:
            folder = f"{self.directory}/{self._safe}"
            self._paths = (f"{folder}.lock", f"{folder}.holder.json")
        return self._paths

    @property
    def is_held(self) -> bool:
        """Whether the calling thread holds this lock now."""
        return _state_for(self._files()[0]).owner == threading.get_ident()

    def acquire(self) -> None:
        """Wait for the lock (re-entrant in the holding thread); raise WorktreeLockTimeout."""
        lock_path = self._files()[0]
        state = _state_for(lock_path)
        me = threading.get_ident()
        if state.owner == me:
            state.depth += 1
            return
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        wait = -1.0 if self.timeout is None else min(self.timeout, threading.TIMEOUT_MAX)
        if not state.mutex.acquire(timeout=wait):
            raise self._timed_out()
        try:
            held = self._take(lock_path, deadline)
        except BaseException:
            state.mutex.release()
            raise
        state.owner, state.depth, state.held = me, 1, held

    def _take(self, lock_path: str, deadline: float | None) -> tuple[Turn, int]:
        # First our turn on this host (fair, and out of reach of a cleanup of
        # the shared folder), then the lock file itself (for processes on other
        # hosts or in containers that share the folder but not /tmp).
        turn = Turn.take(lock_path, deadline)
        if turn is None:
            raise self._timed_out()
        try:
            fd = lock_file_by(lock_path, deadline)
            if fd is None:
                raise self._timed_out()
            try:
                self._write_holder()
            except BaseException:
                unlock_file(fd)
                raise
        except BaseException:
            turn.leave()
            raise
        return turn, fd

    def release(self) -> None:
        """Release one level of the calling thread's hold; the last level frees the lock."""
        lock_path, holder_path = self._files()
        state = _state_for(lock_path)
        if state.owner != threading.get_ident():
            raise RuntimeError(f"worktree_lock {self.name!r} is not held by this thread")
        state.depth -= 1
        if state.depth:
            return
        held, state.held, state.owner = state.held, None, None
        try:
            # Remove the holder file while still holding, so it never describes the next holder.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(holder_path)
        finally:
            try:
                if held is not None:
                    turn, fd = held
                    try:
                        unlock_file(fd)
                    finally:
                        turn.leave()
            finally:
                state.mutex.release()

    def __enter__(self) -> WorktreeLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``function`` so that every call runs under this lock."""

        @functools.wraps(function)
        def locked(*args: P.args, **kwargs: P.kwargs) -> R:
            with self:
                return function(*args, **kwargs)

        return locked

    def _write_holder(self) -> None:
        since = time.time()
        worktree = current_worktree()
        write_holder(
            self._files()[1],
            json.dumps(
                {
                    "name": self.name,
                    "pid": os.getpid(),
                    "thread": threading.current_thread().name,
                    "worktree": str(worktree.path),
                    "branch": worktree.branch,
                    "hostname": socket.gethostname(),
                    "since": since,
                    "since_iso": datetime.fromtimestamp(since, UTC).isoformat(),
                }
            ),
        )

    def _timed_out(self) -> WorktreeLockTimeout:
        lock_path, holder_path = self._files()
        holder = read_holder(Path(holder_path))
        assert self.timeout is not None  # only a finite wait can time out
        return WorktreeLockTimeout(self.name, self.timeout, holder, lock_path)


def worktree_lock(
    name: str,
    timeout: float | None = DEFAULT_LOCK_TIMEOUT,
    *,
    directory: str | os.PathLike[str] | None = None,
) -> WorktreeLock:
    """Return the lock ``name``, exclusive across threads, processes and worktrees.

    ``with worktree_lock("port-range", timeout=10): ...`` waits up to ``timeout``
    seconds (``None`` waits forever) and raises :class:`WorktreeLockTimeout`
    naming the holder (pid, worktree, since when). ``directory`` defaults to
    :func:`shared_directory`.
    """
    return WorktreeLock(name, timeout, directory=directory)


class HeldLock:
    """A worktree lock the ``worktree_lock`` fixture acquired; ``with`` or ``release()`` frees it.

    .. versionadded:: 1.2
    .. versionchanged:: 1.4 lives in ``itest_shared.coordination`` (still importable
       from ``itest_shared.fixtures``)
    """

    def __init__(self, lock: WorktreeLock) -> None:
        self.lock = lock
        self.released = False

    def release(self) -> None:
        """Give the lock back now rather than at teardown; idempotent."""
        if not self.released:
            self.released = True
            self.lock.release()

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<HeldLock {self.lock.name!r}{' released' if self.released else ''}>"
