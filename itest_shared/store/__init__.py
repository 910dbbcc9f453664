"""The shared record store: many writers at once, one file each, read back as a stream.

Layout (one directory tree, any number of runs, worktrees and hosts)::

    <directory>/records/<run_id>/<host>-<pid>-<token>.jsonl

Every :class:`RecordWriter` appends to its own file, named by host, process id
and a random token, so no two writers ever share a file: lines cannot
interleave, and a writer killed mid-write can tear only the last line of its
own file. Each record is one JSON line, written with a single ``os.write`` on an
``O_APPEND`` descriptor under a per-writer lock, so one writer is safe to share
between threads. A forked child that inherits a writer gets a file of its own.

.. versionadded:: 1.2
"""

from __future__ import annotations

import json
import os
import re
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .. import _checks
from .._jsonsafe import NotStrictJSON, loads_strict
from ..formats import RECORD_TYPES, Record, RecordContext
from ._prune import PrunedRun, PruneResult, hold_run, prune_runs
from ._read import (
    MAX_LINE_BYTES,
    TORN_LAST_LINE,
    Location,
    Problem,
    ReadReport,
    validate_file,
)
from ._read import open_record_file as open_record_file

__all__ = [
    "MAX_LINE_BYTES",
    "TORN_LAST_LINE",
    "Location",
    "Problem",
    "PruneResult",
    "PrunedRun",
    "ReadReport",
    "RecordStore",
    "RecordWriter",
    "stamped_lines",
    "validate_file",
]

RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_RUN_ID_RULE = (
    "1-128 characters of letters, digits, '.', '_' and '-', starting with a letter or digit"
)
_SUFFIX = ".jsonl"
# The record classes, for a check cheaper than isinstance (Record is an ABC).
_RECORD_CLASSES = frozenset(RECORD_TYPES.values())
# Every writer alive in this process, so that a forked child can reset them all.
_writers: weakref.WeakSet[RecordWriter] = weakref.WeakSet()


def check_run_id(run_id: object) -> str:
    """Return ``run_id`` if it can name a run directory; raise TypeError/ValueError if not."""
    if not isinstance(run_id, str):
        raise TypeError(f"run_id must be a str, got {type(run_id).__name__}")
    # A strict whitelist, not a blacklist of '/' and '..': the id becomes a
    # directory name on every platform and in every worktree.
    if RUN_ID_RE.fullmatch(run_id) is None:
        raise ValueError(f"run_id must be {_RUN_ID_RULE}; got {run_id!r}")
    return run_id


def _host() -> str:
    uname = getattr(os, "uname", None)
    if uname is not None:
        name: str = uname().nodename
    else:  # pragma: no cover - Windows has no os.uname
        import socket  # only here, on Windows

        name = socket.gethostname()
    # The host name goes into a file name: keep only what is safe there.
    return re.sub(r"[^A-Za-z0-9.-]", "_", name)[:64] or "host"


def _encode(item: object) -> bytes:
    """Return ``item`` as one JSON line ending in a newline, or raise naming the problem."""
    if isinstance(item, Record):
        # Built from parts by the record itself: no json.dumps of a whole dict,
        # and no parse to check it (bench_store.py).
        data = item._json_line()
        if len(data) > MAX_LINE_BYTES:
            raise ValueError(_too_long(data))
        return data
    if isinstance(item, Mapping):
        try:
            text = json.dumps(dict(item), allow_nan=False, separators=(",", ":"))
        except TypeError as error:
            raise TypeError(f"record is not JSON-serialisable: {error}") from None
        except ValueError as error:
            # allow_nan=False: Python would write NaN, which no JSON reader accepts.
            raise ValueError(
                f"record is not JSON-serialisable: {error} (NaN and infinities have no JSON form)"
            ) from None
        except RecursionError:
            raise ValueError("record is not JSON-serialisable: nested too deeply") from None
    elif isinstance(item, str):
        text = item[:-1] if item.endswith("\n") else item
        if "\n" in text or "\r" in text:
            raise ValueError("record line must be one line of JSON; it contains a line break")
        try:
            value = loads_strict(text)
        except NotStrictJSON as error:
            raise ValueError(f"record line is not strict JSON: {error}") from None
        except (ValueError, RecursionError) as error:
            raise ValueError(f"record line is not valid JSON: {error}") from None
        if not isinstance(value, dict):
            raise ValueError(f"record line must be a JSON object, got {type(value).__name__}")
    else:
        raise TypeError(
            "record must be a Record (ErrorContext, ConfigChangeEvent, ResourceRecord),"
            f" a dict or a JSON line (str); got {type(item).__name__}"
        )
    try:
        data = (text + "\n").encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"record line is not valid UTF-8 text: {error}") from None
    if len(data) > MAX_LINE_BYTES:
        raise ValueError(_too_long(data))
    return data


