"""Engagement (views, forwards) weights a story's burst score and stable rank, bounded, and
never replaces independent channels in the significance test."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import pytest

from services.trend.domain.card import build_card
from services.trend.domain.detector import judge
from services.trend.domain.model import BurstParams
from services.trend.domain.story import Story, engagement_weight, new_story
from tests.unit.trend.factories import T0, post

pytestmark = pytest.mark.unit
P = BurstParams()


def _story(channels: int, views: int | None, forwards: int | None) -> Story:
    posts = [
        replace(post(i + 1, channel=f"c{i}", minutes=5 * i), views=views, forwards=forwards)
        for i in range(channels)
    ]
    story = new_story(posts[0])
    for p in posts:
        story.add(p, bucket_s=P.bucket_s, window_s=P.window_s, max_members=50)
    return story


def test_weight_is_one_without_figures_grows_with_them_and_is_capped_at_two() -> None:
    assert engagement_weight(None, None) == engagement_weight(0, 0) == 1.0
    seen = engagement_weight(10_000, None)
    shared = engagement_weight(10_000, 100)
    assert 1.0 < seen < shared < 2.0
    assert seen == pytest.approx(1 + math.log10(10_001) / 12)
    assert engagement_weight(10**15, 10**15) == 2.0


def test_engagement_raises_the_score_not_the_significance() -> None:
    at = T0 + timedelta(minutes=15)
    plain = judge(_story(3, None, None), at, P)
    viral = judge(_story(3, 100_000, 1_000), at, P)
    assert plain.emerging
    assert viral.emerging
    assert viral.test.p_value == plain.test.p_value  # counted posts decide significance
    assert viral.test.observed == plain.test.observed == 3
    expected = engagement_weight(100_000, 1_000)
    assert expected == pytest.approx(1 + 5 / 12 + 3 / 6, rel=1e-4)
    assert viral.test.score == pytest.approx(plain.test.score * expected, rel=1e-6)


def test_engagement_alone_cannot_make_a_trend() -> None:
    # Two very popular channels are still two channels: not emerging.
    verdict = judge(_story(2, 10**9, 10**9), T0 + timedelta(minutes=10), P)
    assert not verdict.emerging


def test_stable_trends_rank_by_weighted_volume() -> None:
    at = T0 + timedelta(minutes=15)
    plain, viral = _story(3, None, None), _story(3, 100_000, 1_000)
    low = build_card(plain, judge(plain, at, P), "stable", P)
    high = build_card(viral, judge(viral, at, P), "stable", P)
    assert low.rank_score == pytest.approx(3.0)
    assert high.rank_score == pytest.approx(3 * engagement_weight(100_000, 1_000))
    assert high.burst_score > low.burst_score
