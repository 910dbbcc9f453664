"""shared_directory and current_worktree: one shared directory for all worktrees, outside git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from itest_shared.coordination import (
    WorktreeInfo,
    clear_git_cache,
    current_worktree,
    shared_directory,
)
from tests.coordination.support import git


def test_shared_directory_is_the_same_from_every_worktree(repo: tuple[Path, Path]) -> None:
    main, wt2 = repo
    (main / "sub").mkdir()
    expected = main / ".git" / "itest-shared"
    assert shared_directory(main) == expected
    assert shared_directory(wt2) == expected
    assert shared_directory(main / "sub") == expected
    assert not expected.exists()  # asking creates nothing; writers make their own folders


def test_shared_directory_defaults_to_cwd(
    repo: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo[1])
    assert shared_directory() == repo[0] / ".git" / "itest-shared"


def test_shared_directory_outside_git(outside_git: Path) -> None:
    assert shared_directory(outside_git) == outside_git / ".itest-shared"
    assert not (outside_git / ".itest-shared").exists()
    assert current_worktree(outside_git) == WorktreeInfo(outside_git, None, None)


def test_without_git_installed_behaves_as_outside(
    outside_git: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(outside_git))  # no git executable on PATH
    assert shared_directory(outside_git) == outside_git / ".itest-shared"


def test_current_worktree_names_path_branch_and_commit(repo: tuple[Path, Path]) -> None:
    main, wt2 = repo
    head = git(main, "rev-parse", "HEAD")
    assert current_worktree(main) == WorktreeInfo(main, "main", head)
    assert current_worktree(wt2 / ".") == WorktreeInfo(wt2, "wt2", head)


def test_current_worktree_detached_and_unborn(repo: tuple[Path, Path], tmp_path: Path) -> None:
    main, wt2 = repo
    head = git(main, "rev-parse", "HEAD")
    git(wt2, "checkout", "-q", "--detach")
    assert current_worktree(wt2) == WorktreeInfo(wt2, None, head)
    unborn = tmp_path / "unborn"
    unborn.mkdir()
    git(unborn, "init", "-q")
    # A new repository: the branch has a name before its first commit.
    assert current_worktree(unborn) == WorktreeInfo(unborn.resolve(), "main", None)


def test_answers_are_cached_per_start(
    repo: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    main, wt2 = repo
    first = shared_directory(main), current_worktree(main)

    def no_git(*args: object, **kwargs: object) -> None:
        raise AssertionError("git ran again for a cached start")

    monkeypatch.setattr(subprocess, "run", no_git)
    assert (shared_directory(main), current_worktree(main)) == first
    with pytest.raises(AssertionError, match="git ran again"):
        shared_directory(wt2)  # another start is not cached yet


def test_current_worktree_follows_the_cwd_until_the_cache_is_cleared(
    repo: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    main, wt2 = repo
    monkeypatch.chdir(main)
    assert current_worktree() == current_worktree(main)
    monkeypatch.chdir(wt2)
    assert current_worktree().branch == "wt2"
    git(wt2, "checkout", "-q", "-b", "other")
    assert current_worktree().branch == "wt2"  # a snapshot, as documented
    clear_git_cache()
    assert current_worktree().branch == "other"


@pytest.mark.parametrize("bad", [b"/tmp", 3, True, object()])
def test_bad_start_type(bad: object) -> None:
    with pytest.raises(TypeError, match="start must be a path"):
        shared_directory(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="start must be a path"):
        current_worktree(bad)  # type: ignore[arg-type]


def test_missing_start_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="start must be an existing directory"):
        shared_directory(tmp_path / "missing")
