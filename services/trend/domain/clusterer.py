"""Streaming story clustering of one tenant's posts (pure; the caller persists the result).

Per post, in event-time order:

0. the post's stems are counted in the tenant's document frequencies and it gets its
   TF-IDF vector over them (``domain.lexical``);
1. a repost (``duplicate_of`` naming a post of an active story) joins that story;
2. otherwise the post joins the active story with the largest similarity margin
   (``domain.similarity``: among the stories whose embedding centroid is near, the TF-IDF
   cosine to the story's words with a size-dependent bar) whose days and people it does not
   contradict (``domain.arguments``), or founds a new story when there is none;
3. the story it joined is then compared with the other active stories and absorbs (or is
   absorbed by) every one that now passes the same decision as two groups — converging
   stories merge, the older one (first post first) keeps its id;
4. stories with no post for ``ttl_s`` are retired by :meth:`Clusterer.retire`.

Ties are broken by story id, so the same posts in the same order give the same stories.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.trend.domain.arguments import conflicting
from services.trend.domain.index import CentroidIndex
from services.trend.domain.lexical import DocumentFrequencies, Sparse, stems
from services.trend.domain.model import IncomingPost, StoryParams
from services.trend.domain.similarity import margin
from services.trend.domain.story import Member, Story, new_story


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where one post went."""

    story: Story
    member: Member
    created: bool
    repost: bool
    merged: list[Story] = field(default_factory=list)
    """Stories absorbed into ``story`` because of this post."""
    kept_apart: tuple[str, ...] = ()
    """Why the post stayed out of stories whose words it matched (``domain.arguments``:
    ``"days"``, ``"people"``), one entry per such story."""


