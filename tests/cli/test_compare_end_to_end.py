"""Issue 12's proof: two worktrees of one repository, recorded A B A B, compared.

The candidate breaks one test, makes one flaky (it fails every other run), makes
one operation about 1.5x slower, leaves another as it was, and leaks a
resource. bench-ab runs both worktrees alternately with --itest-record, and the
comparison names exactly those, exits 1, and calls nothing else a change, over
5 repeats of the whole scenario.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import git

BASELINE = textwrap.dedent(
    """
    import os
    import time

    import pytest

    SLOW = 1.0

    @pytest.mark.parametrize("n", range(10))
    def test_parse(n, performance_monitor):
        with performance_monitor.measure("parse"):
            time.sleep(0.002 * SLOW)

    @pytest.mark.parametrize("n", range(10))
    def test_load(n, performance_monitor):
        with performance_monitor.measure("load"):
            time.sleep(0.002)

    def test_breaks():
        assert True

    def test_flaky():
        pass

    def test_resources(resource_monitor):
        resource_monitor.track_resource("pool.worker", "process", "w1")
        resource_monitor.release_resource("w1")
    """
)

CANDIDATE = (
    BASELINE.replace("SLOW = 1.0", "SLOW = 1.5")
    .replace("def test_breaks():\n    assert True", "def test_breaks():\n    assert 1 == 2")
    .replace(
        "def test_flaky():\n    pass",
        textwrap.dedent(
            """
            def test_flaky():
                counter = os.environ["E2E_COUNTER"]
                runs = int(open(counter).read()) + 1 if os.path.exists(counter) else 1
                open(counter, "w").write(str(runs))
                assert runs % 2, "fails every other run"
            """
        ).strip(),
    )
    .replace(
        "def test_resources(resource_monitor):",
        "@pytest.mark.allow_resource_leaks\ndef test_resources(resource_monitor):",
    )
    .replace('resource_monitor.release_resource("w1")', "pass  # w1 is left behind")
)


def make_worktrees(root: Path) -> tuple[Path, Path]:
    main = root / "proj"
    main.mkdir()
    (main / "conftest.py").write_text('pytest_plugins = ["itest_shared.fixtures"]\n')
    (main / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    (main / ".gitignore").write_text("__pycache__/\n")
    (main / "test_app.py").write_text(BASELINE)
    git(main, "init", "-q", "-b", "main")
    git(main, "add", "--all")
    git(main, "commit", "-q", "-m", "baseline")
    feature = root / "proj-feature"
    git(main, "worktree", "add", "-q", "-b", "feature", str(feature))
    (feature / "test_app.py").write_text(CANDIDATE)
    git(feature, "commit", "-q", "-am", "candidate")
    return main, feature


@pytest.mark.timeout(600)
def test_compare_names_exactly_what_the_candidate_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for repeat in range(5):
        root = tmp_path / str(repeat)
        root.mkdir()
        main, feature = make_worktrees(root)
        monkeypatch.setenv("E2E_COUNTER", str(root / "counter"))
        done = subprocess.run(
            [
                *(sys.executable, "-m", "itest_shared", "bench-ab", str(main), str(feature)),
                *("--rounds", "3", "--store", str(root / "store"), "--format", "json"),
                *("--", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"),
            ],
            capture_output=True,
            text=True,
            cwd=root,
            timeout=300,
        )
        assert done.returncode == 1, done.stderr
        document = json.loads(done.stdout)
        outcomes = document["outcomes"]
        assert [c["test"] for c in outcomes["newly_failing"]] == ["test_app.py::test_breaks"]
        assert [(f["test"], f["new"]) for f in outcomes["flaky"]] == [
            ("test_app.py::test_flaky", True)
        ]
        assert outcomes["newly_passing"] == outcomes["new_tests"] == []
        assert outcomes["removed_tests"] == []
        changed = {row["name"]: row["verdict"] for row in document["timings"]}
        assert changed.pop("parse") == "slower", document["timings"]
        assert changed.pop("load") == "unchanged", document["timings"]
        assert set(changed.values()) <= {"unchanged", "not enough data"}, changed
        assert document["leaks"]["new"] == [
            {"owner_module": "pool.worker", "resource_type": "process", "count": 3}
        ]
        assert document["errors"]["new_boundaries"] == []
        assert document["regressions"] == {
            "newly_failing": 1,
            "newly_flaky": 1,
            "slower": 1,
            "new_leaks": 1,
        }, repeat
        # A B A B: the runs alternate between the worktrees.
        assert len(document["baseline"]["runs"]) == len(document["candidate"]["runs"]) == 3
        order = sorted(
            [(run, "A") for run in document["baseline"]["runs"]]
            + [(run, "B") for run in document["candidate"]["runs"]]
        )
        assert [side for _, side in order] == ["A", "B"] * 3
