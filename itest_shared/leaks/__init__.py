"""The real leak audit: threads, child processes and file descriptors a test left behind.

Take a ``LeakSnapshot`` before the code under test and ``audit()`` it after:
what is there now and was not before is reported by name in a ``LeakReport``.

What is seen, by platform:

* Threads, everywhere: every thread the ``threading`` module knows (name,
  ident, native id, daemon flag). Threads started by C code that never touched
  ``threading`` are not seen.
* Child processes, everywhere psutil runs: every descendant
  (``children(recursive=True)``) with pid, name, command line and status;
  zombies (exited, never waited for) included. A ``LeakAudit`` (and the
  plugin's audit) also sees the descendants that outlived their parent and
  were adopted by init: while it runs, ``os.environ`` carries a mark
  (``ITEST_SHARED_LEAK_AUDIT``) that every program started meanwhile inherits,
  and the audit looks for it in the environment of each process that was not
  there before. What it cannot see: a process that cleared its environment,
  and one forked without exec from a process started before the audit (a
  ``fork`` or ``forkserver`` worker), whose environment as the system shows it
  is its parent's first one.
* File descriptors, on Linux (any system with ``/proc/self/fd``): every one,
  with what it points to (a path, ``pipe:[ino]``, ``socket:[ino]``,
  ``anon_inode:[eventfd]``...). Elsewhere psutil names regular files
  (``open_files``) and sockets (``net_connections``); on other POSIX systems
  the rest (pipes, kqueues...) are only counted (``num_fds``), and on Windows
  only open files are seen, by path.

The process-wide helpers of ``multiprocessing`` and ``multiprocess`` (the
forkserver and the resource tracker, and the pipe the parent keeps to each)
are left out: they start at first use and live as long as the interpreter,
so they are no test's leak. Their own children are not left out.

On Linux the process tree is read from ``/proc`` by a table kept between
snapshots, which reads again only what changed (``_procs``); elsewhere psutil
reads it whole each time. psutil is imported on first use; the audit cannot
run without it.

.. versionadded:: 1.1
"""

from __future__ import annotations

import os
import shlex
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterable
from types import TracebackType
from typing import Any, NamedTuple

import attrs

from .. import _checks
from . import _procs

__all__ = [
    "MARK_VARIABLE",
    "FdInfo",
    "LeakAudit",
    "LeakReport",
    "LeakSnapshot",
    "ProcessInfo",
    "ThreadInfo",
    "mark_descendants",
    "unmark_descendants",
]

_PROC_FD = "/proc/self/fd"
# Re-check quickly at first (most threads end within milliseconds), then back off.
_FIRST_PAUSE = 0.005
_MAX_PAUSE = 0.05
_ALL_FDS = "all file descriptors"


@attrs.frozen
class ThreadInfo:
    """A live Python thread: its name, ident, native id and daemon flag."""

    name: str
    ident: int | None
    native_id: int | None
    daemon: bool

    def describe(self) -> str:
        """One line naming the thread."""
        kind = "daemon" if self.daemon else "not daemon"
        return f"thread {self.name!r} (ident {self.ident}, native id {self.native_id}, {kind})"


@attrs.frozen
class ProcessInfo:
    """A child (or deeper descendant) process: pid, name, command line and status."""

    pid: int
    name: str
    cmdline: tuple[str, ...]
    status: str
    # With the pid, tells a process from a later one that reuses its pid.
    create_time: float
    #: True for a descendant whose parent ended, found by the audit's mark.
    #:
    #: .. versionadded:: 2.0
    orphaned: bool = False

    def describe(self) -> str:
        """One line naming the process and its command."""
        command = shlex.join(self.cmdline) if self.cmdline else "(no command line)"
        kind = "orphaned descendant process" if self.orphaned else "child process"
        return f"{kind} {self.pid} {self.name!r} [{self.status}]: {command}"