class Clusterer:
    """The active stories of one tenant and the decisions that change them."""

    def __init__(self, params: StoryParams, *, bucket_s: int, window_s: int) -> None:
        self.params = params
        self._bucket_s = bucket_s
        self._window_s = window_s
        self.frequencies = DocumentFrequencies(params.idf_cap)
        """The tenant's document frequencies: every post given to :meth:`assign` counts."""
        self.stories: dict[str, Story] = {}
        """Active stories by id."""
        self._posts: dict[str, str] = {}
        """Post id → story id, for the members of active stories."""
        self._indexes: dict[tuple[str, int], CentroidIndex] = {}

    def load(self, stories: Iterable[Story]) -> None:
        """Adopt stored active stories (after a restart). A story stored without words
        (before the lexical signal existed) gets them from its members' texts."""
        keep = self.params.similarity.profile_terms
        for story in stories:
            if story.status != "active":
                continue
            if not story.lexical_n:
                for m in story.members:
                    story.add_words(self.frequencies.vector(stems(m.text)), keep)
            self._activate(story)

    def story_of(self, post_id: str) -> Story | None:
        """The active story that holds ``post_id``."""
        story_id = self._posts.get(post_id)
        return None if story_id is None else self.stories.get(story_id)

    def words(self, post: IncomingPost) -> Sparse:
        """Count ``post`` in the document frequencies; its unit TF-IDF vector."""
        tf = stems(post.text)
        self.frequencies.add(tf)
        return self.frequencies.vector(tf)

    def assign(self, post: IncomingPost) -> Assignment | None:
        """Place ``post`` (counting its words first); ``None`` when it has no vector and no
        known original."""
        words = self.words(post)
        original = self.story_of(post.duplicate_of) if post.duplicate_of else None
        if original is not None:
            member = self._add(original, post, words)
            return Assignment(story=original, member=member, created=False, repost=True)
        if post.vector is None:
            return None
        story, kept_apart = self._nearest(post, words)
        created = story is None
        if story is None:
            story = new_story(post)
        member = self._add(story, post, words)
        survivor, merged = (story, []) if created else self._merge_converging(story)
        return Assignment(
            story=survivor,
            member=member,
            created=created,
            repost=False,
            merged=merged,
            kept_apart=kept_apart,
        )

    def retire(self, now: datetime) -> list[Story]:
        """Retire the stories whose last post is older than ``ttl_s`` before ``now``."""
        cutoff = now - timedelta(seconds=self.params.ttl_s)
        stale = sorted(s for s, story in self.stories.items() if story.last_seen < cutoff)
        retired = []
        for story_id in stale:
            story = self.stories[story_id]
            story.status = "retired"
            self._deactivate(story)
            retired.append(story)
        return retired

    # -- internals -------------------------------------------------------------------------

    def _index(self, story: Story | IncomingPost, dim: int) -> CentroidIndex:
        key = (story.embedding_model, dim)
        index = self._indexes.get(key)
        if index is None:
            index = self._indexes[key] = CentroidIndex(dim)
        return index

    def _nearest(self, post: IncomingPost, words: Sparse) -> tuple[Story | None, tuple[str, ...]]:
        """The story ``post`` joins (``None``: none), and why it stayed out of the stories
        that matched it better in words but contradict its days or people."""
        assert post.vector is not None
        sim = self.params.similarity
        index = self._index(post, len(post.vector))
        passing: list[tuple[float, str, str | None]] = []
        for story_id, _ in index.above(post.vector, sim.candidate_cosine):
            story = self.stories[story_id]
            shared = len(post.terms & story.signature(sim.signature_terms)) if sim.term_bonus else 0
            m = margin(story.lexical_cosine(words), shared, 1, max(1, story.lexical_n), sim)
            if m >= 0:
                why = conflicting(post.days, post.people, story.days, story.people)
                passing.append((m, story_id, why))
        best = max(((m, s) for m, s, why in passing if why is None), default=None)
        kept_apart = tuple(
            why for m, s, why in passing if why is not None and (best is None or (m, s) > best)
        )
        return (None if best is None else self.stories[best[1]]), kept_apart

    def _add(self, story: Story, post: IncomingPost, words: Sparse) -> Member:
        member = story.add(
            post,
            bucket_s=self._bucket_s,
            window_s=self._window_s,
            max_members=self.params.max_members,
        )
        story.add_words(words, self.params.similarity.profile_terms)
        self.stories[story.story_id] = story
        self._posts[post.post_id] = story.story_id
        if story.vectors:
            self._index(story, len(story.vector_sum)).put(story.story_id, story.centroid())
        return member

    def _activate(self, story: Story) -> None:
        self.stories[story.story_id] = story
        for m in story.members:
            self._posts[m.post_id] = story.story_id
        if story.vectors:
            self._index(story, len(story.vector_sum)).put(story.story_id, story.centroid())

    def _deactivate(self, story: Story) -> None:
        self.stories.pop(story.story_id, None)
        for m in story.members:
            if self._posts.get(m.post_id) == story.story_id:
                del self._posts[m.post_id]
        if len(story.vector_sum):
            self._index(story, len(story.vector_sum)).remove(story.story_id)

    def _merge_converging(self, story: Story) -> tuple[Story, list[Story]]:
        """Merge ``story`` with every active story it now converges with."""
        sim = self.params.similarity
        merged: list[Story] = []
        while story.vectors:
            index = self._index(story, len(story.vector_sum))
            mine = story.signature(sim.signature_terms) if sim.term_bonus else frozenset()
            partner: tuple[float, str] | None = None
            for other_id, _ in index.above(story.centroid(), sim.candidate_cosine):
                if other_id == story.story_id:
                    continue
                other = self.stories[other_id]
                if conflicting(story.days, story.people, other.days, other.people) is not None:
                    continue
                shared = len(mine & other.signature(sim.signature_terms)) if mine else 0
                similarity = story.lexical_cosine(other.lexical, other.lexical_norm())
                n1, n2 = max(1, story.lexical_n), max(1, other.lexical_n)
                m = margin(similarity, shared, n1, n2, sim)
                if m >= 0 and (partner is None or (m, other_id) > partner):
                    partner = (m, other_id)
            if partner is None:
                break
            other = self.stories[partner[1]]
            keep, gone = sorted((story, other), key=lambda s: (s.first_seen, s.story_id))
            keep.absorb(gone, sim.profile_terms)
            self._deactivate(gone)
            self._activate(keep)
            merged.append(gone)
            story = keep
        return story, merged
