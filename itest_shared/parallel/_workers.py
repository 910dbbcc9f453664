"""How the env's workers end and get reported: thread runner, slots, reaping, queue closing."""

from __future__ import annotations

import json
import math
import os
import selectors
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ._api import WorkerError
from ._groups import signal_worker, stop_groups

# SIGKILL cannot be caught, so a killed child is reapable at once; this bound
# only matters for a process stuck in uninterruptible sleep (D state).
KILL_REAP_TIMEOUT = 10.0
# A feeder thread flushes a queue's last items in microseconds unless it is stuck;
# giving up early costs nothing worse than unread items nobody could read anyway.
QUEUE_FLUSH_TIMEOUT = 0.25
# While draining, a feeder counts as stuck only after this many 10 ms polls in a
# row (and QUEUE_FLUSH_TIMEOUT seconds) brought nothing: a slow one, on a loaded
# machine, still makes progress. DRAIN_LIMIT bounds the whole drain, in case
# something else keeps writing (a descendant that inherited the pipe).
QUIET_POLLS = 25
DRAIN_LIMIT = 30.0


def describe_exception(exc: BaseException) -> tuple[str, str]:
    """``exc`` as (one-line summary, traceback text without the runner's own frame)."""
    tb = exc.__traceback__
    lines = traceback.format_exception(type(exc), exc, tb.tb_next if tb else None)
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return summary, "".join(lines)


@attrs.define(eq=False)
class ThreadRunner:
    """The target of a worker thread: runs the user's target and keeps what it raised."""

    target: Callable[..., object]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    env_closed: threading.Event
    error: tuple[str, str] | None = None
    started_at: float | None = None  # time.monotonic() when the thread began

    def __call__(self) -> None:
        """Run the target once, recording an exception instead of letting it escape."""
        self.started_at = time.monotonic()
        if self.env_closed.is_set():
            # Nobody would join or report a thread started after close().
            raise RuntimeError(
                "a worker thread was started after its ParallelTestEnvironment was closed"
            )
        try:
            self.target(*self.args, **self.kwargs)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                self.error = describe_exception(exc)
        except BaseException as exc:
            self.error = describe_exception(exc)


@attrs.define(eq=False)
class ProcessSlot:
    """The env's record of one worker process."""

    name: str
    process: Any
    report: str
    stop_at_close: bool = False  # declared: may be stopped at close without a failure
    examined: bool = False
    reported_running: bool = False
    stopped_by_env: bool = False
    ran_for: float | None = None  # seconds it had run when close() began to stop it

    def running_time(self) -> float | None:
        """Seconds since the process started (None if unknown: not started, or gone)."""
        # Deferred: only needed when something is still running.
        import psutil  # type: ignore[import-untyped, unused-ignore]

        try:
            created: float = psutil.Process(self.process.pid).create_time()
        except (psutil.Error, ValueError, TypeError):
            return None
        return max(0.0, time.time() - created)

    @property
    def started(self) -> bool:
        """Whether ``start()`` has been called."""
        try:
            return self.process.pid is not None
        except ValueError:
            return False  # closed unstarted by the env's close(), so it never can start


@attrs.define(eq=False)
class ThreadSlot:
    """The env's record of one worker thread."""

    name: str
    thread: threading.Thread
    runner: ThreadRunner
    stop_at_close: bool = False  # declared: may still run at close without a failure
    examined: bool = False
    reported_running: bool = False

    def running_time(self) -> float | None:
        """Seconds since the thread began running (None if it has not yet)."""
        started = self.runner.started_at
        return None if started is None else max(0.0, time.monotonic() - started)

    @property
    def started(self) -> bool:
        """Whether ``start()`` has been called."""
        return self.thread.ident is not None


