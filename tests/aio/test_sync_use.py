"""AsyncTestRunner used from sync code: run() on its private loop, tasks, teardown."""

from __future__ import annotations

import asyncio
import inspect
import threading

import pytest

from itest_shared.aio import AsyncTestRunner, UnretrievedTaskError
from tests.aio.support import (
    assert_clean_after_gc,
    fail,
    forever,
    policy,
    policy_loop,
    value,
    value_of_running_loop,
)


def test_run_returns_the_result_and_leaves_the_global_loop_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before, policy_before = policy_loop(), policy()
    runner = AsyncTestRunner()
    assert runner.run(value(42)) == 42
    assert runner.run(value("again")) == "again"
    assert policy_loop() is before
    assert asyncio._get_running_loop() is None
    runner.close()
    assert policy_loop() is before and policy() is policy_before
    assert_clean_after_gc(caplog)


def test_a_loop_set_by_someone_else_stays_set_and_open(caplog: pytest.LogCaptureFixture) -> None:
    theirs = asyncio.new_event_loop()
    asyncio.set_event_loop(theirs)
    try:
        with AsyncTestRunner() as runner:
            own = runner.run(value_of_running_loop())
            assert own is not theirs
            assert policy_loop() is theirs
        assert policy_loop() is theirs and not theirs.is_closed()
        assert own.is_closed()
    finally:
        asyncio.set_event_loop(None)
        theirs.close()
    assert_clean_after_gc(caplog)


def test_run_raises_what_the_coroutine_raised_and_close_does_not_repeat_it(
    runner: AsyncTestRunner,
) -> None:
    with pytest.raises(ValueError, match="boom"):
        runner.run(fail())
    runner.close()  # retrieved by run(): nothing to report


def test_run_with_timeout_cancels_and_awaits_the_coroutine(runner: AsyncTestRunner) -> None:
    finished: list[str] = []
    with pytest.raises(TimeoutError, match=r"forever did not finish within 0\.05 s"):
        runner.run(forever(finished, "slow"), timeout=0.05)
    assert finished == ["slow"]


def test_background_tasks_progress_during_run_and_are_cancelled_at_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    finished: list[str] = []
    runner = AsyncTestRunner()
    done = runner.create_task(value("background"), name="quick")
    pending = runner.create_task(forever(finished, "background"), name="slow")
    runner.run(value(None, 0.01))
    assert done.result() == "background" and not pending.done()
    runner.close()
    assert pending.cancelled() and finished == ["background"]
    assert_clean_after_gc(caplog)


def test_tasks_the_coroutines_create_themselves_are_cleaned_up_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    finished: list[str] = []
    spawned: list[asyncio.Task[None]] = []

    async def spawn() -> None:
        # Referenced only here and by the runner, never awaited by the test.
        spawned.append(asyncio.create_task(forever(finished, "orphan")))
        await asyncio.sleep(0)

    runner = AsyncTestRunner()
    runner.run(spawn())
    runner.close()
    assert finished == ["orphan"]
    assert_clean_after_gc(caplog)


def test_pending_tasks_are_cancelled_even_if_the_task_factory_was_replaced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    finished: list[str] = []
    spawned: list[asyncio.Task[None]] = []

    async def spawn() -> None:
        asyncio.get_running_loop().set_task_factory(None)
        spawned.append(asyncio.create_task(forever(finished, "untracked")))
        await asyncio.sleep(0)

    runner = AsyncTestRunner()
    runner.run(spawn())
    runner.close()
    assert finished == ["untracked"]
    assert_clean_after_gc(caplog)


def test_an_exception_nobody_retrieved_is_raised_after_cleanup(
    caplog: pytest.LogCaptureFixture,
) -> None:
    finished: list[str] = []
    spawned: list[asyncio.Task[None]] = []

    async def spawn() -> None:
        spawned.append(asyncio.create_task(fail("unseen"), name="orphan"))
        await asyncio.sleep(0.01)

    runner = AsyncTestRunner()
    runner.create_task(forever(finished, "other"))
    runner.run(spawn())
    with pytest.raises(UnretrievedTaskError) as raised:
        runner.close()
    assert raised.value.task_names == ("orphan",)
    assert [str(e) for e in raised.value.errors] == ["unseen"]
    assert isinstance(raised.value.__cause__, ValueError)
    assert "task 'orphan': ValueError: unseen" in str(raised.value)
    assert finished == ["other"]  # cleanup happened before the error
    runner.close()  # idempotent: reported once
    assert_clean_after_gc(caplog)  # reported by us, so asyncio does not log it again


def test_on_error_receives_each_failure_instead_of_a_raise() -> None:
    seen: list[tuple[str, str]] = []
    runner = AsyncTestRunner(
        on_error=lambda error, task: seen.append((task.get_name(), str(error)))
    )
    runner.create_task(fail("first"), name="a")
    runner.create_task(fail("second"), name="b")
    runner.run(value(None, 0.01))
    runner.close()
    assert sorted(seen) == [("a", "first"), ("b", "second")]


def test_retrieved_failures_are_not_reported(runner: AsyncTestRunner) -> None:
    task = runner.create_task(fail())
    runner.run(value(None, 0.01))
    assert isinstance(task.exception(), ValueError)
    runner.close()


def test_close_is_idempotent_and_a_closed_runner_refuses_work(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = AsyncTestRunner()
    runner.close()
    runner.close()
    refused = value(1)
    with pytest.raises(RuntimeError, match=r"run\(\): this AsyncTestRunner is closed"):
        runner.run(refused)
    assert inspect.getcoroutinestate(refused) == inspect.CORO_CLOSED
    with pytest.raises(RuntimeError, match="closed"):
        runner.create_task(value(1))
    assert_clean_after_gc(caplog)


def test_close_without_use_creates_no_loop() -> None:
    runner = AsyncTestRunner()
    runner.close()
    assert runner._loop is None and runner._tasks == {}


def test_run_refuses_a_second_thread_while_one_is_running(runner: AsyncTestRunner) -> None:
    started, release = threading.Event(), threading.Event()

    async def hold() -> str:
        started.set()
        while not release.is_set():
            await asyncio.sleep(0.001)
        return "held"

    results: list[str] = []
    thread = threading.Thread(target=lambda: results.append(runner.run(hold())))
    thread.start()
    assert started.wait(10)
    refused = value(1)
    with pytest.raises(RuntimeError, match="already running in another thread"):
        runner.run(refused)
    with pytest.raises(RuntimeError, match="while run\\(\\) is running"):
        runner.close()
    release.set()
    thread.join(10)
    assert results == ["held"]
    assert inspect.getcoroutinestate(refused) == inspect.CORO_CLOSED


def test_close_and_aclose_refuse_the_wrong_context(runner: AsyncTestRunner) -> None:
    async def inside() -> None:
        with pytest.raises(RuntimeError, match=r"use `await runner\.aclose"):
            runner.close()
        with pytest.raises(RuntimeError, match="aclose\\(\\) cannot run inside run\\(\\)"):
            await runner.aclose()

    runner.run(inside())
