"""build_comparison: which tests broke, flipped or slowed down, from the stores' records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from itest_shared.report import (
    ReportError,
    build_comparison,
    render_comparison_markdown,
    render_json,
)
from tests.report.support import assert_inert
from tests.stores import (
    BASE,
    CAND,
    FEATURE,
    MAIN,
    comparison_scenario,
    environment_record,
    resource,
    result_record,
    timing_record,
    write_run,
)


def test_it_names_exactly_what_changed(tmp_path: Path) -> None:
    comparison_scenario(tmp_path)
    document = build_comparison([tmp_path], "main", "feature-b")
    assert document["verdict"] == "regressed"
    assert document["regressions"] == {
        "newly_failing": 1,
        "newly_flaky": 1,
        "slower": 1,
        "new_leaks": 1,
    }
    outcomes = document["outcomes"]
    assert [c["test"] for c in outcomes["newly_failing"]] == ["t.py::test_b"]
    assert [c["test"] for c in outcomes["newly_passing"]] == ["t.py::test_d"]
    assert outcomes["new_tests"] == ["t.py::test_new"]
    assert outcomes["removed_tests"] == ["t.py::test_gone"]
    (flaky,) = outcomes["flaky"]
    assert flaky["test"] == "t.py::test_c" and flaky["new"] and flaky["flips"] == 3
    assert flaky["candidate_outcomes"] == ["passed", "failed", "passed", "failed"]
    verdicts = {row["name"]: row for row in document["timings"]}
    assert {name: row["verdict"] for name, row in verdicts.items()} == {
        "parse": "slower",
        "load": "unchanged",
        "t.py::test_a": "unchanged",  # the same 10 ms each time
        "t.py::test_c": "not enough data",  # passed twice on the candidate: 4 against 2
    }
    assert document["timings"][0]["name"] == "parse"  # the changes first
    assert verdicts["parse"]["kind"] == "operation" and verdicts["t.py::test_a"]["kind"] == "test"
    assert 1.3 < verdicts["parse"]["ratio"] < 1.7
    assert verdicts["load"]["verdict"] == "unchanged"
    assert document["leaks"]["new"] == [
        {"owner_module": "pool.worker", "resource_type": "process", "count": 4}
    ]
    assert document["errors"]["new_boundaries"] == [
        {"source": "chunker.parser", "target": "cli.main", "count": 4}
    ]
    assert document["environment"] == {"mismatch": False, "known": True, "allowed": False}
    assert document["baseline"]["runs"] == [f"20261201T00000{i}Z-base{i}" for i in range(4)]


def test_nothing_is_called_a_change_between_two_runs_of_the_same_code(tmp_path: Path) -> None:
    for seed in range(5):
        store = tmp_path / str(seed)
        comparison_scenario(store, seed=seed)
        # main against itself: one of its runs against another.
        document = build_comparison([store], "20261201T000000Z-base0", "20261201T000003Z-base3")
        assert document["verdict"] == "no regression", seed


def test_different_machines_call_no_timing_a_regression_unless_allowed(tmp_path: Path) -> None:
    comparison_scenario(tmp_path, candidate_host="laptop")
    document = build_comparison([tmp_path], "main", "feature-b")
    assert document["environment"]["mismatch"] is True
    assert document["regressions"]["slower"] == 0
    assert {row["name"]: row["verdict"] for row in document["timings"]}["parse"] == "slower"
    text = render_comparison_markdown(document)
    assert "no timing is called a regression" in text
    allowed = build_comparison([tmp_path], "main", "feature-b", allow_env_mismatch=True)
    assert allowed["regressions"]["slower"] == 1


def test_sides_by_path_run_id_and_last(tmp_path: Path) -> None:
    comparison_scenario(tmp_path)
    by_path = build_comparison([tmp_path], MAIN, FEATURE)
    assert (
        by_path["regressions"] == build_comparison([tmp_path], "main", "feature-b")["regressions"]
    )
    last = build_comparison([tmp_path], "main", "feature-b", last=2)
    assert last["candidate"]["runs"] == ["20261202T000002Z-cand2", "20261202T000003Z-cand3"]
    one = build_comparison([tmp_path], "20261201T000000Z-base0", "20261202T000000Z-cand0")
    assert one["baseline"]["runs"] == ["20261201T000000Z-base0"]
    assert {row["verdict"] for row in one["timings"]} <= {"slower", "unchanged", "not enough data"}


def test_bad_sides_are_refused_naming_what_exists(tmp_path: Path) -> None:
    comparison_scenario(tmp_path)
    with pytest.raises(ReportError, match=r"baseline 'nope' names no run and no worktree.*main"):
        build_comparison([tmp_path], "nope", "feature-b")
    with pytest.raises(ReportError, match="share runs"):
        build_comparison([tmp_path], "main", "20261201T000001Z-base1")
    with pytest.raises(ReportError, match="last must be an int >= 1"):
        build_comparison([tmp_path], "main", "feature-b", last=0)
    with pytest.raises(ReportError, match="no record store"):
        build_comparison([tmp_path / "missing"], "main", "feature-b")


def test_several_stores_are_read_as_one(tmp_path: Path) -> None:
    comparison_scenario(tmp_path / "all")
    # The same runs split over two stores, as CI machines would upload them.
    for directory in (tmp_path / "all" / "records").iterdir():
        target = tmp_path / ("one" if "base" in directory.name else "two") / "records"
        target.mkdir(parents=True, exist_ok=True)
        directory.rename(target / directory.name)
    split = build_comparison([tmp_path / "one", tmp_path / "two"], "main", "feature-b")
    assert split["regressions"] == {
        "newly_failing": 1,
        "newly_flaky": 1,
        "slower": 1,
        "new_leaks": 1,
    }


def test_a_test_flipping_on_the_same_files_across_sides_is_flaky(tmp_path: Path) -> None:
    for index, outcome in enumerate(["passed", "failed", "passed"]):
        where = BASE if index < 2 else CAND
        run = f"2026120{index + 1}T000000Z-r{index}"
        env = environment_record("ci-1", tree_hash="c" * 40, **where)
        write_run(tmp_path, run, [env, result_record("t.py::test_x", outcome, **where)])
    document = build_comparison([tmp_path], "main", "feature-b")
    (flaky,) = document["outcomes"]["flaky"]
    assert flaky["test"] == "t.py::test_x" and flaky["baseline_flips"] == 1
    assert not flaky["new"]  # it flipped on the baseline already
    assert document["outcomes"]["newly_failing"] == []


def test_too_few_samples_say_not_enough_data(tmp_path: Path) -> None:
    for side, where in (("a", BASE), ("b", CAND)):
        records = [timing_record("parse", 0.01 * (2 if side == "b" else 1), **where)] * 2
        write_run(tmp_path, f"20261201T00000{int(side == 'b')}Z-{side}", records)
    document = build_comparison([tmp_path], "main", "feature-b")
    (row,) = document["timings"]
    assert row["verdict"] == "not enough data" and document["verdict"] == "no regression"
    assert row["ratio_low"] is None and row["ratio_high"] is None  # too few to bound it
    assert json.loads(render_json(document)) == document  # strict JSON: no infinity
    assert "2.00x (unbounded)" in render_comparison_markdown(document)


def test_hostile_names_are_inert_in_the_markdown(tmp_path: Path) -> None:
    payload = "<img src=x onerror=alert(1)>\x1b]0;pwned\x07|`*_"
    for side, where in (("a", BASE), ("b", {"worktree": FEATURE, "branch": payload})):
        records = [
            result_record(payload, "passed" if side == "a" else "failed", **where),
            resource(payload, payload, "leaked", **where)
            if side == "b"
            else result_record("t::x", "passed", **where),
            environment_record(payload, payload, **where),
        ]
        write_run(tmp_path, f"2026120{1 if side == 'a' else 2}T000000Z-{side}", records)
    document = build_comparison([tmp_path], "main", FEATURE)
    text = render_comparison_markdown(document)
    assert_inert(text)
    assert "\x1b" not in text and "\x07" not in text
    assert document["outcomes"]["newly_failing"][0]["test"] == payload


def test_bad_options_are_refused_naming_them_even_with_nothing_timed(tmp_path: Path) -> None:
    write_run(tmp_path, "20261201T000000Z-a", [result_record("t::x", "passed", **BASE)])
    write_run(tmp_path, "20261202T000000Z-b", [result_record("t::x", "passed", **CAND)])
    with pytest.raises(ValueError, match="alpha must be a number between 0 and 1"):
        build_comparison([tmp_path], "main", "feature-b", alpha=0)
    with pytest.raises(ValueError, match=r"min_effect must be a finite number >= 1\.0"):
        build_comparison([tmp_path], "main", "feature-b", min_effect=0.9)
    # One store may be named alone, as build_report takes it.
    assert build_comparison(tmp_path, "main", "feature-b")["verdict"] == "no regression"


def test_an_unknown_side_names_the_worktrees_inert(tmp_path: Path) -> None:
    hostile = {"worktree": "/w/x", "branch": "evil\x1b]0;pwned\x07"}
    write_run(tmp_path, "20261201T000000Z-a", [result_record("t::x", "passed", **hostile)])
    with pytest.raises(ReportError) as raised:
        build_comparison([tmp_path], "nope", "other")
    message = str(raised.value)
    assert "\x1b" not in message and "\x07" not in message
    assert "evil\\x1b]0;pwned\\x07" in message
