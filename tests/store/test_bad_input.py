"""Bad records, batches, run ids and argument types are refused and leave the store intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from itest_shared.store import RecordStore, validate_file

# --- bad input ---------------------------------------------------------------------


def test_a_bad_record_in_a_batch_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    with RecordStore(tmp_path).writer("r") as writer:
        writer.write({"ok": 1})
        before = writer.path.read_bytes()
        with pytest.raises(TypeError, match=r"^records\[2\]: record is not JSON-serialisable"):
            writer.write_many([{"a": 1}, '{"b": 2}', {"c": object()}, {"d": 4}])
        with pytest.raises(ValueError, match=r"^records\[0\]: record line is not valid JSON"):
            writer.write_many(["{"])
        assert writer.path.read_bytes() == before and writer.records_written == 1
        assert writer.write_many([]) == 0
        assert writer.write_many(iter([{"a": 1}, '{"b":2}'])) == 2
    assert writer.path.read_text() == '{"ok":1}\n{"a":1}\n{"b":2}\n'
    assert writer.records_written == 3


@pytest.mark.parametrize(
    ("item", "error", "match"),
    [
        (42, TypeError, r"Record .*a dict or a JSON line \(str\); got int"),
        ([{"a": 1}], TypeError, "got list"),
        ({"when": object()}, TypeError, "not JSON-serialisable.*object"),
        ({"x": float("nan")}, ValueError, "not JSON-serialisable.*NaN and infinities"),
        ('{"a": 1}\n{"b": 2}', ValueError, "one line of JSON"),
        ('{"a": 1', ValueError, "not valid JSON"),
        ("[1, 2]", ValueError, "must be a JSON object, got list"),
        ('{"a": "\ud800"}', ValueError, "not valid UTF-8"),
    ],
)
def test_bad_records_are_refused_and_leave_the_file_intact(
    tmp_path: Path, item: object, error: type[Exception], match: str
) -> None:
    with RecordStore(tmp_path).writer("r") as writer:
        writer.write({"ok": 1})
        before = writer.path.read_bytes()
        with pytest.raises(error, match=match):
            writer.write(item)  # type: ignore[arg-type]
        assert writer.path.read_bytes() == before and writer.records_written == 1
        writer.write({"ok": 2})
    assert writer.path.read_text() == '{"ok":1}\n{"ok":2}\n'


@pytest.mark.parametrize("run_id", ["../x", "", "a/b", ".hidden", "..", "x" * 129, "a b", "a\n"])
def test_bad_run_ids_are_refused(tmp_path: Path, run_id: str) -> None:
    store = RecordStore(tmp_path)
    with pytest.raises(ValueError, match="run_id must be 1-128 characters of letters, digits"):
        store.writer(run_id)
    with pytest.raises(ValueError, match="run_id"):
        store.read(run_id)
    assert not (tmp_path / "records").exists()


def test_bad_argument_types_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="run_id must be a str, got int"):
        RecordStore(tmp_path).writer(7)  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"directory must be a path \(str or os\.PathLike\), got int"
    ):
        RecordStore(3)  # type: ignore[arg-type]
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        RecordStore(tmp_path / "file")
    with pytest.raises(
        TypeError, match=r"path must be a path \(str or os\.PathLike\), got NoneType"
    ):
        list(validate_file(None))  # type: ignore[arg-type]


def test_any_run_id_either_stays_inside_the_store_or_is_refused(tmp_path: Path) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    store = RecordStore(tmp_path)
    records = (tmp_path / "records").resolve()

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=140) | st.from_regex(r"[A-Za-z0-9._/-]{1,10}", fullmatch=True))
    def check(run_id: str) -> None:
        try:
            writer = store.writer(run_id)
        except ValueError as error:
            assert "run_id must be" in str(error)
            return
        with writer:
            assert writer.path.resolve().parent.parent == records
            assert writer.path.parent.name == run_id

    check()
