"""Timing helpers the benchmark scripts share (run as scripts, they import it as ``_timing``)."""

from __future__ import annotations

import timeit
from collections.abc import Callable


def best_per_call(func: Callable[[], object], number: int, repeat: int) -> float:
    """Fastest mean time of one call over ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number


def interleaved(
    candidates: dict[str, Callable[[], object]], number: int, repeat: int
) -> dict[str, float]:
    """Best per-call time of each candidate, measured in turns so machine drift hits all alike."""
    best = dict.fromkeys(candidates, float("inf"))
    for _ in range(repeat):
        for name, func in candidates.items():
            best[name] = min(best[name], best_per_call(func, number, 1))
    return best
