"""Fold a store's records into per-worktree counters, one record at a time."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .._jsonsafe import json_kind
from ..formats import SCHEMA_MAJOR_RE, SCHEMA_VERSION_RE
from ..store import Location, Problem, ReadReport
from ._document import make_document
from ._stats import (
    ANALYSED_MAJORS,
    ANALYSED_TYPES,
    MAX_PROBLEMS_SHOWN,
    Malformed,
    WorktreeStats,
    check_str,
    split_context,
)


# A store holds a handful of versions: each is parsed once. Bounded, so that a
# store of garbage versions cannot grow it.
@functools.lru_cache(maxsize=256)
def _major(version: str) -> int | None:
    """``"1.0"`` -> 1; a later major's version of any form (``"2.0.0"``) -> 2; else None.

    As the reader does: only the leading major is common to every major's
    versions, so one this report does not analyse is counted whatever follows.
    """
    match = SCHEMA_VERSION_RE.fullmatch(version)
    if match is not None:
        return int(match.group(1))
    lead = SCHEMA_MAJOR_RE.match(version)
    if lead is None or len(lead.group(1)) > 9:  # no major, or none a count can hold
        return None
    major = int(lead.group(1))
    return None if major in ANALYSED_MAJORS else major


class ReportAggregator:
    """Folds records into per-worktree counters one at a time; keeps no record."""

    def __init__(self) -> None:
        self.worktrees: dict[str | None, WorktreeStats] = {}
        self.records = 0
        #: Skipped lines and malformed records: how many, and the first few.
        self.problem_count = 0
        self.problems: list[Problem] = []
        #: Each operation's summed timing total over every worktree: kept finite.
        self.timing_totals: dict[str, float] = {}

    def _stats(self, path: str | None) -> WorktreeStats:
        stats = self.worktrees.get(path)
        if stats is None:
            stats = self.worktrees[path] = WorktreeStats(path)
        return stats

    def add_problem(self, problem: Problem) -> None:
        """Count a skipped line; keep it if it is among the first few."""
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_SHOWN:
            self.problems.append(problem)

    def add(
        self, record: Mapping[str, Any], location: Location | None = None, run: str = ""
    ) -> None:
        """Count one record read at ``location`` in ``run``; a malformed one becomes a problem.

        The schema major is read first: a later major may give any field a new
        shape, so its records are counted by version and major, never malformed.
        """
        self.records += 1
        raw_version = record.get("schema_version")
        version = raw_version if isinstance(raw_version, str) else ""
        major = _major(version)
        record_type = record.get("record_type")
        type_key = record_type if isinstance(record_type, str) else "(invalid)"
        context_error = None
        try:
            path, branch, test = split_context(record)
        except Malformed as error:
            # Which worktree it came from is unknown: it goes with the records without one.
            path, branch, test = None, None, None
            context_error = error
        stats = self._stats(path)
        if branch is not None:
            stats.branches[branch] += 1
        if major is None:
            problem = Malformed(f"schema_version: expected 'MAJOR.MINOR', got {raw_version!r}")
            self._malformed(stats, type_key, problem, location, run)
            return
        if major not in ANALYSED_MAJORS:
            # A later major may move or reshape any field: count it, read nothing else.
            self._count(stats, type_key, run, version, major)
            stats.unknown_major += 1
            return
        if context_error is not None:
            self._malformed(stats, type_key, context_error, location, run)
            return
        if not isinstance(record_type, str):
            problem = Malformed(f"record_type: expected a string, got {json_kind(record_type)}")
            self._malformed(stats, type_key, problem, location, run)
            return
        self._count(stats, record_type, run, version, major)
        try:
            producer = record.get("producer")
            if not isinstance(producer, dict):
                raise Malformed(f"producer: expected an object, got {json_kind(producer)}")
            package_version = check_str(producer, "package_version")
            # A later minor may add record types: not errors, but nothing to analyse.
            known_type = record_type in ANALYSED_TYPES
            if known_type:
                stats.analyse(record_type, record, self.timing_totals)
        except Malformed as error:
            stats.malformed += 1
            self._problem(location, f"malformed {record_type} record, not analysed: {error}")
            return
        stats.unknown_type += not known_type
        stats.package_versions[package_version] += 1
        if test is not None:
            stats.tests.add(test)

    @staticmethod
    def _count(stats: WorktreeStats, record_type: str, run: str, version: str, major: int) -> None:
        stats.records += 1
        stats.by_type[record_type] += 1
        stats.runs.add(run)
        stats.schema_versions[version] += 1
        stats.majors[major] += 1

    def _malformed(
        self,
        stats: WorktreeStats,
        record_type: str,
        error: Malformed,
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
