"""The copied prototype's interfaces, used as a suite written against it would use them.

Written from /shared/COMPAT.md, section by section (sections 3, 4, 5, 8, 15 and
16: the classes; tests/test_compat_fixtures.py drives the fixtures through the
plugin). Every contract row is exercised through ``from itest_shared import ...``
and read the prototype's way: ``record["key"]``, ``"released_at" in record``,
``stats["count"]``, ``len(...)``, iteration, ``pytest.raises(match=...)`` on the
prototype's wording. Where itest-shared deliberately differs (a [DEFECT] fixed,
a clearer error), the test says so and checks the difference.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

import pytest

from itest_shared import (
    ConfigChangeObserver,
    ErrorPropagationMixin,
    ErrorTrackingContext,
    PerformanceMonitor,
    ResourceMonitor,
    ResourceTracker,
    ThreadSafeCounter,
    UnknownResourceError,
)
from itest_shared.config import MODULE_MAP_ENV, ModuleMap
from tests.helpers import PROTOTYPE_FALLBACK, PROTOTYPE_MAP, run_together


@pytest.fixture
def prototype_project(monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's configuration as the plugin publishes it from the ini keys."""
    project = ModuleMap(PROTOTYPE_MAP, fallback=PROTOTYPE_FALLBACK, key_match="substring")
    monkeypatch.setenv(MODULE_MAP_ENV, project.to_json())


# --- section 3: ErrorPropagationMixin ---------------------------------------------------


class Chunker(ErrorPropagationMixin):
    """A test helper class of a worktree's suite, as the prototype's users write them."""

    def fail_inside(self) -> dict[str, Any]:
        try:
            raise KeyError("k")
        except KeyError as error:
            return self.capture_cross_module_error("chunker.parser", "cli.main", error)


def test_3_capture_returns_the_error_record_with_its_keys_in_order() -> None:
    error = ValueError("Parser timeout")
    before = time.time()
    record = Chunker().capture_cross_module_error(
        source_module="chunker.parser", target_module="cli.main", error=error
    )
    assert list(record) == [
        "source_module",
        "target_module",
        "operation",
        "original_error",
        "error_type",
        "error_message",
        "timestamp",
        "context_data",
    ]
    assert record["source_module"] == "chunker.parser"
    assert record["target_module"] == "cli.main"
    assert record["operation"] == "Chunker"  # type(self).__name__
    assert record["original_error"] is error
    assert record["error_type"] == "ValueError"
    assert record["error_message"] == "Parser timeout"
    assert isinstance(record["timestamp"], float) and before <= record["timestamp"] <= time.time()
    assert set(record["context_data"]) == {"traceback", "call_stack"}
    assert len(record) == 8


def test_3_traceback_of_a_never_raised_error_is_one_line() -> None:
    record = Chunker().capture_cross_module_error("a", "b", ValueError("boom"))
    assert record["context_data"]["traceback"] == ["ValueError: boom\n"]


def test_3_traceback_of_a_raised_error_starts_with_the_header_and_keeps_the_chain() -> None:
    try:
        try:
            raise TimeoutError("read timed out")
        except TimeoutError as cause:
            raise ValueError("Parser timeout") from cause
    except ValueError as error:
        record = Chunker().capture_cross_module_error("a", "b", error)
        expected = traceback.format_exception(error)
    lines = record["context_data"]["traceback"]
    assert lines == expected
    assert lines[0] == "Traceback (most recent call last):\n"
    assert all(line.endswith("\n") for line in lines)
    assert any("TimeoutError: read timed out" in line for line in lines)


def test_3_call_stack_starts_at_the_caller_innermost_first() -> None:
    record = Chunker().fail_inside()
    stack = record["context_data"]["call_stack"]
    assert stack[0].startswith(f"{__file__}:") and stack[0].endswith(" in fail_inside")
    assert stack[1].endswith(" in test_3_call_stack_starts_at_the_caller_innermost_first")
    assert all(" in " in frame and ":" in frame for frame in stack)
    assert record["error_message"] == "'k'"  # str(KeyError("k")), quotes included


