"""The plugin's ``--itest-record`` option: one Recorder per process, one run id per test run.

Kept apart from ``fixtures.py`` so that the fixtures stay thin; the fixtures
call :func:`record` at teardown and it does nothing unless recording is on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .formats import Record
    from .recording import Recorder

RECORDER = pytest.StashKey["Recorder"]()
# Keys of xdist's workerinput/workeroutput dicts: the controller's run id goes
# to every worker, and each worker's count comes back for the summary line.
RUN_ID_KEY = "itest_record_run_id"
COUNT_KEY = "itest_records_written"


def add_options(parser: pytest.Parser, group: Any) -> None:
    """Register ``--itest-record[=DIR]`` and the ini keys ``itest_record``/``itest_record_dir``."""
    group.addoption(
        "--itest-record",
        dest="itest_record",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="write every record the fixtures produce (errors, config changes, resources,"
        " timing statistics) to a record store: DIR, else ini itest_record_dir, else the"
        " directory all worktrees of the repository share. Give DIR as --itest-record=DIR.",
    )
    parser.addini("itest_record", "record every test run (as --itest-record)", type="bool")
    parser.addini(
        "itest_record_dir",
        "record store directory, relative to the ini file (default: the repository's"
        " shared directory)",
        default="",
    )


def _store_directory(config: pytest.Config, option: str | None) -> Path:
    from .coordination import shared_directory

    if option:
        # As any path on the command line: relative to where pytest was run.
        return Path(config.invocation_params.dir, option).absolute()
    ini = str(config.getini("itest_record_dir")).strip()
    if ini:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        return Path(base, ini).absolute()
    return shared_directory(config.rootpath)


def configure(config: pytest.Config) -> None:
    """Start recording if ``--itest-record`` or ini ``itest_record`` asks for it."""
    option = config.getoption("itest_record")
    if option is None and not config.getini("itest_record"):
        return
    from .coordination import current_worktree
    from .recording import Recorder, new_run_id
    from .store import RecordStore

    directory = _store_directory(config, option)
    if directory.exists() and not directory.is_dir():
        raise pytest.UsageError(f"--itest-record: {directory} exists and is not a directory")
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    run_id = (workerinput or {}).get(RUN_ID_KEY) or new_run_id()
    recorder = Recorder(RecordStore(directory), run_id, current_worktree(config.rootpath))
    config.stash[RECORDER] = recorder
    config.pluginmanager.register(_RecordingHooks(recorder), "itest-shared-recording")
    if workerinput is None and config.pluginmanager.hasplugin("xdist"):
        # Registered only with xdist present: its hooks are unknown to pytest otherwise.
        config.pluginmanager.register(_XdistControllerHooks(run_id), "itest-shared-xdist")


def record(node: pytest.Item | pytest.Collector, make: Callable[[], Iterable[Record]]) -> None:
    """Write the records ``make()`` returns, stamped with ``node``'s id, if recording is on."""
    recorder = node.config.stash.get(RECORDER, None)
    if recorder is not None:
        recorder.record(make(), test=node.nodeid)


class _RecordingHooks:
    """Per process: hand the count to the xdist controller, print the summary, close."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.from_workers = 0

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # Every fixture (session scope included) has been torn down by now; an
        # xdist worker sends workeroutput to the controller after this hook.
        workeroutput: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[COUNT_KEY] = self.recorder.records_written

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        if hasattr(config, "workerinput"):
            return
        controller = config.pluginmanager.get_plugin("itest-shared-xdist")
        total = self.recorder.records_written + (controller.written if controller else 0)
        noun = "record" if total == 1 else "records"
        missing = ""
        if controller and controller.unreported:
            missing = f"; {controller.unreported} xdist worker(s) ended without reporting a count"
        terminalreporter.write_line(
            f"itest-shared: {total} {noun} written to {self.recorder.directory}"
            f" (run {self.recorder.run_id}){missing}"
        )

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.recorder.close()


class _XdistControllerHooks:
    """On the xdist controller: give workers the run id, add up what they wrote."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.written = 0
        self.unreported = 0

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[RUN_ID_KEY] = self.run_id

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        # A worker that crashed sends no workeroutput; its records are in the
        # store all the same, only not in this count.
        output: dict[str, Any] = getattr(node, "workeroutput", None) or {}
        count = output.get(COUNT_KEY)
        if isinstance(count, int):
            self.written += count
        else:
            self.unreported += 1
