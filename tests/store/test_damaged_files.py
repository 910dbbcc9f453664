"""Reading damaged record files: bad and torn lines reported and skipped, streaming reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

from itest_shared.formats import ResourceRecord
from itest_shared.store import TORN_LAST_LINE, RecordStore, validate_file

# --- damaged files ----------------------------------------------------------------


def test_torn_last_line_and_bad_middle_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    with store.writer("r") as writer:
        writer.write({"n": 1})
    path = writer.path
    with open(path, "ab") as stream:
        stream.write(b'{"n": 2, "cut in the mid\n[1, 2]\n\n{"n": 3}\n\xff\xfe\n{"n": 4}\n{"n": 5')
    report = store.read("r")
    assert [data["n"] for data, _ in report] == [1, 3, 4]
    assert [(p.line, p.reason.split(":")[0]) for p in report.problems] == [
        (2, "not valid JSON"),
        (3, "not a JSON object"),
        (4, "empty line"),
        (6, "not valid JSON"),
        (8, TORN_LAST_LINE),
    ]
    assert str(report.problems[-1]) == f"{path}:8: {TORN_LAST_LINE}"
    assert report.summary() == "3 records from 1 files; 5 problems"
    assert list(store.iter_problems("r")) == report.problems


def test_validate_file_names_every_bad_line(tmp_path: Path) -> None:
    good = ResourceRecord(resource_id="a", resource_type="lock", owner_module="m", created_at=1.0)
    wrong_type = {**good.to_dict(), "created_at": "yesterday"}
    future = {**good.to_dict(), "schema_version": "2.0"}
    path = tmp_path / "records.jsonl"
    lines = [good.to_json(), json.dumps(wrong_type), json.dumps(future), good.to_json()]
    path.write_text("\n".join(lines) + "\n" + good.to_json()[:40])
    problems = list(validate_file(path))
    assert [p.line for p in problems] == [2, 3, 5]
    assert "created_at" in problems[0].reason and "number" in problems[0].reason
    assert "'2.0'" in problems[1].reason and "1.x" in problems[1].reason
    assert problems[2].reason == TORN_LAST_LINE
    assert str(problems[0]).startswith(f"{path}:2: created_at")
    missing = list(validate_file(tmp_path / "missing.jsonl"))
    assert len(missing) == 1 and missing[0].line == 0 and "cannot read" in missing[0].reason


def test_an_overlong_line_is_skipped_without_loading_it(tmp_path: Path) -> None:
    from itest_shared.store._read import MAX_LINE_BYTES

    path = tmp_path / "records" / "r" / "x.jsonl"
    path.parent.mkdir(parents=True)
    with open(path, "wb") as stream:
        stream.write(b'{"n": 1}\n' + b"x" * (MAX_LINE_BYTES * 2 + 5) + b'\n{"n": 2}\n')
    report = RecordStore(tmp_path).read("r")
    assert [d["n"] for d, _ in report] == [1, 2]
    assert [(p.line, "longer than" in p.reason) for p in report.problems] == [(2, True)]


def test_streaming_memory_stays_flat(tmp_path: Path) -> None:
    import tracemalloc

    store = RecordStore(tmp_path)
    with store.writer("big") as writer:
        for i in range(50_000):
            writer.write({"i": i, "pad": "m" * 400})
    size = writer.path.stat().st_size
    tracemalloc.start()
    try:
        count = sum(1 for _ in store.read("big"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 50_000
    assert size > 20_000_000
    assert peak < size / 50, f"reader peaked at {peak} bytes for a {size}-byte store"


def test_a_pass_stopped_early_closes_its_file(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    with store.writer("r") as writer:
        for i in range(3):
            writer.write({"i": i})
    report = store.read("r")
    assert next(report)[0] == {"i": 0}
    before = len(os.listdir("/proc/self/fd"))
    report.close()
    report.close()
    assert len(os.listdir("/proc/self/fd")) == before - 1
    assert list(report) == [] and report.records_read == 1
