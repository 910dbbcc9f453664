"""Loaded records: the version they were written in, and writing them again unchanged."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itest_shared import SCHEMA_VERSION, load_record
from tests.records import CONTEXT, GOLDEN, make_event, make_resource
from tests.strategies import any_values, records_with_context


def golden_lines(version: str) -> list[str]:
    return [
        line
        for path in sorted(GOLDEN.glob(f"{version}/*.jsonl"))
        for line in path.read_text().splitlines()
    ]


# --- the version a record was written in ------------------------------------------------


def test_a_record_made_here_is_of_the_schema_this_release_writes() -> None:
    assert make_resource().schema_version == SCHEMA_VERSION == "1.2"


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_a_loaded_golden_record_reports_the_version_it_was_written_in(version: str) -> None:
    lines = golden_lines(version)
    assert lines
    for line in lines:
        assert load_record(line).schema_version == version


def test_a_record_of_a_newer_minor_reports_that_minor() -> None:
    data = {**make_resource().to_dict(), "schema_version": "1.7", "added_in_1_7": 1}
    assert load_record(data).schema_version == "1.7"


def test_a_loaded_older_record_is_written_in_the_schema_of_this_release() -> None:
    """to_dict() writes what this release's code writes: this release's shape and version."""
    line = golden_lines("1.0")[0]
    loaded = load_record(line)
    written = loaded.to_dict()
    assert written["schema_version"] == SCHEMA_VERSION
    assert set(written) == set(json.loads(line))  # a 1.0 record without context: the 1.0 keys
    again = load_record(written)
    assert again.schema_version == SCHEMA_VERSION and again == loaded


def test_copies_keep_the_version_a_record_was_written_in() -> None:
    loaded = load_record(golden_lines("1.0")[0])
    assert pickle.loads(pickle.dumps(loaded)).schema_version == "1.0"
    assert loaded.with_context(CONTEXT).schema_version == "1.0"


# --- writing a loaded record again gives the same line ----------------------------------


def nested(depth: int, leaf: object) -> object:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def rewritten(line: str) -> str:
    return load_record(line).to_json()


def test_a_record_at_the_nesting_limit_is_written_again_unchanged() -> None:
    """Issue 10: each load-and-write added a "truncated" wrapper (510 -> 544 -> 580 bytes)."""
    record = make_resource(metadata={"deep": nested(5000, 1)})
    line = record.to_json()
    sizes = [len(line)]
    for _ in range(3):
        line = rewritten(line)
        sizes.append(len(line))
    assert sizes == [sizes[0]] * 4
    assert "truncated" in line


@pytest.mark.parametrize("leaf", [b"\x00", float("nan"), float("-inf"), object(), {1, 2}, [1]])
@pytest.mark.parametrize("depth", [98, 99, 100, 101])
def test_tagged_values_at_the_nesting_limit_are_written_again_unchanged(
    depth: int, leaf: object
) -> None:
    line = make_resource(metadata={"x": nested(depth, leaf)}).to_json()
    assert rewritten(line) == line


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(records_with_context)
def test_every_record_is_written_again_unchanged(record: Any) -> None:
    line = record.to_json()
    assert rewritten(line) == line


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(any_values, any_values, st.integers(min_value=90, max_value=110))
def test_records_of_any_values_are_written_again_unchanged(
    old: object, new: object, depth: int
) -> None:
    line = make_event(old_value=old, new_value=nested(depth, new)).to_json()
    assert rewritten(line) == line
    line = make_resource(metadata={"v": old, "deep": nested(depth, new)}).to_json()
    assert rewritten(line) == line


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_a_golden_record_written_once_by_this_release_is_then_written_unchanged(
    version: str,
) -> None:
    for line in golden_lines(version):
        once = rewritten(line)
        assert rewritten(once) == once
