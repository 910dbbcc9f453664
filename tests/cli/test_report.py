"""`itest-shared report`: JSON and Markdown, filters, usage errors and the default store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from itest_shared.store import TORN_LAST_LINE, RecordStore
from tests.cli.support import HANG, run
from tests.stores import FEATURE, config

# --- report -------------------------------------------------------------------


def test_report_json(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "report", str(store), "--format", "json")
    assert status == 0, err
    document = json.loads(out)
    assert document["records"] == 18
    assert [w["label"] for w in document["worktrees"]] == ["feature-b", "main", "(no worktree)"]
    assert document["problems"]["total"] == 2


def test_report_markdown_is_the_default(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "report", str(store))
    assert status == 0
    assert out.startswith("# itest-shared report")
    assert "| feature-b | main |" in out
    assert "WARNING:** worktrees are on different schema majors" in out
    assert TORN_LAST_LINE in out


def test_report_filters(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "report", str(store), "--format", "json", "--worktree", FEATURE)
    assert status == 0
    assert [w["label"] for w in json.loads(out)["worktrees"]] == ["feature-b"]
    status, out, _ = run(capsys, "report", str(store), "--format=json", "--run", "run-1")
    assert status == 0
    assert json.loads(out)["runs"] == ["run-1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run", "../x"], "--run: run_id must be 1-128 characters"),
        (["--run", "run-9"], "unknown run 'run-9'; runs in"),
        (["--worktree", "nope"], "no worktree matches 'nope'; worktrees seen: feature-b"),
        (["--format", "xml"], "invalid choice: 'xml' (choose from"),
    ],
)
def test_report_usage_errors_exit_2(
    store: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    status, out, err = run(capsys, "report", str(store), *args)
    assert status == 2
    assert out == ""
    assert "itest-shared: error: " in err and message in err


def test_report_store_must_be_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "report", str(tmp_path / "missing"))
    assert status == 2 and "does not exist" in err and err.startswith("itest-shared: error:")
    (tmp_path / "file").write_text("x")
    status, _, err = run(capsys, "report", str(tmp_path / "file"))
    assert status == 2 and "is not a directory" in err


def test_report_of_an_empty_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "report", str(tmp_path))
    assert status == 0 and f"no records in {tmp_path}" in out
    status, out, err = run(capsys, "report", str(tmp_path), "--format", "json")
    assert status == 0 and json.loads(out)["records"] == 0
    assert "no records in" in err  # stdout stays pure JSON


def test_report_with_no_store_yet_leaves_no_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from itest_shared.coordination import clear_git_cache

    clear_git_cache()
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "report")
    assert status == 0 and f"no records in {tmp_path / '.itest-shared'}" in out
    assert list(tmp_path.iterdir()) == []


def test_report_defaults_to_the_shared_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from itest_shared.coordination import shared_directory

    project = tmp_path / "project"  # not a git repository: .itest-shared under it
    project.mkdir()
    monkeypatch.chdir(project)
    with RecordStore(shared_directory()).writer("r") as writer:
        writer.write(config("from_default"))
    status, out, _ = run(capsys, "report", "--format", "json")
    assert status == 0
    document = json.loads(out)
    assert document["store"] == str(shared_directory())
    paths = document["worktrees"][0]["config_changes"]["by_path"]
    assert paths == [{"config_path": "from_default", "count": 1}]


def test_report_of_hostile_strings_on_a_strict_utf8_stdout(tmp_path: Path) -> None:
    """A lone surrogate or an ESC in a record reaches neither a strict stdout nor the terminal."""
    with RecordStore(tmp_path).writer("r") as writer:
        writer.write(config("a\ud800b\x1b]0;title\x07", worktree="/w/\udcff", branch="b\u202e"))
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    for form in ("markdown", "json"):
        done = subprocess.run(
            [sys.executable, "-m", "itest_shared", "report", str(tmp_path), "--format", form],
            capture_output=True,
            env=env,
            timeout=HANG,
        )
        assert (done.returncode, done.stderr) == (0, b""), done.stderr.decode(errors="replace")
        out = done.stdout.decode("utf-8")  # strict
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
        if form == "json":
            paths = json.loads(out)["worktrees"][0]["config_changes"]["by_path"]
            assert paths[0]["config_path"] == "a\ud800b\x1b]0;title\x07"  # the data, exact
        else:
            # Shown as escapes, in markdown: a backslash is itself escaped there.
            assert "a\\\\ud800b\\\\x1b\\]0;title\\\\x07" in out
