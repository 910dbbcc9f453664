"""The JSON Schemas agree with the reader: golden files, generated records, broken records."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from itest_shared import SCHEMA_VERSION, FormatError, load_record
from itest_shared import schema as schema_module
from itest_shared.formats import RECORD_TYPES
from itest_shared.schema import json_schema, json_schemas
from tests.records import (
    CONTEXT,
    GOLDEN,
    NEWER_MINOR,
    chained_error,
    golden_record_files,
    make_environment,
    make_error_context,
    make_event,
    make_resource,
    make_stats,
    make_test_result,
)
from tests.strategies import json_values, records_with_context

VALIDATORS = {name: Draft202012Validator(schema) for name, schema in json_schemas().items()}


def schema_accepts(data: Any) -> bool:
    """True if the schema of some record type accepts ``data``."""
    return any(validator.is_valid(data) for validator in VALIDATORS.values())


def reader_accepts(data: Any) -> bool:
    try:
        load_record(data)
    except FormatError:
        return False
    return True


def valid_records() -> dict[str, dict[str, Any]]:
    """One valid JSON form of each record type, with a context."""
    made = [
        make_error_context(chained_error()),
        make_event(),
        make_resource(),
        make_stats(),
        make_test_result(),
        make_environment(),
    ]
    return {record.RECORD_TYPE: record.with_context(CONTEXT).to_dict() for record in made}


# --- the schemas themselves ---------------------------------------------------------


def test_there_is_a_valid_draft_2020_12_schema_per_record_type() -> None:
    schemas = json_schemas()
    assert list(schemas) == sorted(RECORD_TYPES)
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"https://itest-shared.invalid/schema/{SCHEMA_VERSION}/{name}.json"
        assert schema["properties"]["record_type"] == {"const": name}
        assert schema["type"] == "object" and schema["additionalProperties"] is True
        assert set(schema["$defs"]) == {
            "producer",
            "context",
            "worktree",
            "exception_info",
            "failure",
        }
        assert schema["title"] and schema["description"]
        assert schema == json_schema(name)
    json.loads(json.dumps(schemas))


def test_every_field_of_every_record_class_is_a_required_property() -> None:
    for name, cls in RECORD_TYPES.items():
        schema = json_schema(name)
        fields = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
        assert set(fields) <= set(schema["properties"]), name
        assert schema["required"] == [
            "record_type",
            "schema_version",
            "record_id",
            "producer",
            *fields,
        ]
        assert "context" in schema["properties"] and "context" not in schema["required"]


def test_a_field_without_a_schema_entry_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """What makes adding a field to a record without describing it here fail."""
    fields = dict(schema_module._FIELD_SCHEMAS)
    fields["resource"] = {k: v for k, v in fields["resource"].items() if k != "metadata"}
    monkeypatch.setattr(schema_module, "_FIELD_SCHEMAS", fields)
    with pytest.raises(RuntimeError, match="resource fields: metadata"):
        json_schema("resource")


def test_each_call_returns_a_schema_of_its_own() -> None:
    first = json_schema("resource")
    first["properties"]["state"]["enum"].append("gone")
    first["$defs"]["producer"]["required"].clear()
    assert json_schema("resource")["properties"]["state"] == {
        "enum": ["active", "released", "leaked"]
    }
    assert json_schema("resource")["$defs"]["producer"]["required"]


def test_unknown_record_type_is_a_value_error_listing_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"record_type must be one of config_change, .*'nope'"):
        json_schema("nope")
    for bad in (None, 5, b"resource", ["resource"]):
        with pytest.raises(TypeError, match="record_type must be a str"):
            json_schema(bad)  # type: ignore[arg-type]


# --- what the schemas accept ------------------------------------------------------------


@pytest.mark.parametrize("path", golden_record_files(), ids=lambda p: str(p.relative_to(GOLDEN)))
def test_every_golden_record_validates(path: pathlib.Path) -> None:
    for line in path.read_text().splitlines():
        data = json.loads(line)
        if path.parent == NEWER_MINOR and data["record_type"] not in VALIDATORS:
            continue  # a type of a later minor: this release has no schema for it
        VALIDATORS[data["record_type"]].validate(data)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(records_with_context)
def test_every_record_this_release_writes_validates(record: Any) -> None:
    VALIDATORS[record.RECORD_TYPE].validate(json.loads(record.to_json()))


def test_envelope_keys_the_reader_requires_are_exactly_the_required_ones() -> None:
    for name, data in valid_records().items():
        required = json_schema(name)["required"]
        for key in data:
            damaged = {k: v for k, v in data.items() if k != key}
            assert reader_accepts(damaged) == schema_accepts(damaged) == (key not in required)


# --- what both refuse ---------------------------------------------------------------------


def broken_records() -> list[tuple[str, dict[str, Any]]]:
    """Records that are wrong in one way each: every kind of field, and the envelope."""
    good = valid_records()
    context: dict[str, Any] = good["resource"]["context"]
    cases: list[tuple[str, str, Any]] = [
        ("resource", "state", "gone"),
        ("resource", "state", None),
        ("resource", "created_at", "yesterday"),
        ("resource", "created_at", True),
        ("resource", "metadata", []),
        ("resource", "released_at", 3.0),  # set while active
        ("resource", "resource_id", 5),
        ("error_context", "context_data", {"traceback": []}),
        ("error_context", "context_data", {"traceback": "x", "call_stack": []}),
        ("error_context", "context_data", {"traceback": [1], "call_stack": []}),
        ("error_context", "original_error", {"type": 1, "message": "m"}),
        ("error_context", "original_error", {"message": "m"}),
        ("error_context", "original_error", {"type": "t", "message": "m", "cause": "c"}),
        ("error_context", "original_error", "ValueError"),
        ("error_context", "error_type", None),
        ("config_change", "affected_modules", "abc"),
        ("config_change", "affected_modules", ["a", 2]),
        ("config_change", "timestamp", "now"),
        ("timing_stats", "count", 0),
        ("timing_stats", "count", 2.5),
        ("timing_stats", "count", "3"),
        ("timing_stats", "count", False),
        ("timing_stats", "total", -1),
        ("timing_stats", "p95", None),
        ("timing_stats", "operation", ""),
        ("timing_stats", "operation", 5),
        ("test_result", "node_id", ""),
        ("test_result", "outcome", "broken"),
        ("test_result", "outcome", "passed"),  # with a failed_phase
        ("test_result", "failed_phase", None),  # while failed
        ("test_result", "failed_phase", "collect"),
        ("test_result", "call_duration", -0.5),
        ("test_result", "setup_duration", "1s"),
        ("test_result", "failure", "AssertionError"),
        (
            "test_result",
            "failure",
            {"exception_type": "", "message": "m", "location": None, "longrepr": None},
        ),
        ("test_result", "failure", {"exception_type": "E", "message": "m", "location": None}),
        ("test_result", "markers", "slow"),
        ("test_result", "rerun", -1),
        ("test_result", "rerun", 1.5),
        ("test_result", "rerun", True),
        ("environment", "dirty", 0),
        ("environment", "dirty", "no"),
        ("environment", "cpu_count", 0),
        ("environment", "cpu_count", True),
        ("environment", "packages", {"pytest": 8}),
        ("environment", "packages", ["pytest"]),
        ("environment", "worktree", {"path": "/x", "branch": None}),
        ("environment", "host", None),
        ("environment", "tree_hash", 5),
        ("config_change", "schema_version", "2.0"),
        ("config_change", "schema_version", "1"),
        ("config_change", "schema_version", "1.01"),
        ("config_change", "schema_version", 1.1),
        ("config_change", "record_type", "resource"),
        ("config_change", "record_id", ""),
        ("config_change", "producer", {"pid": 1}),
        ("config_change", "producer", {**good["resource"]["producer"], "pid": "1"}),
        ("resource", "context", []),
        ("resource", "context", {**context, "test": 5}),
        ("resource", "context", {k: v for k, v in context.items() if k != "run_id"}),
        ("resource", "context", {**context, "worktree": {**context["worktree"], "path": 5}}),
        ("resource", "context", {**context, "worktree": {"path": "/x", "branch": None}}),
    ]
    # Ids by position: values such as the producer's thread id differ between
    # runs, and pytest-xdist needs every worker to collect the same ids.
    broken = [
        (f"{kind}.{key}-{index}", {**good[kind], key: value})
        for index, (kind, key, value) in enumerate(cases)
    ]
    for kind, data in good.items():
        for key in json_schema(kind)["required"]:
            broken.append((f"{kind} without {key}", {k: v for k, v in data.items() if k != key}))
    return broken


@pytest.mark.parametrize(("case", "data"), broken_records(), ids=[c for c, _ in broken_records()])
def test_what_the_reader_refuses_the_schema_refuses(case: str, data: dict[str, Any]) -> None:
    assert not reader_accepts(data)
    assert not schema_accepts(data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(RECORD_TYPES)), st.data())
def test_reader_and_schema_agree_on_damaged_records(kind: str, data: st.DataObject) -> None:
    """Damage one key, or one key inside an object (producer, context, context_data...)."""
    record = dict(valid_records()[kind])
    key = data.draw(st.sampled_from(sorted(record)))
    value = record[key]
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        inner = dict(value)
        inner[data.draw(st.sampled_from(sorted(inner)))] = data.draw(json_values)
        record[key] = inner
    elif data.draw(st.booleans()):
        del record[key]
    else:
        record[key] = data.draw(json_values)
    assert reader_accepts(record) == schema_accepts(record), (key, record.get(key))
