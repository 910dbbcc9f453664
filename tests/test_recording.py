"""itest_shared.recording: run ids, the Recorder's checks of its input, its queue and lines."""

from __future__ import annotations

import errno
import os
import pathlib

import pytest

import itest_shared.store as store_module
from itest_shared.formats import ResourceRecord, WorktreeInfo, load_record
from itest_shared.recording import Recorder, new_run_id
from itest_shared.store import RecordStore, check_run_id
from tests.stores import count_writes


def test_run_ids_are_valid_and_unique() -> None:
    ids = [new_run_id() for _ in range(200)]
    assert len(set(ids)) == 200
    for run_id in ids:
        assert check_run_id(run_id) == run_id


def test_the_recorder_refuses_bad_input_and_writes_nothing(tmp_path: pathlib.Path) -> None:
    worktree = WorktreeInfo(path=tmp_path, branch=None, commit=None)
    with pytest.raises(TypeError, match="store must be a RecordStore"):
        Recorder(tmp_path, "run", worktree)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="worktree must be a WorktreeInfo"):
        Recorder(RecordStore(tmp_path), "run", "here")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="run_id must be"):
        Recorder(RecordStore(tmp_path), "../run", worktree)
    recorder = Recorder(RecordStore(tmp_path), "run", worktree)
    good = ResourceRecord("r", "file", "m", created_at=1.0)
    with pytest.raises(TypeError, match=r"records\[1\] must be a Record.*got dict"):
        recorder.record([good, {"resource_id": "r"}], test="t")  # type: ignore[list-item]
    with pytest.raises(TypeError, match="test must be a str"):
        recorder.record([good], test=5)  # type: ignore[arg-type]
    assert recorder.records_written == 0 and RecordStore(tmp_path).files() == []
    assert recorder.record([good], test="t") == 1
    recorder.close()
    ((data, _),) = list(RecordStore(tmp_path).read())
    loaded = load_record(data)
    assert loaded.record_id == good.record_id and loaded.context.test == "t"
    assert good.context is None  # the caller's record is not changed


def _resource(name: str) -> ResourceRecord:
    return ResourceRecord(name, "file", "m", created_at=1.0)


