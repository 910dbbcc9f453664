"""Loading bad input: FormatError naming the field, schema versions, arbitrary JSON and text."""

from __future__ import annotations

import contextlib
import json
import pickle
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itest_shared import ErrorContext, FormatError, SchemaVersionError, load_record
from tests.records import make_error_context, make_event, make_resource, make_stats
from tests.strategies import json_values, records_with_context

# --- bad input --------------------------------------------------------------------------


def valid(record: Any = None) -> dict[str, Any]:
    return (record or make_resource()).to_dict()


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ("{not json", ["not JSON"]),
        ("[1, 2]", ["JSON object", "array"]),
        (b"\xff\xfe", ["not JSON"]),
        ("5", ["JSON object"]),
        ({**valid(), "state": "gone"}, ["state", "gone", "active"]),
        ({**valid(), "created_at": "yesterday"}, ["created_at", "number"]),
        ({**valid(), "resource_id": 5, "owner_module": None}, ["resource_id", "owner_module"]),
        ({**valid(), "metadata": []}, ["metadata", "object"]),
        ({k: v for k, v in valid().items() if k != "owner_module"}, ["owner_module", "missing"]),
        ({**valid(), "record_type": "nope"}, ["record_type", "nope", "error_context"]),
        ({k: v for k, v in valid().items() if k != "record_type"}, ["record_type", "missing"]),
        ({**valid(), "schema_version": 1.0}, ["schema_version", "string"]),
        ({**valid(), "schema_version": "one"}, ["schema_version", "MAJOR.MINOR"]),
        ({**valid(), "producer": {"pid": "x"}}, ["producer.pid", "producer.thread_name"]),
        ({**valid(), "record_id": ""}, ["record_id"]),
        ({**valid(make_event()), "affected_modules": "abc"}, ["affected_modules", "array"]),
        ({**valid(make_event()), "affected_modules": ["a", 2]}, ["affected_modules", "string"]),
        ({**valid(make_error_context()), "context_data": {"traceback": "x"}}, ["traceback"]),
        ({**valid(make_error_context()), "original_error": {"type": 1}}, ["original_error.type"]),
        ({**valid(make_error_context()), "timestamp": float("inf")}, ["timestamp", "finite"]),
        ("[" * 100_000 + "]" * 100_000, ["nested"]),
    ],
)
def test_bad_input_raises_format_error_naming_the_field(data: Any, names: list[str]) -> None:
    with pytest.raises(FormatError) as caught:
        load_record(data)
    for name in names:
        assert name in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_from_dict_of_one_type_refuses_another() -> None:
    with pytest.raises(FormatError, match=r"use itest_shared\.load_record"):
        ErrorContext.from_dict(make_resource().to_dict())


def test_unknown_fields_and_newer_minor_versions_are_accepted() -> None:
    data = {**valid(), "schema_version": "1.7", "added_in_1_7": {"x": 1}}
    assert load_record(data) == make_resource()


def test_unknown_major_version_names_what_was_found_and_what_is_supported() -> None:
    with pytest.raises(SchemaVersionError) as caught:
        load_record({**valid(), "schema_version": "2.0"})
    assert "'2.0'" in str(caught.value) and "1.x" in str(caught.value)
    assert caught.value.found == "2.0" and caught.value.supported == ("1",)
    assert isinstance(caught.value, FormatError)
    again = pickle.loads(pickle.dumps(caught.value))
    assert str(again) == str(caught.value) and again.found == "2.0"


@settings(max_examples=300)
@given(json_values)
def test_arbitrary_json_raises_only_format_error(value: object) -> None:
    for data in (value, json.dumps(value)):
        with contextlib.suppress(FormatError):
            load_record(data)  # type: ignore[arg-type]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(records_with_context, st.data())
def test_damaged_records_raise_only_format_error(record: Any, data: st.DataObject) -> None:
    damaged = record.to_dict()
    key = data.draw(st.sampled_from(sorted(damaged)))
    if data.draw(st.booleans()):
        del damaged[key]
    else:
        damaged[key] = data.draw(json_values | st.floats())
    try:
        loaded = load_record(damaged)
    except FormatError as error:
        assert key in str(error) or "nested" in str(error)
    else:
        assert type(loaded) is type(record)


@given(st.text() | st.binary())
def test_arbitrary_text_raises_only_format_error(text: str | bytes) -> None:
    with pytest.raises(FormatError):
        load_record(text)


# --- values that cannot even be printed, and versions of other majors -------------------

HUGE = 10**10000  # Python refuses to print it (sys.get_int_max_str_digits)


