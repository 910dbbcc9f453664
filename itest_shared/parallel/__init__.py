"""``ParallelTestEnvironment``: worker processes and threads sharing locks, queues and events.

Built on ``multiprocess`` (dill), so closures, lambdas and nested functions are
valid targets under fork, spawn and forkserver alike. Worker processes start
with forkserver where the platform has it, else spawn, unless told otherwise;
under every method a worker sees the creating process's ``os.environ`` and
working directory as of its ``start()``. Usable with or without pytest; the
``parallel_test_environment`` fixture wraps it.

.. versionadded:: 1.1
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from .. import _checks
from ._api import SharedEvent, SharedLock, SharedQueue, WorkerError, WorkerProcess
from ._arguments import (
    check_call,
    check_callback,
    check_name,
    check_start_method,
    check_stop_at_close,
    check_workspace,
)
from ._child import CHILD_ENTRY, ParentEnvironment
from ._shared import SharedPrimitives
from ._workers import (
    ProcessSlot,
    ThreadRunner,
    ThreadSlot,
    abandon,
    close_queues,
    collect_failures,
    combine_failures,
    remaining,
    stop_processes,
)

__all__ = [
    "ParallelTestEnvironment",
    "SharedEvent",
    "SharedLock",
    "SharedQueue",
    "WorkerError",
    "WorkerProcess",
]


class ParallelTestEnvironment:
    """Worker processes and threads for one test, with shared primitives and sure cleanup.

    ``start_method`` None means forkserver where available, else spawn (never
    multiprocess's global default). ``close()`` (also ``cleanup()`` and
    ``__exit__``) joins the workers for up to ``join_timeout`` seconds, sends
    SIGTERM to processes still running, SIGKILL ``grace_period`` seconds later,
    and reaps them; joins threads within the same budget (threads cannot be
    killed: one still alive is left running as a daemon); closes the queues
    without ever blocking; removes its temporary files. Only then does it raise
    a ``WorkerError`` for every failure not yet raised by ``join_all``: a worker
    that raised, exited non-zero or died by a signal, and a worker still running
    at close (a process close() had to stop, a thread left running), with how
    long it ran. A worker created with ``stop_at_close=True`` (a server-like
    worker) is exempt from that last one: close() does not wait for it, stops it
    if it is a process, leaves it running if it is a thread, and reports it only
    if it failed by itself before. Closing again is a no-op; ``__exit__`` always
    closes, so the fixture's own ``close()`` after a ``with env:`` block does
    nothing.

    Each worker process leads a process group of its own, and close() signals
    the group: the processes a worker started go with it, orphaned ones too,
    unless they moved to a session or group of their own. One that survives
    SIGKILL is a ``WorkerError`` of the worker that started it.

    .. versionchanged:: 2.0
       A worker still running at close is a failure unless created with
       ``stop_at_close=True``; before, processes close() stopped were not.
       close() stops what workers started too; before, only the workers.
    """

    def __init__(
        self,
        workspace: str | os.PathLike[str] | None = None,
        *,
        start_method: str | None = None,
        grace_period: float = 1.0,
        join_timeout: float = 5.0,
        on_worker_error: Callable[[WorkerError], object] | None = None,
    ) -> None:
        # Imported here, not at module level: it costs ~100 ms, which code that
        # only catches WorkerError should not pay. (It must be imported before
        # our atexit entry below is registered; here it always is.)
        import multiprocess  # type: ignore[import-untyped, unused-ignore]
        import multiprocess.util  # type: ignore[import-untyped, unused-ignore]  # atexit: see below

        # Check everything before creating anything: bad input leaves nothing behind.
        given = check_workspace(workspace)
        available = list(multiprocess.get_all_start_methods())
        self._grace_period = _checks.seconds(grace_period, "grace_period")
        self._join_timeout = _checks.seconds(join_timeout, "join_timeout")
        check_callback(on_worker_error)
        method = check_start_method(start_method, available)
        self._context: Any = multiprocess.get_context(method)
        self._start_method: str = method
        self._on_worker_error = on_worker_error
        self._lock = threading.RLock()  # guards the registries and counters below
        self._close_lock = threading.RLock()  # RLock: a callback may call close() again
        self._closed = threading.Event()  # shared with the thread runners
        self._processes: list[ProcessSlot] = []
        self._threads: list[ThreadSlot] = []
        self._names: set[str] = set()
        self._counter = 0
        self._shared = SharedPrimitives(self._context)
        self._failures: list[WorkerError] = []
        self._callback_errors: list[Exception] = []
        if given is not None:
            given.mkdir(parents=True, exist_ok=True)
        self._private_dir = Path(tempfile.mkdtemp(prefix="itest-parallel-"))
        self._workspace = given if given is not None else self._private_dir / "workspace"
        self._workspace.mkdir(exist_ok=True)
        # If the env is dropped without close(), stop its processes anyway. Our own
        # atexit entry must run before multiprocess's, which joins leftover
        # non-daemon children and so hangs on a stuck worker; atexit runs last-in
        # first-out, and multiprocess.util (imported above) registers at import.
        self._finalizer = weakref.finalize(
            self, abandon, os.getpid(), self._processes, str(self._private_dir), self._grace_period
        )
        self._finalizer.atexit = False
        atexit.register(self._finalizer)

    # -- what the env is -------------------------------------------------------------

    @property
    def workspace(self) -> Path:
        """The directory the test's workers share (removed at close if the env made it)."""
        return self._workspace

    @property
    def start_method(self) -> str:
        """How worker processes start: ``'fork'``, ``'spawn'`` or ``'forkserver'``."""
        return self._start_method

    @property
    def grace_period(self) -> float:
        """Seconds between SIGTERM and SIGKILL for a process still running at close."""
        return self._grace_period

    @property
    def join_timeout(self) -> float:
        """Seconds close() waits for workers to end by themselves; join_all's default."""
        return self._join_timeout

    @property
    def processes(self) -> list[WorkerProcess]:
        """Every worker process created, in creation order, started or not."""
        with self._lock:
            return [slot.process for slot in self._processes]

    @property
    def threads(self) -> list[threading.Thread]:
        """Every worker thread created, in creation order, started or not."""
        with self._lock:
            return [slot.thread for slot in self._threads]

    @property
    def locks(self) -> dict[str, SharedLock]:
        """The locks made so far by name, in creation order (a copy).

        .. versionadded:: 1.3
        """
        with self._lock:
            return self._shared.locks()

    @property
    def queues(self) -> dict[str, SharedQueue]:
        """The queues made so far by name, in creation order (a copy).

        .. versionadded:: 1.3
        """
        with self._lock:
            return self._shared.queues()

    @property
    def events(self) -> dict[str, SharedEvent]:
        """The events made so far by name, in creation order (a copy).

        .. versionadded:: 1.3
        """
        with self._lock:
            return self._shared.events()

    @property
    def failures(self) -> list[WorkerError]:
        """Every worker failure detected so far by join_all and close, raised or not."""
        with self._lock:
            return list(self._failures)

    @property
    def callback_errors(self) -> list[Exception]:
        """What ``on_worker_error`` raised; kept here so it never stops cleanup."""
        with self._lock:
            return list(self._callback_errors)

    @property
    def closed(self) -> bool:
        """Whether close() has run (or is running)."""
        return self._closed.is_set()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (
            f"<ParallelTestEnvironment start_method={self._start_method!r} "
            f"processes={len(self._processes)} threads={len(self._threads)} {state}>"
        )

    def __reduce__(self) -> NoReturn:
        # dill would otherwise try to send the env along with a closure that uses it.
        raise TypeError(
            "a ParallelTestEnvironment cannot be sent to a worker process; pass the worker "
            "the locks, queues, events or workspace path it needs instead"
        )

    # -- workers ---------------------------------------------------------------------

    def create_worker_process(
        self,
        target: Callable[..., object],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | str | None = None,
        name: str | None = None,
        *,
        stop_at_close: bool = False,
    ) -> WorkerProcess:
        """An unstarted, non-daemon ``multiprocess`` process running ``target(*args, **kwargs)``.

        The third parameter is ``kwargs`` (a mapping) or, in the prototype's call
        shape ``(target, args, name)``, the worker's name (a str); a str there
        together with ``name=`` is a TypeError. Once started, the worker sees this
        process's ``os.environ`` and working directory as of ``start()``.

        ``stop_at_close=True`` declares a worker that may still be running at
        close (a server): ``join_all`` does not wait for it, and close() stops it
        (SIGTERM, grace period, SIGKILL) without waiting and without a failure.
        If it has ended by itself with a failure before that, that is reported.

        .. versionchanged:: 1.3
           A str in the third position is the name; the worker takes on this
           process's environment and working directory under every start method.

        .. versionchanged:: 2.0
           ``stop_at_close``.
        """
        call_args, call_kwargs, given_name = check_call(target, args, kwargs, name)
        declared = check_stop_at_close(stop_at_close)
        with self._lock:
            self._check_open()
            worker_name = self._new_name(given_name, target)
            report = str(self._private_dir / f"process-{len(self._processes)}.json")
            # ParentEnvironment first: the child applies it before unpickling the rest.
            entry_args = (ParentEnvironment(), target, call_args, call_kwargs, report)
            process: WorkerProcess = self._context.Process(
                target=CHILD_ENTRY, args=entry_args, name=worker_name
            )
            self._processes.append(ProcessSlot(worker_name, process, report, declared))
            self._names.add(worker_name)
        return process

    def create_worker_thread(
        self,
        target: Callable[..., object],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | str | None = None,
        name: str | None = None,
        *,
        stop_at_close: bool = False,
    ) -> threading.Thread:
        """An unstarted daemon thread running ``target(*args, **kwargs)``.

        The third parameter is ``kwargs`` (a mapping) or, in the prototype's call
        shape ``(target, args, name)``, the worker's name (a str); a str there
        together with ``name=`` is a TypeError.

        ``stop_at_close=True`` declares a thread that may still be running at
        close. A thread cannot be stopped from outside: ``join_all`` and close()
        do not wait for it, and close() leaves it running (a daemon thread, so it
        does not block interpreter exit) without a failure; what it does or raises
        after close is not reported. Make it end by itself, e.g. on an event the
        test sets. If it has ended with a failure before close, that is reported.

        .. versionchanged:: 1.3
           A str in the third position is the name.

        .. versionchanged:: 2.0
           ``stop_at_close``.
        """
        call_args, call_kwargs, given_name = check_call(target, args, kwargs, name)
        declared = check_stop_at_close(stop_at_close)
        with self._lock:
            self._check_open()
            worker_name = self._new_name(given_name, target)
            runner = ThreadRunner(target, call_args, call_kwargs, self._closed)
            # Daemon: a thread cannot be killed, so a stuck one must not block exit.
            thread = threading.Thread(target=runner, name=worker_name, daemon=True)
            self._threads.append(ThreadSlot(worker_name, thread, runner, declared))
            self._names.add(worker_name)
        return thread

    def start_all(self) -> None:
        """Start every worker process and thread not started yet."""
        with self._lock:
            self._check_open()
            pending = [slot.process for slot in self._processes if not slot.started]
            pending += [slot.thread for slot in self._threads if not slot.started]
        for worker in pending:
            worker.start()

    def join_all(self, timeout: float | None = None) -> None:
        """Wait for every started worker; raise a ``WorkerError`` for any new failure.

        ``timeout`` (seconds, for all workers together; None means ``join_timeout``,
        ``math.inf`` waits as long as it takes) bounds the wait; a worker still
        running then is reported as a failure too, once. Unstarted workers are
        skipped; workers created with ``stop_at_close=True`` are not waited for,
        only reported if they have ended with a failure.
        """
        limit = (
            self._join_timeout
            if timeout is None
            else _checks.seconds(timeout, "timeout", infinite=True)
        )
        with self._lock:
            self._check_open()
            processes, threads = list(self._processes), list(self._threads)
        deadline = time.monotonic() + limit
        for process_slot in processes:
            if process_slot.started and not process_slot.stop_at_close:
                process_slot.process.join(remaining(deadline))
        for thread_slot in threads:
            if thread_slot.started and not thread_slot.stop_at_close:
                thread_slot.thread.join(remaining(deadline))

        def running(ran: str) -> str:
            return f"is still running after join_all(timeout={limit}); {ran} so far"

        with self._lock:
            errors = collect_failures(processes, threads, running)
        self._record(errors)
        if errors:
            raise combine_failures(errors)

    def run_all(self, timeout: float | None = None) -> None:
        """``start_all()`` then ``join_all(timeout)``."""
        self.start_all()
        self.join_all(timeout)

    # -- shared primitives -----------------------------------------------------------

    def create_shared_lock(self, name: str) -> SharedLock:
        """The env's lock ``name``: a non-reentrant ``multiprocess`` Lock, made on first use."""
        with self._lock:
            self._check_open()
            return self._shared.lock(name)

    def create_queue(self, name: str, maxsize: int | None = None) -> SharedQueue:
        """The env's queue ``name``, made on first use (unbounded unless ``maxsize`` > 0).

        ``maxsize`` not given (None) fetches the existing queue whatever its size,
        as the prototype's ``create_queue(name)`` did; given, it must match.

        .. versionchanged:: 1.3
           ``maxsize`` defaults to None instead of 0.
        """
        with self._lock:
            self._check_open()
            return self._shared.queue(name, maxsize)

    def create_event(self, name: str) -> SharedEvent:
        """The env's event ``name``, made on first use."""
        with self._lock:
            self._check_open()
            return self._shared.event(name)

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> ParallelTestEnvironment:
        """Return the env itself; leaving the block closes it."""
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the env (raising unreported worker failures, chained to any error)."""
        self.close()

    def close(self) -> None:
        """Stop all workers, close the queues, remove temp files; then raise new failures."""
        with self._close_lock:
            if self._closed.is_set():
                return
            with self._lock:
                self._closed.set()
                processes, threads = list(self._processes), list(self._threads)
                queues = list(self._shared.queues().values())
            errors: list[WorkerError] = []
            try:
                deadline = time.monotonic() + self._join_timeout
                errors += stop_processes(processes, deadline, self._grace_period)
                for process_slot in processes:
                    if not process_slot.started:
                        process_slot.process.close()  # so it cannot start, untracked, later
                for thread_slot in threads:
                    if thread_slot.started and not thread_slot.stop_at_close:
                        thread_slot.thread.join(remaining(deadline))

                def alive(ran: str) -> str:
                    return (
                        f"is a thread still alive {self._join_timeout} s into close() ({ran});"
                        " threads cannot be killed, so it was left running (as a daemon) and"
                        " anything it still does or raises is lost; let it end before the test"
                        " ends, or create it with stop_at_close=True if it may outlive the test"
                    )

                with self._lock:
                    errors += collect_failures(processes, threads, alive)
            finally:
                try:
                    close_queues(queues)
                finally:
                    # Removes the private directory; the processes are all reaped by now.
                    self._finalizer()
                    atexit.unregister(self._finalizer)
                    self._record(errors)
            if errors:
                raise combine_failures(errors)

    def cleanup(self) -> None:
        """The prototype's name for ``close()``: the same, and as idempotent.

        .. versionadded:: 1.3
        """
        self.close()

    # -- internals -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise RuntimeError(f"{self!r} is closed; create a new ParallelTestEnvironment")

    def _new_name(self, name: object, target: Callable[..., object]) -> str:
        if name is not None:
            given = check_name(name)
            if given in self._names:
                raise ValueError(f"name {given!r} is already used by a worker of this environment")
            return given
        label = getattr(target, "__name__", None) or type(target).__name__
        while True:
            self._counter += 1
            candidate = f"{label}-{self._counter}"
            if candidate not in self._names:
                return candidate

    def _record(self, errors: list[WorkerError]) -> None:
        """Keep ``errors`` in ``failures`` and hand each to ``on_worker_error``."""
        with self._lock:
            self._failures.extend(errors)
        if self._on_worker_error is None:
            return
        for error in errors:
            try:
                self._on_worker_error(error)
            except Exception as exc:  # a broken callback must not stop cleanup or reporting
                with self._lock:
                    self._callback_errors.append(exc)
