"""Removing old runs from a store while other worktrees write to it (``RecordStore.prune``).

How a run is kept safe while it is written:

- A writer holds its run directory open with a shared ``flock`` for as long as
  its file is open (:func:`hold_run`), and checks, once it holds it, that the
  directory it locked is still the one at ``records/<run_id>``.
- Prune takes an exclusive, non-blocking ``flock`` on a run directory before
  touching it: a run a writer holds is busy, and kept. Holding it, prune renames
  the directory to a hidden tombstone (``records/.prune-<run_id>-<token>``) in
  one ``rename``, then lets go: a writer that was waiting finds the directory
  gone from its name and starts a new one there, so it never writes into the
  tombstone. Then the tombstone's files are unlinked and it is removed.
- Readers list runs by name (``RecordStore.runs``), which a tombstone does not
  match: a run is there whole, or not at all. A prune killed part-way leaves at
  most a tombstone of whole files, which the next prune finishes removing.

Nothing is followed out of the store: every step works on directory
descriptors opened with ``O_NOFOLLOW``; a symlink is unlinked, never read
through; a run directory that is a symlink, or holds a directory, is left alone.

Writers of releases before 2.2 take no lock: ``min_idle`` (default one hour)
keeps any run written to that recently, whatever the lock says.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from ._read import ReadReport

__all__ = ["PruneResult", "PrunedRun", "hold_run", "prune_runs"]

#: The name a run directory is renamed to before its files are removed.
TOMBSTONE_PREFIX = ".prune-"
#: A run id made by ``new_run_id``: the UTC start time first.
_START_RE = re.compile(r"(\d{8}T\d{6}Z)(?:[-._]|$)")
#: Label of the runs whose records name no worktree (as ``report`` groups them).
NO_WORKTREE = "(no worktree)"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NOFOLLOW = os.O_NOFOLLOW
# How often a writer tries again when its run directory was renamed under it
# by prune: each try follows a prune's rename, so a second one is already rare.
_MAX_TRIES = 1000


def hold_run(directory: Path) -> int:
    """Create ``directory`` if needed, open it and hold a shared flock on it; return the fd.

    The lock tells prune the run is being written. Once it is held, the
    directory must still be the one named ``directory``: prune renames a run
    directory only while holding the exclusive lock, so a writer that waited
    for it finds the name gone (or a new directory) and starts over there.
    A file system without flock is written to all the same (prune then finds
    such runs busy: it cannot lock them either).
    """
    for _ in range(_MAX_TRIES):
        directory.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(directory, _DIR_FLAGS)
        except FileNotFoundError:
            continue  # removed between mkdir and open: a prune finished it
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
        except OSError as error:
            if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF):
                os.close(fd)
                raise
            return fd  # no flock here: write without it
        try:
            now = os.stat(directory)
        except FileNotFoundError:
            os.close(fd)
            continue
        held = os.fstat(fd)
        if (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            return fd
        os.close(fd)  # renamed to a tombstone while we waited: start over
    raise OSError(errno.EAGAIN, f"{directory}: renamed away {_MAX_TRIES} times in a row")


def start_time(run_id: str) -> datetime | None:
    """The UTC start time a run id begins with (``new_run_id``), or None if it has none."""
    match = _START_RE.match(run_id)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:  # 20241399T...: digits, not a date
        return None


@attrs.frozen
class PrunedRun:
    """One run prune removed, would remove, or kept, and why.

    .. versionadded:: 2.2
    """

    run_id: str
    #: The worktrees its records name (paths; ``"(no worktree)"`` for records
    #: without one); empty when prune had no need to read the run.
    worktrees: tuple[str, ...]
    #: Entries and bytes of the run directory (removed, or that would be).
    files: int
    bytes: int
    #: Why it was removed (the rule) or kept ("being written", "newest 3 of ...").
    reason: str


@attrs.frozen
class PruneResult:
    """What ``RecordStore.prune`` removed (or, with ``dry_run``, would remove) and kept.

    .. versionadded:: 2.2
    """

    removed: tuple[PrunedRun, ...]
    #: Runs a rule alone would keep are not listed; these are runs kept that a
    #: rule would remove (busy, recently written, unreadable, undated...).
    kept: tuple[PrunedRun, ...]
    dry_run: bool
    #: Runs kept by the rules (how many), for the summary.
    runs_kept: int
    #: What prune found wrong and left alone, one line each.
    problems: tuple[str, ...] = ()

    @property
    def files_removed(self) -> int:
        """Files removed (or that would be)."""
        return sum(run.files for run in self.removed)

    @property
    def bytes_removed(self) -> int:
        """Bytes removed (or that would be)."""
        return sum(run.bytes for run in self.removed)


@attrs.define
class _Run:
    run_id: str
    started: datetime | None
    #: Regular files: name -> size, as listed (compared again under the lock).
    sizes: dict[str, int]
    entries: int
    bytes: int
    newest: float  # latest mtime of the directory and its entries
    odd: str = ""  # why the run must be left alone, if it must
    worktrees: set[str] = attrs.field(factory=set)
    unreadable: str = ""


def prune_runs(
    directory: Path,
    run_id_re: re.Pattern[str],
    *,
    keep_last: int | None,
    older_than: datetime | None,
    dry_run: bool,
    min_idle: timedelta,
) -> PruneResult:
    """``RecordStore.prune`` (arguments checked there)."""
    records = directory / "records"
    try:
        records_fd = os.open(records, _DIR_FLAGS | _NOFOLLOW)
    except FileNotFoundError:
        return PruneResult((), (), dry_run, 0)
    except OSError:
        if os.path.islink(records):
            raise ValueError(
                f"{records} is a symbolic link: prune removes nothing outside the store"
            ) from None
        raise
    try:
        problems: list[str] = []
        if not dry_run:
            _finish_tombstones(records_fd, records, problems)
        runs = _list_runs(records_fd, records, run_id_re, problems)
        if keep_last is not None:
            for run in runs:
                _read_worktrees(records, run)
        removed, kept, kept_by_rules = _choose(runs, keep_last, older_than, min_idle)
        if keep_last is None:  # only the runs shown need their worktrees
            for run in removed:
                _read_worktrees(records, run)
        done: list[PrunedRun] = []
        for run in removed:
            busy = _remove(records_fd, records, run, dry_run, problems)
            if busy:
                kept.append(_shown(run, busy))
            else:
                done.append(_shown(run, _removed_reason(run, keep_last, older_than)))
        return PruneResult(tuple(done), tuple(kept), dry_run, kept_by_rules, tuple(problems))
    finally:
        os.close(records_fd)


def _shown(run: _Run, reason: str) -> PrunedRun:
    return PrunedRun(run.run_id, tuple(sorted(run.worktrees)), run.entries, run.bytes, reason)


def _removed_reason(run: _Run, keep_last: int | None, older_than: datetime | None) -> str:
    parts = []
    if keep_last is not None:
        parts.append(f"older than the newest {keep_last} of its worktree(s)")
    if older_than is not None:
        parts.append(f"started before {older_than.isoformat()}")
    return " and ".join(parts)


def _list_runs(
    records_fd: int, records: Path, run_id_re: re.Pattern[str], problems: list[str]
) -> list[_Run]:
    runs = []
    with os.scandir(records_fd) as entries:
        names = sorted(e.name for e in entries)
    for name in names:
        if run_id_re.fullmatch(name) is None:
            continue  # not a run (a tombstone, a stray file): RecordStore.runs skips it too
        try:
            info = os.stat(name, dir_fd=records_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode):
            problems.append(f"{records / name}: a symbolic link, not a run directory: left alone")
            continue
        if not stat.S_ISDIR(info.st_mode):
            continue
        run = _Run(name, start_time(name), {}, 0, 0, info.st_mtime)
        try:
            fd = os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=records_fd)
        except OSError as error:
            run.odd = f"cannot open its directory: {error.strerror or error}"
            runs.append(run)
            continue
        try:
            _survey(fd, run)
        finally:
            os.close(fd)
        runs.append(run)
    return runs


def _survey(fd: int, run: _Run) -> None:
    """Count the entries of a run directory; note what prune must not remove."""
    with os.scandir(fd) as entries:
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                run.odd = f"holds a directory ({entry.name}), which the store never writes"
            run.entries += 1
            run.bytes += info.st_size
            run.newest = max(run.newest, info.st_mtime)
            if stat.S_ISREG(info.st_mode):
                run.sizes[entry.name] = info.st_size


def _read_worktrees(records: Path, run: _Run) -> None:
    """Note the worktrees a run's records name, as ``report`` groups them."""
    if run.odd:
        return
    paths = [records / run.run_id / name for name in sorted(run.sizes) if name.endswith(".jsonl")]
    report = ReadReport(paths)
    for record, _ in report:
        run.worktrees.add(_worktree(record))
    for problem in report.problems:
        gone = os.strerror(errno.ENOENT) in problem.reason  # removed since listed
        if problem.line == 0 and problem.reason.startswith("cannot read") and not gone:
            run.unreadable = f"cannot read {problem.path.name}: its worktree is unknown"
    if not run.worktrees:
        run.worktrees.add(NO_WORKTREE)  # nothing readable: no worktree named


