"""The report counts test outcomes and environments per worktree (schema 1.2 records)."""

from __future__ import annotations

from pathlib import Path

from itest_shared.report import build_report, render_markdown
from itest_shared.store import RecordStore
from tests.report.support import assert_inert
from tests.stores import FEATURE, build_store, environment_record, result_record

HOSTILE = "<img src=x onerror=alert(1)>\x1b[31m|`*"


def build(directory: Path) -> Path:
    feature = {"worktree": FEATURE, "branch": "feature-b"}
    with RecordStore(directory).writer("run-1") as writer:
        writer.write(result_record("t.py::a", "passed"))
        writer.write(result_record("t.py::b", "passed"))
        writer.write(result_record("t.py::c", "skipped"))
        writer.write(result_record("t.py::a", "failed", **feature))
        writer.write(result_record("t.py::b", "xfailed", **feature))
        writer.write(result_record("t.py::d", "error", failed_phase="teardown", **feature))
        writer.write(result_record("t.py::e", "broken", **feature))  # malformed outcome
        writer.write(environment_record("ci-1"))
        writer.write(environment_record("ci-1"))
        writer.write(environment_record(HOSTILE, "3.13.0", **feature))
    return directory


def test_outcomes_and_environments_per_worktree(tmp_path: Path) -> None:
    document = build_report(build(tmp_path / "store"))
    worktrees = {w["label"]: w for w in document["worktrees"]}
    assert worktrees["main"]["outcomes"] == {"passed": 2, "skipped": 1}
    assert worktrees["feature-b"]["outcomes"] == {"failed": 1, "error": 1, "xfailed": 1}
    assert worktrees["main"]["environments"] == [
        {"host": "ci-1", "python": "CPython 3.11.7", "count": 2}
    ]
    assert worktrees["feature-b"]["environments"] == [
        {"host": HOSTILE, "python": "CPython 3.13.0", "count": 1}
    ]
    assert worktrees["feature-b"]["not_analysed"]["malformed"] == 1
    reasons = [p["reason"] for p in document["problems"]["shown"]]
    assert any("outcome: expected one of passed, failed" in r and "'broken'" in r for r in reasons)


def test_markdown_rows_and_inert_hosts(tmp_path: Path) -> None:
    text = render_markdown(build_report(build(tmp_path / "store")))
    lines = text.splitlines()
    assert any(line.startswith("| tests passed |") for line in lines)
    assert any(line.startswith("| tests xfailed |") for line in lines)
    assert "## Environments" in lines
    assert_inert(text)
    assert "\x1b" not in text


def test_a_store_without_1_2_records_shows_no_new_rows(tmp_path: Path) -> None:
    build_store(tmp_path / "old")
    text = render_markdown(build_report(tmp_path / "old"))
    assert "tests passed" not in text and "## Environments" not in text
