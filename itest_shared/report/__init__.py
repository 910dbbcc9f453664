"""Aggregate a record store into one report across worktrees, streaming.

Records are folded into counters one at a time and never kept, so memory grows
with the number of distinct keys (worktrees, modules, operations, error types,
test ids), not with the number of records. :func:`build_report` returns a plain
JSON-safe document; :func:`render_markdown` turns it into markdown.

The JSON document (``itest-shared report --format json``); every key is always
present, lists are sorted (counts descending, then names)::

    report          "itest-shared"               report_version  1
    store           the (first) store directory  stores          every store read (2.2)
    all_runs        every run merged? (2.2)      runs            run ids read: by default
                                                                 each worktree's newest
    worktree_filter the --worktree NAME or null  records         records of the shown worktrees
    warnings        [str]: schema majors that differ or cannot be analysed
    worktrees       [one object per worktree, by label; "(no worktree)" last]:
        label, path, branch      label = branch, else path basename, else path when two clash
        records                  every record read (malformed ones too)
        records_by_type          {record_type: n} ("(invalid)" when record_type is not a string)
        not_analysed             {"malformed": n, "unknown_major": n, "unknown_type": n}
        runs, tests              run ids seen; number of distinct test node ids
        errors                   {"total", "by_boundary": [{source, target, count}],
                                  "top_error_types": [{error_type, count}] (at most 5)}
        leaked_resources         {"total", "by_owner": [{owner_module, resource_type, count}]}
        config_changes           {"total", "by_path": [{config_path, count}]}
        timings                  [timing]: this worktree's timing_stats merged per operation
        package_versions, schema_versions   {version: n}; schema_majors [int]
        outcomes                 {outcome: n} of test_result records (2.2)
        environments             [{host, python, count}] of environment records (2.2)
    timings         [timing]: merged across the shown worktrees
    outcome_matrix  {"worktrees": [label], "differing": n, "shown": [{"test", "outcomes":
                    {label: outcome or null}}] (the first 50)}: the tests whose last
                    outcome differs between the shown worktrees (2.2)
    problems        {"total": n, "shown": [{path, line, reason}] (the first 20)}: skipped lines
                    and malformed records of the whole store, whatever --worktree says

A ``timing`` is ``{operation, records, count, total, mean, min, max, worst_p95,
worst_p99}``: count and total are sums, mean = total / count, min and max the
extremes; percentiles cannot be merged exactly, so ``worst_p95``/``worst_p99``
are the highest p95/p99 of any one record. A timing_stats record is analysed
when its count is an integer from 1 to 2**64 and its seconds are finite numbers
>= 0, and when adding it keeps its operation's summed total under half the
largest float; otherwise it is a problem that names the field.

The schema major is read first: a record of a major this release does not read
is counted by version and major (``not_analysed.unknown_major``) whatever the
shape of its other fields. A record type this release does not know, of a major
it reads (a newer minor's type), is counted by type (``unknown_type``): valid
data, not a problem.

The JSON document holds the records' strings exactly (JSON escapes control
characters and lone surrogates). The markdown shows every string from a record
inert: characters a terminal acts on (C0, C1, DEL, format characters such as
bidi overrides, lone surrogates) as Python escapes (``\\x1b``, ``\\u202e``), markup
characters backslash-escaped, identifiers in code spans that no backtick closes.

.. versionadded:: 1.2
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._jsonsafe import NotStrictJSON, loads_strict
from ..store import MAX_LINE_BYTES, ReadReport, RecordStore, check_run_id, open_record_file
from ._aggregate import ReportAggregator
from ._compare import build_comparison
from ._render import render_comparison_markdown, render_json, render_markdown
from ._stats import NO_WORKTREE, AnalysisCheck, ReportError

__all__ = [
    "NO_WORKTREE",
    "AnalysisCheck",
    "ReportAggregator",
    "ReportError",
    "build_comparison",
    "build_report",
    "latest_runs",
    "render_comparison_markdown",
    "render_json",
    "render_markdown",
]


def _first_worktree(path: Path) -> str | None:
    """The worktree path the first record of ``path`` names; None if none or unreadable."""
    stream = open_record_file(path)
    if isinstance(stream, str):
        return None
    with stream:
        try:
            record = loads_strict(stream.readline(MAX_LINE_BYTES + 1))
        except (NotStrictJSON, OSError, ValueError):
            return None
    context = record.get("context") if isinstance(record, dict) else None
    worktree = context.get("worktree") if isinstance(context, dict) else None
    path_name = worktree.get("path") if isinstance(worktree, dict) else None
    return path_name if isinstance(path_name, str) else None


def latest_runs(files: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The files of each worktree's newest run, and those runs (sorted).

    A file goes with the worktree its first record names (a writer writes the
    records of one worktree); a run's id starts with its UTC start time, so the
    newest is the greatest. Files whose first record names none form one more
    group, as the report's "(no worktree)" column.

    .. versionadded:: 2.2
    """
    owner = {path: _first_worktree(path) for path in files}
    newest: dict[str | None, str] = {}
    for path, worktree in owner.items():
        run = path.parent.name
        if run > newest.get(worktree, ""):
            newest[worktree] = run
    kept = [path for path in files if path.parent.name == newest[owner[path]]]
    return kept, sorted(set(newest.values()))


def build_report(
    directory: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    run: str | None = None,
    worktree: str | None = None,
    all_runs: bool = False,
) -> dict[str, Any]:
    """Read the stores at ``directory`` (one or several, as one) and return the report document.

    By default the newest run of each worktree is read (see :func:`latest_runs`);
    ``run`` reads that run only, ``all_runs`` every run, merged.

    .. versionchanged:: 2.2 several stores; the newest run of each worktree by
       default (was: every run merged, now ``all_runs=True``).
    """
    directories = [directory] if isinstance(directory, (str, os.PathLike)) else list(directory)
    if not directories:
        raise ReportError("no store to report on")
    stores = [RecordStore(name) for name in directories]
    known = sorted({name for store in stores for name in store.runs()})
    if run is not None:
        check_run_id(run)
        if all_runs:
            raise ReportError("give a run or all runs, not both")
        if run not in known:
            listed = ", ".join(known) if known else "none"
            where = ", ".join(str(store.directory) for store in stores)
            raise ReportError(f"unknown run {run!r}; runs in {where}: {listed}")
    files = [path for store in stores for path in store.files(run)]
    if run is not None:
        runs = [run]
    elif all_runs:
        runs = known
    else:
        files, runs = latest_runs(files)
    aggregator = ReportAggregator()
    aggregator.feed(ReadReport(files))
    return aggregator.document(
        store=str(stores[0].directory),
        stores=[str(store.directory) for store in stores],
        runs=runs,
        worktree=worktree,
        all_runs=run is None and all_runs,
    )
