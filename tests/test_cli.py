"""Tests for the ``itest-shared`` command: report, validate, where, schema, help and exit statuses.

Mostly in-process through ``main([...])``; a few runs of ``python -m itest_shared``
and of the installed console script check the entry points themselves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from itest_shared.cli import main
from itest_shared.formats import ConfigChangeEvent, ResourceRecord, package_version
from itest_shared.store import TORN_LAST_LINE, RecordStore
from tests.helpers import git
from tests.stores import FEATURE, build_store, config

HANG = 60.0  # only stops a hang; never a speed claim


@pytest.fixture
def store(tmp_path: Path) -> Path:
    build_store(tmp_path / "store")
    return tmp_path / "store"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


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


# --- validate -----------------------------------------------------------------


def good_lines() -> list[str]:
    """Two valid records, as the record classes write them."""
    resource = ResourceRecord(
        resource_id="w1", resource_type="process", owner_module="m", created_at=1.0
    )
    change = ConfigChangeEvent(
        config_path="timeout", old_value=1, new_value=2, affected_modules=["m"], timestamp=2.0
    )
    return [resource.to_json(), change.to_json()]


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


@pytest.fixture
def outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory, not in a git repository, as the current directory."""
    from itest_shared.coordination import clear_git_cache

    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    clear_git_cache()
    return project


@pytest.fixture
def linked_worktree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A repository ``main`` and its linked worktree ``feature`` (current directory)."""
    from itest_shared.coordination import clear_git_cache

    main = tmp_path / "main"
    main.mkdir()
    git(main, "init", "-q", "-b", "main")
    git(main, "commit", "-q", "--allow-empty", "-m", "start")
    feature = tmp_path / "feature"
    git(main, "worktree", "add", "-q", "-b", "feature", str(feature))
    monkeypatch.chdir(feature)
    clear_git_cache()
    return main.resolve(), feature


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


# --- where --------------------------------------------------------------------


def test_where_outside_git(outside_git: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = outside_git / ".itest-shared"
    status, out, err = run(capsys, "where")
    assert (status, out) == (0, f"{store}\n")
    assert err == f"itest-shared: {store} does not exist yet; `pytest --itest-record` creates it\n"
    assert list(outside_git.iterdir()) == []  # asking creates nothing
    store.mkdir()
    assert run(capsys, "where") == (0, f"{store}\n", "")
    store.rmdir()
    store.write_text("")
    status, out, err = run(capsys, "where")
    assert (status, out) == (0, f"{store}\n")
    assert err == f"itest-shared: warning: {store} exists and is not a directory\n"


def test_where_is_the_same_store_from_every_worktree_and_subdirectory(
    linked_worktree: tuple[Path, Path],
) -> None:
    main, feature = linked_worktree
    expected = f"{main / '.git' / 'itest-shared'}\n"
    (main / "sub").mkdir()
    for cwd in (feature, main, main / "sub"):
        # The console script, as a user runs it: its own process, its own git cache.
        done = subprocess.run(
            [str(Path(sys.executable).parent / "itest-shared"), "where"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=HANG,
        )
        assert (done.returncode, done.stdout) == (0, expected), (cwd, done.stderr)
        assert "does not exist yet" in done.stderr
    assert not (main / ".git" / "itest-shared").exists()


# --- schema -------------------------------------------------------------------


def test_schema_of_every_type(capsys: pytest.CaptureFixture[str]) -> None:
    from itest_shared.schema import json_schemas

    status, out, _ = run(capsys, "schema")
    assert status == 0
    schemas = json.loads(out)
    assert schemas == json.loads(json.dumps(json_schemas()))
    assert {"error_context", "config_change", "resource"} <= set(schemas)


def test_schema_of_one_type(capsys: pytest.CaptureFixture[str]) -> None:
    from itest_shared.schema import json_schema

    status, out, _ = run(capsys, "schema", "resource")
    assert status == 0
    assert json.loads(out) == json.loads(json.dumps(json_schema("resource")))
    assert out.startswith('{\n  "')  # indented for reading


def test_schema_of_an_unknown_type(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "schema", "nope")
    assert status == 2 and out == ""
    assert err.startswith("itest-shared: error: ") and "resource" in err


# --- help, version, entry points ---------------------------------------------


@pytest.mark.parametrize("command", [[], ["report"], ["validate"], ["where"], ["schema"]])
def test_help(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    status, out, _ = run(capsys, *command, "--help")
    assert status == 0
    assert out.startswith(f"usage: itest-shared {' '.join(command)}".rstrip())


def test_version_and_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--version")
    assert (status, out) == (0, f"itest-shared {package_version()}\n")
    status, out, err = run(capsys, "frobnicate")
    assert status == 2 and "invalid choice: 'frobnicate'" in err
    status, out, err = run(capsys)
    assert status == 2 and "report" in err and "validate" in err and "where" in err


def test_python_dash_m(store: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "itest_shared", "report", str(store), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["records"] == 18


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "itest-shared"
    assert script.exists(), f"console script not installed at {script}"
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(good_lines()) + "\n")
    done = subprocess.run(
        [str(script), "validate", str(good)], capture_output=True, text=True, timeout=HANG
    )
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n")
    done = subprocess.run(
        [str(script), "validate", str(bad)], capture_output=True, text=True, timeout=HANG
    )
    assert done.returncode == 1
    assert done.stdout.startswith(f"{bad}:1: ")
    done = subprocess.run([str(script), "report", str(tmp_path / "nope")], capture_output=True,
                          text=True, timeout=HANG)  # fmt: skip
    assert done.returncode == 2 and "itest-shared: error:" in done.stderr


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


def run_captured(*argv: str) -> tuple[int, str]:
    """Run main() in-process with stdout captured; return the status and what it printed."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue()
