"""report: the newest run of each worktree by default, several stores as one, outcome matrix."""

from __future__ import annotations

from pathlib import Path

import pytest

from itest_shared.report import ReportError, build_report, latest_runs, render_markdown
from itest_shared.store import RecordStore
from tests.cli.support import run
from tests.stores import FEATURE, MAIN, config, result_record, write_run

BASE = {"worktree": MAIN, "branch": "main"}
CAND = {"worktree": FEATURE, "branch": "feature-b"}


def two_runs_of_main_one_of_feature(store: Path) -> None:
    write_run(store, "20261201T000000Z-old", [config("old"), config("old")])
    write_run(store, "20261202T000000Z-new", [config("new")])
    write_run(store, "20261201T120000Z-feat", [config("feat", **CAND)])


def test_by_default_each_worktree_shows_its_newest_run(tmp_path: Path) -> None:
    two_runs_of_main_one_of_feature(tmp_path)
    document = build_report(tmp_path)
    assert document["runs"] == ["20261201T120000Z-feat", "20261202T000000Z-new"]
    assert document["all_runs"] is False
    worktrees = {w["label"]: w for w in document["worktrees"]}
    assert worktrees["main"]["records"] == 1  # not the 3 of both runs
    assert worktrees["main"]["runs"] == ["20261202T000000Z-new"]
    assert worktrees["feature-b"]["records"] == 1


def test_all_runs_merges_every_run_as_before(tmp_path: Path) -> None:
    two_runs_of_main_one_of_feature(tmp_path)
    document = build_report(tmp_path, all_runs=True)
    assert document["all_runs"] is True and len(document["runs"]) == 3
    worktrees = {w["label"]: w for w in document["worktrees"]}
    assert worktrees["main"]["records"] == 3
    one = build_report(tmp_path, run="20261201T000000Z-old")
    assert one["records"] == 2 and one["all_runs"] is False
    with pytest.raises(ReportError, match="not both"):
        build_report(tmp_path, run="20261201T000000Z-old", all_runs=True)


def test_several_stores_read_as_one(tmp_path: Path) -> None:
    write_run(tmp_path / "ci-1", "20261201T000000Z-a", [config("x")])
    write_run(tmp_path / "ci-2", "20261201T000000Z-b", [config("y", **CAND)])
    document = build_report([tmp_path / "ci-1", tmp_path / "ci-2"])
    assert document["stores"] == [str(tmp_path / "ci-1"), str(tmp_path / "ci-2")]
    assert document["store"] == str(tmp_path / "ci-1")
    assert {w["label"] for w in document["worktrees"]} == {"main", "feature-b"}
    with pytest.raises(ReportError, match="no store"):
        build_report([])


def test_a_file_whose_first_record_is_damaged_goes_with_no_worktree(tmp_path: Path) -> None:
    write_run(tmp_path, "20261201T000000Z-a", [config("x")])
    bad = tmp_path / "records" / "20261202T000000Z-b" / "bad.jsonl"
    bad.parent.mkdir()
    bad.write_text("not json\n")
    files, runs = latest_runs(RecordStore(tmp_path).files())
    assert runs == ["20261201T000000Z-a", "20261202T000000Z-b"] and bad in files


def test_the_outcome_matrix_shows_tests_that_ended_differently(tmp_path: Path) -> None:
    write_run(
        tmp_path,
        "20261201T000000Z-a",
        [
            result_record("t.py::same", "passed", **BASE),
            result_record("t.py::flips", "passed", **BASE),
            result_record("t.py::only_main", "failed", **BASE),
        ],
    )
    write_run(
        tmp_path,
        "20261201T000000Z-b",
        [
            result_record("t.py::same", "passed", **CAND),
            result_record("t.py::flips", "failed", **CAND),
        ],
    )
    document = build_report(tmp_path)
    matrix = document["outcome_matrix"]
    assert matrix["worktrees"] == ["feature-b", "main"] and matrix["differing"] == 1
    assert matrix["shown"] == [
        {"test": "t.py::flips", "outcomes": {"feature-b": "failed", "main": "passed"}}
    ]
    text = render_markdown(document)
    assert "## Tests whose outcome differs between worktrees" in text
    assert "| `t.py::flips` | failed | passed |" in text


def test_the_matrix_shows_the_first_50(tmp_path: Path) -> None:
    sides = (("20261201T000000Z-a", BASE, "passed"), ("20261201T000000Z-b", CAND, "failed"))
    for run_id, where, outcome in sides:
        records = [result_record(f"t.py::t{n:03}", outcome, **where) for n in range(60)]
        write_run(tmp_path, run_id, records)
    document = build_report(tmp_path)
    assert document["outcome_matrix"]["differing"] == 60
    assert len(document["outcome_matrix"]["shown"]) == 50
    assert "(the first 50 of 60 shown)" in render_markdown(document)


def test_the_command_takes_several_stores_and_all_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_runs_of_main_one_of_feature(tmp_path / "one")
    write_run(tmp_path / "two", "20261203T000000Z-z", [config("z", **CAND)])
    status, out, _ = run(capsys, "report", str(tmp_path / "one"), str(tmp_path / "two"))
    assert status == 0 and "20261203T000000Z-z" in out and "20261201T000000Z-old" not in out
    status, out, _ = run(capsys, "report", str(tmp_path / "one"), "--all-runs")
    assert status == 0 and "20261201T000000Z-old" in out
    status, _, err = run(capsys, "report", str(tmp_path / "one"), "--all-runs", "--run", "x")
    assert status == 2 and "not allowed with argument" in err