def test_3_capturing_has_no_side_effects_and_the_mixin_has_no_init() -> None:
    assert "__init__" not in vars(ErrorPropagationMixin)
    mixin = Chunker()
    mixin.capture_cross_module_error("a", "b", ValueError("x"))
    assert vars(mixin) == {}


def test_3_verify_error_context_is_a_staticmethod_that_passes_and_returns_none() -> None:
    record = Chunker().capture_cross_module_error("chunker.parser", "cli.main", ValueError("x"))
    expected = {"source_module": "chunker.parser", "error_type": "ValueError", "timestamp": 0.0}
    assert ErrorPropagationMixin.verify_error_context(record, expected) is None
    assert Chunker().verify_error_context(error=record, expected_context=expected) is None
    # Extra keys of the record are ignored; nested values compare whole.
    Chunker.verify_error_context(record, {"context_data": record["context_data"]})


def test_3_verify_error_context_messages_contain_the_prototypes_words() -> None:
    record = Chunker().capture_cross_module_error("chunker.parser", "cli.main", ValueError("x"))
    with pytest.raises(AssertionError, match="Missing context key: severity"):
        Chunker.verify_error_context(record, {"severity": "high"})
    with pytest.raises(
        AssertionError, match="Context mismatch for error_type: ValueError != KeyError"
    ):
        Chunker.verify_error_context(record, {"error_type": "KeyError"})
    # Values are shown with str(), not repr(), as the prototype did.
    with pytest.raises(AssertionError, match=r"Context mismatch for n: 1 != 2"):
        Chunker.verify_error_context({"n": 1}, {"n": 2})
    # timestamp: presence only.
    with pytest.raises(AssertionError, match="Missing context key: timestamp"):
        Chunker.verify_error_context({"source_module": "a"}, {"timestamp": 1.0})


