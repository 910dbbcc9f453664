"""Aggregate a record store into one report across worktrees, streaming.

Records are folded into counters one at a time and never kept, so memory grows
with the number of distinct keys (worktrees, modules, operations, error types,
test ids), not with the number of records. :func:`build_report` returns a plain
JSON-safe document; :func:`render_markdown` turns it into markdown.

The JSON document (``itest-shared report --format json``); every key is always
present, lists are sorted (counts descending, then names)::

    report          "itest-shared"               report_version  1
    store           the store directory          runs            run ids read
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
    timings         [timing]: merged across the shown worktrees
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
from typing import Any

from ..store import RecordStore, check_run_id
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
    "render_comparison_markdown",
    "render_json",
    "render_markdown",
]


def build_report(
    directory: str | os.PathLike[str], *, run: str | None = None, worktree: str | None = None
) -> dict[str, Any]:
    """Read the store at ``directory`` (one run, or all) and return the report document."""
    store = RecordStore(directory)
    known = store.runs()
    if run is not None:
        check_run_id(run)
        if run not in known:
            listed = ", ".join(known) if known else "none"
            raise ReportError(f"unknown run {run!r}; runs in {store.directory}: {listed}")
    aggregator = ReportAggregator()
    aggregator.feed(store.read(run))
    return aggregator.document(
        store=str(store.directory), runs=[run] if run is not None else known, worktree=worktree
    )