@attrs.frozen
class FdInfo:
    """An open file descriptor and what it points to (fd -1 where the platform has no numbers)."""

    fd: int
    target: str

    def describe(self) -> str:
        """One line naming the descriptor and its target."""
        return f"fd {self.fd} -> {self.target}" if self.fd >= 0 else f"open file {self.target}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@attrs.frozen
class LeakReport:
    """What was there after and not before: threads, child processes, file descriptors."""

    threads: tuple[ThreadInfo, ...] = ()
    processes: tuple[ProcessInfo, ...] = ()
    fds: tuple[FdInfo, ...] = ()
    # Descriptors the platform can count but not name (see the module doc).
    unnamed_fds: int = 0
    fd_coverage: str = _ALL_FDS

    @property
    def is_clean(self) -> bool:
        """True when nothing was left behind."""
        return not (self.threads or self.processes or self.fds or self.unnamed_fds)

    def describe(self) -> str:
        """A readable message naming every leaked thing, one per line."""
        if self.is_clean:
            return "leak audit: no leaked threads, child processes or file descriptors"
        processes = len(self.processes)
        fds = len(self.fds) + self.unnamed_fds
        counts = [
            text
            for count, text in (
                (len(self.threads), _plural(len(self.threads), "thread")),
                (processes, f"{processes} child process{'' if processes == 1 else 'es'}"),
                (fds, _plural(fds, "file descriptor")),
            )
            if count
        ]
        lines = [f"leak audit: left behind (not there before): {', '.join(counts)}"]
        lines += [f"  {thread.describe()}" for thread in self.threads]
        lines += [f"  {process.describe()}" for process in self.processes]
        lines += [f"  {fd.describe()}" for fd in self.fds]
        if self.unnamed_fds:
            lines.append(
                f"  {self.unnamed_fds} more file descriptor{'' if self.unnamed_fds == 1 else 's'}"
                " that this platform cannot name (pipes, event queues...)"
            )
        if self.fd_coverage != _ALL_FDS:
            lines.append(f"  (file descriptors seen on this platform: {self.fd_coverage})")
        return "\n".join(lines)

    def assert_clean(self) -> None:
        """Raise AssertionError with ``describe()`` unless nothing was left behind."""
        if not self.is_clean:
            raise AssertionError(self.describe())


class _Keys(NamedTuple):
    """A snapshot as plain keys: what ``audit()`` compares, building objects only for the new."""

    threads: frozenset[tuple[int | None, int | None]]
    #: (pid, start time in clock ticks) of each descendant.
    processes: frozenset[tuple[int, int]]
    fds: frozenset[tuple[int, str]]
    #: The process table's serial: what it finds later came after the snapshot.
    serial: int


