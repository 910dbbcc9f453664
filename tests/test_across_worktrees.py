"""The whole story: two git worktrees of one repository run their suites at the same moment
with ``--itest-record``; one ``itest-shared report`` then shows both, side by side."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from itest_shared.formats import load_record
from itest_shared.store import RecordStore
from tests.helpers import CONFTEST, INI, git

HANG = 240.0  # only stops a hang; never a speed claim

# Every test first waits until both worktrees' runs have started, so that the two
# runs really write to the shared store at the same time.
SUITE = textwrap.dedent(
    """
    import os, pathlib, time
    import pytest

    BRANCH = pathlib.Path(__file__).with_name("branch.txt").read_text().strip()

    @pytest.fixture(autouse=True, scope="session")
    def both_runs_started():
        barrier = pathlib.Path(os.environ["ITEST_BARRIER"])
        barrier.joinpath(BRANCH + "-" + os.environ.get("PYTEST_XDIST_WORKER", "solo")).touch()
        deadline = time.monotonic() + 120
        while len({p.name.split("-")[0] for p in barrier.iterdir()}) < 2:
            assert time.monotonic() < deadline, "the other worktree never started"
            time.sleep(0.01)

    @pytest.mark.parametrize("n", range(4))
    def test_work(error_tracking_context, performance_monitor, resource_monitor, n):
        for _ in range(50):
            with performance_monitor.measure("parse"):
                sum(range(100))
        resource_monitor.track_resource("pool", "process", f"p{n}")
        resource_monitor.release_resource(f"p{n}")
        try:
            raise KeyError(BRANCH)
        except KeyError as error:
            error_tracking_context.capture_and_propagate(
                "chunker", "parser", error, operation="parse"
            )

    def test_config(config_change_tracker):
        config_change_tracker.on_config_change("parser.timeout", 5, 10)
    """
)


@pytest.fixture
def repository(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """A repository with the suite on main and a second worktree on branch feature."""
    main = tmp_path / "main"
    main.mkdir()
    git(main, "init", "-q", "-b", "main")
    main.joinpath("pytest.ini").write_text(INI)
    main.joinpath("conftest.py").write_text(CONFTEST)
    main.joinpath("test_suite.py").write_text(SUITE)
    main.joinpath("branch.txt").write_text("main\n")
    git(main, "add", ".")
    git(main, "commit", "-q", "-m", "suite")
    feature = tmp_path / "feature"
    git(main, "worktree", "add", "-q", "-b", "feature", str(feature))
    feature.joinpath("branch.txt").write_text("feature\n")
    git(feature, "commit", "-q", "-am", "feature branch")
    return main, feature


def run_pytest(cwd: pathlib.Path, barrier: pathlib.Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ITEST_BARRIER": str(barrier)}
    env.pop("PYTEST_XDIST_WORKER", None)  # this suite may itself run under xdist
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--itest-record", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def itest_shared(cwd: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itest_shared", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )


def test_two_worktrees_record_at_once_and_one_report_shows_both(
    repository: tuple[pathlib.Path, pathlib.Path], tmp_path: pathlib.Path
) -> None:
    pytest.importorskip("xdist")
    main, feature = repository
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    # One worktree runs under xdist, the other in one process, at the same moment.
    runs = [run_pytest(main, barrier), run_pytest(feature, barrier, "-n", "2")]
    outputs = [run.communicate(timeout=HANG)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
        assert "itest-shared: 13 records written to" in output, output

    # Both wrote into the one store in git's common directory.
    store = RecordStore(main / ".git" / "itest-shared")
    assert len(store.runs()) == 2
    report = store.read()
    records = [load_record(data) for data, _ in report]
    assert report.problems == []
    assert len(records) == 26
    by_branch: dict[str | None, set[str | None]] = {}
    for record in records:
        assert record.context is not None and record.context.worktree is not None
        by_branch.setdefault(record.context.worktree.branch, set()).add(record.context.run_id)
    assert set(by_branch) == {"main", "feature"}
    assert all(len(run_ids) == 1 for run_ids in by_branch.values())  # xdist: one run

    # The report, from either worktree with no arguments, shows both side by side.
    for cwd in (main, feature):
        done = itest_shared(cwd, "report")
        assert done.returncode == 0, done.stderr
        header = next(line for line in done.stdout.splitlines() if line.startswith("|"))
        assert "main" in header and "feature" in header, done.stdout
    done = itest_shared(feature, "report", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["records"] == 26 and data["warnings"] == []
    worktrees = {w["label"]: w for w in data["worktrees"]}
    assert set(worktrees) == {"main", "feature"}
    for label, path in (("main", main), ("feature", feature)):
        summary = worktrees[label]
        assert summary["path"] == str(path)
        assert summary["records_by_type"] == {
            "config_change": 1,
            "error_context": 4,
            "resource": 4,
            "timing_stats": 4,
        }
        assert summary["errors"]["by_boundary"] == [
            {"source": "chunker", "target": "parser", "count": 4}
        ]
        assert [t["count"] for t in summary["timings"] if t["operation"] == "parse"] == [200]
        assert summary["tests"] == 5 and len(summary["runs"]) == 1
