"""Extractive items: a title and a short summary from a story's most central post.

The representative post is the original closest to the story's centroid (ties: the
earliest). The title is its first sentence (at most ``TITLE_CHARS``); the summary adds the
following sentences up to ``SUMMARY_CHARS`` and, for a multi-channel story, how many
channels carried it. Citations are every original of the story (representative first, then
by time) and its reposts, at most ``MAX_CITATIONS``.

Ranking yields :class:`StoryRef` (references only: ids, topic, score), which is what the
manifest keeps; items are written from a ref and the posts it names, so a resumed run
writes exactly the items an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from services.digest.domain.model import Draft, Item, Post, Story
from services.digest.domain.ranking import Ranked
from services.digest.domain.stories import vectors
from services.digest.domain.text import clip, sentences
from services.digest.domain.topics import ORDER, topic_of

TITLE_CHARS: Final = 140
SUMMARY_CHARS: Final = 360
MAX_CITATIONS: Final = 50


@dataclass(frozen=True, slots=True)
class StoryRef:
    """A ranked story by reference: representative post, citations, topic, score, channels."""

    story_id: str
    rep: str
    citations: tuple[str, ...]
    topic: str
    score: float
    channels: int

    def to_json(self) -> dict[str, Any]:
        """The manifest form."""
        return {
            "id": self.story_id,
            "rep": self.rep,
            "cites": list(self.citations),
            "topic": self.topic,
            "score": self.score,
            "channels": self.channels,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoryRef:
        """Back from the manifest form."""
        return cls(
            story_id=str(data["id"]),
            rep=str(data["rep"]),
            citations=tuple(str(c) for c in data["cites"]),
            topic=str(data["topic"]),
            score=float(data["score"]),
            channels=int(data["channels"]),
        )


def representative(story: Story) -> Post:
    """The original most similar to the story's centroid (earliest on ties)."""
    if len(story.posts) == 1:
        return story.posts[0]
    vecs = vectors(story.posts)

    def centrality(post: Post) -> float:
        return sum(w * story.terms.get(t, 0.0) for t, w in vecs[post.post_id].items())

    return max(story.posts, key=lambda p: (round(centrality(p), 9), -p.date.timestamp()))


def ref_of(ranked: Ranked) -> StoryRef:
    """The reference form of a ranked story."""
    story = ranked.story
    rep = representative(story)
    others = sorted((p for p in story.posts if p is not rep), key=lambda p: (p.date, p.post_id))
    cites = [rep.post_id, *(p.post_id for p in others), *story.reposts][:MAX_CITATIONS]
    return StoryRef(
        story_id=story.story_id,
        rep=rep.post_id,
        citations=tuple(cites),
        topic=topic_of(story.terms),
        score=ranked.score,
        channels=len(story.channels),
    )


def item_from_ref(ref: StoryRef, posts: Mapping[str, Post], language: str) -> Item | None:
    """The extractive item of ``ref``; None when its representative post is gone."""
    rep = posts.get(ref.rep)
    if rep is None:
        return None
    parts = sentences(rep.text) or [rep.text]
    title = clip(parts[0], TITLE_CHARS)
    rest = " ".join(parts[1:])
    summary = clip(rest, SUMMARY_CHARS) if rest else ""
    if ref.channels > 1:
        n = ref.channels
        more = f"Сообщили {n} канала(ов)." if language == "ru" else f"Reported by {n} channels."
        summary = f"{summary} {more}".strip()
    cites = tuple(c for c in ref.citations if c in posts)
    return Item(ref.story_id, title, summary, ref.topic, cites, ref.score)


def compose(
    refs: Sequence[StoryRef],
    posts: Mapping[str, Post],
    *,
    max_items: int,
    language: str,
    strategy: str,
) -> Draft:
    """A draft of the ``max_items`` best refs, grouped by topic (topics in a fixed order,
    stories by score within one)."""
    items = [i for r in refs[:max_items] if (i := item_from_ref(r, posts, language))]
    items.sort(key=lambda i: (ORDER.index(i.topic), -i.score, i.story_id))
    return Draft(strategy=strategy, items=tuple(items))
