"""Coordination between the worktrees of a repository: shared directory, named locks, once-values.

Everything here works without pytest: a test, a worker process, an xdist worker
or a script in another worktree of the same repository all meet in
:func:`shared_directory` (inside git's common directory), so no configuration is
needed.

.. versionadded:: 1.2
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from ._files import read_json_object, write_json_atomic
from ._git import WorktreeInfo, clear_git_cache, current_worktree, shared_directory, tree_state
from ._lock import (
    DEFAULT_LOCK_TIMEOUT,
    HeldLock,
    WorktreeLock,
    WorktreeLockTimeout,
    check_directory,
    safe_name,
    worktree_lock,
)

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_ONCE_TIMEOUT",
    "HeldLock",
    "WorktreeInfo",
    "WorktreeLock",
    "WorktreeLockTimeout",
    "clear_git_cache",
    "clear_shared",
    "current_worktree",
    "shared_directory",
    "shared_once",
    "tree_state",
    "worktree_lock",
]

#: How long :func:`shared_once` waits for another process's factory, in seconds.
#: Generous: the values worth sharing (a build, a grammar cache) take long to compute.
DEFAULT_ONCE_TIMEOUT: Final = 300.0
# Marks our cache files, so that a stray JSON file in once/ is never taken for a value.
_FORMAT: Final = "itest-shared/shared-once"

# Names whose factory is running in this thread: the lock is re-entrant, so a
# factory asking for its own value would otherwise recurse until the stack ends.
_computing = threading.local()


def _once_path(name: str, directory: Path | None) -> Path:
    base = directory if directory is not None else shared_directory()
    return base / "once" / f"{safe_name(name)}.json"


def _lock_for(name: str, timeout: float | None, directory: Path | None) -> WorktreeLock:
    return worktree_lock(f"shared-once-{name}", timeout, directory=directory)


def _read_cached(path: Path, name: str) -> tuple[bool, Any]:
    """Return ``(True, value)`` if ``path`` holds a value for ``name``, else ``(False, None)``."""
    # Missing, torn by a crash, or not strict JSON: not computed yet, compute it again.
    data = read_json_object(path)
    if (
        data is None
        or data.get("format") != _FORMAT
        or data.get("name") != name
        or "value" not in data
    ):
        return False, None
    return True, data["value"]


def shared_once(
    name: str,
    factory: Callable[[], Any],
    *,
    timeout: float | None = DEFAULT_ONCE_TIMEOUT,
    directory: str | os.PathLike[str] | None = None,
) -> Any:
    """Return the value ``name``, computed by ``factory()`` once across processes and worktrees.

    The first caller computes it under ``worktree_lock(f"shared-once-{name}")``
    while the others wait (up to ``timeout`` seconds) and then reuse it. The value
    must be JSON-serialisable and every caller, the computing one included, gets
    the JSON round-tripped value: tuples come back as lists, dict keys as strings.
    A factory that raises caches nothing: its caller gets the exception and the
    next caller runs the factory itself. A holder that dies (even by SIGKILL)
    loses the lock with its process, so the others go on. Use
    :func:`clear_shared` to compute a value again.
    """
    safe_name(name)  # a clear error for a bad name before anything else
    if not callable(factory):
        raise TypeError(f"factory must be callable with no arguments, not {type(factory).__name__}")
    base = check_directory(directory)
    lock = _lock_for(name, timeout, base)  # validates name and timeout
    path = _once_path(name, base)
    # Reading without the lock is safe: the file is replaced atomically, so it is
    # either absent, the old whole file, or the new whole file. Waiting for the
    # lock is needed only while the value does not exist yet.
    found, value = _read_cached(path, name)
    if found:
        return value
    active: set[str] = _computing.__dict__.setdefault("names", set())
    if name in active:
        raise RuntimeError(f"shared_once {name!r} was called again from inside its own factory")
    with lock:
        found, value = _read_cached(path, name)
        if found:
            return value
        active.add(name)
        try:
            value = factory()
        finally:
            active.discard(name)
        try:
            # allow_nan=False: NaN and Infinity are not JSON, and other readers would refuse them.
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"shared_once {name!r}: factory returned a {type(value).__name__}, which is not "
                f"JSON-serialisable ({error}); nothing was cached"
            ) from error
        computed_at = time.time()
        worktree = current_worktree()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            path,
            {
                "format": _FORMAT,
                "name": name,
                "value": json.loads(text),
                "computed_by": {
                    "pid": os.getpid(),
                    "thread": threading.current_thread().name,
                    "hostname": socket.gethostname(),
                    "worktree": str(worktree.path),
                    "branch": worktree.branch,
                },
                "computed_at": computed_at,
                "computed_at_iso": datetime.fromtimestamp(computed_at, UTC).isoformat(),
            },
        )
        return json.loads(text)


def clear_shared(
    name: str,
    *,
    timeout: float | None = DEFAULT_ONCE_TIMEOUT,
    directory: str | os.PathLike[str] | None = None,
) -> bool:
    """Forget the value ``name`` so that the next :func:`shared_once` computes it again.

    Return whether there was a value to forget.
    """
    safe_name(name)
    base = check_directory(directory)
    lock = _lock_for(name, timeout, base)
    path = _once_path(name, base)
    # Under the lock, so a value being computed right now is not half-forgotten.
    with lock:
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True
