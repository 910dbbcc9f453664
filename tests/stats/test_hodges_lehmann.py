"""hodges_lehmann and hodges_lehmann_ratio: brute force over all pairs, the interval, coverage."""

from __future__ import annotations

import math
import random
import re
import statistics

import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from itest_shared.stats import Shift, _ranks, _shift, hodges_lehmann, hodges_lehmann_ratio
from tests.stats.support import ci_rank, maker, null_distribution, pairwise


def brute_force(x: list[float], y: list[float], c: int) -> Shift:
    """statistics.median of all n * m differences, and their c-th smallest and largest."""
    differences = pairwise(x, y)
    if c == 0:
        return Shift(statistics.median(differences), -math.inf, math.inf)
    return Shift(statistics.median(differences), differences[c - 1], differences[-c])


@pytest.mark.parametrize("seed", range(3))
def test_equals_brute_force_on_small_samples_with_and_without_ties(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(150):
        n, m = rng.randint(1, 9), rng.randint(1, 9)
        draw = maker(rng, ties=rng.random() < 0.5)
        x, y = [draw() for _ in range(n)], [draw() for _ in range(m)]
        confidence = rng.choice([0.8, 0.9, 0.95, 0.99])
        expected = brute_force(x, y, ci_rank(n, m, confidence))
        assert hodges_lehmann(x, y, confidence=confidence) == expected


@settings(max_examples=200, derandomize=True)
@given(
    st.lists(st.integers(-4, 4).map(float) | st.floats(-1e9, 1e9), min_size=1, max_size=30),
    st.lists(st.integers(-4, 4).map(float) | st.floats(-1e9, 1e9), min_size=1, max_size=30),
)
def test_the_estimate_is_the_median_of_all_differences(x: list[float], y: list[float]) -> None:
    result = hodges_lehmann(x, y)
    assert result.estimate == statistics.median(pairwise(x, y))
    assert result.low <= result.estimate <= result.high


@pytest.mark.parametrize(
    ("kind", "sizes"),
    [
        ("normal", (420, 300)),
        ("ties", (400, 350)),  # values 0..6: long runs of equal differences
        ("two values", (400, 400)),  # 0 against half 0, half 1: the median straddles a tie
        ("normal", (1, 2500)),  # one row
        ("normal", (2500, 1)),  # one column
        ("normal", (401, 399)),  # an odd number of differences
    ],
)
def test_large_samples_select_exactly_the_same_order_statistics(
    kind: str, sizes: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past 100,000 differences the selection runs its rounds; still exactly brute force."""
    rng = random.Random(sum(sizes))
    n, m = sizes
    if kind == "two values":
        x, y = [0.0] * n, [0.0] * (m // 2) + [1.0] * (m - m // 2)
    else:
        draw = maker(rng, ties=kind == "ties")
        x, y = [draw() for _ in range(n)], [draw() for _ in range(m)]
    passes = []
    counts_below = _shift._counts_below
    monkeypatch.setattr(
        _shift, "_counts_below", lambda *args, **kw: passes.append(1) or counts_below(*args, **kw)
    )
    result = hodges_lehmann(x, y)
    differences = pairwise(x, y)
    c = _shift._ci_rank(n, m, 0.95)  # tested below; here, the selection is
    assert result == Shift(statistics.median(differences), differences[c - 1], differences[-c])
    if n * m > 100_000:
        assert passes, "the rounds of the selection did not run"


def test_the_interval_ranks_agree_with_scipys_exact_test() -> None:
    """The interval is the set of shifts the exact two-sided test does not reject.

    Between its low end and the difference below it, the one-sided exact p-value
    (scipy's) is <= alpha / 2; between it and the next difference, > alpha / 2; the
    same, mirrored, at its high end.
    """
    rng = random.Random(8)
    for n, m in [(4, 5), (6, 6), (8, 3), (10, 12), (2, 20)]:
        x = [rng.gauss(0, 1) for _ in range(n)]
        y = [rng.gauss(0.5, 1) for _ in range(m)]
        low, high = hodges_lehmann(x, y, confidence=0.9)[1:]
        assert low > -math.inf
        differences = [-math.inf, *pairwise(x, y), math.inf]
        at_low, at_high = differences.index(low), differences.index(high)

        def p_value(
            delta: float, alternative: str, x: list[float] = x, y: list[float] = y
        ) -> float:
            moved = [v - delta for v in y]  # U of x (x > y - delta): the differences < delta
            result = scipy.stats.mannwhitneyu(x, moved, alternative=alternative, method="exact")
            return float(result.pvalue)

        def between(i: int, j: int, d: list[float] = differences) -> float:
            return (
                d[j] - 1
                if d[i] == -math.inf
                else d[i] + 1
                if d[j] == math.inf
                else (d[i] + d[j]) / 2
            )

        assert p_value(between(at_low - 1, at_low), "less") <= 0.05
        assert p_value(between(at_low, at_low + 1), "less") > 0.05
        assert p_value(between(at_high - 1, at_high), "greater") > 0.05
        assert p_value(between(at_high, at_high + 1), "greater") <= 0.05


@pytest.mark.parametrize(("n", "m"), [(1, 1), (2, 2), (3, 3), (1, 30)])
def test_samples_too_small_for_the_confidence_give_an_unbounded_interval(n: int, m: int) -> None:
    x, y = [float(i) for i in range(n)], [float(i) + 0.5 for i in range(m)]
    assert hodges_lehmann(x, y)[1:] == (-math.inf, math.inf)
    assert hodges_lehmann_ratio([v + 1 for v in x], [v + 1 for v in y])[1:] == (0.0, math.inf)


@pytest.mark.parametrize(("n", "m"), [(110, 110), (160, 160), (300, 200), (20, 5000)])
def test_the_normal_approximation_of_the_interval_keeps_its_level(n: int, m: int) -> None:
    """Past the exact bound, c comes from the normal approximation: its true level, from
    the exact distribution (the counts are checked against enumeration elsewhere), is
    the nominal one to within 0.005."""
    c = _shift._ci_rank(n, m, 0.95)
    z = scipy.stats.norm.ppf(0.975)
    assert c == math.floor(n * m / 2 + 0.5 - z * math.sqrt(n * m * (n + m + 1) / 12))
    achieved = 1 - 2 * sum(_ranks._null_counts(n, m, c - 1)) / math.comb(n + m, n)
    assert achieved == pytest.approx(0.95, abs=0.005)


@pytest.mark.parametrize(("n", "m"), [(1, 1), (2, 3), (4, 4), (5, 2), (7, 6)])
def test_the_null_counts_are_those_of_enumeration(n: int, m: int) -> None:
    expected = null_distribution(n, m)
    assert _ranks._null_counts(n, m, n * m) == [expected[u] for u in range(n * m + 1)]


@pytest.mark.parametrize(("n", "m", "sigma"), [(10, 12, 1.0), (30, 30, 0.5), (170, 150, 1.0)])
def test_the_interval_covers_the_true_shift_at_its_nominal_rate(
    n: int, m: int, sigma: float
) -> None:
    """500 seeded trials: coverage 0.95 +- 3.5 standard errors (0.034)."""
    rng = random.Random(n * m)
    trials = 500
    covered = 0
    for _ in range(trials):
        x = [rng.gauss(0, sigma) for _ in range(n)]
        y = [rng.gauss(0.7, sigma) for _ in range(m)]
        shift = hodges_lehmann(x, y)
        covered += shift.low <= 0.7 <= shift.high
    band = 3.5 * math.sqrt(0.95 * 0.05 / trials)
    assert 0.95 - band <= covered / trials <= 0.95 + band


def test_20000_by_20000_is_exact_without_listing_the_pairs() -> None:
    """400 million differences: each result has the right number of differences around it.

    The c-th smallest difference is the value with fewer than c differences below it
    and at least c at or below it (counted exactly by the same row walk).
    """
    rng = random.Random(20)
    x = [rng.lognormvariate(0, 0.2) for _ in range(20_000)]
    y = [rng.lognormvariate(0.1, 0.2) for _ in range(20_000)]
    result = hodges_lehmann(x, y)
    rows, ys = sorted(x, reverse=True), sorted(y)

    def around(value: float) -> tuple[int, int]:
        below = sum(_shift._counts_below(rows, ys, value, strict=True))
        return below, sum(_shift._counts_below(rows, ys, value, strict=False))

    total = len(x) * len(y)
    c = _shift._ci_rank(len(x), len(y), 0.95)
    for value, rank in [(result.low, c), (result.high, total + 1 - c)]:
        below, upto = around(value)
        assert below < rank <= upto  # so value is a difference, and the rank-th
    below, upto = around(result.estimate)  # the mean of the middle two
    assert below <= total // 2 <= upto
    assert 1.09 < math.exp(result.estimate) < 1.12


def test_the_ratio_is_the_shift_of_the_logs() -> None:
    rng = random.Random(4)
    x = [rng.lognormvariate(0, 0.3) for _ in range(25)]
    y = [1.5 * rng.lognormvariate(0, 0.3) for _ in range(30)]
    logs = hodges_lehmann([math.log(v) for v in x], [math.log(v) for v in y], confidence=0.9)
    ratio = hodges_lehmann_ratio(x, y, confidence=0.9)
    assert ratio == Shift(*(math.exp(v) for v in logs))
    assert ratio.low < 1.5 < ratio.high
    assert hodges_lehmann_ratio([2.0, 4.0, 8.0], [4.0, 8.0, 16.0]).estimate == pytest.approx(2.0)


@pytest.mark.parametrize(("x", "y", "name"), [([1.0, 0.0], [1.0], "x[1]"), ([1.0], [-2.0], "y[0]")])
def test_the_ratio_refuses_values_that_are_not_positive(
    x: list[float], y: list[float], name: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{re.escape(name)} must be > 0"):
        hodges_lehmann_ratio(x, y)
