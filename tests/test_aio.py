"""AsyncTestRunner: sync and async use, the global loop left alone, teardown, bad input."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
import math
import pickle
import textwrap
import threading
import warnings
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared.aio import AsyncTestRunner, UnretrievedTaskError
from tests.helpers import run_together


async def value(result: Any, delay: float = 0.0) -> Any:
    await asyncio.sleep(delay)
    return result


async def fail(message: str = "boom", delay: float = 0.0) -> None:
    await asyncio.sleep(delay)
    raise ValueError(message)


async def forever(finished: list[str] | None = None, tag: str = "") -> None:
    try:
        await asyncio.sleep(3600)
    finally:
        if finished is not None:
            finished.append(tag)


def policy() -> asyncio.AbstractEventLoopPolicy:
    """The global event loop policy (its API is deprecated from 3.14 on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return asyncio.get_event_loop_policy()


def policy_loop() -> asyncio.AbstractEventLoop | None:
    """The loop set as current for this thread, read without creating one."""
    loop: asyncio.AbstractEventLoop | None = policy()._local._loop  # type: ignore[attr-defined]
    return loop


def assert_clean_after_gc(caplog: pytest.LogCaptureFixture) -> None:
    """No warning (unclosed loop, unawaited coroutine) and no asyncio complaint at GC."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert [str(w.message) for w in caught] == []
    complaints = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert complaints == []


@pytest.fixture
def runner() -> Iterator[AsyncTestRunner]:
    with AsyncTestRunner() as runner:
        yield runner


# --- sync use: the private loop ----------------------------------------------------


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


async def value_of_running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


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


# --- foreign loops: idle, closed, running in another thread -------------------------


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


# --- bad input ---------------------------------------------------------------------


def test_non_coroutines_are_refused_and_the_other_coroutines_closed(
    runner: AsyncTestRunner, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(TypeError, match="coro must be a coroutine object \\(f\\(\\), not f\\)"):
        runner.run(value)  # type: ignore[arg-type]

    async def check() -> None:
        good = value(1)
        with pytest.raises(TypeError, match=r"coros\[1\] must be a coroutine"):
            await runner.run_parallel(good, 5)  # type: ignore[arg-type]
        assert inspect.getcoroutinestate(good) == inspect.CORO_CLOSED
        twice = value(2)
        with pytest.raises(ValueError, match=r"coros\[1\] is the same coroutine .* coros\[0\]"):
            await runner.run_parallel(twice, twice)
        assert inspect.getcoroutinestate(twice) == inspect.CORO_CLOSED
        with pytest.raises(TypeError, match="coro must be a coroutine"):
            await runner.run_with_timeout(asyncio.sleep, 1)  # type: ignore[arg-type]

    runner.run(check())
    assert_clean_after_gc(caplog)


@given(limit=st.integers(max_value=0) | st.booleans() | st.floats() | st.text(max_size=2))
def test_bad_limits_are_refused(limit: Any) -> None:
    with AsyncTestRunner() as runner:

        async def check() -> None:
            good = value(1)
            expected = ValueError if type(limit) is int else TypeError
            with pytest.raises(expected, match="limit must be an int >= 1 or None"):
                await runner.run_parallel(good, limit=limit)
            assert inspect.getcoroutinestate(good) == inspect.CORO_CLOSED

        runner.run(check())


@given(timeout=st.floats(max_value=0) | st.just(math.nan) | st.booleans() | st.just("1"))
def test_bad_timeouts_are_refused(timeout: Any) -> None:
    with AsyncTestRunner() as runner:
        expected = TypeError if isinstance(timeout, (bool, str)) else ValueError
        coro = value(1)
        with pytest.raises(expected, match="timeout must be"):
            runner.run(coro, timeout=timeout)
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED

        async def check() -> None:
            coro = value(1)
            with pytest.raises(expected, match="timeout must be"):
                await runner.run_with_timeout(coro, timeout)
            assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED

        runner.run(check())
    with pytest.raises(expected, match="cancel_timeout must be"):
        AsyncTestRunner(cancel_timeout=timeout)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(TypeError, match="on_error must be a callable"):
        AsyncTestRunner(on_error="print")  # type: ignore[arg-type]


def test_async_apis_need_a_running_loop(runner: AsyncTestRunner) -> None:
    coro = value(1)
    with pytest.raises(RuntimeError, match="no running event loop"):
        runner.run_parallel(coro).send(None)
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


def test_unretrieved_task_error_survives_pickling() -> None:
    error = UnretrievedTaskError(["t"], [ValueError("x")])
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is UnretrievedTaskError and str(again) == str(error)
    assert again.task_names == ("t",)


# --- the prototype's API (COMPAT.md section 14) --------------------------------------


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


# --- async use: on pytest-asyncio's loop -------------------------------------------


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


@pytest.mark.asyncio
async def test_later_async_tests_still_get_a_working_loop() -> None:
    """Runs after the tests above: nothing they did broke pytest-asyncio's loop."""
    loop = asyncio.get_running_loop()
    assert not loop.is_closed()
    assert list(await asyncio.gather(value(1, 0.001), value(2))) == [1, 2]


def test_later_sync_tests_see_no_loop_left_set() -> None:
    assert asyncio._get_running_loop() is None
    loop = policy_loop()
    assert loop is None or not loop.is_closed()


# --- through the plugin fixture, end to end ----------------------------------------

PLUGIN_INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
filterwarnings =
    error
    # in-process runs: this process imported the plugin before the inner pytest
    ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning
"""

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
    pytester.makeini(PLUGIN_INI)
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
