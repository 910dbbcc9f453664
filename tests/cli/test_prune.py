"""`itest-shared prune`: options, dates and ages, what it prints, and usage errors."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from itest_shared.cli._prune import _age, _moment
from itest_shared.store import RecordStore
from tests.cli.support import run
from tests.stores import config

A, B = "/repos/proj", "/repos/proj-feature"
OLD = time.time() - 7200


def make_store(directory: Path, runs: dict[str, str]) -> RecordStore:
    """A store of closed runs, ``{run id: worktree}``, all written two hours ago."""
    store = RecordStore(directory)
    for run_id, worktree in runs.items():
        with store.writer(run_id) as writer:
            writer.write_many([config("timeout", worktree=worktree)] * 3)
        folder = directory / "records" / run_id
        for entry in os.scandir(folder):
            os.utime(entry.path, (OLD, OLD))
        os.utime(folder, (OLD, OLD))
    return store


@pytest.fixture
def store(tmp_path: Path) -> RecordStore:
    return make_store(
        tmp_path / "store",
        {
            "20240101T000000Z-aaaaaa": A,
            "20240102T000000Z-bbbbbb": B,
            "20240103T000000Z-cccccc": A,
            "20240104T000000Z-dddddd": B,
            "custom-run": A,
        },
    )


def test_keep_last_prints_what_it_removed_per_worktree(
    capsys: pytest.CaptureFixture[str], store: RecordStore
) -> None:
    status, out, err = run(capsys, "prune", str(store.directory), "--keep-last", "1")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("Removed 2 run(s), 2 file(s), ") and str(store.directory) in lines[0]
    assert lines[0].endswith("2 run(s) kept by the rules, 1 for the reasons below.")
    assert lines[1:5] == [
        f"{A}: 1 run(s)",
        lines[2],
        f"{B}: 1 run(s)",
        lines[4],
    ]
    assert lines[2].startswith("  20240101T000000Z-aaaaaa  1 file(s), ")
    assert lines[4].startswith("  20240102T000000Z-bbbbbb  1 file(s), ")
    assert lines[5:] == [
        "Kept, although no rule keeps them:",
        "  custom-run: run id does not start with its UTC start time: never removed",
    ]
    assert store.runs() == ["20240103T000000Z-cccccc", "20240104T000000Z-dddddd", "custom-run"]


def test_dry_run_says_would_and_removes_nothing(
    capsys: pytest.CaptureFixture[str], store: RecordStore
) -> None:
    before = store.runs()
    status, out, _ = run(
        capsys, "prune", str(store.directory), "--older-than", "2024-01-03", "--dry-run"
    )
    assert status == 0 and out.startswith("Would remove 2 run(s), 2 file(s)")
    assert store.runs() == before


def test_both_rules_and_an_age(capsys: pytest.CaptureFixture[str], store: RecordStore) -> None:
    status, out, _ = run(
        capsys, "prune", str(store.directory), "--keep-last", "1", "--older-than", "2024-01-02"
    )
    assert status == 0 and out.startswith("Removed 1 run(s)")
    assert "20240101T000000Z-aaaaaa" in out
    status, out, _ = run(capsys, "prune", str(store.directory), "--older-than", "1d")
    assert status == 0 and out.startswith("Removed 3 run(s)")  # all dated ones
    assert store.runs() == ["custom-run"]


def test_min_idle_keeps_what_was_just_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = RecordStore(tmp_path / "store")
    with store.writer("20240101T000000Z-aaaaaa") as writer:
        writer.write(config("timeout"))
    status, out, _ = run(capsys, "prune", str(store.directory), "--older-than", "1w")
    assert status == 0 and "20240101T000000Z-aaaaaa: written to less than 1h ago" in out
    status, out, _ = run(
        capsys, "prune", str(store.directory), "--older-than", "1w", "--min-idle", "0"
    )
    assert status == 0 and out.startswith("Removed 1 run(s)")


def test_default_store_is_the_shared_one(
    capsys: pytest.CaptureFixture[str], linked_worktree: tuple[Path, Path]
) -> None:
    from itest_shared.coordination import shared_directory

    status, _, err = run(capsys, "prune", "--keep-last", "1")
    assert status == 2 and "no record store at" in err
    make_store(shared_directory(), {"20240101T000000Z-aaaaaa": A, "20240102T000000Z-bbbbbb": A})
    status, out, _ = run(capsys, "prune", "--keep-last", "1")
    assert status == 0 and out.startswith("Removed 1 run(s)")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "prune: give --keep-last N, --older-than DATE or both"),
        (["--keep-last", "0"], "argument --keep-last: expected a whole number >= 1, got '0'"),
        (["--keep-last", "x"], "argument --keep-last: expected a whole number >= 1, got 'x'"),
        (["--older-than", "yesterday"], "argument --older-than: expected an ISO date"),
        (["--older-than", "30x"], "argument --older-than: expected an ISO date"),
        (["--keep-last", "1", "--min-idle", "1y"], "argument --min-idle: expected an age"),
    ],
)
def test_usage_errors(
    capsys: pytest.CaptureFixture[str], store: RecordStore, argv: list[str], message: str
) -> None:
    before = store.runs()
    status, out, err = run(capsys, "prune", str(store.directory), *argv)
    assert (status, out) == (2, "")
    assert f"itest-shared: error: {message}" in err
    assert store.runs() == before


def test_store_problems_are_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = run(capsys, "prune", str(tmp_path / "nope"), "--keep-last", "1")
    assert status == 2 and "does not exist" in err
    (tmp_path / "file").write_text("")
    status, _, err = run(capsys, "prune", str(tmp_path / "file"), "--keep-last", "1")
    assert status == 2 and "is not a directory" in err
    other = make_store(tmp_path / "other", {"20240101T000000Z-aaaaaa": A})
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "records").symlink_to(other.directory / "records")
    status, _, err = run(capsys, "prune", str(tmp_path / "linked"), "--older-than", "1d")
    assert status == 2 and "symbolic link: prune removes nothing outside the store" in err
    assert other.runs() == ["20240101T000000Z-aaaaaa"]


def test_dates_and_ages() -> None:
    assert _moment("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert _moment("2024-05-01T12:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert _moment("2024-05-01T12:00Z") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert _moment("2024-05-01T14:00+02:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    before = datetime.now(UTC)
    moment = _moment("30d")
    assert before - timedelta(days=30, minutes=1) < moment <= datetime.now(UTC) - timedelta(30)
    assert [_age(text) for text in ("0", "45s", "90m", "12h", "2d", "1w")] == [
        timedelta(0),
        timedelta(seconds=45),
        timedelta(minutes=90),
        timedelta(hours=12),
        timedelta(days=2),
        timedelta(weeks=1),
    ]


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "prune", "--help")
    assert status == 0 and out.startswith("usage: itest-shared prune")
    for option in ("--keep-last", "--older-than", "--min-idle", "--dry-run"):
        assert option in out


def test_worktree_paths_from_records_are_printed_inert(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    hostile = "/repos/\x1b]0;pwned\x07\u202eevil"
    store = make_store(
        tmp_path / "store",
        {"20240101T000000Z-aaaaaa": hostile, "20240102T000000Z-bbbbbb": hostile},
    )
    status, out, _ = run(capsys, "prune", str(store.directory), "--keep-last", "1")
    assert status == 0
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "/repos/\\x1b]0;pwned\\x07\\u202eevil: 1 run(s)" in out
