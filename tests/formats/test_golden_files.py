"""Golden files of schema 1.0, 1.1 and 1.2: they load forever; this release writes their shape."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from itest_shared import ErrorContext, ResourceRecord, load_record
from itest_shared.formats import TEST_OUTCOMES, TEST_PHASES
from tests.formats.support import GOOD_WORKTREE
from tests.records import (
    CONTEXT,
    DOCUMENTED_FIELDS,
    DOCUMENTED_FIELDS_BY_TYPE,
    GOLDEN,
    chained_error,
    make_error_context,
    make_event,
    make_golden,
    make_resource,
    make_stats,
)

# --- golden files -------------------------------------------------------------------------


def golden_files() -> list[pathlib.Path]:
    """The golden files of each released schema version (edge cases: test_golden_edge_cases)."""
    return sorted(GOLDEN.glob("[0-9]*/*.jsonl"))


def test_there_is_a_golden_file_per_record_type_for_schema_1_0() -> None:
    names = {path.stem for path in GOLDEN.joinpath("1.0").glob("*.jsonl")}
    assert names == {"error_context", "config_change", "resource"}


def test_there_is_a_golden_file_per_record_type_for_schema_1_1() -> None:
    names = {path.stem for path in GOLDEN.joinpath("1.1").glob("*.jsonl")}
    assert names == {"error_context", "config_change", "resource", "timing_stats"}
    assert {path.parent.name for path in golden_files()} == {"1.0", "1.1", "1.2"}


def test_there_is_a_golden_file_per_record_type_schema_1_2_added() -> None:
    names = {path.stem for path in GOLDEN.joinpath("1.2").glob("*.jsonl")}
    assert names == {"test_result", "environment"}


def test_this_release_still_writes_the_1_2_golden_files_byte_for_byte() -> None:
    committed = {
        path.stem: path.read_text(encoding="utf-8").splitlines()
        for path in GOLDEN.joinpath("1.2").glob("*.jsonl")
    }
    producer = json.loads(committed["test_result"][0])["producer"]
    assert make_golden().schema_1_2(producer) == committed


def test_the_1_2_golden_files_hold_the_cases_they_are_for() -> None:
    results = [
        json.loads(line)
        for line in GOLDEN.joinpath("1.2", "test_result.jsonl").read_text().splitlines()
    ]
    assert {data["outcome"] for data in results} == set(TEST_OUTCOMES)
    assert {data["failed_phase"] for data in results} == {None, *TEST_PHASES}
    assert any(data["rerun"] > 0 for data in results)
    assert any(data["failure"] and data["failure"]["longrepr"] for data in results)
    assert any(
        data["failure"] and "characters cut" in data["failure"]["message"] for data in results
    )
    environments = [
        json.loads(line)
        for line in GOLDEN.joinpath("1.2", "environment.jsonl").read_text().splitlines()
    ]
    assert {data["dirty"] for data in environments} == {True, False, None}
    outside = [data for data in environments if data["worktree"] is None]
    assert outside and outside[0]["cpu_count"] is None and outside[0]["tree_hash"] is None


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
    only adds optional ones); a test further down this file checks the 1.1 shape.
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


# --- the 1.1 golden files -------------------------------------------------------------------


TYPES_OF_1_1 = ("error_context", "config_change", "resource", "timing_stats")


def golden_1_1(name: str) -> list[dict[str, Any]]:
    lines = GOLDEN.joinpath("1.1", f"{name}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_golden_1_1_files_hold_the_cases_they_are_for() -> None:
    everything = [data for name in TYPES_OF_1_1 for data in golden_1_1(name)]
    contexts = [data.get("context") for data in everything]
    assert None in contexts  # records without a context
    assert any(c and c["worktree"] and c["worktree"]["branch"] is None for c in contexts)
    assert any(c and c["worktree"] is None for c in contexts)
    assert {data["schema_version"] for data in everything} == {"1.1"}
    assert "leaked" in {data["state"] for data in golden_1_1("resource")}
    for data in everything:
        loaded = load_record(data)
        expected = data.get("context")
        assert (loaded.context.to_dict() if loaded.context else None) == expected


def test_this_release_writes_the_shape_of_the_1_1_golden_files() -> None:
    """A change to the written shape must come with a new schema version."""
    now = {
        "error_context": make_error_context(chained_error()),
        "config_change": make_event(),
        "resource": make_resource(),
        "timing_stats": make_stats(),
    }
    assert set(now) == set(TYPES_OF_1_1) < set(DOCUMENTED_FIELDS_BY_TYPE)
    for name, record in now.items():
        goldens = golden_1_1(name)
        with_context = next(g for g in goldens if g.get("context", {}).get("worktree"))
        without = next(g for g in goldens if "context" not in g)
        written = record.with_context(CONTEXT).to_dict()
        assert list(written) == list(with_context), name  # same keys, same order
        assert list(record.to_dict()) == list(without), name
        context = written["context"]
        assert isinstance(context, dict) and list(context) == list(with_context["context"])
        assert list(GOOD_WORKTREE) == list(with_context["context"]["worktree"])
        assert set(record.producer) == set(with_context["producer"])


def test_resource_golden_records_keep_the_released_at_rule() -> None:
    for data in golden_1_1("resource"):
        record = load_record(data)
        assert isinstance(record, ResourceRecord)
        assert (record.released_at is not None) == (record.state == "released")
