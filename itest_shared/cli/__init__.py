"""The ``itest-shared`` command: ``report``, ``compare``, ``bench-ab``, ``validate``,
``where``, ``prune`` and ``schema``.

Also run as ``python -m itest_shared``. Exit status: 0 success, 1 bad records
found by ``validate`` or a regression found by ``compare``/``bench-ab``, 2 usage
errors (bad arguments, a missing store, an unknown run, side or schema type).
Errors go to stderr as ``itest-shared: error: ...``.

.. versionadded:: 1.2
.. versionadded:: 1.3
   ``where``, and ``validate`` with no FILE (the shared store).
.. versionadded:: 2.2
   ``prune``, ``compare`` and ``bench-ab`` (``_prune``, ``_compare``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from ._common import PROG, _default_store, _named_store, _Parser, _UsageError
from ._compare import _bench_ab, _compare, add_compare, split_pytest_args
from ._prune import _prune, add_prune

__all__ = ["main"]

# Deferred imports: each subcommand imports only what it runs, so that `--help`
# and `where` skip the records and the store (python -X importtime: ~18 ms for
# this module against ~100 ms with report, store, schema and coordination).


def _build_parser() -> argparse.ArgumentParser:
    from ..formats import package_version

    parser = _Parser(
        prog=PROG,
        description=(
            "Report on, compare, validate, locate, prune and describe itest-shared record stores."
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    report = commands.add_parser(
        "report",
        help="summarise a record store across worktrees",
        description=(
            "Summarise the records of a store, one column per worktree: record counts, errors"
            " by module boundary, leaked resources, config changes, timings, versions seen."
            " Reads the store as a stream: memory does not grow with the number of records."
        ),
    )
    report.add_argument(
        "stores",
        nargs="*",
        metavar="STORE",
        help="store directories, read as one (default: the directory every worktree of"
        " the current repository shares, where the pytest plugin records by default)",
    )
    report.add_argument(
        "--format",
        choices=("markdown", "json"),
        default="markdown",
        help="output format (default: markdown); json keys are documented in itest_shared.report",
    )
    report.add_argument(
        "--worktree",
        metavar="NAME",
        help="only the worktree(s) whose label, branch, path or folder name is NAME",
    )
    runs = report.add_mutually_exclusive_group()
    runs.add_argument(
        "--run", metavar="ID", help="only this run (default: the newest run of each worktree)"
    )
    runs.add_argument(
        "--all-runs", action="store_true", help="every run, merged (the default before 2.2)"
    )

    validate = commands.add_parser(
        "validate",
        help="check every line of record files",
        description=(
            "Check every line of record files (a directory means every *.jsonl under it)."
            " Each bad line is printed as FILE:LINE: REASON; exit status 1 if any line is bad"
            " or a file cannot be read."
        ),
    )
    validate.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="record file or directory (default: the store every worktree of the current"
        " repository shares, as `itest-shared where` prints it)",
    )

    commands.add_parser(
        "where",
        help="print where the shared record store is",
        description=(
            "Print the absolute path of the store every worktree of the current repository"
            " shares (where `pytest --itest-record` records and `report` and `validate` read"
            " by default). Exit status 0 even if it does not exist yet; stderr says so."
        ),
    )

    add_prune(commands)
    add_compare(commands)

    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of record types",
        description="Print the JSON Schema of one record type, or of all as {record_type: schema}.",
    )
    schema.add_argument("type", nargs="?", metavar="TYPE", help="record type (default: all)")
    return parser


def _report(args: argparse.Namespace, out: TextIO) -> int:
    from ..report import ReportError, build_report, render_json, render_markdown

    stores: list[Path] = []
    if not args.stores:
        from ..coordination import shared_directory

        stores.append(shared_directory())
    stores += map(_named_store, args.stores)
    if args.run is not None:
        from ..store import check_run_id

        try:
            check_run_id(args.run)
        except ValueError as error:
            raise _UsageError(f"--run: {error}") from None
    try:
        document = build_report(
            stores, run=args.run, worktree=args.worktree, all_runs=args.all_runs
        )
    except ReportError as error:
        raise _UsageError(str(error)) from None
    if args.format == "json":
        out.write(render_json(document))
        if document["records"] == 0:
            print(f"{PROG}: no records in {document['store']}", file=sys.stderr)
    else:
        out.write(render_markdown(document))
    return 0


def _record_files(names: Sequence[str]) -> Iterator[tuple[Path, bool]]:
    """Each FILE as given, and each directory as its *.jsonl entries, recursively, sorted.

    With each, whether a symlink may be followed: for a FILE the user named, yes
    (as cat does); for an entry found in a directory, which anyone may have put
    there pointing anywhere, no. Entries that are not regular files are yielded
    too, so that validate_file names them instead of their being skipped unseen.
    """
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.jsonl") if p.is_symlink() or not p.is_dir())
            if not found:
                print(f"{PROG}: warning: no *.jsonl files under {name}", file=sys.stderr)
            yield from ((p, False) for p in found)
        else:
            yield path, True  # a missing file is reported by validate_file as unreadable


def _count_lines(path: Path, follow_symlinks: bool) -> int:
    """Lines in ``path``, a last line without its newline included; 0 if not a readable file."""
    from ..store import open_record_file

    stream = open_record_file(path, follow_symlinks=follow_symlinks)  # never blocks
    if isinstance(stream, str):
        return 0
    lines = 0
    last = b"\n"
    try:
        with stream:
            while chunk := stream.read(1 << 20):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return 0
    return lines + (last != b"\n")


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    from ..report import AnalysisCheck
    from ..store import Problem, validate_file

    # No FILE: the shared store, found as `report` finds it. In a linked worktree
    # `.git` is a file, so the store cannot be named as `.git/itest-shared` there.
    store = None if args.files else _default_store()
    files = lines = bad = unreadable = 0
    newer: list[Problem] = []
    # One check for all the files: what report would not analyse (its totals span files).
    check = AnalysisCheck()
    for path, named in _record_files(args.files or [str(store)]):
        files += 1
        for problem in validate_file(path, follow_symlinks=named, newer_types=newer, check=check):
            out.write(f"{problem}\n")
            if problem.line == 0:
                unreadable += 1
            else:
                bad += 1
        lines += _count_lines(path, named)
    for note in newer:  # valid forward-compatible data: said, not failed
        out.write(f"{note.path}:{note.line}: note: {note.reason}\n")
    checked = "checked" if store is None else f"checked in {store}"
    summary = f"{files:,} files, {lines:,} lines {checked}: {bad:,} bad"
    if unreadable:
        summary += f", {unreadable:,} files unreadable"
    if newer:
        summary += f", {len(newer):,} records of newer record types not checked"
    print(summary, file=sys.stderr)
    return 1 if bad or unreadable else 0


def _where(args: argparse.Namespace, out: TextIO) -> int:
    from ..coordination import shared_directory

    store = shared_directory().absolute()
    out.write(f"{store}\n")
    # Exit 0 all the same: the path is the answer, and scripts use it before the
    # first recorded run (to create, clean or mount it).
    if not store.exists():
        print(
            f"{PROG}: {store} does not exist yet; `pytest --itest-record` creates it",
            file=sys.stderr,
        )
    elif not store.is_dir():
        print(f"{PROG}: warning: {store} exists and is not a directory", file=sys.stderr)
    return 0


def _schema(args: argparse.Namespace, out: TextIO) -> int:
    import json

    from ..schema import json_schema, json_schemas

    if args.type is None:
        schemas: object = json_schemas()
    else:
        try:
            schemas = json_schema(args.type)
        except ValueError as error:
            raise _UsageError(str(error)) from None
    out.write(json.dumps(schemas, indent=2) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``itest-shared`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = _build_parser()
    argv, pytest_args = split_pytest_args(list(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:
        # --help, --version and argparse's usage errors: return the status, not exit,
        # so main() can be called in-process.
        return done.code if isinstance(done.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    args.pytest_args = pytest_args
    commands = {
        "report": _report,
        "validate": _validate,
        "where": _where,
        "prune": _prune,
        "compare": _compare,
        "bench-ab": _bench_ab,
        "schema": _schema,
    }
    run = commands[args.command]
    try:
        return run(args, sys.stdout)
    except _UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `itest-shared report | head`: the reader left. Point stdout at devnull so
        # the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1
