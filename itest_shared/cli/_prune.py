"""``itest-shared prune``: remove old runs from a store, safely while others write.

.. versionadded:: 2.2
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .._inert import printable
from ._common import _default_store, _named_store, _positive_int, _UsageError

if TYPE_CHECKING:
    from ..store import PrunedRun, PruneResult


def add_prune(commands: Any) -> None:
    """Add the ``prune`` subcommand to ``commands`` (argparse subparsers)."""
    prune = commands.add_parser(
        "prune",
        help="remove old runs from a record store",
        description=(
            "Remove old runs from a store: all but the newest N runs of each worktree"
            " (--keep-last), or the runs started before a date (--older-than); with both,"
            " only runs both would remove. Safe while other worktrees write: a run a writer"
            " holds open, or written to within --min-idle, is kept, and a run goes whole or"
            " not at all. A run id that does not start with its UTC start time is never"
            " removed. Prints what it removed (or would remove), per worktree."
        ),
    )
    prune.add_argument(
        "store",
        nargs="?",
        metavar="STORE",
        help="the store directory (default: the directory every worktree of the current"
        " repository shares)",
    )
    prune.add_argument(
        "--keep-last",
        metavar="N",
        type=_positive_int,
        help="keep the newest N runs of each worktree (N >= 1)",
    )
    prune.add_argument(
        "--older-than",
        metavar="DATE",
        type=_moment,
        help="remove runs started before DATE: an ISO date or date and time (UTC unless it"
        " names a zone: 2024-05-01, 2024-05-01T12:00+02:00) or an age such as 30d, 12h,"
        " 90m, 2w",
    )
    prune.add_argument(
        "--min-idle",
        metavar="AGE",
        type=_age,
        default=timedelta(hours=1),
        help="keep runs written to more recently than AGE (default: 1h; 0 turns it off),"
        " for writers of releases before 2.2, which do not hold their run",
    )
    prune.add_argument(
        "--dry-run",
        action="store_true",
        help="remove nothing: print what would be removed",
    )


_AGE_RE = re.compile(r"(\d+)([smhdw])")
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _age(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` (or ``0``) as a timedelta."""
    if text == "0":
        return timedelta(0)
    match = _AGE_RE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected an age such as 30d, 12h, 90m, 45s or 2w, got {text!r}"
        )
    return timedelta(**{_AGE_UNITS[match.group(2)]: int(match.group(1))})


def _moment(text: str) -> datetime:
    """An ISO date or date-time (UTC unless it names a zone), or an age back from now."""
    if _AGE_RE.fullmatch(text):
        return datetime.now(UTC) - _age(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date (2024-05-01), date and time (2024-05-01T12:00Z) or an age"
            f" (30d, 12h, 90m, 45s, 2w), got {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _prune(args: argparse.Namespace, out: TextIO) -> int:
    from ..store import RecordStore  # deferred: see cli/__init__.py

    if args.keep_last is None and args.older_than is None:
        raise _UsageError("prune: give --keep-last N, --older-than DATE or both")
    directory = _default_store() if args.store is None else _named_store(args.store)
    try:
        result = RecordStore(directory).prune(
            keep_last=args.keep_last,
            older_than=args.older_than,
            dry_run=args.dry_run,
            min_idle=args.min_idle,
        )
    except ValueError as error:  # records/ is a symlink
        raise _UsageError(str(error)) from None
    out.write(_prune_text(result, directory))
    return 0


def _prune_text(result: PruneResult, directory: Path) -> str:
    """What prune removed (or would remove), per worktree, then what it kept against a rule."""
    verb = "Would remove" if result.dry_run else "Removed"
    lines = [
        f"{verb} {len(result.removed)} run(s), {result.files_removed} file(s),"
        f" {_size(result.bytes_removed)} from {directory};"
        f" {result.runs_kept} run(s) kept by the rules, {len(result.kept)} for the reasons below."
    ]
    by_worktree: dict[str, list[PrunedRun]] = {}
    for run in result.removed:
        for worktree in run.worktrees or ("(worktree not read)",):
            by_worktree.setdefault(worktree, []).append(run)
    for worktree in sorted(by_worktree):
        runs = by_worktree[worktree]
        lines.append(f"{worktree}: {len(runs)} run(s)")
        lines.extend(f"  {run.run_id}  {run.files} file(s), {_size(run.bytes)}" for run in runs)
    if result.kept:
        lines.append("Kept, although no rule keeps them:")
        lines.extend(f"  {run.run_id}: {run.reason}" for run in result.kept)
    if result.problems:
        lines.append("Left alone:")
        lines.extend(f"  {problem}" for problem in result.problems)
    # For a terminal: worktree paths come from records, names from the store.
    return "\n".join(printable(line) for line in lines) + "\n"


def _size(count: int) -> str:
    size = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{count} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
