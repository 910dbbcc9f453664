"""Reading record files line by line: records, torn lines and bad lines reported as ``file:line``.

The reader never raises on bad data and never holds more than one line: a line
that is not a complete JSON object becomes a :class:`Problem` and is skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import attrs

from .. import _checks
from .._jsonsafe import json_kind
from ..exceptions import FormatError
from ..formats import load_record

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
        elif len(raw) <= MAX_LINE_BYTES:
            # Shorter than the limit and no newline: the end of the file. Stop
            # here even if the file grows meanwhile (a live writer finishing the
            # line): what follows would be the rest of this line, not a new one.
            yield number, raw, False
            return
        else:
            # Too long to be ours: drop it chunk by chunk, so memory stays bounded.
            while raw and not raw.endswith(b"\n"):
                raw = readline(MAX_LINE_BYTES)
            yield number, None, bool(raw)
            if not raw:
                return


def parse_line(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """Decode one complete line; return ``(object, "")`` or ``(None, reason)``."""
    if not raw.strip():
        return None, "empty line"
    try:
        value = json.loads(raw)
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


def read_file_lines(
    path: Path, problems: list[Problem]
) -> Iterator[tuple[dict[str, Any], Location]]:
    """Stream the JSON objects of one file; append a Problem for each skipped line."""
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the with below, in a generator
    except OSError as error:
        # A file removed or unreadable between listing and opening: say so, go on.
        problems.append(Problem(path, 0, f"cannot read: {error.strerror or error}"))
        return
    with stream:
        for number, raw, complete in _lines(stream):
            if raw is None or not complete:
                problems.append(Problem(path, number, _incomplete_reason(raw, complete)))
                continue
            value, reason = parse_line(raw)
            if value is None:
                problems.append(Problem(path, number, reason))
            else:
                yield value, Location(path, number)


class ReadReport(Iterator[tuple[dict[str, Any], Location]]):
    """One streaming pass over record files: yields ``(record, location)``, collects problems."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.problems: list[Problem] = []
        #: How many records were yielded and files opened so far.
        self.records_read = 0
        self.files_read = 0
        self._paths = iter(paths)
        self._current: Iterator[tuple[dict[str, Any], Location]] = iter(())

    def __iter__(self) -> ReadReport:
        return self

    def __next__(self) -> tuple[dict[str, Any], Location]:
        while True:
            item = next(self._current, None)
            if item is not None:
                self.records_read += 1
                return item
            path = next(self._paths)  # StopIteration ends the pass
            self.files_read += 1
            self._current = read_file_lines(path, self.problems)

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


def validate_file(path: str | os.PathLike[str]) -> Iterator[Problem]:
    """Check every line of a record file with ``load_record``; yield a Problem per bad line."""
    path = _checks.path(path, "path")
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the with below, in a generator
    except OSError as error:
        yield Problem(path, 0, f"cannot read: {error.strerror or error}")
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
            try:
                load_record(value)
            except FormatError as error:
                yield Problem(path, number, str(error))
