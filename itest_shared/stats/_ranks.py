"""The Mann-Whitney U test and the exact null distribution of U."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable
from itertools import accumulate, repeat
from operator import sub
from typing import Literal, NamedTuple

from ._args import _choice, _sample, _size

Alternative = Literal["two-sided", "less", "greater"]
Method = Literal["auto", "exact", "asymptotic"]
_ALTERNATIVES = ("two-sided", "less", "greater")
_METHODS = ("auto", "exact", "asymptotic")

# method="auto" is exact when the smaller sample has at most this many values
# (scipy's rule) and there are no ties.
_EXACT_MAX_SMALLER = 8
# The exact null distribution costs about min(n, m) * n * m / 2 big-integer
# additions (the truncated q-binomial product below): 0.05-0.15 s at this bound.
# Past it, "auto" and the confidence interval use the normal approximation.
_EXACT_COST = 1_000_000


class MannWhitneyResult(NamedTuple):
    """A Mann-Whitney U test: U of the first sample, its p-value, and how p was computed.

    .. versionadded:: 2.2
    """

    statistic: float
    p_value: float
    method: Literal["exact", "asymptotic"]


# -- the null distribution of U --------------------------------------------------


def _null_counts(n: int, m: int, top: int) -> list[int]:
    """How many of the C(n+m, n) orderings of two samples without ties give U = 0..top.

    The coefficients of the Gaussian binomial [n+m choose n]_q, built as the
    product over i of (1 - q^(larger+i)) / (1 - q^i), each step a C-speed pass
    over the list; integers, so the counts are exact.
    """
    smaller, larger = sorted((n, m))
    counts = [1] + [0] * top
    for i in range(1, smaller + 1):
        step = larger + i
        if step <= top:  # times (1 - q^step)
            counts[step:] = list(map(sub, counts[step:], counts[: top + 1 - step]))
        for start in range(min(i, top + 1)):  # divided by (1 - q^i): running sums mod i
            counts[start::i] = list(accumulate(counts[start::i]))
    return counts


def _exact_sf(u: int, n: int, m: int) -> float:
    """P(U >= u) under the null hypothesis, for samples of sizes n and m without ties."""
    nm = n * m
    if u <= 0:
        return 1.0
    if u > nm:
        return 0.0
    total = math.comb(n + m, n)
    if 2 * u >= nm:  # the upper tail, summed as the lower one (U is symmetric)
        return sum(_null_counts(n, m, nm - u)) / total
    return (total - sum(_null_counts(n, m, u - 1))) / total


def _exact_is_cheap(n: int, m: int) -> bool:
    return min(n, m) * n * m <= _EXACT_COST


def min_p_value(n_x: int, n_y: int, alternative: Alternative = "two-sided") -> float:
    """The smallest p-value the exact Mann-Whitney test can give for samples of these sizes.

    One ordering of the C(n_x + n_y, n_x) puts every x below every y: p is
    ``1 / C(...)`` one-sided, twice that (at most 1) two-sided. When it exceeds
    alpha, no data of these sizes can show a change: "not enough data".
    Compared with Holm's correction, the operation of rank 1 among k needs
    ``min_p_value * k <= alpha``.

    .. versionadded:: 2.2
    """
    n_x, n_y = _size(n_x, "n_x"), _size(n_y, "n_y")
    sides = 2 if _choice(alternative, "alternative", _ALTERNATIVES) == "two-sided" else 1
    return min(1.0, sides / math.comb(n_x + n_y, n_x))


# -- Mann-Whitney U --------------------------------------------------------------


def _twice_u_and_ties(x: list[float], y: list[float]) -> tuple[int, int]:
    """2 * U of x (pairs with x > y, plus half the pairs x == y) and sum(t^3 - t) over ties."""
    # bisect_left counts the y below each x, bisect_right those below or equal:
    # their sum is twice U, at C speed (no ranking loop in Python). Without ties
    # the two are equal: one pass, over x sorted (its bisections then walk the
    # same part of ys in turn): 100 ms instead of 190 at 100,000 a side
    # (benchmarks/bench_stats.py).
    xs, ys = sorted(x), sorted(y)
    combined = xs + ys
    if len(set(combined)) == len(combined):
        return 2 * sum(map(bisect_left, repeat(ys), xs)), 0
    twice_u = sum(map(bisect_left, repeat(ys), xs)) + sum(map(bisect_right, repeat(ys), xs))
    return twice_u, sum(t * t * t - t for t in Counter(combined).values() if t > 1)


def mann_whitney_u(
    x: Iterable[float],
    y: Iterable[float],
    *,
    alternative: Alternative = "two-sided",
    method: Method = "auto",
) -> MannWhitneyResult:
    """The Mann-Whitney U test of samples ``x`` and ``y``, as ``scipy.stats.mannwhitneyu``.

    ``statistic`` is U of ``x``: the pairs with ``x_i > y_j``, plus half those
    with ``x_i == y_j``. ``alternative``: "two-sided", "less" (x tends to be
    smaller than y) or "greater". ``method``:

    - "exact": the exact null distribution; samples with ties raise ValueError
      (the exact distribution holds only without ties). It costs about
      ``min(n, m) * n * m / 2`` integer additions.
    - "asymptotic": the normal approximation with tie and continuity corrections.
      When every value is the same, p is 1.
    - "auto": exact when there are no ties and the smaller sample has at most
      8 values (scipy's rule), as long as ``min(n, m) * n * m <= 1,000,000``;
      asymptotic otherwise.

    .. versionadded:: 2.2
    """
    xs, ys = _sample(x, "x"), _sample(y, "y")
    _choice(alternative, "alternative", _ALTERNATIVES)
    _choice(method, "method", _METHODS)
    n, m = len(xs), len(ys)
    twice_u1, tie_term = _twice_u_and_ties(xs, ys)
    twice_u2 = 2 * n * m - twice_u1
    if alternative == "greater":
        twice_u, factor = twice_u1, 1
    elif alternative == "less":  # P(U1 <= u1) is P(U2 >= u2): one tail serves both
        twice_u, factor = twice_u2, 1
    else:
        twice_u, factor = max(twice_u1, twice_u2), 2
    if method == "exact" and tie_term:
        raise ValueError(
            "method='exact' needs samples without ties (the exact distribution assumes "
            "none), got tied values; use method='asymptotic' or 'auto'"
        )
    if method == "auto":
        small = min(n, m) <= _EXACT_MAX_SMALLER and _exact_is_cheap(n, m)
        method = "exact" if small and not tie_term else "asymptotic"
    if method == "exact":
        p = factor * _exact_sf(twice_u // 2, n, m)
        return MannWhitneyResult(twice_u1 / 2, min(1.0, p), "exact")
    total = n + m
    # scipy's formula, term for term, so that the two agree to the last bits.
    sigma = math.sqrt(n * m / 12 * ((total + 1) - tie_term / (total * (total - 1))))
    if sigma == 0:  # every value the same: nothing to tell the samples apart
        return MannWhitneyResult(twice_u1 / 2, 1.0, "asymptotic")
    z = (twice_u / 2 - n * m / 2 - 0.5) / sigma
    p = factor * 0.5 * math.erfc(z / math.sqrt(2))
    return MannWhitneyResult(twice_u1 / 2, min(1.0, p), "asymptotic")
