"""What the leak audit adds to a trivial test, with other processes running on the machine.

Run: ``python benchmarks/bench_leaks.py`` (``--quick`` for a short run).

1. Per-test cost of ``@pytest.mark.leak_audit`` on a trivial test, against the
   same trivial test not audited, in one pytest run on a generated file whose
   tests alternate audited and not (target: <= 2x with 100 unrelated processes
   running, and little growth from 100 to 300). Each test is timed from the
   outside of its whole run protocol (setup, call, teardown, report) by a
   conftest hook wrapper, and the medians are compared. "Unrelated" processes
   are ``sleep``s started by a sibling of the pytest process, so they are no
   descendants of it: they cost the audit only through what it reads of the
   machine. They are killed and waited for at the end.
2. One audit (``LeakSnapshot.take`` with a mark, then ``audit(grace_period=0)``)
   in a process of its own, against ``psutil.Process().children(recursive=True)``
   (what 94% of a snapshot was), interleaved; and what one look of the process
   table costs when ``/proc`` must be listed (a process was created meanwhile).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

from _timing import interleaved

from itest_shared.leaks import LeakSnapshot, mark_descendants, unmark_descendants

LOADS = (0, 100, 300)

# Starts K sleepers, says so, and kills and reaps them when its stdin closes
# (also when the benchmark dies: PID 1 here does not reap orphans).
SPAWNER = textwrap.dedent(
    """
    import subprocess, sys
    kids = [subprocess.Popen(["sleep", "3600"]) for _ in range(int(sys.argv[1]))]
    print("ready", flush=True)
    sys.stdin.read()
    for kid in kids:
        kid.kill()
    for kid in kids:
        kid.wait()
    """
)

# Times each test's whole run protocol from the outside (tryfirst: the
# outermost wrapper), and writes the durations at the end of the session.
CONFTEST = textwrap.dedent(
    """
    import json, os, time
    import pytest

    pytest_plugins = ["itest_shared.fixtures"]
    DURATIONS = {}

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(item, nextitem):
        start = time.perf_counter()
        try:
            return (yield)
        finally:
            DURATIONS[item.name] = time.perf_counter() - start

    def pytest_sessionfinish(session):
        with open(os.environ["BENCH_LEAKS_OUT"], "w") as out:
            json.dump(DURATIONS, out)
    """
)


def machine_pids() -> int:
    return sum(name.isdigit() for name in os.listdir("/proc")) if os.path.isdir("/proc") else 0


@contextlib.contextmanager
def unrelated_processes(count: int) -> Iterator[None]:
    """``count`` sleeping processes that are no descendants of what runs meanwhile."""
    if count == 0:
        yield
        return
    spawner = subprocess.Popen(
        [sys.executable, "-c", SPAWNER, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert spawner.stdin is not None and spawner.stdout is not None
    try:
        if spawner.stdout.readline().strip() != "ready":
            raise RuntimeError("the spawner of unrelated processes did not start them")
        yield
    finally:
        spawner.stdin.close()  # the spawner kills and reaps its sleepers, then ends
        spawner.wait(timeout=120)


def write_suite(directory: Path, pairs: int) -> None:
    (directory / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
    )
    (directory / "conftest.py").write_text(CONFTEST)
    tests = ["import pytest\n"]
    for index in range(pairs):
        tests.append(f"\ndef test_plain_{index:04d}():\n    pass\n")
        tests.append(f"\n@pytest.mark.leak_audit\ndef test_audited_{index:04d}():\n    pass\n")
    (directory / "test_trivial.py").write_text("".join(tests))


def run_suite(directory: Path, pairs: int) -> tuple[list[float], list[float]]:
    """Per-test durations of one run: (plain, audited), the first tenth dropped as warm-up."""
    out = directory / "durations.json"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=directory,
        env={**os.environ, "BENCH_LEAKS_OUT": str(out)},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    durations = json.loads(out.read_text())
    if len(durations) != 2 * pairs:
        raise RuntimeError(f"expected {2 * pairs} timed tests, got {len(durations)}")
    skip = pairs // 10
    plain = [durations[f"test_plain_{i:04d}"] for i in range(skip, pairs)]
    audited = [durations[f"test_audited_{i:04d}"] for i in range(skip, pairs)]
    return plain, audited


def bench_per_test(pairs: int, rounds: int) -> None:
    print(f"1. per trivial test, {pairs} audited + {pairs} not, alternating; {rounds} round(s)")
    results: dict[int, tuple[list[float], list[float]]] = {load: ([], []) for load in LOADS}
    counts: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        write_suite(directory, pairs)
        for _ in range(rounds):
            for load in LOADS:
                with unrelated_processes(load):
                    counts[load] = machine_pids()
                    plain, audited = run_suite(directory, pairs)
                results[load][0].extend(plain)
                results[load][1].extend(audited)
    ratios = {}
    for load in LOADS:
        plain, audited = results[load]
        base, ours = statistics.median(plain), statistics.median(audited)
        ratios[load] = ours / base
        print(
            f"   +{load:3d} unrelated ({counts[load]:4d} pids on the machine):"
            f" not audited {base * 1e6:7.1f} us   audited {ours * 1e6:7.1f} us"
            f"   ratio {ours / base:5.2f}x (+{(ours - base) * 1e6:6.1f} us)"
            f"   best-of: {min(audited) / min(plain):5.2f}x   (target <= 2x)"
        )
    print(
        f"   growth from +100 to +300 unrelated processes: {ratios[100]:.2f}x -> {ratios[300]:.2f}x"
        f" ({(ratios[300] / ratios[100] - 1) * 100:+.0f}%)"
    )


def snapshot_worker(number: int, repeat: int) -> None:
    """Run in a process of its own (the sleepers are no descendants of it); prints JSON."""
    import psutil  # type: ignore[import-untyped, unused-ignore]

    me = psutil.Process()
    mark = mark_descendants()
    candidates = {
        "children": lambda: me.children(recursive=True),
        "audit": lambda: LeakSnapshot.take(mark=mark).audit(grace_period=0),
    }
    try:
        from itest_shared.leaks import _procs
    except ImportError:  # before the process table
        pass
    else:
        # What a look costs when a process was created since the last one
        # (elsewhere on the machine, say), so that /proc must be listed.
        table = _procs.ProcessTable(gate=False)
        candidates["listed"] = lambda: table.look(os.getpid())
    try:
        best = interleaved(candidates, number, repeat)
    finally:
        unmark_descendants(mark)
    print(json.dumps(best))


def bench_snapshot(number: int, repeat: int) -> None:
    print(
        f"2. one audit (snapshot, audit(0)) in a process of its own, interleaved, best of {repeat}"
    )
    for load in LOADS:
        with unrelated_processes(load):
            pids = machine_pids()
            out = subprocess.run(
                [sys.executable, __file__, "--snapshot-worker", str(number), str(repeat)],
                check=True,
                capture_output=True,
                text=True,
            )
        best = json.loads(out.stdout)
        base = best["children"]
        listed = (
            f"; a look that lists /proc {best['listed'] * 1e6:6.1f} us"
            f" ({best['listed'] / base:5.3f}x)"
            if "listed" in best
            else ""
        )
        print(
            f"   +{load:3d} unrelated ({pids:4d} pids): audit {best['audit'] * 1e6:7.1f} us"
            f" = {best['audit'] / base:5.3f}x psutil children(recursive=True)"
            f" ({base * 1e6:7.1f} us){listed}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--snapshot-worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.snapshot_worker:
        snapshot_worker(*args.snapshot_worker)
        return
    quick = args.quick
    bench_per_test(pairs=300 if quick else 1000, rounds=1 if quick else 3)
    bench_snapshot(number=20 if quick else 50, repeat=5 if quick else 15)


if __name__ == "__main__":
    main()
