"""Hypothesis strategies shared by the tests."""

from __future__ import annotations

import math
import pathlib

from hypothesis import strategies as st

from itest_shared import (
    ConfigChangeEvent,
    EnvironmentRecord,
    ErrorContext,
    FailureSummary,
    Record,
    RecordContext,
    ResourceRecord,
    TestResultRecord,
    TimingStatsRecord,
    WorktreeInfo,
)
from itest_shared.formats import TEST_OUTCOMES, TEST_PHASES, ResourceState

names = st.text(min_size=1, max_size=30)
timestamps = st.floats(min_value=0, max_value=4e9, allow_nan=False)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
#: Values that survive a JSON round trip unchanged.
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


class Opaque:
    """An object JSON knows nothing about."""

    def __repr__(self) -> str:
        return "<Opaque>"


class BrokenRepr:
    """An object whose repr raises."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


#: Anything a test might put in old_value / new_value / metadata.
any_values = st.recursive(
    json_scalars
    | st.floats()
    | st.binary(max_size=8)
    | st.builds(pathlib.PurePosixPath, st.text(max_size=8))
    | st.builds(Opaque)
    | st.builds(BrokenRepr)
    | st.frozensets(st.integers() | st.text(max_size=4), max_size=4),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(
            st.text(max_size=4) | st.integers() | st.none() | st.booleans(), inner, max_size=4
        )
        | st.sets(st.integers(), max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def error_contexts(draw: st.DrawFn) -> ErrorContext:
    """Error contexts built from JSON-travelling values."""
    return ErrorContext(
        source_module=draw(names),
        target_module=draw(names),
        operation=draw(names),
        original_error=draw(st.none() | st.builds(ValueError, st.text(max_size=10))),
        error_type=draw(names),
        error_message=draw(st.text()),
        timestamp=draw(timestamps),
        context_data={
            "traceback": draw(st.lists(st.text(), max_size=3)),
            "call_stack": draw(st.lists(st.text(), max_size=3)),
        },
    )


@st.composite
def config_events(draw: st.DrawFn) -> ConfigChangeEvent:
    """Config change events with JSON-travelling values."""
    return ConfigChangeEvent(
        config_path=draw(names),
        old_value=draw(json_values),
        new_value=draw(json_values),
        affected_modules=draw(st.lists(names, max_size=4)),
        timestamp=draw(timestamps),
    )


@st.composite
def resource_records(draw: st.DrawFn) -> ResourceRecord:
    """Resource records in every state."""
    state: ResourceState = draw(st.sampled_from(["active", "released", "leaked"]))
    created = draw(timestamps)
    return ResourceRecord(
        resource_id=draw(names),
        resource_type=draw(names),
        owner_module=draw(names),
        created_at=created,
        state=state,
        metadata=draw(st.dictionaries(st.text(), json_values, max_size=4)),
        released_at=created + 1.0 if state == "released" else None,
    )


seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@st.composite
def timing_stats_records(draw: st.DrawFn) -> TimingStatsRecord:
    """Timing statistics records; the values need not be consistent with each other."""
    return TimingStatsRecord(
        operation=draw(names),
        count=draw(st.integers(min_value=1, max_value=2**63)),
        total=draw(seconds),
        average=draw(seconds),
        min=draw(seconds),
        max=draw(seconds | st.integers(min_value=0, max_value=10**6)),
        median=draw(seconds),
        p95=draw(seconds),
        p99=draw(seconds),
        stdev=draw(seconds),
        timestamp=draw(timestamps),
    )


#: Worktrees: any path text (a Path normalises it), branch and commit or None.
worktrees = st.builds(
    WorktreeInfo,
    path=st.builds(pathlib.Path, st.text(min_size=1, max_size=20)),
    branch=st.none() | names,
    commit=st.none() | st.text(alphabet="0123456789abcdef", min_size=40, max_size=40),
)
record_contexts = st.builds(
    RecordContext,
    test=st.none() | st.text(max_size=40),
    run_id=st.none() | st.text(max_size=30),
    worktree=st.none() | worktrees,
)

failures = st.builds(
    FailureSummary,
    exception_type=names,
    message=st.text(max_size=60),
    location=st.none() | st.text(max_size=30),
    longrepr=st.none() | st.text(max_size=80),
)


@st.composite
def test_result_records(draw: st.DrawFn) -> TestResultRecord:
    """Test results of every outcome; a failed phase exactly when failed or errored."""
    outcome = draw(st.sampled_from(TEST_OUTCOMES))
    failing = outcome in ("failed", "error")
    return TestResultRecord(
        node_id=draw(names),
        outcome=outcome,
        setup_duration=draw(st.none() | seconds),
        call_duration=draw(st.none() | seconds),
        teardown_duration=draw(st.none() | seconds),
        failed_phase=draw(st.sampled_from(TEST_PHASES)) if failing else None,
        failure=draw(st.none() | failures),
        markers=draw(st.lists(names, max_size=3)),
        worker=draw(st.none() | names),
        rerun=draw(st.integers(min_value=0, max_value=5)),
        timestamp=draw(timestamps),
    )


environment_records = st.builds(
    EnvironmentRecord,
    host=st.text(max_size=20),
    os=st.text(max_size=30),
    cpu_model=st.none() | st.text(max_size=30),
    cpu_count=st.none() | st.integers(min_value=1, max_value=512),
    python_version=st.text(max_size=10),
    python_implementation=st.text(max_size=10),
    python_build=st.text(max_size=40),
    packages=st.dictionaries(names, st.text(max_size=10), max_size=4),
    worktree=st.none() | worktrees,
    dirty=st.none() | st.booleans(),
    tree_hash=st.none() | st.text(alphabet="0123456789abcdef", min_size=40, max_size=40),
    worker=st.none() | names,
    timestamp=timestamps,
)

#: One record of each type, without context (as made outside a recorded test).
records = (
    error_contexts()
    | config_events()
    | resource_records()
    | timing_stats_records()
    | test_result_records()
    | environment_records
)


@st.composite
def _with_optional_context(draw: st.DrawFn) -> Record:
    record: Record = draw(records)
    context = draw(st.none() | record_contexts)
    return record if context is None else record.with_context(context)


#: Records of every type, with or without a context.
records_with_context = _with_optional_context()


def is_finite_json(value: object) -> bool:
    """True if ``value`` holds only JSON types and finite floats."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_finite_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(is_finite_json(v) for v in value)
    return value is None or isinstance(value, (bool, int, str))
