"""The canonical records: shape, dict-style reading, JSON form, bad input, golden files."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import pickle
import threading
import time
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import itest_shared
from itest_shared import (
    ErrorContext,
    ExceptionInfo,
    FormatError,
    SchemaVersionError,
    load_record,
)
from itest_shared._jsonsafe import to_json_safe
from tests.helpers import run_together
from tests.records import (
    DOCUMENTED_FIELDS,
    ENVELOPE,
    GOLDEN,
    chained_error,
    make_error_context,
    make_event,
    make_resource,
)
from tests.strategies import (
    BrokenRepr,
    Opaque,
    any_values,
    is_finite_json,
    json_values,
    records_with_context,
)

# --- shape and dict-style reading ---------------------------------------------


@pytest.mark.parametrize("cls", DOCUMENTED_FIELDS)
def test_fields_are_exactly_the_documented_ones(cls: type) -> None:
    assert [field.name for field in attrs.fields(cls)] == DOCUMENTED_FIELDS[cls]


def test_records_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        make_resource().state = "released"  # type: ignore[misc]


def test_error_context_reads_like_the_documented_dict() -> None:
    error = chained_error()
    ctx = make_error_context(error)
    assert ctx["source_module"] == "chunker.parser" == ctx.source_module
    assert ctx["original_error"] is error
    assert ctx["context_data"]["traceback"] == ["Traceback...\n"]
    assert "traceback" in ctx["context_data"]
    assert "call_stack" in ctx["context_data"]
    assert list(ctx) == DOCUMENTED_FIELDS[ErrorContext]
    assert dict(ctx)["error_type"] == "ValueError"
    assert ctx.get("nope") is None
    with pytest.raises(KeyError):
        ctx["nope"]


def test_released_at_appears_in_the_dict_view_once_released() -> None:
    active = make_resource()
    assert "released_at" not in active
    assert active.released_at is None
    assert active.get("released_at") is None
    released = attrs.evolve(active, state="released", released_at=1795000001.0)
    assert released["state"] == "released"
    assert "released_at" in released
    assert released["released_at"] == 1795000001.0
    assert len(released) == 7 and len(active) == 6


def test_records_are_not_hashable_because_they_hold_dicts() -> None:
    with pytest.raises(TypeError):
        hash(make_event())


def test_context_data_is_copied_so_the_caller_cannot_change_the_record() -> None:
    data = {"traceback": ["t"], "call_stack": ["c"]}
    ctx = make_error_context(context_data=data)
    data["traceback"].append("changed later")
    assert ctx.context_data["traceback"] == ["t"]


@pytest.mark.parametrize(
    ("factory", "changes", "error", "field"),
    [
        (make_error_context, {"source_module": 5}, TypeError, "source_module"),
        (make_error_context, {"timestamp": "now"}, TypeError, "timestamp"),
        (make_error_context, {"timestamp": float("nan")}, ValueError, "timestamp"),
        (make_error_context, {"context_data": {"traceback": []}}, TypeError, "call_stack"),
        (make_error_context, {"original_error": "boom"}, TypeError, "original_error"),
        (make_event, {"affected_modules": ["a", 1]}, TypeError, "affected_modules"),
        (make_event, {"timestamp": True}, TypeError, "timestamp"),
        (make_resource, {"state": "gone"}, ValueError, "state"),
        (make_resource, {"state": "released"}, ValueError, "released_at"),
        (make_resource, {"released_at": 3.0}, ValueError, "released_at"),
        (make_resource, {"metadata": [1]}, TypeError, "metadata"),
    ],
)
def test_direct_construction_rejects_bad_fields(
    factory: Any, changes: dict[str, Any], error: type[Exception], field: str
) -> None:
    with pytest.raises(error, match=field):
        factory(**changes)


# --- envelope and JSON form -------------------------------------------------------


@given(records_with_context)
def test_to_dict_is_the_documented_shape_plus_envelope(record: Any) -> None:
    data = record.to_dict()
    # "context" (schema 1.1) is written only for a record that has one.
    context = {"context"} if record.context is not None else set()
    assert set(data) == ENVELOPE | context | set(DOCUMENTED_FIELDS[type(record)])
    assert data["schema_version"] == itest_shared.SCHEMA_VERSION == "1.1"
    assert data["record_id"] == record.record_id
    assert is_finite_json(data)
    line = record.to_json()
    assert "\n" not in line
    assert json.loads(line) == data


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(records_with_context)
def test_load_record_round_trips_every_field_that_travels(record: Any) -> None:
    loaded = load_record(record.to_json())
    assert loaded == record
    assert type(loaded) is type(record)
    assert loaded.record_id == record.record_id
    assert loaded.producer == record.producer
    assert loaded.context == record.context
    assert type(record).from_dict(record.to_dict()) == record
    unpickled = pickle.loads(pickle.dumps(record))
    assert unpickled == record and unpickled.context == record.context


def test_producer_names_this_process_and_thread() -> None:
    seen: dict[str, Any] = {}

    def make() -> None:
        seen["producer"] = make_event().producer

    thread = threading.Thread(target=make, name="producer-thread")
    thread.start()
    thread.join()
    assert seen["producer"] == {
        "package_version": itest_shared.__version__,
        "pid": os.getpid(),
        "thread_id": thread.ident,
        "thread_name": "producer-thread",
    }


def test_record_ids_are_unique_across_threads_and_forked_processes(contention: None) -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def make_many(_: int) -> None:
        mine = [make_event().record_id for _ in range(2000)]
        with lock:
            ids.extend(mine)

    run_together(make_many)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write_fd, make_event().record_id.encode())
        os._exit(0)
    os.close(write_fd)
    child_id = os.read(read_fd, 200).decode()
    os.close(read_fd)
    os.waitpid(pid, 0)
    assert len(ids) == 32_000
    assert len(set(ids) | {child_id, make_event().record_id}) == 32_002


# --- the exception chain ------------------------------------------------------------


def test_original_error_travels_as_its_chain() -> None:
    ctx = make_error_context(chained_error())
    data = ctx.to_dict()
    assert data["original_error"] == {
        "type": "builtins.ValueError",
        "message": "Parser timeout",
        "cause": {
            "type": "builtins.KeyError",
            "message": "'lang'",
            "cause": None,
            "context": None,
            "exceptions": [],
        },
        "context": None,
        "exceptions": [],
    }
    loaded = load_record(json.dumps(data))
    assert isinstance(loaded, ErrorContext)
    assert loaded.original_error is None
    assert loaded.error_info == ctx.error_info and loaded.error_info is not None
    assert [info.type_name for info in loaded.error_info.walk()] == ["ValueError", "KeyError"]


def test_chain_follows_context_and_exception_group_members() -> None:
    try:
        try:
            raise OSError("disk")
        except OSError:
            raise ExceptionGroup("many", [TypeError("t"), ValueError("v")]) from None
    except ExceptionGroup as exc:
        suppressed = exc
    try:
        try:
            raise OSError("first")
        except OSError:
            raise RuntimeError("second")  # noqa: B904 - the implicit context is the point
    except RuntimeError as exc:
        implicit = exc
    group = ExceptionInfo.from_exception(suppressed)
    assert group.context is None  # `from None` suppresses it, as in the printed traceback
    assert [m.type for m in group.exceptions] == ["builtins.TypeError", "builtins.ValueError"]
    info = ExceptionInfo.from_exception(implicit)
    assert info.context is not None and info.context.message == "first"


def test_a_cyclic_chain_terminates() -> None:
    first, second = ValueError("a"), ValueError("b")
    first.__context__ = second
    second.__context__ = first
    info = ExceptionInfo.from_exception(first)
    assert [i.message for i in info.walk()] == ["a", "b"]


def test_an_exception_whose_str_raises_is_still_described() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    info = ExceptionInfo.from_exception(Unprintable())
    assert info.message == "<unprintable Unprintable object>"


# --- values JSON cannot hold --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        ((1, "x"), [1, "x"]),
        (b"\x00\xff", {"$type": "bytes", "base64": "AP8="}),
        (bytearray(b"hi"), {"$type": "bytes", "base64": "aGk="}),
        (pathlib.PurePosixPath("/tmp/x.py"), "/tmp/x.py"),
        (float("nan"), {"$type": "float", "value": "nan"}),
        (float("inf"), {"$type": "float", "value": "inf"}),
        (float("-inf"), {"$type": "float", "value": "-inf"}),
        (Opaque(), {"$type": "tests.strategies.Opaque", "repr": "<Opaque>"}),
        (BrokenRepr(), {"$type": "tests.strategies.BrokenRepr", "repr": "<unrepresentable>"}),
        (
            {2: "a", None: "b", True: "c", (1, 2): "d"},
            {"2": "a", "null": "b", "true": "c", "(1, 2)": "d"},
        ),
    ],
)
def test_non_json_values_become_documented_json(value: object, expected: object) -> None:
    assert to_json_safe(value) == expected
    event = make_event(old_value=value, new_value=[value])
    data = json.loads(event.to_json())
    assert data["old_value"] == expected and data["new_value"] == [expected]


def test_self_containing_values_do_not_recurse_forever() -> None:
    loop: list[object] = [1]
    loop.append(loop)
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    record = make_resource(metadata={"loop": loop, "deep": deep})
    data = json.loads(record.to_json())
    assert data["metadata"]["loop"][1]["$type"] == "cycle"
    assert "truncated" in json.dumps(data["metadata"]["deep"])


@given(any_values, any_values)
def test_serialising_any_value_never_fails_and_is_strict_json(old: object, new: object) -> None:
    event = make_event(old_value=old, new_value=new)
    data = json.loads(event.to_json())
    assert is_finite_json(data)
    assert load_record(data) == make_event(old_value=data["old_value"], new_value=data["new_value"])


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


# --- golden files -------------------------------------------------------------------------


def golden_files() -> list[pathlib.Path]:
    return sorted(GOLDEN.glob("*/*.jsonl"))


def test_there_is_a_golden_file_per_record_type_for_schema_1_0() -> None:
    names = {path.stem for path in GOLDEN.joinpath("1.0").glob("*.jsonl")}
    assert names == {"error_context", "config_change", "resource"}


def test_there_is_a_golden_file_per_record_type_for_schema_1_1() -> None:
    names = {path.stem for path in GOLDEN.joinpath("1.1").glob("*.jsonl")}
    assert names == {"error_context", "config_change", "resource", "timing_stats"}
    assert {path.parent.name for path in golden_files()} == {"1.0", "1.1"}


@pytest.mark.parametrize("path", golden_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_golden_record_loads_forever(path: pathlib.Path) -> None:
    lines = path.read_text().splitlines()
    assert lines
    for line in lines:
        record = load_record(line)
        assert path.stem == record.RECORD_TYPE
        assert record.record_id == json.loads(line)["record_id"]
        # What loads is what was written: nothing dropped or renamed on the way.
        rewritten = record.to_dict()
        original = json.loads(line)
        for key in DOCUMENTED_FIELDS[type(record)]:
            assert rewritten[key] == original[key], key


def test_golden_error_context_keeps_its_chain() -> None:
    line = GOLDEN.joinpath("1.0", "error_context.jsonl").read_text().splitlines()[1]
    ctx = load_record(line)
    assert isinstance(ctx, ErrorContext) and ctx.error_info is not None
    types = [info.type for info in ctx.error_info.walk()]
    assert types == [
        "builtins.ExceptionGroup",
        "builtins.OSError",
        "chunker.errors.ChunkError",
        "builtins.KeyError",
    ]


def test_this_release_writes_the_shape_of_the_golden_files() -> None:
    """A change to the written shape must come with a new schema version.

    Without a context, schema 1.1 writes exactly the keys 1.0 did (a minor bump
    only adds optional ones); tests/test_formats_context.py checks the 1.1 shape.
    """
    now = {
        "error_context": make_error_context(chained_error()),
        "config_change": make_event(),
        "resource": make_resource(),
    }
    for name, record in now.items():
        golden = json.loads(GOLDEN.joinpath("1.0", f"{name}.jsonl").read_text().splitlines()[0])
        assert set(record.to_dict()) == set(golden)
        producer = record.to_dict()["producer"]
        assert isinstance(producer, dict) and set(producer) == set(golden["producer"])
    info = now["error_context"].to_dict()["original_error"]
    assert isinstance(info, dict) and set(info) == set(golden_error_info())


def golden_error_info() -> dict[str, Any]:
    line = GOLDEN.joinpath("1.0", "error_context.jsonl").read_text().splitlines()[0]
    info: dict[str, Any] = json.loads(line)["original_error"]
    return info


def test_timestamps_are_epoch_seconds() -> None:
    before = time.time()
    ctx = itest_shared.ErrorPropagationMixin().capture_cross_module_error("a", "b", ValueError())
    assert before <= ctx.timestamp <= time.time()
