"""Constants, a fake clock and a thread runner shared by the perf tests."""

from __future__ import annotations

import threading
from collections.abc import Callable

THREADS, OPERATIONS = 16, 2_000


class FakeClock:
    """A clock the test moves by hand, so durations are exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_threads(target: Callable[[int], None], count: int = THREADS) -> None:
    barrier = threading.Barrier(count)

    def start(index: int) -> None:
        barrier.wait()  # all threads contend from the same moment
        target(index)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
