"""Fixtures shared by the tests of the ``itest-shared`` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import git
from tests.stores import build_store


@pytest.fixture
def store(tmp_path: Path) -> Path:
    build_store(tmp_path / "store")
    return tmp_path / "store"


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