@pytest.mark.parametrize("field", ["schema_version", "record_type", "record_id", "producer"])
def test_a_huge_number_in_the_envelope_is_a_format_error_naming_the_field(field: str) -> None:
    with pytest.raises(FormatError) as caught:
        load_record({**valid(), field: HUGE})
    assert f"{field}: expected" in str(caught.value)
    assert "a number of over 4300 digits" in str(caught.value)


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (make_resource(), "state"),
        (make_resource(), "created_at"),
        (make_event(), "timestamp"),
        (make_resource(), "producer.pid"),
    ],
)
def test_a_huge_number_in_a_field_is_a_format_error_naming_the_field(
    record: Any, field: str
) -> None:
    data = valid(record)
    owner, _, key = field.rpartition(".")
    if owner:
        data[owner] = {**data[owner], key: HUGE}
    else:
        data[field] = HUGE
    with pytest.raises(
        FormatError, match=rf"{field}: expected .*, got a number of over 4300 digits"
    ):
        load_record(data)


@pytest.mark.parametrize(("field", "kind"), [("total", "number"), ("count", "integer")])
def test_a_number_beyond_the_range_of_a_double_is_no_finite_number(field: str, kind: str) -> None:
    """json.loads keeps 10**309 exact; readers in other languages cannot hold it."""
    message = f"{field}: expected a finite {kind}, got a number of 310 digits"
    with pytest.raises(FormatError, match=message):
        load_record({**valid(make_stats()), field: 10**309})


@pytest.mark.parametrize("version", ["2.0.0", "2", "2.x", "3.1.4", "0.9", "12345678901.0"])
def test_a_version_of_a_major_this_release_does_not_read_is_a_schema_version_error(
    version: str,
) -> None:
    """Only the leading major is common to every major's versions: the rest may change."""
    with pytest.raises(SchemaVersionError) as caught:
        load_record({**valid(), "schema_version": version})
    assert caught.value.found == version and caught.value.supported == ("1",)


@pytest.mark.parametrize(
    "version", ["1.0.0", "1", "1.01", "01.0", "2abc", "2\n", "", " 1.0", "v2.0"]
)
def test_a_version_that_is_not_major_minor_of_a_readable_major_is_a_format_error(
    version: str,
) -> None:
    with pytest.raises(FormatError, match=r"schema_version: expected 'MAJOR\.MINOR'") as caught:
        load_record({**valid(), "schema_version": version})
    assert not isinstance(caught.value, SchemaVersionError)


# --- every problem, named -------------------------------------------------------------


def problems(data: Any) -> list[str]:
    with pytest.raises(FormatError) as caught:
        load_record(data)
    assert not isinstance(caught.value, SchemaVersionError)
    return str(caught.value).split("; ")


def test_a_record_of_nothing_names_every_missing_envelope_key() -> None:
    assert problems({"bad": 1}) == [
        "schema_version: required field missing",
        "record_type: required field missing (so the record's fields were not checked)",
        "record_id: required field missing",
        "producer: required field missing",
    ]


def test_envelope_and_field_problems_come_in_one_error() -> None:
    data = {**valid(), "schema_version": "1", "record_id": 5, "state": "gone"}
    data["context"] = {"test": 1, "run_id": None, "worktree": None}
    del data["owner_module"]
    assert problems(data) == [
        "schema_version: expected 'MAJOR.MINOR', got '1'",
        "record_id: expected a non-empty string, got the number 5",
        "context.test: expected a string or null, got the number 1",
        "owner_module: required field missing",
        "state: expected one of active, released, leaked, got 'gone'",
    ]


def test_an_unknown_record_type_is_named_with_the_envelope_problems() -> None:
    data = {**valid(), "record_type": "coverage", "producer": [], "lines": "x"}
    found = problems(data)
    assert found[0].startswith(
        "record_type: expected one of config_change, environment, error_context, resource,"
        " test_result, timing_stats, got"
    )
    assert found[0].endswith("got 'coverage' (so the record's fields were not checked)")
    assert found[1:] == ["producer: expected an object, got an array"]


def test_a_record_of_another_type_is_still_checked_as_its_own_type() -> None:
    data = {**valid(), "state": "gone"}
    assert problems_of(ErrorContext, data) == [
        "record_type: expected 'error_context', got 'resource'"
        " (use itest_shared.load_record to read any record type)",
        "state: expected one of active, released, leaked, got 'gone'",
    ]


def problems_of(cls: Any, data: Any) -> list[str]:
    with pytest.raises(FormatError) as caught:
        cls.from_dict(data)
    return str(caught.value).split("; ")


def test_an_unsupported_major_is_refused_alone_whatever_else_is_wrong() -> None:
    """A record of a major this release does not read cannot be checked at all."""
    with pytest.raises(SchemaVersionError):
        load_record({"schema_version": "2.0", "record_id": 5})
