"""Benchmarks of TestFileGenerator, each as a ratio against a baseline run in the same process.

Run: ``python benchmarks/bench_files.py`` (``--quick`` for a short run, ``--size-mb N``).

1. ``create_large_file`` throughput (MB/s) for several patterns and languages, against
   a plain sequential ``write`` of the same number of bytes in 1 MiB chunks to the same
   directory (target: >= 0.5x). ``handler`` is an identifier pattern (a function name
   prefix), next to the default ``function`` in the same language; ``handler_x2000``
   is a 2,000-character prefix, whose bigger blocks make chunks of 100 blocks.
2. ``create_tree`` of 2,000 files, against plain ``open().write()`` of the same paths
   and contents into already created directories (no target; shows the cost of the
   name checks and tracking).

Runs are interleaved (baseline, candidate, baseline, ...) so drift of the machine hits
both alike; the best of each is reported. Nothing is asserted: it prints figures.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from itest_shared.files import MIB, TestFileGenerator

LONG_PREFIX = "handler_" + "x" * 1992
CASES = [
    ("function", "python"),
    ("handler", "python"),
    (LONG_PREFIX, "python"),
    ("class", "rust"),
    ("mixed", "javascript"),
    ("comment", "c"),
]


def plain_write(path: Path, size: int) -> None:
    """The baseline: write ``size`` bytes sequentially in 1 MiB chunks."""
    chunk = b"x" * MIB
    with open(path, "wb") as handle:
        left = size
        while left > 0:
            handle.write(chunk if left >= MIB else chunk[:left])
            left -= MIB


def timed(func: Callable[[], object]) -> float:
    """Return the seconds one call of ``func`` takes."""
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def bench_large(workdir: Path, size_mb: float, repeat: int) -> None:
    """Print MB/s of create_large_file and of the plain write, and their ratio."""
    print(f"create_large_file, {size_mb:g} MiB, best of {repeat} (MB/s = 10^6 bytes/s)")
    print(
        f"  {'pattern/language':<22} {'baseline':>10} {'generator':>10} {'ratio':>7} {'median':>7}"
    )
    for pattern, language in CASES:
        label = "handler_x2000" if pattern == LONG_PREFIX else pattern
        generator = TestFileGenerator(workdir / "gen")
        base_times, gen_times, sizes = [], [], []
        for _ in range(repeat):
            path = generator.create_large_file(
                f"big_{label}", size_mb, pattern=pattern, language=language
            )
            size = path.stat().st_size
            generator.cleanup()
            sizes.append(size)
            baseline = workdir / "plain.bin"
            base_times.append(timed(functools.partial(plain_write, baseline, size)))
            baseline.unlink()
            create = functools.partial(
                generator.create_large_file,
                f"big_{label}",
                size_mb,
                pattern=pattern,
                language=language,
            )
            gen_times.append(timed(create))
            generator.cleanup()
        size = sizes[0]
        base_rate = size / min(base_times) / 1e6
        gen_rate = size / min(gen_times) / 1e6
        ratios = [b / g for b, g in zip(base_times, gen_times, strict=True)]
        print(
            f"  {label + '/' + language:<22} {base_rate:>10.0f} {gen_rate:>10.0f} "
            f"{gen_rate / base_rate:>6.2f}x {statistics.median(ratios):>6.2f}x"
        )


def bench_tree(workdir: Path, n_files: int, repeat: int) -> None:
    """Print files/s of create_tree and of plain writes of the same files, and their ratio."""
    probe = TestFileGenerator(workdir / "probe")
    paths = probe.create_tree(n_files, seed=1)
    files = [(p.relative_to(probe.root), p.read_bytes()) for p in paths]
    probe.cleanup()

    def plain() -> None:
        target = workdir / "plain_tree"
        for rel, data in files:
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)

    base_times, gen_times = [], []
    for _ in range(repeat):
        base_times.append(timed(plain))
        for path in sorted((workdir / "plain_tree").rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        generator = TestFileGenerator(workdir / "gen_tree")
        gen_times.append(timed(functools.partial(generator.create_tree, n_files, seed=1)))
        generator.cleanup()
    base_rate, gen_rate = n_files / min(base_times), n_files / min(gen_times)
    print(f"create_tree, {n_files} files, best of {repeat}")
    print(f"  plain writes {base_rate:>9.0f} files/s")
    print(f"  create_tree  {gen_rate:>9.0f} files/s   ratio {gen_rate / base_rate:.2f}x")


def main() -> None:
    """Parse options and run both benchmarks in a temporary directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100.0, help="large file size (MiB)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measurement")
    parser.add_argument("--quick", action="store_true", help="20 MiB, 3 runs, 500 files")
    options = parser.parse_args()
    size_mb = 20.0 if options.quick else options.size_mb
    repeat = 3 if options.quick else options.repeat
    with tempfile.TemporaryDirectory(prefix="bench_files_") as tmp:
        bench_large(Path(tmp), size_mb, repeat)
        bench_tree(Path(tmp), 500 if options.quick else 2000, repeat)


if __name__ == "__main__":
    main()
