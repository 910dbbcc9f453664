"""Fixtures shared by the leak audit tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    """An event that leaked test threads wait on; set at teardown, and the threads end."""
    event = threading.Event()
    yield event
    event.set()