def _too_long(line: bytes) -> str:
    return f"record is {len(line)} bytes as JSON; the store takes at most {MAX_LINE_BYTES}"


def stamped_lines(records: Iterable[Record], context: RecordContext) -> list[bytes]:
    """Return the lines ``RecordWriter.write_many(records, context=context)`` would write.

    Each is ``record.with_context(context)`` as one JSON line ending in a
    newline, made without copying the record. A record that is not a Record
    raises TypeError, and a line over the store's limit ValueError, naming its
    index. An xdist worker stamps its records with this and hands the lines to
    the controller, which writes them (``Recorder.take_lines``).

    .. versionadded:: 2.2
    """
    if not isinstance(context, RecordContext):
        raise TypeError(f"context must be a RecordContext or None, got {context!r}")
    chunks = []
    for index, record in enumerate(records):
        if type(record) not in _RECORD_CLASSES and not isinstance(record, Record):
            raise TypeError(
                f"records[{index}] must be a Record (ErrorContext, ConfigChangeEvent,"
                f" ResourceRecord, TimingStatsRecord) to take a context,"
                f" got {type(record).__name__}"
            )
        chunks.append(record._json_line(context))
    if sum(map(len, chunks)) > MAX_LINE_BYTES:  # then one line may be too long: find it
        for index, line in enumerate(chunks):
            if len(line) > MAX_LINE_BYTES:
                raise ValueError(f"records[{index}]: {_too_long(line)}")
    return chunks


