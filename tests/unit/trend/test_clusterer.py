"""Streaming clustering: join, found, reposts, one channel counted once, merge, retire."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.trend.domain.clusterer import Clusterer
from services.trend.domain.lexical import DocumentFrequencies, dot, stems
from services.trend.domain.model import SimilarityParams, StoryParams
from tests.unit.trend.factories import T0, post

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


def test_words_decide_among_the_embedding_candidates() -> None:
    c = _clusterer()
    c.assign(post(1, topic=0, text="Вулкан Этна выбросил столб пепла, аэропорт Катании закрыт."))
    # Same embedding direction, unrelated words: a story of its own.
    c.assign(post(2, topic=0, channel="c2", minutes=1, text="Курс юаня обновил рекорд."))
    # Related words: joins the first.
    joined = c.assign(
        post(3, topic=0, channel="c3", minutes=2, text="Этна: аэропорт Катании закрыт из-за пепла")
    )
    assert joined is not None
    assert len(c.stories) == 2
    assert [m.post_id for m in joined.story.members] == ["acme:c1:1", "acme:c3:3"]


def test_the_embedding_gate_keeps_far_posts_apart_whatever_their_words() -> None:
    c = _clusterer()
    c.assign(post(1, topic=0, text="Вулкан Этна выбросил столб пепла."))
    c.assign(post(2, topic=5, channel="c2", minutes=1, text="Вулкан Этна выбросил столб пепла."))
    assert len(c.stories) == 2


def _cosine_of_second(first: str, second: str) -> float:
    """The TF-IDF cosine the clusterer sees when ``second`` follows ``first`` in a new tenant."""
    df = DocumentFrequencies()
    vectors = []
    for text in (first, second):
        tf = stems(text)
        df.add(tf)
        vectors.append(df.vector(tf))
    return dot(vectors[0], vectors[1])


def test_shared_terms_tip_a_borderline_post_in_when_credited() -> None:
    first = "Пожар на складе в Подольске потушен."
    second = "Склад в Подольске горел всю ночь, сообщили спасатели."
    bar = _cosine_of_second(first, second) + 0.01
    plain = _clusterer(lexical_threshold=bar)
    credited = _clusterer(lexical_threshold=bar, term_bonus=0.06)
    for c in (plain, credited):
        c.assign(post(1, topic=0, terms=("подольск",), text=first))
        c.assign(post(2, channel="c2", terms=("подольск",), minutes=1, text=second))
    assert len(plain.stories) == 2
    assert len(credited.stories) == 1


def test_a_story_stored_without_words_gets_them_from_its_members() -> None:
    first = _clusterer()
    a = first.assign(post(1, topic=0, text="Вулкан Этна выбросил столб пепла."))
    assert a is not None
    a.story.lexical, a.story.lexical_n = {}, 0  # as stored before the lexical signal
    restarted = _clusterer()
    restarted.load([a.story])
    assert a.story.lexical_n == 1
    assert set(a.story.lexical) == {"вулка", "этн", "выброс", "столб", "пепл"}


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


def test_converging_stories_merge_into_the_older_one() -> None:
    c = _clusterer(lexical_threshold=0.3)
    left = c.assign(post(1, channel="a", text="Извержение вулкана на острове Ява."))
    right = c.assign(post(2, channel="b", minutes=1, text="Пепел закрыл аэропорт, рейсы отменены."))
    assert left is not None
    assert right is not None
    assert len(c.stories) == 2
    # Posts with the words of both join one story and pull its words to the other's.
    both = "Извержение вулкана на острове Ява: пепел закрыл аэропорт, рейсы отменены."
    for n in (3, 4):
        c.assign(post(n, channel=f"x{n}", minutes=n, text=both))
    assert len(c.stories) == 1
    (survivor,) = c.stories.values()
    assert survivor.story_id == left.story.story_id  # the older story keeps its id
    assert right.story.status == "merged"
    assert right.story.merged_into == survivor.story_id
    assert survivor.size == 4
    assert survivor.lexical_n == 4
    assert c.story_of("acme:b:2") is survivor


def test_a_long_story_keeps_its_heaviest_words_only() -> None:
    c = _clusterer(profile_terms=5)
    extra = ("пепел", "лава", "туман", "Катания", "рейсы", "Сицилия", "туристы")
    for n, word in enumerate(extra, start=1):
        c.assign(post(n, channel=f"c{n}", minutes=n, text=f"Этна извергается, день {n}: {word}"))
    (story,) = c.stories.values()
    assert story.lexical_n == 7
    assert len(story.lexical) <= 10  # 17 stems seen, trimmed to 5 whenever past 10
    assert {"этн", "изверга", "ден"} <= set(story.lexical)


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
