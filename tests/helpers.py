"""Helpers shared by the tests."""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import subprocess
import threading
from collections.abc import Callable

from itest_shared.cli import main

# A worktree that loads the plugin: its conftest.py and ini (pytester runs).
CONFTEST = 'pytest_plugins = ["itest_shared.fixtures"]\n'
INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
filterwarnings =
    error
    # in-process runs: this process imported the plugin before the inner pytest
    ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning
"""

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


def run_captured(*argv: str) -> tuple[int, str]:
    """Run the CLI's main() in-process, stdout and stderr captured; its status and stdout."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue()


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


def git(cwd: pathlib.Path, *args: str) -> str:
    """Run git quietly in ``cwd`` with a fixed identity; return its output."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
