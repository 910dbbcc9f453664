"""What loading the plugin adds to the start-up of a trivial pytest run (target: at most 5%).

Run: ``python benchmarks/bench_plugin.py`` (``--quick`` for fewer runs).

Each run is a fresh ``python -m pytest`` on one trivial test, with and without
``-p itest_shared.fixtures``, alternating; the medians are compared.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def time_run(directory: Path, extra: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=directory,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    runs = 7 if parser.parse_args().quick else 31
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        (directory / "pytest.ini").write_text(
            "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        )
        (directory / "test_trivial.py").write_text("def test_trivial():\n    assert True\n")
        time_run(directory, [])  # warm the file system cache and .pyc files
        time_run(directory, ["-p", "itest_shared.fixtures"])
        plain, plugin = [], []
        for _ in range(runs):
            plain.append(time_run(directory, []))
            plugin.append(time_run(directory, ["-p", "itest_shared.fixtures"]))
    base, ours = statistics.median(plain), statistics.median(plugin)
    print(
        f"trivial pytest run: {base * 1e3:7.1f} ms"
        f"   with -p itest_shared.fixtures: {ours * 1e3:7.1f} ms"
        f"   overhead {(ours / base - 1) * 100:+.1f}%  (target <= +5%)"
    )


if __name__ == "__main__":
    main()
