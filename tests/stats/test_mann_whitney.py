"""mann_whitney_u against scipy and against enumeration of every ordering; min_p_value."""

from __future__ import annotations

import itertools
import math
import random

import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from itest_shared.stats import _ranks, mann_whitney_u, min_p_value
from tests.stats.support import maker, null_distribution

ALTERNATIVES = ("two-sided", "less", "greater")
REL = 1e-9  # agreement with scipy, relative (the largest seen: ~3e-15)


def assert_as_scipy(x: list[float], y: list[float], alternative: str, method: str) -> None:
    ours = mann_whitney_u(x, y, alternative=alternative, method=method)  # type: ignore[arg-type]
    theirs = scipy.stats.mannwhitneyu(
        x, y, alternative=alternative, method=method, use_continuity=True
    )
    assert ours.statistic == float(theirs.statistic)
    if math.isnan(theirs.pvalue):
        # Every value equal: no variance to scale by. Some scipy and numpy versions
        # give nan for it (0 / 0); ours is 1, as the docstring says.
        assert len(set(x) | set(y)) == 1 and ours.p_value == 1.0
        return
    assert ours.p_value == pytest.approx(float(theirs.pvalue), rel=REL, abs=1e-300)
    assert 0 <= ours.p_value <= 1


def methods_for(x: list[float], y: list[float]) -> list[str]:
    tied = len(set(x + y)) < len(x) + len(y)
    return ["auto", "asymptotic"] if tied else ["auto", "asymptotic", "exact"]


@pytest.mark.parametrize("seed", range(4))
def test_agrees_with_scipy_on_seeded_samples_with_and_without_ties(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(100):
        draw = maker(rng, ties=rng.random() < 0.5)
        x = [draw() for _ in range(rng.randint(1, 14))]
        y = [draw() for _ in range(rng.randint(1, 14))]
        for alternative, method in itertools.product(ALTERNATIVES, methods_for(x, y)):
            assert_as_scipy(x, y, alternative, method)


small_values = st.integers(-5, 5).map(float) | st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=300, derandomize=True)
@given(
    st.lists(small_values, min_size=1, max_size=15),
    st.lists(small_values, min_size=1, max_size=15),
    st.sampled_from(ALTERNATIVES),
)
def test_agrees_with_scipy_on_any_samples(x: list[float], y: list[float], alternative: str) -> None:
    for method in methods_for(x, y):
        assert_as_scipy(x, y, alternative, method)


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([1.0], [2.0]),
        ([2.0], [1.0]),
        ([1.0], [5.0, 2.0, 3.0, 4.0, 6.0]),
        ([0.0], [5.0, 2.0, 3.0, 4.0, 6.0]),
        ([1.0, 2.0], [3.0, 4.0]),
        ([1.0, 3.0], [2.0, 4.0]),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),  # ties across samples
    ],
)
@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_agrees_with_scipy_on_tiny_samples(
    x: list[float], y: list[float], alternative: str
) -> None:
    for method in methods_for(x, y):
        assert_as_scipy(x, y, alternative, method)


@pytest.mark.parametrize("sizes", [(1, 1), (1, 6), (2, 2), (5, 30), (40, 40)])
@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_all_equal_values_give_p_1(sizes: tuple[int, int], alternative: str) -> None:
    x, y = [3.5] * sizes[0], [3.5] * sizes[1]
    result = mann_whitney_u(x, y, alternative=alternative)  # type: ignore[arg-type]
    assert (result.p_value, result.method) == (1.0, "asymptotic")
    assert result.statistic == sizes[0] * sizes[1] / 2
    assert_as_scipy(x, y, alternative, "asymptotic")


@pytest.mark.parametrize("seed", range(3))
def test_agrees_with_scipy_on_large_samples(seed: int) -> None:
    rng = random.Random(seed)
    x = [rng.lognormvariate(0, 0.2) for _ in range(3000)]
    y = [rng.lognormvariate(0.01, 0.2) for _ in range(2500)]
    rounded = ([round(v, 2) for v in x], [round(v, 2) for v in y])  # many ties
    for alternative in ALTERNATIVES:
        assert_as_scipy(x, y, alternative, "auto")
        assert_as_scipy(*rounded, alternative, "auto")
    assert mann_whitney_u(x, y).method == "asymptotic"
    # Far in the tail, p stays relative-accurate (no 1 - cdf cancellation).
    shifted = [v * 1.1 for v in y]
    assert_as_scipy(x, shifted, "two-sided", "asymptotic")
    assert 0 < mann_whitney_u(x, shifted).p_value < 1e-20


