"""The pytest plugin: every shared fixture, the markers and the ``--itest-*`` options.

Activate it in a worktree's ``conftest.py`` with
``pytest_plugins = ["itest_shared.fixtures"]`` (or ``-p itest_shared.fixtures``);
nothing is active in a project that does not. The module is thin: each fixture
creates one of the package's classes, hands it over and cleans up. Nothing
heavy is imported until a fixture is used, so loading the plugin costs a test
run almost nothing.

.. versionadded:: 1.1
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest

from . import _plugin_recording

if TYPE_CHECKING:
    from .aio import AsyncTestRunner
    from .config import ConfigChangeTracker, ModuleMap
    from .coordination import WorktreeLock
    from .files import TestFileGenerator
    from .formats import Record
    from .leaks import LeakSnapshot
    from .monitor import ResourceMonitor
    from .parallel import ParallelTestEnvironment
    from .parsers import MockParserFactory
    from .perf import PerformanceMonitor, ThreadSafeCounter
    from .tracking import ErrorTrackingContext

MARKERS = {
    "integration": "an integration test that crosses module boundaries",
    "e2e": "an end-to-end test of the whole program",
    "performance": "a test that measures performance",
    "stress": "a stress test: many threads, processes or iterations",
    "concurrent": "a test of concurrent behaviour",
    "slow": "a slow test",
    "leak_audit": (
        "fail the test if threads, child processes or open file descriptors it"
        " created are still there after its teardown (itest-shared)"
    ),
    "allow_resource_leaks": (
        "resource_monitor does not fail the test over resources still active at"
        " teardown; they are still marked and recorded as leaked (itest-shared)"
    ),
}
START_METHODS = ("fork", "spawn", "forkserver")
WORKSPACE_DIRS = ("src", "tests", "cache", "output")


class Settings(NamedTuple):
    """The plugin's settings for one test run, from options and ini keys."""

    start_method: str | None
    grace_period: float
    leak_audit: bool
    workspace_prefix: str = ""


SETTINGS = pytest.StashKey[Settings]()
_TRACKING: pytest.StashKey[ErrorTrackingContext] = pytest.StashKey()
_AUDIT: pytest.StashKey[LeakSnapshot] = pytest.StashKey()


# The copied prototype's fixtures.py also gave its users these classes (it
# imported the interfaces, and defined ErrorTrackingContext); a test module that
# imported them from there changes only the module path. Loaded on first use, so
# that loading the plugin stays cheap (pluggy and pytest look only at what dir()
# lists, which these are not).
_PROTOTYPE_NAMES = {
    "ConfigChangeObserver": ".config",
    "ErrorPropagationMixin": ".errors",
    "ErrorTrackingContext": ".tracking",
    "ResourceTracker": ".resources",
}


def __getattr__(name: str) -> Any:
    module = _PROTOTYPE_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module, __package__), name)


# -- options --------------------------------------------------------------------------


def parse_start_method(value: str) -> str | None:
    """Check a start method name: fork, spawn or forkserver ('' means the default)."""
    value = value.strip()
    if not value:
        return None
    if value not in START_METHODS:
        raise argparse.ArgumentTypeError(
            f"unknown start method {value!r}; choose one of {', '.join(START_METHODS)}"
        )
    return value