def test_3_verify_error_context_checks_under_python_O_too() -> None:
    # [DEFECT 13] fixed: not a bare assert, so -O does not turn it off.
    import subprocess
    import sys

    code = (
        "from itest_shared import ErrorPropagationMixin as M\n"
        "try:\n"
        "    M.verify_error_context({'a': 1}, {'a': 2})\n"
        "except AssertionError as e:\n"
        "    print('raised', e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "raised" in result.stdout and "Context mismatch for a: 1 != 2" in result.stdout


# --- section 4: ConfigChangeObserver ----------------------------------------------------


@pytest.mark.usefixtures("prototype_project")
def test_4_no_argument_observer_behaves_as_the_prototype_did_for_the_project() -> None:
    config = ConfigChangeObserver()
    assert config.get_affected_modules("chunk_types") == ["chunker", "languages"]
    assert config.get_affected_modules("settings.parser_timeout") == ["parser", "factory"]
    assert config.get_affected_modules("x.cache_dir.y") == ["cache", "streaming"]
    assert config.get_affected_modules("num_workers_chunk_types") == ["chunker", "languages"]
    assert config.get_affected_modules("cache") == PROTOTYPE_FALLBACK
    first = config.get_affected_modules("unmapped")
    first.append("x")  # a new list each call
    assert config.get_affected_modules("unmapped") == PROTOTYPE_FALLBACK
    # [DEFECT 11] fixed: the map's own lists are not handed out.
    config.get_affected_modules("num_workers").append("x")
    assert config.get_affected_modules("num_workers") == ["parallel"]


@pytest.mark.usefixtures("prototype_project")
def test_4_on_config_change_returns_the_logged_event_with_the_prototypes_keys() -> None:
    config = ConfigChangeObserver()
    seen: list[Any] = []
    assert config.register_observer(seen.append) is not None  # extra return value is fine
    before = time.time()
    event = config.on_config_change("parser_timeout", 10, 30)
    assert list(event) == [
        "config_path",
        "old_value",
        "new_value",
        "affected_modules",
        "timestamp",
    ]
    assert event["config_path"] == "parser_timeout"  # not "config_key"
    assert (event["old_value"], event["new_value"]) == (10, 30)
    assert event["affected_modules"] == ["parser", "factory"]
    assert before <= event["timestamp"] <= time.time()
    # Observers get the same event that was logged and returned.
    assert seen == [event] and seen[0] is event
    log = config.get_change_log()
    assert log == [event] and log[0] is event
    log.clear()  # a shallow copy
    assert config.get_change_log() == [event]


@pytest.mark.usefixtures("prototype_project")
def test_4_observers_run_in_registration_order_and_may_register_twice() -> None:
    config = ConfigChangeObserver()
    calls: list[str] = []

    def first(event: Any) -> None:
        calls.append("first")

    config.register_observer(first)
    config.register_observer(lambda event: calls.append("second"))
    config.register_observer(first)  # no de-duplication
    config.on_config_change("num_workers", 1, 2)
    assert calls == ["first", "second", "first"]


@pytest.mark.usefixtures("prototype_project")
def test_4_a_raising_observer_does_not_stop_the_others() -> None:
    # [DEFECT 12] fixed: the later observers are notified, and the failure is
    # kept (get_observer_errors) instead of propagating out of on_config_change.
    config = ConfigChangeObserver()
    later: list[Any] = []

    def broken(event: Any) -> None:
        raise RuntimeError("observer broke")

    config.register_observer(broken)
    config.register_observer(later.append)
    event = config.on_config_change("cache_dir", "/a", "/b")
    assert later == [event] and config.get_change_log() == [event]
    [failure] = config.get_observer_errors()
    assert failure["error_type"] == "RuntimeError"


def test_4_a_map_passed_explicitly_wins_over_the_projects(
    prototype_project: None,
) -> None:
    config = ConfigChangeObserver({"parser_timeout": ["chunker.parser"]})
    assert config.get_affected_modules("parser_timeout") == ["chunker.parser"]


# --- section 5: ResourceTracker -----------------------------------------------------------


def test_5_track_resource_returns_the_live_record() -> None:
    tracker = ResourceTracker()
    before = time.time()
    # The prototype's argument order: module, type, id.
    record = tracker.track_resource("chunker.parallel", "process", "worker_1")
    assert list(record) == [
        "resource_id",
        "resource_type",
        "owner_module",
        "created_at",
        "state",
        "metadata",
    ]
    assert record["resource_id"] == "worker_1"
    assert record["resource_type"] == "process"
    assert record["owner_module"] == "chunker.parallel"
    assert before <= record["created_at"] <= time.time()
    assert record["state"] == "active"
    assert record["metadata"] == {}
    assert "released_at" not in record and len(record) == 6
    tracker.release_resource("worker_1")
    # Live, as the prototype's stored dict: the release shows in what was returned.
    assert record["state"] == "released"
    assert "released_at" in record and record["released_at"] >= record["created_at"]
    assert len(record) == 7 and list(record)[-1] == "released_at"


def test_5_get_resource_state_returns_the_whole_record_or_none() -> None:
    tracker = ResourceTracker()
    tracked = tracker.track_resource("m", "file_handle", "fh")
    state = tracker.get_resource_state("fh")
    assert state is not None
    assert state["state"] == "active" and state["resource_type"] == "file_handle"
    assert state == tracked  # reads, and compares, like the same dict
    assert tracker.get_resource_state("never") is None
    tracker.release_resource("fh")
    released = tracker.get_resource_state("fh")
    assert released is not None and released["state"] == "released" and "released_at" in released


def test_5_verify_cleanup_lists_the_modules_active_records() -> None:
    tracker = ResourceTracker()
    tracker.track_resource("a", "process", "p1")
    tracker.track_resource("a", "lock", "l1")
    tracker.track_resource("b", "process", "p2")
    tracker.release_resource("l1")
    assert [r["resource_id"] for r in tracker.verify_cleanup("a")] == ["p1"]
    assert tracker.verify_cleanup("nobody") == []  # empty list = clean
    tracker.release_resource("p1")
    assert tracker.verify_cleanup("a") == []


def test_5_get_all_resources_filters_only_when_truthy_in_first_tracked_order() -> None:
    tracker = ResourceTracker()
    for module, rid in (("a", "1"), ("b", "2"), ("a", "3")):
        tracker.track_resource(module, "thing", rid)
    tracker.release_resource("2")
    ids = [
        [r["resource_id"] for r in rows]
        for rows in (
            tracker.get_all_resources(),
            tracker.get_all_resources(module="a"),
            tracker.get_all_resources(state="released"),
            tracker.get_all_resources(module="", state=""),  # empty: no filter
            tracker.get_all_resources("a", "active"),
        )
    ]
    assert ids == [["1", "2", "3"], ["1", "3"], ["2"], ["1", "2", "3"], ["1", "3"]]


def test_5_differences_raise_clear_typed_errors() -> None:
    tracker = ResourceTracker()
    # The prototype ignored an unknown id; this is a KeyError naming it.
    with pytest.raises(UnknownResourceError, match="unknown resource_id 'ghost'"):
        tracker.release_resource("ghost")
    # [DEFECT 26] fixed: re-tracking an active id is refused and keeps the first.
    first = tracker.track_resource("a", "process", "p")
    with pytest.raises(ValueError, match="cannot track resource_id 'p': it is active"):
        tracker.track_resource("b", "process", "p")
    assert tracker.get_resource_state("p") == first


def test_5_records_are_thread_safe_under_contention(contention: None) -> None:
    # [DEFECT 10] fixed: 16 threads track, read and release through live records.
    tracker = ResourceTracker()

    def work(index: int) -> None:
        for n in range(500):
            record = tracker.track_resource(f"m{index}", "t", f"{index}-{n}")
            tracker.release_resource(record["resource_id"])
            assert record["state"] == "released" and "released_at" in record

    run_together(work)
    assert len(tracker.get_all_resources(state="released")) == 16 * 500


# --- section 10: assert_no_leaks (the class behind resource_monitor) -----------------------


def test_10_assert_no_leaks_messages_start_with_the_prototypes_words() -> None:
    monitor = ResourceMonitor()
    monitor.track_resource("chunker.parallel", "process", "worker_1")
    with pytest.raises(AssertionError, match=r"^Module chunker\.parallel leaked resources: "):
        monitor.assert_no_leaks("chunker.parallel")
    for everyone in ((), (None,), ("",)):
        with pytest.raises(AssertionError, match=r"^Found leaked resources: "):
            monitor.assert_no_leaks(*everyone)
    monitor.assert_no_leaks("chunker.cache")  # another module: clean, returns None
    monitor.release_resource("worker_1")
    assert monitor.assert_no_leaks() is None


# --- section 8: ErrorTrackingContext ---------------------------------------------------------


def test_8_capture_and_propagate_records_and_calls_the_target() -> None:
    context = ErrorTrackingContext()
    handled: list[Any] = []
    assert context.register_handler("cli.main", handled.append) is not None
    assert context.error_handlers == {"cli.main": handled.append}
    record = context.capture_and_propagate("chunker.parser", "cli.main", ValueError("x"))
    assert record["operation"] == "ErrorTrackingContext"
    # The call stack starts with the capture_and_propagate frame itself.
    stack = record["context_data"]["call_stack"]
    assert stack[0].endswith(" in capture_and_propagate")
    assert stack[1].endswith(" in test_8_capture_and_propagate_records_and_calls_the_target")
    assert handled == [record]
    assert context.captured_errors == [record]
    chain = context.get_error_chain()
    assert chain == [record]
    chain.clear()  # a copy
    assert len(context.get_error_chain()) == 1
    # The source's handler is never called.
    source_calls: list[Any] = []
    context.register_handler("chunker.parser", source_calls.append)
    context.capture_and_propagate("chunker.parser", "cli.main", ValueError("y"))
    assert source_calls == []


def test_8_a_handler_may_capture_again_without_deadlock() -> None:
    # [DEFECT 7] fixed: handlers run outside the lock.
    context = ErrorTrackingContext()

    def escalate(record: Any) -> None:
        if record["target_module"] == "cli.main":
            context.capture_and_propagate("cli.main", "cli.errors", RuntimeError("escalated"))
            context.get_error_chain()

    context.register_handler("cli.main", escalate)
    finished = threading.Event()

    def run() -> None:
        context.capture_and_propagate("chunker", "cli.main", ValueError("x"))
        finished.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert finished.wait(30), "a handler capturing again deadlocked"
    assert [r["target_module"] for r in context.get_error_chain()] == ["cli.main", "cli.errors"]


def test_8_with_block_records_the_error_and_never_suppresses_it() -> None:
    # [DEFECT 6] fixed: the exception leaving the block is recorded.
    context = ErrorTrackingContext()
    with pytest.raises(KeyError), context as entered:
        assert entered is context
        raise KeyError("lost")
    [record] = context.get_error_chain()
    assert record["error_type"] == "KeyError"


# --- section 15: ThreadSafeCounter -------------------------------------------------------------


def test_15_counter_returns_new_values_and_value_is_read_only() -> None:
    counter = ThreadSafeCounter()
    assert counter.value == 0
    assert counter.increment() == 1
    assert counter.increment(5) == 6
    assert counter.decrement() == 5
    assert counter.decrement(2) == 3
    with pytest.raises(AttributeError):
        counter.value = 10  # type: ignore[misc]
    # The prototype accepted floats; a count is an int here (a clear TypeError).
    with pytest.raises(TypeError, match=r"amount must be an int, got 0\.5"):
        counter.increment(0.5)  # type: ignore[arg-type]


# --- section 16: PerformanceMonitor -------------------------------------------------------------


def test_16_timing_returns_durations_and_get_stats_reads_like_the_prototypes_dict() -> None:
    monitor = PerformanceMonitor()
    assert monitor.start_timing("parse") is not None  # returns a token now; None before
    duration = monitor.end_timing("parse")
    assert isinstance(duration, float) and duration >= 0
    with monitor.measure("parse"):
        pass
    stats = monitor.get_stats("parse")
    assert stats["count"] == 2
    assert stats["total"] == pytest.approx(sum(monitor.metrics["parse"]))
    assert stats["average"] == pytest.approx(stats["total"] / 2)
    assert stats["min"] <= stats["average"] <= stats["max"]
    assert {"count", "total", "average", "min", "max"} <= set(stats)
    assert isinstance(stats["count"], int) and isinstance(stats["total"], float)
    assert dict(stats)["max"] == stats.max
    assert len(monitor.metrics["parse"]) == 2


def test_16_unknown_operations_give_an_empty_mapping_and_zero() -> None:
    monitor = PerformanceMonitor()
    assert monitor.get_stats("never") == {}
    assert len(monitor.get_stats("never")) == 0
    assert monitor.end_timing("never") == 0.0
    monitor.start_timing("pending")  # started, not ended: still no statistics
    assert monitor.get_stats("pending") == {}
    assert monitor.metrics == {}


def test_16_measure_records_even_when_the_block_raises() -> None:
    # [DEFECT 15] fixed: the time was spent; nothing stays pending.
    monitor = PerformanceMonitor()
    with pytest.raises(ValueError), monitor.measure("op"):
        raise ValueError("inside")
    assert monitor.get_stats("op")["count"] == 1
    assert monitor.end_timing("op") == 0.0


def test_16_overlapping_timings_of_one_name_do_not_overwrite_each_other() -> None:
    # [DEFECTS 14, 16] fixed: a monotonic clock, one token per start.
    monitor = PerformanceMonitor()
    outer = monitor.start_timing("op")
    with monitor.measure("op"):
        pass
    monitor.end_timing(outer)
    assert monitor.get_stats("op")["count"] == 2
    assert all(d >= 0 for d in monitor.metrics["op"])


# --- section 1: the classes the prototype's fixtures module handed out ---------------------------


def test_1_the_fixtures_module_hands_out_the_prototypes_classes() -> None:
    # "from tests.integration.fixtures import ErrorTrackingContext" -> the module path only.
    from itest_shared.fixtures import ConfigChangeObserver as FromFixtures
    from itest_shared.fixtures import ErrorTrackingContext as Tracking

    assert Tracking is ErrorTrackingContext and FromFixtures is ConfigChangeObserver
    with pytest.raises(ImportError):
        from itest_shared.fixtures import Nonexistent  # noqa: F401