@attrs.frozen
class LeakSnapshot:
    """The threads, child processes and file descriptors of this process at one moment."""

    threads: tuple[ThreadInfo, ...]
    processes: tuple[ProcessInfo, ...]
    fds: tuple[FdInfo, ...]
    unnamed_fds: int = 0
    fd_coverage: str = _ALL_FDS
    #: The mark its audit's descendants carry in their environment ("" for none).
    #:
    #: .. versionadded:: 2.0
    mark: str = ""
    #: Every process id on the machine at that moment, where a mark is looked for
    #: (on Linux, a few that ended since a process was last created may be among them).
    #:
    #: .. versionadded:: 2.0
    pids: frozenset[int] = frozenset()
    # Set by take() where /proc tells everything (Linux); a snapshot made by
    # hand, or evolved, has none and is audited the slower way, through diff().
    _keys: _Keys | None = attrs.field(default=None, init=False, eq=False, repr=False)
    # (pid, create_time) of the helpers take() left out: diff() leaves them out of
    # a later snapshot too, should the module that knew them be gone by then.
    _helpers: frozenset[tuple[int, float]] = attrs.field(
        default=frozenset(), init=False, eq=False, repr=False
    )

    @classmethod
    def take(cls, *, mark: str = "", known: frozenset[int] | None = None) -> LeakSnapshot:
        """Look at this process now.

        With a ``mark`` (see ``mark_descendants``) the snapshot keeps every pid
        on the machine, and with ``known`` too (the pids of an earlier
        snapshot), the processes not among them that carry the mark in their
        environment are there as well: as ``orphaned`` ones, when they are no
        longer descendants. ``audit()`` passes both.

        .. versionchanged:: 2.0 ``mark`` and ``known``.
        """
        psutil = _import_psutil()
        # A helper there now is no leak later, even if the module that knows it
        # is gone by then (pytester's in-process runs drop the submodules they
        # imported; a later import makes a fresh module, and a second helper).
        helper_pids, helper_fds = _process_wide_helpers()
        fd_pairs = _proc_fd_pairs(helper_fds) if os.path.isdir(_PROC_FD) else None
        if fd_pairs is not None:
            fds = tuple(FdInfo(fd, target) for fd, target in fd_pairs)
            unnamed, coverage = 0, _ALL_FDS
        else:
            fds, unnamed, coverage = _psutil_fds(psutil, helper_fds)
        threads = threading.enumerate()
        pids: frozenset[int] = frozenset()
        table = _procs.shared()
        keys = None
        if table is None:  # no /proc: psutil reads the process tree
            processes = _children(psutil, helper_pids)
            descendants = {p.pid for p in processes}
            if mark:
                pids = frozenset(psutil.pids())
        else:
            look = table.look(os.getpid())
            tree = [key for key in look.descendants if key[0] not in helper_pids]
            descendants = {pid for pid, _ in tree}
            processes = _process_infos(psutil, sorted(descendants))
            if mark:
                pids = look.pids
            if fd_pairs is not None:
                keys = _Keys(
                    threads=frozenset((t.ident, t.native_id) for t in threads),
                    processes=frozenset(look.descendants),  # the helpers' too
                    fds=frozenset(fd_pairs),
                    serial=look.serial,
                )
        if mark and known is not None:
            seen = helper_pids | descendants | {os.getpid()}
            orphans = _marked(psutil, mark, pids - known - seen, proc=table is not None)
            processes = tuple(sorted(processes + orphans, key=lambda p: p.pid))
        snapshot = cls(
            threads=tuple(_thread_info(t) for t in threads),
            processes=processes,
            fds=fds,
            unnamed_fds=unnamed,
            fd_coverage=coverage,
            mark=mark,
            pids=pids,
        )
        object.__setattr__(snapshot, "_keys", keys)  # frozen: the one way to set it
        if keys is None:  # audited through diff(), which knows a process by its create_time
            infos = _process_infos(psutil, sorted(helper_pids))
            helpers = frozenset((p.pid, p.create_time) for p in infos)
            object.__setattr__(snapshot, "_helpers", helpers)
        return snapshot

    def diff(self, later: LeakSnapshot) -> LeakReport:
        """Report what ``later`` has that this snapshot had not."""
        if not isinstance(later, LeakSnapshot):
            raise TypeError(f"later must be a LeakSnapshot, got {later!r}")
        # Idents and pids are reused once free, so each key pairs the number
        # with something the newcomer would not share with the one before.
        threads = {(t.ident, t.native_id) for t in self.threads}
        processes = {(p.pid, p.create_time) for p in self.processes} | self._helpers
        # A multiset: where fds have no numbers (Windows), one path may be open twice.
        fds = Counter((f.fd, f.target) for f in self.fds)
        new_fds = []
        for info in later.fds:
            key = (info.fd, info.target)
            if fds[key] > 0:
                fds[key] -= 1  # the same number pointing at the same thing as before
            else:
                new_fds.append(info)  # new, or a reused number pointing elsewhere
        return LeakReport(
            threads=tuple(t for t in later.threads if (t.ident, t.native_id) not in threads),
            processes=tuple(p for p in later.processes if (p.pid, p.create_time) not in processes),
            fds=tuple(new_fds),
            unnamed_fds=max(0, later.unnamed_fds - self.unnamed_fds),
            fd_coverage=later.fd_coverage,
        )

    def audit(self, grace_period: float = 1.0, *, grace: Any = _checks.UNSET) -> LeakReport:
        """Report what is there now and was not at this snapshot, after up to ``grace_period`` s.

        Threads and processes that are just finishing are given
        ``grace_period`` seconds to go: the process is looked at
        again after short pauses until nothing is left behind or the time is
        up. Nothing is joined or waited for: the audit never changes what it
        looks at.

        .. deprecated:: 1.4 ``grace``: call it ``grace_period``, as the option
           ``--itest-grace-period`` and ParallelTestEnvironment do.
        """
        seconds = _checks.renamed("grace_period", grace_period, "grace", grace, 1.0)
        deadline = time.monotonic() + _checks.seconds(seconds, "grace_period")
        pause = _FIRST_PAUSE
        while True:
            report = self._report_now()
            if report is None:
                report = self.diff(LeakSnapshot.take(mark=self.mark, known=self.pids))
            remaining = deadline - time.monotonic()
            if report.is_clean or remaining <= 0:
                return report
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, _MAX_PAUSE)

    def _report_now(self) -> LeakReport | None:
        """What is there now and was not at this snapshot, or None without its keys.

        The same report as ``diff(LeakSnapshot.take(...))``, for less: each
        thread, process and fd is a plain key until it is found new, and the
        process table reads of the machine only what changed (``_procs``).
        Orphans are looked for among the processes found after this
        snapshot, a pid that was reused meanwhile included.
        """
        keys = self._keys
        table = _procs.shared()
        if keys is None or table is None or not os.path.isdir(_PROC_FD):
            return None
        psutil = _import_psutil()
        helper_pids, helper_fds = _process_wide_helpers()
        fds = [pair for pair in _proc_fd_pairs(helper_fds) if pair not in keys.fds]
        threads = [t for t in threading.enumerate() if (t.ident, t.native_id) not in keys.threads]
        me = os.getpid()
        look = table.look(me, since=keys.serial)
        tree = [key for key in look.descendants if key[0] not in helper_pids]
        processes = _process_infos(
            psutil, [pid for pid, start in tree if (pid, start) not in keys.processes]
        )
        if self.mark:
            seen = helper_pids | {pid for pid, _ in tree} | {me}
            born = {pid for pid, _ in look.born} - seen
            orphans = _marked(psutil, self.mark, born, proc=True)
            processes = tuple(sorted(processes + orphans, key=lambda p: p.pid))
        return LeakReport(
            threads=tuple(_thread_info(t) for t in threads),
            processes=processes,
            fds=tuple(FdInfo(fd, target) for fd, target in fds),
        )


