"""`itest-shared validate`: bad lines named, files and directories, the default store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from itest_shared.formats import SCHEMA_VERSION, ResourceRecord
from itest_shared.store import TORN_LAST_LINE, Problem, RecordStore, validate_file
from tests.cli.support import HANG, good_lines, run
from tests.helpers import run_captured
from tests.stores import config

# --- validate -----------------------------------------------------------------


def test_validate_reports_each_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = good_lines()
    wrong_type = json.loads(second)
    wrong_type["timestamp"] = "yesterday"
    future = json.loads(first)
    future["schema_version"] = "2.0"
    path = tmp_path / "records.jsonl"
    lines = [first, json.dumps(wrong_type), second, json.dumps(future)]
    path.write_text("\n".join(lines) + "\n" + first[:30])  # torn last line
    status, out, err = run(capsys, "validate", str(path))
    assert status == 1
    reported = out.splitlines()
    assert [line.split(": ", 1)[0] for line in reported] == [f"{path}:2", f"{path}:4", f"{path}:5"]
    assert "timestamp" in reported[0]
    assert "unsupported schema_version '2.0'" in reported[1]
    assert reported[2].endswith(TORN_LAST_LINE)
    assert err.strip() == "1 files, 5 lines checked: 3 bad"


def test_validate_good_files_and_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nested = tmp_path / "records" / "run-1"
    nested.mkdir(parents=True)
    for name in ("b.jsonl", "a.jsonl"):
        (nested / name).write_text("\n".join(good_lines()) + "\n")
    (nested / "notes.txt").write_text("not a record file")
    status, out, err = run(capsys, "validate", str(tmp_path))
    assert (status, out) == (0, "")
    assert err.strip() == "2 files, 4 lines checked: 0 bad"
    # A directory's files come sorted, so bad lines come in file order.
    (nested / "a.jsonl").write_text("[]\n")
    (nested / "b.jsonl").write_text("{}\n")
    status, out, _ = run(capsys, "validate", str(tmp_path))
    assert status == 1
    assert [line.split(":")[0] for line in out.splitlines()] == [
        str(nested / "a.jsonl"),
        str(nested / "b.jsonl"),
    ]


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.jsonl"
    status, out, err = run(capsys, "validate", str(missing))
    assert status == 1
    assert out == f"{missing}: cannot read: No such file or directory\n"
    assert "1 files unreadable" in err


def test_validate_without_a_file_checks_the_shared_store_outside_git(
    outside_git: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = outside_git / ".itest-shared"
    status, out, err = run(capsys, "validate")
    # Nothing recorded yet: a usage error that says where it looked, and no trace.
    assert (status, out) == (2, "")
    assert err.startswith(f"itest-shared: error: no record store at {store} yet")
    assert "pytest --itest-record" in err and "FILE" in err
    assert list(outside_git.iterdir()) == []
    with RecordStore(store).writer("run-1") as writer:
        writer.write(config("timeout"))
    status, out, err = run(capsys, "validate")
    assert (status, out) == (0, "")
    assert err.strip() == f"1 files, 1 lines checked in {store}: 0 bad"
    (bad,) = RecordStore(store).files()
    with bad.open("a") as stream:
        stream.write("{}\n")
    status, out, err = run(capsys, "validate")
    assert status == 1 and out.startswith(f"{bad}:2: ")
    assert err.strip() == f"1 files, 2 lines checked in {store}: 1 bad"


def test_validate_without_a_file_in_a_linked_worktree(
    linked_worktree: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    main, _ = linked_worktree  # the current directory is the linked worktree
    store = main / ".git" / "itest-shared"
    status, _, err = run(capsys, "validate")
    assert status == 2 and f"no record store at {store} yet" in err
    assert not store.exists()
    with RecordStore(store).writer("run-1") as writer:
        writer.write(config("timeout"))
    # Here .git is a file, so the store cannot be named by path; FILE is kept as it was.
    status, out, _ = run(capsys, "validate", ".git/itest-shared")
    assert status == 1 and out == ".git/itest-shared: cannot read: Not a directory\n"
    status, out, err = run(capsys, "validate")
    assert (status, out) == (0, "")
    assert err.strip() == f"1 files, 1 lines checked in {store}: 0 bad"


def test_validate_of_a_default_store_that_is_a_file(
    outside_git: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (outside_git / ".itest-shared").write_text("")
    status, _, err = run(capsys, "validate")
    assert status == 2 and "is not a directory" in err


def test_validate_and_report_take_any_bytes(tmp_path: Path) -> None:
    """Whatever a record file holds, validate names bad lines and report never fails."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    good = ResourceRecord("r", "file", "m", created_at=1.0).to_json().encode()
    lines = st.lists(
        st.one_of(
            st.just(good),
            st.binary(max_size=40).filter(lambda b: b"\n" not in b),
            st.builds(lambda cut: good[:cut], st.integers(0, len(good))),
        ),
        max_size=6,
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(lines=lines, ending=st.sampled_from([b"\n", b""]))
    def check(lines: list[bytes], ending: bytes) -> None:
        run_dir = tmp_path / "store" / "records" / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / "w.jsonl"
        content = b"\n".join(lines) + (ending if lines else b"")
        path.write_bytes(content)
        status, printed = run_captured("validate", str(path))
        bad = [line for line in printed.splitlines() if line]
        assert all(line.startswith(f"{path}:") for line in bad), bad
        numbers = [int(line.removeprefix(f"{path}:").split(":", 1)[0]) for line in bad]
        # What a reader must see: every line but a whole good record is bad, and
        # so is a good record without its newline at the very end (torn).
        pieces = content.split(b"\n")
        complete, last = pieces[:-1], pieces[-1]
        expected = [n for n, piece in enumerate(complete, 1) if piece != good]
        if last:
            expected.append(len(pieces))
        assert numbers == expected, (bad, content)
        assert status == (1 if expected else 0)
        status, _ = run_captured("report", str(tmp_path / "store"), "--format", "json")
        assert status == 0

    check()


def test_validate_names_fifos_and_symlinks_without_blocking(tmp_path: Path) -> None:
    """A FIFO never blocks validate; a link found in a directory is named, one named is read."""
    outside = tmp_path / "outside.jsonl"
    outside.write_text("\n".join(good_lines()) + "\n")
    store = tmp_path / "store"
    store.mkdir()
    (store / "link.jsonl").symlink_to(outside)
    os.mkfifo(store / "pipe.jsonl")
    os.mkfifo(tmp_path / "named.fifo")

    def validate(*names: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "itest_shared", "validate", *names]
        # The timeout only stops a hang (the FIFO had no writer): never a speed claim.
        return subprocess.run(command, capture_output=True, text=True, timeout=HANG)

    walked = validate(str(store))
    assert walked.returncode == 1
    assert walked.stdout.splitlines() == [
        f"{store / 'link.jsonl'}: not a regular file: a symbolic link, not followed",
        f"{store / 'pipe.jsonl'}: not a regular file: a FIFO (named pipe), not read",
    ]
    assert walked.stderr.strip() == "2 files, 0 lines checked: 0 bad, 2 files unreadable"
    fifo = validate(str(tmp_path / "named.fifo"))
    assert fifo.returncode == 1
    assert "a FIFO (named pipe), not read" in fifo.stdout
    named = validate(str(store / "link.jsonl"))  # the user named it: followed, as cat does
    assert (named.returncode, named.stdout) == (0, "")
    assert named.stderr.strip() == "1 files, 2 lines checked: 0 bad"


def test_a_record_type_of_a_newer_minor_is_said_not_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 1.5 `coverage` record is forward-compatible data; a 1.0 one, or a bad 1.5 one, is not."""
    first, _ = good_lines()
    envelope = {k: v for k, v in json.loads(first).items() if k in ("record_id", "producer")}
    newer = {"record_type": "coverage", "schema_version": "1.5", **envelope, "lines": 3}
    unknown_old = newer | {"schema_version": "1.0"}
    known_bad = json.loads(first) | {"schema_version": "1.5", "created_at": "soon"}
    later_major = newer | {"schema_version": "2.0"}
    path = tmp_path / "records.jsonl"
    rows = [first, newer, unknown_old, known_bad, later_major]
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    status, out, err = run(capsys, "validate", str(path))
    assert status == 1
    lines = out.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"{path}:3",
        f"{path}:4",
        f"{path}:5",
        f"{path}:2",
    ]
    assert "record_type: expected one of" in lines[0]
    assert "created_at" in lines[1]
    assert "unsupported schema_version '2.0'" in lines[2]
    assert lines[3] == (
        f"{path}:2: note: record type 'coverage' of schema 1.5 is newer than this release"
        f" (schema {SCHEMA_VERSION}): not checked"
    )
    assert err.strip() == (
        "1 files, 5 lines checked: 3 bad, 1 records of newer record types not checked"
    )
    path.write_text(first + "\n" + json.dumps(newer) + "\n")
    status, out, err = run(capsys, "validate", str(path))
    assert status == 0
    assert out.count("note:") == 1
    seen: list[Problem] = []
    assert list(validate_file(path, newer_types=seen)) == []
    assert [(p.line, "coverage" in p.reason) for p in seen] == [(2, True)]
    assert list(validate_file(path)) == []  # without a list: not yielded either
    with pytest.raises(TypeError, match="newer_types must be a list or None, got tuple"):
        validate_file(path, newer_types=())  # type: ignore[arg-type]
