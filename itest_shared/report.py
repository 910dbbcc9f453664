"""Aggregate a record store into one report across worktrees, streaming.

Records are folded into counters one at a time and never kept, so memory grows
with the number of distinct keys (worktrees, modules, operations, error types,
test ids), not with the number of records. :func:`build_report` returns a plain
JSON-safe document; ``_report_render`` turns it into markdown.

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
are the highest p95/p99 of any one record.

.. versionadded:: 1.2
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from ._jsonsafe import json_kind
from ._report_render import make_document, render_json, render_markdown
from ._store_read import Location, Problem, ReadReport

__all__ = [
    "NO_WORKTREE",
    "ReportAggregator",
    "ReportError",
    "build_report",
    "render_json",
    "render_markdown",
]

#: The worktree of records that carry no context (schema 1.0) or no worktree in it.
NO_WORKTREE: Final = "(no worktree)"
#: Schema majors whose record shapes this module knows; others are counted, not analysed.
ANALYSED_MAJORS: Final = (1,)
MAX_PROBLEMS_SHOWN: Final = 20
TOP_ERROR_TYPES: Final = 5
_VERSION_RE: Final = re.compile(r"(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})")
_STATES: Final = ("active", "released", "leaked")


class ReportError(ValueError):
    """The report cannot be made as asked: an unknown run, or no worktree matches."""


class _Malformed(Exception):
    """A needed field has the wrong type; the message names it."""


def _need_str(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if type(value) is not str:
        raise _Malformed(f"{name}: expected a string, got {json_kind(value)}")
    return value


def _need_number(record: Mapping[str, Any], name: str) -> float:
    value = record.get(name)
    # json.loads accepts NaN and Infinity; a merged statistic must not.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Malformed(f"{name}: expected a finite number, got {json_kind(value)}")
    return float(value)


@attrs.define
class TimingTotals:
    """timing_stats of one operation merged: sums, extremes and the worst percentiles."""

    records: int = 0
    count: int = 0
    total: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    worst_p95: float = -math.inf
    worst_p99: float = -math.inf

    def merge(self, other: TimingTotals) -> None:
        """Fold ``other`` into these totals."""
        self.records += other.records
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.worst_p95 = max(self.worst_p95, other.worst_p95)
        self.worst_p99 = max(self.worst_p99, other.worst_p99)

    def to_json(self, operation: str) -> dict[str, Any]:
        """Return the document form (see the module docstring)."""
        return {
            "operation": operation,
            "records": self.records,
            "count": self.count,
            "total": self.total,
            "mean": self.total / self.count,
            "min": self.min,
            "max": self.max,
            "worst_p95": self.worst_p95,
            "worst_p99": self.worst_p99,
        }


def _timing_of(record: Mapping[str, Any]) -> tuple[str, TimingTotals]:
    operation = _need_str(record, "operation")
    count = record.get("count")
    if type(count) is not int or count < 1:
        raise _Malformed(f"count: expected an integer >= 1, got {json_kind(count)}")
    number = _need_number
    return operation, TimingTotals(
        1,
        count,
        number(record, "total"),
        number(record, "min"),
        number(record, "max"),
        number(record, "p95"),
        number(record, "p99"),
    )


@attrs.define(eq=False)
class WorktreeStats:
    """Everything the report counts for one worktree; bounded by distinct keys."""

    path: str | None
    branches: Counter[str] = attrs.Factory(Counter)
    records: int = 0
    by_type: Counter[str] = attrs.Factory(Counter)
    malformed: int = 0
    unknown_major: int = 0
    unknown_type: int = 0
    runs: set[str] = attrs.Factory(set)
    tests: set[str] = attrs.Factory(set)
    boundaries: Counter[tuple[str, str]] = attrs.Factory(Counter)
    error_types: Counter[str] = attrs.Factory(Counter)
    leaked: Counter[tuple[str, str]] = attrs.Factory(Counter)
    config_paths: Counter[str] = attrs.Factory(Counter)
    package_versions: Counter[str] = attrs.Factory(Counter)
    schema_versions: Counter[str] = attrs.Factory(Counter)
    majors: Counter[int] = attrs.Factory(Counter)
    timings: dict[str, TimingTotals] = attrs.Factory(dict)

    @property
    def branch(self) -> str | None:
        """The branch most of this worktree's records were written on (it can change)."""
        return self.branches.most_common(1)[0][0] if self.branches else None

    def analyse(self, record_type: str, record: Mapping[str, Any]) -> None:
        """Count one record of a known type and major; raise _Malformed before changing anything."""
        if record_type == "error_context":
            source = _need_str(record, "source_module")
            target = _need_str(record, "target_module")
            error_type = _need_str(record, "error_type")
            self.boundaries[source, target] += 1
            self.error_types[error_type] += 1
        elif record_type == "resource":
            owner = _need_str(record, "owner_module")
            kind = _need_str(record, "resource_type")
            state = record.get("state")
            if state not in _STATES or type(state) is not str:
                raise _Malformed(f"state: expected one of {', '.join(_STATES)}, got {state!r}")
            if state == "leaked":
                self.leaked[owner, kind] += 1
        elif record_type == "config_change":
            self.config_paths[_need_str(record, "config_path")] += 1
        else:  # timing_stats
            operation, totals = _timing_of(record)
            known = self.timings.get(operation)
            if known is None:
                self.timings[operation] = totals
            else:
                known.merge(totals)


_ANALYSED_TYPES: Final = frozenset({"error_context", "config_change", "resource", "timing_stats"})


