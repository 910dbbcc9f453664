"""The store's own encoding of Records, and the orjson path of strict reading (issue 11).

The store writes a Record from parts (``Record._json_line``) with orjson, not
``json.dumps(record.to_dict())``; ``loads_strict`` reads with orjson first. Both
must give exactly what the standard library gives, for any record and any text.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import threading
import uuid
from pathlib import Path
from typing import Any

import multiprocess  # type: ignore[import-untyped, unused-ignore]
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from itest_shared import RecordContext, ResourceRecord, WorktreeInfo, load_record
from itest_shared._jsonsafe import (
    _FINITE_DECODER,
    _STRICT_DECODER,
    dumps_compact,
    json_safe_view,
    loads_strict,
    to_json_safe,
)
from itest_shared.formats import ConfigChangeEvent, Record
from itest_shared.store import RecordStore
from tests.strategies import any_values, record_contexts, records, records_with_context

# Every code point, lone surrogates included: Python strings may hold them
# (file names read with surrogateescape), orjson refuses them, json escapes them.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)


def _resource(resource_id: str) -> ResourceRecord:
    return ResourceRecord(
        resource_id=resource_id, resource_type="t", owner_module="m", created_at=1.0
    )


def _line_value(line: bytes) -> Any:
    assert line.endswith(b"\n") and b"\n" not in line[:-1], line
    return json.loads(line)


@given(records_with_context)
def test_the_stores_line_is_the_records_json_form(record: Record) -> None:
    line = record._json_line()
    value = _line_value(line)
    assert value == json.loads(record.to_json())
    assert list(value) == list(record.to_dict())  # the same keys in the same order
    assert load_record(line) == record


@given(records, record_contexts)
def test_a_stamped_line_is_the_line_of_the_record_with_that_context(
    record: Record, context: RecordContext
) -> None:
    stamped = record.with_context(context)
    assert record._json_line(context) == stamped._json_line()
    assert _line_value(record._json_line(context)) == json.loads(stamped.to_json())
    assert record.context is None  # not changed by being written with one


class Colour(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    HIGH = 3


class Name(str):
    pass


@dataclasses.dataclass
class Point:
    x: int


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def _cycle() -> dict[str, Any]:
    looped: dict[str, Any] = {"name": "loop"}
    looped["self"] = looped
    return looped


HOSTILE_VALUES = [
    "\udc80 lone surrogate",
    "é ü 中文 \u2028 \x00 \x1f",
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    -(2**63) - 1,
    10**40,
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    1e16,
    5e-324,
    Colour.RED,
    Level.HIGH,
    Name("a str subclass"),
    (1, "tuple"),
    {3, 1, 2},
    b"\x00bytes",
    Path("/some/path"),
    uuid.UUID(int=7),
    datetime.datetime(2026, 12, 7, 12, 0),
    Point(1),
    _nested(99),
    _nested(100),
    _nested(150),
    _nested(300),
    _cycle(),
    {1: "int key", None: "none key", "": "empty key"},
]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda value: type(value).__name__)
def test_any_user_value_is_written_as_to_json_writes_it(value: object) -> None:
    record = ResourceRecord(
        resource_id="r", resource_type="t", owner_module="m", created_at=1.0, metadata={"v": value}
    )
    event = ConfigChangeEvent(
        config_path="p", old_value=value, new_value=[value], affected_modules=["m"], timestamp=1.0
    )
    for item in (record, event):
        assert _line_value(item._json_line()) == json.loads(item.to_json())
        assert dumps_compact(json_safe_view(value)) == dumps_compact(to_json_safe(value))


def test_the_line_keeps_non_ascii_text_as_utf8(tmp_path: Path) -> None:
    # As README says ("Recording"): the same value as to_json(), its own bytes.
    record = ResourceRecord(
        resource_id="é", resource_type="t", owner_module="m", created_at=1.0, metadata={"f": 1e-05}
    )
    with RecordStore(tmp_path).writer("r") as writer:
        writer.write(record)
    line = writer.path.read_bytes()
    assert '"resource_id":"é"'.encode() in line and b"\\u00e9" in record.to_json().encode()
    assert json.loads(line) == json.loads(record.to_json())


@given(any_values)
def test_json_safe_view_encodes_as_to_json_safe(value: object) -> None:
    assert json.loads(dumps_compact(json_safe_view(value))) == json.loads(
        dumps_compact(to_json_safe(value))
    )


def test_records_of_a_renamed_thread_name_it(tmp_path: Path) -> None:
    # Records of a thread share one producer dict, and the store caches its
    # encoding by identity: a rename must give later records a new one.
    thread = threading.current_thread()
    old_name = thread.name
    try:
        thread.name = "before-rename"
        first = _resource("a")
        first._json_line()
        thread.name = "after-rename"
        second = _resource("b")
    finally:
        thread.name = old_name
    assert _line_value(first._json_line())["producer"]["thread_name"] == "before-rename"
    assert _line_value(second._json_line())["producer"]["thread_name"] == "after-rename"
    assert first.producer["thread_name"] == "before-rename"


def test_records_of_other_threads_name_their_thread() -> None:
    lines: dict[str, bytes] = {}

    def make(name: str) -> None:
        record = _resource(name)
        lines[name] = record._json_line()

    threads = [threading.Thread(target=make, args=(f"t{i}",), name=f"t{i}") for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {name: _line_value(line)["producer"]["thread_name"] for name, line in lines.items()} == {
        f"t{i}": f"t{i}" for i in range(8)
    }


def _child_producer_pid(queue: Any) -> None:
    record = _resource("c")
    queue.put(json.loads(record._json_line())["producer"]["pid"])


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_a_child_process_names_its_own_pid(method: str) -> None:
    # The parent makes a record first, so a forked child inherits the cached producer.
    _resource("p")._json_line()
    context = multiprocess.get_context(method)
    queue = context.Queue()
    child = context.Process(target=_child_producer_pid, args=(queue,))
    child.start()
    pid = queue.get(timeout=60)
    child.join(60)
    assert pid == child.pid


def _worktree() -> WorktreeInfo:
    return WorktreeInfo(path=Path("/w"), branch="main", commit="0" * 40)


def test_write_many_with_a_context_writes_each_record_stamped(tmp_path: Path) -> None:
    made = [_resource(str(i)) for i in range(3)]
    first = RecordContext(test="t.py::a", run_id="r", worktree=_worktree())
    second = RecordContext(test="t.py::b", run_id="r", worktree=None)
    with RecordStore(tmp_path).writer("r") as writer:
        assert writer.write_many(made, context=first) == 3
        assert writer.write_many(made[:1], context=second) == 1
        assert writer.write_many(made[1:]) == 2
    read = [record for record, _ in RecordStore(tmp_path).read("r")]
    expected = [r.with_context(first) for r in made] + [made[0].with_context(second)] + made[1:]
    assert read == [record.to_dict() for record in expected]
    assert all(record.context is None for record in made)


@pytest.mark.parametrize("bad", [{"a": 1}, '{"a": 1}', None, 3])
def test_write_many_with_a_context_refuses_what_is_not_a_record(
    tmp_path: Path, bad: object
) -> None:
    good = _resource("a")
    context = RecordContext(test="t.py::a")
    with RecordStore(tmp_path).writer("r") as writer:
        writer.write(good)
        before = writer.path.read_bytes()
        with pytest.raises(TypeError, match=r"^records\[1\] must be a Record .* to take a context"):
            writer.write_many([good, bad], context=context)  # type: ignore[list-item]
        assert writer.path.read_bytes() == before and writer.records_written == 1


def test_write_many_refuses_a_context_that_is_not_one(tmp_path: Path) -> None:
    good = _resource("a")
    with (
        RecordStore(tmp_path).writer("r") as writer,
        pytest.raises(TypeError, match="context must be a RecordContext or None, got 'test'"),
    ):
        writer.write_many([good], context="test")  # type: ignore[arg-type]
    assert not writer.path.exists()


# --- reading: loads_strict through orjson gives json's result, or json's error ---


def _reference(raw: str | bytes, *, finite: bool) -> Any:
    """loads_strict before orjson: the standard library's decoder alone."""
    if isinstance(raw, bytes):
        raw = raw.decode(json.detect_encoding(raw), "surrogatepass")
    return (_FINITE_DECODER if finite else _STRICT_DECODER).decode(raw)


