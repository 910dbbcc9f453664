"""AsyncTestRunner tasks on foreign loops: idle, closed, running in another thread."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
from collections.abc import Coroutine
from typing import Any

import pytest

from itest_shared.aio import AsyncTestRunner, UnretrievedTaskError
from tests.aio.support import forever, policy_loop, value
from tests.helpers import run_together


def test_close_cleans_tasks_on_an_idle_foreign_loop_without_closing_it() -> None:
    finished: list[str] = []
    runner = AsyncTestRunner()
    loop = asyncio.new_event_loop()
    try:

        async def start() -> None:
            runner.create_task(forever(finished, "foreign"))
            await runner.run_parallel(value(1), value(2))

        loop.run_until_complete(start())
        runner.close()
        assert finished == ["foreign"]
        assert not loop.is_closed() and policy_loop() is not loop
    finally:
        loop.close()


def test_a_task_stuck_after_cancel_is_reported_once_the_timeout_passes() -> None:
    release = False

    async def stubborn() -> str:
        while True:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.005)
            if release:
                return "finally"

    runner = AsyncTestRunner(cancel_timeout=0.1)
    loop = asyncio.new_event_loop()
    try:
        task = loop.run_until_complete(start_task(runner, stubborn()))
        with pytest.raises(UnretrievedTaskError, match=r"still running 0\.1 s after it was cancel"):
            runner.close()
        release = True
        assert loop.run_until_complete(task) == "finally"
    finally:
        loop.close()


async def start_task(runner: AsyncTestRunner, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    return runner.create_task(coro)


def test_tasks_left_pending_on_a_closed_loop_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    runner = AsyncTestRunner()
    loop = asyncio.new_event_loop()
    task = loop.run_until_complete(start_task(runner, forever()))
    loop.close()
    with pytest.raises(UnretrievedTaskError, match="event loop was closed before teardown"):
        runner.close()
    del task
    with caplog.at_level(logging.CRITICAL, logger="asyncio"):
        gc.collect()  # asyncio logs "Task was destroyed but it is pending": expected here


def test_close_cleans_tasks_on_a_loop_running_in_another_thread() -> None:
    finished: list[str] = []
    runner = AsyncTestRunner()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        future = asyncio.run_coroutine_threadsafe(start_task(runner, forever(finished, "x")), loop)
        task = future.result(10)
        runner.close()
        assert task.cancelled() and finished == ["x"]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_contention_many_threads_with_their_own_loops(contention: None) -> None:
    """16 threads x 2,000 coroutines through one runner: every result, every task listed once."""
    runner = AsyncTestRunner()
    results: list[list[int]] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        offset = index * 10_000

        async def main() -> list[int]:
            runner.create_task(forever())  # left for asyncio.run to cancel
            return await runner.run_parallel(*(value(offset + i) for i in range(2_000)))

        out = asyncio.run(main())
        with lock:
            results.append(out)

    run_together(worker)
    assert sorted(r[0] for r in results) == [n * 10_000 for n in range(16)]
    assert all(r == list(range(r[0], r[0] + 2_000)) for r in results)
    # Each call's tasks in argument order, the calls' blocks in some order.
    listed = [task.result() for task in runner.tasks]
    blocks = sorted(listed[i : i + 2_000] for i in range(0, len(listed), 2_000))
    assert len(listed) == 32_000 and blocks == sorted(results)
    runner.close()
    assert runner._tasks == {}