def test_added_records_wait_for_flush_and_go_out_one_write_per_test(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = count_writes(monkeypatch)
    worktree = WorktreeInfo(path=tmp_path, branch=None, commit=None)
    recorder = Recorder(RecordStore(tmp_path), "run", worktree)
    assert recorder.add([_resource("a1"), _resource("a2")], test="t::a") == 2
    assert recorder.add([_resource("a3")], test="t::a") == 1
    assert recorder.add([], test="t::a") == 0
    assert recorder.add([_resource("b1")], test="t::b") == 1
    assert recorder.records_written == 0 and writes == []
    assert recorder.flush() == 4
    assert writes == [3, 1]  # one write per test
    assert recorder.flush() == 0 and writes == [3, 1]
    recorder.add([_resource("c1")], test=None)
    recorder.close()  # writes what is queued
    recorder.close()
    assert writes == [3, 1, 1] and recorder.records_written == 5
    read = [
        (data["resource_id"], data["context"]["test"]) for data, _ in RecordStore(tmp_path).read()
    ]
    assert read == [("a1", "t::a"), ("a2", "t::a"), ("a3", "t::a"), ("b1", "t::b"), ("c1", None)]


def test_add_refuses_bad_input_and_queues_nothing(tmp_path: pathlib.Path) -> None:
    worktree = WorktreeInfo(path=tmp_path, branch=None, commit=None)
    recorder = Recorder(RecordStore(tmp_path), "run", worktree)
    with pytest.raises(TypeError, match=r"records\[1\] must be a Record.*got dict"):
        recorder.add([_resource("a"), {"resource_id": "r"}], test="t")  # type: ignore[list-item]
    with pytest.raises(TypeError, match="test must be a str"):
        recorder.add([_resource("a")], test=5)  # type: ignore[arg-type]
    assert recorder.flush() == 0
    recorder.close()
    assert RecordStore(tmp_path).files() == []


def test_a_failed_flush_keeps_what_it_could_not_write(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worktree = WorktreeInfo(path=tmp_path, branch=None, commit=None)
    recorder = Recorder(RecordStore(tmp_path), "run", worktree)
    recorder.add([_resource("a1")], test="t::a")
    recorder.add([_resource("b1"), _resource("b2")], test="t::b")
    recorder.add([_resource("c1")], test="t::c")
    real_write = os.write
    calls = 0

    def full_disk_on_second_write(fd: int, data: bytes) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk_on_second_write)
    with pytest.raises(OSError, match="No space left"):
        recorder.flush()
    assert recorder.records_written == 1
    recorder.add([_resource("d1")], test="t::d")
    assert recorder.flush() == 4  # b1, b2 and c1 again, then d1
    recorder.close()
    read = [
        (data["resource_id"], data["context"]["test"]) for data, _ in RecordStore(tmp_path).read()
    ]
    assert read == [("a1", "t::a"), ("b1", "t::b"), ("b2", "t::b"), ("c1", "t::c"), ("d1", "t::d")]


def test_take_lines_gives_the_lines_flush_would_write_and_writes_nothing(
    tmp_path: pathlib.Path,
) -> None:
    worktree = WorktreeInfo(path=tmp_path, branch="main", commit=None)
    records = {name: _resource(name) for name in ("a1", "a2", "b1")}
    flushed = Recorder(RecordStore(tmp_path / "flushed"), "run", worktree)
    taken = Recorder(RecordStore(tmp_path / "taken"), "run", worktree)
    for recorder in (flushed, taken):
        recorder.add([records["a1"], records["a2"]], test="t::a")
        recorder.add([records["b1"]], test=None)
    assert flushed.flush() == 3
    flushed.close()
    lines = taken.take_lines()
    ((path,),) = [RecordStore(tmp_path / "flushed").files()]
    assert "".join(lines) == path.read_text(encoding="utf-8")
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    assert taken.take_lines() == [] and taken.flush() == 0  # the queue is empty
    taken.close()
    assert taken.records_written == 0 and not (tmp_path / "taken").exists()


def test_take_lines_keeps_the_queue_when_a_record_cannot_be_stamped(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worktree = WorktreeInfo(path=tmp_path, branch=None, commit=None)
    recorder = Recorder(RecordStore(tmp_path), "run", worktree)
    recorder.add([_resource("a1")], test="t::a")
    recorder.add([ResourceRecord("b" * 2000, "file", "m", created_at=1.0)], test="t::b")
    monkeypatch.setattr(store_module, "MAX_LINE_BYTES", 1000)
    with pytest.raises(ValueError, match=r"records\[0\]: record is \d+ bytes as JSON"):
        recorder.take_lines()
    monkeypatch.undo()
    # Nothing was lost: both are still queued, in order.
    lines = recorder.take_lines()
    assert [load_record(line).context.test for line in lines] == ["t::a", "t::b"]


def test_write_lines_writes_another_recorders_lines_in_one_write_as_stamped(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = count_writes(monkeypatch)
    elsewhere = WorktreeInfo(path=tmp_path / "machine", branch="w", commit=None)
    here = WorktreeInfo(path=tmp_path, branch="main", commit=None)
    worker = Recorder(RecordStore(tmp_path / "unused"), "run", elsewhere)
    controller = Recorder(RecordStore(tmp_path / "store"), "run", here)
    worker.add([_resource("a1"), _resource("a2")], test="t::a")
    worker.add([_resource("b1")], test="t::b")
    assert controller.write_lines(worker.take_lines()) == 3
    assert writes == [3] and controller.records_written == 3
    controller.close()
    read = [
        (data["resource_id"], data["context"]["test"], data["context"]["worktree"]["path"])
        for data, _ in RecordStore(tmp_path / "store").read()
    ]
    machine = str(tmp_path / "machine")
    assert read == [("a1", "t::a", machine), ("a2", "t::a", machine), ("b1", "t::b", machine)]
    assert not (tmp_path / "unused").exists()


def test_write_lines_refuses_a_bad_line_and_writes_none(tmp_path: pathlib.Path) -> None:
    worktree = WorktreeInfo(path=tmp_path, branch=None, commit=None)
    recorder = Recorder(RecordStore(tmp_path), "run", worktree)
    recorder.add([_resource("a1")], test="t")
    good = recorder.take_lines()
    for bad, message in [
        ("not json\n", r"records\[1\]: record line is not valid JSON"),
        ('{"a": 1}\n{"b": 2}\n', r"records\[1\]: record line must be one line"),
        ("[1]\n", r"records\[1\]: record line must be a JSON object"),
    ]:
        with pytest.raises(ValueError, match=message):
            recorder.write_lines([*good, bad])
    assert recorder.records_written == 0 and RecordStore(tmp_path).files() == []
    assert recorder.write_lines(good) == 1
    recorder.close()
