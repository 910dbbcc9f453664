"""Fold a store's records into per-worktree counters, one record at a time."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .._jsonsafe import json_kind
from ..formats import SCHEMA_VERSION_RE
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
    """``"1.0"`` -> 1; None for what is not ``MAJOR.MINOR``."""
    match = SCHEMA_VERSION_RE.fullmatch(version)
    return None if match is None else int(match.group(1))


class ReportAggregator:
    """Folds records into per-worktree counters one at a time; keeps no record."""

    def __init__(self) -> None:
        self.worktrees: dict[str | None, WorktreeStats] = {}
        self.records = 0
        #: Skipped lines and malformed records: how many, and the first few.
        self.problem_count = 0
        self.problems: list[Problem] = []

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
        """Count one record read at ``location`` in ``run``; a malformed one becomes a problem."""
        self.records += 1
        try:
            path, branch, test = split_context(record)
        except Malformed as error:
            # Which worktree it came from is unknown: it goes with the records without one.
            self._malformed(self._stats(None), "(invalid)", error, location, run)
            return
        stats = self._stats(path)
        if branch is not None:
            stats.branches[branch] += 1
        record_type = record.get("record_type")
        if not isinstance(record_type, str):
            problem = Malformed(f"record_type: expected a string, got {json_kind(record_type)}")
            self._malformed(stats, "(invalid)", problem, location, run)
            return
        version = record.get("schema_version")
        major = _major(version) if isinstance(version, str) else None
        if major is None or not isinstance(version, str):
            problem = Malformed(f"schema_version: expected 'MAJOR.MINOR', got {version!r}")
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
            if not isinstance(producer, dict):
                raise Malformed(f"producer: expected an object, got {json_kind(producer)}")
            package_version = check_str(producer, "package_version")
            # A later minor may add record types: not errors, but nothing to analyse.
            known_type = record_type in ANALYSED_TYPES
            if known_type:
                stats.analyse(record_type, record)
        except Malformed as error:
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
