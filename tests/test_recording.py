"""``--itest-record``: what the fixtures record, where, with which context; xdist; worktree_lock."""

from __future__ import annotations

import os
import pathlib
import re
import textwrap
from collections import Counter
from typing import Any

import pytest

from itest_shared.coordination import clear_git_cache
from itest_shared.fixtures._recording import check_record_option
from itest_shared.formats import (
    ConfigChangeEvent,
    ErrorContext,
    ResourceRecord,
    TimingStatsRecord,
    WorktreeInfo,
    load_record,
)
from itest_shared.recording import Recorder, new_run_id
from itest_shared.store import RecordStore, check_run_id
from tests.helpers import CONFTEST, INI, git

# One test that makes a record of every kind: an error crossing modules, a config
# change, a released and a leaked resource (the leak fails it), two timed operations.
EVERY_KIND = textwrap.dedent(
    """
    def test_every_kind(error_tracking_context, config_change_tracker, resource_monitor,
                        performance_monitor):
        try:
            raise ValueError("bad chunk")
        except ValueError as error:
            error_tracking_context.capture_and_propagate(
                "chunker", "parser", error, operation="parse"
            )
        config_change_tracker.on_config_change("parser.timeout", 5, 10)
        resource_monitor.track_resource("pool.worker", "process", "kept")
        resource_monitor.track_resource("pool.worker", "process", "released")
        resource_monitor.release_resource("released")
        for _ in range(3):
            with performance_monitor.measure("parse"):
                pass
        performance_monitor.record("index", 0.25)

    def test_nothing_recorded():
        pass
    """
)


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A worktree (not a git repository) whose conftest.py loads the plugin."""
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    clear_git_cache()
    return pytester


def read_store(directory: pathlib.Path) -> tuple[list[Any], list[str]]:
    """Every record of the store, loaded (the full format check), and the run ids."""
    store = RecordStore(directory)
    report = store.read()
    records = [load_record(data) for data, _ in report]
    assert report.problems == []
    return records, store.runs()


def test_every_kind_of_record_is_written_with_its_test_run_and_worktree(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(test_suite=EVERY_KIND)
    result = suite.runpytest("--itest-record=store")
    result.assert_outcomes(passed=2, errors=1)  # the leaked resource fails teardown
    records, runs = read_store(suite.path / "store")
    assert len(runs) == 1
    kinds = Counter(type(record).__name__ for record in records)
    assert kinds == {
        "ErrorContext": 1,
        "ConfigChangeEvent": 1,
        "ResourceRecord": 2,
        "TimingStatsRecord": 2,
    }
    worktree = WorktreeInfo(path=suite.path, branch=None, commit=None)
    for record in records:
        assert record.context is not None
        assert record.context.test == "test_suite.py::test_every_kind"
        assert record.context.run_id == runs[0]
        assert record.context.worktree == worktree
    (error,) = [r for r in records if isinstance(r, ErrorContext)]
    assert (error.source_module, error.target_module, error.error_type) == (
        "chunker",
        "parser",
        "ValueError",
    )
    (change,) = [r for r in records if isinstance(r, ConfigChangeEvent)]
    assert (change.config_path, change.old_value, change.new_value) == ("parser.timeout", 5, 10)
    states = {r.resource_id: r.state for r in records if isinstance(r, ResourceRecord)}
    assert states == {"kept": "leaked", "released": "released"}
    stats = {r.operation: r for r in records if isinstance(r, TimingStatsRecord)}
    assert stats["parse"].count == 3 and stats["index"].count == 1
    assert stats["index"].total == 0.25
    result.stdout.fnmatch_lines(
        [f"itest-shared: 6 records written to {suite.path / 'store'} (run {runs[0]})"]
    )


def test_without_the_option_nothing_is_recorded_or_said(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_suite=EVERY_KIND)
    result = suite.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    assert not (suite.path / ".itest-shared").exists()
    assert "itest-shared:" not in result.stdout.str()


def test_outside_git_the_default_store_is_dot_itest_shared_under_the_rootdir(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(test_suite=EVERY_KIND)
    sub = suite.mkdir("sub")
    os.chdir(sub)  # pytester restores the working directory afterwards
    # Run from a subdirectory: the store still goes under the rootdir. (The path
    # comes first: "--itest-record PATH" would take PATH as the store directory.)
    result = suite.runpytest(str(suite.path), "--itest-record")
    result.assert_outcomes(passed=2, errors=1)
    records, _ = read_store(suite.path / ".itest-shared")
    assert len(records) == 6
    result.stdout.fnmatch_lines([f"itest-shared: 6 records written to {suite.path}*"])


def test_inside_git_the_default_store_is_in_the_common_git_directory(
    suite: pytest.Pytester,
) -> None:
    git(suite.path, "init", "-q", "-b", "main")
    suite.makepyfile(test_suite=EVERY_KIND)
    suite.runpytest("--itest-record").assert_outcomes(passed=2, errors=1)
    records, _ = read_store(suite.path / ".git" / "itest-shared")
    assert len(records) == 6
    assert {r.context.worktree.branch for r in records} == {"main"}


def test_the_ini_keys_turn_recording_on_and_choose_the_directory(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_suite=EVERY_KIND)
    suite.makeini(INI + "itest_record = true\nitest_record_dir = records-here\n")
    suite.runpytest().assert_outcomes(passed=2, errors=1)
    records, _ = read_store(suite.path / "records-here")
    assert len(records) == 6
    # The option's directory wins over the ini's.
    suite.runpytest("--itest-record=elsewhere").assert_outcomes(passed=2, errors=1)
    assert len(read_store(suite.path / "elsewhere")[0]) == 6


def test_each_run_is_a_run_of_its_own(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_suite=EVERY_KIND)
    for _ in range(2):
        suite.runpytest("--itest-record=store").assert_outcomes(passed=2, errors=1)
    records, runs = read_store(suite.path / "store")
    assert len(runs) == 2
    assert Counter(r.context.run_id for r in records) == {runs[0]: 6, runs[1]: 6}


def test_a_store_path_that_is_a_file_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makepyfile("def test_it(): pass")
    suite.path.joinpath("taken").write_text("")
    result = suite.runpytest("--itest-record=taken")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*--itest-record*'taken'*exists and is not a directory ({suite.path / 'taken'})*"]
    )


def tree(root: pathlib.Path) -> set[pathlib.Path]:
    """Every path under ``root``."""
    return set(root.rglob("*"))


@pytest.mark.parametrize(
    ("argument", "reason"),
    [
        ("test_suite.py::test_every_kind", "looks like a test node id (it contains '::')"),
        ("test_suite.py", "looks like a test file (it ends in '.py')"),
        ("tests", "looks like a test directory (it holds test_more.py)"),
        (".", "looks like a test directory (it holds conftest.py)"),
        ("notes.txt", "exists and is not a directory"),
    ],
)
def test_a_test_path_after_the_option_is_refused_not_taken_as_the_store(
    suite: pytest.Pytester, argument: str, reason: str
) -> None:
    suite.makepyfile(test_suite=EVERY_KIND)
    suite.mkdir("tests").joinpath("test_more.py").write_text("def test_more(): pass\n")
    suite.path.joinpath("notes.txt").write_text("")
    before = tree(suite.path)
    # argparse's nargs="?" hands the next argument to the option: without the
    # check this ran the whole suite and recorded into a directory of that name.
    result = suite.runpytest("--itest-record", argument)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    message = result.stderr.str()
    assert f"--itest-record: DIR must be a record store directory, got {argument!r}" in message
    assert reason in message
    assert "--itest-record=DIR" in message and "--itest-record alone" in message
    assert "passed" not in result.stdout.str()
    assert tree(suite.path) == before


def test_the_equals_form_and_the_bare_option_still_work_with_test_paths(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(test_suite=EVERY_KIND)
    node = "test_suite.py::test_every_kind"
    # The store directory may exist already, with earlier runs in it.
    for _ in range(2):
        suite.runpytest("--itest-record=store", node).assert_outcomes(passed=1, errors=1)
    assert len(read_store(suite.path / "store")[1]) == 2
    # The bare option last, or as --itest-record= before the path: the shared store.
    suite.runpytest(node, "--itest-record").assert_outcomes(passed=1, errors=1)
    suite.runpytest("--itest-record=", node).assert_outcomes(passed=1, errors=1)
    records, runs = read_store(suite.path / ".itest-shared")
    assert len(runs) == 2 and len(records) == 12
    assert {r.context.test for r in records} == {node}


def test_which_values_of_the_option_are_refused(tmp_path: pathlib.Path) -> None:
    (tmp_path / "store" / "records").mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    (tmp_path / "nested" / "unit").mkdir(parents=True)
    (tmp_path / "nested" / "unit" / "test_a.py").write_text("")
    (tmp_path / "suffix").mkdir()
    (tmp_path / "suffix" / "parser_test.py").write_text("")
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "check_parser.py").write_text("")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "conftest.py").write_text("")
    (tmp_path / "file").write_text("")
    for accepted in ("store", "empty", "new/store", "nested", "custom", str(tmp_path / "x")):
        assert check_record_option(accepted, tmp_path) == (tmp_path / accepted).absolute()
    for refused in ("a::b", "new.py", "suffix", "pkg", "file"):
        with pytest.raises(pytest.UsageError, match=f"got '{re.escape(refused)}', which"):
            check_record_option(refused, tmp_path)
    # The directory test follows the python_files patterns pytest collects with.
    with pytest.raises(pytest.UsageError, match=r"it holds check_parser\.py"):
        check_record_option("custom", tmp_path, ["check_*.py"])
    assert check_record_option("suffix", tmp_path, ["check_*.py"]) == tmp_path / "suffix"


def test_the_ini_directory_is_refused_only_when_it_is_a_file(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_suite=EVERY_KIND)
    suite.path.joinpath("taken").write_text("")
    suite.makeini(INI + "itest_record = true\nitest_record_dir = taken\n")
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*ini itest_record_dir: *got 'taken', which exists and is not a directory*"]
    )
    # An ini value never swallowed an argument: a name like a test path is taken as meant.
    suite.makeini(INI + "itest_record = true\nitest_record_dir = records.py\n")
    suite.runpytest().assert_outcomes(passed=2, errors=1)
    assert len(read_store(suite.path / "records.py")[0]) == 6


def test_a_shared_store_that_is_a_file_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makepyfile("def test_it(): pass")
    suite.path.joinpath(".itest-shared").write_text("")
    result = suite.runpytest("--itest-record")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*--itest-record: the shared store {suite.path / '.itest-shared'} exists and is not*"]
    )


def test_the_option_is_documented_in_help(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--help")
    result.stdout.fnmatch_lines(["*--itest-record=[[]DIR[]]*", "*itest_record_dir*"])


def test_under_xdist_every_worker_writes_to_one_run(suite: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    suite.makepyfile(
        textwrap.dedent(
            """
            import os
            import pytest

            @pytest.mark.parametrize("n", range(6))
            def test_worker(performance_monitor, resource_monitor, n):
                performance_monitor.record("work", n / 10)
                resource_monitor.track_resource("m", "file", f"r{n}")
                resource_monitor.release_resource(f"r{n}")
                assert os.environ["PYTEST_XDIST_WORKER"].startswith("gw")
            """
        )
    )
    result = suite.runpytest_subprocess("-n", "2", "--itest-record=store")
    result.assert_outcomes(passed=6)
    records, runs = read_store(suite.path / "store")
    assert len(runs) == 1 and len(records) == 12
    assert {r.context.run_id for r in records} == set(runs)
    # Both workers wrote (one file each), and every test's records carry its node id.
    assert len(RecordStore(suite.path / "store").files()) == 2
    tests = Counter(r.context.test for r in records)
    assert tests == {
        f"test_under_xdist_every_worker_writes_to_one_run.py::test_worker[{n}]": 2 for n in range(6)
    }
    result.stdout.fnmatch_lines([f"itest-shared: 12 records written to *store (run {runs[0]})"])


# -- Recorder and run ids ---------------------------------------------------------------


def test_run_ids_are_valid_and_unique() -> None:
    ids = [new_run_id() for _ in range(200)]
    assert len(set(ids)) == 200
    for run_id in ids:
        assert check_run_id(run_id) == run_id


def test_the_recorder_refuses_bad_input_and_writes_nothing(tmp_path: pathlib.Path) -> None:
    worktree = WorktreeInfo(path=tmp_path, branch=None, commit=None)
    with pytest.raises(TypeError, match="store must be a RecordStore"):
        Recorder(tmp_path, "run", worktree)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="worktree must be a WorktreeInfo"):
        Recorder(RecordStore(tmp_path), "run", "here")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="run_id must be"):
        Recorder(RecordStore(tmp_path), "../run", worktree)
    recorder = Recorder(RecordStore(tmp_path), "run", worktree)
    good = ResourceRecord("r", "file", "m", created_at=1.0)
    with pytest.raises(TypeError, match=r"records\[1\] must be a Record.*got dict"):
        recorder.record([good, {"resource_id": "r"}], test="t")  # type: ignore[list-item]
    with pytest.raises(TypeError, match="test must be a str"):
        recorder.record([good], test=5)  # type: ignore[arg-type]
    assert recorder.records_written == 0 and RecordStore(tmp_path).files() == []
    assert recorder.record([good], test="t") == 1
    recorder.close()
    ((data, _),) = list(RecordStore(tmp_path).read())
    loaded = load_record(data)
    assert loaded.record_id == good.record_id and loaded.context.test == "t"
    assert good.context is None  # the caller's record is not changed


# -- worktree_lock fixture --------------------------------------------------------------

TRY_LOCK = """
import sys
from itest_shared.coordination import WorktreeLockTimeout, worktree_lock
try:
    with worktree_lock("ports", timeout=0.3, directory=sys.argv[1]):
        print("acquired")
