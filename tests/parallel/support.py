"""Constants and helpers shared by the tests of itest_shared.parallel."""

# Spawn and forkserver children import this module (and the test modules) to unpickle
# targets: keep the imports light (hypothesis, psutil and dill are imported inside the tests).

from __future__ import annotations

import contextlib

# Bounds that only stop a hang (a spawn child takes ~0.5 s here); never speed claims.
HANG = 60.0


def _worker_children(*, helpers: bool = False) -> dict[int, str]:
    """Child processes of this process (recursively), but not multiprocess's helpers.

    With ``helpers=True`` the helpers are listed too: a helper that was there
    before a test was there, even if no module knows it by the end. Pytester's
    in-process runs drop the ``multiprocess`` submodules they imported from
    ``sys.modules``; a later import makes a fresh module whose own tracker then
    stands beside the one the dropped module started.
    """
    import psutil  # type: ignore[import-untyped, unused-ignore]
    from multiprocess import forkserver, resource_tracker  # type: ignore[import-untyped, unused-ignore]

    # The forkserver and resource tracker are long-lived, shared by every context;
    # the forkserver's own children (our workers under forkserver) are still counted.
    left_out = set()
    if not helpers:
        left_out = {forkserver._forkserver._forkserver_pid, resource_tracker._resource_tracker._pid}
    found = {}
    for child in psutil.Process().children(recursive=True):
        if child.pid not in left_out:
            with contextlib.suppress(psutil.Error):
                found[child.pid] = f"{child.name()} ({child.status()})"
    return found


def _explode(tag: str) -> None:
    raise ValueError(f"boom {tag}")
