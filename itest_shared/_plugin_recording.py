"""The plugin's ``--itest-record`` option: one Recorder per process, one run id per test run.

Kept apart from ``fixtures.py`` so that the fixtures stay thin; the fixtures
call :func:`record` at teardown and it does nothing unless recording is on.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
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
# pytest's own default for the ini key python_files; a plugin-less check uses it.
DEFAULT_TEST_FILES = ("test_*.py", "*_test.py")
# Said by every refusal of the option's DIR: how to write what was probably meant.
_RECORD_HINT = (
    "`--itest-record VALUE` takes VALUE as DIR. Write --itest-record=DIR for a store of your"
    " choice; --itest-record alone (after the test paths, or as --itest-record= before them)"
    " records to the repository's shared store"
)


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
        " directory all worktrees of the repository share. Give DIR as --itest-record=DIR;"
        " a DIR that looks like a test path, node id or file is refused.",
    )
    parser.addini("itest_record", "record every test run (as --itest-record)", type="bool")
    parser.addini(
        "itest_record_dir",
        "record store directory, relative to the ini file (default: the repository's"
        " shared directory)",
        default="",
    )


def _test_file_in(directory: Path, test_files: Sequence[str]) -> str | None:
    """The name of a conftest.py or test module directly inside ``directory``, if any."""
    try:
        names = sorted(entry.name for entry in directory.iterdir() if entry.is_file())
    except OSError:  # unreadable: nothing shows it is a test directory
        return None
    for name in names:
        if name == "conftest.py" or any(fnmatch.fnmatch(name, p) for p in test_files):
            return name
    return None


def check_record_option(
    value: str, base: Path, test_files: Sequence[str] = DEFAULT_TEST_FILES
) -> Path:
    """Return the store directory ``--itest-record=value`` names, relative to ``base``.

    Raise :class:`pytest.UsageError` if ``value`` is an existing file or looks like
    a test path or node id: with ``nargs="?"``, ``--itest-record tests/test_x.py``
    takes the test path as its DIR, and pytest would then run the whole suite and
    record into a directory named after the test. ``test_files`` are the
    ``python_files`` patterns that make an existing directory a test directory.
    """
    path = Path(base, value).absolute()
    reason = None
    if "::" in value:
        reason = "looks like a test node id (it contains '::')"
    elif value.endswith(".py"):
        reason = "looks like a test file (it ends in '.py')"
    elif path.exists() and not path.is_dir():
        reason = f"exists and is not a directory ({path})"
    elif path.is_dir() and (found := _test_file_in(path, test_files)) is not None:
        reason = f"looks like a test directory (it holds {found})"
    if reason is not None:
        raise pytest.UsageError(
            f"--itest-record: DIR must be a record store directory, got {value!r}, which"
            f" {reason}; {_RECORD_HINT}."
        )
    return path


def _store_directory(config: pytest.Config, option: str | None) -> Path:
    from .coordination import shared_directory

    if option:
        # As any path on the command line: relative to where pytest was run.
        test_files = [str(pattern) for pattern in config.getini("python_files")]
        return check_record_option(option, config.invocation_params.dir, test_files)
    ini = str(config.getini("itest_record_dir")).strip()
    if ini:
        # Only the file check: an ini value is never an argument that the option
        # swallowed, so a name that merely looks like a test path is taken as meant.
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        directory = Path(base, ini).absolute()
        if directory.exists() and not directory.is_dir():
            raise pytest.UsageError(
                f"ini itest_record_dir: must be a record store directory, got {ini!r}, which"
                f" exists and is not a directory ({directory})"
            )
        return directory
    directory = shared_directory(config.rootpath)
    if directory.exists() and not directory.is_dir():
        raise pytest.UsageError(
            f"--itest-record: the shared store {directory} exists and is not a directory;"
            " remove it, or choose a store with --itest-record=DIR or ini itest_record_dir"
        )
    return directory


def configure(config: pytest.Config) -> None:
    """Start recording if ``--itest-record`` or ini ``itest_record`` asks for it."""
    option = config.getoption("itest_record")
    if option is None and not config.getini("itest_record"):
        return
    from .coordination import current_worktree
    from .recording import Recorder, new_run_id
    from .store import RecordStore

    directory = _store_directory(config, option)
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
