"""Is the candidate slower than the baseline? Rank test, shift estimate and Holm's correction.

Pure Python (numpy is no dependency of ours); every result is checked against
``scipy.stats`` in the tests.

- :func:`mann_whitney_u`: the Mann-Whitney U test, as ``scipy.stats.mannwhitneyu``
  computes it (U of the first sample, continuity correction, tie correction).
- :func:`hodges_lehmann`: the median of all pairwise differences ``y - x`` and its
  distribution-free (Moses) confidence interval, exact yet without listing the
  ``n * m`` differences; :func:`hodges_lehmann_ratio` the same on logs, as a ratio.
- :func:`holm`: Holm-Bonferroni adjusted p-values.
- :func:`compare_samples` / :func:`compare_many`: a verdict per operation.

How a verdict is reached, for each operation compared (``n`` baseline and ``m``
candidate samples, the ratio being candidate / baseline):

1. **"not enough data"** when ``min_p_value(n, m) > alpha``: no difference, however
   large, could be significant with that many samples (ASV's rule; at alpha 0.05,
   4 a side are enough, 3 a side are not). Such an operation takes no part in Holm's
   correction (its ``p_adjusted`` is 1.0): its size, not its data, rules it out,
   so leaving it out keeps the family-wise error rate at alpha. Holm's first
   rank multiplies p by the number of operations tested: a caller that wants
   "not enough data" to foresee that too compares ``min_p_value`` with
   ``alpha / len(pairs)`` itself.
2. **"slower"** / **"faster"** when Holm's adjusted p-value (two-sided
   Mann-Whitney) is below ``alpha`` *and* the Hodges-Lehmann ratio is at least
   ``min_effect`` (slower) or at most ``1 / min_effect`` (faster): a significant
   change smaller than ``min_effect`` is no change worth a name.
3. **"unchanged"** otherwise.

.. versionadded:: 2.2
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, NamedTuple

import attrs

from ._args import _fraction, _number
from ._ranks import Alternative as Alternative
from ._ranks import MannWhitneyResult, mann_whitney_u, min_p_value
from ._ranks import Method as Method
from ._shift import Shift, _estimate_shift, _positive, hodges_lehmann, hodges_lehmann_ratio

__all__ = [
    "Comparison",
    "MannWhitneyResult",
    "Shift",
    "compare_many",
    "compare_samples",
    "hodges_lehmann",
    "hodges_lehmann_ratio",
    "holm",
    "mann_whitney_u",
    "min_p_value",
]

Verdict = Literal["slower", "faster", "unchanged", "not enough data"]


@attrs.frozen(kw_only=True)
class Comparison:
    """The verdict on one operation: its ratio (candidate / baseline), CI, p-values, sizes.

    ``verdict`` is "slower", "faster", "unchanged" or "not enough data" (the
    rules are in the module's docstring); ``ratio`` the Hodges-Lehmann estimate
    on logs, ``ratio_low`` and ``ratio_high`` its confidence interval (0 and inf
    when the samples are too small to bound it); ``p_value`` the two-sided
    Mann-Whitney p-value and ``p_adjusted`` Holm's, across the operations
    compared together; ``method`` how ``p_value`` was computed.

    .. versionadded:: 2.2
    """

    verdict: Verdict
    ratio: float
    ratio_low: float
    ratio_high: float
    p_value: float
    p_adjusted: float
    n_baseline: int
    n_candidate: int
    method: Literal["exact", "asymptotic"]


# -- many comparisons at once ----------------------------------------------------


def holm(p_values: Iterable[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given.

    The i-th smallest p is multiplied by (k - i + 1), k the number of p-values,
    made non-decreasing in that order, and capped at 1: a hypothesis is
    rejected at level alpha, controlling the family-wise error rate, when its
    adjusted p-value is <= alpha.

    .. versionadded:: 2.2
    """
    if isinstance(p_values, (str, bytes)) or not isinstance(p_values, Iterable):
        raise TypeError(f"p_values must be a sequence of numbers, got {type(p_values).__name__}")
    ps = [_number(p, f"p_values[{index}]") for index, p in enumerate(p_values)]
    for index, p in enumerate(ps):
        if not 0 <= p <= 1:
            raise ValueError(f"p_values[{index}] must be between 0 and 1, got {p!r}")
    k = len(ps)
    adjusted = [0.0] * k
    running = 0.0
    for rank, index in enumerate(sorted(range(k), key=ps.__getitem__)):
        running = max(running, min(1.0, (k - rank) * ps[index]))
        adjusted[index] = running
    return adjusted


class _Measured(NamedTuple):
    """One operation's test and ratio, before Holm's correction across operations."""

    test: MannWhitneyResult
    log_shift: Shift
    n_baseline: int
    n_candidate: int


def _measure(baseline: list[float], candidate: list[float], confidence: float) -> _Measured:
    logs_baseline, logs_candidate = list(map(math.log, baseline)), list(map(math.log, candidate))
    log_shift = _estimate_shift(logs_baseline, logs_candidate, confidence)
    test = mann_whitney_u(baseline, candidate)  # on the timings: ranks are the same
    return _Measured(test, log_shift, len(baseline), len(candidate))


def _options(alpha: object, min_effect: object, confidence: object) -> tuple[float, float, float]:
    minimum = _number(min_effect, "min_effect")
    if not 1 <= minimum < math.inf:
        raise ValueError(f"min_effect must be a finite number >= 1.0, got {min_effect!r}")
    return _fraction(alpha, "alpha"), minimum, _fraction(confidence, "confidence")


def _decide(
    measured: dict[str, _Measured], alpha: float, min_effect: float
) -> dict[str, Comparison]:
    enough = {
        name: min_p_value(one.n_baseline, one.n_candidate) <= alpha
        for name, one in measured.items()
    }
    tested = [name for name in measured if enough[name]]
    adjusted = holm([measured[name].test.p_value for name in tested])
    p_adjusted = dict(zip(tested, adjusted, strict=True))
    results = {}
    for name, one in measured.items():
        estimate, low, high = map(math.exp, one.log_shift)
        p = p_adjusted.get(name, 1.0)  # "not enough data": not in the family
        verdict: Verdict = "unchanged"
        if not enough[name]:
            verdict = "not enough data"
        elif p < alpha and estimate >= min_effect and estimate > 1:
            verdict = "slower"
        elif p < alpha and estimate <= 1 / min_effect and estimate < 1:
            verdict = "faster"
        results[name] = Comparison(
            verdict=verdict,
            ratio=estimate,
            ratio_low=low,
            ratio_high=high,
            p_value=one.test.p_value,
            p_adjusted=p,
            n_baseline=one.n_baseline,
            n_candidate=one.n_candidate,
            method=one.test.method,
        )
    return results


def compare_samples(
    baseline: Iterable[float],
    candidate: Iterable[float],
    *,
    alpha: float = 0.05,
    min_effect: float = 1.10,
    confidence: float = 0.95,
) -> Comparison:
    """The verdict on one operation's timings (positive numbers), as the module describes.

    .. versionadded:: 2.2
    """
    alpha, min_effect, confidence = _options(alpha, min_effect, confidence)
    one = _measure(_positive(baseline, "baseline"), _positive(candidate, "candidate"), confidence)
    return _decide({"": one}, alpha, min_effect)[""]


def compare_many(
    pairs: Mapping[str, tuple[Iterable[float], Iterable[float]]],
    *,
    alpha: float = 0.05,
    min_effect: float = 1.10,
    confidence: float = 0.95,
) -> dict[str, Comparison]:
    """The verdict on each operation (name -> (baseline, candidate) timings), Holm-corrected.

    Returns name -> :class:`Comparison`, in the order of ``pairs``; the rules are
    in the module's docstring.

    .. versionadded:: 2.2
    """
    if not isinstance(pairs, Mapping):
        raise TypeError(
            f"pairs must be a mapping of name to (baseline, candidate), got {type(pairs).__name__}"
        )
    alpha, min_effect, confidence = _options(alpha, min_effect, confidence)
    measured = {}
    for name, pair in pairs.items():
        where = f"pairs[{name!r}]"
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise TypeError(
                f"{where} must be a (baseline, candidate) pair, got {type(pair).__name__}"
            )
        baseline, candidate = _positive(pair[0], f"{where}[0]"), _positive(pair[1], f"{where}[1]")
        measured[name] = _measure(baseline, candidate, confidence)
    return _decide(measured, alpha, min_effect)
