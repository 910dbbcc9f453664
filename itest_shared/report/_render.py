"""The report document as text: indented JSON, or markdown with one column per worktree."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..formats import TEST_OUTCOMES
from ._stats import ranked
from ._text import markdown_code, markdown_text

# --- markdown -----------------------------------------------------------------
#
# Every string from a record (paths, branches, module names, operations, error
# types, versions, reasons) goes through _text or _code before it reaches the
# markdown: anyone can write a record, and the markdown goes to terminals and to
# HTML renderers (see _text.py). Numbers and the report's own markup go as they are.


def _text(value: object) -> str:
    return markdown_text(str(value))


def _code(value: object, *, in_table: bool = True) -> str:
    return markdown_code(str(value), in_table=in_table)


def _table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric: bool) -> list[str]:
    """A table of cells already in markdown (escaped by the caller) or numbers."""
    align = "---:" if numeric else "---"
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" + f"{align}|" * (len(header) - 1),
    ]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return lines


def _seconds(value: float) -> str:
    if value >= 1e6:
        return f"{value:.4g} s"  # not 300 digits for a 1e300 s timing
    if value >= 1 or value == 0:
        return f"{value:.3f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3f} ms"
    return f"{value * 1e6:.1f} µs"


def _side_by_side(
    title: str,
    worktrees: Sequence[Mapping[str, Any]],
    rows_of: Callable[[Mapping[str, Any]], Mapping[str, int]],
    by_name: bool = False,
) -> list[str]:
    """A table with one row per key and one count column per worktree."""
    per_worktree = [rows_of(worktree) for worktree in worktrees]
    totals: Counter[str] = Counter()
    for counts in per_worktree:
        totals.update(counts)
    if not totals:
        return ["_none_"]
    header = [title, *(_text(worktree["label"]) for worktree in worktrees)]
    keys = sorted(totals) if by_name else [key for key, _ in ranked(totals)]
    rows = [[key, *(counts.get(key, 0) for counts in per_worktree)] for key in keys]
    return _table(header, rows, numeric=True)


def _boundaries(worktree: Mapping[str, Any]) -> dict[str, int]:
    by_boundary = worktree["errors"]["by_boundary"]
    return {f"{_text(b['source'])} -> {_text(b['target'])}": b["count"] for b in by_boundary}


def _leaks(worktree: Mapping[str, Any]) -> dict[str, int]:
    by_owner = worktree["leaked_resources"]["by_owner"]
    return {
        f"{_text(leak['owner_module'])} ({_text(leak['resource_type'])})": leak["count"]
        for leak in by_owner
    }


def _configs(worktree: Mapping[str, Any]) -> dict[str, int]:
    return {
        _text(change["config_path"]): change["count"]
        for change in worktree["config_changes"]["by_path"]
    }


def _environments(worktree: Mapping[str, Any]) -> dict[str, int]:
    return {
        f"{_text(e['host'])} · {_text(e['python'])}": e["count"] for e in worktree["environments"]
    }


def _versions(worktree: Mapping[str, Any]) -> dict[str, int]:
    counts = {f"package {_text(v)}": n for v, n in worktree["package_versions"].items()}
    counts.update({f"schema {_text(v)}": n for v, n in worktree["schema_versions"].items()})
    return counts


def _overview(worktrees: Sequence[Mapping[str, Any]]) -> list[str]:
    header = ["", *(_text(worktree["label"]) for worktree in worktrees)]
    types = sorted({t for worktree in worktrees for t in worktree["records_by_type"]})
    rows: list[list[object]] = [
        ["path", *(_code(w["path"]) if w["path"] else "—" for w in worktrees)]
    ]
    rows += [[_text(t), *(w["records_by_type"].get(t, 0) for w in worktrees)] for t in types]
    rows.append(["**records**", *(w["records"] for w in worktrees)])
    for reason in ("malformed", "unknown_major", "unknown_type"):
        if any(w["not_analysed"][reason] for w in worktrees):
            label = f"not analysed: {reason.replace('_', ' ')}"
            rows.append([label, *(w["not_analysed"][reason] for w in worktrees)])
    rows.append(["runs", *(len(w["runs"]) for w in worktrees)])
    rows.append(["tests (distinct)", *(w["tests"] for w in worktrees)])
    # Outcomes of test_result records (schema 1.2), in pytest's order.
    seen = [o for o in TEST_OUTCOMES if any(w["outcomes"].get(o) for w in worktrees)]
    rows += [[f"tests {o}", *(w["outcomes"].get(o, 0) for w in worktrees)] for o in seen]
    return _table(header, rows, numeric=True)


def _top_errors(worktrees: Sequence[Mapping[str, Any]]) -> list[str]:
    tops = [worktree["errors"]["top_error_types"] for worktree in worktrees]
    depth = max((len(top) for top in tops), default=0)
    if depth == 0:
        return ["_none_"]
    rows = [
        [
            rank + 1,
            *(
                f"{_code(top[rank]['error_type'])} ({top[rank]['count']})"
                if rank < len(top)
                else ""
                for top in tops
            ),
        ]
        for rank in range(depth)
    ]
    header = ["#", *(_text(worktree["label"]) for worktree in worktrees)]
    return _table(header, rows, numeric=False)


def _timing_rows(document: Mapping[str, Any]) -> list[str]:
    if not document["timings"]:
        return ["_none_"]
    header = [
        "operation",
        "worktree",
        "records",
        "count",
        "mean",
        "min",
        "max",
        "worst p95",
        "worst p99",
    ]
    rows = []
    for merged in document["timings"]:
        operation = merged["operation"]
        entries = [
            (_text(worktree["label"]), timing)
            for worktree in document["worktrees"]
            for timing in worktree["timings"]
            if timing["operation"] == operation
        ]
        if len(entries) > 1:
            entries.append(("**all worktrees**", merged))
        for label, t in entries:
            rows.append(
                [
                    _code(operation),
                    label,
                    t["records"],
                    t["count"],
                    _seconds(t["mean"]),
                    _seconds(t["min"]),
                    _seconds(t["max"]),
                    _seconds(t["worst_p95"]),
                    _seconds(t["worst_p99"]),
                ]
            )
    return _table(header, rows, numeric=False)


def render_json(document: Mapping[str, Any]) -> str:
    """Return the report document as indented JSON text, ending in a newline."""
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def render_markdown(document: Mapping[str, Any]) -> str:
    """Return the report document as markdown, one column per worktree in every table.

    Every string from a record is inert in it: on a terminal, and when the
    markdown is rendered to HTML (no tag, entity, link or emphasis can form).
    """
    worktrees = document["worktrees"]
    runs = document["runs"]
    out = ["# itest-shared report", ""]
    out.append(
        f"Store: {_code(document['store'], in_table=False)}"
        f" · runs: {_text(', '.join(runs)) if runs else 'none'}"
        f" · records: {document['records']:,} · worktrees: {len(worktrees)}"
    )
    out.append("")
    for warning in document["warnings"]:
        out += [f"> **WARNING:** {_text(warning)}", ""]
    if document["records"] == 0:
        out += [f"no records in {_text(document['store'])}", ""]
    else:
        out += ["## Records by type", "", *_overview(worktrees), ""]
        out += ["## Errors by module boundary", ""]
        out += [*_side_by_side("source -> target", worktrees, _boundaries), ""]
        out += ["### Top error types (top 5 per worktree)", "", *_top_errors(worktrees), ""]
        out += ["## Leaked resources", ""]
        out += [*_side_by_side("owner module (resource type)", worktrees, _leaks), ""]
        out += ["## Config changes", ""]
        out += [*_side_by_side("config path", worktrees, _configs), ""]
        out += ["## Timing per operation", ""]
        out += [
            "Merged timing_stats records: count and total are sums, mean = total / count,"
            " min and max the extremes. Percentiles cannot be merged exactly: worst p95 and"
            " worst p99 are the highest of any one record.",
            "",
            *_timing_rows(document),
            "",
        ]
        matrix = document["outcome_matrix"]
        if matrix["differing"]:
            out += ["## Tests whose outcome differs between worktrees", ""]
            header = ["test", *(_text(label) for label in matrix["worktrees"])]
            rows = [
                [_code(row["test"]), *(_text(o or "—") for o in row["outcomes"].values())]
                for row in matrix["shown"]
            ]
            out += _table(header, rows, numeric=False)
            if matrix["differing"] > len(matrix["shown"]):
                out.append(f"(the first {len(matrix['shown'])} of {matrix['differing']} shown)")
            out.append("")
        if any(w["environments"] for w in worktrees):
            out += ["## Environments", ""]
            out += [*_side_by_side("host · Python", worktrees, _environments), ""]
        out += [
            "## Versions seen",
            "",
            *_side_by_side("version", worktrees, _versions, by_name=True),
            "",
        ]
    problems = document["problems"]
    if problems["total"]:
        shown = problems["shown"]
        more = f", the first {len(shown)} shown" if len(shown) < problems["total"] else ""
        out += ["## Problems", ""]
        out.append(f"skipped or not analysed {problems['total']:,} lines{more}:")
        out.append("")
        for problem in shown:
            where = f"{problem['path']}:{problem['line']}" if problem["line"] else problem["path"]
            out.append(f"- {_code(where, in_table=False)}: {_text(problem['reason'])}")
        out.append("")
    return "\n".join(out)


# --- the comparison (itest-shared compare) --------------------------------------


def _ratio(row: Mapping[str, Any]) -> str:
    low, high = row["ratio_low"], row["ratio_high"]
    interval = "unbounded" if low is None or high is None else f"{low:.2f}-{high:.2f}"
    return f"{row['ratio']:.2f}x ({interval})"


def _runs(side: Mapping[str, Any]) -> str:
    worktrees = ", ".join(_text(w["branch"] or w["path"]) for w in side["worktrees"]) or "—"
    return f"{_code(side['spec'], in_table=False)}: {len(side['runs'])} run(s) of {worktrees}"


def render_comparison_markdown(document: Mapping[str, Any]) -> str:
    """Return a comparison document as markdown: the verdict first, then each kind of change.

    Every string from a record is inert in it, as in :func:`render_markdown`.

    .. versionadded:: 2.2
    """
    regressions = document["regressions"]
    out = ["# itest-shared compare", ""]
    if document["verdict"] == "regressed":
        counts = ", ".join(f"{k.replace('_', ' ')}: {n}" for k, n in regressions.items() if n)
        out.append(f"**Verdict: regressed** ({counts}).")
    else:
        out.append("**Verdict: no regression.**")
    out += [
        "",
        f"- baseline {_runs(document['baseline'])}",
        f"- candidate {_runs(document['candidate'])}",
        f"- alpha {document['alpha']} after Holm's correction; changes under"
        f" {document['min_effect']:.2f}x are not called changes",
        "",
    ]
    outcomes = document["outcomes"]
    sections = (
        ("Newly failing", outcomes["newly_failing"]),
        ("Newly passing", outcomes["newly_passing"]),
    )
    for title, items in sections:
        out += [f"## {title}", ""]
        rows = [
            [_code(i["test"]), _text(", ".join(i["baseline"])), _text(", ".join(i["candidate"]))]
            for i in items
        ]
        out += [*(_table(["test", "baseline", "candidate"], rows, False) if rows else ["_none_"])]
        out.append("")
    out += ["## Flaky (outcome changed on the same files)", ""]
    rows = [
        [
            _code(item["test"]),
            item["flips"],
            "yes" if item["new"] else "no",
            _text(", ".join(item["candidate_outcomes"])),
        ]
        for item in outcomes["flaky"]
    ]
    header = ["test", "flips", "new on the candidate", "candidate outcomes"]
    out += [*(_table(header, rows, False) if rows else ["_none_"]), ""]
    for title, key in (("New tests", "new_tests"), ("Removed tests", "removed_tests")):
        found = outcomes[key]
        out.append(f"{title} ({len(found)})" + (":" if found else "."))
        out += [f"- {_code(test, in_table=False)}" for test in found[:20]]
        if len(found) > 20:
            out.append(f"- and {len(found) - 20} more")
        out.append("")
    out += ["## Timings", ""]
    environment = document["environment"]
    if environment["mismatch"]:
        base = document["baseline"]["environments"]
        cand = document["candidate"]["environments"]
        described = [
            f"{side}: " + "; ".join(f"{_text(e['host'])} {_text(e['python'])}" for e in envs)
            for side, envs in (("baseline", base), ("candidate", cand))
        ]
        allowed = environment["allowed"]
        out += [
            "> **WARNING:** the two sides ran on different machines or Pythons ("
            + "; ".join(described)
            + (
                "); timings compared anyway (--allow-env-mismatch)."
                if allowed
                else "); no timing is called a regression (--allow-env-mismatch to do so)."
            ),
            "",
        ]
    elif not environment["known"]:
        out += ["> Environment records are missing on one side: machines not compared.", ""]
    rows = [
        [
            _text(row["kind"]),
            _code(row["name"]),
            _text(row["verdict"]),
            _ratio(row),
            f"{row['p_adjusted']:.3g}",
            f"{row['n_baseline']} / {row['n_candidate']}",
            _seconds(row["median_baseline"]),
            _seconds(row["median_candidate"]),
        ]
        for row in document["timings"]
    ]
    header = ["", "name", "verdict", "ratio (CI)", "p (Holm)", "samples", "median before", "after"]
    out += [*(_table(header, rows, False) if rows else ["_nothing timed on both sides_"]), ""]
    errors = document["errors"]
    out += ["## Errors new on the candidate", ""]
    rows = [
        [f"{_text(e['source'])} -> {_text(e['target'])}", e["count"]]
        for e in errors["new_boundaries"]
    ]
    out += [*(_table(["module boundary", "count"], rows, True) if rows else ["_none_"]), ""]
    rows = [[_text(e["error_type"]), e["count"]] for e in errors["new_error_types"]]
    out += [*(_table(["error type", "count"], rows, True) if rows else ["_none_"]), ""]
    for title, key in (("Leaks new on the candidate", "new"), ("Leaks gone", "gone")):
        rows = [
            [f"{_text(leak['owner_module'])} ({_text(leak['resource_type'])})", leak["count"]]
            for leak in document["leaks"][key]
        ]
        out += [f"## {title}", ""]
        out += [*(_table(["owner module (type)", "count"], rows, True) if rows else ["_none_"])]
        out.append("")
    return "\n".join(out)
