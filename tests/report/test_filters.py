"""Filtering the report by worktree (branch, path or folder) and by run."""

from __future__ import annotations

from pathlib import Path

import pytest

from itest_shared.report import ReportError, build_report
from tests.stores import FEATURE, MAIN


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
