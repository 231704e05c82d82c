"""One-sided test that an event rate rose between two periods (risk ``incident_surge``).

Conditional (exact) test of two Poisson rates: given n = k_now + k_prev events, under equal
rates k_now ~ Binomial(n, p) with p = t_now / (t_now + t_prev) (the periods' lengths), so the
p-value is the upper tail P(X >= k_now). Exact binomial sums, standard library only; terms are
added in log space so large counts neither overflow nor underflow.
"""

from __future__ import annotations

import math

SURGE_P_VALUE = 0.05
SURGE_MIN_COUNT = 3


def rate_increase_p_value(
    *, count_now: int, count_prev: int, exposure_now: float = 1.0, exposure_prev: float = 1.0
) -> float:
    """P(X >= count_now) for X ~ Binomial(count_now + count_prev, exposure_now / total exposure)."""
    if count_now < 0 or count_prev < 0:
        raise ValueError("counts must be non-negative")
    if not (exposure_now > 0 and exposure_prev > 0):
        raise ValueError("exposures must be positive")
    n = count_now + count_prev
    if count_now == 0:
        return 1.0
    log_p = math.log(exposure_now / (exposure_now + exposure_prev))
    log_q = math.log(exposure_prev / (exposure_now + exposure_prev))
    log_terms = [
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q
        for k in range(count_now, n + 1)
    ]
    top = max(log_terms)
    return min(1.0, math.exp(top) * math.fsum(math.exp(t - top) for t in log_terms))


def is_incident_surge(
    *,
    count_now: int,
    count_prev: int,
    exposure_now: float = 1.0,
    exposure_prev: float = 1.0,
    p_value: float = SURGE_P_VALUE,
    min_count: int = SURGE_MIN_COUNT,
) -> bool:
    """The spec rule: at least ``min_count`` incidents this period and the test's p < ``p_value``."""
    return count_now >= min_count and (
        rate_increase_p_value(
            count_now=count_now,
            count_prev=count_prev,
            exposure_now=exposure_now,
            exposure_prev=exposure_prev,
        )
        < p_value
    )
