"""AsyncTestRunner: bad coroutines, limits, timeouts and constructor arguments are refused."""

from __future__ import annotations

import asyncio
import inspect
import math
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itest_shared.aio import AsyncTestRunner, UnretrievedTaskError
from tests.aio.support import assert_clean_after_gc, value


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
