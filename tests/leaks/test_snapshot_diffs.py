"""Diffs of made-up leak snapshots (identity rules, describe) and refused bad arguments."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared.leaks import (
    FdInfo,
    LeakAudit,
    LeakReport,
    LeakSnapshot,
    ProcessInfo,
    ThreadInfo,
)

# -- diffs of made-up snapshots: identity rules -------------------------------------------


def snapshot(
    threads: tuple[ThreadInfo, ...] = (),
    processes: tuple[ProcessInfo, ...] = (),
    fds: tuple[FdInfo, ...] = (),
    unnamed_fds: int = 0,
) -> LeakSnapshot:
    return LeakSnapshot(threads=threads, processes=processes, fds=fds, unnamed_fds=unnamed_fds)


def test_reused_pids_and_thread_idents_are_new() -> None:
    old = ProcessInfo(pid=42, name="a", cmdline=("a",), status="sleeping", create_time=1.0)
    new = ProcessInfo(pid=42, name="b", cmdline=("b",), status="sleeping", create_time=2.0)
    assert snapshot(processes=(old,)).diff(snapshot(processes=(old,))).is_clean
    assert snapshot(processes=(old,)).diff(snapshot(processes=(new,))).processes == (new,)
    thread = ThreadInfo(name="t", ident=7, native_id=100, daemon=False)
    reused = ThreadInfo(name="t", ident=7, native_id=101, daemon=False)
    renamed = ThreadInfo(name="renamed", ident=7, native_id=100, daemon=False)
    assert snapshot(threads=(thread,)).diff(snapshot(threads=(renamed,))).is_clean
    assert snapshot(threads=(thread,)).diff(snapshot(threads=(reused,))).threads == (reused,)


def test_unnumbered_fds_count_each_opening() -> None:
    # Windows: no fd numbers, so one path open twice is two entries.
    one = FdInfo(fd=-1, target="C:\\log.txt")
    report = snapshot(fds=(one,)).diff(snapshot(fds=(one, one), unnamed_fds=3))
    assert report.fds == (one,) and report.unnamed_fds == 3
    assert "open file C:\\log.txt" in report.describe()
    assert snapshot(unnamed_fds=5).diff(snapshot(unnamed_fds=2)).is_clean


def test_describe_lists_every_kind() -> None:
    report = LeakReport(
        threads=(ThreadInfo(name="poller", ident=1, native_id=2, daemon=True),),
        processes=(
            ProcessInfo(
                pid=9, name="sh", cmdline=("sh", "-c", "a b"), status="zombie", create_time=0.0
            ),
        ),
        fds=(FdInfo(fd=5, target="pipe:[77]"),),
    )
    assert report.describe().splitlines() == [
        "leak audit: left behind (not there before): 1 thread, 1 child process, 1 file descriptor",
        "  thread 'poller' (ident 1, native id 2, daemon)",
        "  child process 9 'sh' [zombie]: sh -c 'a b'",
        "  fd 5 -> pipe:[77]",
    ]


# -- bad input -----------------------------------------------------------------------------

bad_types = st.one_of(st.none(), st.booleans(), st.text(), st.lists(st.integers()))
bad_values = st.one_of(
    st.floats(max_value=-1e-9),
    st.integers(max_value=-1),
    st.just(float("nan")),
    st.just(float("inf")),
)


@pytest.mark.parametrize(
    "use",
    [LeakAudit, lambda grace: LeakSnapshot(threads=(), processes=(), fds=()).audit(grace)],
    ids=["LeakAudit", "LeakSnapshot.audit"],
)
@given(grace=st.one_of(bad_types, bad_values))
def test_a_bad_grace_is_refused_by_name(use: Callable[[object], object], grace: object) -> None:
    expected = TypeError if isinstance(grace, (bool, str, list)) or grace is None else ValueError
    with pytest.raises(expected, match="grace_period must be"):
        use(grace)


@given(later=st.one_of(bad_types, st.integers()))
def test_diff_refuses_what_is_not_a_snapshot(later: object) -> None:
    with pytest.raises(TypeError, match="later must be a LeakSnapshot"):
        snapshot().diff(later)  # type: ignore[arg-type]
