"""The store holds strict JSON (RFC 8259): NaN and the infinities are refused and flagged."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from itest_shared.formats import ResourceRecord
from itest_shared.store import RecordStore, validate_file

# Python's json reads these three words; RFC 8259 has no such values, and strict
# readers in other languages (JSON.parse, serde_json, encoding/json) refuse them.
NON_JSON_CONSTANTS = ["NaN", "Infinity", "-Infinity"]


def _record_line(constant: str) -> str:
    """A valid resource record whose free-form ``metadata`` holds ``constant``."""
    good = ResourceRecord(resource_id="a", resource_type="lock", owner_module="m", created_at=1.0)
    return good.to_json().replace('"metadata":{}', f'"metadata":{{"load":{constant}}}')


@pytest.mark.parametrize("constant", NON_JSON_CONSTANTS)
def test_a_line_with_nan_or_infinity_is_refused_and_nothing_is_written(
    tmp_path: Path, constant: str
) -> None:
    line = _record_line(constant)
    assert constant in line
    with RecordStore(tmp_path).writer("r") as writer:
        writer.write({"ok": 1})
        before = writer.path.read_bytes()
        with pytest.raises(ValueError, match=f"record line is not strict JSON: {constant} "):
            writer.write(line)
        with pytest.raises(ValueError, match=r"^records\[1\]: record line is not strict JSON"):
            writer.write_many(['{"fine": 1}', f'{{"deep": [1, {{"x": {constant}}}]}}'])
        assert writer.path.read_bytes() == before and writer.records_written == 1


def test_nan_in_a_dict_is_still_refused(tmp_path: Path) -> None:
    with RecordStore(tmp_path).writer("r") as writer, pytest.raises(ValueError, match="NaN"):
        writer.write({"x": math.inf})


@pytest.mark.parametrize("constant", NON_JSON_CONSTANTS)
def test_validate_and_the_reader_both_flag_nan_and_infinity(tmp_path: Path, constant: str) -> None:
    store = RecordStore(tmp_path)
    with store.writer("r") as writer:
        writer.write(_record_line("1.0"))
    path = writer.path
    with open(path, "ab") as stream:  # written by some other, laxer tool
        stream.write(f"{_record_line(constant)}\n{_record_line('2.5')}\n".encode())
    reason = f"not strict JSON: {constant} is not a JSON value (RFC 8259 has no NaN or Infinity)"
    problems = list(validate_file(path))
    assert [(p.line, p.reason) for p in problems] == [(2, reason)]
    report = store.read("r")
    assert [loc.line for _, loc in report] == [1, 3]
    assert [(p.line, p.reason) for p in report.problems] == [(2, reason)]


def test_a_string_that_spells_nan_is_fine(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    with store.writer("r") as writer:
        writer.write('{"word": "NaN", "Infinity": -1e308}')
    assert next(iter(validate_file(writer.path))).reason.startswith("schema_version")
    assert [data for data, _ in store.read("r")] == [{"word": "NaN", "Infinity": -1e308}]
