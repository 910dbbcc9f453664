"""ParallelTestEnvironment: shared locks, queues and events across processes and threads."""

# Spawn and forkserver children unpickle this module's targets by importing it:
# keep its imports light (hypothesis, psutil and dill are imported inside the tests).

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from itest_shared.parallel import ParallelTestEnvironment, SharedEvent, SharedQueue
from tests.helpers import run_together
from tests.parallel.support import HANG


def _make_incrementer(
    guard: contextlib.AbstractContextManager[Any],
    ready: SharedQueue,
    go: SharedEvent,
    workdir: Path,
    rounds: int,
) -> Callable[[], None]:
    """A worker doing ``rounds`` read-modify-writes of a counter file under ``guard``.

    It counts overlaps it can see: another worker inside the section (an O_EXCL
    marker file exists) or a half-written counter. Only without exclusion can
    either happen; lost updates show in the final count.
    """
    counter, marker = workdir / "counter", str(workdir / "inside")

    def increment() -> None:
        ready.put("ready")
        if not go.wait(HANG):
            raise TimeoutError("never released by the test")
        overlaps = 0
        for _ in range(rounds):
            with guard:
                try:
                    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    overlaps, fd = overlaps + 1, -1
                try:
                    text = counter.read_text()
                    time.sleep(0.0002)  # widen the window an unguarded worker could use
                    counter.write_text(str(int(text) + 1))
                except ValueError:
                    overlaps += 1  # read while another was writing
                finally:
                    if fd >= 0:
                        os.close(fd)
                        os.unlink(marker)
        ready.put(("overlaps", overlaps))

    return increment


def _run_incrementers(
    env: ParallelTestEnvironment, guard: contextlib.AbstractContextManager[Any]
) -> tuple[int, int]:
    """Two processes and a thread increment under ``guard``: (final count, overlaps seen)."""
    rounds, workers = 150, 3
    ready, go = env.create_queue("ready"), env.create_event("go")
    (env.workspace / "counter").write_text("0")
    worker = _make_incrementer(guard, ready, go, env.workspace, rounds)
    env.create_worker_process(worker)
    env.create_worker_process(worker)
    env.create_worker_thread(worker)
    env.start_all()
    # Release all at once: spawned children start ~0.5 s apart, and workers that
    # run one after the other would never contend.
    assert [ready.get(timeout=HANG) for _ in range(workers)] == ["ready"] * workers
    go.set()
    overlaps = sum(ready.get(timeout=HANG)[1] for _ in range(workers))
    env.join_all(HANG)
    return int((env.workspace / "counter").read_text()), overlaps


def test_lock_excludes_across_processes_and_threads(start_method: str) -> None:
    with ParallelTestEnvironment(start_method=start_method) as env:
        count, overlaps = _run_incrementers(env, env.create_shared_lock("counter"))
    assert (count, overlaps) == (3 * 150, 0)


def test_the_exclusion_check_fails_without_a_lock() -> None:
    # The control for the test above: the same workers with no lock get caught.
    with ParallelTestEnvironment(start_method="fork") as env:
        count, overlaps = _run_incrementers(env, contextlib.nullcontext())
    assert overlaps > 0 or count < 3 * 150


def test_queues_and_events_link_processes_and_threads(start_method: str) -> None:
    with ParallelTestEnvironment(start_method=start_method) as env:
        to_thread, results = env.create_queue("to_thread"), env.create_queue("results")
        go, thread_done = env.create_event("go"), env.create_event("thread_done")

        def producer() -> None:  # process: waits for the test's event, feeds the thread
            assert go.wait(HANG)
            to_thread.put("from a process")

        def relay() -> None:  # thread: passes the item on, then sets an event
            results.put(("thread got", to_thread.get(timeout=HANG)))
            thread_done.set()

        def watcher() -> None:  # process: waits for the thread's event
            assert thread_done.wait(HANG)
            results.put(("process saw", "thread_done"))

        env.create_worker_process(producer)
        env.create_worker_thread(relay)
        env.create_worker_process(watcher)
        env.start_all()
        go.set()
        got = {results.get(timeout=HANG) for _ in range(2)}
        env.join_all(HANG)
        assert env.create_queue("results") is results  # same name, same object
        assert env.create_event("go") is go
        assert env.create_shared_lock("l") is env.create_shared_lock("l")
    assert got == {("thread got", "from a process"), ("process saw", "thread_done")}


def test_registries_hold_under_thread_contention(contention: None) -> None:
    env = ParallelTestEnvironment(start_method="fork")
    seen: list[dict[str, object]] = [{} for _ in range(16)]
    names = [f"n{i}" for i in range(25)]

    def hammer(slot: int) -> None:
        for op in range(2000):
            name = names[op % len(names)]  # the same names for all three kinds
            kind = op % 3
            key = f"{kind}:{name}"
            if kind == 0:
                # Explicit maxsize=0 and "not given" must both find the same queue.
                obj: object = env.create_queue(name, *([0] if op % 2 else []))
            elif kind == 1:
                obj = env.create_event(name)
            else:
                obj = env.create_shared_lock(name)
            assert seen[slot].setdefault(key, obj) is obj
            if op % 100 == 0:
                env.create_worker_thread(print)

    run_together(hammer, 16)
    # Every thread was handed the very same object for each name and kind, the
    # three kinds are three objects, and every worker name is unique.
    for key in seen[0]:
        assert len({id(seen[slot][key]) for slot in range(16)}) == 1
    views: dict[str, dict[str, Any]] = {"0": env.queues, "1": env.events, "2": env.locks}
    assert seen[0] == {
        f"{kind}:{name}": obj for kind, view in views.items() for name, obj in view.items()
    }
    assert len({id(obj) for obj in seen[0].values()}) == 3 * len(names)
    assert len({t.name for t in env.threads}) == len(env.threads) == 16 * 20
    env.close()