def _outcome(read: Any, raw: str | bytes, finite: bool) -> tuple[str, str]:
    # repr tells 1 from 1.0 and True, and -0.0 from 0.0, and shows key order.
    try:
        return "value", repr(read(raw, finite=finite))
    except (ValueError, RecursionError, UnicodeDecodeError) as error:
        return type(error).__name__, str(error)


numbers = st.from_regex(r"\A-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][-+]?[0-9]{1,4})?\Z")
json_texts = st.one_of(
    numbers,
    st.builds(json.dumps, any_text),
    st.builds(lambda v: json.dumps(v, ensure_ascii=False), any_text),
    st.recursive(
        numbers | st.builds(json.dumps, any_text) | st.sampled_from(["true", "null", "NaN"]),
        lambda inner: (
            st.builds(lambda items: "[" + ",".join(items) + "]", st.lists(inner))
            | st.builds(
                lambda items: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in items) + "}",
                st.lists(st.tuples(any_text, inner)),
            )
        ),
        max_leaves=8,
    ),
    st.text(max_size=20),
)


@given(json_texts, st.booleans(), st.sampled_from(["str", "utf-8", "utf-16", "latin-1"]))
@example("12345678901234567890", False, "str")  # beyond 64 bits: orjson would read a float
@example("-9223372036854775809", False, "utf-8")
@example("18446744073709551615", False, "str")
@example("[1, 12345678901234567890]", False, "utf-8")
@example('{"a" :\n -12345678901234567890}', False, "str")
@example('{"commit": "12345678901234567890", "n": 1}', False, "utf-8")
@example("1e400", True, "str")
@example("1e400", False, "utf-8")
@example('"\\ud800"', False, "str")
@example('{"a":1,"a":2}', False, "utf-8")
@example("[" * 1100 + "]" * 1100, False, "str")
@example("\ufeff{}", False, "utf-8")
def test_loads_strict_gives_what_json_gives(text: str, finite: bool, encoding: str) -> None:
    raw: str | bytes = text
    if encoding != "str":
        try:
            raw = text.encode(encoding, "surrogatepass")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogatepass")
    assert _outcome(loads_strict, raw, finite) == _outcome(_reference, raw, finite)


@given(st.binary(max_size=40))
def test_loads_strict_gives_what_json_gives_for_any_bytes(raw: bytes) -> None:
    assert _outcome(loads_strict, raw, False) == _outcome(_reference, raw, False)


def test_write_many_with_a_context_refuses_a_line_over_the_limit(tmp_path: Path) -> None:
    from itest_shared.store._read import MAX_LINE_BYTES

    def big(name: str, size: int) -> ResourceRecord:
        return ResourceRecord(
            resource_id=name,
            resource_type="t",
            owner_module="m",
            created_at=1.0,
            metadata={"blob": "x" * size},
        )

    context = RecordContext(test="t.py::a")
    # Each line under the limit, together over it: written.
    under = [big(str(i), MAX_LINE_BYTES // 2) for i in range(3)]
    with RecordStore(tmp_path).writer("r") as writer:
        assert writer.write_many(under, context=context) == 3
        before = writer.path.read_bytes()
        with pytest.raises(ValueError, match=r"^records\[2\]: record is \d+ bytes as JSON"):
            writer.write_many([*under[:2], big("huge", MAX_LINE_BYTES)], context=context)
        assert writer.path.read_bytes() == before and writer.records_written == 3
