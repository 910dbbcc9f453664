"""Compare two sides of one or more stores: what the candidate broke, fixed or slowed down.

A side is a worktree (its path, branch or label) or a run id; ``last`` keeps its
newest runs. Records are folded per run into small summaries (outcomes and call
durations per test, timing medians per operation, error boundaries, leaks,
environments), never kept; the runs of each side are then compared.

.. versionadded:: 2.2
"""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from statistics import median
from typing import Any, Final

import attrs

from .._inert import printable
from ..stats import compare_many
from ..store import RecordStore
from ._stats import ReportError

#: Outcomes that fail a test run, and those that pass it; skips count as neither.
FAILING: Final = frozenset({"failed", "error"})
PASSING: Final = frozenset({"passed", "xpassed", "xfailed"})
#: Test call durations shorter than this (seconds, median of either side) are not
#: compared: below it, a test's time is the machine's noise, not the test's.
MIN_TEST_SECONDS: Final = 0.005


@attrs.define(eq=False)
class RunSummary:
    """What one run holds, folded: enough to compare it, bounded by distinct keys."""

    run: str
    worktrees: Counter[tuple[str, str | None]] = attrs.Factory(Counter)
    tree_hashes: set[str] = attrs.Factory(set)
    environments: set[tuple[str, str, str | None]] = attrs.Factory(set)
    #: node id -> (rerun attempt, outcome, call seconds or None) of its last attempt.
    results: dict[str, tuple[int, str, float | None]] = attrs.Factory(dict)
    #: operation -> the median of each timing_stats record.
    timings: dict[str, list[float]] = attrs.Factory(dict)
    boundaries: Counter[tuple[str, str]] = attrs.Factory(Counter)
    error_types: Counter[str] = attrs.Factory(Counter)
    leaks: Counter[tuple[str, str]] = attrs.Factory(Counter)

    @property
    def worktree(self) -> tuple[str, str | None] | None:
        """The (path, branch) most of its records name; None without any."""
        return self.worktrees.most_common(1)[0][0] if self.worktrees else None

    def tree(self) -> str:
        """The files the run ran, as a key: its tree hash, or the run itself when unknown."""
        return min(self.tree_hashes) if len(self.tree_hashes) == 1 else f"run:{self.run}"


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _seconds(value: object) -> float | None:
    """A finite number of seconds >= 0 as a float; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if 0 <= seconds < math.inf else None


def _fold(summary: RunSummary, record: dict[str, Any]) -> None:
    """Count one record into its run's summary; fields of the wrong type are passed over."""
    context = record.get("context")
    if isinstance(context, dict):
        worktree = context.get("worktree")
        if isinstance(worktree, dict) and isinstance(worktree.get("path"), str):
            summary.worktrees[worktree["path"], _str(worktree.get("branch"))] += 1
    kind = record.get("record_type")
    get = record.get
    if kind == "test_result":
        node, outcome, rerun = get("node_id"), get("outcome"), get("rerun")
        if not (isinstance(node, str) and isinstance(outcome, str)):
            return
        attempt = rerun if isinstance(rerun, int) and not isinstance(rerun, bool) else 0
        duration = get("call_duration")
        seconds = _seconds(duration)
        known = summary.results.get(node)
        if known is None or attempt >= known[0]:
            summary.results[node] = (attempt, outcome, seconds)
    elif kind == "timing_stats":
        operation, middle = get("operation"), _seconds(get("median"))
        if isinstance(operation, str) and middle is not None and middle > 0:
            summary.timings.setdefault(operation, []).append(middle)
    elif kind == "error_context":
        source, target, error_type = get("source_module"), get("target_module"), get("error_type")
        if isinstance(source, str) and isinstance(target, str):
            summary.boundaries[source, target] += 1
        if isinstance(error_type, str):
            summary.error_types[error_type] += 1
    elif kind == "resource":
        owner, resource_type = get("owner_module"), get("resource_type")
        if get("state") == "leaked" and isinstance(owner, str) and isinstance(resource_type, str):
            summary.leaks[owner, resource_type] += 1
    elif kind == "environment":
        tree, host = get("tree_hash"), get("host")
        if isinstance(tree, str):
            summary.tree_hashes.add(tree)
        implementation, version = get("python_implementation"), get("python_version")
        if isinstance(host, str) and isinstance(implementation, str) and isinstance(version, str):
            summary.environments.add((host, f"{implementation} {version}", _str(get("cpu_model"))))


