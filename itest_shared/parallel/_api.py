"""What ``ParallelTestEnvironment`` hands out and raises: ``WorkerError`` and typed views."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class WorkerError(Exception):
    """A worker process or thread of a ``ParallelTestEnvironment`` failed.

    Raised by ``join_all`` and ``close`` (so by ``__exit__`` and the fixture's
    teardown). One call can detect several failures; none is lost: the first is
    raised and the rest ride along in ``others`` (``failures`` gives all of them).
    A single type rather than an ``ExceptionGroup``, so that ``except WorkerError``
    and ``pytest.raises(WorkerError)`` catch one failure and several alike.
    """

    def __init__(
        self,
        worker_name: str,
        exitcode: int | None,
        remote_traceback: str,
        reason: str = "failed",
        others: Sequence[WorkerError] = (),
    ) -> None:
        self.worker_name = worker_name
        self.exitcode = exitcode
        self.remote_traceback = remote_traceback
        self.reason = reason
        self.others = tuple(others)
        super().__init__(worker_name, exitcode, remote_traceback, reason)

    @property
    def failures(self) -> tuple[WorkerError, ...]:
        """This failure followed by every other one raised with it."""
        return (self, *self.others)

    def _describe(self) -> str:
        text = f"worker {self.worker_name!r} {self.reason}"
        if self.remote_traceback:
            body = self.remote_traceback.rstrip("\n").replace("\n", "\n    ")
            text += f"\n  remote traceback:\n    {body}"
        return text

    def __str__(self) -> str:
        if not self.others:
            return self._describe()
        parts = [f"{len(self.failures)} workers failed:"]
        parts += [f"[{n}] {error._describe()}" for n, error in enumerate(self.failures, 1)]
        return "\n".join(parts)

    # Exceptions rebuild themselves from ``args`` when unpickled, which would drop
    # ``others``; this one crosses worker and pytest-xdist boundaries, so say how.
    def __reduce__(
        self,
    ) -> tuple[type[WorkerError], tuple[str, int | None, str, str, tuple[WorkerError, ...]]]:
        return type(self), (
            self.worker_name,
            self.exitcode,
            self.remote_traceback,
            self.reason,
            self.others,
        )


# multiprocess ships no type information, so these protocols say what the objects
# it creates offer; the objects themselves are plain multiprocess objects.


class WorkerProcess(Protocol):
    """A worker process: an unstarted ``multiprocess`` ``Process`` until ``start()``."""

    @property
    def name(self) -> str:
        """The worker's name, as reported in a ``WorkerError``."""

    @property
    def pid(self) -> int | None:
        """The process id once started, else None."""

    @property
    def daemon(self) -> bool:
        """Whether the process is daemonic: the env's never are, so they may start their own.

        .. versionadded:: 1.3
        """

    @property
    def exitcode(self) -> int | None:
        """None while running; the exit code, or minus the signal number that ended it."""

    def start(self) -> None:
        """Start the process."""

    def join(self, timeout: float | None = None) -> None:
        """Wait for the process to end, at most ``timeout`` seconds."""

    def is_alive(self) -> bool:
        """Whether the process has started and not yet ended."""

    def terminate(self) -> None:
        """Send SIGTERM."""

    def kill(self) -> None:
        """Send SIGKILL."""


class SharedLock(Protocol):
    """A non-reentrant lock that excludes across the env's processes and threads."""

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Take the lock; False if ``timeout`` ran out (or ``block`` is False) first."""

    def release(self) -> None:
        """Give the lock back."""

    def __enter__(self) -> bool:
        """Take the lock for a ``with`` block."""

    def __exit__(self, *exc_info: object) -> None:
        """Give the lock back at the end of a ``with`` block."""


class SharedQueue(Protocol):
    """A FIFO queue shared by the env's processes and threads."""

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        """Add ``obj``; raises ``queue.Full`` if bounded and still full after ``timeout``."""

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Remove and return the next item; raises ``queue.Empty`` after ``timeout``."""

    def put_nowait(self, obj: Any) -> None:
        """Add ``obj`` or raise ``queue.Full`` at once."""

    def get_nowait(self) -> Any:
        """Return the next item or raise ``queue.Empty`` at once."""

    def empty(self) -> bool:
        """Whether the queue looks empty (a hint: other workers may race)."""

    def qsize(self) -> int:
        """Approximate number of items (a hint: other workers may race)."""


class SharedEvent(Protocol):
    """A flag shared by the env's processes and threads, like ``threading.Event``."""

    def is_set(self) -> bool:
        """Whether the flag is set."""

    def set(self) -> None:
        """Set the flag and wake every waiter."""

    def clear(self) -> None:
        """Reset the flag."""

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the flag is set or ``timeout`` runs out; return the flag."""
