"""Reference values for the statistics tests: brute force over all orderings and pairs."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Callable


def null_distribution(n: int, m: int) -> Counter[int]:
    """How many orderings of n x's and m y's (no ties) give each U of x, by enumeration."""
    counts: Counter[int] = Counter()
    for x_places in itertools.combinations(range(n + m), n):
        # U of x: pairs with x above y; x at position p has p - (x's before it) y's below.
        counts[sum(place - rank for rank, place in enumerate(x_places))] += 1
    return counts


def ci_rank(n: int, m: int, confidence: float) -> int:
    """The largest c with P(U <= c - 1) <= (1 - confidence) / 2, by enumeration."""
    counts = null_distribution(n, m)
    total = math.comb(n + m, n)
    c = 0
    while sum(counts[u] for u in range(c + 1)) / total <= (1 - confidence) / 2:
        c += 1
    return c


def pairwise(x: list[float], y: list[float]) -> list[float]:
    """Every difference y_j - x_i, sorted."""
    return sorted(b - a for a in x for b in y)


def maker(rng: random.Random, ties: bool) -> Callable[[], float]:
    """A draw of one value: small integers as floats (many ties) or normal (none)."""
    if ties:
        return lambda: float(rng.randint(0, 6))
    return lambda: rng.gauss(0.0, 1.0)
