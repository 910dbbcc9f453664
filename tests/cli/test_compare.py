"""itest-shared compare: the verdict as an exit status, markdown and JSON, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.support import run
from tests.stores import comparison_scenario


def test_a_regression_exits_1_with_the_verdict_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    comparison_scenario(tmp_path)
    status, out, err = run(capsys, "compare", "main", "feature-b", str(tmp_path))
    assert status == 1 and err == ""
    lines = out.splitlines()
    assert lines[0] == "# itest-shared compare"
    assert lines[2] == (
        "**Verdict: regressed** (newly failing: 1, newly flaky: 1, slower: 1, new leaks: 1)."
    )
    assert "`t.py::test_b`" in out and "`t.py::test_c`" in out


def test_json_holds_the_whole_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    comparison_scenario(tmp_path)
    status, out, _ = run(
        capsys, "compare", "main", "feature-b", str(tmp_path), "--format", "json", "--last", "2"
    )
    document = json.loads(out)
    assert status == 1 and document["verdict"] == "regressed"
    assert len(document["candidate"]["runs"]) == 2


def test_no_regression_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    comparison_scenario(tmp_path)
    status, out, _ = run(
        capsys, "compare", "20261201T000000Z-base0", "20261201T000001Z-base1", str(tmp_path)
    )
    assert status == 0 and "**Verdict: no regression.**" in out


def test_a_big_min_effect_calls_nothing_slower(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    comparison_scenario(tmp_path)
    _, out, _ = run(
        capsys, "compare", "main", "feature-b", str(tmp_path), "--format", "json",
        "--min-effect", "2",
    )  # fmt: skip
    assert json.loads(out)["regressions"]["slower"] == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nope", "feature-b"], "baseline 'nope' names no run and no worktree"),
        (["main", "feature-b", "--min-effect", "0.5"], "expected a factor >= 1.0"),
        (["main", "feature-b", "--alpha", "1.5"], "expected a number between 0 and 1"),
        (["main", "feature-b", "--last", "0"], "expected a whole number >= 1"),
        (["main"], "the following arguments are required: CANDIDATE"),
    ],
)
def test_usage_errors_exit_2_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    comparison_scenario(tmp_path)
    stores = [str(tmp_path)] if len(arguments) >= 2 else []
    status, out, err = run(capsys, "compare", *arguments[:2], *stores, *arguments[2:])
    assert status == 2 and out == ""
    assert message in err


def test_a_missing_store_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "compare", "a", "b", str(tmp_path / "missing"))
    assert status == 2 and "does not exist" in err


def test_bench_ab_refuses_bad_worktrees_and_a_broken_pytest_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    status, _, err = run(capsys, "bench-ab", "nowhere", str(second))
    assert status == 2 and "worktree 'nowhere': no such directory" in err
    status, _, err = run(capsys, "bench-ab", str(first), str(first))
    assert status == 2 and "are the same worktree" in err
    # No test in either: pytest exits 5, which ends the bench (nothing to compare).
    status, _, err = run(
        capsys, "bench-ab", str(first), str(second), "--rounds", "1",
        "--store", str(tmp_path / "store"), "--", "-p", "no:randomly",
    )  # fmt: skip
    assert status == 2 and "ended with status 5 (no tests collected)" in err
    assert "-p no:randomly" in err  # the pytest arguments, after --


def test_the_pytest_arguments_are_only_those_after_the_bench_ab_double_dash() -> None:
    from itest_shared.cli._compare import split_pytest_args

    assert split_pytest_args(["bench-ab", "a", "b", "--", "-x", "--", "t"]) == (
        ["bench-ab", "a", "b"],
        ["-x", "--", "t"],
    )
    assert split_pytest_args(["compare", "a", "--", "b"]) == (["compare", "a", "--", "b"], [])
    assert split_pytest_args(["bench-ab", "a", "b"]) == (["bench-ab", "a", "b"], [])
