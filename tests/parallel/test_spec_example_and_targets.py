"""ParallelTestEnvironment: the SPEC example and the kinds of targets workers run."""

# Spawn and forkserver children unpickle this module's targets by importing it:
# keep its imports light (hypothesis, psutil and dill are imported inside the tests).

from __future__ import annotations

from collections.abc import Callable

from itest_shared.parallel import ParallelTestEnvironment, SharedQueue
from tests.parallel.support import HANG


def test_spec_example_concurrent_operations(start_method: str) -> None:
    parallel_test_environment = ParallelTestEnvironment(start_method=start_method)
    # From SPEC.md, verbatim but for the env being built here instead of by the fixture.
    with parallel_test_environment as env:
        lock = env.create_shared_lock("data_lock")
        queue = env.create_queue("results")

        def worker_func(worker_id: int) -> None:
            with lock:
                queue.put(f"Result from {worker_id}")

        workers = []
        for i in range(4):
            w = env.create_worker_process(worker_func, args=(i,))
            w.start()
            workers.append(w)
        results = []
        for _ in range(4):
            results.append(queue.get(timeout=5))
    assert sorted(results) == [f"Result from {i}" for i in range(4)]
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert env.closed and env.failures == []
    parallel_test_environment.close()  # the fixture's teardown: a no-op by now


def _make_counter(out: SharedQueue, label: str) -> Callable[..., None]:
    def count(times: int) -> None:
        out.put((label, sum(range(times))))

    return count


def test_lambdas_closures_and_nested_functions_are_targets(start_method: str) -> None:
    with ParallelTestEnvironment(start_method=start_method) as env:
        out = env.create_queue("out")
        factor = 7

        def outer(n: int) -> None:
            def inner() -> int:
                return n * factor

            out.put(("nested", inner()))

        env.create_worker_process(lambda: out.put(("lambda", factor)))
        env.create_worker_process(outer, args=(6,))
        env.create_worker_process(_make_counter(out, "closure"), kwargs={"times": 4})
        env.create_worker_thread(lambda: out.put(("thread", factor + 1)))
        env.run_all(HANG)
        got = dict(out.get(timeout=HANG) for _ in range(4))
    assert got == {"lambda": 7, "nested": 42, "closure": 6, "thread": 8}
