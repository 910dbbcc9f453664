"""Integration tests written against the copied prototype, migrated by one import line.

Before: ``from tests.integration.interfaces import ErrorPropagationMixin`` (and
the fixtures from the copied fixtures.py). After: the line below. Nothing else
in this file changed.
"""

import asyncio

import pytest

from itest_shared import ConfigChangeObserver, ErrorPropagationMixin, ResourceTracker


class TestCrossModuleErrors(ErrorPropagationMixin):
    def test_error_propagation(self):
        # Simulate error
        error = ValueError("Parser timeout")

        # Capture with full context
        context = self.capture_cross_module_error(
            source_module="chunker.parser", target_module="cli.main", error=error
        )

        # Verify context
        self.verify_error_context(
            context, {"source_module": "chunker.parser", "error_type": "ValueError"}
        )

        # Check traceback was captured
        assert "traceback" in context["context_data"]
        assert context["operation"] == "TestCrossModuleErrors"

    def test_a_mismatch_names_the_key(self):
        context = self.capture_cross_module_error("chunker.parser", "cli.main", KeyError("k"))
        with pytest.raises(AssertionError, match="Context mismatch for error_type"):
            self.verify_error_context(context, {"error_type": "ValueError"})
        with pytest.raises(AssertionError, match="Missing context key: severity"):
            self.verify_error_context(context, {"severity": "high"})


def test_handlers_see_errors_for_their_module(error_tracking_context):
    seen = []
    error_tracking_context.register_handler("cli.main", seen.append)
    error = error_tracking_context.capture_and_propagate(
        "chunker.parser", "cli.main", ValueError("Parser timeout")
    )
    assert seen == [error]
    assert len(error_tracking_context.get_error_chain()) == 1
    assert error_tracking_context.captured_errors[0]["error_type"] == "ValueError"


def test_config_changes_reach_the_right_modules(config_change_tracker):
    event = config_change_tracker.on_config_change("parser_timeout", 10, 30)
    assert event["affected_modules"] == ["parser", "factory"]
    config_change_tracker.on_config_change("languages.python.chunk_types", [], ["class"])
    assert config_change_tracker.change_log[-1]["affected_modules"] == ["chunker", "languages"]
    assert config_change_tracker.get_affected_modules("log_level") == [
        "parser",
        "chunker",
        "cache",
        "parallel",
        "plugin_manager",
    ]
    # Outside the fixture too: the project's map is the default.
    assert ConfigChangeObserver().get_affected_modules("cache_dir") == ["cache", "streaming"]


def test_resource_cleanup(resource_monitor):
    # Track resource allocation
    worker = resource_monitor.track_resource(
        module="chunker.parallel", resource_type="process", resource_id="worker_12345"
    )
    assert worker["state"] == "active"

    # Release resource
    resource_monitor.release_resource("worker_12345")
    assert worker["state"] == "released" and "released_at" in worker

    # Verify cleanup
    resource_monitor.assert_no_leaks("chunker.parallel")


@pytest.mark.allow_resource_leaks  # the migration's one-line fix: this test leaks on purpose
def test_a_leak_is_reported(resource_monitor):
    resource_monitor.track_resource("chunker.cache", "file_handle", "cache.db")
    with pytest.raises(AssertionError, match=r"Module chunker\.cache leaked resources"):
        resource_monitor.assert_no_leaks("chunker.cache")


def test_tracker_lists_by_module_and_state():
    tracker = ResourceTracker()
    tracker.track_resource("chunker.parallel", "process", "w1")
    tracker.track_resource("chunker.cache", "file_handle", "f1")
    tracker.release_resource("w1")
    assert [r["resource_id"] for r in tracker.get_all_resources(state="active")] == ["f1"]
    assert tracker.get_resource_state("w1")["state"] == "released"
    assert tracker.verify_cleanup("chunker.cache")[0]["resource_type"] == "file_handle"


def test_concurrent_operations(parallel_test_environment):
    with parallel_test_environment as env:
        # Create synchronized workers
        lock = env.create_shared_lock("data_lock")
        queue = env.create_queue("results")

        def worker_func(worker_id):
            with lock:
                # Critical section
                queue.put(f"Result from {worker_id}")

        # Launch workers
        workers = []
        for i in range(4):
            w = env.create_worker_process(worker_func, args=(i,))
            w.start()
            workers.append(w)

        # Collect results
        results = []
        for _ in range(4):
            results.append(queue.get(timeout=30))

        # Cleanup happens automatically
    assert sorted(results) == [f"Result from {i}" for i in range(4)]


def test_parser_failures(mock_parser_factory):
    # Configure parser to fail on 3rd call
    mock_parser_factory.configure_failure("python", fail_type="nth_call", n=3)

    parser = mock_parser_factory.get_parser("python")

    # First two calls succeed
    parser.parse(b"def test(): pass")
    parser.parse(b"class Foo: pass")

    # Third call fails
    with pytest.raises(RuntimeError, match="Parser failed on call 3"):
        parser.parse(b"import sys")


def test_parser_tree(mock_parser_factory):
    tree = mock_parser_factory.get_parser("python").parse(b"def handler(event):\n    pass\n")
    assert tree.root_node.type == "module"
    assert tree.root_node.children[0].type == "function_definition"


def test_generated_files(test_file_generator, sample_code_files, temp_workspace):
    for name, source in sample_code_files.items():
        test_file_generator.create_file(name, source, subdir="src")
    assert sorted(p.name for p in (temp_workspace / "src").iterdir()) == [
        "example.c",
        "example.js",
        "example.py",
        "example.rs",
    ]
    big = test_file_generator.create_large_file("big.py", size_mb=1, pattern="handler")
    assert "def handler_" in big.read_text()
    bad = test_file_generator.create_error_file("bad.py", "syntax")
    with pytest.raises(SyntaxError):
        compile(bad.read_bytes(), str(bad), "exec")
    assert temp_workspace.name.startswith("chunker_test_")


def test_async_operations(async_test_runner):
    async def fetch(n):
        await asyncio.sleep(0.01)
        return n

    results = async_test_runner.run(async_test_runner.run_parallel(fetch(1), fetch(2)))
    assert results == [1, 2]
    with pytest.raises(asyncio.TimeoutError):
        async_test_runner.run(async_test_runner.run_with_timeout(asyncio.sleep(5), timeout=0.05))


def test_timings(performance_monitor, thread_safe_counter):
    for _ in range(10):
        with performance_monitor.measure("increment"):
            thread_safe_counter.increment()
    stats = performance_monitor.get_stats("increment")
    assert stats["count"] == 10 and stats["min"] <= stats["average"] <= stats["max"]
    assert performance_monitor.get_stats("never_timed") == {}
    assert thread_safe_counter.value == 10