def parse_grace_period(value: str) -> float:
    """Check a grace period: a number of seconds, zero or more."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {value!r}")
    return seconds


def parse_workspace_prefix(value: str) -> str:
    """Check a workspace name prefix: characters a directory name can hold, no separators."""
    value = value.strip()
    if value in (".", "..") or any(c in value for c in "/\\\0") or not value.isprintable():
        raise argparse.ArgumentTypeError(
            f"expected the start of a directory name (no '/', '\\' or control characters),"
            f" got {value!r}"
        )
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("itest", "itest-shared (shared integration-test fixtures)")
    group.addoption(
        "--itest-start-method",
        dest="itest_start_method",
        type=parse_start_method,
        default=None,
        metavar="METHOD",
        help="start method of parallel_test_environment's worker processes:"
        " fork, spawn or forkserver (default: ini itest_start_method, else forkserver"
        " where available, else spawn)",
    )
    parser.addini(
        "itest_start_method",
        "default start method of worker processes (empty: forkserver where available, else spawn)",
        default="",
    )
    group.addoption(
        "--itest-grace-period",
        dest="itest_grace_period",
        type=parse_grace_period,
        default=None,
        metavar="SECONDS",
        help="how long a worker process gets between SIGTERM and SIGKILL at teardown"
        " (default: ini itest_grace_period, else 1.0)",
    )
    parser.addini("itest_grace_period", "default grace period in seconds", default="1.0")
    group.addoption(
        "--itest-leak-audit",
        dest="itest_leak_audit",
        action="store_true",
        default=None,
        help="audit every test for leaked threads, child processes and file descriptors"
        " (default: ini itest_leak_audit; or mark single tests with @pytest.mark.leak_audit)",
    )
    parser.addini("itest_leak_audit", "audit every test for leaks", type="bool", default=False)
    parser.addini(
        "itest_module_map",
        "the project's config-key -> modules map, one 'config_key = module, module' per line;"
        " ConfigChangeObserver() and config_change_tracker use it (itest-shared)",
        type="linelist",
        default=[],
    )
    parser.addini(
        "itest_module_fallback",
        "modules affected by a config key that matches nothing in itest_module_map"
        " (default: every module of the map)",
        type="args",
        default=None,
    )
    parser.addini(
        "itest_key_match",
        "how a config key not in itest_module_map is matched: segments (default) or"
        " substring (the first map key contained in it, in map order)",
        default="",
    )
    parser.addini(
        "itest_workspace_prefix",
        "start of the name of temp_workspace's directory (default: none)",
        default="",
    )
    _plugin_recording.add_options(parser, group)


def _settings(config: pytest.Config) -> Settings:
    def from_ini(key: str, parse: Any) -> Any:
        try:
            return parse(str(config.getini(key)))
        except argparse.ArgumentTypeError as error:
            raise pytest.UsageError(f"ini option {key}: {error}") from None

    start_method = config.getoption("itest_start_method")
    grace_period = config.getoption("itest_grace_period")
    leak_audit = config.getoption("itest_leak_audit")
    return Settings(
        start_method=start_method
        if start_method is not None
        else from_ini("itest_start_method", parse_start_method),
        grace_period=grace_period
        if grace_period is not None
        else from_ini("itest_grace_period", parse_grace_period),
        leak_audit=bool(leak_audit) or bool(config.getini("itest_leak_audit")),
        workspace_prefix=from_ini("itest_workspace_prefix", parse_workspace_prefix),
    )


def _module_map(config: pytest.Config) -> ModuleMap | None:
    """The project's module map from the ini keys; None if none of them is set."""
    lines = [str(line) for line in config.getini("itest_module_map")]
    fallback = config.getini("itest_module_fallback")
    key_match = str(config.getini("itest_key_match")).strip()
    if not lines and fallback is None and not key_match:
        return None
    # Only now: config imports attrs and the records, which a run that does not
    # configure a map should not pay for at start-up (bench_plugin.py).
    from .config import ModuleMap, parse_module_lines

    key = "itest_module_map"
    try:
        modules = parse_module_lines(lines)
        key = "itest_module_fallback"
        # "args" splits on whitespace; commas separate modules too.
        names = None if fallback is None else [n for a in fallback for n in a.split(",") if n]
        key = "itest_key_match"
        return ModuleMap(modules, fallback=names, key_match=key_match or "segments")
    except (TypeError, ValueError) as error:
        raise pytest.UsageError(f"ini option {key}: {error}") from None


def _publish_module_map(config: pytest.Config) -> None:
    """Put the project's module map where ConfigChangeObserver() finds it, here and in workers.

    An environment variable reaches every process the test run starts, under
    every start method, and pytest-xdist workers; it is restored at the end of
    the run (in-process pytester runs share this process's environment).
    """
    module_map = _module_map(config)
    if module_map is None:
        return
    from .config import MODULE_MAP_ENV

    before = os.environ.get(MODULE_MAP_ENV)
    os.environ[MODULE_MAP_ENV] = module_map.to_json()

    def restore() -> None:
        if before is None:
            os.environ.pop(MODULE_MAP_ENV, None)
        else:
            os.environ[MODULE_MAP_ENV] = before

    config.add_cleanup(restore)


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    config.stash[SETTINGS] = _settings(config)
    _publish_module_map(config)
    _plugin_recording.configure(config)


