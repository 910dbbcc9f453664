"""AsyncTestRunner used from async tests on pytest-asyncio's loop, with sync fixtures."""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Iterator
from typing import Any

import pytest

from itest_shared.aio import AsyncTestRunner, UnretrievedTaskError
from tests.aio.support import (
    assert_clean_after_gc,
    fail,
    forever,
    value,
    value_of_running_loop,
)


@pytest.mark.asyncio
async def test_run_parallel_returns_results_in_argument_order(runner: AsyncTestRunner) -> None:
    delays = [0.03, 0.0, 0.02, 0.01]
    results = await runner.run_parallel(*(value(i, d) for i, d in enumerate(delays)))
    assert results == [0, 1, 2, 3]
    assert await runner.run_parallel() == []


@pytest.mark.asyncio
async def test_run_parallel_limit_caps_how_many_run_at_once(runner: AsyncTestRunner) -> None:
    running, peak = 0, 0

    async def tracked(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.002)
        running -= 1
        return i

    assert await runner.run_parallel(*(tracked(i) for i in range(20)), limit=3) == list(range(20))
    assert peak == 3


@pytest.mark.asyncio
async def test_run_parallel_failure_cancels_and_awaits_the_rest(runner: AsyncTestRunner) -> None:
    finished: list[str] = []
    with pytest.raises(ValueError, match="first") as raised:
        await runner.run_parallel(
            forever(finished, "a"),
            fail("first"),  # both fail in the same loop iteration
            fail("second"),
            forever(finished, "b"),
        )
    assert sorted(finished) == ["a", "b"]  # awaited before the raise
    assert raised.value.__notes__ == ["run_parallel: coros[2] also failed: ValueError('second')"]
    assert asyncio.all_tasks() == {asyncio.current_task()}


@pytest.mark.asyncio
async def test_run_parallel_with_return_exceptions(runner: AsyncTestRunner) -> None:
    results = await runner.run_parallel(value(1), fail("x"), value(3), return_exceptions=True)
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], ValueError) and str(results[1]) == "x"


@pytest.mark.asyncio
async def test_run_parallel_cancelled_from_outside_stops_its_children(
    runner: AsyncTestRunner, caplog: pytest.LogCaptureFixture
) -> None:
    finished: list[str] = []
    gated = [forever(finished, str(i)) for i in range(4)]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(runner.run_parallel(*gated, limit=2), 0.02)
    assert sorted(finished) == ["0", "1"]  # the two that got past the limit; the rest closed
    assert all(inspect.getcoroutinestate(c) == inspect.CORO_CLOSED for c in gated)
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert_clean_after_gc(caplog)


@pytest.mark.asyncio
async def test_run_with_timeout(runner: AsyncTestRunner) -> None:
    assert await runner.run_with_timeout(value("in time"), 5) == "in time"
    assert await runner.run_with_timeout(value("no limit"), math.inf) == "no limit"
    finished: list[str] = []
    with pytest.raises(TimeoutError, match=r"did not finish within 0\.02 s"):
        await runner.run_with_timeout(forever(finished, "slow"), 0.02)
    assert finished == ["slow"]

    async def own_timeout() -> None:
        raise TimeoutError("the coroutine's own")

    with pytest.raises(TimeoutError, match="the coroutine's own"):
        await runner.run_with_timeout(own_timeout(), 5)

    async def ignores_cancel() -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            return "ignored"
        return "unreachable"

    # As with asyncio.wait_for: a coroutine that swallows the cancel decides.
    assert await runner.run_with_timeout(ignores_cancel(), 0.01) == "ignored"


@pytest.mark.asyncio
async def test_run_refuses_a_running_loop(runner: AsyncTestRunner) -> None:
    coro = value(1)
    with pytest.raises(RuntimeError, match=r"use `await runner\.run_with_timeout") as raised:
        runner.run(coro)
    # The prototype raised asyncio's own error here; tests may match its wording.
    assert "Cannot run the event loop while another loop is running" in str(raised.value)
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


@pytest.mark.asyncio
async def test_aclose_cancels_awaits_and_reports_on_the_running_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    finished: list[str] = []
    loop = asyncio.get_running_loop()
    runner = AsyncTestRunner()
    pending = runner.create_task(forever(finished, "pending"))
    runner.create_task(fail("unseen"), name="lost")
    await asyncio.sleep(0.01)
    with pytest.raises(UnretrievedTaskError, match="task 'lost': ValueError: unseen"):
        await runner.aclose()
    assert pending.cancelled() and finished == ["pending"]
    assert asyncio.get_running_loop() is loop and not loop.is_closed()
    await runner.aclose()  # idempotent
    assert_clean_after_gc(caplog)


@pytest.mark.asyncio
async def test_aclose_also_closes_the_private_loop(caplog: pytest.LogCaptureFixture) -> None:
    finished: list[str] = []
    async with AsyncTestRunner() as runner:

        def sync_part() -> asyncio.AbstractEventLoop:
            runner.create_task(forever(finished, "private"))
            loop: asyncio.AbstractEventLoop = runner.run(value_of_running_loop())
            return loop

        # A thread has no running loop, so run() works there.
        private = await asyncio.to_thread(sync_part)
        assert private is not asyncio.get_running_loop()
    assert private.is_closed() and finished == ["private"]
    assert_clean_after_gc(caplog)


class Handover:
    """What a fixture hands the test, with what the teardown then checks."""

    def __init__(self, runner: AsyncTestRunner) -> None:
        self.runner = runner
        self.tasks: list[asyncio.Task[Any]] = []
        self.finished: list[str] = []
        self.reported: list[tuple[str, str]] = []


@pytest.fixture
def sync_fixture_runner() -> Iterator[Handover]:
    """What a sync fixture does: close() in teardown, after an async test used the runner.

    (With pytest-asyncio 1.x the test's loop is usually closed by then, its
    pending tasks already cancelled; close() must cope either way.)
    """
    handover = Handover(AsyncTestRunner())
    yield handover
    handover.runner.close()
    assert handover.tasks and handover.tasks[0].cancelled()
    assert handover.finished == ["left"]


@pytest.mark.asyncio
async def test_a_sync_fixture_cleans_up_after_an_async_test(
    sync_fixture_runner: Handover,
) -> None:
    runner = sync_fixture_runner.runner
    sync_fixture_runner.tasks.append(
        runner.create_task(forever(sync_fixture_runner.finished, "left"))
    )
    assert await runner.run_parallel(value(1)) == [1]


@pytest.fixture
def reporting_runner() -> Iterator[Handover]:
    """A sync fixture feeding failures to a callback, as the error-tracking fixture will."""
    reported: list[tuple[str, str]] = []
    handover = Handover(
        AsyncTestRunner(on_error=lambda e, t: reported.append((t.get_name(), str(e))))
    )
    yield handover
    handover.runner.close()
    assert reported == [("lost", "unseen")]


@pytest.mark.asyncio
async def test_failures_on_pytest_asyncio_loop_reach_a_sync_fixture(
    reporting_runner: Handover,
) -> None:
    reporting_runner.runner.create_task(fail("unseen"), name="lost")
    await asyncio.sleep(0.01)