class RecordWriter:
    """Appends records to this process's own file of a run; safe to share between threads."""

    def __init__(self, directory: Path, run_id: str) -> None:
        self.run_id = check_run_id(run_id)
        self.directory = Path(directory) / "records" / run_id
        self._lock = threading.Lock()
        self._closed = False
        self._start_file()
        _writers.add(self)

    def _start_file(self) -> None:
        # Not opened until the first write: a writer that writes nothing leaves no file.
        self._fd: int | None = None
        # The run directory, held open with a shared flock while the file is
        # open: `prune` removes no run a writer holds (_prune.hold_run).
        self._run_fd: int | None = None
        self._size = 0  # bytes this writer has put in its file
        self._pid = os.getpid()
        self._path = self._new_path()
        self.records_written = 0

    def _new_path(self) -> Path:
        token = os.urandom(6).hex()
        return self.directory / f"{_host()}-{self._pid}-{token}{_SUFFIX}"

    @property
    def path(self) -> Path:
        """The file this process's records go to (created by the first write)."""
        return self._path

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def _open(self) -> int:
        if self._run_fd is None:
            self._run_fd = hold_run(self.directory)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL
        while True:
            try:
                # In the directory held, not by path: the one prune sees as busy.
                return os.open(self._path.name, flags, 0o644, dir_fd=self._run_fd)
            except FileExistsError:
                # 48 random bits make this all but impossible; O_EXCL makes it
                # harmless: never append to a file another writer owns.
                self._path = self._new_path()

    def write(self, record: Record | Mapping[str, Any] | str) -> None:
        """Append one record (a Record, a JSON-serialisable dict or a JSON line) as one line.

        A write that raises leaves nothing in the file (see :meth:`write_many`).
        """
        self._append(_encode(record), 1)

    def write_many(
        self,
        records: Iterable[Record | Mapping[str, Any] | str],
        *,
        context: RecordContext | None = None,
    ) -> int:
        """Append several records with one write; return how many were written.

        With ``context``, every record is written stamped with it: the lines of
        ``record.with_context(context)``, without making the copies. The records
        must then all be Records (TypeError otherwise, naming the index).

        .. versionchanged:: 2.1 ``context``.

        Every record is encoded first: if any of them is bad, the error names its
        index and nothing is written. The batch reaches the file in one
        ``os.write``: a writer killed with SIGKILL leaves whole lines of it and at
        most a torn last line that readers skip, never a damaged earlier record.
        A write that fails part-way (disk full, file size limit) is cut off again
        before the OSError is raised: none of the batch stays, and a reader
        passing at that moment may have seen part of it. Should cutting fail
        too, the error's note says how many records stayed whole, and later
        writes go to a new file.
        """
        if context is not None:
            return self._write_stamped(records, context)
        chunks = []
        for index, record in enumerate(records):
            try:
                chunks.append(_encode(record))
            except (TypeError, ValueError) as error:
                raise type(error)(f"records[{index}]: {error}") from None
        if chunks:
            self._append(b"".join(chunks), len(chunks))
        return len(chunks)

    def _write_stamped(self, records: Iterable[Any], context: RecordContext) -> int:
        # write_many(context=...): the hot path of --itest-record (bench_store.py).
        chunks = stamped_lines(records, context)
        if chunks:
            self._append(b"".join(chunks), len(chunks))
        return len(chunks)

    def _append(self, data: bytes, count: int) -> None:
        # Encoding happens before this, outside the lock: bad input fails before
        # any state changes.
        with self._lock:
            if self._closed:
                raise ValueError(f"cannot write to a closed RecordWriter ({self._path})")
            if self._pid != os.getpid():
                # Forked without Python's fork hooks (rare): never append to the parent's file.
                self._start_file()
            fd = self._fd
            if fd is None:
                fd = self._fd = self._open()
            try:
                written = os.write(fd, data)
                if written < len(data):
                    # A regular-file write returns short only on a signal or a
                    # full disk; carry on from where it stopped, so the line
                    # stays whole (or the next call raises: disk still full).
                    view = memoryview(data)[written:]
                    while view:
                        view = view[os.write(fd, view) :]
            except BaseException as error:
                # ENOSPC, EFBIG, or a signal handler's exception after a short write.
                self._take_back(fd, data, count, error)
                raise
            self._size += len(data)
            self.records_written += count

    def _take_back(self, fd: int, data: bytes, count: int, error: BaseException) -> None:
        """Cut what a failed write left at the end of the file (the lock is held).

        Without this, the fragment of a cut-off line would stay, and the next
        successful write would append its record onto it: a confirmed record
        made unreadable. ``_size`` is the length before the write (the file is
        this writer's own), known without a syscall per write. O_APPEND makes
        the next write go to the new end, leaving no hole.
        """
        try:
            os.ftruncate(fd, self._size)
        except OSError as cut_error:
            # The file cannot be repaired: leave it as it is (readers report its
            # torn last line) and go on in a new file, so no later record lands
            # on the fragment. Say how many records of the write stayed whole.
            try:
                stayed = str(data[: os.fstat(fd).st_size - self._size].count(b"\n"))
            except OSError:
                stayed = "an unknown number"
            os.close(fd)
            self._fd = None
            self._size = 0
            old, self._path = self._path, self._new_path()
            error.add_note(
                f"{old}: the write failed part-way and could not be cut off"
                f" ({cut_error.strerror or cut_error}): {stayed} of its {count} record(s)"
                " stayed in that file, whole; later writes go to a new file"
            )
            return
        error.add_note(
            f"{self._path}: none of the {count} record(s) of this write is in the file"
            " (cut back to its length before the write)"
        )

    def _after_fork_in_child(self) -> None:
        # Another thread of the parent may have held the lock at fork time; it
        # does not exist here, so the lock would never be released.
        self._lock = threading.Lock()
        for fd in (self._fd, self._run_fd):
            if fd is not None:
                os.close(fd)  # the child's copy only; the parent's descriptor stays open
        self._start_file()

    def close(self) -> None:
        """Close the file; idempotent. Writes after this raise ValueError."""
        with self._lock:
            self._closed = True
            fd, self._fd = self._fd, None
            run_fd, self._run_fd = self._run_fd, None
        if fd is not None:
            os.close(fd)
        if run_fd is not None:
            os.close(run_fd)  # after the file: the run stays held while it is open

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        for name in ("_fd", "_run_fd"):
            fd = getattr(self, name, None)
            if fd is not None:
                os.close(fd)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Sent to a worker (spawn, forkserver, xdist), a writer arrives as a new
        # writer of the same run with a file of its own.
        return _rebuild_writer, (str(self.directory.parent.parent), self.run_id)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self.records_written} written"
        return f"<RecordWriter {str(self._path)!r} {state}>"


def _rebuild_writer(directory: str, run_id: str) -> RecordWriter:
    return RecordWriter(Path(directory), run_id)


