"""Helpers shared by the tests."""

from __future__ import annotations

import threading
from collections.abc import Callable

# The copied prototype's hard-coded config-key -> modules map (in its order) and
# its fallback list (COMPAT.md section 4), which a project now states once.
PROTOTYPE_MAP = {
    "chunk_types": ["chunker", "languages"],
    "parser_timeout": ["parser", "factory"],
    "cache_dir": ["cache", "streaming"],
    "num_workers": ["parallel"],
    "plugin_dirs": ["plugin_manager"],
}
PROTOTYPE_FALLBACK = ["parser", "chunker", "cache", "parallel", "plugin_manager"]


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
