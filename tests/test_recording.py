"""itest_shared.recording: run ids and the Recorder's checks of its input."""

from __future__ import annotations

import pathlib

import pytest

from itest_shared.formats import ResourceRecord, WorktreeInfo, load_record
from itest_shared.recording import Recorder, new_run_id
from itest_shared.store import RecordStore, check_run_id


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
