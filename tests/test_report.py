"""Tests for ``itest_shared.report``: exact numbers, worktree columns, bad records, flat memory.

Stores are built from raw record dicts (the schema 1.1 shape), so these tests do
not depend on the record classes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itest_shared.report import (
    NO_WORKTREE,
    ReportAggregator,
    ReportError,
    build_report,
    render_json,
    render_markdown,
)
from itest_shared.store import TORN_LAST_LINE, RecordStore
from tests.stores import FEATURE, MAIN, build_store, config, error, resource, timing


@pytest.fixture
def store(tmp_path: Path) -> Path:
    build_store(tmp_path / "store")
    return tmp_path / "store"


def test_numbers_are_exact(store: Path) -> None:
    document = build_report(store)
    assert document["runs"] == ["run-1", "run-2"]
    assert document["records"] == 18
    assert [w["label"] for w in document["worktrees"]] == ["feature-b", "main", NO_WORKTREE]
    worktrees = {worktree["label"]: worktree for worktree in document["worktrees"]}
    main = worktrees["main"]
    assert main["path"] == MAIN and main["branch"] == "main"
    assert main["records"] == 9
    assert main["records_by_type"] == {
        "config_change": 2,
        "error_context": 3,
        "resource": 3,
        "timing_stats": 1,
    }
    assert main["runs"] == ["run-1"]
    assert main["tests"] == 2
    assert main["errors"] == {
        "total": 3,
        "by_boundary": [{"source": "chunker.parser", "target": "cli.main", "count": 3}],
        "top_error_types": [
            {"error_type": "ValueError", "count": 2},
            {"error_type": "TimeoutError", "count": 1},
        ],
    }
    assert main["leaked_resources"] == {
        "total": 1,
        "by_owner": [{"owner_module": "chunker.parallel", "resource_type": "process", "count": 1}],
    }
    assert main["config_changes"] == {
        "total": 2,
        "by_path": [{"config_path": "parser_timeout", "count": 2}],
    }
    assert main["not_analysed"] == {"malformed": 0, "unknown_major": 0, "unknown_type": 0}
    assert main["package_versions"] == {"1.2.0": 9}
    assert main["schema_versions"] == {"1.1": 9}
    assert main["schema_majors"] == [1]

    feature = worktrees["feature-b"]
    assert feature["records"] == 8
    assert feature["records_by_type"] == {
        "coverage": 1,
        "error_context": 3,
        "resource": 2,
        "timing_stats": 2,
    }
    assert feature["not_analysed"] == {"malformed": 1, "unknown_major": 1, "unknown_type": 1}
    assert feature["errors"]["by_boundary"] == [
        {"source": "cli.main", "target": "chunker.parallel", "count": 1}
    ]
    assert feature["leaked_resources"]["by_owner"] == [
        {"owner_module": "cli.main", "resource_type": "file_handle", "count": 2}
    ]
    assert feature["schema_versions"] == {"1.1": 7, "2.0": 1}
    assert feature["package_versions"] == {"1.2.0": 6}  # not of the malformed or 2.0 ones
    assert feature["schema_majors"] == [1, 2]
    assert feature["timings"] == [
        {"operation": "load", "records": 1, "count": 4, "total": 2.0, "mean": 0.5,
         "min": 0.25, "max": 1.0, "worst_p95": 0.9, "worst_p99": 0.95},
        {"operation": "parse", "records": 1, "count": 30, "total": 6.0, "mean": 0.2,
         "min": 0.01, "max": 0.5, "worst_p95": 0.4, "worst_p99": 0.45},
    ]  # fmt: skip

    nowhere = worktrees[NO_WORKTREE]
    assert nowhere["path"] is None
    assert nowhere["records_by_type"] == {"config_change": 1}
    assert nowhere["schema_versions"] == {"1.0": 1}
    assert nowhere["tests"] == 0

    parse = document["timings"][1]
    assert parse["operation"] == "parse"
    assert parse["records"] == 2 and parse["count"] == 40
    assert parse["total"] == pytest.approx(7.0)
    assert parse["mean"] == pytest.approx(0.175)
    assert (parse["min"], parse["max"]) == (0.01, 0.5)
    assert (parse["worst_p95"], parse["worst_p99"]) == (0.4, 0.45)

    assert document["warnings"][0].startswith("worktrees are on different schema majors:")
    assert "feature-b on 1 and 2" in document["warnings"][0]
    assert "main on 1" in document["warnings"][0]
    assert "major 2 are counted but not analysed" in document["warnings"][1]

    problems = document["problems"]
    assert problems["total"] == 2
    reasons = {p["reason"] for p in problems["shown"]}
    assert TORN_LAST_LINE in reasons
    malformed = next(p for p in problems["shown"] if "source_module" in p["reason"])
    assert malformed["line"] == 8
    assert "expected a string, got the number 5" in malformed["reason"]
    assert all(p["path"].endswith(".jsonl") for p in problems["shown"])


def test_json_is_stable_and_round_trips(store: Path) -> None:
    first, second = build_report(store), build_report(store)
    assert render_json(first) == render_json(second)
    assert json.loads(render_json(first)) == first


def test_markdown_has_a_column_per_worktree_and_the_warning(store: Path) -> None:
    text = render_markdown(build_report(store))
    assert text.startswith("# itest-shared report")
    assert "> **WARNING:** worktrees are on different schema majors" in text
    assert "| error_context | 3 | 3 | 0 |" in text
    header = next(line for line in text.splitlines() if line.startswith("|  | "))
    assert header == f"|  | feature-b | main | {NO_WORKTREE} |"
    assert "| chunker.parser -> cli.main | 0 | 3 | 0 |" in text
    assert "| cli.main (file_handle) | 2 | 0 | 0 |" in text
    assert "**all worktrees**" in text  # parse is timed in both worktrees
    assert "worst p95" in text and "cannot be merged exactly" in text
    assert f"{TORN_LAST_LINE}" in text


@pytest.mark.parametrize("name", ["feature-b", FEATURE, "proj-feature-b"])
def test_worktree_filter_matches_branch_path_and_folder(store: Path, name: str) -> None:
    document = build_report(store, worktree=name)
    assert [w["label"] for w in document["worktrees"]] == ["feature-b"]
    assert document["records"] == 8
    assert document["timings"][1]["count"] == 30  # merged over the shown worktree only
    # Only feature-b is shown, but it alone spans two majors.
    assert (
        document["warnings"][0] == "worktrees are on different schema majors: feature-b on 1 and 2"
    )


def test_worktree_filter_without_match_lists_the_worktrees_seen(store: Path) -> None:
    with pytest.raises(ReportError, match="no worktree matches 'nope'") as raised:
        build_report(store, worktree="nope")
    assert f"feature-b ({FEATURE})" in str(raised.value)
    assert f"main ({MAIN})" in str(raised.value)


def test_run_filter(store: Path) -> None:
    document = build_report(store, run="run-1")
    assert document["runs"] == ["run-1"]
    assert [w["label"] for w in document["worktrees"]] == ["main"]
    assert document["warnings"] == [] and document["problems"]["total"] == 0
    with pytest.raises(ReportError, match=r"unknown run 'run-3'.*run-1, run-2"):
        build_report(store, run="run-3")
    with pytest.raises(ValueError, match="run_id must be 1-128 characters"):
        build_report(store, run="../etc")


def test_labels_fall_back_to_folder_then_path(tmp_path: Path) -> None:
    with RecordStore(tmp_path).writer("r") as writer:
        writer.write(config("a", worktree="/x/one", branch="main"))
        writer.write(config("a", worktree="/y/two", branch="main"))
        writer.write(config("a", worktree="/z/detached", branch=None))
    labels = [w["label"] for w in build_report(tmp_path)["worktrees"]]
    assert labels == ["/x/one", "/y/two", "detached"]


def test_empty_store_says_so(tmp_path: Path) -> None:
    document = build_report(tmp_path)
    assert document["records"] == 0 and document["worktrees"] == []
    assert f"no records in {tmp_path}" in render_markdown(document)


def test_problems_are_counted_all_but_listed_twenty(tmp_path: Path) -> None:
    with RecordStore(tmp_path).writer("r") as writer:
        for index in range(30):
            writer.write(timing(f"op{index}", 1, 1.0, 1.0, 1.0, 1.0, 1.0) | {"count": "1"})
    document = build_report(tmp_path)
    assert document["problems"]["total"] == 30
    assert [p["line"] for p in document["problems"]["shown"]] == list(range(1, 21))
    assert "count: expected an integer >= 1" in document["problems"]["shown"][0]["reason"]
    assert "the first 20 shown" in render_markdown(document)


# Values of every JSON type, to put where the report expects a string or a number.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=5,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(
        [
            error("a", "b", "E"),
            resource("a", "b", "leaked"),
            config("a"),
            timing("a", 1, 1.0, 1.0, 1.0, 1.0, 1.0),
        ]
    ),
    changes=st.dictionaries(
        st.sampled_from(
            ["record_type", "schema_version", "producer", "context", "source_module",
             "target_module", "error_type", "owner_module", "resource_type", "state",
             "config_path", "operation", "count", "total", "min", "max", "p95", "p99"]
        ),
        json_values,
        min_size=1,
    ),
)  # fmt: skip
def test_wrong_types_never_crash_the_report(base: dict[str, Any], changes: dict[str, Any]) -> None:
    aggregator = ReportAggregator()
    aggregator.add(base)
    aggregator.add({**base, **changes})
    document = aggregator.document(store="s", runs=["r"])
    assert document["records"] == 2
    assert aggregator.problem_count <= 1
    analysed = sum(sum(w["not_analysed"].values()) for w in document["worktrees"])
    assert analysed == aggregator.problem_count + sum(
        w["not_analysed"]["unknown_major"] + w["not_analysed"]["unknown_type"]
        for w in document["worktrees"]
    )
    render_markdown(document)
    json.loads(render_json(document))  # allow_nan=False: no NaN reached the document


def generated(count: int) -> Iterator[dict[str, Any]]:
    """``count`` records over a fixed set of keys, every key reached in the first few hundred."""
    makers = [
        lambda i: error(f"mod{i % 7}", f"mod{i % 5}", f"Error{i % 11}", test=f"t::{i % 50}"),
        lambda i: resource(f"mod{i % 7}", "process", "leaked" if i % 3 else "released"),
        lambda i: config(f"key{i % 13}", worktree=FEATURE),
        lambda i: timing(f"op{i % 9}", 1 + i % 4, 0.5, 0.1, 0.3, 0.2, 0.25, worktree=FEATURE),
    ]
    for index in range(count):
        yield makers[index % 4](index)


def peak_bytes(count: int) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        aggregator = ReportAggregator()
        for item in generated(count):
            aggregator.add(item)
        assert aggregator.records == count
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_records_grow() -> None:
    small, large = peak_bytes(20_000), peak_bytes(100_000)
    assert large < 1.5 * small, (small, large)
