"""Fold a store's records into per-worktree counters, one record at a time."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from .._jsonsafe import json_kind
from ..formats import SCHEMA_MAJOR_RE, SCHEMA_VERSION_RE
from ..store import Location, Problem, ReadReport
from ._document import make_document
from ._stats import (
    ANALYSED_MAJORS,
    MAX_PROBLEMS_SHOWN,
    Analyser,
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


# The envelope of a record with no worktree, in a _Bucket key: None is taken
# there by a worktree path that is null, which is malformed.
_NO_WORKTREE_KEY: Final = ("no worktree",)
#: Most envelopes kept in ReportAggregator's cache; past it, it starts again.
MAX_BUCKETS: Final = 4096


class _Bucket:
    """Records with one envelope, counted in full once: since then, only how many.

    The envelope is what ``_count`` and the good end of ``add`` count: the run,
    schema version, record type, worktree path and branch, package version.
    Counting the first record in full made every counter's key at the place in
    the order where ``add`` makes it; ``_fold`` adds the rest.
    """

    __slots__ = ("analyse", "count", "major", "stats", "tests")

    def __init__(self, stats: WorktreeStats, major: int, analyse: Analyser | None) -> None:
        self.stats = stats
        self.tests = stats.tests
        self.major = major
        self.analyse = analyse
        self.count = 0  # records not yet folded into the counters


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
        # feed()'s cache: envelope -> its records since the last _fold (see _Bucket).
        self._buckets: dict[tuple[Any, ...], _Bucket] = {}

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
        self._add(record, location, run)

    def _add(
        self, record: Mapping[str, Any], location: Location | None, run: str
    ) -> _Bucket | None:
        """``add``; return a new _Bucket for the record's envelope if it was counted in full."""
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
            return None
        if major not in ANALYSED_MAJORS:
            # A later major may move or reshape any field: count it, read nothing else.
            self._count(stats, type_key, run, version, major)
            stats.unknown_major += 1
            return None
        if context_error is not None:
            self._malformed(stats, type_key, context_error, location, run)
            return None
        if not isinstance(record_type, str):
            problem = Malformed(f"record_type: expected a string, got {json_kind(record_type)}")
            self._malformed(stats, type_key, problem, location, run)
            return None
        self._count(stats, record_type, run, version, major)
        analyse = stats.analyser(record_type)
        try:
            producer = record.get("producer")
            if not isinstance(producer, dict):
                raise Malformed(f"producer: expected an object, got {json_kind(producer)}")
            package_version = check_str(producer, "package_version")
            # A later minor may add record types: not errors, but nothing to analyse.
            if analyse is not None:
                analyse(record, self.timing_totals)
        except Malformed as error:
            stats.malformed += 1
            self._problem(location, f"malformed {record_type} record, not analysed: {error}")
            return None
        stats.unknown_type += analyse is None
        stats.package_versions[package_version] += 1
        if test is not None:
            stats.tests.add(test)
        return _Bucket(stats, major, analyse)

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
        for path, records in report.by_file():
            self._feed_file(path, path.parent.name, records, problems)  # the run is the directory
        self._drain(problems)
        self._fold()

    def _feed_file(
        self,
        path: Path,
        run: str,
        records: Iterable[tuple[int, dict[str, Any]]],
        problems: list[Problem],
    ) -> None:
        """Count one file's records as ``add`` does; most in a few steps (see _Bucket).

        bench_report.py asks for it: ``add`` costs 8 counter updates and a dozen
        checks per record; a record whose envelope was counted in full before
        costs one lookup and what its type's analyser does. What the lookup
        finds was checked: every part of a key is a string (or None for the
        branch), and a JSON value equal to a string is that string.
        """
        buckets = self._buckets
        totals = self.timing_totals
        for line, record in records:
            if problems:
                self._drain(problems)
            get = record.get
            context = get("context")
            try:
                if context is None:
                    test, place, branch = None, _NO_WORKTREE_KEY, None
                else:
                    # .get: AttributeError for any JSON value but an object.
                    test, worktree = context.get("test"), context.get("worktree")
                    if worktree is None:
                        place, branch = _NO_WORKTREE_KEY, None
                    else:
                        place, branch = worktree.get("path"), worktree.get("branch")
                key = (
                    run,
                    get("schema_version"),
                    get("record_type"),
                    place,
                    branch,
                    record["producer"]["package_version"],
                )
                bucket = buckets.get(key)  # TypeError: an array or object in the key
            except (AttributeError, KeyError, TypeError):
                bucket = None
                key = None
            if bucket is not None and (test is None or isinstance(test, str)):
                try:
                    if bucket.analyse is not None:
                        bucket.analyse(record, totals)
                except Malformed:
                    pass  # add() counts it and names the problem (nothing has changed)
                else:
                    bucket.count += 1
                    if test is not None:
                        bucket.tests.add(test)
                    continue
            new = self._add(record, Location(path, line), run)
            if new is not None and key is not None and key not in buckets:
                if len(buckets) >= MAX_BUCKETS:
                    self._fold()
                    buckets.clear()
                buckets[key] = new

    def _fold(self) -> None:
        """Add what the buckets counted since the last fold to the counters."""
        for (_, version, record_type, _, branch, package_version), bucket in self._buckets.items():
            count, stats = bucket.count, bucket.stats
            if not count:
                continue
            bucket.count = 0
            self.records += count
            stats.records += count
            stats.by_type[record_type] += count
            stats.schema_versions[version] += count
            stats.majors[bucket.major] += count
            stats.package_versions[package_version] += count
            if branch is not None:
                stats.branches[branch] += count
            if bucket.analyse is None:
                stats.unknown_type += count

    def _drain(self, problems: list[Problem]) -> None:
        # Emptied as we go, so a store full of broken lines cannot grow the list.
        for problem in problems:
            self.add_problem(problem)
        problems.clear()

    def document(
        self,
        *,
        store: str,
        runs: Iterable[str],
        worktree: str | None = None,
        stores: Iterable[str] | None = None,
        all_runs: bool = False,
    ) -> dict[str, Any]:
        """Return the report document; ReportError if ``worktree`` matches no worktree.

        .. versionchanged:: 2.2 ``stores`` (default: ``[store]``) and ``all_runs``.
        """
        self._fold()
        return make_document(
            self,
            store=store,
            runs=list(runs),
            worktree=worktree,
            stores=None if stores is None else list(stores),
            all_runs=all_runs,
        )
