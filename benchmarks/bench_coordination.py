"""Cost of worktree_lock and shared_once, as ratios against baselines in the same run.

Run: ``python benchmarks/bench_coordination.py`` (``--quick`` for a short run).

1. An uncontended ``with worktree_lock(name)`` against a bare
   ``with filelock.FileLock(path)`` on a new object (what it is built on; the
   difference is the per-thread mutex, the git lookup cache and the holder file).
2. ``shared_once`` of a value already computed (the lock-free read) against
   reading the same JSON file by hand, and against the locked path (the lock
   taken and the file read under it) to show what the lock-free read saves.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _timing import interleaved
from filelock import FileLock

from itest_shared.coordination import shared_once, worktree_lock


def report(title: str, times: dict[str, float], baseline: str) -> None:
    """Print each candidate's time per call and its ratio to ``baseline``."""
    print(title)
    for name, seconds in times.items():
        print(f"  {name:<42} {seconds * 1e6:9.1f} us   x{seconds / times[baseline]:.2f}")


def main() -> None:
    """Run both measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds, rougher figures")
    quick = parser.parse_args().quick
    number, repeat = (100, 3) if quick else (1_000, 5)
    with tempfile.TemporaryDirectory() as raw:
        directory = Path(raw)
        (directory / "bare").mkdir()
        bare_path = directory / "bare" / "x.lock"
        lock = worktree_lock("bench", directory=directory)

        def bare_filelock() -> None:
            with FileLock(bare_path):
                pass

        def our_lock() -> None:
            with lock:
                pass

        report(
            "1. uncontended acquire + release",
            interleaved(
                {"FileLock (baseline)": bare_filelock, "worktree_lock": our_lock}, number, repeat
            ),
            "FileLock (baseline)",
        )

        value = {"ports": list(range(100)), "name": "grammar-cache"}
        shared_once("value", lambda: value, directory=directory)
        (path,) = (directory / "once").glob("value-*.json")

        def read_by_hand() -> object:
            return json.loads(path.read_text(encoding="utf-8"))["value"]

        def cached() -> object:
            return shared_once("value", dict, directory=directory)

        def locked_read() -> object:
            with worktree_lock("shared-once-value", directory=directory):
                return json.loads(path.read_text(encoding="utf-8"))["value"]

        report(
            "2. shared_once of a computed value",
            interleaved(
                {
                    "read + json.loads by hand (baseline)": read_by_hand,
                    "shared_once (lock-free read)": cached,
                    "lock + read (what the fast path avoids)": locked_read,
                },
                number,
                repeat,
            ),
            "read + json.loads by hand (baseline)",
        )


if __name__ == "__main__":
    main()
