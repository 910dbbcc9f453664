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
from tests.records import make_error_context, make_event, make_resource
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
