"""Reading record files line by line: records, torn lines and bad lines reported as ``file:line``.

The reader never raises on bad data and never holds more than one line: a line
that is not a complete JSON object (strict JSON, RFC 8259: no NaN or Infinity)
becomes a :class:`Problem` and is skipped. It opens only regular files, without
following a symlink or blocking on a FIFO; anything else is a Problem, named.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from .. import _checks
from .._jsonsafe import NotStrictJSON, json_kind, loads_strict
from ..exceptions import FormatError
from ..formats import (
    RECORD_TYPES,
    SCHEMA_VERSION,
    SCHEMA_VERSION_RE,
    SUPPORTED_MAJORS,
    load_record,
)

#: What a reader says of a last line without its newline. Every record a writer
#: finished ends in ``\n``, so such a line is one whose write never completed.
TORN_LAST_LINE = "torn last line (writer killed mid-write?)"

#: Longest line the store writes or reads. It bounds the reader's memory: a
#: damaged file with no newline in a gigabyte is skipped, not loaded.
MAX_LINE_BYTES = 16 * 1024 * 1024


@attrs.frozen
class Location:
    """Where a record was read: its file and 1-based line number."""

    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@attrs.frozen
class Problem:
    """A line that was skipped, or a file that could not be read, and why."""

    path: Path
    #: 1-based line number; 0 when the problem is the file as a whole.
    line: int
    reason: str

    def __str__(self) -> str:
        if self.line == 0:
            return f"{self.path}: {self.reason}"
        return f"{self.path}:{self.line}: {self.reason}"


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None, bool]]:
    """Yield ``(line number, line without newline or None if too long, complete)``."""
    number = 0
    readline = stream.readline
    while True:
        raw = readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if raw.endswith(b"\n"):
            yield number, raw[:-1], True
            continue
        line, complete = _rest_of_line(readline, raw)
        yield number, line, complete
        if not complete:
            return


def _rest_of_line(readline: Callable[[int], bytes], raw: bytes) -> tuple[bytes | None, bool]:
    """For ``raw`` read without its newline: ``(the line or None if too long, complete)``.

    Not complete means the file ended: stop reading it.
    """
    if len(raw) <= MAX_LINE_BYTES:
        # Shorter than the limit and no newline: the end of the file. Stop
        # here even if the file grows meanwhile (a live writer finishing the
        # line): what follows would be the rest of this line, not a new one.
        return raw, False
    # Too long to be ours: drop it chunk by chunk, so memory stays bounded.
    while raw and not raw.endswith(b"\n"):
        raw = readline(MAX_LINE_BYTES)
    return None, bool(raw)


def parse_line(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """Decode one complete line; return ``(object, "")`` or ``(None, reason)``."""
    if not raw.strip():
        return None, "empty line"
    try:
        value = loads_strict(raw)
    except NotStrictJSON as error:
        return None, f"not strict JSON: {error}"
    except RecursionError:
        return None, "not valid JSON: nested too deeply"
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        return None, f"not valid JSON: {error}"
    if not isinstance(value, dict):
        return None, f"not a JSON object: got {json_kind(value)}"
    return value, ""


def _incomplete_reason(raw: bytes | None, complete: bool) -> str:
    if raw is None:
        ending = "" if complete else ", torn at the end of the file"
        return f"line longer than {MAX_LINE_BYTES} bytes, skipped{ending}"
    return TORN_LAST_LINE


# What a path is, when it is not a regular file (a record file is always one).
_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}
# O_NONBLOCK: opening a FIFO waits for a writer, for ever; with it the open
# returns at once and fstat names what was opened. O_NOFOLLOW: a symlink in the
# store could point anywhere (/etc/passwd, records outside the store).
# O_NOCTTY: a terminal named as a record file must not become ours.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def open_record_file(path: Path, *, follow_symlinks: bool = False) -> IO[bytes] | str:
    """Open a regular file for reading, or return why not (a reason for a Problem).

    Never blocks and never raises on what it finds: a symlink (unless
    ``follow_symlinks``), a FIFO, a device, a directory or a missing file is
    named in the returned reason. What is checked is what was opened (fstat of
    the descriptor), so a file swapped after listing cannot get past it.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS | (0 if follow_symlinks else _NOFOLLOW))
    except OSError as error:
        # O_NOFOLLOW refuses with ELOOP (EMLINK on FreeBSD); islink tells it
        # from a loop further up the path.
        symlink = error.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path)
        if symlink and not follow_symlinks:
            return "not a regular file: a symbolic link, not followed"
        return f"cannot read: {error.strerror or error}"
    try:
        mode = os.fstat(fd).st_mode
    except OSError as error:
        os.close(fd)
        return f"cannot read: {error.strerror or error}"
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = _KINDS.get(stat.S_IFMT(mode), f"file type {stat.S_IFMT(mode):o}")
        return f"not a regular file: {kind}, not read"
    return os.fdopen(fd, "rb")