def signal_name(number: int) -> str:
    """``9`` -> ``'SIGKILL'``; the number itself for a signal Python does not name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _read_report(path: str) -> tuple[str, str] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return str(data["summary"]), str(data["traceback"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return "an error whose report could not be read", f"{path}: {exc!r}"


def examine_process(slot: ProcessSlot) -> WorkerError | None:
    """The failure of an ended, not yet examined process, if it failed; None otherwise."""
    code = slot.process.exitcode
    if slot.examined or code is None:
        return None
    slot.examined = True
    if slot.stopped_by_env:
        # Still running at close, so the env stopped it: whatever it would have done
        # is lost. A failure, unless declared, or already reported as running.
        if slot.stop_at_close or slot.reported_running:
            return None
        how = f"killed by signal {-code} ({signal_name(-code)})" if code < 0 else f"exit {code}"
        reason = (
            f"was still running at close() ({ran_for(slot.ran_for)}), so close() stopped it"
            f" ({how}) and anything it would still have done or raised is lost; let it end"
            " (join_all) before the test ends, or create it with stop_at_close=True if it"
            " may be stopped"
        )
        return WorkerError(slot.name, code, "", reason)
    report = _read_report(slot.report)
    if report is not None:
        summary, remote = report
        return WorkerError(slot.name, code, remote, f"raised {summary} (exit code {code})")
    if code == 0:
        return None
    if code < 0:
        reason = f"was killed by signal {-code} ({signal_name(-code)})"
        return WorkerError(slot.name, code, "", reason)
    return WorkerError(slot.name, code, "", f"exited with code {code}")


def examine_thread(slot: ThreadSlot) -> WorkerError | None:
    """The failure of an ended, not yet examined thread, if it raised; None otherwise."""
    if slot.examined or slot.thread.is_alive():
        return None
    slot.examined = True
    if slot.runner.error is None:
        return None
    summary, remote = slot.runner.error
    return WorkerError(slot.name, None, remote, f"raised {summary} (in a thread)")


def thread_stack(thread: threading.Thread) -> str:
    """Where a running thread is now, as traceback text (empty if it has just ended)."""
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return ""
    return "Stack of the running thread (most recent call last):\n" + "".join(
        traceback.format_stack(frame)
    )


def ran_for(seconds: float | None) -> str:
    """``'it ran for 5.2 s'``, for a worker still running when reported."""
    if seconds is None:
        return "it ran for an unknown time"
    return f"it ran for {seconds:.1f} s"


def _join_until(slots: Sequence[ProcessSlot], deadline: float) -> None:
    for slot in slots:
        slot.process.join(max(0.0, deadline - time.monotonic()))


def stop_processes(
    slots: Sequence[ProcessSlot], deadline: float, grace: float
) -> list[WorkerError]:
    """Join started processes until ``deadline``; then SIGTERM, ``grace`` s, SIGKILL; reap.

    Each signal goes to the worker's process group: the worker and what it
    started. Then what is left of every started worker's group (processes a
    worker started and left running, orphaned or not) is stopped the same way.

    Processes created with ``stop_at_close=True`` are not waited for: they get
    SIGTERM as soon as the others have ended or ``deadline`` has passed.
    """
    started = [slot for slot in slots if slot.started]
    _join_until([slot for slot in started if not slot.stop_at_close], deadline)
    running = [slot for slot in started if slot.process.exitcode is None]
    if running:
        for slot in running:
            slot.stopped_by_env = True
            slot.ran_for = slot.running_time()
            signal_worker(slot.process, signal.SIGTERM)
        _join_until(running, time.monotonic() + grace)
        running = [slot for slot in running if slot.process.exitcode is None]
        for slot in running:
            signal_worker(slot.process, signal.SIGKILL)
        _join_until(running, time.monotonic() + KILL_REAP_TIMEOUT)
    errors = []
    for slot in started:
        if slot.process.exitcode is None:
            reason = f"could not be killed: still running {KILL_REAP_TIMEOUT} s after SIGKILL"
            slot.reported_running = True
            errors.append(WorkerError(slot.name, None, "", reason))
        else:
            _release_sentinel(slot.process)
    # What the workers started and left running, orphaned or not, goes with them.
    groups = {slot.process.pid: slot for slot in started}
    for group in stop_groups(groups, grace):
        reason = (
            f"started processes (process group {group}) that could not be stopped: still"
            " running after SIGTERM and SIGKILL"
        )
        errors.append(WorkerError(groups[group].name, groups[group].process.exitcode, "", reason))
    return errors


def _release_sentinel(process: Any) -> None:
    # Close the ended child's sentinel pipe now rather than at garbage collection
    # (a resource audit right after the test would count it as leaked). Popen.close
    # keeps ``exitcode`` readable; Process.close would make it raise.
    popen = getattr(process, "_popen", None)
    if popen is not None and popen.returncode is not None:
        popen.close()


def close_queue(queue: Any) -> None:
    """Close ``queue`` without ever blocking on its feeder thread."""
    # join_thread() blocks for good on a stuck feeder: one writing to a full pipe
    # that nobody reads any more, or one waiting for the write lock of a child
    # killed mid-put. So cancel it, and free the first kind by draining the pipe.
    feeder: threading.Thread | None = getattr(queue, "_thread", None)
    if feeder is None or getattr(queue, "_closed", False):
        queue.cancel_join_thread()
        queue.close()
        if feeder is None:
            # Never written to from this process: no feeder will close the pipe.
            queue._reader.close()
            queue._writer.close()
        return
    # Drain through a copy of the read end taken before close(): the feeder closes
    # the queue's own copy once it reads close()'s sentinel, and closing or reading
    # it from here races with that (a double close, or a reused descriptor).
    spare = os.dup(queue._reader.fileno())
    try:
        queue.cancel_join_thread()
        queue.close()
        feeder.join(QUEUE_FLUSH_TIMEOUT)
        if feeder.is_alive() and _drain(spare, feeder):
            # It closed its end: it is returning, however slowly the machine lets
            # it. Bounded only against a hang.
            feeder.join(DRAIN_LIMIT)
    finally:
        os.close(spare)


def _drain(fd: int, feeder: threading.Thread) -> bool:
    """Discard what arrives on ``fd`` until ``feeder`` ends, EOF, or nothing comes.

    True at EOF: every write end is closed, the feeder's included.

    "Nothing comes": QUIET_POLLS polls in a row and QUEUE_FLUSH_TIMEOUT seconds
    without a byte. Counting polls as well as seconds keeps a process that the
    machine did not schedule for a while from taking its feeder for stuck.
    """
    # Only bytes nobody can read any more: the env is closed. A feeder waiting on
    # a dead child's write lock never writes, so it stays stuck (a daemon thread).
    give_up = time.monotonic() + DRAIN_LIMIT
    quiet_since, quiet_polls = time.monotonic(), 0
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while feeder.is_alive() and time.monotonic() < give_up:
            if selector.select(0.01):
                if not os.read(fd, 1 << 16):
                    return True  # every write end is closed
                quiet_since, quiet_polls = time.monotonic(), 0
                continue
            quiet_polls += 1
            quiet_for = time.monotonic() - quiet_since
            if quiet_polls >= QUIET_POLLS and quiet_for >= QUEUE_FLUSH_TIMEOUT:
                return False
    return False


def close_queues(queues: Sequence[Any]) -> None:
    """Close every queue even if closing one fails; then raise the first failure."""
    first: Exception | None = None
    for queue in queues:
        try:
            close_queue(queue)
        except Exception as exc:
            first = first or exc
    if first is not None:
        raise first


def remaining(deadline: float) -> float | None:
    """Seconds left until ``deadline``, for a join (None: no limit)."""
    if math.isinf(deadline):
        return None
    return max(0.0, deadline - time.monotonic())


def collect_failures(
    processes: Sequence[ProcessSlot],
    threads: Sequence[ThreadSlot],
    running: Callable[[str], str],
) -> list[WorkerError]:
    """Failures not reported before: ended workers that failed, and each worker still running.

    ``running(ran)`` completes "worker 'name' ..." for a worker still running,
    given ``ran`` ("it ran for 5.2 s"). A worker created with ``stop_at_close=True``
    and still running is not a failure here. The caller holds the env's lock,
    since the slots' flags change here.
    """
    errors: list[WorkerError] = []
    for process_slot in processes:
        if not process_slot.started:
            continue
        error = examine_process(process_slot)
        if (
            error is None
            and not process_slot.examined
            and not process_slot.reported_running
            and not process_slot.stop_at_close
        ):
            process_slot.reported_running = True
            reason = running(ran_for(process_slot.running_time()))
            error = WorkerError(process_slot.name, None, "", reason)
        if error is not None:
            errors.append(error)
    for thread_slot in threads:
        if not thread_slot.started:
            continue
        error = examine_thread(thread_slot)
        if (
            error is None
            and not thread_slot.examined
            and not thread_slot.reported_running
            and not thread_slot.stop_at_close
        ):
            thread_slot.reported_running = True
            reason = running(ran_for(thread_slot.running_time()))
            error = WorkerError(thread_slot.name, None, thread_stack(thread_slot.thread), reason)
        if error is not None:
            errors.append(error)
    return errors


def combine_failures(errors: Sequence[WorkerError]) -> WorkerError:
    """One error to raise for ``errors`` (at least one): the first, carrying the rest."""
    first = errors[0]
    if len(errors) == 1:
        return first
    return WorkerError(
        first.worker_name, first.exitcode, first.remote_traceback, first.reason, errors[1:]
    )


def abandon(owner_pid: int, slots: list[ProcessSlot], private_dir: str, grace: float) -> None:
    """Last-resort cleanup for an env that was never closed: stop its processes, drop its files."""
    if os.getpid() != owner_pid:
        return  # a forked worker's copy of the env: those processes are its siblings
    stop_processes(slots, time.monotonic(), grace)
    shutil.rmtree(private_dir, ignore_errors=True)
