"""Records of any wrong shape never crash the report, and its memory stays flat."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itest_shared.report import ReportAggregator, render_json, render_markdown
from tests.stores import FEATURE, config, error, resource, timing

# Values of every JSON type, to put where the report expects a string or a number.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=5,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(
        [
            error("a", "b", "E"),
            resource("a", "b", "leaked"),
            config("a"),
            timing("a", 1, 1.0, 1.0, 1.0, 1.0, 1.0),
        ]
    ),
    changes=st.dictionaries(
        st.sampled_from(
            ["record_type", "schema_version", "producer", "context", "source_module",
             "target_module", "error_type", "owner_module", "resource_type", "state",
             "config_path", "operation", "count", "total", "min", "max", "p95", "p99"]
        ),
        json_values,
        min_size=1,
    ),
)  # fmt: skip
def test_wrong_types_never_crash_the_report(base: dict[str, Any], changes: dict[str, Any]) -> None:
    aggregator = ReportAggregator()
    aggregator.add(base)
    aggregator.add({**base, **changes})
    document = aggregator.document(store="s", runs=["r"])
    assert document["records"] == 2
    assert aggregator.problem_count <= 1
    analysed = sum(sum(w["not_analysed"].values()) for w in document["worktrees"])
    assert analysed == aggregator.problem_count + sum(
        w["not_analysed"]["unknown_major"] + w["not_analysed"]["unknown_type"]
        for w in document["worktrees"]
    )
    render_markdown(document)
    json.loads(render_json(document))  # allow_nan=False: no NaN reached the document


def generated(count: int) -> Iterator[dict[str, Any]]:
    """``count`` records over a fixed set of keys, every key reached in the first few hundred."""
    makers = [
        lambda i: error(f"mod{i % 7}", f"mod{i % 5}", f"Error{i % 11}", test=f"t::{i % 50}"),
        lambda i: resource(f"mod{i % 7}", "process", "leaked" if i % 3 else "released"),
        lambda i: config(f"key{i % 13}", worktree=FEATURE),
        lambda i: timing(f"op{i % 9}", 1 + i % 4, 0.5, 0.1, 0.3, 0.2, 0.25, worktree=FEATURE),
    ]
    for index in range(count):
        yield makers[index % 4](index)


def peak_bytes(count: int) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        aggregator = ReportAggregator()
        for item in generated(count):
            aggregator.add(item)
        assert aggregator.records == count
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_records_grow() -> None:
    small, large = peak_bytes(20_000), peak_bytes(100_000)
    assert large < 1.5 * small, (small, large)


def test_the_report_analyses_every_record_type_this_release_writes() -> None:
    """A record type added to formats without teaching the report its fields fails here."""
    from itest_shared.formats import RECORD_TYPES
    from itest_shared.report._stats import ANALYSED_TYPES

    assert set(RECORD_TYPES) == ANALYSED_TYPES
