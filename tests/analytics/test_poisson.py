"""Conditional binomial test of two Poisson rates and the ``incident_surge`` rule."""

from __future__ import annotations

import math

import pytest

from pulse.analytics.poisson import is_incident_surge, rate_increase_p_value


@pytest.mark.parametrize(
    ("now", "prev", "exposures", "expected"),
    [
        # Equal periods, p = 1/2. 8 vs 1: P(X >= 8 | n = 9) = (C(9,8) + C(9,9)) / 2^9 = 10/512.
        (8, 1, (1, 1), 10 / 512),
        # 3 vs 0: P(X >= 3 | n = 3) = 1/8.
        (3, 0, (1, 1), 1 / 8),
        # 5 vs 0: 1/32.
        (5, 0, (1, 1), 1 / 32),
        # 2 vs 2: P(X >= 2 | n = 4) = (6 + 4 + 1) / 16.
        (2, 2, (1, 1), 11 / 16),
        # This period 14 days, previous 28: p = 1/3. 3 vs 0: (1/3)^3 = 1/27.
        (3, 0, (14, 28), 1 / 27),
        # Same exposures, 2 vs 1: P(X >= 2 | n = 3) = 3 * (1/3)^2 * (2/3) + (1/3)^3 = 7/27.
        (2, 1, (14, 28), 7 / 27),
        # Nothing this period: the tail from 0 is the whole distribution.
        (0, 4, (1, 1), 1.0),
        (0, 0, (1, 1), 1.0),
    ],
)
def test_p_values_by_hand(now, prev, exposures, expected):
    p = rate_increase_p_value(
        count_now=now, count_prev=prev, exposure_now=exposures[0], exposure_prev=exposures[1]
    )

    assert p == pytest.approx(expected, rel=1e-12)


def test_large_counts_stay_finite_and_in_range():
    # 600 vs 400 in equal periods is about 6.3 standard deviations above 500: tiny, but not 0.
    p = rate_increase_p_value(count_now=600, count_prev=400)

    assert 0 < p < 1e-9
    # By symmetry P(X >= 500 | n = 1000) = (1 + P(X = 500)) / 2, with P(X = 500) = C(1000, 500) / 2^1000.
    expected = (1 + math.comb(1000, 500) / 2**1000) / 2
    assert rate_increase_p_value(count_now=500, count_prev=500) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("now", "prev", "exposures", "surge"),
    [
        (5, 0, (1, 1), True),  # p = 1/32 < 0.05, 5 >= 3
        (4, 0, (1, 1), False),  # p = 1/16 = 0.0625, just above 0.05
        (8, 1, (1, 1), True),  # p = 10/512 = 0.0195
        (3, 0, (14, 28), True),  # p = 1/27 = 0.037, exactly 3 incidents
        (2, 0, (1, 9), False),  # p = 1/100 but only 2 incidents: below the minimum count
        (3, 0, (1, 1), False),  # 3 incidents but p = 1/8
    ],
)
def test_incident_surge_rule_at_its_thresholds(now, prev, exposures, surge):
    assert (
        is_incident_surge(
            count_now=now, count_prev=prev, exposure_now=exposures[0], exposure_prev=exposures[1]
        )
        is surge
    )


def test_thresholds_are_configurable():
    # 4 vs 0 has p = 1/16: a surge at p < 0.1, not at the default 0.05.
    assert is_incident_surge(count_now=4, count_prev=0, p_value=0.1) is True
    assert is_incident_surge(count_now=5, count_prev=0, min_count=6) is False


@pytest.mark.parametrize(
    "kwargs",
    [{"count_now": -1, "count_prev": 0}, {"count_now": 1, "count_prev": 0, "exposure_prev": 0}],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        rate_increase_p_value(**kwargs)
