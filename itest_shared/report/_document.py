"""The report document: the JSON-safe summary made from the counters, once, at the end.

Kept apart from the aggregation: counting has to be fast and lean, while this
side only runs once, over the (small) counters.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._inert import printable
from ..formats import TEST_OUTCOMES
from ._stats import (
    ANALYSED_MAJORS,
    NO_WORKTREE,
    TOP_ERROR_TYPES,
    ReportError,
    TimingTotals,
    WorktreeStats,
    ranked,
)

if TYPE_CHECKING:
    from ._aggregate import ReportAggregator


def _labels(worktrees: Mapping[str | None, WorktreeStats]) -> dict[str | None, str]:
    """Branch, else the path's last part; the full path for worktrees whose labels clash."""

    base: dict[str | None, str] = {}
    for key, stats in worktrees.items():
        if key is None:
            base[key] = NO_WORKTREE
        else:
            base[key] = stats.branch or os.path.basename(key.rstrip("/\\")) or key
    clashes = Counter(base.values())
    return {
        key: key if key is not None and clashes[label] > 1 else label for key, label in base.items()
    }


def _matches(name: str, key: str | None, label: str, stats: WorktreeStats) -> bool:
    if name == label or name in stats.branches:
        return True
    return key is not None and name in (key, os.path.basename(key.rstrip("/\\")))


def _timings(timings: Mapping[str, TimingTotals]) -> list[dict[str, Any]]:
    return [timings[operation].to_json(operation) for operation in sorted(timings)]


def _worktree(key: str | None, label: str, stats: WorktreeStats) -> dict[str, Any]:

    return {
        "label": label,
        "path": key,
        "branch": stats.branch,
        "records": stats.records,
        "records_by_type": dict(sorted(stats.by_type.items())),
        "not_analysed": {
            "malformed": stats.malformed,
            "unknown_major": stats.unknown_major,
            "unknown_type": stats.unknown_type,
        },
        "runs": sorted(stats.runs),
        "tests": len(stats.tests),
        "errors": {
            "total": sum(stats.error_types.values()),
            "by_boundary": [
                {"source": source, "target": target, "count": count}
                for (source, target), count in ranked(stats.boundaries, repr)
            ],
            "top_error_types": [
                {"error_type": error_type, "count": count}
                for error_type, count in ranked(stats.error_types)[:TOP_ERROR_TYPES]
            ],
        },
        "leaked_resources": {
            "total": sum(stats.leaked.values()),
            "by_owner": [
                {"owner_module": owner, "resource_type": kind, "count": count}
                for (owner, kind), count in ranked(stats.leaked, repr)
            ],
        },
        "config_changes": {
            "total": sum(stats.config_paths.values()),
            "by_path": [
                {"config_path": path, "count": count} for path, count in ranked(stats.config_paths)
            ],
        },
        "timings": _timings(stats.timings),
        # Schema 1.2 (itest-shared 2.2): test_result and environment records.
        "outcomes": {o: stats.outcomes[o] for o in TEST_OUTCOMES if stats.outcomes[o]},
        "environments": [
            {"host": host, "python": python, "count": count}
            for (host, python), count in ranked(stats.environments, repr)
        ],
        "package_versions": dict(sorted(stats.package_versions.items())),
        "schema_versions": dict(sorted(stats.schema_versions.items())),
        "schema_majors": sorted(stats.majors),
    }


def _warnings(shown: Sequence[tuple[str, WorktreeStats]]) -> list[str]:

    majors = sorted({major for _, stats in shown for major in stats.majors})
    unknown = [str(major) for major in majors if major not in ANALYSED_MAJORS]
    reads = ", ".join(f"{major}.x" for major in ANALYSED_MAJORS)
    warnings = []
    if len(majors) > 1:
        parts = ", ".join(
            f"{label} on {' and '.join(str(major) for major in sorted(stats.majors))}"
            for label, stats in shown
            if stats.majors
        )
        warnings.append(f"worktrees are on different schema majors: {parts}")
    if unknown:
        warnings.append(
            f"records of schema major {', '.join(unknown)} are counted but not analysed:"
            f" this itest-shared reads schema {reads}; upgrade it to analyse them"
        )
    return warnings


#: At most this many rows of the outcome matrix are shown (the total is given).
MATRIX_ROWS = 50


def _outcome_matrix(shown: Sequence[tuple[str, WorktreeStats]]) -> dict[str, Any]:
    """The tests that ended differently in different worktrees: test x worktree outcomes."""
    tests = sorted({test for _, stats in shown for test in stats.test_outcomes})
    rows = []
    for test in tests:
        outcomes = {label: stats.test_outcomes.get(test) for label, stats in shown}
        seen = {outcome for outcome in outcomes.values() if outcome is not None}
        if len(seen) > 1:
            rows.append({"test": test, "outcomes": outcomes})
    return {
        "worktrees": [label for label, _ in shown],
        "differing": len(rows),
        "shown": rows[:MATRIX_ROWS],
    }


def make_document(
    aggregator: ReportAggregator,
    *,
    store: str,
    runs: list[str],
    worktree: str | None,
    stores: Sequence[str] | None = None,
    all_runs: bool = False,
) -> dict[str, Any]:
    """Turn the counters into the report document; ReportError if ``worktree`` matches none."""

    labels = _labels(aggregator.worktrees)
    # By label, with the records that have no worktree last.
    order = sorted(aggregator.worktrees, key=lambda key: (key is None, labels[key]))
    if worktree is not None:
        kept = [
            key for key in order if _matches(worktree, key, labels[key], aggregator.worktrees[key])
        ]
        if not kept:
            # The message goes to a terminal: labels and paths come from records.
            seen = "; ".join(
                printable(labels[key])
                if key is None or labels[key] == key
                else f"{printable(labels[key])} ({printable(key)})"
                for key in order
            )
            raise ReportError(f"no worktree matches {worktree!r}; worktrees seen: {seen or 'none'}")
        order = kept
    shown = [(labels[key], aggregator.worktrees[key]) for key in order]
    merged: dict[str, TimingTotals] = {}
    for _, stats in shown:
        for operation, totals in stats.timings.items():
            merged.setdefault(operation, TimingTotals()).merge(totals)
    return {
        "report": "itest-shared",
        "report_version": 1,
        "store": store,
        "stores": [store] if stores is None else list(stores),
        "all_runs": all_runs,
        "runs": runs,
        "worktree_filter": worktree,
        "records": sum(stats.records for _, stats in shown),
        "warnings": _warnings(shown),
        "worktrees": [_worktree(key, labels[key], aggregator.worktrees[key]) for key in order],
        "timings": _timings(merged),
        "outcome_matrix": _outcome_matrix(shown),
        "problems": {
            "total": aggregator.problem_count,
            "shown": [
                {"path": str(problem.path), "line": problem.line, "reason": problem.reason}
                for problem in aggregator.problems
            ],
        },
    }
