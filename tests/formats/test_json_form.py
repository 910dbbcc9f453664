"""The JSON form of records: envelope, producer and record ids, exception chain, odd values."""

from __future__ import annotations

import json
import os
import pathlib
import pickle
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import itest_shared
from itest_shared import ErrorContext, ExceptionInfo, load_record
from itest_shared._jsonsafe import to_json_safe
from tests.helpers import run_together
from tests.records import (
    DOCUMENTED_FIELDS,
    ENVELOPE,
    chained_error,
    make_error_context,
    make_event,
    make_resource,
)
from tests.strategies import BrokenRepr, Opaque, any_values, is_finite_json, records_with_context

# --- envelope and JSON form -------------------------------------------------------


@given(records_with_context)
def test_to_dict_is_the_documented_shape_plus_envelope(record: Any) -> None:
    data = record.to_dict()
    # "context" (schema 1.1) is written only for a record that has one.
    context = {"context"} if record.context is not None else set()
    assert set(data) == ENVELOPE | context | set(DOCUMENTED_FIELDS[type(record)])
    assert data["schema_version"] == itest_shared.SCHEMA_VERSION == "1.2"
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
        pytest.param(
            10**5000, {"$type": "builtins.int", "repr": "<unrepresentable>"}, id="int-too-long"
        ),
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
