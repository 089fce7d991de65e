"""Emerging and stable decisions, cooldowns, and the card."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.trend.domain.card import build_card, headline
from services.trend.domain.detector import announce, judge
from services.trend.domain.model import BurstParams
from services.trend.domain.story import Story, new_story
from tests.unit.trend.factories import T0, post

pytestmark = pytest.mark.unit
P = BurstParams()


def _story(channels: int, *, minutes_apart: float = 5.0, start: float = 0.0) -> Story:
    first = post(1, channel="c0", minutes=start)
    story = new_story(first)
    for i in range(channels):
        story.add(
            post(i + 1, channel=f"c{i}", minutes=start + i * minutes_apart),
            bucket_s=P.bucket_s,
            window_s=P.window_s,
            max_members=50,
        )
    return story


def test_three_channels_within_the_hour_make_an_emerging_story() -> None:
    two, three = _story(2), _story(3)
    assert not judge(two, T0 + timedelta(minutes=10), P).emerging
    verdict = judge(three, T0 + timedelta(minutes=10), P)
    assert verdict.emerging
    assert verdict.window_channels == 3
    assert verdict.test.p_value < P.p_value
    assert verdict.test.score > 1


def test_a_story_spread_over_a_day_is_not_emerging() -> None:
    slow = _story(6, minutes_apart=240)
    assert not judge(slow, T0 + timedelta(hours=20), P).emerging


def test_cooldown_stops_a_second_announcement() -> None:
    story = _story(3)
    at = T0 + timedelta(minutes=10)
    assert announce(story, judge(story, at, P), P) == "emerging"
    later = at + timedelta(minutes=20)
    assert announce(story, judge(story, later, P), P) is None
    assert story.last_emerging_at == at
    story.last_emerging_at = at - timedelta(seconds=P.emerging_cooldown_s)
    assert announce(story, judge(story, at, P), P) == "emerging"


def test_a_large_sustained_story_is_stable() -> None:
    story = _story(12, minutes_apart=40)  # 12 channels over 8 hours
    at = T0 + timedelta(hours=7, minutes=30)
    verdict = judge(story, at, P)
    assert verdict.stable
    assert not verdict.emerging
    assert announce(story, verdict, P) == "stable"
    assert announce(story, judge(story, at + timedelta(hours=1), P), P) is None


def test_the_card_cites_posts_in_its_window_one_per_channel() -> None:
    story = _story(4)
    at = T0 + timedelta(minutes=16)
    card = build_card(story, judge(story, at, P), "emerging", P)
    assert card.trend_id == story.story_id
    assert len({p.channel_id for p in card.posts}) == len(card.posts) == 4
    assert all(card.window_start <= story.members[0].date <= card.window_end for _ in card.posts)
    assert card.channels == ("c0", "c1", "c2", "c3")
    assert "channels in the last hour" in card.why_now
    assert len(card.why_now) <= 300
    scoped = build_card(story, judge(story, at, P), "emerging", P, channels=frozenset({"c2"}))
    assert [p.channel_id for p in scoped.posts] == ["c2"]
    assert scoped.channels == ("c2",)


def test_headline_is_the_cleaned_first_sentence() -> None:
    assert headline("⚡️ Взрыв прогремел в центре города утром. Подробности позже") == (
        "Взрыв прогремел в центре города утром."
    )
    assert headline("Срочно.\nВзрыв в центре города, есть пострадавшие.") == (
        "Срочно. Взрыв в центре города, есть пострадавшие."
    )
    long = headline("слово " * 100)
    assert len(long) <= 200
    assert long.endswith("…")
