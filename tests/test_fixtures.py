"""The pytest plugin end to end: small suites run with pytester against itest_shared.fixtures."""

from __future__ import annotations

import pathlib
import textwrap

import pytest

from itest_shared.fixtures import MARKERS, parse_grace_period, parse_start_method
from tests.helpers import CONFTEST, INI

START_METHODS = ["fork", "spawn", "forkserver"]


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A worktree whose conftest.py loads the plugin."""
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    return pytester


# -- the plugin itself ------------------------------------------------------------------


def test_nothing_is_active_without_opting_in(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("def test_it(temp_workspace): pass")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'temp_workspace' not found*"])


def test_loading_with_dash_p_works_too(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile("def test_it(temp_workspace): assert temp_workspace.is_dir()")
    pytester.runpytest("-p", "itest_shared.fixtures").assert_outcomes(passed=1)


def test_markers_are_registered_for_strict_markers(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        "import pytest\n"
        + "".join(f"@pytest.mark.{name}\ndef test_{name}(): pass\n" for name in MARKERS)
    )
    suite.runpytest("--strict-markers").assert_outcomes(passed=len(MARKERS))
    result = suite.runpytest("--markers")
    for name in ("integration", "e2e", "performance", "stress", "concurrent", "slow"):
        result.stdout.fnmatch_lines([f"@pytest.mark.{name}:*"])


def test_options_are_in_one_group_with_the_itest_prefix(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "itest-shared*",
            "*--itest-start-method=METHOD*",
            "*--itest-grace-period=SECONDS*",
            "*--itest-leak-audit*",
        ]
    )
    result.stdout.fnmatch_lines(["*itest_start_method*", "*itest_leak_audit*"])


def test_bad_option_values_are_usage_errors_naming_them(suite: pytest.Pytester) -> None:
    suite.makepyfile("def test_it(): pass")
    result = suite.runpytest("--itest-start-method=thread")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--itest-start-method*unknown start method 'thread'*"])
    result = suite.runpytest("--itest-grace-period=-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    suite.makeini(INI + "itest_start_method = threads\n")
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*itest_start_method*unknown start method 'threads'*"])


@pytest.mark.parametrize(
    ("value", "expected"), [("fork", "fork"), (" spawn ", "spawn"), ("", None)]
)
def test_parse_start_method(value: str, expected: str | None) -> None:
    assert parse_start_method(value) == expected


@pytest.mark.parametrize("value", ["threads", "Fork", "fork,spawn"])
def test_parse_start_method_refuses(value: str) -> None:
    with pytest.raises(Exception, match="fork, spawn, forkserver"):
        parse_start_method(value)


def test_parse_grace_period() -> None:
    assert parse_grace_period("2.5") == 2.5
    assert parse_grace_period("0") == 0.0
    for bad in ("-1", "nan", "inf", "soon"):
        with pytest.raises(Exception, match="expected"):
            parse_grace_period(bad)


# -- every fixture, used from a worktree --------------------------------------------------


def test_every_fixture_is_available(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        textwrap.dedent(
            """
            import asyncio

            def test_all(temp_workspace, sample_code_files, error_tracking_context,
                         config_change_tracker, resource_monitor, parallel_test_environment,
                         mock_parser_factory, test_file_generator, async_test_runner,
                         thread_safe_counter, performance_monitor):
                assert sorted(p.name for p in temp_workspace.iterdir()) == [
                    "cache", "output", "src", "tests"]
                assert list(sample_code_files) == [f"example.{e}" for e in ("py", "js", "rs", "c")]
                ctx = error_tracking_context.capture_and_propagate("a", "b", ValueError("x"))
                assert error_tracking_context.get_error_chain() == [ctx]
                config_change_tracker.on_config_change("k", 1, 2)
                assert [e.config_path for e in config_change_tracker.change_log] == ["k"]
                resource_monitor.track_resource("m", "file", "f")
                resource_monitor.release_resource("f")
                resource_monitor.assert_no_leaks()
                assert parallel_test_environment.workspace.is_dir()
                tree = mock_parser_factory.get_parser("python").parse(b"def f(): pass")
                assert tree.root_node.children
                path = test_file_generator.create_file("x.py", "x = 1")
                assert path.read_text() == "x = 1"
                assert async_test_runner.run(asyncio.sleep(0, result=5)) == 5
                assert thread_safe_counter.increment() == 1
                with performance_monitor.measure("op"):
                    pass
                assert performance_monitor.get_stats("op").count == 1
            """
        )
    )
    suite.runpytest().assert_outcomes(passed=1)


def test_the_module_map_comes_from_an_overridable_fixture(suite: pytest.Pytester) -> None:
    suite.makeconftest(
        CONFTEST
        + textwrap.dedent(
            """
            import pytest

            @pytest.fixture
            def itest_module_map():
                return {"chunk_types": ["chunker.chunker"]}
            """
        )
    )
    suite.makepyfile(
        textwrap.dedent(
            """
            def test_map(config_change_tracker):
                event = config_change_tracker.on_config_change(
                    "languages.python.chunk_types", [], ["class"])
                assert event.affected_modules == ["chunker.chunker"]
                assert config_change_tracker.change_log == [event]
            """
        )
    )
    suite.runpytest().assert_outcomes(passed=1)


def test_resources_left_active_fail_the_test_with_their_names(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        textwrap.dedent(
            """
            def test_leaky(resource_monitor):
                resource_monitor.track_resource("chunker.cache", "file_handle", "cache.db")
                resource_monitor.track_resource("chunker.parallel", "process", "worker_1")
                resource_monitor.release_resource("worker_1")

            def test_clean(resource_monitor):
                resource_monitor.track_resource("chunker.parallel", "process", "worker_2")
                resource_monitor.release_resource("worker_2")
            """
        )
    )
    result = suite.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*cache.db*file_handle*chunker.cache*"])
    assert "worker_1" not in result.stdout.str()


# -- the SPEC's examples, verbatim but for the import -----------------------------------


SPEC_RESOURCE_EXAMPLE = """
def test_resource_cleanup(resource_monitor):
    # Track resource allocation
    resource_monitor.track_resource(
        module='chunker.parallel',
        resource_type='process',
        resource_id='worker_12345'
    )

    # Simulate work...

    # Release resource
    resource_monitor.release_resource('worker_12345')

    # Verify cleanup
    resource_monitor.assert_no_leaks('chunker.parallel')