class ReadReport(Iterator[tuple[dict[str, Any], Location]]):
    """One streaming pass over record files: yields ``(record, location)``, collects problems."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.problems: list[Problem] = []
        #: How many records were yielded and files opened so far.
        self.records_read = 0
        self.files_read = 0
        self._paths = iter(paths)
        self._path = Path()
        self._current: Iterator[tuple[int, dict[str, Any]]] = iter(())

    def __iter__(self) -> ReadReport:
        return self

    def __next__(self) -> tuple[dict[str, Any], Location]:
        while True:
            item = next(self._current, None)
            if item is not None:
                return item[1], Location(self._path, item[0])
            self._path = next(self._paths)  # StopIteration ends the pass
            self.files_read += 1
            self._current = self._records_of(self._path)

    def by_file(self) -> Iterator[tuple[Path, Iterator[tuple[int, dict[str, Any]]]]]:
        """The same pass, file by file: ``(path, records)``, records as ``(line, record)``.

        A record's :class:`Location` is ``Location(path, line)``; counts and
        problems collect as when iterating the report, and a report iterated
        part-way goes on with the rest of its file. Read each file's records
        before asking for the next file: a file left part-read is closed. For
        readers that need a location only now and then (``report``: a Location
        per record and the generator layers were most of the 0.19x its reading
        added to a bare ``json.loads`` loop, issue 11, bench_report.py).

        .. versionadded:: 2.1
        """
        if self.files_read:  # iterated part-way: the rest of that file first
            yield self._path, self._current
        while (path := next(self._paths, None)) is not None:
            self.files_read += 1
            self._path = path
            records = self._current = self._records_of(path)
            yield path, records

    def _records_of(self, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(line, record)`` of each JSON object of one file; a Problem for each skipped line."""
        # Files come from a store directory that anyone may write to: never follow a
        # symlink out of it. A file removed between listing and opening is named too.
        stream = open_record_file(path)
        problems = self.problems
        if isinstance(stream, str):
            problems.append(Problem(path, 0, stream))
            return
        # What _lines and parse_line do, in one loop: every record passes here, and
        # their generator layer and call per line cost `report` (bench_report.py).
        with stream:
            readline = stream.readline
            number = 0
            while raw := readline(MAX_LINE_BYTES + 1):
                number += 1
                if not raw.endswith(b"\n"):
                    line, complete = _rest_of_line(readline, raw)
                    problems.append(Problem(path, number, _incomplete_reason(line, complete)))
                    if complete:
                        continue
                    return
                line = raw[:-1]
                try:
                    # The bytes as they are: orjson reads UTF-8 without decoding first.
                    value = loads_strict(line)
                except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
                    value = None  # parse_line names why, below
                if not isinstance(value, dict):
                    value, reason = parse_line(line)
                    if value is None:
                        problems.append(Problem(path, number, reason))
                        continue
                self.records_read += 1
                yield number, value

    def close(self) -> None:
        """Stop early and close the open file; idempotent."""
        current = self._current
        if hasattr(current, "close"):
            current.close()
        self._current = iter(())
        self._paths = iter(())

    def summary(self) -> str:
        """One line: how many records and files were read, and how many lines were skipped."""
        return (
            f"{self.records_read} records from {self.files_read} files;"
            f" {len(self.problems)} problems"
        )


