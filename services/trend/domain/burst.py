"""The burst test: is a story's count in the recent window significant against its baseline?

Model. A story's counted posts arrive as a Poisson process whose rate ``λ`` has a Gamma prior
(shape ``a₀ = prior_events``, rate ``b₀ = prior_hours``). Seeing ``k`` counted posts in the
baseline span of ``T_b`` hours (the 24 h *before* the window — the window itself is excluded)
gives the posterior Gamma(a₀ + k, b₀ + T_b). The count ``X`` expected in a window of ``T_w``
hours is then negative-binomial (the Gamma-Poisson posterior predictive):

    X ~ NegBin(r = a₀ + k, p = (b₀ + T_b) / (b₀ + T_b + T_w)),   E[X] = r · T_w / (b₀ + T_b).

A story is *bursting* when the upper tail ``P(X >= x)`` of the observed window count ``x`` is
at most ``p_value`` (1e-3 by default). Unlike a plain ratio this accounts for both the size of
the jump and how much evidence the baseline has: a new story (k = 0) needs a few posts within
the hour; a story that had 20 posts yesterday needs many more. The prior keeps a story with no
history from having an expected rate of zero (which would make any single post infinitely
significant). ``burst_score`` is the (engagement-weighted) window count over ``E[X]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BurstTest:
    """The outcome of one test."""

    observed: int
    """Counted posts in the window."""
    expected: float
    """``E[X]`` under the baseline."""
    p_value: float
    """``P(X >= observed)``."""
    score: float
    """Weighted window count over ``expected``: window rate over baseline rate."""


def negbin_upper_tail(x: int, r: float, p: float) -> float:
    """``P(X >= x)`` for ``X ~ NegBin(r, p)`` with pmf ``Γ(k+r)/(k! Γ(r)) p^r (1-p)^k``.

    Exact summation of the lower tail in log space (``x`` is a window count: small). Raises
    ``ValueError`` for ``r <= 0`` or ``p`` outside (0, 1].
    """
    if r <= 0 or not 0.0 < p <= 1.0:
        raise ValueError("need r > 0 and 0 < p <= 1")
    if x <= 0:
        return 1.0
    if p == 1.0:
        return 0.0
    log_p, log_q, lg_r = math.log(p), math.log1p(-p), math.lgamma(r)
    lower = 0.0
    for k in range(x):
        lower += math.exp(math.lgamma(k + r) - math.lgamma(k + 1) - lg_r + r * log_p + k * log_q)
    return max(0.0, 1.0 - lower) if lower < 0.999 else _upper_direct(x, r, log_p, log_q, lg_r)


def _upper_direct(x: int, r: float, log_p: float, log_q: float, lg_r: float) -> float:
    """``P(X >= x)`` summed upwards (accurate when it is tiny) until terms vanish."""
    total, k = 0.0, x
    while True:
        term = math.exp(math.lgamma(k + r) - math.lgamma(k + 1) - lg_r + r * log_p + k * log_q)
        total += term
        k += 1
        if term < total * 1e-12 or k > x + 100_000:
            return min(1.0, total)


def burst_test(
    observed: int,
    weighted: float,
    baseline: int,
    *,
    window_hours: float,
    baseline_hours: float,
    prior_events: float,
    prior_hours: float,
) -> BurstTest:
    """Test a window count against the baseline count (see the module docstring)."""
    shape = prior_events + baseline
    rate = prior_hours + baseline_hours
    expected = shape * window_hours / rate
    p = rate / (rate + window_hours)
    tail = negbin_upper_tail(observed, shape, p)
    return BurstTest(observed=observed, expected=expected, p_value=tail, score=weighted / expected)
