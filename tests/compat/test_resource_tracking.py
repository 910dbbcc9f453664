"""COMPAT sections 5 and 10: ResourceTracker's live records and assert_no_leaks' messages."""

from __future__ import annotations

import time

import pytest

from itest_shared import ResourceMonitor, ResourceTracker, UnknownResourceError
from tests.helpers import run_together

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
