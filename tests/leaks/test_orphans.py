"""The leak audit sees descendants that outlived their parent (orphans adopted by init)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from itest_shared.leaks import (
    MARK_VARIABLE,
    LeakAudit,
    LeakSnapshot,
    mark_descendants,
    unmark_descendants,
)
from tests.helpers import CONFTEST, INI
from tests.leaks.support import SHORT

# Starts a sleeper in the background, prints its pid and exits: the sleeper is
# orphaned at once. "detach" puts it in a session of its own, out of every group.
# The sleeper holds none of the maker's pipes, so reading its output ends.
ORPHAN_MAKER = textwrap.dedent(
    """
    import subprocess, sys
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        start_new_session=sys.argv[1:] == ["detach"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    print(sleeper.pid, flush=True)
    """
)


@pytest.fixture
def orphans() -> Iterator[list[int]]:
    """Pids of the orphans a test made; killed at teardown."""
    made: list[int] = []
    yield made
    for pid in made:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def make_orphan(orphans: list[int], *args: str, env: dict[str, str] | None = None) -> int:
    """Start a process that leaves an orphan behind and ends; the orphan's pid."""
    out = subprocess.run(
        [sys.executable, "-c", ORPHAN_MAKER, *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    pid = int(out.stdout)
    orphans.append(pid)
    return pid


def test_an_orphan_started_in_the_block_is_reported(orphans: list[int]) -> None:
    with LeakAudit(grace_period=SHORT) as audit:
        pid = make_orphan(orphans)
    found = {p.pid: p for p in audit.report.processes}
    assert pid in found, audit.report.describe()
    assert found[pid].orphaned
    assert f"orphaned descendant process {pid}" in audit.report.describe()


def test_an_orphan_in_a_session_of_its_own_is_reported_too(orphans: list[int]) -> None:
    with LeakAudit(grace_period=SHORT) as audit:
        pid = make_orphan(orphans, "detach")
    assert pid in {p.pid for p in audit.report.processes if p.orphaned}


def test_an_orphan_from_before_the_block_is_not_this_blocks(orphans: list[int]) -> None:
    earlier = make_orphan(orphans)
    with LeakAudit(grace_period=SHORT) as audit:
        pass
    assert earlier not in {p.pid for p in audit.report.processes}
    assert audit.report.is_clean, audit.report.describe()


def test_an_orphan_that_cleared_its_environment_is_not_seen(orphans: list[int]) -> None:
    # The documented limit: the mark travels in the environment.
    clean = {key: value for key, value in os.environ.items() if key != MARK_VARIABLE}
    with LeakAudit(grace_period=SHORT) as audit:
        pid = make_orphan(orphans, env=clean)
    assert pid not in {p.pid for p in audit.report.processes}


def test_the_mark_is_there_during_the_block_only_and_audits_nest() -> None:
    assert MARK_VARIABLE not in os.environ
    with LeakAudit(grace_period=SHORT):
        outer = os.environ[MARK_VARIABLE]
        with LeakAudit(grace_period=SHORT):
            both = os.environ[MARK_VARIABLE].split(":")
            assert len(both) == 2 and both[0] == outer
        assert os.environ[MARK_VARIABLE] == outer
    assert MARK_VARIABLE not in os.environ


def test_unmarking_tolerates_a_test_that_removed_the_variable() -> None:
    mark = mark_descendants()
    del os.environ[MARK_VARIABLE]
    unmark_descendants(mark)
    assert MARK_VARIABLE not in os.environ


def test_an_orphan_of_an_inner_audit_still_counts_for_the_outer_one(orphans: list[int]) -> None:
    with LeakAudit(grace_period=SHORT) as outer, LeakAudit(grace_period=SHORT) as inner:
        pid = make_orphan(orphans)
    assert pid in {p.pid for p in inner.report.processes}
    assert pid in {p.pid for p in outer.report.processes}


def test_a_plain_snapshot_does_not_read_other_processes() -> None:
    snapshot = LeakSnapshot.take()
    assert snapshot.mark == "" and snapshot.pids == frozenset()


def test_a_marked_test_that_orphans_a_grandchild_fails_naming_it(
    pytester: pytest.Pytester, orphans: list[int]
) -> None:
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pid_file = pytester.path / "orphan.pid"
    pytester.makepyfile(
        textwrap.dedent(
            f"""
            import subprocess, sys
            import pytest

            MAKER = {ORPHAN_MAKER!r}

            @pytest.mark.leak_audit
            def test_orphans_a_grandchild():
                out = subprocess.run([sys.executable, "-c", MAKER], capture_output=True,
                                     text=True, check=True)
                with open({str(pid_file)!r}, "w") as pid_file:
                    pid_file.write(out.stdout)

            @pytest.mark.leak_audit
            def test_tidy():
                subprocess.run([sys.executable, "-c", "pass"], check=True)
            """
        )
    )
    result = pytester.runpytest_subprocess("--itest-grace-period=0.2", "-p", "no:randomly")
    orphans.append(int(pid_file.read_text()))
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([f"*orphaned descendant process {orphans[-1]} *"])
