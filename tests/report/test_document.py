"""The report document: exact numbers per worktree, labels, problems, JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from itest_shared.report import NO_WORKTREE, build_report, render_json, render_markdown
from itest_shared.store import TORN_LAST_LINE, RecordStore
from tests.stores import MAIN, config, timing


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
    assert (
        "count: expected an integer from 1 to 2**64" in document["problems"]["shown"][0]["reason"]
    )
    assert "the first 20 shown" in render_markdown(document)
