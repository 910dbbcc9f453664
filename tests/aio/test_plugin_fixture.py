"""The async_test_runner fixture of the plugin, end to end in pytester runs."""

from __future__ import annotations

import textwrap

import pytest

from tests.helpers import INI

PROTOTYPE_STYLE = """
import asyncio
import warnings

import pytest


async def c1():
    await asyncio.sleep(0.001)
    return 1


async def c2():
    return 2


async def slow():
    await asyncio.sleep(3600)


def installed_loop():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return asyncio.get_event_loop_policy()._local._loop


def test_parallel(async_test_runner):
    runner = async_test_runner
    assert runner.loop is None
    assert runner.run(runner.run_parallel(c1(), c2())) == [1, 2]
    assert runner.loop is not None and not runner.loop.is_closed()
    assert runner.run(runner.run_parallel(c2())) == [2]
    assert [task.result() for task in runner.tasks] == [1, 2, 2]
    assert runner.run(runner.run_async(c1())) == 1


def test_timeout(async_test_runner):
    with pytest.raises(TimeoutError):
        async_test_runner.run(async_test_runner.run_with_timeout(slow(), 0.01))


def test_with_form_then_teardown(async_test_runner):
    with async_test_runner as r:
        assert r.run(r.run_parallel(c1(), c2())) == [1, 2]
    assert r.loop.is_closed()
    assert installed_loop() is not r.loop


def test_cleanup_then_teardown(async_test_runner):
    async_test_runner.run(c1())
    async_test_runner.cleanup()
    async_test_runner.cleanup()


def test_tasks_of_another_closed_loop(async_test_runner):
    assert asyncio.run(async_test_runner.run_parallel(c1(), c2())) == [1, 2]
    assert async_test_runner.run(c1()) == 1


@pytest.mark.asyncio
async def test_async(async_test_runner):
    assert await async_test_runner.run_parallel(c1(), c2()) == [1, 2]
    assert await async_test_runner.run_async(c2()) == 2
    with pytest.raises(asyncio.TimeoutError):
        await async_test_runner.run_with_timeout(slow(), 0.01)
    assert len(async_test_runner.tasks) == 2
    assert async_test_runner.loop is None


def test_no_closed_loop_left_installed():
    loop = installed_loop()
    assert loop is None or not loop.is_closed()
"""


@pytest.fixture
def plugin_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A worktree whose conftest.py loads the plugin."""
    pytester.makeini(INI)
    pytester.makeconftest('pytest_plugins = ["itest_shared.fixtures"]\n')
    return pytester


def assert_no_loop_trouble(result: pytest.RunResult) -> None:
    output = result.stdout.str() + result.stderr.str()
    for trouble in ("Event loop is closed", "never awaited", "Task was destroyed", "unclosed"):
        assert trouble not in output


def test_a_prototype_style_module_passes_unchanged(plugin_suite: pytest.Pytester) -> None:
    plugin_suite.makepyfile(test_prototype_style=PROTOTYPE_STYLE)
    result = plugin_suite.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=7)
    assert_no_loop_trouble(result)


def test_the_with_form_reports_a_lost_failure_once_at_teardown(
    plugin_suite: pytest.Pytester,
) -> None:
    plugin_suite.makepyfile(
        textwrap.dedent(
            """
            import asyncio

            async def boom():
                raise ValueError("nobody looked at me")

            def test_lost(async_test_runner):
                with async_test_runner as r:
                    r.create_task(boom(), name="boom-task")
                    r.run(asyncio.sleep(0.01))
            """
        )
    )
    result = plugin_suite.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "E *UnretrievedTaskError: 1 task(s) started by AsyncTestRunner failed*",
            "E *task 'boom-task': ValueError: nobody looked at me",
        ]
    )
    assert result.stdout.str().count("task 'boom-task': ValueError") == 1  # reported once
    assert_no_loop_trouble(result)


def test_async_tests_use_async_with_and_get_told_so(plugin_suite: pytest.Pytester) -> None:
    plugin_suite.makepyfile(
        textwrap.dedent(
            """
            import asyncio
            import pytest

            @pytest.mark.asyncio
            async def test_async_with(async_test_runner):
                async with async_test_runner as r:
                    assert await r.run_parallel(asyncio.sleep(0, result=1)) == [1]
                    r.create_task(asyncio.sleep(3600))

            @pytest.mark.asyncio
            async def test_sync_with(async_test_runner):
                with async_test_runner as r:
                    assert await r.run_parallel(asyncio.sleep(0, result=1)) == [1]
            """
        )
    )
    result = plugin_suite.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*close() cannot run while an event loop is running*async with*"])
    assert_no_loop_trouble(result)
