"""The shared fixtures, used the way a worktree's integration tests use them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest


@pytest.mark.integration
def test_resource_cleanup(resource_monitor: Any) -> None:
    resource_monitor.track_resource(
        module="chunker.parallel", resource_type="process", resource_id="worker_12345"
    )
    resource_monitor.release_resource("worker_12345")
    resource_monitor.assert_no_leaks("chunker.parallel")


@pytest.mark.concurrent
def test_concurrent_operations(parallel_test_environment: Any) -> None:
    with parallel_test_environment as env:
        lock = env.create_shared_lock("data_lock")
        queue = env.create_queue("results")

        def worker_func(worker_id: int) -> None:
            with lock:
                queue.put(f"Result from {worker_id}")

        for i in range(4):
            env.create_worker_process(worker_func, args=(i,)).start()
        results = sorted(queue.get(timeout=5) for _ in range(4))
    assert results == [f"Result from {i}" for i in range(4)]


def test_parser_failures(mock_parser_factory: Any) -> None:
    mock_parser_factory.configure_failure("python", fail_type="nth_call", n=3)
    parser = mock_parser_factory.get_parser("python")
    parser.parse(b"def test(): pass")
    parser.parse(b"class Foo: pass")
    with pytest.raises(RuntimeError):
        parser.parse(b"import sys")


def test_config_changes_are_logged(config_change_tracker: Any) -> None:
    config_change_tracker.on_config_change("languages.python.chunk_types", [], ["class"])
    [event] = config_change_tracker.change_log
    assert event["affected_modules"] == ["chunker.chunker"]


def test_errors_crossing_threads_are_captured(error_tracking_context: Any) -> None:
    seen = []
    error_tracking_context.register_handler("cli.main", seen.append)
    context = error_tracking_context.capture_and_propagate(
        "chunker.parser", "cli.main", ValueError("Parser timeout")
    )
    assert seen == [context] == error_tracking_context.get_error_chain()


def test_generated_files(test_file_generator: Any, sample_code_files: dict[str, str]) -> None:
    for name, source in sample_code_files.items():
        test_file_generator.create_file(name, source, subdir="src")
    big = test_file_generator.create_large_file("big.py", size_mb=1)
    assert big.stat().st_size >= 1024 * 1024
    bad = test_file_generator.create_error_file("bad.py", "syntax")
    with pytest.raises(SyntaxError):
        compile(bad.read_bytes(), str(bad), "exec")


@pytest.mark.performance
def test_timings(performance_monitor: Any, thread_safe_counter: Any) -> None:
    for _ in range(20):
        with performance_monitor.measure("increment"):
            thread_safe_counter.increment()
    assert thread_safe_counter.value == 20
    performance_monitor.assert_within("increment", p95=1.0)


@pytest.mark.asyncio
async def test_async_work(async_test_runner: Any) -> None:
    results = await async_test_runner.run_parallel(
        *(asyncio.sleep(0, result=n) for n in range(5)), limit=2
    )
    assert results == list(range(5))


@pytest.mark.leak_audit
def test_no_thread_is_left_behind(temp_workspace: Any) -> None:
    assert sorted(p.name for p in temp_workspace.iterdir()) == ["cache", "output", "src", "tests"]
