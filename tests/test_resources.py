"""ResourceTracker: lifecycle rules, queries, leaks, contention."""

from __future__ import annotations

import pickle
import threading
import time

import pytest

from itest_shared import (
    ResourceRecord,
    ResourceStateError,
    ResourceTracker,
    ThreadSafeCounter,
    TrackedResource,
    UnknownResourceError,
)
from tests.helpers import run_together


@pytest.fixture
def tracker() -> ResourceTracker:
    return ResourceTracker()


def test_spec_example(tracker: ResourceTracker) -> None:
    tracker.track_resource(
        module="chunker.parallel", resource_type="process", resource_id="worker_12345"
    )
    tracker.release_resource("worker_12345")
    assert tracker.verify_cleanup("chunker.parallel") == []


def test_track_then_release_records_both_times(tracker: ResourceTracker) -> None:
    before = time.time()
    tracker.track_resource("m", "file_handle", "fh1", metadata={"path": "/tmp/x"})
    state = tracker.get_resource_state("fh1")
    assert isinstance(state, ResourceRecord)
    assert state["state"] == "active" and "released_at" not in state
    assert state.owner_module == "m" and state.resource_type == "file_handle"
    assert state.metadata == {"path": "/tmp/x"}
    assert before <= state.created_at <= time.time()
    tracker.release_resource("fh1")
    state = tracker.get_resource_state("fh1")
    assert state is not None
    assert state["state"] == "released"
    assert "released_at" in state
    assert state.created_at <= state["released_at"] <= time.time()


def test_the_same_state_gives_the_same_record(tracker: ResourceTracker) -> None:
    tracker.track_resource("m", "lock", "l1")
    first = tracker.get_resource_state("l1")
    assert tracker.get_resource_state("l1") is first
    tracker.release_resource("l1")
    assert tracker.get_resource_state("l1") is not first


def test_metadata_is_copied(tracker: ResourceTracker) -> None:
    metadata = {"pid": 1}
    tracker.track_resource("m", "process", "p", metadata=metadata)
    metadata["pid"] = 2
    state = tracker.get_resource_state("p")
    assert state is not None and state.metadata == {"pid": 1}


def test_unknown_id(tracker: ResourceTracker) -> None:
    assert tracker.get_resource_state("nope") is None
    with pytest.raises(UnknownResourceError, match="'nope'") as caught:
        tracker.release_resource("nope")
    assert isinstance(caught.value, KeyError)
    assert "never tracked" in str(caught.value)


def test_double_release_raises_and_keeps_the_first_release(tracker: ResourceTracker) -> None:
    tracker.track_resource("m", "process", "p")
    tracker.release_resource("p")
    first = tracker.get_resource_state("p")
    with pytest.raises(ResourceStateError, match="cannot release resource_id 'p': it is released"):
        tracker.release_resource("p")
    assert tracker.get_resource_state("p") == first


def test_retracking_an_active_id_raises_and_keeps_the_first(tracker: ResourceTracker) -> None:
    tracker.track_resource("m", "process", "p", metadata={"n": 1})
    with pytest.raises(ResourceStateError, match="cannot track resource_id 'p': it is active"):
        tracker.track_resource("other", "file", "p")
    state = tracker.get_resource_state("p")
    assert state is not None and state.owner_module == "m" and state.metadata == {"n": 1}
    assert len(tracker.get_all_resources()) == 1


def test_retracking_a_released_id_starts_a_new_life(tracker: ResourceTracker) -> None:
    tracker.track_resource("m", "process", "p")
    tracker.release_resource("p")
    tracker.track_resource("m", "process", "p")
    lives = tracker.get_all_resources()
    assert [life.state for life in lives] == ["released", "active"]
    state = tracker.get_resource_state("p")
    assert state is not None and state.state == "active"


def test_queries_filter_and_keep_allocation_order(tracker: ResourceTracker) -> None:
    for n in range(6):
        tracker.track_resource(f"mod{n % 2}", "file", f"r{n}")
    tracker.release_resource("r2")
    tracker.release_resource("r3")
    ids = [r.resource_id for r in tracker.get_all_resources()]
    assert ids == ["r0", "r1", "r2", "r3", "r4", "r5"]
    assert [r.resource_id for r in tracker.get_all_resources(module="mod0")] == ["r0", "r2", "r4"]
    assert [r.resource_id for r in tracker.get_all_resources(state="released")] == ["r2", "r3"]
    assert [r.resource_id for r in tracker.get_all_resources("mod1", "active")] == ["r1", "r5"]
    assert [r.resource_id for r in tracker.verify_cleanup("mod0")] == ["r0", "r4"]
    assert [r.resource_id for r in tracker.verify_cleanup()] == ["r0", "r1", "r4", "r5"]
    with pytest.raises(ValueError, match="state must be one of active, released, leaked"):
        tracker.get_all_resources(state="gone")