def _worktree(record: dict[str, object]) -> str:
    context = record.get("context")
    worktree = context.get("worktree") if isinstance(context, dict) else None
    path = worktree.get("path") if isinstance(worktree, dict) else None
    return path if isinstance(path, str) else NO_WORKTREE


def _choose(
    runs: Iterable[_Run], keep_last: int | None, older_than: datetime | None, min_idle: timedelta
) -> tuple[list[_Run], list[PrunedRun], int]:
    """Split runs into those to remove and those kept; return (remove, kept shown, kept count)."""
    runs = list(runs)
    newest_kept: set[str] = set()
    if keep_last is not None:
        groups: dict[str, list[_Run]] = {}
        for run in runs:
            if run.started is not None:
                for worktree in run.worktrees:
                    groups.setdefault(worktree, []).append(run)
        for members in groups.values():
            members.sort(key=lambda run: (run.started, run.run_id), reverse=True)
            newest_kept.update(run.run_id for run in members[:keep_last])
    idle_since = time.time() - min_idle.total_seconds()
    remove: list[_Run] = []
    kept: list[PrunedRun] = []
    kept_by_rules = 0
    for run in runs:
        if run.started is None:
            kept.append(_shown(run, "run id does not start with its UTC start time: never removed"))
            continue
        by_count = keep_last is None or run.run_id not in newest_kept
        by_date = older_than is None or run.started < older_than
        if not (by_count and by_date):
            kept_by_rules += 1
        elif run.odd:
            kept.append(_shown(run, run.odd))
        elif keep_last is not None and run.unreadable:
            kept.append(_shown(run, run.unreadable))
        elif run.newest > idle_since:
            kept.append(_shown(run, f"written to less than {_duration(min_idle)} ago"))
        else:
            remove.append(run)
    return remove, kept, kept_by_rules


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _remove(records_fd: int, records: Path, run: _Run, dry_run: bool, problems: list[str]) -> str:
    """Remove one run safely; return why it was kept instead, or "" once it is gone."""
    try:
        fd = os.open(run.run_id, _DIR_FLAGS | _NOFOLLOW, dir_fd=records_fd)
    except FileNotFoundError:
        return "gone before prune reached it (another prune?)"
    except OSError as error:
        return f"cannot open its directory: {error.strerror or error}"
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return "being written (a writer holds it open)"
        except OSError as error:
            return f"cannot lock it, so cannot tell whether it is written: {error.strerror}"
        # Held: no writer can open a file in it now. Is it what was read?
        now = _Run(run.run_id, run.started, {}, 0, 0, 0.0)
        _survey(fd, now)
        if now.sizes != run.sizes or now.odd:
            return "written to while prune ran"
        try:
            named = os.stat(run.run_id, dir_fd=records_fd, follow_symlinks=False)
        except FileNotFoundError:
            return "gone before prune reached it (another prune?)"
        held = os.fstat(fd)
        if (named.st_dev, named.st_ino) != (held.st_dev, held.st_ino):
            return "replaced while prune ran"
        if dry_run:
            return ""
        tombstone = f"{TOMBSTONE_PREFIX}{run.run_id}-{os.urandom(4).hex()}"
        os.rename(run.run_id, tombstone, src_dir_fd=records_fd, dst_dir_fd=records_fd)
        # Gone from its name: a writer waiting for the lock now starts a new
        # directory there. Let it go on while the files are removed.
        fcntl.flock(fd, fcntl.LOCK_UN)
        _empty(fd, records / tombstone, problems)
        _rmdir(records_fd, tombstone, records, problems)
        return ""
    finally:
        os.close(fd)


