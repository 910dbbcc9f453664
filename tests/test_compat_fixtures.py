"""A suite written against the copied prototype's fixtures runs, unchanged, on the plugin.

Written from /shared/COMPAT.md, sections 2 and 6 to 16: a worktree's conftest
loads ``itest_shared.fixtures``, its ini states the prototype's config map (the
project-specific defaults the prototype hard-coded), and its tests use every
fixture the way the prototype's users did. Each pytester test below runs one
such module and requires every test in it to pass.
"""

from __future__ import annotations

import textwrap

import pytest

# The prototype's project-specific defaults, stated once, as a migrated worktree does.
PROTOTYPE_INI = """
[pytest]
addopts = --strict-markers --strict-config -p no:cacheprovider
filterwarnings = error
asyncio_default_fixture_loop_scope = function
itest_module_map =
    chunk_types = chunker, languages
    parser_timeout = parser, factory
    cache_dir = cache, streaming
    num_workers = parallel
    plugin_dirs = plugin_manager
itest_module_fallback = parser chunker cache parallel plugin_manager
itest_key_match = substring
itest_workspace_prefix = chunker_test_
"""

CONFTEST = 'pytest_plugins = ["itest_shared.fixtures"]\n'


@pytest.fixture
def worktree(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(PROTOTYPE_INI)
    pytester.makeconftest(CONFTEST)
    return pytester


def run_suite(worktree: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    worktree.makepyfile(test_prototype_style=textwrap.dedent(source))
    return worktree.runpytest_subprocess(*args, timeout=300)


# --- sections 2, 6, 7: the overview, temp_workspace, sample_code_files ----------------------

OVERVIEW = """
from pathlib import Path

from itest_shared import (
    ConfigChangeObserver, ErrorTrackingContext, ResourceTracker, ErrorPropagationMixin,
)

FIXTURES = [
    "temp_workspace", "sample_code_files", "error_tracking_context", "config_change_tracker",
    "resource_monitor", "parallel_test_environment", "mock_parser_factory",
    "test_file_generator", "async_test_runner", "thread_safe_counter", "performance_monitor",
]


def test_every_fixture_exists(request):
    for name in FIXTURES:
        assert request.getfixturevalue(name) is not None
        assert request._fixturemanager.getfixturedefs(name, request.node)[-1].scope == "function"


def test_temp_workspace(temp_workspace):
    assert isinstance(temp_workspace, Path) and temp_workspace.is_absolute()
    assert temp_workspace.name.startswith("chunker_test_")  # the project's prefix
    assert sorted(p.name for p in temp_workspace.iterdir()) == ["cache", "output", "src", "tests"]
    assert all(not any((temp_workspace / d).iterdir()) for d in ("src", "tests", "cache", "output"))


def test_the_workspace_is_shared(temp_workspace, parallel_test_environment, test_file_generator):
    assert parallel_test_environment.workspace == temp_workspace
    assert test_file_generator.workspace == temp_workspace


def test_sample_code_files(sample_code_files):
    assert isinstance(sample_code_files, dict)
    assert list(sample_code_files) == ["example.py", "example.js", "example.rs", "example.c"]
    assert len(sample_code_files) == 4
    for name, source in sample_code_files.items():
        assert isinstance(source, str) and source.isascii(), name
        assert source.startswith("\\n") and source.endswith("\\n"), name
    compile(sample_code_files["example.py"], "example.py", "exec")
    assert "def calculate_sum" in sample_code_files["example.py"]
    assert "class DataProcessor" in sample_code_files["example.py"]
    assert "async def fetch_data" in sample_code_files["example.py"]
    assert "def " not in sample_code_files["example.js"]
    sample_code_files["example.py"] = "changed"  # a new dict for every test


def test_sample_code_files_are_new_each_test(sample_code_files):
    assert sample_code_files["example.py"] != "changed"


def test_interfaces_are_importable():
    assert ConfigChangeObserver and ErrorTrackingContext and ResourceTracker
    assert ErrorPropagationMixin
"""


def test_overview_workspace_and_samples(worktree: pytest.Pytester) -> None:
    run_suite(worktree, OVERVIEW).assert_outcomes(passed=6)


# --- sections 8, 9, 10: errors, config, resources ----------------------------------------------

TRACKERS = """
import pytest

from itest_shared import ConfigChangeObserver, ErrorTrackingContext, ResourceTracker


def test_error_tracking_context(error_tracking_context):
    assert isinstance(error_tracking_context, ErrorTrackingContext)
    handled = []
    error_tracking_context.register_handler("cli.main", handled.append)
    record = error_tracking_context.capture_and_propagate(
        "chunker.parser", "cli.main", ValueError("Parser timeout"))
    assert record["operation"] == "ErrorTrackingContext"
    assert record["source_module"] == "chunker.parser" and record["target_module"] == "cli.main"
    assert handled == [record]
    assert error_tracking_context.get_error_chain() == [record]
    assert error_tracking_context.captured_errors == [record]
    assert list(error_tracking_context.error_handlers) == ["cli.main"]
    error_tracking_context.verify_error_context(record, {"error_type": "ValueError"})


def test_error_tracking_context_as_a_with_block(error_tracking_context):
    with pytest.raises(ValueError):
        with error_tracking_context:
            raise ValueError("seen")
    assert error_tracking_context.get_error_chain()[-1]["error_message"] == "seen"


def test_config_change_tracker(config_change_tracker):
    assert isinstance(config_change_tracker, ConfigChangeObserver)
    mine = []
    config_change_tracker.register_observer(
        lambda event: mine.append(list(config_change_tracker.change_log)))
    event = config_change_tracker.on_config_change("settings.parser_timeout", 10, 30)
    assert event["config_path"] == "settings.parser_timeout"
    assert event["affected_modules"] == ["parser", "factory"]
    assert config_change_tracker.change_log == [event]
    assert config_change_tracker.change_log[0] is event
    assert config_change_tracker.get_change_log() == [event]
    assert mine == [[event]]  # the built-in observer ran first
    assert config_change_tracker.get_affected_modules("log_level") == [
        "parser", "chunker", "cache", "parallel", "plugin_manager"]


def test_a_no_argument_observer_knows_the_projects_map():
    config = ConfigChangeObserver()
    assert config.get_affected_modules("num_workers_chunk_types") == ["chunker", "languages"]
    assert config.get_affected_modules("x.cache_dir.y") == ["cache", "streaming"]


def test_resource_monitor(resource_monitor):
    assert isinstance(resource_monitor, ResourceTracker)
    record = resource_monitor.track_resource(
        module="chunker.parallel", resource_type="process", resource_id="worker_12345")
    assert record["state"] == "active" and "released_at" not in record
    resource_monitor.release_resource("worker_12345")
    assert record["state"] == "released" and "released_at" in record
    assert resource_monitor.get_resource_state("worker_12345")["state"] == "released"
    resource_monitor.assert_no_leaks("chunker.parallel")
    resource_monitor.assert_no_leaks()
    assert resource_monitor.verify_cleanup("chunker.parallel") == []


@pytest.mark.allow_resource_leaks
def test_assert_no_leaks_fails_with_the_prototypes_words(resource_monitor):
    resource_monitor.track_resource("chunker.parallel", "process", "worker_1")
    with pytest.raises(AssertionError, match="Module chunker.parallel leaked resources"):
        resource_monitor.assert_no_leaks("chunker.parallel")
    with pytest.raises(AssertionError, match="Found leaked resources"):
        resource_monitor.assert_no_leaks()
    assert [r["resource_id"] for r in resource_monitor.get_all_resources(state="active")] == [
        "worker_1"]
"""


def test_error_config_and_resource_fixtures(worktree: pytest.Pytester) -> None:
    run_suite(worktree, TRACKERS).assert_outcomes(passed=6)


def test_leaving_resources_active_fails_at_teardown_unless_marked(
    worktree: pytest.Pytester,
) -> None:
    """A behaviour difference: the prototype never checked at teardown; we do."""
    result = run_suite(
        worktree,
        """
        import pytest

        def test_forgets(resource_monitor):
            resource_monitor.track_resource("chunker.cache", "file_handle", "cache.db")

        @pytest.mark.allow_resource_leaks
        def test_means_to(resource_monitor):
            resource_monitor.track_resource("chunker.cache", "file_handle", "cache.db")
        """,
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*1 resource leaked (still active at the end, never released):",
            "*cache.db (file_handle) owned by chunker.cache",
            "*mark the test @pytest.mark.allow_resource_leaks*",
        ]
    )


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


# --- sections 12, 13: mock parsers and generated files -------------------------------------------

PARSERS_AND_FILES = """
import pytest


def test_parser_failures(mock_parser_factory):
    mock_parser_factory.configure_failure('python', fail_type='nth_call', n=3)
    parser = mock_parser_factory.get_parser('python')
    parser.parse(b"def test(): pass")
    parser.parse(b"class Foo: pass")
    with pytest.raises(RuntimeError, match="Parser failed on call 3"):
        parser.parse(b"import sys")
    parser.parse(b"x = 1")  # later calls succeed
    assert parser.parse_count == 4


def test_parser_always_and_attributes(mock_parser_factory):
    parser = mock_parser_factory.get_parser("javascript")
    assert mock_parser_factory.get_parser("javascript") is parser
    assert mock_parser_factory.parsers == {"javascript": parser}
    mock_parser_factory.configure_failure("javascript", "always")
    assert parser.fail_on_parse is True
    with pytest.raises(RuntimeError, match="Parser failed for javascript"):
        parser.parse(b"function f() {}")
    parser.fail_on_parse = False
    parser.parse(b"function f() {}", keep_text=True)  # extra keyword arguments are ignored
    parser.fail_on_nth_call = 1
    with pytest.raises(RuntimeError, match="Parser failed on call 1"):
        parser.parse(b"")
    parser.fail_on_nth_call = None
    parser.timeout = 0.01  # the "timeout" mode sleeps, then succeeds
    assert parser.parse(b"x").root_node is not None
    mock_parser_factory.reset()
    assert mock_parser_factory.parsers == {}
    assert mock_parser_factory.get_parser("javascript") is not parser


def test_parser_tree_shape(mock_parser_factory):
    code = b"import os\\n\\ndef handler(event):\\n    return event\\n"
    tree = mock_parser_factory.get_parser("python").parse(code)
    root = tree.root_node
    assert root.type == "module"
    assert (root.start_byte, root.end_byte) == (0, len(code))
    assert root.start_point == (0, 0) and root.end_point[0] == code.count(b"\\n")
    functions = [c for c in root.children if c.type == "function_definition"]
    assert len(functions) == 1 and functions[0].start_byte == code.index(b"def ")
    assert functions[0].children is not None


def test_parser_timeout_default_is_ten_seconds(mock_parser_factory):
    mock_parser_factory.configure_failure("python", "timeout")
    assert mock_parser_factory.get_parser("python").timeout == 10


def test_unknown_fail_type_is_refused(mock_parser_factory):
    with pytest.raises(ValueError, match="unknown fail_type 'sometimes'"):
        mock_parser_factory.configure_failure("python", "sometimes")


def test_file_generator(test_file_generator, temp_workspace):
    gen = test_file_generator
    assert gen.workspace == temp_workspace
    path = gen.create_file("main.py", "print('hi')\\n", subdir="src")
    assert path == temp_workspace / "src" / "main.py"
    assert path.read_text() == "print('hi')\\n"
    top = gen.create_file("top.txt", "x")
    assert top == temp_workspace / "top.txt"
    big = gen.create_large_file("big.py", 1, pattern="handler")
    size = big.stat().st_size
    assert 1024 * 1024 <= size < 1024 * 1024 * 1.01  # close to the target ([DEFECT 2])
    text = big.read_text()
    assert text.count("def handler_") > 1000 and "def function_" not in text
    compile(text, "big.py", "exec")
    js = gen.create_large_file("big.js", 0.5, language="javascript")  # [DEFECT 1] fixed
    assert "function function_" in js.read_text()
    gen.create_large_file("half.py", 0.5)  # [DEFECT 4] fixed: a float size
    syntax = gen.create_error_file("bad.py", "syntax")
    with pytest.raises(SyntaxError):
        compile(syntax.read_bytes(), "bad.py", "exec")
    gen.create_error_file("emoji.py", "unicode").read_text(encoding="utf-8")
    assert b"\\x00" in gen.create_error_file("blob.py", "binary").read_bytes()
    assert gen.generated_files[:3] == [path, top, big]
    assert len(gen.generated_files) == 8


def test_file_generator_refuses_what_would_escape(test_file_generator):
    # [DEFECT 5] fixed.
    for name in ("../outside.py", "/tmp/outside.py"):
        with pytest.raises(ValueError, match="refusing file name"):
            test_file_generator.create_file(name, "x")


def test_file_generator_cleanup(test_file_generator):
    path = test_file_generator.create_file("gone.py", "x")
    test_file_generator.cleanup()
    assert not path.exists()
"""


def test_mock_parsers_and_file_generator(worktree: pytest.Pytester) -> None:
    run_suite(worktree, PARSERS_AND_FILES).assert_outcomes(passed=8)


# --- sections 14, 15, 16: async, counter, performance ---------------------------------------------

RUNNERS = """
import asyncio

import pytest


async def fetch(n, delay=0):
    await asyncio.sleep(delay)
    return n


def test_async_runner_from_sync_code(async_test_runner):
    runner = async_test_runner
    assert runner.loop is None
    assert runner.run(runner.run_parallel(fetch(1), fetch(2, 0.01), fetch(3))) == [1, 2, 3]
    assert runner.loop is not None and len(runner.tasks) == 3
    assert runner.run(runner.run_async(fetch(4))) == 4
    with pytest.raises(TimeoutError):
        runner.run(runner.run_with_timeout(fetch(5, 10), timeout=0.01))


def test_async_runner_with_form_then_teardown(async_test_runner):
    # [DEFECT 17] fixed: the with form plus the fixture's teardown is fine.
    with async_test_runner as runner:
        assert runner.run(fetch(6)) == 6
    async_test_runner.cleanup()


def test_no_closed_loop_is_left_installed():
    # [DEFECT 18] fixed (runs after the tests above).
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            return
    assert not loop.is_closed()


def test_counter(thread_safe_counter):
    assert thread_safe_counter.value == 0
    assert thread_safe_counter.increment() == 1
    assert thread_safe_counter.increment(5) == 6
    assert thread_safe_counter.decrement(2) == 4
    with pytest.raises(AttributeError):
        thread_safe_counter.value = 3


def test_performance_monitor(performance_monitor):
    performance_monitor.start_timing("parse")
    assert performance_monitor.end_timing("parse") >= 0.0
    with performance_monitor.measure("parse") as inside:
        pass
    stats = performance_monitor.get_stats("parse")
    assert stats["count"] == 2 and stats["min"] <= stats["average"] <= stats["max"]
    assert stats["total"] == pytest.approx(sum(performance_monitor.metrics["parse"]))
    assert performance_monitor.get_stats("never") == {}
    assert performance_monitor.end_timing("never") == 0.0
"""


def test_async_counter_and_performance_fixtures(worktree: pytest.Pytester) -> None:
    run_suite(worktree, RUNNERS).assert_outcomes(passed=5)


# --- configuration errors name the ini key ------------------------------------------------


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("itest_module_map =\n    chunk_types chunker", "ini option itest_module_map: line 1"),
        ("itest_key_match = fuzzy", "ini option itest_key_match: key_match must be one of"),
        ("itest_workspace_prefix = a/b", "ini option itest_workspace_prefix: expected the start"),
    ],
)
def test_bad_configuration_is_a_usage_error_naming_the_key(
    pytester: pytest.Pytester, ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