def read_runs(stores: Sequence[str | os.PathLike[str]]) -> dict[str, RunSummary]:
    """Fold every record of ``stores`` into one summary per run id (the stores as one)."""
    runs: dict[str, RunSummary] = {}
    for directory in stores:
        store = RecordStore(directory)
        if not store.directory.is_dir():
            raise ReportError(f"no record store at {store.directory}")
        for path, records in store.read().by_file():
            run = path.parent.name
            summary = runs.get(run)
            if summary is None:
                summary = runs[run] = RunSummary(run)
            for _, record in records:
                _fold(summary, record)
    return runs


def _label(path: str, branch: str | None) -> str:
    return branch if branch else os.path.basename(path.rstrip("/")) or path


def select(runs: dict[str, RunSummary], spec: str, last: int | None, side: str) -> list[RunSummary]:
    """The runs ``spec`` names (a run id, or a worktree's path, branch or label), oldest first."""
    if spec in runs:
        chosen = [runs[spec]]
    else:
        absolute = os.path.abspath(spec)
        chosen = []
        for run in sorted(runs):
            worktree = runs[run].worktree
            if worktree is None:
                continue
            path, branch = worktree
            if spec in (path, branch, _label(path, branch)) or absolute == path:
                chosen.append(runs[run])
    if not chosen:
        # For a terminal: the labels come from records (run ids are checked names).
        known = sorted({printable(_label(*w)) for r in runs.values() if (w := r.worktree)})
        raise ReportError(
            f"{side} {spec!r} names no run and no worktree of the stores;"
            f" worktrees: {', '.join(known) or 'none'}; runs: {', '.join(sorted(runs)) or 'none'}"
        )
    return chosen[-last:] if last is not None else chosen


def _outcome_classes(runs: Iterable[RunSummary], node: str) -> list[tuple[str, str]]:
    """(tree, outcome) of ``node`` in each run that ran it, in run order."""
    return [(run.tree(), run.results[node][1]) for run in runs if node in run.results]


def _flips(outcomes: Sequence[str]) -> int:
    classes = ["fail" if o in FAILING else "pass" for o in outcomes if o in FAILING | PASSING]
    return sum(1 for a, b in itertools.pairwise(classes) if a != b)


def _flaky(runs: Sequence[RunSummary], node: str) -> tuple[int, list[str]]:
    """How often ``node`` flipped between pass and fail on one tree, and its outcomes."""
    by_tree: dict[str, list[str]] = {}
    for tree, outcome in _outcome_classes(runs, node):
        by_tree.setdefault(tree, []).append(outcome)
    flips = sum(_flips(outcomes) for outcomes in by_tree.values())
    return flips, [outcome for _, outcome in _outcome_classes(runs, node)]


