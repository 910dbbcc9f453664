"""TimingStatsRecord: checks on construction, from_stats, and reading it back."""

from __future__ import annotations

import math
import time
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from itest_shared import FormatError, TimingStats, TimingStatsRecord, json_schema, load_record
from tests.records import DOCUMENTED_FIELDS, make_stats

# --- TimingStatsRecord ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"count": 0}, ValueError, "count must be an int >= 1, got 0"),
        ({"count": -3}, ValueError, "count must be an int >= 1"),
        ({"count": True}, TypeError, "count must be an int >= 1, got True"),
        ({"count": 2.0}, TypeError, "count must be an int"),
        ({"total": float("nan")}, ValueError, "total must be a finite number >= 0"),
        ({"p99": float("inf")}, ValueError, "p99 must be a finite number >= 0"),
        ({"min": -0.5}, ValueError, "min must be a finite number >= 0"),
        ({"stdev": "0.1"}, TypeError, "stdev must be a number of seconds"),
        ({"max": False}, TypeError, "max must be a number of seconds"),
        ({"operation": ""}, ValueError, "operation must be a non-empty str"),
        ({"operation": 5}, TypeError, "operation must be a non-empty str"),
        ({"timestamp": float("nan")}, ValueError, "timestamp must be finite"),
    ],
)
def test_timing_stats_record_rejects_bad_fields(
    changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make_stats(**changes)


def test_timing_stats_record_accepts_ints_for_seconds_and_reads_like_a_dict() -> None:
    record = make_stats(total=3, min=0)
    assert record["total"] == 3 and record["operation"] == "parse"
    assert list(record) == DOCUMENTED_FIELDS[TimingStatsRecord]
    assert load_record(record.to_json()) == record


def test_timing_stats_fields_are_those_of_timing_stats_plus_timestamp() -> None:
    names = [field.name for field in attrs.fields(TimingStats)]
    assert [field.name for field in attrs.fields(TimingStatsRecord)] == [*names, "timestamp"]


def test_from_stats_round_trips() -> None:
    stats = TimingStats.from_samples("parse", [0.25, 0.5, 0.125, 2.0])
    before = time.time()
    record = TimingStatsRecord.from_stats(stats)
    assert before <= record.timestamp <= time.time()
    for field in attrs.fields(TimingStats):
        assert record[field.name] == getattr(stats, field.name)
    again = load_record(record.to_json())
    assert again == record and isinstance(again, TimingStatsRecord)
    assert TimingStatsRecord.from_stats(stats, timestamp=12.5).timestamp == 12.5


@given(
    st.text(min_size=1, max_size=10),
    st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=20),
)
def test_from_stats_of_any_samples_round_trips(operation: str, samples: list[float]) -> None:
    record = TimingStatsRecord.from_stats(TimingStats.from_samples(operation, samples), 1.0)
    assert load_record(record.to_json()) == record
    assert math.isclose(record.total, math.fsum(samples))


def test_from_stats_refuses_what_is_not_timing_stats() -> None:
    with pytest.raises(TypeError, match="stats must be a TimingStats, got dict"):
        TimingStatsRecord.from_stats({"operation": "x"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timestamp must be a number"):
        TimingStatsRecord.from_stats(TimingStats.from_samples("x", [1.0]), "now")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"count": "3"}, ["count: expected an integer, got a string"]),
        ({"count": True}, ["count: expected an integer, got a boolean"]),
        ({"count": 2.5}, ["count: expected an integer, got the number 2.5"]),
        ({"count": 0}, ["count must be an int >= 1"]),
        ({"p95": -1}, ["p95 must be a finite number >= 0"]),
        ({"operation": ""}, ["operation must be a non-empty str"]),
    ],
)
def test_reading_a_bad_timing_stats_record_names_the_field(
    changes: dict[str, Any], names: list[str]
) -> None:
    with pytest.raises(FormatError) as caught:
        load_record({**make_stats().to_dict(), **changes})
    for name in names:
        assert name in str(caught.value)


@pytest.mark.parametrize("field", DOCUMENTED_FIELDS[TimingStatsRecord])
def test_every_timing_stats_field_is_required(field: str) -> None:
    data = make_stats().to_dict()
    del data[field]
    with pytest.raises(FormatError, match=f"{field}: required field missing"):
        load_record(data)


def test_an_integral_number_is_an_integer_as_in_json_schema() -> None:
    data = make_stats().to_dict()
    data["count"] = 3.0
    data["producer"] = {**data["producer"], "pid": 4242.0}  # type: ignore[dict-item]
    loaded = load_record(data)
    assert loaded["count"] == 3 and type(loaded["count"]) is int


def test_count_is_bounded_by_2_to_the_64_here_in_the_reader_and_in_the_schema() -> None:
    """The record, load_record (so validate) and the JSON Schema agree with the report's bound."""
    assert make_stats(count=2**64).count == 2**64
    with pytest.raises(
        ValueError,
        match=r"count must be an int from 1 to 2\*\*64, got the number 18446744073709551617",
    ):
        make_stats(count=2**64 + 1)
    data = make_stats().to_dict() | {"count": 2**64 + 1}
    with pytest.raises(FormatError, match="count"):
        load_record(data)
    assert not Draft202012Validator(json_schema("timing_stats")).is_valid(data)
    assert Draft202012Validator(json_schema("timing_stats")).is_valid(data | {"count": 2**64})