# -- the leak audit ---------------------------------------------------------------------


def _audited(item: pytest.Item) -> bool:
    marked = item.get_closest_marker("leak_audit") is not None
    return marked or item.config.stash[SETTINGS].leak_audit


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _audited(item):
        from .leaks import LeakSnapshot

        item.stash[_AUDIT] = LeakSnapshot.take()


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    # After every fixture's own teardown (the wrapper's yield): what is still
    # there now and was not before setup was left behind.
    yield
    before = item.stash.get(_AUDIT, None)
    if before is not None:
        del item.stash[_AUDIT]
        report = before.audit(grace=item.config.stash[SETTINGS].grace_period)
        if not report.is_clean:
            pytest.fail(report.describe(), pytrace=False)


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def temp_workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A fresh directory with ``src/``, ``tests/``, ``cache/`` and ``output/``, under tmp_path.

    Its name is ``<itest_workspace_prefix>workspace``.
    """
    prefix = request.config.stash[SETTINGS].workspace_prefix
    workspace = tmp_path / f"{prefix}workspace"
    for name in WORKSPACE_DIRS:
        (workspace / name).mkdir(parents=True)
    return workspace


@pytest.fixture
def sample_code_files() -> dict[str, str]:
    """Filename -> source: example.py, example.js, example.rs and example.c, real programs."""
    from .samples import sample_code_files as samples

    return samples()


def _record_uncaught(node: pytest.Item, error: BaseException, source: str) -> bool:
    """Hand an uncaught failure to the test's active error_tracking_context; False if none."""
    tracking = node.stash.get(_TRACKING, None)
    if tracking is None:
        return False
    tracking.record_uncaught(error, source=source)
    return True


@pytest.fixture
def error_tracking_context(request: pytest.FixtureRequest) -> Iterator[ErrorTrackingContext]:
    """An active ErrorTrackingContext: uncaught errors of threads, workers and tasks land in it."""
    from .tracking import ErrorTrackingContext

    context = ErrorTrackingContext()
    context.activate()
    request.node.stash[_TRACKING] = context
    try:
        yield context
    finally:
        del request.node.stash[_TRACKING]
        context.deactivate()
        _plugin_recording.record(request.node, context.get_error_chain)


@pytest.fixture
def itest_module_map() -> dict[str, list[str]] | None:
    """The map of config_change_tracker; None (the default) means the ini's ``itest_module_map``.

    Override it in a conftest.py to give some tests another map; a map returned
    here wins over the ini's, and comes without its fallback and key_match.
    """
    return None


@pytest.fixture
def config_change_tracker(
    request: pytest.FixtureRequest, itest_module_map: dict[str, list[str]] | None
) -> Iterator[ConfigChangeTracker]:
    """A ConfigChangeObserver whose ``change_log`` list fills as config changes."""
    from .config import ConfigChangeTracker

    tracker = ConfigChangeTracker(itest_module_map)
    yield tracker
    _plugin_recording.record(
        request.node, lambda: [*tracker.get_change_log(), *tracker.get_observer_errors()]
    )


@pytest.fixture
def resource_monitor(request: pytest.FixtureRequest) -> Iterator[ResourceMonitor]:
    """A ResourceTracker with ``assert_no_leaks``; resources still active at teardown fail."""
    from .monitor import ResourceMonitor

    monitor = ResourceMonitor()
    yield monitor
    leaked = monitor.finish()
    # Every life, leaks marked "leaked": recorded before the leak fails the test.
    _plugin_recording.record(request.node, monitor.get_all_resources)
    if leaked and request.node.get_closest_marker("allow_resource_leaks") is None:
        pytest.fail(
            f"{monitor.describe_leaks(leaked)}\n(release them, or mark the test"
            " @pytest.mark.allow_resource_leaks if leaving them is what it tests)",
            pytrace=False,
        )


@pytest.fixture
def parallel_test_environment(
    request: pytest.FixtureRequest, temp_workspace: Path
) -> Iterator[ParallelTestEnvironment]:
    """A ParallelTestEnvironment in ``temp_workspace``; teardown stops every worker.

    Teardown fails the test on worker errors nobody joined.
    """
    from .parallel import ParallelTestEnvironment

    settings = request.config.stash[SETTINGS]
    environment = ParallelTestEnvironment(
        temp_workspace,
        start_method=settings.start_method,
        grace_period=settings.grace_period,
        on_worker_error=lambda error: _record_uncaught(
            request.node, error, "parallel_test_environment"
        ),
    )
    # close() raises the WorkerErrors the test never joined: a teardown error.
    with environment:
        yield environment


