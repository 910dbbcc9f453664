"""Helpers shared by the tests."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_together(target: Callable[[int], object], count: int = 16, name: str = "worker") -> None:
    """Run ``target(index)`` in ``count`` threads released at once; re-raise the first failure.

    A barrier holds every thread until all have started, so they really contend
    instead of running one after another as they are created.
    """
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            target(index)
        except BaseException as error:  # reported to the test below
            failures.append(error)

    threads = [
        threading.Thread(target=run, args=(index,), name=f"{name}-{index}")
        for index in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    hung = [thread.name for thread in threads if thread.is_alive()]
    assert not hung, f"threads still running after 60 s: {hung}"
    if failures:
        raise failures[0]