def test_mark_leaked_marks_the_leftovers(tracker: ResourceTracker) -> None:
    tracker.track_resource("a", "file", "f1")
    tracker.track_resource("b", "file", "f2")
    tracker.track_resource("b", "file", "f3")
    tracker.release_resource("f3")
    leaked = tracker.mark_leaked("b")
    assert [r.resource_id for r in leaked] == ["f2"]
    assert [r.resource_id for r in tracker.mark_leaked()] == ["f1"]
    assert tracker.mark_leaked() == []
    assert [r.state for r in tracker.get_all_resources()] == ["leaked", "leaked", "released"]
    with pytest.raises(ResourceStateError, match="it is leaked"):
        tracker.release_resource("f1")
    tracker.track_resource("a", "file", "f1")  # a leaked id may start a new life


def test_bad_arguments_name_themselves_and_change_nothing(tracker: ResourceTracker) -> None:
    tracker.track_resource("m", "file", "ok")
    with pytest.raises(TypeError, match="module"):
        tracker.track_resource(None, "file", "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="resource_type"):
        tracker.track_resource("m", 5, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="resource_id"):
        tracker.track_resource("m", "file", 12345)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="metadata"):
        tracker.track_resource("m", "file", "x", metadata=[("a", 1)])  # type: ignore[arg-type]
    assert [r.resource_id for r in tracker.get_all_resources()] == ["ok"]


def test_contention_loses_duplicates_and_reorders_nothing(contention: None) -> None:
    """16 threads x 2,000 operations (1,000 track + 1,000 release) on one tracker."""
    tracker = ResourceTracker()

    def run(index: int) -> None:
        for n in range(1000):
            tracker.track_resource(f"mod{index}", "thing", f"{index}-{n}", {"n": n})
            if n % 2:
                tracker.release_resource(f"{index}-{n - 1}")

    run_together(run)
    everything = tracker.get_all_resources()
    assert len(everything) == 16_000
    assert len({r.resource_id for r in everything}) == 16_000
    for index in range(16):
        mine = tracker.get_all_resources(module=f"mod{index}")
        assert [r.metadata["n"] for r in mine] == list(range(1000))  # allocation order
        created = [r.created_at for r in mine]
        assert created == sorted(created)
        assert [r.state for r in mine] == ["released", "active"] * 500
        assert [r.resource_id for r in tracker.verify_cleanup(f"mod{index}")] == [
            f"{index}-{n}" for n in range(1, 1000, 2)
        ]


def test_contention_on_the_same_ids_lets_exactly_one_thread_win(contention: None) -> None:
    """Many threads race to track, then to release, the same ids: one wins each race."""
    tracker = ResourceTracker()
    wins = {"track": 0, "release": 0}
    lock = threading.Lock()

    def run(_: int) -> None:
        for n in range(1000):
            for action in ("track", "release"):
                try:
                    if action == "track":
                        tracker.track_resource("m", "t", f"shared-{n}")
                    else:
                        tracker.release_resource(f"shared-{n}")
                except ResourceStateError:
                    continue
                with lock:
                    wins[action] += 1

    run_together(run)
    # A released id may be tracked again, so a track may win more than once per id,
    # but every win is recorded as one life and every life but the last is released.
    lives = tracker.get_all_resources()
    assert len(lives) == wins["track"]
    assert len(tracker.get_all_resources(state="released")) == wins["release"]
    assert wins["track"] - wins["release"] == len(tracker.verify_cleanup())


@pytest.mark.parametrize("attempt", range(3))
def test_release_and_leak_racing_on_the_same_resources_agree(
    contention: None, attempt: int
) -> None:
    """Releasers and a leak sweep race over 2,000 resources: each ends exactly once."""
    tracker = ResourceTracker()
    for n in range(2000):
        tracker.track_resource("m", "t", f"r{n}")
    released: list[str] = []
    refused: list[str] = []
    leaked: list[str] = []

    def race(index: int) -> None:
        if index == 8:
            leaked.extend(r.resource_id for r in tracker.mark_leaked())
            return
        for n in range(index % 2, 2000, 2):
            try:
                tracker.release_resource(f"r{n}")
            except ResourceStateError:
                refused.append(f"r{n}")
            else:
                released.append(f"r{n}")

    run_together(race, count=9)  # eight releasers, one leak sweep
    # Four threads try each id: one release or the sweep wins, every other try is refused.
    assert sorted(released + leaked) == sorted(f"r{n}" for n in range(2000))
    assert len(refused) == 4 * 2000 - len(released)
    states = {r.resource_id: r.state for r in tracker.get_all_resources()}
    assert {k for k, v in states.items() if v == "leaked"} == set(leaked)
    assert {k for k, v in states.items() if v == "released"} == set(released)


# --- TrackedResource: what track_resource returns (1.3) ---------------------------------


