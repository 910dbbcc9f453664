"""Schema 1.1 record context: RecordContext, WorktreeInfo, with_context and reading contexts."""

from __future__ import annotations

import json
import pathlib
import pickle
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared import (
    ConfigChangeEvent,
    ErrorContext,
    FormatError,
    RecordContext,
    WorktreeInfo,
    coordination,
    formats,
    load_record,
)
from tests.formats.support import GOOD, GOOD_WORKTREE
from tests.records import (
    CONTEXT,
    GOLDEN,
    WORKTREE,
    chained_error,
    make_error_context,
    make_event,
    make_resource,
)
from tests.strategies import record_contexts, records

# --- RecordContext and WorktreeInfo ------------------------------------------------


def test_context_to_dict_is_the_documented_shape() -> None:
    assert CONTEXT.to_dict() == {
        "test": "tests/test_x.py::test_y[1]",
        "run_id": "run-1",
        "worktree": {"path": "/src/proj-wt2", "branch": "phase-8", "commit": "a" * 40},
    }
    assert RecordContext().to_dict() == {"test": None, "run_id": None, "worktree": None}


def test_worktree_info_lives_in_formats_and_coordination_still_exports_it() -> None:
    assert coordination.WorktreeInfo is formats.WorktreeInfo is WorktreeInfo
    assert WorktreeInfo("/a/b", None, None).path == pathlib.Path("/a/b")
    assert pickle.loads(pickle.dumps(CONTEXT)) == CONTEXT


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RecordContext(test=5), "context.test must be a str or None, got 5"),  # type: ignore[arg-type]
        (lambda: RecordContext(run_id=b"r"), "context.run_id must be a str or None"),  # type: ignore[arg-type]
        (lambda: RecordContext(worktree="/x"), "context.worktree must be a WorktreeInfo"),  # type: ignore[arg-type]
        (lambda: WorktreeInfo(5, None, None), "worktree.path must be a pathlib.Path"),
        (lambda: WorktreeInfo(pathlib.Path(), 1, None), "worktree.branch must be a str or None"),  # type: ignore[arg-type]
        (lambda: WorktreeInfo(pathlib.Path(), None, 2), "worktree.commit must be a str or None"),  # type: ignore[arg-type]
    ],
)
def test_bad_context_fields_raise_type_error_naming_the_field(make: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message.replace("[", r"\[")):
        make()


@given(st.integers() | st.floats() | st.binary() | st.lists(st.text()) | st.booleans())
def test_any_non_str_test_or_run_id_is_refused(value: object) -> None:
    for field in ("test", "run_id"):
        with pytest.raises(TypeError, match=f"context.{field}"):
            kwargs: dict[str, Any] = {field: value}
            RecordContext(**kwargs)


# --- Record.context and with_context -------------------------------------------------


def test_records_made_outside_a_recorded_test_have_no_context() -> None:
    record = make_resource()
    assert record.context is None
    assert "context" not in record.to_dict()


def test_with_context_copies_the_record_with_its_envelope() -> None:
    original = make_error_context(chained_error())
    stamped = original.with_context(CONTEXT)
    assert type(stamped) is ErrorContext and stamped is not original
    assert stamped == original  # the context is envelope: not part of ==
    assert stamped.original_error is original.original_error
    assert stamped.record_id == original.record_id
    assert stamped.producer == original.producer
    assert stamped.error_info == original.error_info
    assert stamped.context is CONTEXT
    assert original.context is None and "context" not in original.to_dict()
    restamped = stamped.with_context(RecordContext(test="other"))
    assert restamped.context == RecordContext(test="other") and stamped.context is CONTEXT


def test_context_is_written_after_producer_and_round_trips() -> None:
    record = make_event().with_context(CONTEXT)
    data = record.to_dict()
    assert list(data)[:5] == ["record_type", "schema_version", "record_id", "producer", "context"]
    assert data["context"] == CONTEXT.to_dict()
    for again in (
        load_record(data),
        load_record(record.to_json()),
        ConfigChangeEvent.from_dict(json.dumps(data)),
        pickle.loads(pickle.dumps(record)),
    ):
        assert again == record and again.context == CONTEXT
        assert again.record_id == record.record_id