class LeakAudit:
    """Audit a block: ``with LeakAudit() as audit: ...``, then read ``audit.report``.

    .. deprecated:: 1.4 ``grace`` (argument and attribute): ``grace_period``.
    """

    def __init__(self, grace_period: float = 1.0, *, grace: Any = _checks.UNSET) -> None:
        seconds = _checks.renamed("grace_period", grace_period, "grace", grace, 1.0)
        #: Seconds the threads and processes the block started get to finish.
        self.grace_period = _checks.seconds(seconds, "grace_period")
        self.before: LeakSnapshot | None = None
        self._report: LeakReport | None = None
        self._mark = ""

    def __enter__(self) -> LeakAudit:
        self._report = None
        self._mark = mark_descendants()
        try:
            self.before = LeakSnapshot.take(mark=self._mark)
        except BaseException:
            unmark_descendants(self._mark)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # The report is made even when the block raised: what it left behind
        # is part of what went wrong. The block's own error is not hidden.
        if self.before is None:
            raise RuntimeError("LeakAudit.__exit__ called without __enter__")
        try:
            self._report = self.before.audit(self.grace_period)
        finally:
            unmark_descendants(self._mark)

    @property
    def grace(self) -> float:
        """Deprecated since 1.4: ``grace_period``."""
        warnings.warn("grace is deprecated; call it grace_period", DeprecationWarning, stacklevel=2)
        return self.grace_period

    @property
    def report(self) -> LeakReport:
        """What the block left behind; available once the ``with`` block has ended."""
        if self._report is None:
            raise RuntimeError("the report is made when the with block ends; it has not ended")
        return self._report


