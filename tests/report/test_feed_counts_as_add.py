"""``feed`` counts a store exactly as ``add`` counts its records one by one, in file order.

``feed`` counts in full only the first record of each envelope (run, schema
version, record type, worktree path and branch, package version) and then just
how many more came (``_Bucket``); these tests hold it to ``add``: the same
document to the byte, counters in the same order, the same problems at the same
locations, whatever mix of good, malformed and unreadable lines a store holds.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itest_shared.report import ReportAggregator, _aggregate, render_json, render_markdown
from itest_shared.store import RecordStore
from tests.stores import FEATURE, MAIN, config, error, record, resource, timing

BIGGEST = sys.float_info.max

#: Good records over two worktrees, every type, a newer minor's type, schema 1.0 and 2.0.
GOOD = [
    error("chunker.parser", "cli.main", "ValueError"),
    error("chunker.parser", "cli.main", "KeyError", test="t::two"),
    error("cli.main", "chunker.io", "ValueError", worktree=FEATURE, branch="feature-b"),
    resource("chunker.parallel", "process", "leaked"),
    resource("chunker.parallel", "lock", "released", worktree=FEATURE, branch=None),
    resource("cli.main", "file_handle", "active", test=None),
    config("parser_timeout"),
    config("cache_dir", worktree=None),
    config("cache_dir", version="1.0"),
    timing("parse", 10, 1.0, 0.05, 0.2, 0.18, 0.19),
    timing("parse", 3, 0.6, 0.0, -0.0, 0.3, 0.4, worktree=FEATURE, branch="feature-b"),
    timing("load", 2, 2.0, 1, 1, 1, 1, package="1.3.0"),
    record("coverage", version="1.5", lines=10),
    error("a", "b", "Future", version="2.0"),
]

#: One change each, at a dotted path: what a bad record holds where a good one holds a value.
CHANGES: list[tuple[str, Any]] = [
    ("context.worktree.path", None),  # malformed, yet its key has no path: not "no worktree"
    ("context.worktree.path", 5),
    ("context.worktree.branch", 7),
    ("context.worktree.branch", None),
    ("context.worktree.branch", "other"),  # a worktree that changed branch
    ("context.worktree", None),
    ("context.worktree", "/repos/proj"),
    ("context.test", 5),
    ("context.test", None),
    ("context.test", ["t"]),
    ("context", None),
    ("context", []),
    ("context", "x"),
    ("producer", None),
    ("producer", {}),
    ("producer.package_version", 5),
    ("producer.package_version", ["1.2.0"]),
    ("schema_version", 1.1),
    ("schema_version", "two"),
    ("schema_version", "1.0.0"),
    ("schema_version", ["1.1"]),
    ("record_type", None),
    ("record_type", {"name": "resource"}),
    ("source_module", 5),
    ("error_type", None),
    ("owner_module", True),
    ("state", "gone"),
    ("state", ["leaked"]),
    ("config_path", []),
    ("operation", None),
    ("count", True),
    ("count", 0),
    ("count", 2**64 + 1),
    ("total", 0.9 * BIGGEST),  # summed with the others of its operation: past MAX_TOTAL
    ("total", 10**309),
    ("min", -1.0),
    ("p95", "x"),
    ("p99", 3),
]

#: Lines that are no record: the reader's problems, between the records.
BAD_LINES = ["not json", "[1, 2]", "", '{"n": NaN}', "   "]


def changed(base: dict[str, Any], where: str, value: Any) -> dict[str, Any]:
    """``base`` with ``value`` at the dotted path ``where`` (made where missing)."""
    result = copy.deepcopy(base)
    *parents, name = where.split(".")
    node = result
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[name] = value
    return result


bad_records = st.builds(
    lambda base, change: json.dumps(changed(base, *change)),
    st.sampled_from(GOOD),
    st.sampled_from(CHANGES),
)
lines = st.one_of(st.sampled_from(GOOD).map(json.dumps), bad_records, st.sampled_from(BAD_LINES))
#: Runs of files of lines; records repeat, so most envelopes are seen again.
stores = st.lists(st.lists(st.lists(lines, max_size=25), min_size=1, max_size=2), max_size=3)


def write(directory: Path, runs: list[list[list[str]]], torn: bool) -> None:
    for number, files in enumerate(runs):
        for index, file_lines in enumerate(files):
            path = directory / "records" / f"run-{number}" / f"file-{index}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            text = "".join(line + "\n" for line in file_lines)
            path.write_text(text + ('{"record_type": "resour' if torn else ""))


def one_by_one(directory: Path) -> ReportAggregator:
    """The reference: each record given to ``add`` with its location and run, problems between."""
    aggregator = ReportAggregator()
    report = RecordStore(directory).read()
    for item, location in report:
        drain(aggregator, report.problems)
        aggregator.add(item, location, location.path.parent.name)
    drain(aggregator, report.problems)
    return aggregator


def drain(aggregator: ReportAggregator, problems: list[Any]) -> None:
    for problem in problems:
        aggregator.add_problem(problem)
    problems.clear()


def fed(directory: Path) -> ReportAggregator:
    aggregator = ReportAggregator()
    aggregator.feed(RecordStore(directory).read())
    return aggregator


def counters(aggregator: ReportAggregator) -> Iterator[Any]:
    """Everything counted, in the order of its keys (``most_common`` breaks ties by it)."""
    yield aggregator.records, aggregator.problem_count, aggregator.problems
    yield list(aggregator.timing_totals.items())
    for key, stats in aggregator.worktrees.items():
        yield key, stats.records, stats.malformed, stats.unknown_major, stats.unknown_type
        yield sorted(stats.runs), sorted(stats.tests)
        for counter in (
            stats.branches,
            stats.by_type,
            stats.boundaries,
            stats.error_types,
            stats.leaked,
            stats.config_paths,
            stats.package_versions,
            stats.schema_versions,
            stats.majors,
        ):
            yield list(counter.items())
        yield [(operation, repr(totals)) for operation, totals in stats.timings.items()]


def assert_same(directory: Path) -> None:
    expected, actual = one_by_one(directory), fed(directory)
    expected_document = expected.document(store="s", runs=["r"])
    actual_document = actual.document(store="s", runs=["r"])
    # As text: 0.0 == -0.0, but the report prints them differently.
    assert render_json(actual_document) == render_json(expected_document)
    assert render_markdown(actual_document) == render_markdown(expected_document)
    assert list(counters(actual)) == list(counters(expected))


@pytest.mark.parametrize("buckets", [_aggregate.MAX_BUCKETS, 1, 3])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=stores, torn=st.booleans())
def test_feed_counts_a_store_as_add_does_record_by_record(
    runs: list[list[list[str]]], torn: bool, buckets: int
) -> None:
    """Also with a cache of 1 or 3 envelopes: full, it is folded and starts again."""
    with tempfile.TemporaryDirectory() as name, pytest.MonkeyPatch.context() as patch:
        patch.setattr(_aggregate, "MAX_BUCKETS", buckets)
        write(Path(name), runs, torn)
        assert_same(Path(name))


@pytest.mark.parametrize("where, value", CHANGES)
def test_a_bad_record_after_good_ones_of_its_envelope_is_refused_as_add_refuses_it(
    tmp_path: Path, where: str, value: Any
) -> None:
    """The envelope was counted before, so the record meets the cache, which must not take it."""
    for base in GOOD:
        bad = changed(base, where, value)
        directory = tmp_path / f"{GOOD.index(base)}"
        write(directory, [[[json.dumps(base)] * 3 + [json.dumps(bad), json.dumps(base)]]], False)
        assert_same(directory)


def test_a_null_worktree_path_is_malformed_after_records_without_a_worktree(
    tmp_path: Path,
) -> None:
    no_worktree = config("a", worktree=None)
    null_path = changed(no_worktree, "context.worktree", {"path": None, "branch": None})
    write(tmp_path, [[[json.dumps(no_worktree), json.dumps(null_path)]]], False)
    document = fed(tmp_path).document(store="s", runs=["run-0"])
    assert document["problems"]["total"] == 1
    assert "context.worktree.path: expected a string, got null" in str(document["problems"])
    assert_same(tmp_path)


def test_counts_are_folded_in_before_the_document_and_after_feed(tmp_path: Path) -> None:
    good = [json.dumps(error("a", "b", "E")), json.dumps(config("k", test="t::x"))]
    write(tmp_path, [[good * 50]], False)
    aggregator = fed(tmp_path)
    (stats,) = aggregator.worktrees.values()
    assert aggregator.records == stats.records == 100
    assert stats.by_type == {"error_context": 50, "config_change": 50}
    assert stats.package_versions == {"1.2.0": 100} and stats.branches == {"main": 100}
    assert len(stats.tests) == 2
    # Fed again (a second store): the cache is kept, the counts go on.
    aggregator.feed(RecordStore(tmp_path).read())
    document = aggregator.document(store="s", runs=["run-0"])
    assert document["records"] == 200
    assert document["worktrees"][0]["records_by_type"] == {
        "config_change": 100,
        "error_context": 100,
    }


def test_a_timing_total_past_the_limit_is_refused_after_its_operation_was_cached(
    tmp_path: Path,
) -> None:
    parse = timing("parse", 1, 0.2 * BIGGEST, 0.1, 0.2, 0.1, 0.1)
    write(tmp_path, [[[json.dumps(parse)] * 2], [[json.dumps(parse)]]], False)
    document = fed(tmp_path).document(store="s", runs=["run-0", "run-1"])
    assert [(Path(p["path"]).parent.name, p["line"]) for p in document["problems"]["shown"]] == [
        ("run-1", 1)
    ]
    assert document["timings"][0]["records"] == 2
    assert_same(tmp_path)


def test_main_store_shapes_agree(tmp_path: Path) -> None:
    """A plain store: one worktree of each kind, both runs; the fast path takes most records."""
    lines = [json.dumps(item) for item in GOOD]
    write(tmp_path, [[lines * 4, lines[::-1]], [lines]], True)
    assert_same(tmp_path)
    assert MAIN in fed(tmp_path).worktrees
