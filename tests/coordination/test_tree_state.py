"""tree_state(): whether a worktree differs from its commit, and the tree id of its files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from itest_shared.coordination import tree_state
from tests.coordination.support import git

COMMIT = ("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q")


def commit_all(where: Path, message: str) -> None:
    git(where, "add", "--all")
    git(where, *COMMIT, "-m", message)


def test_a_clean_worktree_has_its_commits_tree(repo: tuple[Path, Path]) -> None:
    main, _ = repo
    (main / "a.py").write_text("x = 1\n")
    commit_all(main, "a")
    assert tree_state(main) == (False, git(main, "rev-parse", "HEAD^{tree}"))


def test_changes_untracked_files_and_ignored_ones(repo: tuple[Path, Path]) -> None:
    main, _ = repo
    (main / "a.py").write_text("x = 1\n")
    (main / ".gitignore").write_text("*.log\n")
    commit_all(main, "a")
    clean = tree_state(main)
    (main / "build.log").write_text("ignored\n")
    assert tree_state(main) == clean  # ignored: the same files ran
    (main / "new.py").write_text("y = 2\n")
    untracked = tree_state(main)
    assert untracked[0] is True and untracked[1] != clean[1]
    (main / "new.py").unlink()
    (main / "a.py").write_text("x = 2\n")
    changed = tree_state(main)
    assert changed[0] is True and changed[1] not in (clean[1], untracked[1])
    (main / "a.py").write_text("x = 1\n")
    assert tree_state(main) == clean  # the same files again: the same tree


def test_the_index_head_and_files_are_left_as_they_were(repo: tuple[Path, Path]) -> None:
    main, _ = repo
    (main / "a.py").write_text("x = 1\n")
    commit_all(main, "a")
    (main / "a.py").write_text("x = 2\n")
    (main / "staged.py").write_text("s = 1\n")
    git(main, "add", "staged.py")
    (main / "untracked.py").write_text("u = 1\n")
    index = (main / ".git" / "index").read_bytes()
    status = git(main, "status", "--porcelain")
    head = git(main, "rev-parse", "HEAD")
    assert tree_state(main)[0] is True
    assert git(main, "status", "--porcelain") == status
    assert (main / ".git" / "index").read_bytes() == index
    assert git(main, "rev-parse", "HEAD") == head
    assert not list((main / ".git").glob("*.lock"))


def test_two_worktrees_with_the_same_files_share_a_tree_hash(repo: tuple[Path, Path]) -> None:
    main, wt2 = repo
    assert tree_state(main) == tree_state(wt2)  # both at the empty first commit
    (wt2 / "feature.py").write_text("f = 1\n")
    assert tree_state(wt2)[1] != tree_state(main)[1]
    (main / "feature.py").write_text("f = 1\n")
    assert tree_state(wt2) == tree_state(main)  # the same files, both dirty
    assert tree_state(main)[0] is True


def test_an_unborn_branch_is_dirty_once_it_has_files(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q")
    dirty, empty = tree_state(fresh)
    assert dirty is False and empty == git(fresh, "hash-object", "-t", "tree", "/dev/null")
    (fresh / "a.py").write_text("x = 1\n")
    assert tree_state(fresh)[0] is True


def test_outside_git_there_is_no_state(outside_git: Path) -> None:
    assert tree_state(outside_git) == (None, None)


def test_a_bad_start_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="start"):
        tree_state(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="start must be an existing directory"):
        tree_state(tmp_path / "missing")


def test_a_file_rewritten_at_once_with_the_same_size_is_seen(repo: tuple[Path, Path]) -> None:
    # Racy git: git compares whole seconds of a file's times with the index's
    # stat data, so a file rewritten at the same size within the second it was
    # indexed in looks unchanged, unless git sees that the index was written in
    # that second too and looks at the content. tree_state's copy of the index
    # must keep the index's time for that.
    main, _ = repo
    seen = 0
    for attempt in range(8):
        time.sleep(1 - time.time() % 1 + 0.01)  # at the start of a second
        (main / "a.py").write_text(f"x = {attempt}\n")
        commit_all(main, f"a{attempt}")
        (main / "a.py").write_text(f"y = {attempt}\n")  # the same size
        times = {
            int((main / "a.py").stat().st_ctime),
            int((main / ".git" / "index").stat().st_mtime),
        }
        if len(times) == 1 and int(time.time()) in times:  # all within one second
            time.sleep(1 - time.time() % 1 + 0.01)  # a copy made now is a second later
            assert tree_state(main)[1] != git(main, "rev-parse", "HEAD^{tree}"), attempt
            seen += 1
            if seen == 2:
                break
        git(main, "checkout", "-q", "--", "a.py")
    assert seen, "the machine never wrote, indexed and rewrote a file within one second"
