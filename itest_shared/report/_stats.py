"""The report's counters: what one worktree's records add up to, and the facts they use.

A leaf of ``report``: the aggregator fills these, the document reads them.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Final, NoReturn, TypeAlias, TypeVar

import attrs

from .._jsonsafe import json_kind
from ..formats import MAX_COUNT, RESOURCE_STATES, TEST_OUTCOMES

K = TypeVar("K", bound=Hashable)


def ranked(counter: Mapping[K, int], name: Callable[[K], Any] = str) -> list[tuple[K, int]]:
    """Items by count, highest first, then by name: the same input always reads the same."""
    return sorted(counter.items(), key=lambda item: (-item[1], name(item[0])))


#: The worktree of records that carry no context (schema 1.0) or no worktree in it.
NO_WORKTREE: Final = "(no worktree)"
#: Schema majors whose record shapes this module knows; others are counted, not analysed.
ANALYSED_MAJORS: Final = (1,)
MAX_PROBLEMS_SHOWN: Final = 20
TOP_ERROR_TYPES: Final = 5
#: Largest ``count`` of one timing_stats record. No loop runs 2**64 times; the bound
#: keeps merged counts printable (Python refuses str() of an int over 4,300 digits).
#: Ceiling of one operation's summed ``total`` over everything read. Half the largest
#: float: every value is >= 0, so any subset summed in any order (per worktree, the
#: worktrees shown) stays finite, and so does the mean.
MAX_TOTAL: Final = sys.float_info.max / 2


class ReportError(ValueError):
    """The report cannot be made as asked: an unknown run, or no worktree matches."""


class Malformed(Exception):
    """A needed field has the wrong type; the message names it."""


def check_str(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str):
        raise Malformed(f"{name}: expected a string, got {json_kind(value)}")
    return value


def refuse_strs(record: Mapping[str, Any], *names: str) -> NoReturn:
    """Raise Malformed naming the first of ``names`` that is not a string (one is not)."""
    for name in names:
        check_str(record, name)
    raise AssertionError(f"refuse_strs: {names} are all strings")  # pragma: no cover


def check_seconds(record: Mapping[str, Any], name: str) -> float:
    """A finite number >= 0 (the record classes' rule for seconds), as a float."""
    value = record.get(name)
    rule = f"{name}: expected a finite number >= 0"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Malformed(f"{rule}, got {json_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise Malformed(
            f"{rule}, got a number beyond the float range ({json_kind(value)})"
        ) from None
    # json.loads gives inf for 1e309 (and accepts NaN); a merged statistic must not.
    if not math.isfinite(number) or number < 0:
        raise Malformed(f"{rule}, got {json_kind(value)}")
    return number


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

    def add(
        self, count: int, total: float, low: float, high: float, p95: float, p99: float
    ) -> None:
        """Fold in one record's timing: ``merge`` of a single record, without making one."""
        self.records += 1
        self.count += count
        self.total += total
        # As min() and max() choose: the new value only if strictly beyond.
        if low < self.min:
            self.min = low
        if high > self.max:
            self.max = high
        if p95 > self.worst_p95:
            self.worst_p95 = p95
        if p99 > self.worst_p99:
            self.worst_p99 = p99

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


#: What one timing_stats record adds: operation, count, total, min, max, p95, p99.
Timing: TypeAlias = tuple[str, int, float, float, float, float, float]
_LARGEST_FLOAT: Final = sys.float_info.max


def timing_of(record: Mapping[str, Any]) -> Timing:
    """What a timing_stats record adds, checked; raise Malformed naming the first bad field."""
    operation = check_str(record, "operation")
    count = record.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise Malformed(f"count: expected an integer from 1 to 2**64, got {json_kind(count)}")
    seconds = check_seconds
    return (
        operation,
        count,
        seconds(record, "total"),
        seconds(record, "min"),
        seconds(record, "max"),
        seconds(record, "p95"),
        seconds(record, "p99"),
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
    #: test_result records by outcome (schema 1.2).
    outcomes: Counter[str] = attrs.Factory(Counter)
    #: Each test's outcome, the last read (its last attempt) (schema 1.2).
    test_outcomes: dict[str, str] = attrs.Factory(dict)
    #: environment records by (host, Python implementation and version) (schema 1.2).
    environments: Counter[tuple[str, str]] = attrs.Factory(Counter)

    @property
    def branch(self) -> str | None:
        """The branch most of this worktree's records were written on (it can change)."""
        return self.branches.most_common(1)[0][0] if self.branches else None

    def analyse(
        self, record_type: str, record: Mapping[str, Any], totals: dict[str, float]
    ) -> None:
        """Count one record of a known type and major; raise Malformed before changing anything.

        ``totals`` is each operation's summed ``total`` over every worktree read so
        far; a timing_stats record that would take it past MAX_TOTAL is refused.
        """
        analyse = self.analyser(record_type)
        if analyse is not None:
            analyse(record, totals)

    def analyser(self, record_type: str) -> Analyser | None:
        """The method that analyses a ``record_type`` record here; None for a type not analysed."""
        name = _ANALYSERS.get(record_type)
        return None if name is None else getattr(self, name)

    # One per record type, called as analyse is. Every record passes through one
    # (bench_report.py): its fields are checked in one expression, and
    # refuse_strs names the bad one only when there is one.

    def _error_context(self, record: Mapping[str, Any], totals: dict[str, float]) -> None:
        get = record.get
        source, target, error_type = get("source_module"), get("target_module"), get("error_type")
        if not (
            isinstance(source, str) and isinstance(target, str) and isinstance(error_type, str)
        ):
            refuse_strs(record, "source_module", "target_module", "error_type")
        self.boundaries[source, target] += 1
        self.error_types[error_type] += 1

    def _resource(self, record: Mapping[str, Any], totals: dict[str, float]) -> None:
        get = record.get
        owner, kind, state = get("owner_module"), get("resource_type"), get("state")
        if not (isinstance(owner, str) and isinstance(kind, str)):
            refuse_strs(record, "owner_module", "resource_type")
        if not isinstance(state, str) or state not in RESOURCE_STATES:
            raise Malformed(f"state: expected one of {', '.join(RESOURCE_STATES)}, got {state!r}")
        if state == "leaked":
            self.leaked[owner, kind] += 1

    def _config_change(self, record: Mapping[str, Any], totals: dict[str, float]) -> None:
        path = record.get("config_path")
        if not isinstance(path, str):
            refuse_strs(record, "config_path")
        self.config_paths[path] += 1

    def _timing_stats(self, record: Mapping[str, Any], totals: dict[str, float]) -> None:
        get = record.get
        operation, count, total = get("operation"), get("count"), get("total")
        low, high, p95, p99 = get("min"), get("max"), get("p95"), get("p99")
        # A float in [0, largest float] is finite and >= 0 (NaN fails every
        # comparison); an int (a whole number of seconds) is left to timing_of.
        largest = _LARGEST_FLOAT
        if not (
            isinstance(operation, str)
            and type(count) is int  # not a bool
            and 1 <= count <= MAX_COUNT
            and isinstance(total, float)
            and isinstance(low, float)
            and isinstance(high, float)
            and isinstance(p95, float)
            and isinstance(p99, float)
            and 0.0 <= total <= largest
            and 0.0 <= low <= largest
            and 0.0 <= high <= largest
            and 0.0 <= p95 <= largest
            and 0.0 <= p99 <= largest
        ):
            operation, count, total, low, high, p95, p99 = timing_of(record)
        summed = totals.get(operation, 0.0) + total
        if summed > MAX_TOTAL:
            raise Malformed(
                f"total: the totals of operation {operation!r} would add up to more than"
                f" {MAX_TOTAL:.3g} s, beyond what a float can sum"
            )
        totals[operation] = summed
        known = self.timings.get(operation)
        if known is None:
            self.timings[operation] = TimingTotals(1, count, total, low, high, p95, p99)
        else:
            known.add(count, total, low, high, p95, p99)

    def _test_result(self, record: Mapping[str, Any], totals: dict[str, float]) -> None:
        node, outcome = record.get("node_id"), record.get("outcome")
        if not isinstance(node, str):
            refuse_strs(record, "node_id")
        if not isinstance(outcome, str) or outcome not in TEST_OUTCOMES:
            raise Malformed(f"outcome: expected one of {', '.join(TEST_OUTCOMES)}, got {outcome!r}")
        self.outcomes[outcome] += 1
        self.test_outcomes[node] = outcome

    def _environment(self, record: Mapping[str, Any], totals: dict[str, float]) -> None:
        get = record.get
        host, implementation, version = (
            get("host"),
            get("python_implementation"),
            get("python_version"),
        )
        if not (
            isinstance(host, str) and isinstance(implementation, str) and isinstance(version, str)
        ):
            refuse_strs(record, "host", "python_implementation", "python_version")
        self.environments[host, f"{implementation} {version}"] += 1


#: Counts one record into a worktree's stats: ``analyse(record, totals)``.
Analyser: TypeAlias = Callable[[Mapping[str, Any], dict[str, float]], None]
#: The method of WorktreeStats that analyses each record type.
_ANALYSERS: Final = {
    "error_context": "_error_context",
    "resource": "_resource",
    "config_change": "_config_change",
    "timing_stats": "_timing_stats",
    "test_result": "_test_result",
    "environment": "_environment",
}


class AnalysisCheck:
    """What ``report`` would refuse to analyse, record by record, in the order given.

    Call it with each record (a JSON object that ``load_record`` accepts); it
    returns why the report would not analyse it, or None. Such a record loads,
    yet one rule of the report's cannot be seen on a line alone: a timing_stats
    record whose total, added to the totals of the same operation read before
    it, passes MAX_TOTAL (half the largest float). So one check is kept for all
    the files that make up a store, in the order they are read.
    ``itest-shared validate`` passes one to ``validate_file(check=...)``, so that
    what ``report`` would not analyse, ``validate`` flags.

    .. versionadded:: 2.0
    """

    def __init__(self) -> None:
        self._totals: dict[str, float] = {}

    def __call__(self, record: Mapping[str, Any]) -> str | None:
        record_type = record.get("record_type")
        if not isinstance(record_type, str) or record_type not in ANALYSED_TYPES:
            return None
        try:
            # The report's own rule, on a scratch worktree: the totals are shared.
            WorktreeStats(None).analyse(record_type, record, self._totals)
        except Malformed as error:
            return f"report would not analyse this {record_type} record: {error}"
        return None


#: The record types ``analyse`` counts. Not formats.RECORD_TYPES: a type that
#: release adds is read and counted by type, but analysed only once this module
#: learns its fields (tests/report check the two agree today).
ANALYSED_TYPES: Final = frozenset(_ANALYSERS)


def split_context(record: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """Return ``(worktree path, branch, test)`` of a record's context; raise Malformed."""
    context = record.get("context")
    if context is None:  # schema 1.0 records have no context
        return None, None, None
    if not isinstance(context, dict):
        raise Malformed(f"context: expected an object or null, got {json_kind(context)}")
    test = context.get("test")
    if test is not None and not isinstance(test, str):
        raise Malformed(f"context.test: expected a string or null, got {json_kind(test)}")
    worktree = context.get("worktree")
    if worktree is None:
        return None, None, test
    if not isinstance(worktree, dict):
        raise Malformed(f"context.worktree: expected an object or null, got {json_kind(worktree)}")
    path, branch = worktree.get("path"), worktree.get("branch")
    if not isinstance(path, str):
        raise Malformed(f"context.worktree.path: expected a string, got {json_kind(path)}")
    if branch is not None and not isinstance(branch, str):
        raise Malformed(
            f"context.worktree.branch: expected a string or null, got {json_kind(branch)}"
        )
    return path, branch, test