# -- the mark descendants inherit -------------------------------------------------------

#: The environment variable that carries the marks of the audits running.
MARK_VARIABLE = "ITEST_SHARED_LEAK_AUDIT"
_marks_lock = threading.Lock()


def mark_descendants() -> str:
    """Add a new mark to ``os.environ``, which programs started from now on inherit.

    Returns the mark; ``unmark_descendants(mark)`` takes it away. Audits can
    nest: the variable holds the marks of every audit running, ``:``-separated.

    .. versionadded:: 2.0
    """
    mark = f"{os.getpid()}-{uuid.uuid4().hex[:16]}"
    with _marks_lock:
        current = os.environ.get(MARK_VARIABLE, "")
        os.environ[MARK_VARIABLE] = f"{current}:{mark}" if current else mark
    return mark


def unmark_descendants(mark: str) -> None:
    """Take ``mark`` away from ``os.environ`` (and the variable with the last one).

    .. versionadded:: 2.0
    """
    with _marks_lock:
        marks = [m for m in os.environ.get(MARK_VARIABLE, "").split(":") if m and m != mark]
        if marks:
            os.environ[MARK_VARIABLE] = ":".join(marks)
        else:
            os.environ.pop(MARK_VARIABLE, None)


def _marked(psutil: Any, mark: str, pids: Iterable[int], *, proc: bool) -> tuple[ProcessInfo, ...]:
    """The processes among ``pids`` whose environment carries ``mark`` (``proc``: read /proc)."""
    found = []
    for pid in pids:
        try:
            if proc:
                if mark not in _proc_mark(pid).split(":"):
                    continue
                process = psutil.Process(pid)
            else:
                process = psutil.Process(pid)
                if mark not in process.environ().get(MARK_VARIABLE, "").split(":"):
                    continue
            with process.oneshot():
                info = _process_info(process, orphaned=True)
        except (psutil.Error, OSError):
            continue  # gone, or not ours to read: another user's process
        found.append(info)
    return tuple(found)


_MARK_ENTRY = f"{MARK_VARIABLE}=".encode()