@given(records, record_contexts)
def test_with_context_works_on_every_record_type(record: Any, context: RecordContext) -> None:
    stamped = record.with_context(context)
    assert type(stamped) is type(record)
    assert attrs.asdict(stamped, recurse=False) == attrs.asdict(record, recurse=False)
    loaded = load_record(stamped.to_json())
    assert loaded.context == context and record.context is None


@pytest.mark.parametrize("bad", [None, {"test": "t"}, "ctx", WORKTREE])
def test_with_context_refuses_anything_but_a_record_context(bad: object) -> None:
    record = make_resource()
    with pytest.raises(TypeError, match="context must be a RecordContext"):
        record.with_context(bad)  # type: ignore[arg-type]
    assert record.context is None


def test_evolve_makes_a_new_record_without_context() -> None:
    stamped = make_resource().with_context(CONTEXT)
    released = attrs.evolve(stamped, state="released", released_at=1795000001.0)
    assert released.record_id != stamped.record_id
    assert released.context is None


# --- reading contexts -----------------------------------------------------------------


def with_context_data(context: object, record: Any = None) -> dict[str, Any]:
    data: dict[str, Any] = (record or make_resource()).to_dict()
    data["context"] = context
    return data


@pytest.mark.parametrize(
    ("context", "names"),
    [
        ([], ["context: expected an object or null, got an array"]),
        ("run-1", ["context: expected an object or null, got a string"]),
        ({**GOOD, "test": 5}, ["context.test: expected a string or null, got the number 5"]),
        ({**GOOD, "run_id": True}, ["context.run_id: expected a string or null, got a boolean"]),
        ({**GOOD, "worktree": "/x"}, ["context.worktree: expected an object or null"]),
        (
            {**GOOD, "worktree": {**GOOD_WORKTREE, "path": 5}},
            ["context.worktree.path: expected a string, got the number 5"],
        ),
        (
            {**GOOD, "worktree": {**GOOD_WORKTREE, "path": None, "branch": 1, "commit": []}},
            ["context.worktree.path", "context.worktree.branch", "context.worktree.commit"],
        ),
        (
            {"test": None, "worktree": {"path": "/x"}},
            [
                "context.run_id: required field missing",
                "context.worktree.branch: required field missing",
                "context.worktree.commit: required field missing",
            ],
        ),
        ({}, ["context.test", "context.run_id", "context.worktree: required field missing"]),
    ],
)
def test_malformed_contexts_raise_format_error_naming_the_path(
    context: object, names: list[str]
) -> None:
    with pytest.raises(FormatError) as caught:
        load_record(with_context_data(context))
    for name in names:
        assert name in str(caught.value)


def test_context_problems_are_reported_with_the_other_field_problems() -> None:
    data = with_context_data({**GOOD, "worktree": {**GOOD_WORKTREE, "path": 5}})
    data.update(created_at="yesterday", state="gone", record_id="")
    with pytest.raises(FormatError) as caught:
        load_record(data)
    message = str(caught.value)
    for name in ("record_id", "context.worktree.path", "created_at", "state"):
        assert name in message


def test_a_missing_or_null_context_is_no_context() -> None:
    assert load_record(with_context_data(None)).context is None
    assert load_record(make_resource().to_dict()).context is None


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("1.0/*.jsonl")), ids=lambda p: p.name)
def test_schema_1_0_records_load_with_no_context(path: pathlib.Path) -> None:
    for line in path.read_text().splitlines():
        assert "context" not in json.loads(line)
        assert load_record(line).context is None


def test_a_later_minor_may_add_keys_inside_the_context() -> None:
    context = {**GOOD, "xdist_worker": "gw3", "worktree": {**GOOD_WORKTREE, "dirty": True}}
    data = {**with_context_data(context), "schema_version": "1.7", "added_in_1_7": 1}
    loaded = load_record(data)
    assert loaded.context == CONTEXT
    assert loaded.to_dict()["context"] == GOOD  # what this release does not know is dropped
