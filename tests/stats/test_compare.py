"""holm, compare_samples and compare_many: the rules, error rates and power, bad input."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itest_shared import stats
from itest_shared.stats import (
    Comparison,
    compare_many,
    compare_samples,
    hodges_lehmann,
    hodges_lehmann_ratio,
    holm,
    mann_whitney_u,
    min_p_value,
)

probabilities = st.floats(0, 1)


def holm_rejects(p_values: list[float], alpha: float) -> list[bool]:
    """Holm's step-down procedure as the textbook states it: reject in ascending order
    while p_(i) <= alpha / (k - i + 1); stop at the first that fails."""
    k = len(p_values)
    rejected = [False] * k
    for rank, index in enumerate(sorted(range(k), key=p_values.__getitem__)):
        if p_values[index] * (k - rank) > alpha:
            break
        rejected[index] = True
    return rejected


@settings(max_examples=300, derandomize=True)
@given(st.lists(probabilities, max_size=30), st.floats(0, 1, exclude_max=True))
def test_holm_rejects_exactly_where_the_step_down_procedure_does(
    p_values: list[float], alpha: float
) -> None:
    """The adjusted p-value is the smallest alpha at which the procedure rejects."""
    adjusted = holm(p_values)
    assert [a <= alpha for a in adjusted] == holm_rejects(p_values, alpha)


@settings(max_examples=300, derandomize=True)
@given(st.lists(probabilities, max_size=30))
def test_holm_adjusted_values_keep_order_and_bounds(p_values: list[float]) -> None:
    adjusted = holm(p_values)
    assert len(adjusted) == len(p_values)
    for p, a in zip(p_values, adjusted, strict=True):
        assert p <= a <= min(1.0, p * len(p_values))
    for i, j in itertools.product(range(len(p_values)), repeat=2):
        if p_values[i] <= p_values[j]:
            assert adjusted[i] <= adjusted[j]  # monotone in p


def test_holm_on_known_values() -> None:
    # k = 4: 0.01 * 4, max(0.04, 0.02 * 3), max(0.06, 0.03 * 2), max(0.06, 0.5 * 1)
    assert holm([0.03, 0.5, 0.01, 0.02]) == pytest.approx([0.06, 0.5, 0.04, 0.06])
    assert holm([0.3, 0.4]) == pytest.approx([0.6, 0.6])
    assert holm([0.9, 0.8]) == [1.0, 1.0]
    assert holm([0.2]) == [0.2]
    assert holm([]) == []


def lognormal(rng: random.Random, n: int, sigma: float, factor: float = 1.0) -> list[float]:
    return [factor * rng.lognormvariate(0.0, sigma) for _ in range(n)]


def test_a_comparison_reports_ratio_interval_p_values_and_sizes() -> None:
    rng = random.Random(1)
    baseline, candidate = lognormal(rng, 20, 0.15), lognormal(rng, 25, 0.15, 1.5)
    result = compare_samples(baseline, candidate)
    ratio = hodges_lehmann_ratio(baseline, candidate)
    test = mann_whitney_u(baseline, candidate)
    assert result == Comparison(
        verdict="slower",
        ratio=ratio.estimate,
        ratio_low=ratio.low,
        ratio_high=ratio.high,
        p_value=test.p_value,
        p_adjusted=test.p_value,  # a family of one
        n_baseline=20,
        n_candidate=25,
        method="asymptotic",
    )
    assert compare_samples(candidate, baseline).verdict == "faster"


def test_too_few_samples_are_not_enough_data_whatever_the_difference() -> None:
    assert min_p_value(3, 3) > 0.05
    result = compare_samples([1.0, 1.1, 1.2], [50.0, 51.0, 52.0])
    assert result.verdict == "not enough data"
    assert result.ratio > 40  # still estimated and shown
    # With a looser alpha the same sizes are enough.
    assert compare_samples([1.0, 1.1, 1.2], [50.0, 51.0, 52.0], alpha=0.2).verdict == "slower"


def test_a_significant_change_below_min_effect_is_unchanged() -> None:
    rng = random.Random(2)
    baseline, candidate = lognormal(rng, 200, 0.02), lognormal(rng, 200, 0.02, 1.05)
    assert compare_samples(baseline, candidate).p_value < 1e-10
    assert compare_samples(baseline, candidate).verdict == "unchanged"  # 1.05 < 1.10
    assert compare_samples(baseline, candidate, min_effect=1.04).verdict == "slower"
    assert compare_samples(candidate, baseline, min_effect=1.04).verdict == "faster"
    assert compare_samples(baseline, candidate, min_effect=1.0).verdict == "slower"


def test_holm_runs_over_the_operations_that_have_enough_data() -> None:
    rng = random.Random(3)
    pairs = {
        "tiny": (lognormal(rng, 2, 0.1), lognormal(rng, 2, 0.1)),
        "a": (lognormal(rng, 20, 0.1), lognormal(rng, 20, 0.1, 1.2)),
        "b": (lognormal(rng, 20, 0.1), lognormal(rng, 20, 0.1)),
    }
    results = compare_many(pairs)
    assert list(results) == ["tiny", "a", "b"]
    assert results["tiny"].verdict == "not enough data" and results["tiny"].p_adjusted == 1.0
    expected = holm([results["a"].p_value, results["b"].p_value])  # a family of two
    assert [results["a"].p_adjusted, results["b"].p_adjusted] == expected
    assert results["a"].verdict == "slower" and results["b"].verdict == "unchanged"


def test_compare_many_is_compare_samples_for_one_pair() -> None:
    rng = random.Random(4)
    pair = (lognormal(rng, 12, 0.2), lognormal(rng, 9, 0.2, 1.3))
    assert compare_many({"op": pair})["op"] == compare_samples(*pair)
    # The ratio interval follows the confidence asked for.
    narrow = compare_samples(*pair, confidence=0.5)
    assert narrow.ratio_low > compare_samples(*pair).ratio_low


def family_rates(seed: int, *, min_effect: float) -> tuple[float, float]:
    """Over 200 trials of 10 operations with identical timings (lognormal, sigma 0.15,
    20 samples a side): how often any verdict is a change, and how often any raw p < alpha."""
    rng = random.Random(seed)
    any_change = any_raw = 0
    for _ in range(200):
        pairs = {f"op{k}": (lognormal(rng, 20, 0.15), lognormal(rng, 20, 0.15)) for k in range(10)}
        results = compare_many(pairs, alpha=0.05, min_effect=min_effect).values()
        any_change += any(r.verdict in ("slower", "faster") for r in results)
        any_raw += any(r.p_value < 0.05 for r in results)
    return any_change / 200, any_raw / 200


@pytest.mark.parametrize("seed", [0, 1])
def test_the_family_wise_false_positive_rate_stays_near_alpha(seed: int) -> None:
    """Holm keeps the rate of any false change near alpha (0.05); uncorrected, it is ~40%.

    Seeds 0-9 gave 0.025-0.055 (mean 0.041; raw 0.29-0.43). The band, 0.005 to 0.10,
    is alpha +- 3 standard errors of 200 trials: deterministic with a fixed seed,
    and it would hold for other seeds too. min_effect 1.0 tests Holm alone.
    """
    for min_effect in (1.0, 1.10):
        with_holm, raw = family_rates(seed, min_effect=min_effect)
        assert 0.005 <= with_holm <= 0.10
        assert raw >= 0.25  # the correction is what keeps it down


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("operations", "sigma"), [(10, 0.15), (1, 0.2)])
def test_a_1_3x_shift_with_20_samples_a_side_is_found(
    seed: int, operations: int, sigma: float
) -> None:
    """>= 95% of 200 trials say "slower": one shifted operation among 10 (Holm's factor
    10) at sigma 0.15, or alone at sigma 0.2. Seeds 0-9: 0.975-0.995 and 0.965-0.99."""
    rng = random.Random(seed)
    found = 0
    for _ in range(200):
        pairs = {"shifted": (lognormal(rng, 20, sigma), lognormal(rng, 20, sigma, 1.3))}
        for k in range(operations - 1):
            pairs[f"op{k}"] = (lognormal(rng, 20, sigma), lognormal(rng, 20, sigma))
        found += compare_many(pairs)["shifted"].verdict == "slower"
    assert found / 200 >= 0.95


GOOD = [1.0, 2.0]
BAD_INPUT: list[tuple[Callable[[], Any], type[Exception], str]] = [
    (lambda: mann_whitney_u("12", GOOD), TypeError, r"^x must be a sequence of numbers, got str"),
    (lambda: mann_whitney_u(GOOD, 3), TypeError, r"^y must be a sequence of numbers, got int"),
    (lambda: mann_whitney_u([], GOOD), ValueError, r"^x must hold at least one number"),
    (lambda: mann_whitney_u(GOOD, [1.0, True]), TypeError, r"^y\[1\] must be a number, got bool"),
    (lambda: mann_whitney_u([1.0, "2"], GOOD), TypeError, r"^x\[1\] must be a number, got str"),
    (lambda: mann_whitney_u([math.nan], GOOD), ValueError, r"^x\[0\] must be a finite number"),
    (lambda: mann_whitney_u(GOOD, [1, math.inf]), ValueError, r"^y\[1\] must be a finite"),
    (lambda: mann_whitney_u([10**400], GOOD), ValueError, r"^x must hold finite numbers"),
    (lambda: mann_whitney_u(GOOD, GOOD, alternative="up"), ValueError, r"^alternative must"),
    (lambda: mann_whitney_u(GOOD, GOOD, method=1), TypeError, r"^method must be a str, got int"),
    (lambda: mann_whitney_u(GOOD, GOOD, method="fast"), ValueError, r"^method must be one of"),
    (lambda: min_p_value(0, 3), ValueError, r"^n_x must be >= 1, got 0"),
    (lambda: min_p_value(3, 2.0), TypeError, r"^n_y must be an int, got float"),
    (lambda: min_p_value(3, True), TypeError, r"^n_y must be an int, got bool"),
    (lambda: min_p_value(3, 3, "both"), ValueError, r"^alternative must be one of"),
    (lambda: hodges_lehmann(GOOD, [None]), TypeError, r"^y\[0\] must be a number, got NoneType"),
    (lambda: hodges_lehmann(GOOD, GOOD, confidence=1.0), ValueError, r"^confidence must be"),
    (lambda: hodges_lehmann(GOOD, GOOD, confidence="x"), TypeError, r"^confidence must be a"),
    (lambda: hodges_lehmann_ratio(GOOD, [0.0]), ValueError, r"^y\[0\] must be > 0"),
    (lambda: holm([0.5, 1.5]), ValueError, r"^p_values\[1\] must be between 0 and 1"),
    (lambda: holm([math.nan]), ValueError, r"^p_values\[0\] must be between 0 and 1"),
    (lambda: holm([False]), TypeError, r"^p_values\[0\] must be a number, got bool"),
    (lambda: holm(0.5), TypeError, r"^p_values must be a sequence of numbers, got float"),
    (lambda: compare_samples(GOOD, GOOD, alpha=0), ValueError, r"^alpha must be between 0"),
    (lambda: compare_samples(GOOD, GOOD, alpha=True), TypeError, r"^alpha must be a number"),
    (lambda: compare_samples(GOOD, GOOD, min_effect=0.9), ValueError, r"^min_effect must be"),
    (lambda: compare_samples(GOOD, GOOD, min_effect=math.inf), ValueError, r"^min_effect must"),
    (lambda: compare_samples(GOOD, [-1.0]), ValueError, r"^candidate\[0\] must be > 0"),
    (lambda: compare_many([GOOD, GOOD]), TypeError, r"^pairs must be a mapping"),
    (lambda: compare_many({"op": GOOD}), TypeError, r"^pairs\['op'\]\[0\] must be a sequence"),
    (lambda: compare_many({"op": (GOOD,)}), TypeError, r"^pairs\['op'\] must be a \(baseline"),
    (lambda: compare_many({"op": (GOOD, [0.0])}), ValueError, r"^pairs\['op'\]\[1\]\[0\] must"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_INPUT)
def test_bad_input_is_refused_naming_the_argument(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_numbers_of_other_real_types_are_taken() -> None:
    assert mann_whitney_u([1, Fraction(1, 2)], (3.0, 4)) == mann_whitney_u([1.0, 0.5], [3.0, 4.0])
    assert stats.holm((0.5, Fraction(1, 4))) == pytest.approx([0.5, 0.5])