def test_tracked_resource_follows_its_life_and_snapshots_do_not(tracker: ResourceTracker) -> None:
    live = tracker.track_resource("m", "process", "p", metadata={"pid": 1})
    snapshot = live.record()
    assert isinstance(snapshot, ResourceRecord) and snapshot.state == "active"
    assert live.record() is snapshot  # unchanged life: the same record (and record id)
    tracker.release_resource("p")
    assert (live.state, live["state"], snapshot.state) == ("released", "released", "active")
    assert live.released_at is not None and live.released_at == live["released_at"]
    assert live.record().state == "released" and live.record() == tracker.get_resource_state("p")
    tracker.track_resource("m", "process", "p")  # a new life of the id
    assert live.state == "released"  # the returned one is the old life


def test_tracked_resource_equality_and_hashing(tracker: ResourceTracker) -> None:
    a = tracker.track_resource("m", "t", "a")
    b = tracker.track_resource("m", "t", "b")
    assert a == a and a != b and hash(a) != hash(b)
    assert {a: 1}[a] == 1  # hashable by identity: equal lives are the same life
    as_dict = {
        "resource_id": "a",
        "resource_type": "t",
        "owner_module": "m",
        "created_at": a.created_at,
        "state": "active",
        "metadata": {},
    }
    assert a == as_dict and as_dict == a and dict(a) == as_dict
    assert a == tracker.get_resource_state("a") == a  # either way round
    assert a != "a" and a != 1
    assert repr(a).startswith("TrackedResource({'resource_id': 'a',")


def test_tracked_resource_metadata_is_the_trackers_own(tracker: ResourceTracker) -> None:
    given = {"path": "/tmp/x"}
    live = tracker.track_resource("m", "file_handle", "f", metadata=given)
    given["path"] = "changed by the caller"  # the tracker copied it
    assert live["metadata"] == {"path": "/tmp/x"}
    live["metadata"]["fd"] = 3  # the prototype's records were live dicts: this shows later
    state = tracker.get_resource_state("f")
    assert state is not None and state.metadata == {"path": "/tmp/x", "fd": 3}
    bare = tracker.track_resource("m", "lock", "l")
    bare.metadata["owner"] = "me"
    assert bare.metadata is bare["metadata"] and bare.record().metadata == {"owner": "me"}


def test_tracked_resource_is_read_only_and_pickles_as_its_snapshot(
    tracker: ResourceTracker,
) -> None:
    live = tracker.track_resource("m", "t", "r")
    with pytest.raises(TypeError):
        live["state"] = "released"  # type: ignore[index]
    with pytest.raises(AttributeError):
        live.state = "released"  # type: ignore[misc]
    assert isinstance(live, TrackedResource)
    # Pickled (a worker queue, xdist), it travels as the snapshot.
    assert pickle.loads(pickle.dumps(live)) == live.record()


def test_reading_live_records_while_they_are_released_is_always_consistent(
    contention: None,
) -> None:
    """Readers never see 'released' without its time, nor a record that fails validation."""
    tracker = ResourceTracker()
    lives = [tracker.track_resource("m", "t", f"r{n}") for n in range(400)]
    releasers_done = threading.Event()
    released = ThreadSafeCounter()
    problems: list[str] = []

    def work(index: int) -> None:
        if index < 4:
            for life in lives[index::4]:
                tracker.release_resource(life.resource_id)
            if released.increment() == 4:
                releasers_done.set()
            return
        # Readers scan every life, again and again, until all are released.
        while not releasers_done.is_set():
            for life in lives:
                if life["state"] == "released" and life.released_at is None:
                    problems.append(f"{life.resource_id}: released without a time")
                life.record()  # validates: released_at set exactly when released

    run_together(work)
    assert problems == []
    assert all(life.state == "released" for life in lives)


def test_a_release_caught_half_way_reads_as_still_active(tracker: ResourceTracker) -> None:
    """A release writes its time, then its state; between the two the life is still active.

    (On a GIL build no thread switch can fall between the two writes, so the
    contention test above cannot catch that moment: set it up by hand.)
    """
    life = tracker.track_resource("m", "t", "r")
    life._released = 123.0  # the first of the release's two writes
    assert life["state"] == "active" and "released_at" not in life
    assert life.released_at is None
    record = life.record()
    assert (record.state, record.released_at) == ("active", None)


def test_only_none_and_empty_filters_mean_every_module_or_state(tracker: ResourceTracker) -> None:
    tracker.track_resource("m", "t", "r")
    assert len(tracker.get_all_resources(module="", state="")) == 1
    with pytest.raises(TypeError, match=r"module must be a module name \(str\) or None, got 0"):
        tracker.get_all_resources(module=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="state must be one of active, released, leaked"):
        tracker.get_all_resources(state=0)  # type: ignore[arg-type]