@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 4), (2, 2), (3, 5), (4, 4), (6, 3), (5, 7)])
def test_exact_p_values_are_the_fraction_of_orderings_as_extreme(n: int, m: int) -> None:
    """Against the truth by enumeration, not against scipy: every possible U, each tail."""
    counts = null_distribution(n, m)
    total = math.comb(n + m, n)
    for u1 in range(n * m + 1):
        # Samples without ties whose U of x is u1: x placed among 0..n+m-1.
        x_places = next(
            p
            for p in itertools.combinations(range(n + m), n)
            if sum(place - rank for rank, place in enumerate(p)) == u1
        )
        x = [float(p) for p in x_places]
        y = [float(p) for p in range(n + m) if p not in x_places]
        greater = sum(c for u, c in counts.items() if u >= u1) / total
        less = sum(c for u, c in counts.items() if u <= u1) / total
        assert mann_whitney_u(x, y, alternative="greater", method="exact").p_value == (
            pytest.approx(greater, rel=1e-12)
        )
        assert mann_whitney_u(x, y, alternative="less", method="exact").p_value == (
            pytest.approx(less, rel=1e-12)
        )
        two_sided = mann_whitney_u(x, y, method="exact")
        assert two_sided.statistic == u1
        assert two_sided.p_value == pytest.approx(min(1.0, 2 * min(greater, less)), rel=1e-12)


def test_auto_is_exact_only_for_small_samples_without_ties() -> None:
    rng = random.Random(5)
    draw = maker(rng, ties=False)
    small = [draw() for _ in range(_ranks._EXACT_MAX_SMALLER)]
    large = [draw() for _ in range(_ranks._EXACT_MAX_SMALLER + 1)]
    other = [draw() for _ in range(50)]
    assert mann_whitney_u(small, other).method == "exact"
    assert mann_whitney_u(other, small).method == "exact"
    assert mann_whitney_u(large, other).method == "asymptotic"
    assert mann_whitney_u([*small[:-1], small[0]], other).method == "asymptotic"  # a tie
    # Past the cost bound the normal approximation serves even a small sample.
    assert mann_whitney_u(small, [draw() for _ in range(70_000)]).method == "asymptotic"


def test_exact_on_a_small_sample_beside_a_large_one_agrees_with_scipy() -> None:
    """The truncated distribution (only the tail needed) over a long list of counts."""
    rng = random.Random(11)
    x = [rng.gauss(0, 1) for _ in range(4)]
    y = [rng.gauss(0.3, 1) for _ in range(3000)]
    for alternative in ALTERNATIVES:
        assert_as_scipy(x, y, alternative, "exact")


def test_exact_with_ties_is_refused() -> None:
    with pytest.raises(ValueError, match=r"method='exact' needs samples without ties"):
        mann_whitney_u([1.0, 2.0], [2.0, 3.0], method="exact")


@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 5), (2, 2), (3, 3), (4, 4), (3, 6), (12, 20)])
@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_min_p_value_is_the_smallest_exact_p_value_of_any_ordering(
    n: int, m: int, alternative: str
) -> None:
    if n + m <= 10:  # every ordering of the two samples
        orderings = [
            ([float(p) for p in places], [float(p) for p in range(n + m) if p not in places])
            for places in itertools.combinations(range(n + m), n)
        ]
    else:  # the two extremes: all of x below y, all above
        below = ([float(i) for i in range(n)], [float(n + i) for i in range(m)])
        orderings = [below, ([v + n + m for v in below[0]], below[1])]
    smallest = min(
        mann_whitney_u(x, y, alternative=alternative, method="exact").p_value  # type: ignore[arg-type]
        for x, y in orderings
    )
    assert min_p_value(n, m, alternative) == pytest.approx(smallest, rel=1e-12)  # type: ignore[arg-type]


def test_min_p_value_says_when_alpha_cannot_be_reached() -> None:
    assert min_p_value(3, 3) == pytest.approx(0.1)  # 2 / C(6, 3): "not enough data" at 0.05
    assert min_p_value(4, 4) == pytest.approx(2 / 70)  # enough
    assert min_p_value(1, 1) == 1.0
    assert min_p_value(3, 3, "greater") == pytest.approx(0.05)
