"""What the plugin adds to a pytest run: its start-up, and ``--itest-record`` on a real suite.

Run: ``python benchmarks/bench_plugin.py`` (``--quick`` for fewer runs).

1. Start-up: a fresh ``python -m pytest`` on one trivial test, with and without
   ``-p itest_shared.fixtures``, alternating; the medians are compared (target:
   at most 5%).
2. Recording (issue 11): a suite of 500 tests that use the recording fixtures
   (a resource tracked and released, two timed operations, a config change and
   an error crossing a module boundary: 5 records a test, and since 2.2 its
   test_result and each process's environment record), run with and
   without ``--itest-record=DIR``, alternating; the medians are compared
   (target: at most 1.02x). Each recorded run writes to a new store, and the
   count of records written is checked.
3. Recording under pytest-xdist (issue 12): the same suite with ``-n 2``, with
   and without ``--itest-record=DIR``, alternating; the workers hand their
   records to the controller with each test's report, and the controller
   writes them. The medians are compared (no target: reported).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = 500
# A resource, two timing_stats, a config change and an error context.
RECORDS_PER_TEST = 5

SUITE = """
import pytest

@pytest.mark.parametrize("n", range({tests}))
def test_recorded(
    n, resource_monitor, performance_monitor, config_change_tracker, error_tracking_context
):
    resource_monitor.track_resource(
        module="chunker.parallel", resource_type="process", resource_id=f"worker_{{n}}"
    )
    resource_monitor.release_resource(f"worker_{{n}}")
    for _ in range(5):
        with performance_monitor.measure("parse"):
            pass
        with performance_monitor.measure("chunk"):
            pass
    config_change_tracker.on_config_change("languages.python.chunk_types", [], ["class"])
    error_tracking_context.capture_and_propagate(
        "chunker.parser", "cli.main", ValueError("Parser timeout")
    )
"""


def time_run(directory: Path, extra: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            *extra,
        ],
        cwd=directory,
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - start, done.stdout


def bench_start_up(directory: Path, runs: int) -> None:
    (directory / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
    )
    (directory / "test_trivial.py").write_text("def test_trivial():\n    assert True\n")
    time_run(directory, [])  # warm the file system cache and .pyc files
    time_run(directory, ["-p", "itest_shared.fixtures"])
    plain, plugin = [], []
    for _ in range(runs):
        plain.append(time_run(directory, [])[0])
        plugin.append(time_run(directory, ["-p", "itest_shared.fixtures"])[0])
    base, ours = statistics.median(plain), statistics.median(plugin)
    print(
        f"1. trivial pytest run: {base * 1e3:7.1f} ms"
        f"   with -p itest_shared.fixtures: {ours * 1e3:7.1f} ms"
        f"   overhead {(ours / base - 1) * 100:+.1f}%  (target <= +5%)"
    )


def bench_recording(directory: Path, runs: int, xdist: list[str]) -> tuple[float, float]:
    """Median seconds of the suite without and with ``--itest-record``, ``xdist`` args added."""
    (directory / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
    )
    (directory / "conftest.py").write_text('pytest_plugins = ["itest_shared.fixtures"]\n')
    (directory / "test_suite.py").write_text(SUITE.format(tests=TESTS))
    stores = directory / "stores"
    plain, recorded = [], []

    def record(index: int) -> float:
        store = stores / str(index)
        seconds, out = time_run(directory, [*xdist, f"--itest-record={store}"])
        written = re.search(r"itest-shared: (\d+) records written", out)
        # ... and a test_result of each test, and the environment of each
        # process (the controller and its workers under xdist: schema 1.2).
        processes = 1 + (int(xdist[xdist.index("-n") + 1]) if "-n" in xdist else 0)
        expected = (RECORDS_PER_TEST + 1) * TESTS + processes
        if written is None or int(written.group(1)) != expected:
            raise SystemExit(f"expected {expected} records written; pytest said:\n{out}")
        lines = sum(len(path.read_bytes().splitlines()) for path in store.rglob("*.jsonl"))
        if lines != expected:
            raise SystemExit(f"expected {expected} records in {store}, found {lines}")
        return seconds

    time_run(directory, xdist)  # warm the file system cache and .pyc files
    record(-1)
    for index in range(runs):
        plain.append(time_run(directory, xdist)[0])
        recorded.append(record(index))
    return statistics.median(plain), statistics.median(recorded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    quick = parser.parse_args().quick
    with tempfile.TemporaryDirectory() as name:
        start_up = Path(name) / "start-up"
        start_up.mkdir()
        bench_start_up(start_up, 7 if quick else 31)
        recording = Path(name) / "recording"
        recording.mkdir()
        base, ours = bench_recording(recording, 3 if quick else 15, [])
        print(
            f"2. {TESTS} tests using the recording fixtures: {base:6.2f} s"
            f"   with --itest-record: {ours:6.2f} s"
            f"   ratio {ours / base:.3f}x  (target <= 1.02x; {(RECORDS_PER_TEST + 1) * TESTS + 1}"
            " records a run)"
        )
        under_xdist = Path(name) / "under-xdist"
        under_xdist.mkdir()
        base, ours = bench_recording(under_xdist, 2 if quick else 9, ["-n", "2"])
        print(
            f"3. the same under -n 2: {base:6.2f} s   with --itest-record: {ours:6.2f} s"
            f"   ratio {ours / base:.3f}x  ({(RECORDS_PER_TEST + 1) * TESTS + 3} records a run,"
            " written by the controller)"
        )


if __name__ == "__main__":
    main()
