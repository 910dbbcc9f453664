"""ParallelTestEnvironment: the prototype's call shapes and names (COMPAT.md section 11)."""

# Spawn and forkserver children unpickle this module's targets by importing it:
# keep its imports light (hypothesis, psutil and dill are imported inside the tests).

from __future__ import annotations

import threading

import pytest

from itest_shared.parallel import ParallelTestEnvironment, SharedQueue, WorkerError, WorkerProcess
from tests.parallel.support import HANG, _explode


def _put(queue: SharedQueue, item: object) -> None:
    queue.put(item)


def test_prototype_call_shapes_work_unchanged() -> None:
    # A test written against the prototype, as a worktree has it today.
    env = ParallelTestEnvironment(start_method="fork")
    with env:
        lock = env.create_shared_lock("data_lock")
        results = env.create_queue("results", 10)
        done = env.create_event("done")
        p = env.create_worker_process(_put, (results, "p"), "proc-1")
        t = env.create_worker_thread(_put, (results, "t"), "thread-1")
        assert (p.name, t.name) == ("proc-1", "thread-1")
        assert p.pid is None and t.ident is None  # not started on return
        assert not p.daemon
        assert env.processes == [p] and env.threads == [t]
        assert env.locks == {"data_lock": lock} and env.events == {"done": done}
        assert env.queues["results"] is env.create_queue("results") is results
        p.start()
        t.start()
        assert sorted(results.get(timeout=HANG) for _ in range(2)) == ["p", "t"]
        p.join(HANG)
        t.join(HANG)
    env.cleanup()  # the fixture's teardown after the with block: harmless
    env.cleanup()
    assert env.closed and env.failures == [] and env.processes == [p]


def test_third_positional_argument_is_name_or_kwargs() -> None:
    with ParallelTestEnvironment(start_method="fork") as env:
        out = env.create_queue("out")
        made: list[WorkerProcess | threading.Thread] = [
            env.create_worker_process(_put, (out,), {"item": "kwargs"}),
            env.create_worker_process(_put, (out,), {"item": "both"}, "named-p"),
            env.create_worker_process(_put, (out, "by name"), None, name="kw-name"),
            env.create_worker_process(_put, (out, "positional"), "pos-p"),
            env.create_worker_thread(_put, (out, "thread"), "pos-t"),
            env.create_worker_thread(_put, (out,), {"item": "thread kwargs"}),
        ]
        names = [worker.name for worker in made]
        assert names == ["_put-1", "named-p", "kw-name", "pos-p", "pos-t", "_put-2"]
        env.run_all(HANG)
        got = sorted(out.get(timeout=HANG) for _ in made)
    assert got == sorted(["kwargs", "both", "by name", "positional", "thread", "thread kwargs"])
    fresh = ParallelTestEnvironment(start_method="fork")
    for make in (fresh.create_worker_process, fresh.create_worker_thread):
        with pytest.raises(TypeError) as info:
            make(_put, (), "first", name="second")
        assert "'first'" in str(info.value) and "(kwargs)" in str(info.value)
        assert "name='second'" in str(info.value)
    assert fresh.processes == [] and fresh.threads == []
    fresh.close()


def test_locks_queues_and_events_are_separate_namespaces() -> None:
    with ParallelTestEnvironment(start_method="fork") as env:
        queue = env.create_queue("shared")
        lock = env.create_shared_lock("shared")
        event = env.create_event("shared")
        assert len({id(queue), id(lock), id(event)}) == 3
        assert env.create_queue("shared") is queue
        assert env.create_shared_lock("shared") is lock
        assert env.create_event("shared") is event
        views = env.locks, env.queues, env.events
        assert views == ({"shared": lock}, {"shared": queue}, {"shared": event})
        env.locks.clear()  # copies: the env's registries are untouched
        env.queues.clear()
        assert env.locks == {"shared": lock} and env.queues == {"shared": queue}
        env.create_queue("b")
        env.create_queue("a")
        assert list(env.queues) == ["shared", "b", "a"]  # creation order


def test_queue_maxsize_not_given_fetches_any_size() -> None:
    import queue as queue_module

    with ParallelTestEnvironment(start_method="fork") as env:
        bounded = env.create_queue("bounded", maxsize=2)
        assert env.create_queue("bounded") is bounded  # as the prototype's create_queue(name)
        assert env.create_queue("bounded", 2) is bounded
        with pytest.raises(ValueError, match="maxsize=2, not maxsize=5"):
            env.create_queue("bounded", maxsize=5)
        bounded.put_nowait(1)
        bounded.put_nowait(2)
        with pytest.raises(queue_module.Full):
            bounded.put_nowait(3)
        unbounded = env.create_queue("unbounded")
        assert env.create_queue("unbounded", maxsize=0) is unbounded
        with pytest.raises(ValueError, match="maxsize=0, not maxsize=1"):
            env.create_queue("unbounded", 1)
        for item in range(100):
            unbounded.put_nowait(item)
        assert [unbounded.get(timeout=HANG) for _ in range(100)] == list(range(100))


def test_cleanup_is_close() -> None:
    env = ParallelTestEnvironment(start_method="fork")
    env.create_worker_process(_explode, args=("cleanup",), name="bad").start()
    with pytest.raises(WorkerError, match="'bad' raised ValueError: boom cleanup"):
        env.cleanup()
    assert env.closed
    env.cleanup()  # idempotent: reported once
    env.close()
    assert [error.worker_name for error in env.failures] == ["bad"]