@pytest.fixture
def mock_parser_factory() -> Iterator[MockParserFactory]:
    """A MockParserFactory with deterministic trees and failure injection."""
    from .parsers import MockParserFactory

    factory = MockParserFactory()
    yield factory
    factory.reset()


@pytest.fixture
def test_file_generator(temp_workspace: Path) -> Iterator[TestFileGenerator]:
    """A TestFileGenerator writing under ``temp_workspace``; removes what it made at teardown."""
    from .files import TestFileGenerator

    generator = TestFileGenerator(temp_workspace)
    yield generator
    generator.cleanup()


@pytest.fixture
def async_test_runner(request: pytest.FixtureRequest) -> Iterator[AsyncTestRunner]:
    """An AsyncTestRunner; teardown cancels and awaits every task it started."""
    from .aio import AsyncTestRunner, UnretrievedTaskError

    unreported: list[tuple[str, BaseException]] = []

    def on_error(error: BaseException, task: Any) -> None:
        # A task exception nobody retrieved goes to the test's error tracking
        # context when it has one; otherwise it fails the test at teardown.
        name = task.get_name()
        if not _record_uncaught(request.node, error, f"async_test_runner task {name}"):
            unreported.append((name, error))

    runner = AsyncTestRunner(on_error=on_error)
    yield runner
    runner.close()
    if unreported:
        names, errors = zip(*unreported, strict=True)
        raise UnretrievedTaskError(names, errors) from errors[0]


@pytest.fixture
def thread_safe_counter() -> ThreadSafeCounter:
    """A ThreadSafeCounter starting at 0."""
    from .perf import ThreadSafeCounter

    return ThreadSafeCounter()


@pytest.fixture
def performance_monitor(request: pytest.FixtureRequest) -> Iterator[PerformanceMonitor]:
    """A PerformanceMonitor on time.perf_counter; its statistics are recorded at teardown."""
    from .perf import PerformanceMonitor

    monitor = PerformanceMonitor()
    yield monitor

    def statistics() -> list[Record]:
        from .formats import TimingStatsRecord

        return [TimingStatsRecord.from_stats(s) for s in monitor.get_all_stats().values()]

    _plugin_recording.record(request.node, statistics)


class HeldLock:
    """A worktree lock the ``worktree_lock`` fixture acquired; ``with`` or ``release()`` frees it.

    .. versionadded:: 1.2
    """

    def __init__(self, lock: WorktreeLock) -> None:
        self.lock = lock
        self.released = False

    def release(self) -> None:
        """Give the lock back now rather than at teardown; idempotent."""
        if not self.released:
            self.released = True
            self.lock.release()

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<HeldLock {self.lock.name!r}{' released' if self.released else ''}>"


@pytest.fixture
def worktree_lock(request: pytest.FixtureRequest) -> Iterator[Callable[..., HeldLock]]:
    """Acquire a lock shared by every worktree of the repository; released at teardown.

    ``worktree_lock("ports", timeout=10)`` waits up to ``timeout`` seconds, then
    raises WorktreeLockTimeout naming the holder. The lock is held until the
    test's teardown; ``with worktree_lock("ports"):`` holds it for the block, and
    ``.release()`` gives it back early. Call it from the test's own thread.
    """
    from .coordination import DEFAULT_LOCK_TIMEOUT, shared_directory
    from .coordination import worktree_lock as make_lock

    directory = shared_directory(request.config.rootpath)
    taken: list[HeldLock] = []

    def acquire(name: str, timeout: float | None = DEFAULT_LOCK_TIMEOUT) -> HeldLock:
        lock = make_lock(name, timeout, directory=directory)
        lock.acquire()
        taken.append(HeldLock(lock))
        return taken[-1]

    yield acquire
    # Newest first, as nested holds are given back; one failing release (a lock
    # taken in another thread) must not keep the others held.
    failures: list[Exception] = []
    for held in reversed(taken):
        try:
            held.release()
        except Exception as error:
            failures.append(error)
    if failures:
        raise failures[0]
