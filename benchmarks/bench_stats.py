"""Cost of the statistics of ``itest-shared compare`` on large samples, as ratios in the same run.

Run: ``python benchmarks/bench_stats.py`` (``--quick`` for a short run).

Each figure is the best of a few rounds, interleaved with its baselines so that
drift of the machine hits them alike:

1. ``hodges_lehmann(x, y)`` (the median of all n * m differences and its
   interval, by selection) against ``sorted()`` of both samples, the floor of
   any exact method; and, where it fits in memory, against brute force (every
   difference listed, sorted, ``statistics.median``).
2. ``mann_whitney_u(x, y)`` (asymptotic) against ``sorted(x + y)`` and against
   ``scipy.stats.mannwhitneyu`` (a dev extra; skipped when missing); and the
   exact test of a small sample beside a large one against scipy's exact test.
3. ``compare_many`` of 100 operations of 20 timings a side against the 200
   ``sorted()`` calls of its samples.

Sanity only: the results equal brute force and scipy's (to 1e-9).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import random
import statistics
from collections.abc import Callable

from _timing import interleaved

from itest_shared.stats import compare_many, hodges_lehmann, mann_whitney_u


def report(title: str, timings: dict[str, float], baseline: str) -> None:
    print(title)
    for name, seconds in timings.items():
        ratio = seconds / timings[baseline]
        print(f"  {name:44s} {seconds * 1e3:10.2f} ms   {ratio:7.1f}x {baseline!r}")


def lognormal(rng: random.Random, n: int, factor: float = 1.0) -> list[float]:
    return [factor * rng.lognormvariate(0.0, 0.2) for _ in range(n)]


def bench_hodges_lehmann(sizes: list[int], brute_up_to: int, repeat: int) -> None:
    rng = random.Random(1)
    for n in sizes:
        x, y = lognormal(rng, n), lognormal(rng, n, 1.1)
        candidates: dict[str, Callable[[], object]] = {
            "sorted(x), sorted(y)": lambda x=x, y=y: (sorted(x), sorted(y)),
            "hodges_lehmann(x, y)": lambda x=x, y=y: hodges_lehmann(x, y),
        }
        if n <= brute_up_to:
            candidates["brute force: all differences, median"] = lambda x=x, y=y: statistics.median(
                sorted(b - a for a in x for b in y)
            )
            brute = statistics.median(sorted(b - a for a in x for b in y))
            assert hodges_lehmann(x, y).estimate == brute  # sanity
        timings = interleaved(candidates, number=1, repeat=repeat)
        report(
            f"Hodges-Lehmann, {n:,} x {n:,} ({n * n:,} differences):",
            timings,
            "sorted(x), sorted(y)",
        )


def bench_mann_whitney(n: int, repeat: int) -> None:
    rng = random.Random(2)
    x, y = lognormal(rng, n), lognormal(rng, n, 1.001)
    candidates: dict[str, Callable[[], object]] = {
        "sorted(x + y)": lambda: sorted(x + y),
        "mann_whitney_u(x, y)": lambda: mann_whitney_u(x, y),
    }
    scipy_found = importlib.util.find_spec("scipy") is not None
    if scipy_found:
        import scipy.stats

        candidates["scipy.stats.mannwhitneyu(x, y)"] = lambda: scipy.stats.mannwhitneyu(x, y)
        theirs = float(scipy.stats.mannwhitneyu(x, y).pvalue)
        assert math.isclose(mann_whitney_u(x, y).p_value, theirs, rel_tol=1e-9)  # sanity
    timings = interleaved(candidates, number=1, repeat=repeat)
    report(f"Mann-Whitney U (asymptotic), {n:,} x {n:,}:", timings, "sorted(x + y)")
    if not scipy_found:
        print("  scipy: skipped (not installed; a dev extra)")
        return
    small, large = lognormal(rng, 8), lognormal(rng, 2_000)
    exact = {
        "scipy exact": lambda: scipy.stats.mannwhitneyu(small, large, method="exact"),
        "mann_whitney_u exact": lambda: mann_whitney_u(small, large, method="exact"),
    }
    theirs = float(scipy.stats.mannwhitneyu(small, large, method="exact").pvalue)
    assert math.isclose(mann_whitney_u(small, large).p_value, theirs, rel_tol=1e-9)  # sanity
    timings = interleaved(exact, number=1, repeat=repeat)
    report("Mann-Whitney U (exact), 8 x 2,000:", timings, "scipy exact")


def bench_compare_many(repeat: int) -> None:
    rng = random.Random(3)
    pairs = {
        f"op{k}": (lognormal(rng, 20), lognormal(rng, 20, 1.3 if k < 5 else 1.0))
        for k in range(100)
    }
    results = compare_many(pairs)
    assert sum(r.verdict == "slower" for r in results.values()) >= 3  # sanity
    candidates: dict[str, Callable[[], object]] = {
        "200 sorted() of the samples": lambda: [sorted(s) for pair in pairs.values() for s in pair],
        "compare_many(100 operations)": lambda: compare_many(pairs),
    }
    timings = interleaved(candidates, number=1, repeat=repeat)
    report(
        "compare_many, 100 operations x 20 timings a side:", timings, "200 sorted() of the samples"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples, fewer rounds")
    quick = parser.parse_args().quick
    repeat = 3 if quick else 5
    bench_hodges_lehmann(
        [1_000, 20_000] if quick else [1_000, 3_000, 20_000, 50_000], 3_000, repeat
    )
    bench_mann_whitney(100_000, repeat)
    bench_compare_many(repeat)


if __name__ == "__main__":
    main()
