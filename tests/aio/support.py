"""Coroutines and checks shared by the tests of itest_shared.aio."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import pytest


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


async def value_of_running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()
