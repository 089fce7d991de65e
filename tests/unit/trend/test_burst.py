"""The Gamma-Poisson burst test and the bucketed counters it reads."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from services.trend.domain.burst import burst_test, negbin_upper_tail
from services.trend.domain.counters import BucketSeries, bucket_of, bucket_start
from tests.unit.trend.factories import T0

pytestmark = pytest.mark.unit


def _pmf(k: int, r: float, p: float) -> float:
    return math.exp(
        math.lgamma(k + r)
        - math.lgamma(k + 1)
        - math.lgamma(r)
        + r * math.log(p)
        + k * math.log1p(-p)
    )


@pytest.mark.parametrize(
    ("x", "r", "p"),
    [(0, 2.0, 0.5), (3, 1.0, 0.97), (5, 21.0, 0.98), (40, 1.0, 0.978), (2, 0.5, 0.3)],
)
def test_negative_binomial_tail_matches_brute_force(x: int, r: float, p: float) -> None:
    brute = sum(_pmf(k, r, p) for k in range(x, x + 5000))
    assert negbin_upper_tail(x, r, p) == pytest.approx(brute, rel=1e-6, abs=1e-300)


def test_tail_refuses_bad_parameters() -> None:
    with pytest.raises(ValueError, match="r > 0"):
        negbin_upper_tail(1, 0.0, 0.5)


def _test(observed: int, baseline: int) -> float:
    return burst_test(
        observed,
        float(observed),
        baseline,
        window_hours=1,
        baseline_hours=24,
        prior_events=1,
        prior_hours=20,
    ).p_value


def test_a_new_story_with_three_channels_in_an_hour_is_significant() -> None:
    assert _test(3, 0) < 1e-3
    assert _test(1, 0) > 1e-3


def test_the_same_window_is_less_significant_against_a_busier_baseline() -> None:
    assert _test(4, 0) < _test(4, 10) < _test(4, 40)
    assert _test(4, 40) > 1e-3  # 40 posts yesterday: 4 this hour is business as usual


def test_score_is_window_rate_over_baseline_rate() -> None:
    t = burst_test(6, 9.0, 22, window_hours=1, baseline_hours=24, prior_events=2, prior_hours=20)
    assert t.expected == pytest.approx(24 / 44)
    assert t.score == pytest.approx(9.0 / (24 / 44))


def test_window_and_baseline_never_overlap() -> None:
    series = BucketSeries()
    now = bucket_of(T0, 300)
    for minutes in (0, -30, -54, -61, -600):
        series.add(bucket_of(T0 + timedelta(minutes=minutes), 300))
    window = series.total(now - 11, now)
    baseline = series.total(now - 11 - 288, now - 12)
    assert (window, baseline) == (3, 2)
    assert window + baseline == sum(series.counts.values())
    assert bucket_start(now, 300) <= T0 < bucket_start(now + 1, 300)


def test_series_merge_prune_and_active_hours() -> None:
    a, b = BucketSeries(), BucketSeries()
    a.add(10, 1, 2.0)
    b.add(10, 2, 1.0)
    b.add(30, 1, 1.0)
    a.merge(b)
    assert a.counts == {10: 3, 30: 1}
    assert a.weight(0, 100) == pytest.approx(4.0)
    assert a.active(0, 100, 12) == 2
    a.prune(20)
    assert a.counts == {30: 1}
