"""``ReadReport.by_file``: the same pass as iterating the report, file by file, without Locations.

The report reads a store this way (one Location per record was a tenth of its
time); what it sees must be what iterating the report gives: the same records at
the same lines, the same problems in the same order, the same counts.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from itest_shared.store import (
    TORN_LAST_LINE,
    Location,
    Problem,
    ReadReport,
    RecordStore,
    _read,
    validate_file,
)
from itest_shared.store._read import MAX_LINE_BYTES, parse_line

DAMAGED = (
    b'{"n": 2}\n{"n": 3, "cut in the mid\n[1, 2]\n\n   \n{"n": 4}\n\xff\xfe\n'
    b'{"n": NaN}\n{"n": 1e400}\n' + b"[" * 100_000 + b"\n{} \n"
)


def damaged_store(directory: Path) -> RecordStore:
    """Two runs: whole files, bad lines, an overlong line, a torn end, a symlink, a directory."""
    store = RecordStore(directory)
    with store.writer("a") as writer:
        writer.write({"n": 1})
    with open(writer.path, "ab") as stream:
        stream.write(DAMAGED + b'{"n": 5')  # torn last line
    runs = directory / "records"
    (runs / "a" / "long.jsonl").write_bytes(
        b'{"n": 6}\n' + b"x" * (MAX_LINE_BYTES + 10) + b'\n{"n": 7}\n' + b"y" * (MAX_LINE_BYTES + 1)
    )
    (runs / "b").mkdir()
    (runs / "b" / "empty.jsonl").write_bytes(b"")
    (runs / "b" / "dir.jsonl").mkdir()
    os.symlink(runs / "a" / "long.jsonl", runs / "b" / "link.jsonl")
    (runs / "b" / "last.jsonl").write_bytes(b'{"n": 8}\n{"n": 9}\n')
    return store


def iterated(report: ReadReport) -> list[tuple[dict[str, Any], Location]]:
    return list(report)


def by_file(report: ReadReport) -> list[tuple[dict[str, Any], Location]]:
    return [
        (item, Location(path, line)) for path, records in report.by_file() for line, item in records
    ]


def summary(report: ReadReport) -> tuple[int, int, list[Problem], str]:
    return report.records_read, report.files_read, report.problems, report.summary()


def test_by_file_reads_what_iterating_reads(tmp_path: Path) -> None:
    store = damaged_store(tmp_path)
    expected_report, actual_report = store.read(), store.read()
    expected, actual = iterated(expected_report), by_file(actual_report)
    assert actual == expected
    assert [item.get("n") for item, _ in actual] == [6, 7, 1, 2, 4, float("inf"), None, 8, 9]
    assert summary(actual_report) == summary(expected_report)
    assert actual_report.summary() == "9 records from 6 files; 12 problems"
    reasons = {p.reason.split(":")[0].split(",")[0] for p in actual_report.problems}
    assert reasons == {
        "line longer than 16777216 bytes",
        "not valid JSON",
        "not a JSON object",
        "empty line",
        "not strict JSON",
        "torn last line (writer killed mid-write?)",
        "not a regular file",
    }


def test_problems_come_between_the_records_in_file_order(tmp_path: Path) -> None:
    """Each problem is in the list by the time the record after it is read."""
    store = damaged_store(tmp_path)
    seen: list[tuple[str, int]] = []
    report = store.read()
    for path, records in report.by_file():
        for line, _ in records:
            seen += [(p.path.name, p.line) for p in report.problems]
            report.problems.clear()
            seen.append((path.name, line))
    seen += [(p.path.name, p.line) for p in report.problems]
    reference = store.read()
    expected: list[tuple[str, int]] = []
    for _, location in reference:
        expected += [(p.path.name, p.line) for p in reference.problems]
        reference.problems.clear()
        expected.append((location.path.name, location.line))
    expected += [(p.path.name, p.line) for p in reference.problems]
    assert seen == expected


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_a_file_left_part_read_is_closed_by_the_next_file_or_by_close(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    for run in ("a", "b", "c"):
        with store.writer(run) as writer:
            writer.write_many([{"i": i} for i in range(3)])
    before = open_files()
    report = store.read()
    files = report.by_file()
    path, records = next(files)
    assert path.parent.name == "a" and next(records) == (1, {"i": 0})
    assert open_files() == before + 1
    path, records = next(files)  # the first file, part-read, is closed
    assert path.parent.name == "b" and next(records) == (1, {"i": 0})
    assert open_files() == before + 1
    report.close()
    report.close()
    assert open_files() == before
    assert list(files) == [] and list(report) == []  # "c" is not opened
    assert report.records_read == 2 and report.files_read == 2


def test_a_closed_report_reads_no_more_files(tmp_path: Path) -> None:
    store = damaged_store(tmp_path)
    report = store.read()
    report.close()
    assert list(report.by_file()) == []
    assert report.summary() == "0 records from 0 files; 0 problems"


def test_each_skipped_line_is_named_as_parse_line_names_it(tmp_path: Path) -> None:
    """The reason is that of the line without its newline (json's positions count it)."""
    lines = [b'{"n": 3, "cut in the mid', b"[1, 2]", b"{", b'{"a": 1} x', b"\xff\xfe", b"   "]
    store = RecordStore(tmp_path)
    path = tmp_path / "records" / "r" / "x.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    report = store.read()
    assert list(report) == []
    assert [(p.line, p.reason) for p in report.problems] == [
        (number, parse_line(line)[1]) for number, line in enumerate(lines, 1)
    ]
    assert report.problems[2].reason == (
        "not valid JSON: Expecting property name enclosed in double quotes:"
        " line 1 column 2 (char 1)"
    )


class GrowingFile(io.BytesIO):
    """A file a writer is still appending to: its torn last line is finished after it is read."""

    def __init__(self, lines: list[bytes]) -> None:
        super().__init__()
        self._lines = lines

    def readline(self, size: int | None = -1) -> bytes:
        return self._lines.pop(0) if self._lines else b""


def test_a_torn_last_line_ends_the_file_even_if_it_grows_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What follows a torn line would be its rest, not a new line: the reader stops there."""
    path = tmp_path / "records" / "r" / "x.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    lines = [b'{"n": 1}\n', b'{"n": 2', b"0}\n", b'{"n": 3}\n']
    monkeypatch.setattr(_read, "open_record_file", lambda *_, **__: GrowingFile(list(lines)))
    report = RecordStore(tmp_path).read()
    assert [(item, location.line) for item, location in report] == [({"n": 1}, 1)]
    assert [(p.line, p.reason) for p in report.problems] == [(2, TORN_LAST_LINE)]
    # validate reads lines as the reader does (the first is no record: a problem here).
    assert [(p.line, p.reason == TORN_LAST_LINE) for p in validate_file(path)] == [
        (1, False),
        (2, True),
    ]


def test_a_report_iterated_part_way_goes_on_file_by_file_where_it_stopped(tmp_path: Path) -> None:
    store = damaged_store(tmp_path)
    expected = iterated(store.read())
    report = store.read()
    first = [next(report) for _ in range(3)]
    assert first + by_file(report) == expected
    assert summary(report)[:2] == (9, 6)


def test_every_encoding_json_reads_is_read_as_loads_strict_reads_it(tmp_path: Path) -> None:
    """Object lines are decoded by the reader: what loads_strict makes of the bytes, exactly."""
    lines = [
        b'{"a": "\xed\xa0\x80"}',  # a lone surrogate, kept (surrogatepass)
        b'{"a": "\xc2\xb5s \xe2\x80\xae"}',  # UTF-8 text
        b'{"a": "\xff"}',  # not UTF-8: a problem, named as parse_line names it
        b'\xef\xbb\xbf{"a": 1}',  # a UTF-8 BOM: json reads it (utf-8-sig)
        b'{"a": 1e400, "b": -0.0, "c": 123456789012345678901234567890}',
        b'{"a": 1} {"b": 2}',
    ]
    path = tmp_path / "records" / "r" / "x.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    report = RecordStore(tmp_path).read()
    read = [(location.line, item) for item, location in report]
    expected = [(n, parse_line(line)[0]) for n, line in enumerate(lines, 1)]
    assert read == [(n, item) for n, item in expected if item is not None]
    assert [repr(item) for _, item in read] == [repr(item) for _, item in expected if item]
    assert [(p.line, p.reason) for p in report.problems] == [
        (n, parse_line(line)[1]) for n, line in enumerate(lines, 1) if parse_line(line)[0] is None
    ]
    assert [n for n, _ in read] == [1, 2, 4, 5]