def _after_fork_in_child() -> None:
    for writer in list(_writers):
        writer._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class RecordStore:
    """A directory of record files shared by threads, processes, xdist workers and worktrees."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        directory = _checks.path(directory, "directory")
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(f"directory {str(self.directory)!r} exists and is not a directory")

    def writer(self, run_id: str) -> RecordWriter:
        """Return a new writer of ``run_id``, appending to a file of its own."""
        return RecordWriter(self.directory, run_id)

    def runs(self) -> list[str]:
        """Return the run ids that have a directory in the store, sorted.

        A symlink to a directory counts as a run here, so that reading it
        reports it (not followed) instead of skipping it unseen.
        """
        try:
            entries = list(os.scandir(self.directory / "records"))
        except FileNotFoundError:
            return []
        return sorted(
            e.name for e in entries if e.is_dir() and RUN_ID_RE.fullmatch(e.name) is not None
        )

    def files(self, run_id: str | None = None) -> list[Path]:
        """Return the record files of one run (or of every run), sorted by run and name.

        Every ``*.jsonl`` entry is listed, whatever it is: the reader opens only
        regular files and reports the rest (symlinks, FIFOs, directories) as
        problems, named. A run directory that is a symlink is listed itself, so
        that it is reported the same way, not followed out of the store.
        """
        runs = self.runs() if run_id is None else [check_run_id(run_id)]
        paths: list[Path] = []
        for run in runs:
            directory = self.directory / "records" / run
            if directory.is_symlink():
                paths.append(directory)
                continue
            try:
                entries = list(os.scandir(directory))
            except (FileNotFoundError, NotADirectoryError):
                continue
            names = sorted(e.name for e in entries if e.name.endswith(_SUFFIX))
            paths.extend(directory / name for name in names)
        return paths

    def read(self, run_id: str | None = None) -> ReadReport:
        """Stream ``(record dict, Location)`` of a run (or all runs); problems collect on it."""
        paths = self.files(run_id)  # run_id is checked now, not on first next()
        return ReadReport(paths)

    def iter_records(self, run_id: str | None = None) -> ReadReport:
        """Same as :meth:`read`: iterate it for records, then look at its ``problems``."""
        return self.read(run_id)

    def iter_problems(self, run_id: str | None = None) -> Iterator[Problem]:
        """Read a run (or all runs) through and yield each skipped line as it is found."""
        report = self.read(run_id)
        seen = 0
        for _ in report:
            while seen < len(report.problems):
                yield report.problems[seen]
                seen += 1
        yield from report.problems[seen:]

    def prune(
        self,
        *,
        keep_last: int | None = None,
        older_than: datetime | None = None,
        dry_run: bool = False,
        min_idle: timedelta = timedelta(hours=1),
    ) -> PruneResult:
        """Remove old runs: all but the newest ``keep_last`` per worktree, or those before a date.

        A run belongs to each worktree its records name (``report``'s grouping:
        the worktree path; records without one, and runs with no readable
        record, form the group ``"(no worktree)"``), and is kept if it is among
        the newest ``keep_last`` runs of any of them. With both rules, a run is
        removed only if both would remove it. Runs are dated by their id (the UTC
        start time ``new_run_id`` puts first); a run id that does not start with
        one is never removed. ``older_than`` must carry a time zone.

        Safe while others write: a run a writer holds open (this release's
        writers hold their run from their first record until ``close``) is
        kept, as is any run written to within ``min_idle`` (writers of releases
        before 2.2 hold nothing), one holding a directory, and, for
        ``keep_last``, one with a file prune cannot read (its worktree is
        unknown). A run is removed whole: readers see all of it or none of it,
        and a prune killed part-way leaves only a hidden tombstone, which the
        next prune removes. Symlinks are removed, never followed. ``dry_run``
        removes nothing and says what would be removed.

        .. versionadded:: 2.2
        """
        if keep_last is not None:
            if isinstance(keep_last, bool) or not isinstance(keep_last, int):
                raise TypeError(f"keep_last must be an int or None, got {type(keep_last).__name__}")
            if keep_last < 1:
                raise ValueError(f"keep_last must be >= 1, got {keep_last}")
        if older_than is not None:
            if not isinstance(older_than, datetime):
                raise TypeError(
                    f"older_than must be a datetime or None, got {type(older_than).__name__}"
                )
            if older_than.utcoffset() is None:
                raise ValueError(
                    f"older_than must carry a time zone (run ids are UTC), got {older_than!r}"
                )
        if keep_last is None and older_than is None:
            raise ValueError("give keep_last, older_than or both: which runs should go?")
        if not isinstance(dry_run, bool):
            raise TypeError(f"dry_run must be a bool, got {type(dry_run).__name__}")
        if not isinstance(min_idle, timedelta):
            raise TypeError(f"min_idle must be a timedelta, got {type(min_idle).__name__}")
        if min_idle < timedelta(0):
            raise ValueError(f"min_idle must be >= 0, got {min_idle!r}")
        return prune_runs(
            self.directory,
            RUN_ID_RE,
            keep_last=keep_last,
            older_than=older_than,
            dry_run=dry_run,
            min_idle=min_idle,
        )

    def __repr__(self) -> str:
        return f"RecordStore({str(self.directory)!r})"
