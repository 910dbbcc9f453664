"""COMPAT section 11: parallel_test_environment, its workers and the config map they see."""

from __future__ import annotations

import pytest

from tests.compat.support import run_suite

# --- section 11: parallel_test_environment --------------------------------------------------------

PARALLEL = """
import threading

import pytest

from itest_shared import ConfigChangeObserver, ParallelTestEnvironment


def test_workers_and_shared_primitives(parallel_test_environment):
    with parallel_test_environment as env:
        lock = env.create_shared_lock("data_lock")
        assert env.create_shared_lock("data_lock") is lock
        queue = env.create_queue("results", maxsize=10)
        assert env.create_queue("results") is queue  # maxsize not repeated
        event = env.create_event("done")
        assert env.create_event("done") is event
        # Three registries: one name may be a lock and a queue.
        assert env.create_queue("data_lock") is not lock
        assert env.locks == {"data_lock": lock}
        assert set(env.queues) == {"results", "data_lock"} and env.events == {"done": event}

        def worker_func(worker_id):
            with lock:
                queue.put(f"Result from {worker_id}")

        workers = []
        for i in range(4):
            w = env.create_worker_process(worker_func, args=(i,))
            assert not w.is_alive()  # not started
            w.start()
            workers.append(w)
        assert list(env.processes) == workers
        results = sorted(queue.get(timeout=30) for _ in range(4))
        thread = env.create_worker_thread(event.set, (), "setter")  # name third, as the prototype
        assert thread.name == "setter" and not thread.is_alive()
        thread.start()
        assert event.wait(30)
        assert list(env.threads) == [thread]
    assert results == [f"Result from {i}" for i in range(4)]
    parallel_test_environment.cleanup()  # again: harmless


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_workers_see_the_projects_config_map(method):
    def report(queue):
        queue.put(ConfigChangeObserver().get_affected_modules("settings.parser_timeout"))

    with ParallelTestEnvironment(start_method=method) as env:
        queue = env.create_queue("out")
        env.create_worker_process(report, args=(queue,)).start()
        assert queue.get(timeout=60) == ["parser", "factory"]
        env.join_all(timeout=60)


def test_worker_threads_get_it_too(parallel_test_environment):
    seen = []
    t = parallel_test_environment.create_worker_thread(
        lambda: seen.append(ConfigChangeObserver().get_affected_modules("num_workers")))
    t.start()
    t.join(30)
    assert seen == [["parallel"]]
"""


def test_parallel_test_environment(worktree: pytest.Pytester) -> None:
    run_suite(worktree, PARALLEL).assert_outcomes(passed=5)


def test_xdist_workers_see_the_projects_config_map(worktree: pytest.Pytester) -> None:
    result = run_suite(
        worktree,
        """
        import pytest
        from itest_shared import ConfigChangeObserver

        @pytest.mark.parametrize("n", range(4))
        def test_in_a_worker(n, config_change_tracker):
            assert ConfigChangeObserver().get_affected_modules("cache_dir.size") == [
                "cache", "streaming"]
            event = config_change_tracker.on_config_change("plugin_dirs", [], ["x"])
            assert event["affected_modules"] == ["plugin_manager"]
        """,
        "-n",
        "2",
    )
    result.assert_outcomes(passed=4)
