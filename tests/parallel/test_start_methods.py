"""ParallelTestEnvironment: the default start method and the parent's environment in workers."""

# Spawn and forkserver children unpickle this module's targets by importing it:
# keep its imports light (hypothesis, psutil and dill are imported inside the tests).

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import pytest

from itest_shared.parallel import ParallelTestEnvironment, SharedQueue
from tests.parallel.support import HANG


def _noop() -> None:
    """A worker with nothing to do."""


def _start_one_while_a_thread_runs(start_method: str | None) -> tuple[int, list[str]]:
    """Start and join one worker while this process has a second thread.

    Returns how often this process called ``os.fork`` and the fork warnings it
    got. The warning must be recorded, not turned into an error: CPython clears
    the exception an "error" filter makes of it (``PyErr_Clear`` after the warn
    in ``os.fork``), so ``-W error`` would never see it.
    """
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        forks.append(1)
        return real_fork()

    release = threading.Event()
    bystander = threading.Thread(target=release.wait, args=(HANG,))
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings(record=True) as caught:
        patch.setattr(os, "fork", counting_fork)
        warnings.simplefilter("always")
        bystander.start()
        try:
            with ParallelTestEnvironment(start_method=start_method) as env:
                env.create_worker_process(_noop).start()
                env.join_all(HANG)
        finally:
            release.set()
            bystander.join(HANG)
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    return len(forks), [message for message in messages if "fork" in message]


def test_default_start_method_does_not_fork_a_threaded_process() -> None:
    import multiprocess  # type: ignore[import-untyped, unused-ignore]

    expected = "forkserver" if "forkserver" in multiprocess.get_all_start_methods() else "spawn"
    assert ParallelTestEnvironment().start_method == expected
    assert _start_one_while_a_thread_runs(None) == (0, [])
    # The control: the same check sees an explicit fork (which keeps working),
    # and on Python 3.12+ the warning it brings.
    forks, warned = _start_one_while_a_thread_runs("fork")
    assert forks == 1
    assert len(warned) == (1 if sys.version_info >= (3, 12) else 0), warned


def test_default_ignores_multiprocess_global_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocess

    before = multiprocess.get_start_method(allow_none=True)
    multiprocess.set_start_method("fork", force=True)  # as other code easily pins it
    try:
        assert ParallelTestEnvironment().start_method in ("forkserver", "spawn")
    finally:
        multiprocess.set_start_method(before, force=True)
    assert multiprocess.get_start_method(allow_none=True) == before
    ParallelTestEnvironment().close()
    assert multiprocess.get_start_method(allow_none=True) == before  # creating pins nothing
    # Where forkserver is missing (macOS without it, Windows), the default is spawn.
    for available in (["fork", "spawn"], ["spawn"]):
        monkeypatch.setattr(multiprocess, "get_all_start_methods", lambda a=available: list(a))
        with ParallelTestEnvironment() as env:
            assert env.start_method == "spawn"
            env.create_worker_process(_noop).start()
            env.join_all(HANG)


def _report_environment(out: SharedQueue) -> None:
    out.put((dict(os.environ), os.getcwd()))


def test_worker_sees_environment_and_directory_as_of_start(
    start_method: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with ParallelTestEnvironment(start_method=start_method) as env:
        out = env.create_queue("out")
        env.create_worker_process(_noop).start()
        env.join_all(HANG)  # the forkserver (if used) runs from here on, if not before
        monkeypatch.setenv("ITEST_SHARED_MODULE_MAP", '{"chunker": ["chunker.core"]}')
        monkeypatch.chdir(tmp_path)
        worker = env.create_worker_process(_report_environment, args=(out,))
        monkeypatch.setenv("ITEST_PARALLEL_LATE", start_method)  # after creation, before start
        expected = dict(os.environ), os.getcwd()
        worker.start()
        got = out.get(timeout=HANG)
        env.join_all(HANG)
    assert got[0]["ITEST_SHARED_MODULE_MAP"] == '{"chunker": ["chunker.core"]}'
    assert got[0]["ITEST_PARALLEL_LATE"] == start_method
    assert got == expected


def test_forkserver_worker_drops_stale_environment_before_unpickling(tmp_path: Path) -> None:
    # In a fresh process, so the forkserver starts when this script says: with a
    # variable, time zone and directory that the script then changes.
    (tmp_path / "late_reader.py").write_text(
        textwrap.dedent(
            """
            import os
            import time

            AT_IMPORT = os.environ.get("ITEST_SHARED_MODULE_MAP")

            def report(out):
                out.put({
                    "at_import": AT_IMPORT,
                    "map": os.environ.get("ITEST_SHARED_MODULE_MAP"),
                    "gone": os.environ.get("ITEST_PARALLEL_GONE"),
                    "zone": time.tzname[0],
                    "cwd": os.getcwd(),
                })
            """
        )
    )
    (tmp_path / "later").mkdir()
    (tmp_path / "script.py").write_text(
        textwrap.dedent(
            """
            import json, os, sys, time
            from itest_shared.parallel import ParallelTestEnvironment

            def main():
                os.environ["ITEST_PARALLEL_GONE"] = "stale"
                os.environ["TZ"] = "OLD+0"
                time.tzset()
                with ParallelTestEnvironment(start_method="forkserver") as env:
                    env.create_worker_process(print).start()  # starts the forkserver
                    env.join_all(60)
                    del os.environ["ITEST_PARALLEL_GONE"]
                    os.environ["ITEST_SHARED_MODULE_MAP"] = "{}"
                    os.environ["TZ"] = "NEW-3"
                    time.tzset()
                    os.chdir("later")
                    import late_reader  # here, not at the top: the forkserver preloads this script

                    out = env.create_queue("out")
                    env.create_worker_process(late_reader.report, args=(out,)).start()
                    print(json.dumps(out.get(timeout=60)))

            if __name__ == "__main__":
                main()
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "script.py"],
        capture_output=True,
        text=True,
        timeout=HANG,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    import json

    got = json.loads(done.stdout.splitlines()[-1])
    assert got == {
        "at_import": "{}",  # applied before the target's module was imported
        "map": "{}",
        "gone": None,
        "zone": "NEW",
        "cwd": str(tmp_path / "later"),
    }