except WorktreeLockTimeout as error:
    print("timeout:", error)
"""


def test_the_worktree_lock_fixture_holds_until_teardown(suite: pytest.Pytester) -> None:
    shared = suite.path / ".itest-shared"
    suite.makepyfile(
        textwrap.dedent(
            f"""
            import os, subprocess, sys

            def other_process():
                return subprocess.run(
                    [sys.executable, "-c", {TRY_LOCK!r}, {str(shared)!r}],
                    capture_output=True, text=True, check=True,
                ).stdout

            def test_held(worktree_lock):
                worktree_lock("ports", timeout=5)
                out = other_process()
                assert out.startswith("timeout:") and f"held by pid {{os.getpid()}}" in out

            def test_released_after_the_test_that_held_it():
                assert other_process() == "acquired\\n"

            def test_with_block_and_early_release(worktree_lock):
                with worktree_lock("ports"):
                    assert other_process().startswith("timeout:")
                assert other_process() == "acquired\\n"
                lock = worktree_lock("ports")
                lock.release()
                assert other_process() == "acquired\\n"
            """
        )
    )
    suite.runpytest().assert_outcomes(passed=3)


# -- helpers ------------------------------------------------------------------------------


def test_shared_once_computes_once_across_xdist_workers(suite: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    calls = suite.path / "calls.txt"
    suite.makepyfile(
        textwrap.dedent(
            f"""
            import os, time
            import pytest
            from itest_shared import shared_once

            def build():
                with open({str(calls)!r}, "a") as stream:
                    stream.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
                time.sleep(0.2)  # long enough for the other worker to arrive and wait
                return {{"built_by": os.environ["PYTEST_XDIST_WORKER"]}}

            @pytest.mark.parametrize("n", range(6))
            def test_uses_the_value(n):
                value = shared_once("grammar", build)
                assert value["built_by"].startswith("gw")
                with open({str(calls)!r}) as stream:
                    assert len(stream.read().splitlines()) == 1
            """
        )
    )
    suite.runpytest_subprocess("-n", "2").assert_outcomes(passed=6)
    assert len(calls.read_text().splitlines()) == 1


def test_a_lock_taken_in_another_thread_does_not_keep_the_others_held(
    suite: pytest.Pytester,
) -> None:
    shared = suite.path / ".itest-shared"
    suite.makepyfile(
        textwrap.dedent(
            f"""
            import subprocess, sys, threading

            def other_process(name):
                script = {TRY_LOCK!r}.replace('"ports"', repr(name))
                return subprocess.run(
                    [sys.executable, "-c", script, {str(shared)!r}],
                    capture_output=True, text=True, check=True,
                ).stdout

            def test_wrong_thread(worktree_lock):
                worktree_lock("ports")
                thread = threading.Thread(target=worktree_lock, args=("cache",))
                thread.start()
                thread.join()

            def test_after():
                assert other_process("ports") == "acquired\\n"
            """
        )
    )
    result = suite.runpytest()
    # The lock of the other thread cannot be released from teardown: an error
    # that says so; the test's own lock is released all the same.
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*RuntimeError: worktree_lock 'cache' is not held by this thread*"]
    )
