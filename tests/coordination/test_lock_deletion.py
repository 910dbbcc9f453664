"""Exclusivity survives deleting the lock file and its folder while the lock is held.

``git clean -fdx``, ``rm -rf .itest-shared`` or a cleanup script can remove the
lock file under a holder; the next caller must still wait for that holder.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.coordination.support import finish, start_worker, wait_for

# Long enough that a waiter that was going to get in does so; it only waits this
# long when the lock is (correctly) still held.
SHORT = "0.5"


def _try(cwd: Path, timeout: str = SHORT) -> str:
    return finish(start_worker(cwd, "try", "resource", timeout)).strip()


def test_deleting_the_lock_file_and_folder_lets_nobody_in(
    outside_git: Path, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    holder = start_worker(outside_git, "hold", "resource", str(ready), stdin=subprocess.PIPE)
    try:
        wait_for(ready)
        locks = outside_git / ".itest-shared" / "locks"
        assert _try(outside_git) == "timed out"
        for lock_file in locks.glob("resource-*"):
            lock_file.unlink()
        assert _try(outside_git) == "timed out"
        shutil.rmtree(outside_git / ".itest-shared")  # as `rm -rf .itest-shared` would
        assert _try(outside_git) == "timed out"
        assert _try(outside_git) == "timed out"  # and again, with the new file in place
    finally:
        finish(holder, stdin="")
    assert _try(outside_git, "60") == "acquired"


def test_a_lock_file_replaced_by_another_file_lets_nobody_in(
    outside_git: Path, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    holder = start_worker(outside_git, "hold", "resource", str(ready), stdin=subprocess.PIPE)
    try:
        wait_for(ready)
        (lock_file,) = (outside_git / ".itest-shared" / "locks").glob("resource-*.lock")
        replacement = lock_file.with_name("replacement")
        replacement.write_text("")
        replacement.replace(lock_file)  # a checkout or sync tool writing its own copy
        assert _try(outside_git) == "timed out"
    finally:
        finish(holder, stdin="")
    assert _try(outside_git, "60") == "acquired"