def _side_outcomes(runs: Sequence[RunSummary]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for run in runs:
        for node, (_, outcome, _) in run.results.items():
            found.setdefault(node, []).append(outcome)
    return found


def _outcomes(base: Sequence[RunSummary], cand: Sequence[RunSummary]) -> dict[str, Any]:
    before, after = _side_outcomes(base), _side_outcomes(cand)
    flaky: list[dict[str, Any]] = []
    flaky_nodes = set()
    for node in sorted(set(before) | set(after)):
        flips_base = _flaky(base, node)[0]
        flips_cand, outcomes = _flaky(cand, node)
        flips_all = _flaky([*base, *cand], node)[0]
        if flips_base or flips_cand or flips_all > flips_base + flips_cand:
            flaky_nodes.add(node)
            flaky.append(
                {
                    "test": node,
                    "flips": max(flips_all, flips_base + flips_cand),
                    "baseline_flips": flips_base,
                    "candidate_flips": flips_cand,
                    "new": flips_cand > 0 and flips_base == 0,
                    "candidate_outcomes": outcomes,
                }
            )
    flaky.sort(key=lambda item: (-item["flips"], item["test"]))

    def change(node: str) -> dict[str, Any]:
        return {"test": node, "baseline": before[node], "candidate": after[node]}

    both = sorted((set(before) & set(after)) - flaky_nodes)
    return {
        "newly_failing": [
            change(n)
            for n in both
            if all(o in FAILING for o in after[n]) and not any(o in FAILING for o in before[n])
        ],
        "newly_passing": [
            change(n)
            for n in both
            if all(o in FAILING for o in before[n]) and not any(o in FAILING for o in after[n])
        ],
        "new_tests": sorted(set(after) - set(before)),
        "removed_tests": sorted(set(before) - set(after)),
        "flaky": flaky,
    }


def _samples(runs: Sequence[RunSummary]) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    operations: dict[str, list[float]] = {}
    tests: dict[str, list[float]] = {}
    for run in runs:
        for operation, values in run.timings.items():
            operations.setdefault(operation, []).extend(values)
        for node, (_, outcome, seconds) in run.results.items():
            if seconds is not None and seconds > 0 and outcome in PASSING:
                tests.setdefault(node, []).append(seconds)
    return operations, tests


def _timings(
    base: Sequence[RunSummary], cand: Sequence[RunSummary], alpha: float, min_effect: float
) -> list[dict[str, Any]]:
    base_ops, base_tests = _samples(base)
    cand_ops, cand_tests = _samples(cand)
    pairs: dict[str, tuple[list[float], list[float]]] = {}
    kinds: dict[str, tuple[str, str]] = {}
    for operation in sorted(set(base_ops) & set(cand_ops)):
        key = f"operation {operation}"
        pairs[key] = (base_ops[operation], cand_ops[operation])
        kinds[key] = ("operation", operation)
    for node in sorted(set(base_tests) & set(cand_tests)):
        before, after = base_tests[node], cand_tests[node]
        if max(median(before), median(after)) < MIN_TEST_SECONDS:
            continue
        key = f"test {node}"
        pairs[key] = (before, after)
        kinds[key] = ("test", node)
    verdicts = compare_many(pairs, alpha=alpha, min_effect=min_effect) if pairs else {}
    rows: list[dict[str, Any]] = []
    for key, result in verdicts.items():
        kind, name = kinds[key]
        rows.append(
            {
                "kind": kind,
                "name": name,
                "verdict": result.verdict,
                "ratio": result.ratio,
                # JSON has no infinity: an interval too wide to bound ends in null.
                "ratio_low": result.ratio_low if result.ratio_low > 0 else None,
                "ratio_high": result.ratio_high if math.isfinite(result.ratio_high) else None,
                "p_value": result.p_value,
                "p_adjusted": result.p_adjusted,
                "n_baseline": result.n_baseline,
                "n_candidate": result.n_candidate,
                "median_baseline": median(pairs[key][0]),
                "median_candidate": median(pairs[key][1]),
            }
        )
    order = {"slower": 0, "faster": 1, "not enough data": 2, "unchanged": 3}
    rows.sort(key=lambda row: (order[row["verdict"]], -abs(row["ratio"] - 1), row["name"]))
    return rows


def _environments(runs: Sequence[RunSummary]) -> list[dict[str, Any]]:
    found = sorted({env for run in runs for env in run.environments}, key=repr)
    return [{"host": h, "python": p, "cpu_model": c} for h, p, c in found]


def _side(
    spec: str, runs: Sequence[RunSummary], environments: list[dict[str, Any]]
) -> dict[str, Any]:
    worktrees = sorted({w for run in runs if (w := run.worktree)}, key=repr)
    return {
        "spec": spec,
        "runs": [run.run for run in runs],
        "worktrees": [{"path": p, "branch": b} for p, b in worktrees],
        "environments": environments,
    }


def _counted(runs: Sequence[RunSummary], field: str) -> Counter[Any]:
    total: Counter[Any] = Counter()
    for run in runs:
        total.update(getattr(run, field))
    return total


def build_comparison(
    stores: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    baseline: str,
    candidate: str,
    *,
    last: int | None = None,
    alpha: float = 0.05,
    min_effect: float = 1.10,
    allow_env_mismatch: bool = False,
) -> dict[str, Any]:
    """Compare ``candidate`` with ``baseline`` across ``stores``; return the JSON-safe document.

    ``verdict`` is "regressed" when a test newly fails or became flaky, an
    operation or test got slower (not called when the sides ran on different
    environments, unless ``allow_env_mismatch``), or a leak appears on the
    candidate's side only; else "no regression".

    .. versionadded:: 2.2
    """
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 1):
        raise ReportError(f"last must be an int >= 1 (runs per side), got {last!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number between 0 and 1, got {alpha!r}")
    if (
        isinstance(min_effect, bool)
        or not isinstance(min_effect, (int, float))
        or not 1 <= min_effect < math.inf
    ):
        raise ValueError(f"min_effect must be a finite number >= 1.0, got {min_effect!r}")
    named = [stores] if isinstance(stores, (str, os.PathLike)) else list(stores)
    runs = read_runs(named)
    base = select(runs, baseline, last, "baseline")
    cand = select(runs, candidate, last, "candidate")
    shared = {r.run for r in base} & {r.run for r in cand}
    if shared:
        raise ReportError(
            f"baseline {baseline!r} and candidate {candidate!r} share runs: "
            f"{', '.join(sorted(shared))}; name two worktrees or two runs"
        )
    outcomes = _outcomes(base, cand)
    base_envs, cand_envs = _environments(base), _environments(cand)
    mismatch = bool(base_envs and cand_envs and base_envs != cand_envs)
    timings = _timings(base, cand, alpha, min_effect)
    gate_timings = not mismatch or allow_env_mismatch
    base_leaks, cand_leaks = _counted(base, "leaks"), _counted(cand, "leaks")
    base_edges, cand_edges = _counted(base, "boundaries"), _counted(cand, "boundaries")
    base_types, cand_types = _counted(base, "error_types"), _counted(cand, "error_types")
    new_leaks = [
        {"owner_module": owner, "resource_type": kind, "count": count}
        for (owner, kind), count in sorted(cand_leaks.items())
        if (owner, kind) not in base_leaks
    ]
    regressions = {
        "newly_failing": len(outcomes["newly_failing"]),
        "newly_flaky": sum(1 for item in outcomes["flaky"] if item["new"]),
        "slower": sum(1 for row in timings if row["verdict"] == "slower") if gate_timings else 0,
        "new_leaks": len(new_leaks),
    }
    return {
        "compare_version": 1,
        "stores": [str(Path(store)) for store in named],
        "baseline": _side(baseline, base, base_envs),
        "candidate": _side(candidate, cand, cand_envs),
        "alpha": alpha,
        "min_effect": min_effect,
        "verdict": "regressed" if any(regressions.values()) else "no regression",
        "regressions": regressions,
        "environment": {
            "mismatch": mismatch,
            "known": bool(base_envs and cand_envs),
            "allowed": allow_env_mismatch,
        },
        "outcomes": outcomes,
        "timings": timings,
        "errors": {
            "new_boundaries": [
                {"source": s, "target": t, "count": n}
                for (s, t), n in sorted(cand_edges.items())
                if (s, t) not in base_edges
            ],
            "new_error_types": [
                {"error_type": e, "count": n}
                for e, n in sorted(cand_types.items())
                if e not in base_types
            ],
        },
        "leaks": {
            "new": new_leaks,
            "gone": [
                {"owner_module": owner, "resource_type": kind, "count": count}
                for (owner, kind), count in sorted(base_leaks.items())
                if (owner, kind) not in cand_leaks
            ],
        },
    }