def _empty(fd: int, where: Path, problems: list[str]) -> None:
    """Unlink every entry of a directory held as ``fd``; a symlink itself, never its target."""
    with os.scandir(fd) as entries:
        names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
    for name, is_dir in names:
        if is_dir:
            problems.append(f"{where / name}: a directory, left alone")
            continue
        try:
            os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            pass
        except OSError as error:
            problems.append(f"{where / name}: cannot remove: {error.strerror or error}")


def _rmdir(records_fd: int, name: str, records: Path, problems: list[str]) -> None:
    try:
        os.rmdir(name, dir_fd=records_fd)
    except FileNotFoundError:
        pass
    except OSError as error:
        problems.append(f"{records / name}: cannot remove: {error.strerror or error}")


def _finish_tombstones(records_fd: int, records: Path, problems: list[str]) -> None:
    """Remove what an interrupted prune left: tombstones no one is removing now."""
    with os.scandir(records_fd) as entries:
        names = sorted(e.name for e in entries if e.name.startswith(TOMBSTONE_PREFIX))
    for name in names:
        try:
            fd = os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=records_fd)
        except OSError:
            continue  # gone, or not a directory: not ours
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # another prune is on it
            _empty(fd, records / name, problems)
            _rmdir(records_fd, name, records, problems)
        finally:
            os.close(fd)
