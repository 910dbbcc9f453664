"""Writing records, dicts and lines to a RecordStore and reading them back."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from itest_shared.formats import ResourceRecord, load_record
from itest_shared.store import RecordStore, RecordWriter, validate_file

# --- writing and reading back ---------------------------------------------------


def test_records_dicts_and_lines_round_trip(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    record = ResourceRecord(
        resource_id="r1", resource_type="file_handle", owner_module="m", created_at=2.5
    )
    with store.writer("run-1") as writer:
        writer.write(record)
        writer.write({"plain": "dict", "n": [1, 2.5, None]})
        writer.write('{"line": true}\n')
        writer.write('{"line": "without newline"}')
    assert writer.records_written == 4 and writer.closed
    read = list(store.iter_records("run-1"))
    assert [data for data, _ in read][1:] == [
        {"plain": "dict", "n": [1, 2.5, None]},
        {"line": True},
        {"line": "without newline"},
    ]
    assert load_record(read[0][0]) == record
    assert load_record(read[0][0]).record_id == record.record_id
    assert [str(loc) for _, loc in read] == [f"{writer.path}:{n}" for n in (1, 2, 3, 4)]
    assert writer.path.parent == tmp_path / "records" / "run-1"
    assert writer.path.name.endswith(f"-{os.getpid()}-{writer.path.name[-18:-6]}.jsonl")
    assert oct(writer.path.stat().st_mode & 0o777) == oct(0o644 & ~_umask())
    assert next(iter(validate_file(writer.path))).line == 2  # a dict is not a record


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_runs_files_and_empty_store(tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "not-yet")
    assert store.runs() == [] and store.files() == [] and list(store.read()) == []
    idle = store.writer("idle")
    idle.close()
    assert not (tmp_path / "not-yet").exists(), "a writer that wrote nothing leaves no file"
    for run in ("b", "a", "a"):
        with store.writer(run) as writer:
            writer.write({"run": run})
    (tmp_path / "not-yet" / "records" / "a" / "notes.txt").write_text("ignored")
    assert store.runs() == ["a", "b"]
    assert len(store.files("a")) == 2 and len(store.files()) == 3
    assert sorted(data["run"] for data, _ in store.read()) == ["a", "a", "b"]
    assert [data["run"] for data, _ in store.read("b")] == ["b"]


def test_each_writer_has_its_own_file_and_close_is_idempotent(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    first, second = store.writer("r"), store.writer("r")
    first.write({"w": 1})
    second.write({"w": 2})
    assert first.path != second.path
    first.close()
    first.close()
    with pytest.raises(ValueError, match="closed RecordWriter"):
        first.write({"w": 1})
    second.close()
    assert [p.read_text() for p in (first.path, second.path)] == ['{"w":1}\n', '{"w":2}\n']


def test_a_pickled_writer_arrives_as_a_new_writer_of_the_same_run(tmp_path: Path) -> None:
    with RecordStore(tmp_path).writer("r") as writer:
        writer.write({"from": "original"})
        with pickle.loads(pickle.dumps(writer)) as copy:
            assert isinstance(copy, RecordWriter) and copy.run_id == "r"
            copy.write({"from": "copy"})
            assert copy.path != writer.path and copy.path.parent == writer.path.parent


def test_any_json_dict_round_trips(tmp_path: Path) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    json_values = st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
    store = RecordStore(tmp_path)

    @settings(max_examples=200, deadline=None)
    @given(st.dictionaries(st.text(), json_values, max_size=5))
    def check(item: dict[str, Any]) -> None:
        with store.writer("prop") as writer:
            writer.write(item)
            writer.write(json.dumps(item))
        (first, _), (second, _) = [r for r in store.read("prop") if r[1].path == writer.path]
        assert first == item and second == item

    check()
