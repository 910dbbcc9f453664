"""Fixtures of the coordination tests: a fresh git cache, two worktrees, a non-git directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from itest_shared.coordination import clear_git_cache
from tests.coordination.support import git


@pytest.fixture(autouse=True)
def fresh_git_cache() -> Iterator[None]:
    clear_git_cache()
    yield
    clear_git_cache()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    """A repository with one commit and a second worktree on branch wt2."""
    main = tmp_path / "main"
    main.mkdir()
    git(main, "init", "-q")
    git(
        main,
        "-c",
        "user.email=t@example.com",
        "-c",
        "user.name=t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "init",
    )
    git(main, "worktree", "add", "-q", str(tmp_path / "wt2"), "-b", "wt2")
    return main.resolve(), (tmp_path / "wt2").resolve()


@pytest.fixture
def outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory git is told never to look above, so it is outside any repository."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    plain = tmp_path / "plain"
    plain.mkdir()
    return plain
