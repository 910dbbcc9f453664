"""`itest-shared where`: the shared store's path, the same from every worktree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.support import HANG, run

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