"""

SPEC_PARALLEL_EXAMPLE = """
def test_concurrent_operations(parallel_test_environment):
    with parallel_test_environment as env:
        # Create synchronized workers
        lock = env.create_shared_lock('data_lock')
        queue = env.create_queue('results')

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
            results.append(queue.get(timeout=5))

        # Cleanup happens automatically
        assert sorted(results) == [f"Result from {i}" for i in range(4)]
"""

SPEC_PARSER_EXAMPLE = """
import pytest

def test_parser_failures(mock_parser_factory):
    # Configure parser to fail on 3rd call
    mock_parser_factory.configure_failure(
        'python',
        fail_type='nth_call',
        n=3
    )

    parser = mock_parser_factory.get_parser('python')

    # First two calls succeed
    parser.parse(b"def test(): pass")
    parser.parse(b"class Foo: pass")

    # Third call fails
    with pytest.raises(RuntimeError):
        parser.parse(b"import sys")
"""


def test_spec_examples_work_verbatim(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_resources=SPEC_RESOURCE_EXAMPLE, test_parsers=SPEC_PARSER_EXAMPLE)
    suite.runpytest().assert_outcomes(passed=2)


@pytest.mark.parametrize("method", START_METHODS)
def test_spec_parallel_example_under_every_start_method(
    suite: pytest.Pytester, method: str
) -> None:
    suite.makepyfile(SPEC_PARALLEL_EXAMPLE)
    result = suite.runpytest_subprocess(f"--itest-start-method={method}")
    result.assert_outcomes(passed=1)


# -- workers that fail, hang or leak -------------------------------------------------------


def test_a_worker_that_raises_fails_the_test_with_its_traceback(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        textwrap.dedent(
            """
            def explode(n):
                raise ValueError(f"worker {n} exploded")

            def test_not_joined(parallel_test_environment):
                env = parallel_test_environment
                env.create_worker_process(explode, args=(7,), name="w7").start()

            def test_joined(parallel_test_environment):
                env = parallel_test_environment
                env.create_worker_process(explode, args=(8,), name="w8").start()
                env.join_all(timeout=30)
            """
        )
    )
    result = suite.runpytest_subprocess("--itest-start-method=spawn")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    output = result.stdout.str()
    assert "w7" in output and "ValueError: worker 7 exploded" in output
    assert "w8" in output and "ValueError: worker 8 exploded" in output
    assert "in explode" in output  # the remote traceback, not just the message


def test_a_hung_worker_is_killed_at_teardown_within_the_grace_period(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(
        textwrap.dedent(
            """
            import os, signal, time

            def hang(path):
                signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL will do
                with open(path, "w") as f:
                    f.write(str(os.getpid()))
                while True:
                    time.sleep(1)

            def test_hangs(parallel_test_environment, tmp_path):
                pidfile = tmp_path / "pid"
                parallel_test_environment.create_worker_process(hang, args=(str(pidfile),)).start()
                while not pidfile.exists() or not pidfile.read_text():
                    time.sleep(0.01)
                (tmp_path.parent / "hung.pid").write_text(pidfile.read_text())
            """
        )
    )
    result = suite.runpytest_subprocess("--itest-grace-period=0.5", "--itest-start-method=fork")
    result.assert_outcomes(passed=1)
    pid = int(next(suite.path.rglob("hung.pid")).read_text())
    psutil = pytest.importorskip("psutil")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_leak_audit_reports_threads_and_child_processes_by_name(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        textwrap.dedent(
            """
            import subprocess, threading, time
            import pytest

            stop = threading.Event()
            children = []

            @pytest.mark.leak_audit
            def test_leaks_a_thread():
                threading.Thread(target=stop.wait, name="forgotten-poller", daemon=True).start()

            @pytest.mark.leak_audit
            def test_leaks_a_child():
                children.append(subprocess.Popen(["sleep", "30"]))

            @pytest.mark.leak_audit
            def test_cleans_up():
                t = threading.Thread(target=time.sleep, args=(0.01,), name="tidy")
                t.start()
                t.join()

            def test_zz_cleanup():
                stop.set()
                for child in children:
                    child.kill()
                    child.wait()
            """
        )
    )
    result = suite.runpytest("--itest-grace-period=0.2")
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(["*forgotten-poller*"])
    result.stdout.fnmatch_lines(["*sleep 30*"])
    assert "tidy" not in result.stdout.str()


# -- async, threads and xdist ------------------------------------------------------------


def test_async_test_runner_in_sync_and_async_tests(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        textwrap.dedent(
            """
            import asyncio
            import pytest

            @pytest.mark.asyncio
            async def test_async(async_test_runner):
                runner = async_test_runner
                assert await runner.run_parallel(
                    asyncio.sleep(0, result=1), asyncio.sleep(0, result=2), limit=1) == [1, 2]
                assert await runner.run_with_timeout(asyncio.sleep(0, result=3), 5) == 3
                with pytest.raises(TimeoutError):
                    await runner.run_with_timeout(asyncio.sleep(3600), 0.01)
                runner.create_task(asyncio.sleep(3600), name="left-pending")

            @pytest.mark.asyncio
            async def test_a_later_async_test_still_works():
                assert await asyncio.sleep(0, result=5) == 5

            def test_sync(async_test_runner):
                assert async_test_runner.run(asyncio.sleep(0, result=4)) == 4

            def test_unretrieved(async_test_runner):
                async def boom():
                    raise ValueError("nobody looked at me")

                async def start_and_leave():
                    async_test_runner.create_task(boom(), name="boom-task")
                    await asyncio.sleep(0.01)

                async_test_runner.run(start_and_leave())
            """
        )
    )
    result = suite.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4, errors=1)
    output = result.stdout.str() + result.stderr.str()
    assert "boom-task" in output and "nobody looked at me" in output
    assert "Task was destroyed" not in output
    assert "never awaited" not in output


def test_uncaught_errors_of_threads_reach_error_tracking_context(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        textwrap.dedent(
            """
            import threading
            import pytest

            @pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
            def test_thread(error_tracking_context):
                thread = threading.Thread(target=lambda: 1 / 0, name="divider")
                thread.start()
                thread.join()
                [context] = error_tracking_context.get_error_chain()
                assert context.error_type == "ZeroDivisionError"
                assert context.source_module == "thread:divider"
            """
        )
    )
    suite.runpytest().assert_outcomes(passed=1)


def test_the_plugin_behaves_the_same_under_xdist(suite: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    suite.makepyfile(
        textwrap.dedent(
            """
            import os
            import pytest

            def square(queue, n):
                queue.put(n * n)

            @pytest.mark.parametrize("n", range(4))
            def test_worker(parallel_test_environment, resource_monitor, n):
                env = parallel_test_environment
                queue = env.create_queue("q")
                env.create_worker_process(square, args=(queue, n)).start()
                assert queue.get(timeout=30) == n * n
                env.join_all(timeout=30)
                resource_monitor.track_resource("m", "worker", f"w{n}")
                resource_monitor.release_resource(f"w{n}")
                assert os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw")
            """
        )
    )
    result = suite.runpytest_subprocess("-n", "2", "--itest-start-method=forkserver")
    result.assert_outcomes(passed=4)


def test_the_readme_fixture_examples_run(suite: pytest.Pytester) -> None:
    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("### One example per fixture", 1)[1].split("\n## ", 1)[0]
    blocks = [part.split("```", 1)[0] for part in section.split("```python\n")[1:]]
    preamble = textwrap.dedent(
        """
        import asyncio
        import pytest

        async def fetch(n):
            await asyncio.sleep(0)
            return n

        def parse_everything():
            pass
        """
    )
    suite.makepyfile(test_readme=preamble + "\n\n".join(blocks))
    result = suite.runpytest()
    result.assert_outcomes(passed=14)
