"""ResourceMonitor: assert_no_leaks, close() at teardown, and their messages."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared import ResourceRecord, ResourceStateError, ResourceTracker
from itest_shared.monitor import ResourceMonitor
from tests.helpers import run_together


@pytest.fixture
def monitor() -> ResourceMonitor:
    return ResourceMonitor()


def test_is_a_tracker_with_the_trackers_own_track_and_release() -> None:
    # Not overridden: the tracker's lock-free hot path is kept as it is.
    assert issubclass(ResourceMonitor, ResourceTracker)
    assert ResourceMonitor.track_resource is ResourceTracker.track_resource
    assert ResourceMonitor.release_resource is ResourceTracker.release_resource


def test_spec_example(monitor: ResourceMonitor) -> None:
    monitor.track_resource(
        module="chunker.parallel", resource_type="process", resource_id="worker_12345"
    )
    monitor.release_resource("worker_12345")
    monitor.assert_no_leaks("chunker.parallel")
    monitor.assert_no_leaks()


def test_assert_no_leaks_lists_each_id_type_and_owner_with_a_count(
    monitor: ResourceMonitor,
) -> None:
    monitor.track_resource("chunker.parallel", "process", "worker_1")
    monitor.track_resource("chunker.cache", "file_handle", "cache.db")
    monitor.track_resource("chunker.parallel", "lock", "done")
    monitor.release_resource("done")
    with pytest.raises(AssertionError) as caught:
        monitor.assert_no_leaks()
    assert str(caught.value).splitlines() == [
        "Found leaked resources: 2 resources not released:",
        "  worker_1 (process) owned by chunker.parallel",
        "  cache.db (file_handle) owned by chunker.cache",
    ]
    # Asserting changes nothing: they are still active, not leaked.
    assert [r.resource_id for r in monitor.verify_cleanup()] == ["worker_1", "cache.db"]


def test_assert_no_leaks_filters_by_module(monitor: ResourceMonitor) -> None:
    monitor.track_resource("a", "process", "p1")
    monitor.track_resource("b", "file_handle", "f1")
    monitor.release_resource("p1")
    monitor.assert_no_leaks("a")
    monitor.assert_no_leaks("nobody")
    with pytest.raises(AssertionError) as caught:
        monitor.assert_no_leaks("b")
    assert str(caught.value).splitlines() == [
        "Module b leaked resources: 1 resource not released:",
        "  f1 (file_handle) owned by b",
    ]


class Module(str):
    """A str subclass, like a StrEnum member."""


def test_a_str_subclass_module_filters_like_the_string(monitor: ResourceMonitor) -> None:
    monitor.track_resource("b", "lock", "l")
    with pytest.raises(AssertionError, match=r"^Module b leaked resources: "):
        monitor.assert_no_leaks(Module("b"))


@given(module=st.one_of(st.integers(), st.binary(), st.lists(st.text()), st.booleans()))
def test_a_module_that_is_not_a_string_is_refused_by_name(module: object) -> None:
    monitor = ResourceMonitor()
    monitor.track_resource("m", "lock", "l")
    with pytest.raises(TypeError, match=r"module must be a module name \(str\) or None"):
        monitor.assert_no_leaks(module)  # type: ignore[arg-type]
    state = monitor.get_resource_state("l")
    assert state is not None and state.state == "active"


def test_close_marks_what_is_left_leaked_and_returns_it(monitor: ResourceMonitor) -> None:
    monitor.track_resource("a", "process", "p")
    monitor.track_resource("b", "file_handle", "f")
    monitor.release_resource("p")
    leaked = monitor.close()
    assert [(r.resource_id, r.state) for r in leaked] == [("f", "leaked")]
    assert leaked == monitor.get_all_resources(state="leaked")
    released = monitor.get_resource_state("p")
    assert released is not None and released.state == "released"
    # Nothing is active any more, so the assertion passes; the leak is on record.
    monitor.assert_no_leaks()
    with pytest.raises(ResourceStateError, match="it is leaked"):
        monitor.release_resource("f")


def test_close_is_idempotent(monitor: ResourceMonitor) -> None:
    monitor.track_resource("a", "lock", "l")
    first = monitor.close()
    assert monitor.close() == first
    assert monitor.close() == first
    # A resource tracked after close() is marked by the next call, and added.
    monitor.track_resource("a", "lock", "late")
    assert [r.resource_id for r in monitor.close()] == ["l", "late"]
    assert [r.resource_id for r in monitor.close()] == ["l", "late"]


def test_close_with_nothing_left(monitor: ResourceMonitor) -> None:
    monitor.track_resource("a", "lock", "l")
    monitor.release_resource("l")
    assert monitor.close() == []
    assert monitor.describe_leaks([]) == "no leaked resources"


def test_describe_leaks_is_the_teardown_failure_message(monitor: ResourceMonitor) -> None:
    monitor.track_resource("chunker.cache", "file_handle", "cache.db")
    monitor.track_resource("x", "odd", "line\nbreak")
    monitor.track_resource("x", "odd", "")
    assert monitor.describe_leaks(monitor.close()).splitlines() == [
        "3 resources leaked (still active at the end, never released):",
        "  cache.db (file_handle) owned by chunker.cache",
        "  'line\\nbreak' (odd) owned by x",
        "  '' (odd) owned by x",
    ]
    assert ResourceMonitor.describe_leaks(iter(monitor.close()[:1])).startswith("1 resource ")


@pytest.mark.parametrize("records", [None, 3, "cache.db", b"x", [1], [{"resource_id": "x"}]])
def test_describe_leaks_refuses_what_is_not_records(records: object) -> None:
    with pytest.raises(TypeError, match="records must"):
        ResourceMonitor.describe_leaks(records)  # type: ignore[arg-type]


def test_as_a_context_manager_leaving_resources_active_fails() -> None:
    expected = r"(?s)1 resource leaked.*f \(file\) owned by m"
    with pytest.raises(AssertionError, match=expected), ResourceMonitor() as monitor:
        monitor.track_resource("m", "file", "f")
    state = monitor.get_resource_state("f")
    assert state is not None and state.state == "leaked"
    with ResourceMonitor() as clean:
        clean.track_resource("m", "file", "f")
        clean.release_resource("f")


def test_as_a_context_manager_an_error_in_the_block_is_not_hidden() -> None:
    with pytest.raises(KeyError, match="boom"), ResourceMonitor() as monitor:
        monitor.track_resource("m", "file", "f")
        raise KeyError("boom")
    assert [r.resource_id for r in monitor.get_all_resources(state="leaked")] == ["f"]


# -- contention ----------------------------------------------------------------------------


def test_close_races_tracking_and_releasing(contention: None) -> None:
    # 12 threads x 2,000 resources, each released 100 operations after it was
    # tracked (one in five never), while 4 more call close() again and again.
    # Every resource ends released or leaked, never both, and the final
    # close() returns exactly the leaked ones.
    monitor = ResourceMonitor()
    released: list[set[str]] = [set() for _ in range(16)]
    workers_done = threading.Event()
    running = [12]
    running_lock = threading.Lock()

    def work(index: int) -> None:
        if index % 4 == 0:
            while not workers_done.is_set():
                monitor.close()
            return
        try:
            track_and_release(index)
        finally:
            with running_lock:
                running[0] -= 1
                if not running[0]:
                    workers_done.set()

    def release(index: int, n: int) -> None:
        resource_id = f"r{index}-{n}"
        try:
            monitor.release_resource(resource_id)
        except ResourceStateError:
            return  # close() marked it leaked first
        released[index].add(resource_id)

    def track_and_release(index: int) -> None:
        for n in range(2_000 + 100):
            if n < 2_000:
                monitor.track_resource(f"m{index % 3}", "lock", f"r{index}-{n}")
            if n >= 100 and (n - 100) % 5:  # one in five is never released
                release(index, n - 100)
            if n % 50 == 0:
                time.sleep(0)  # let a closer in: close() is slower than track

    run_together(work, count=16, name="monitor")
    leaked = monitor.close()
    all_released = set().union(*released)
    leaked_ids = {r.resource_id for r in leaked}
    assert len(leaked_ids) == len(leaked)  # each marked once
    assert leaked_ids.isdisjoint(all_released)
    assert len(leaked_ids) + len(all_released) == 12 * 2_000
    assert len(leaked_ids) >= 12 * 400  # at least the ones never released
    assert leaked == monitor.get_all_resources(state="leaked")
    assert {r.state for r in monitor.get_all_resources()} == {"leaked", "released"}


def test_concurrent_close_calls_all_return_the_complete_list(contention: None) -> None:
    monitor = ResourceMonitor()
    for n in range(2_000):
        monitor.track_resource("m", "lock", f"r{n}")
    results: list[list[ResourceRecord]] = [[] for _ in range(16)]

    def close(index: int) -> None:
        results[index] = monitor.close()

    run_together(close, count=16, name="closer")
    assert all(result == results[0] for result in results)
    assert [r.resource_id for r in results[0]] == [f"r{n}" for n in range(2_000)]


def test_finish_is_the_deprecated_name_of_close(monitor: ResourceMonitor) -> None:
    monitor.track_resource("m", "lock", "l")
    with pytest.deprecated_call(match=r"finish\(\) is deprecated; call close\(\)"):
        leaked = monitor.finish()
    assert [r.resource_id for r in leaked] == ["l"]
    assert monitor.close() == leaked
