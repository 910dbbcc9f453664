"""The record classes: documented fields, checks on construction and dict-style reading."""

from __future__ import annotations

import time
from typing import Any

import attrs
import pytest

import itest_shared
from itest_shared import ErrorContext
from tests.records import (
    DOCUMENTED_FIELDS,
    chained_error,
    make_error_context,
    make_event,
    make_resource,
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


def test_timestamps_are_epoch_seconds() -> None:
    before = time.time()
    ctx = itest_shared.ErrorPropagationMixin().capture_cross_module_error("a", "b", ValueError())
    assert before <= ctx.timestamp <= time.time()
