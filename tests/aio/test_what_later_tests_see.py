"""What the tests after all the others in tests/aio/ see: a working loop, none left set.

Its name sorts it last in the folder, so these run after every runner test
above it, sync and async (the suite runs in file order; no test shuffles it).
"""

from __future__ import annotations

import asyncio

import pytest

from tests.aio.support import policy_loop, value


@pytest.mark.asyncio
async def test_later_async_tests_still_get_a_working_loop() -> None:
    """Runs after the other aio tests: nothing they did broke pytest-asyncio's loop."""
    loop = asyncio.get_running_loop()
    assert not loop.is_closed()
    assert list(await asyncio.gather(value(1, 0.001), value(2))) == [1, 2]


def test_later_sync_tests_see_no_loop_left_set() -> None:
    assert asyncio._get_running_loop() is None
    loop = policy_loop()
    assert loop is None or not loop.is_closed()