def _proc_mark(pid: int) -> str:
    """The value of ``MARK_VARIABLE`` in ``pid``'s environment ("" for none), from /proc."""
    fd = os.open(f"/proc/{pid}/environ", os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    value = b""
    for entry in b"".join(chunks).split(b"\0"):
        if entry.startswith(_MARK_ENTRY):
            value = entry[len(_MARK_ENTRY) :]  # the last one wins, as in psutil's environ()
    return value.decode("utf-8", "surrogateescape")


# -- looking at the process ---------------------------------------------------------------


def _import_psutil() -> Any:
    try:
        import psutil  # type: ignore[import-untyped, unused-ignore]
    except ImportError as error:  # pragma: no cover - psutil is installed where tests run
        raise ModuleNotFoundError(
            "the leak audit needs psutil to list child processes: pip install psutil",
            name="psutil",
        ) from error
    return psutil


def _thread_info(thread: threading.Thread) -> ThreadInfo:
    return ThreadInfo(
        name=thread.name, ident=thread.ident, native_id=thread.native_id, daemon=thread.daemon
    )


# fd -> (st_dev, st_ino) of each helper's pipe seen so far: the fd stays a helper's
# while it points at that pipe, even once the module that held it is gone.
_helper_pipes: dict[int, tuple[int, int]] = {}


def _process_wide_helpers() -> tuple[set[int], set[int]]:
    """Pids and parent-side fds of the forkserver and resource tracker, where running."""
    pids: set[Any] = set()
    fds: set[Any] = set()
    for package in ("multiprocessing", "multiprocess"):
        # Only look where the package is already imported: never import it here.
        forkserver = getattr(sys.modules.get(f"{package}.forkserver"), "_forkserver", None)
        pids.add(getattr(forkserver, "_forkserver_pid", None))
        fds.add(getattr(forkserver, "_forkserver_alive_fd", None))
        tracker = getattr(sys.modules.get(f"{package}.resource_tracker"), "_resource_tracker", None)
        pids.add(getattr(tracker, "_pid", None))
        fds.add(getattr(tracker, "_fd", None))
    known = {f for f in fds if isinstance(f, int)}
    for fd in set(_helper_pipes) | known:
        try:
            status = os.fstat(fd)
        except OSError:
            _helper_pipes.pop(fd, None)
            continue
        if fd in known:
            _helper_pipes[fd] = (status.st_dev, status.st_ino)
        elif _helper_pipes.get(fd) == (status.st_dev, status.st_ino):
            known.add(fd)
        else:
            _helper_pipes.pop(fd, None)  # closed, and the number reused
    return {p for p in pids if isinstance(p, int)}, known


def _children(psutil: Any, ignored: set[int]) -> tuple[ProcessInfo, ...]:
    found = []
    for child in psutil.Process().children(recursive=True):
        if child.pid in ignored:
            continue
        try:
            with child.oneshot():
                found.append(_process_info(child))
        except psutil.NoSuchProcess:
            continue  # reaped between listing and looking: gone, not leaked
    return tuple(sorted(found, key=lambda p: p.pid))


def _process_infos(psutil: Any, pids: Iterable[int]) -> tuple[ProcessInfo, ...]:
    """A ProcessInfo of each of ``pids`` still there, in the order given."""
    found = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            with process.oneshot():
                found.append(_process_info(process))
        except psutil.NoSuchProcess:
            continue  # reaped between listing and looking: gone, not leaked
    return tuple(found)


def _process_info(process: Any, *, orphaned: bool = False) -> ProcessInfo:
    """A psutil process as a ProcessInfo (call it inside the process's ``oneshot()``)."""
    # ad_value: a zombie has no command line, and another user's process may
    # deny some fields; it is still reported.
    info = process.as_dict(["name", "cmdline", "status", "create_time"], ad_value=None)
    return ProcessInfo(
        pid=process.pid,
        name=info["name"] or "?",
        cmdline=tuple(info["cmdline"] or ()),
        status=info["status"] or "?",
        create_time=info["create_time"] or 0.0,
        orphaned=orphaned,
    )


def _proc_fd_pairs(ignored: set[int]) -> list[tuple[int, str]]:
    """(fd, target) of each open fd, from /proc, sorted."""
    found = []
    for name in os.listdir(_PROC_FD):
        fd = int(name)
        if fd in ignored:
            continue
        try:
            target = os.readlink(f"{_PROC_FD}/{name}")
        except OSError:
            # Closed since the listing: the listing's own directory fd always
            # is, and so may be one another thread closed meanwhile.
            continue
        found.append((fd, target))
    found.sort()
    return found


def _psutil_fds(psutil: Any, ignored: set[int]) -> tuple[tuple[FdInfo, ...], int, str]:
    me = psutil.Process()
    named = [FdInfo(fd=f.fd, target=f.path) for f in me.open_files()]
    coverage = "open files"
    try:
        connections = me.net_connections(kind="all")
    except (psutil.AccessDenied, NotImplementedError):
        connections = []
    else:
        coverage += " and sockets"
    named += [
        FdInfo(fd=c.fd, target=f"socket:{c.family.name}/{c.type.name}")
        for c in connections
        if c.fd >= 0  # Windows gives none: the socket cannot be told apart
    ]
    numbered = {f.fd for f in named if f.fd >= 0}
    unnamed = 0
    if hasattr(me, "num_fds"):  # POSIX: count what cannot be named
        coverage += "; others counted, not named"
        unnamed = max(0, me.num_fds() - len(numbered) - len(ignored - numbered))
    kept = tuple(sorted((f for f in named if f.fd not in ignored), key=lambda f: f.fd))
    return kept, unnamed, coverage
