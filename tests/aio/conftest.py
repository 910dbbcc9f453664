"""Fixtures shared by the tests of itest_shared.aio."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from itest_shared.aio import AsyncTestRunner


@pytest.fixture
def runner() -> Iterator[AsyncTestRunner]:
    with AsyncTestRunner() as runner:
        yield runner
