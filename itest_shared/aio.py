"""Run coroutines from sync and async tests without touching the global event loop.

Sync code runs coroutines on the runner's own loop, never set as the current one;
async code runs them on the loop already running (pytest-asyncio's).

.. versionadded:: 1.1
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, TypeVar

from . import _checks

__all__ = ["AsyncTestRunner", "UnretrievedTaskError"]

T = TypeVar("T")
_Coro = Coroutine[Any, Any, T]
#: ``on_error(error, task)``: called at teardown for each failure instead of raising.
OnError = Callable[[BaseException, "asyncio.Task[Any]"], object]
_Failures = list[tuple["asyncio.Task[Any]", BaseException]]
_Named = Sequence[tuple[str, object]]  # coroutines with the argument names they came as


class UnretrievedTaskError(RuntimeError):
    """Tasks the runner started failed, or would not stop, and nobody retrieved the error."""

    def __init__(self, task_names: Iterable[str], errors: Iterable[BaseException]) -> None:
        self.task_names = tuple(task_names)
        self.errors = tuple(errors)
        pairs = zip(self.task_names, self.errors, strict=True)
        super().__init__(
            f"{len(self.errors)} task(s) started by AsyncTestRunner failed; nobody retrieved it:"
            + "".join(f"\n  task {name!r}: {type(e).__name__}: {e}" for name, e in pairs)
        )

    def __reduce__(self) -> tuple[Any, tuple[tuple[str, ...], tuple[BaseException, ...]]]:
        return type(self), (self.task_names, self.errors)


def _close_all(coros: Iterable[object], *_: object) -> None:  # (*_: as a done callback too)
    # A refused coroutine would otherwise warn "coroutine ... was never awaited"
    # (an error under -W error) far away from the call that refused it.
    for coro in coros:
        close = getattr(coro, "close", None)
        if callable(close):
            close()


def _check_coroutines(coros: _Named) -> None:
    seen: dict[int, str] = {}
    for name, coro in coros:
        if not asyncio.iscoroutine(coro):
            raise TypeError(f"{name} must be a coroutine object (f(), not f), got {coro!r}")
        if id(coro) in seen:
            raise ValueError(f"{name} is the same coroutine object as {seen[id(coro)]}")
        seen[id(coro)] = name


def _check_timeout(name: str, value: object) -> float | None:
    """A time limit in seconds, > 0; math.inf (no limit) becomes None."""
    limit = _checks.seconds(value, name, infinite=True, zero=False)
    return None if math.isinf(limit) else limit


def _name(coro: object) -> str:
    return str(getattr(coro, "__qualname__", None) or type(coro).__name__)


def _unretrieved(tasks: Iterable[asyncio.Task[Any]]) -> _Failures:
    # `_log_traceback` is asyncio's own "exception not retrieved yet" flag (the one
    # behind "Task exception was never retrieved"); without it, check them all.
    done = [t for t in tasks if t.done() and not t.cancelled()]
    done = [t for t in done if getattr(t, "_log_traceback", True)]
    # exception() marks it retrieved: we report it, so asyncio need not log it.
    return [(task, error) for task in done if (error := task.exception()) is not None]


class AsyncTestRunner:
    """Runs coroutines for tests: on its own loop from sync code, on the running loop from async.

    Teardown (``close()``, ``await aclose()``, ``with``, ``async with``) cancels and
    awaits the pending tasks the runner started on each loop: the running one in
    place, an idle one by running it briefly, one running in another thread through
    ``run_coroutine_threadsafe``; on a closed loop it can only report them. Then
    the private loop is closed. Failures (an exception nobody retrieved, a task
    still running ``cancel_timeout`` s after its cancel) go to ``on_error(error,
    task)`` if given, else are raised as one ``UnretrievedTaskError`` after cleanup.
    A closed runner refuses new work; closing again does nothing.

    .. versionchanged:: 1.3
       The prototype's API: ``run_async()``, ``cleanup()``, ``loop``, ``tasks``.
    """

    def __init__(self, *, on_error: OnError | None = None, cancel_timeout: float = 10) -> None:
        if on_error is not None and not callable(on_error):
            raise TypeError(f"on_error must be a callable (error, task) or None, got {on_error!r}")
        self._cancel_timeout = _check_timeout("cancel_timeout", cancel_timeout)
        self._on_error = on_error
        self._lock = threading.Lock()  # guards _tasks, _parallel_tasks and _closed
        # run() and close() drive the private loop, which one thread can run at a time.
        self._loop_lock = threading.Lock()
        self._tasks: dict[asyncio.AbstractEventLoop, dict[asyncio.Task[Any], None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None  # the private loop while open
        self._own_loop: asyncio.AbstractEventLoop | None = None  # kept once closed: `loop`
        self._parallel_tasks: list[asyncio.Task[Any]] = []  # what `tasks` copies
        self._closed = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The runner's own loop, the one ``run()`` uses; ``None`` until the first ``run()``.

        A ``create_task()`` from sync code makes it too. It is never set as the
        thread's current loop; after teardown it stays here, closed, so a test
        can check ``runner.loop.is_closed()``.

        .. versionadded:: 1.3
        """
        return self._own_loop

    @property
    def tasks(self) -> list[asyncio.Task[Any]]:
        """A copy of the list of every task ``run_parallel`` created, across calls, in that order.

        Tasks from ``create_task()`` are not in it: the caller already holds
        those, and this list keeps the prototype's meaning (one task per
        coroutine given to ``run_parallel``, each with that coroutine's outcome).

        .. versionadded:: 1.3
        """
        with self._lock:
            return list(self._parallel_tasks)

    def _admit(self, method: str, coros: _Named, check: Callable[[], object]) -> None:
        """Validate a call that hands over coroutines; on any problem close them all and raise."""
        try:
            if self._closed:
                raise RuntimeError(f"{method}(): this AsyncTestRunner is closed")
            _check_coroutines(coros)
            check()
        except BaseException:
            _close_all(coro for _, coro in coros)
            raise

    def _track(self, task: asyncio.Task[T]) -> asyncio.Task[T]:
        with self._lock:
            self._tasks.setdefault(task.get_loop(), {})[task] = None
        task.add_done_callback(self._forget_if_clean)
        return task

    def _forget_if_clean(self, task: asyncio.Task[Any]) -> None:
        # Nothing to report about a task that succeeded or was cancelled; dropping
        # it keeps thousands of results from piling up until teardown.
        if task.cancelled() or not getattr(task, "_log_traceback", True):
            with self._lock:
                self._tasks.get(task.get_loop(), {}).pop(task, None)

    def _private_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()  # never set_event_loop(): the global one stays
            # On the private loop every task is ours to clean up, also those the
            # coroutines create themselves.
            loop.set_task_factory(
                lambda on, coro, **kw: self._track(asyncio.Task(coro, loop=on, **kw))
            )
            self._loop = self._own_loop = loop
        return self._loop

    def _start(self, coro: _Coro[T], name: str | None) -> asyncio.Task[T]:
        loop = asyncio._get_running_loop() or self._private_loop()
        return self._track(loop.create_task(coro, name=name))

    def run(self, coro: _Coro[T], *, timeout: float | None = None) -> T:
        """Run ``coro`` to the end on the runner's own loop (sync code only); return its result."""

        def check() -> None:
            if timeout is not None:
                _check_timeout("timeout", timeout)
            if asyncio._get_running_loop() is not None:
                # Contains asyncio's own wording, which the prototype's run() raised here.
                raise RuntimeError(
                    "run() cannot be called while an event loop is running in this thread"
                    " (Cannot run the event loop while another loop is running); use `await"
                    " runner.run_with_timeout(coro, timeout)` or `await runner.run_parallel(...)`"
                )
            if not self._loop_lock.acquire(blocking=False):
                raise RuntimeError("run() is already running in another thread on this runner")

        self._admit("run", [("coro", coro)], check)
        try:
            main = coro if timeout is None else self.run_with_timeout(coro, timeout)
            return self._private_loop().run_until_complete(main)
        finally:
            self._loop_lock.release()

    async def run_async(self, coro: Awaitable[T]) -> T:
        """Await ``coro`` and return its result (the prototype's ``run_async``).

        It starts no task, so there is nothing for teardown to clean up, and it
        works on a closed runner too.

        .. versionadded:: 1.3
        """
        if not inspect.isawaitable(coro):  # nothing to close: only awaitables warn unawaited
            raise TypeError(f"coro must be an awaitable, such as a coroutine f(), got {coro!r}")
        return await coro

    def create_task(self, coro: _Coro[T], *, name: str | None = None) -> asyncio.Task[T]:
        """Start ``coro`` as a background task that teardown cancels, awaits and checks.

        It runs on the running loop; from sync code, on the runner's own loop,
        where it makes progress while ``run()`` runs.
        """
        self._admit("create_task", [("coro", coro)], lambda: None)
        return self._start(coro, name)

    async def run_parallel(
        self, *coros: _Coro[Any], limit: int | None = None, return_exceptions: bool = False
    ) -> list[Any]:
        """Run ``coros`` concurrently on the running loop; return results in argument order.

        At most ``limit`` run at once. When one fails (and ``return_exceptions`` is
        false) the others are cancelled and awaited, then the first failure in
        argument order is raised, with the other failures added as notes. The
        tasks are added to ``tasks``.
        """

        def check() -> None:
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
                raise TypeError(f"limit must be an int >= 1 or None, got {limit!r}")
            if limit is not None and limit < 1:
                raise ValueError(f"limit must be an int >= 1 or None, got {limit!r}")
            if not isinstance(return_exceptions, bool):
                raise TypeError(f"return_exceptions must be a bool, got {return_exceptions!r}")
            asyncio.get_running_loop()  # RuntimeError with asyncio's own message

        self._admit("run_parallel", [(f"coros[{i}]", c) for i, c in enumerate(coros)], check)
        gate = None if limit is None else asyncio.Semaphore(limit)
        tasks = []
        for index, coro in enumerate(coros):
            wrapped = coro if gate is None else _gated(gate, coro)
            task = self._start(wrapped, f"run_parallel[{index}] {_name(coro)}")
            # A task cancelled before its first step never starts the wrapper, so
            # the wrapped coroutine must be closed here or it warns "never awaited".
            task.add_done_callback(functools.partial(_close_all, [coro]))
            tasks.append(task)
        with self._lock:  # once per call: the lock stays off the per-coroutine path
            self._parallel_tasks.extend(tasks)
        if not tasks:
            return []
        try:
            when = asyncio.ALL_COMPLETED if return_exceptions else asyncio.FIRST_EXCEPTION
            await asyncio.wait(tasks, return_when=when)
        except BaseException:  # cancelled from outside: stop the children first
            await _cancel_and_wait(tasks)
            raise
        if return_exceptions:
            return [_outcome(task) for task in tasks]
        await _cancel_and_wait([task for task in tasks if not task.done()])
        outcomes = [(i, t.exception()) for i, t in enumerate(tasks) if not t.cancelled()]
        errors = [(i, error) for i, error in outcomes if error is not None]
        if errors:
            first = errors[0][1]
            for index, other in errors[1:]:
                first.add_note(f"run_parallel: coros[{index}] also failed: {other!r}")
            raise first
        return [task.result() for task in tasks]

    async def run_with_timeout(self, coro: _Coro[T], timeout: float) -> T:
        """Await ``coro`` on the running loop; past ``timeout`` s, cancel it and raise TimeoutError.

        As with ``asyncio.wait_for``, a coroutine that ignores the cancellation
        and returns (or raises) decides the outcome.
        """

        def check() -> None:
            _check_timeout("timeout", timeout)
            asyncio.get_running_loop()

        self._admit("run_with_timeout", [("coro", coro)], check)
        seconds = _check_timeout("timeout", timeout)
        task = self._start(coro, f"run_with_timeout {_name(coro)}")
        try:
            done, _ = await asyncio.wait([task], timeout=seconds)
        except BaseException:
            await _cancel_and_wait([task])
            raise
        if not done:
            await _cancel_and_wait([task])
            if task.cancelled():
                raise TimeoutError(f"{_name(coro)} did not finish within {timeout} s; cancelled")
        return task.result()

    async def _shutdown_tasks(self, loop: asyncio.AbstractEventLoop, everything: bool) -> _Failures:
        """Cancel and await our pending tasks on ``loop`` (which runs this); return failures."""
        current = asyncio.current_task()
        timeout, stuck = self._cancel_timeout, set[asyncio.Task[Any]]()
        deadline = None if timeout is None else loop.time() + timeout
        # Cancelled tasks may start new ones while unwinding, hence the rounds.
        while True:
            with self._lock:
                tracked = set(self._tasks.get(loop, ()))
            if everything:
                tracked |= asyncio.all_tasks(loop)
            pending = {t for t in tracked if not t.done() and t is not current} - stuck
            if not pending:
                break
            for task in pending:
                task.cancel()
            left = None if deadline is None else max(0.0, deadline - loop.time())
            _, still = await asyncio.wait(pending, timeout=left)
            stuck |= still
        failures: _Failures = [
            (task, TimeoutError(f"still running {timeout} s after it was cancelled"))
            for task in stuck
        ]
        with self._lock:
            tracked_now = self._tasks.pop(loop, {})
        return failures + _unretrieved(tracked_now)

    def _shutdown_loop(self, loop: asyncio.AbstractEventLoop, everything: bool) -> _Failures:
        if loop.is_closed():
            with self._lock:
                tasks = self._tasks.pop(loop, {})
            lost = RuntimeError("still pending, but its event loop was closed before teardown")
            return [(t, lost) for t in tasks if not t.done()] + _unretrieved(tasks)
        if loop.is_running():  # in another thread: this one runs no loop
            future = asyncio.run_coroutine_threadsafe(self._shutdown_tasks(loop, False), loop)
            return future.result()
        return loop.run_until_complete(self._shutdown_tasks(loop, everything))

    def _shutdown_idle_loops(self, exclude: asyncio.AbstractEventLoop | None) -> _Failures:
        if not self._loop_lock.acquire(blocking=False):
            raise RuntimeError("cannot close the runner while run() is running in another thread")
        failures: _Failures = []
        try:
            with self._lock:
                self._closed = True
                private, self._loop = self._loop, None
                loops = [loop for loop in self._tasks if loop not in (exclude, private)]
            try:
                for loop in loops:
                    failures += self._shutdown_loop(loop, everything=False)
            finally:  # the private loop is closed whatever happened to the others
                if private is not None and not private.is_closed():
                    try:
                        failures += self._shutdown_loop(private, everything=True)
                        private.run_until_complete(private.shutdown_asyncgens())
                        private.run_until_complete(private.shutdown_default_executor())
                    finally:
                        private.close()
                        with self._lock:
                            self._tasks.pop(private, None)
        finally:
            self._loop_lock.release()
        return failures

    def _report(self, failures: _Failures) -> None:
        if not failures:
            return
        if self._on_error is not None:
            for task, error in failures:
                self._on_error(error, task)
            return
        names = [task.get_name() for task, _ in failures]
        raise UnretrievedTaskError(names, [error for _, error in failures]) from failures[0][1]

    def close(self) -> None:
        """Cancel and await the runner's pending tasks, close its own loop, report failures."""
        self._close("close")

    def cleanup(self) -> None:
        """Same as ``close()``, under the prototype's name; calling it again does nothing.

        .. versionadded:: 1.3
        """
        self._close("cleanup")

    def _close(self, method: str) -> None:
        if asyncio._get_running_loop() is not None:
            # A sync call cannot await the running loop's tasks, so it could only
            # cancel them and leave failures unreported: refuse instead.
            raise RuntimeError(
                f"{method}() cannot run while an event loop is running; use"
                " `await runner.aclose()` (or `async with runner:` instead of `with runner:`)"
            )
        self._report(self._shutdown_idle_loops(exclude=None))

    async def aclose(self) -> None:
        """Like ``close()``, from async code: the running loop's tasks are awaited in place."""
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            raise RuntimeError("aclose() cannot run inside run(); call close() after run() returns")
        with self._lock:
            self._closed = True
            others = any(other is not loop for other in self._tasks) or self._loop is not None
        failures = await self._shutdown_tasks(loop, False)
        if others:
            # No loop can run inside another in one thread; a worker thread (from the
            # loop's default executor, shut down with the loop) runs none.
            failures += await asyncio.to_thread(self._shutdown_idle_loops, loop)
        self._report(failures)

    def __enter__(self) -> AsyncTestRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> AsyncTestRunner:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def _gated(gate: asyncio.Semaphore, coro: Coroutine[Any, Any, T]) -> T:
    async with gate:
        return await coro


async def _cancel_and_wait(tasks: Sequence[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)


def _outcome(task: asyncio.Task[Any]) -> Any:
    if task.cancelled():
        return asyncio.CancelledError()
    error = task.exception()
    return task.result() if error is None else error
