"""Streaming clustering: join, found, reposts, one channel counted once, merge, retire."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from services.trend.domain.clusterer import Clusterer
from services.trend.domain.model import SimilarityParams, StoryParams
from tests.unit.trend.factories import T0, direction, post

pytestmark = pytest.mark.unit


def _clusterer(**kw: float) -> Clusterer:
    params = StoryParams(ttl_s=86_400, similarity=SimilarityParams(**kw))  # type: ignore[arg-type]
    return Clusterer(params, bucket_s=300, window_s=3600)


def test_similar_posts_join_and_different_ones_found_stories() -> None:
    c = _clusterer()
    a = c.assign(post(1, topic=0, channel="c1"))
    b = c.assign(post(2, topic=0, channel="c2", noise=0.2, minutes=5))
    other = c.assign(post(3, topic=5, channel="c3", minutes=6))
    assert a is not None
    assert b is not None
    assert other is not None
    assert a.created
    assert not b.created
    assert other.created
    assert b.story.story_id == a.story.story_id != other.story.story_id
    assert b.story.size == 2
    assert b.story.channels() == ["c1", "c2"]


def test_shared_entities_tip_a_borderline_post_in() -> None:
    mid = (direction(0) + 0.9 * direction(1)).astype(np.float32)
    mid /= np.linalg.norm(mid)  # cosine ~0.74 with direction 0: just under 0.75
    plain, credited = _clusterer(), _clusterer()
    for c, terms in ((plain, ()), (credited, ("сирия",))):
        c.assign(post(1, topic=0, terms=("сирия",)))
        c.assign(post(2, channel="c2", vector=mid, terms=terms, minutes=1))
    assert len(plain.stories) == 2
    assert len(credited.stories) == 1


def test_a_repost_joins_its_originals_story_but_does_not_count() -> None:
    c = _clusterer()
    first = c.assign(post(1, topic=0))
    repost = c.assign(post(7, topic=9, channel="c2", duplicate_of="acme:c1:1", minutes=3))
    assert first is not None
    assert repost is not None
    assert repost.repost
    assert repost.story is first.story
    assert not repost.member.counted
    assert first.story.independent_channels() == {"c1"}


def test_one_channel_counts_once_per_window() -> None:
    c = _clusterer()
    counted = []
    for i, minutes in enumerate((0, 10, 50, 61, 70)):
        a = c.assign(post(i + 1, topic=0, channel="noisy", minutes=minutes, noise=0.05))
        assert a is not None
        counted.append(a.member.counted)
    assert counted == [True, False, False, True, False]


def _angle(degrees: float) -> np.ndarray:
    v = np.zeros(16, dtype=np.float32)
    v[0], v[1] = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return v


def test_converging_stories_merge_into_the_older_one() -> None:
    c = _clusterer(pair_threshold=0.9, term_bonus=0.0)
    left = c.assign(post(1, channel="a", vector=_angle(0)))
    right = c.assign(post(2, channel="b", vector=_angle(30), minutes=1))  # cos 0.87 < 0.9
    assert left is not None
    assert right is not None
    assert len(c.stories) == 2
    # Posts half-way join one story and pull its centroid to the other: the two converge.
    for n in (3, 4):
        c.assign(post(n, channel=f"x{n}", vector=_angle(15), minutes=n))
    assert len(c.stories) == 1
    (survivor,) = c.stories.values()
    assert survivor.story_id == left.story.story_id  # the older story keeps its id
    assert right.story.status == "merged"
    assert right.story.merged_into == survivor.story_id
    assert survivor.size == 4
    assert c.story_of("acme:b:2") is survivor


def test_stale_stories_retire_and_are_not_joined() -> None:
    c = _clusterer()
    old = c.assign(post(1, topic=0))
    assert old is not None
    retired = c.retire(T0 + timedelta(hours=25))
    assert retired == [old.story]
    assert old.story.status == "retired"
    again = c.assign(post(2, topic=0, minutes=25 * 60))
    assert again is not None
    assert again.created


def test_a_post_without_vector_or_known_original_is_ignored() -> None:
    c = _clusterer()
    p = post(1)
    bare = type(p)(**{**{f: getattr(p, f) for f in p.__slots__}, "vector": None})
    assert c.assign(bare) is None
