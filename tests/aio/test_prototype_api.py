"""AsyncTestRunner: the prototype's API (COMPAT.md section 14) and its defects 17-19."""

from __future__ import annotations

import asyncio

import pytest

from itest_shared.aio import AsyncTestRunner, UnretrievedTaskError
from tests.aio.support import (
    assert_clean_after_gc,
    fail,
    forever,
    policy_loop,
    value,
    value_of_running_loop,
)


def test_run_async_awaits_and_returns_starting_no_task(caplog: pytest.LogCaptureFixture) -> None:
    runner = AsyncTestRunner()
    assert runner.run(runner.run_async(value(5))) == 5
    with pytest.raises(ValueError, match="boom"):
        runner.run(runner.run_async(fail()))

    async def inside() -> None:
        started = set(runner._tasks.get(asyncio.get_running_loop(), ()))
        assert await runner.run_async(value("coroutine")) == "coroutine"
        future = asyncio.get_running_loop().create_future()
        future.set_result("future")
        assert await runner.run_async(future) == "future"
        assert set(runner._tasks.get(asyncio.get_running_loop(), ())) == started
        with pytest.raises(TypeError, match=r"coro must be an awaitable.*got <function value"):
            await runner.run_async(value)  # type: ignore[arg-type]

    runner.run(inside())
    assert runner.tasks == []
    runner.close()
    assert_clean_after_gc(caplog)


@pytest.mark.asyncio
async def test_run_async_works_on_a_closed_runner() -> None:
    runner = AsyncTestRunner()
    await runner.aclose()
    assert await runner.run_async(value(1)) == 1


def test_cleanup_is_close_under_the_prototypes_name(caplog: pytest.LogCaptureFixture) -> None:
    finished: list[str] = []
    runner = AsyncTestRunner()
    pending = runner.create_task(forever(finished, "pending"))
    runner.create_task(fail("unseen"), name="lost")
    runner.run(value(None, 0.01))
    with pytest.raises(UnretrievedTaskError, match="task 'lost': ValueError: unseen"):
        runner.cleanup()
    assert pending.cancelled() and finished == ["pending"]
    assert runner.loop is not None and runner.loop.is_closed()
    runner.cleanup()  # idempotent, in either order with close()
    runner.close()
    with pytest.raises(RuntimeError, match=r"run\(\): this AsyncTestRunner is closed"):
        runner.run(value(1))
    assert_clean_after_gc(caplog)


def test_cleanup_refuses_a_running_loop_and_names_the_async_form(runner: AsyncTestRunner) -> None:
    async def inside() -> None:
        with pytest.raises(RuntimeError, match=r"cleanup\(\) cannot run while an event loop"):
            runner.cleanup()
        with (
            pytest.raises(RuntimeError, match="`async with runner:` instead of `with runner:`"),
            runner,
        ):
            pass

    runner.run(inside())
    runner.run(value(None))  # neither refused call closed it


def test_loop_is_none_until_run_then_the_private_loop_kept_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = policy_loop()
    runner = AsyncTestRunner()
    assert runner.loop is None
    own = runner.run(value_of_running_loop())
    assert runner.loop is own and not own.is_closed()
    assert runner.run(value_of_running_loop()) is own  # reused
    assert policy_loop() is before  # never installed as the thread's loop
    runner.close()
    assert runner.loop is own and own.is_closed()
    assert policy_loop() is before
    assert_clean_after_gc(caplog)


def test_loop_stays_none_without_run_or_private_tasks() -> None:
    runner = AsyncTestRunner()

    async def elsewhere() -> list[int]:
        return await runner.run_parallel(value(1))

    assert asyncio.run(elsewhere()) == [1]
    assert runner.loop is None
    runner.close()
    assert runner.loop is None
    made = AsyncTestRunner()
    made.create_task(value(1))  # from sync code: on the runner's own loop, so it exists now
    assert made.loop is not None
    made.close()


def test_tasks_lists_every_run_parallel_task_across_calls_and_nothing_else(
    runner: AsyncTestRunner,
) -> None:
    async def use() -> None:
        assert await runner.run_parallel(value(1, 0.002), value(2)) == [1, 2]
        runner.create_task(value("background"))
        await runner.run_with_timeout(value("timed"), 5)
        assert await runner.run_parallel(value(3), limit=1) == [3]

    runner.run(use())
    listed = runner.tasks
    assert [task.result() for task in listed] == [1, 2, 3]
    assert [task.get_name() for task in listed] == [
        "run_parallel[0] value",
        "run_parallel[1] value",
        "run_parallel[0] value",
    ]
    listed.clear()  # a copy: the runner's list is untouched
    assert len(runner.tasks) == 3


def test_tasks_show_what_a_failed_run_parallel_did_to_the_others(runner: AsyncTestRunner) -> None:
    with pytest.raises(ValueError, match="first"):
        runner.run(runner.run_parallel(value(1), fail("first"), forever()))
    done, failed, stopped = runner.tasks
    assert done.result() == 1 and str(failed.exception()) == "first" and stopped.cancelled()


def test_prototype_style_sync_use_then_cleanup(caplog: pytest.LogCaptureFixture) -> None:
    before = policy_loop()
    runner = AsyncTestRunner()
    assert runner.run(runner.run_parallel(value(1, 0.002), value(2))) == [1, 2]
    with pytest.raises(asyncio.TimeoutError):  # the built-in TimeoutError
        runner.run(runner.run_with_timeout(forever(), 0.01))
    with runner as again:  # defect 17: the with form, then the fixture's cleanup()
        assert again.run(value(3)) == 3
    runner.cleanup()
    assert policy_loop() is before  # defect 18: no closed loop left installed
    assert_clean_after_gc(caplog)


def test_tasks_of_another_closed_loop_do_not_break_cleanup() -> None:
    """Defect 19: run_parallel on a loop asyncio.run closed, then run() on the runner's own."""
    runner = AsyncTestRunner()
    assert asyncio.run(runner.run_parallel(value(1), value(2))) == [1, 2]
    assert runner.run(value(3)) == 3
    assert runner.tasks[0].get_loop().is_closed()
    runner.cleanup()
