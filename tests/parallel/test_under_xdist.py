"""ParallelTestEnvironment under pytest-xdist: start methods and failure reports."""

# Spawn and forkserver children unpickle this module's targets by importing it:
# keep its imports light (hypothesis, psutil and dill are imported inside the tests).

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.parallel.support import HANG


def test_behaves_the_same_under_xdist(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            """
            import os, sys, warnings
            import pytest
            from itest_shared.parallel import ParallelTestEnvironment, WorkerError

            @pytest.mark.parametrize("method", [None, "fork", "spawn", "forkserver"])
            def test_spec(method):
                if os.path.isdir("/proc/self/task"):  # Linux: count the OS threads
                    assert len(os.listdir("/proc/self/task")) > 1  # execnet's own
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    with ParallelTestEnvironment(start_method=method) as env:
                        lock, queue = env.create_shared_lock("l"), env.create_queue("q")
                        def worker(i):
                            with lock:
                                queue.put(i)
                        for i in range(2):
                            env.create_worker_process(worker, args=(i,)).start()
                        assert sorted(queue.get(timeout=60) for _ in range(2)) == [0, 1]
                warned = [w for w in caught if "fork()" in str(w.message)]
                if method is None:
                    assert env.start_method == "forkserver" and not warned
                elif method == "fork" and sys.version_info >= (3, 12):
                    assert warned  # the control: this process has threads CPython counts

            def test_failure_fails_the_test():
                def broken():
                    raise ValueError("boom-under-xdist")
                with ParallelTestEnvironment(start_method="spawn") as env:
                    env.create_worker_process(broken).start()
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=HANG * 2,
        cwd=tmp_path,
    )
    assert "4 passed" in done.stdout and "1 failed" in done.stdout, done.stdout + done.stderr
    assert "WorkerError: worker 'broken-1' raised ValueError: boom-under-xdist" in done.stdout
    assert "remote traceback:" in done.stdout
