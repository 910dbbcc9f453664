"""The report's counters: what one worktree's records add up to, and the facts they use.

A leaf of ``report``: the aggregator fills these, the document reads them.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Final, TypeVar

import attrs

from .._jsonsafe import json_kind
from ..formats import MAX_COUNT, RESOURCE_STATES

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
    operation = check_str(record, "operation")
    count = record.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise Malformed(f"count: expected an integer from 1 to 2**64, got {json_kind(count)}")
    seconds = check_seconds
    return operation, TimingTotals(
        1,
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
        if record_type == "error_context":
            source = check_str(record, "source_module")
            target = check_str(record, "target_module")
            error_type = check_str(record, "error_type")
            self.boundaries[source, target] += 1
            self.error_types[error_type] += 1
        elif record_type == "resource":
            owner = check_str(record, "owner_module")
            kind = check_str(record, "resource_type")
            state = record.get("state")
            if not isinstance(state, str) or state not in RESOURCE_STATES:
                raise Malformed(
                    f"state: expected one of {', '.join(RESOURCE_STATES)}, got {state!r}"
                )
            if state == "leaked":
                self.leaked[owner, kind] += 1
        elif record_type == "config_change":
            self.config_paths[check_str(record, "config_path")] += 1
        elif record_type == "timing_stats":
            operation, timing = _timing_of(record)
            total = totals.get(operation, 0.0) + timing.total
            if total > MAX_TOTAL:
                raise Malformed(
                    f"total: the totals of operation {operation!r} would add up to more than"
                    f" {MAX_TOTAL:.3g} s, beyond what a float can sum"
                )
            totals[operation] = total
            known = self.timings.get(operation)
            if known is None:
                self.timings[operation] = timing
            else:
                known.merge(timing)


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
ANALYSED_TYPES: Final = frozenset({"error_context", "config_change", "resource", "timing_stats"})


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