def _split_context(record: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """Return ``(worktree path, branch, test)`` of a record's context; raise _Malformed."""
    context = record.get("context")
    if context is None:  # schema 1.0 records have no context
        return None, None, None
    if type(context) is not dict:
        raise _Malformed(f"context: expected an object or null, got {json_kind(context)}")
    test = context.get("test")
    if test is not None and type(test) is not str:
        raise _Malformed(f"context.test: expected a string or null, got {json_kind(test)}")
    worktree = context.get("worktree")
    if worktree is None:
        return None, None, test
    if type(worktree) is not dict:
        raise _Malformed(f"context.worktree: expected an object or null, got {json_kind(worktree)}")
    path, branch = worktree.get("path"), worktree.get("branch")
    if type(path) is not str:
        raise _Malformed(f"context.worktree.path: expected a string, got {json_kind(path)}")
    if branch is not None and type(branch) is not str:
        raise _Malformed(
            f"context.worktree.branch: expected a string or null, got {json_kind(branch)}"
        )
    return path, branch, test


class ReportAggregator:
    """Folds records into per-worktree counters one at a time; keeps no record."""

    def __init__(self) -> None:
        self.worktrees: dict[str | None, WorktreeStats] = {}
        self.records = 0
        #: Skipped lines and malformed records: how many, and the first few.
        self.problem_count = 0
        self.problems: list[Problem] = []
        # "1.0" -> 1; a handful of versions, parsed once each.
        self._majors: dict[str, int | None] = {}

    def _stats(self, path: str | None) -> WorktreeStats:
        stats = self.worktrees.get(path)
        if stats is None:
            stats = self.worktrees[path] = WorktreeStats(path)
        return stats

    def _major(self, version: str) -> int | None:
        try:
            return self._majors[version]
        except KeyError:
            match = _VERSION_RE.fullmatch(version)
            major = None if match is None else int(match.group(1))
            if len(self._majors) < 1000:  # a store of garbage versions must not grow this
                self._majors[version] = major
            return major

    def add_problem(self, problem: Problem) -> None:
        """Count a skipped line; keep it if it is among the first few."""
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_SHOWN:
            self.problems.append(problem)

    def add(
        self, record: Mapping[str, Any], location: Location | None = None, run: str = ""
    ) -> None:
        """Count one record read at ``location`` in ``run``; a malformed one becomes a problem."""
        self.records += 1
        try:
            path, branch, test = _split_context(record)
        except _Malformed as error:
            # Which worktree it came from is unknown: it goes with the records without one.
            self._malformed(self._stats(None), "(invalid)", error, location, run)
            return
        stats = self._stats(path)
        if branch is not None:
            stats.branches[branch] += 1
        record_type = record.get("record_type")
        if type(record_type) is not str:
            problem = _Malformed(f"record_type: expected a string, got {json_kind(record_type)}")
            self._malformed(stats, "(invalid)", problem, location, run)
            return
        version = record.get("schema_version")
        major = self._major(version) if type(version) is str else None
        if major is None or type(version) is not str:
            problem = _Malformed(f"schema_version: expected 'MAJOR.MINOR', got {version!r}")
            self._malformed(stats, record_type, problem, location, run)
            return
        stats.records += 1
        stats.by_type[record_type] += 1
        stats.runs.add(run)
        stats.schema_versions[version] += 1
        stats.majors[major] += 1
        if major not in ANALYSED_MAJORS:
            # A later major may move any field: count it, read nothing else.
            stats.unknown_major += 1
            return
        try:
            producer = record.get("producer")
            if type(producer) is not dict:
                raise _Malformed(f"producer: expected an object, got {json_kind(producer)}")
            package_version = _need_str(producer, "package_version")
            # A later minor may add record types: not errors, but nothing to analyse.
            known_type = record_type in _ANALYSED_TYPES
            if known_type:
                stats.analyse(record_type, record)
        except _Malformed as error:
            stats.malformed += 1
            self._problem(location, f"malformed {record_type} record, not analysed: {error}")
            return
        stats.unknown_type += not known_type
        stats.package_versions[package_version] += 1
        if test is not None:
            stats.tests.add(test)

    def _malformed(
        self,
        stats: WorktreeStats,
        record_type: str,
        error: _Malformed,
        location: Location | None,
        run: str,
    ) -> None:
        stats.records += 1
        stats.by_type[record_type] += 1
        stats.runs.add(run)
        stats.malformed += 1
        self._problem(location, f"malformed record, not analysed: {error}")

    def _problem(self, location: Location | None, reason: str) -> None:
        if location is None:
            # Fed from memory, not a file: number the records instead.
            location = Location(Path("<records>"), self.records)
        self.add_problem(Problem(location.path, location.line, reason))

    def feed(self, report: ReadReport) -> None:
        """Read a store pass through, counting records and the reader's problems as they come."""
        problems = report.problems
        last_path: Path | None = None
        run = ""
        add = self.add
        for record, location in report:
            if location.path is not last_path:
                last_path = location.path
                run = last_path.parent.name  # the run id is the directory name
            if problems:
                self._drain(problems)
            add(record, location, run)
        self._drain(problems)

    def _drain(self, problems: list[Problem]) -> None:
        # Emptied as we go, so a store full of broken lines cannot grow the list.
        for problem in problems:
            self.add_problem(problem)
        problems.clear()

    def document(
        self, *, store: str, runs: Iterable[str], worktree: str | None = None
    ) -> dict[str, Any]:
        """Return the report document; ReportError if ``worktree`` matches no worktree."""
        return make_document(self, store=store, runs=list(runs), worktree=worktree)


def build_report(
    directory: str | os.PathLike[str], *, run: str | None = None, worktree: str | None = None
) -> dict[str, Any]:
    """Read the store at ``directory`` (one run, or all) and return the report document."""
    from .store import RecordStore, check_run_id

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