def validate_file(
    path: str | os.PathLike[str],
    *,
    follow_symlinks: bool = False,
    newer_types: list[Problem] | None = None,
    check: Callable[[Mapping[str, Any]], str | None] | None = None,
) -> Iterator[Problem]:
    """Check every line of a record file with ``load_record``; yield a Problem per bad line.

    Only a regular file is read: anything else (a FIFO, a device, a directory)
    is one Problem at line 0, without blocking. A symlink is such a Problem too,
    unless ``follow_symlinks``: give it for a file a user named, not for one
    found in a store directory, where a link may point anywhere.

    A record of a type this release does not know, written in a newer minor of a
    schema major it reads (a 1.5 ``coverage`` record), is valid forward-compatible
    data (CONTRIBUTING: a minor may add record types): it is not yielded, and is
    appended to ``newer_types``, if given, so that the caller can say so.

    ``check``, if given, is called with each record that loads (its JSON object,
    in file order); a reason it returns is a Problem for that line. ``itest-shared
    validate`` passes ``itest_shared.report.AnalysisCheck()``, so that it flags
    what ``report`` would not analyse.

    .. versionchanged:: 1.5 ``follow_symlinks``; symlinks, FIFOs and devices are
       problems; records of newer-minor types are not (``newer_types``).

    .. versionchanged:: 2.0 ``check``.
    """
    path = _checks.path(path, "path")
    if not isinstance(follow_symlinks, bool):
        raise TypeError(f"follow_symlinks must be a bool, got {type(follow_symlinks).__name__}")
    if newer_types is not None and not isinstance(newer_types, list):
        raise TypeError(f"newer_types must be a list or None, got {type(newer_types).__name__}")
    if check is not None and not callable(check):
        raise TypeError(f"check must be a callable or None, got {type(check).__name__}")
    return _validate(path, follow_symlinks, newer_types, check)


# (major, minor) of the schema this release writes: it knows every type up to it.
_WRITTEN = tuple(int(part) for part in SCHEMA_VERSION.split("."))


def _newer_type(value: dict[str, Any]) -> str | None:
    """Why ``value`` is a record of a newer minor's type, or None if it is not one."""
    record_type, version = value.get("record_type"), value.get("schema_version")
    if not isinstance(record_type, str) or record_type in RECORD_TYPES:
        return None
    match = SCHEMA_VERSION_RE.fullmatch(version) if isinstance(version, str) else None
    if match is None:
        return None
    major, minor = int(match.group(1)), int(match.group(2))
    if major not in SUPPORTED_MAJORS or (major, minor) <= _WRITTEN:
        return None
    return (
        f"record type {record_type!r} of schema {version} is newer than this release"
        f" (schema {SCHEMA_VERSION}): not checked"
    )


def _validate(
    path: Path,
    follow_symlinks: bool,
    newer_types: list[Problem] | None,
    check: Callable[[Mapping[str, Any]], str | None] | None,
) -> Iterator[Problem]:
    stream = open_record_file(path, follow_symlinks=follow_symlinks)
    if isinstance(stream, str):
        yield Problem(path, 0, stream)
        return
    with stream:
        for number, raw, complete in _lines(stream):
            if raw is None or not complete:
                yield Problem(path, number, _incomplete_reason(raw, complete))
                continue
            value, reason = parse_line(raw)
            if value is None:
                yield Problem(path, number, reason)
                continue
            newer = _newer_type(value)
            if newer is not None:
                if newer_types is not None:
                    newer_types.append(Problem(path, number, newer))
                continue
            try:
                load_record(value)
            except FormatError as error:
                yield Problem(path, number, str(error))
                continue
            refused = None if check is None else check(value)
            if refused:
                yield Problem(path, number, refused)
