"""Where the worktrees of one repository meet: the shared directory and which worktree we are in."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

# WorktreeInfo is part of a record's context; it lives with the records and is
# re-exported here (and by coordination) where current_worktree() returns it.
from .. import _checks
from ..formats import WorktreeInfo as WorktreeInfo

#: Folder, inside git's common directory, that every worktree of a repository shares.
SHARED_DIR_NAME = "itest-shared"
#: Folder under the start directory used when it is not inside a git repository.
FALLBACK_DIR_NAME = ".itest-shared"

# A hanging git (a credential prompt, a stuck network filesystem) must not hang a
# test session; 10 s is far beyond what a local rev-parse takes.
_GIT_TIMEOUT = 10.0

# These are asked for on every lock and every record; one git process per start
# directory per process is enough. Keyed by the absolute start path.
_cache_lock = threading.Lock()
_shared_dirs: dict[Path, Path] = {}
_worktrees: dict[Path, WorktreeInfo] = {}
# current_worktree() by os.getcwd(): every lock's holder file names the worktree,
# and building a Path of the cwd cost more than the rest of the lookup.
_worktrees_by_cwd: dict[str, WorktreeInfo] = {}


def _resolve_start(start: Path | str | os.PathLike[str] | None) -> Path:
    if start is None:
        return Path.cwd()
    path = _checks.path(start, "start")
    if not path.is_dir():
        raise ValueError(f"start must be an existing directory, got {str(path)!r}")
    return path.absolute()


def _git(start: Path, *args: str, env: dict[str, str] | None = None) -> str | None:
    """Return git's stdout (stripped), or ``None`` when git is missing or the command fails."""
    try:
        done = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            cwd=start,
            timeout=_GIT_TIMEOUT,
            env=env,
        )
    except FileNotFoundError:  # git is not installed: behave as outside a repository
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip()


def shared_directory(start: Path | str | os.PathLike[str] | None = None) -> Path:
    """Return the directory every worktree of ``start``'s repository shares.

    Inside git it is ``<git common dir>/itest-shared``: git keeps one common
    directory for all worktrees of a repository, so no configuration is needed.
    Outside git (or without git installed) it is ``<start>/.itest-shared``.
    ``start`` defaults to the current directory; results are cached per start.
    Nothing is created: what writes there (locks, once-values, the record
    store) creates its own folder, so asking, as ``itest-shared report`` does,
    leaves no trace.
    """
    root = _resolve_start(start)
    with _cache_lock:
        cached = _shared_dirs.get(root)
    if cached is not None:
        return cached
    common = _git(root, "rev-parse", "--git-common-dir")
    # git prints the common dir relative to the directory it ran in (".git",
    # "../.git") for the main worktree and absolute for linked ones.
    result = (root / common).resolve() / SHARED_DIR_NAME if common else root / FALLBACK_DIR_NAME
    with _cache_lock:
        _shared_dirs[root] = result
    return result


def current_worktree(start: Path | str | os.PathLike[str] | None = None) -> WorktreeInfo:
    """Describe the worktree ``start`` (default: current directory) is in; cached per start.

    The branch and commit are a snapshot taken on the first call for that start
    in this process; call :func:`clear_git_cache` after changing them.
    """
    if start is None:
        cwd = os.getcwd()
        cached = _worktrees_by_cwd.get(cwd)  # one dict read: atomic
        if cached is None:
            cached = _worktrees_by_cwd[cwd] = _worktree_at(Path(cwd))
        return cached
    return _worktree_at(_resolve_start(start))


def _worktree_at(root: Path) -> WorktreeInfo:
    with _cache_lock:
        cached = _worktrees.get(root)
    if cached is not None:
        return cached
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None:
        info = WorktreeInfo(path=root, branch=None, commit=None)
    else:
        info = WorktreeInfo(
            path=Path(top),
            # symbolic-ref names the branch even before its first commit (a new
            # repository); it fails only when HEAD is detached.
            branch=_git(root, "symbolic-ref", "-q", "--short", "HEAD") or None,
            commit=_git(root, "rev-parse", "--verify", "-q", "HEAD") or None,
        )
    with _cache_lock:
        _worktrees[root] = info
    return info


def tree_state(
    start: Path | str | os.PathLike[str] | None = None,
) -> tuple[bool | None, str | None]:
    """Return ``(dirty, tree_hash)`` of the worktree ``start`` (default: current directory) is in.

    ``tree_hash`` is git's id of the tree of the worktree's files as they are
    now: what ``git add --all`` would stage (untracked files included, ignored
    ones not), computed in a throwaway copy of the index, so that the
    worktree, its index and HEAD stay as they are (git keeps the blobs and
    trees it wrote in its object database, where ``git gc`` drops them). Two
    runs have the same ``tree_hash`` exactly when they ran on the same files.
    ``dirty`` is whether that tree differs from HEAD's (for an unborn branch:
    from the empty tree). Both are None outside git, or when git fails. Not
    cached: the files change between calls.

    .. versionadded:: 2.2
    """
    root = _resolve_start(start)
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None:  # outside git: one git process, not two
        return None, None
    index = _git(root, "rev-parse", "--git-path", "index")  # relative to root, or absolute
    if index is None:
        return None, None
    with tempfile.TemporaryDirectory(prefix="itest-shared-index-") as scratch:
        copy = Path(scratch, "index")
        if Path(root, index).is_file():
            # Its stat data spares rehashing unchanged files. copy2 keeps its mtime,
            # by which git tells the entries it must not trust (racy git): a file
            # rewritten at the same size within the second the index was written.
            shutil.copy2(Path(root, index), copy)
        env = {**os.environ, "GIT_INDEX_FILE": str(copy)}
        if _git(Path(top), "add", "--all", env=env) is None:
            return None, None
        tree = _git(Path(top), "write-tree", env=env)
    if not tree:
        return None, None
    head = _git(root, "rev-parse", "-q", "--verify", "HEAD^{tree}")
    if head is None:  # an unborn branch: dirty unless there is nothing at all
        head = _git(root, "hash-object", "-t", "tree", os.devnull)
    return tree != head, tree


def clear_git_cache() -> None:
    """Forget cached :func:`shared_directory` and :func:`current_worktree` answers."""
    with _cache_lock:
        _shared_dirs.clear()
        _worktrees.clear()
        _worktrees_by_cwd.clear()
