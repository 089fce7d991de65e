"""A story cluster: its members, centroid, terms, channels and counters.

Counting rule ("one noisy channel cannot make a trend"): a post is *counted* for the burst
test only if it is not a repost (``duplicate_of``) and its channel has no counted post in this
story during the preceding window (1 h). So within any window a story's count is at most its
number of distinct independent channels, and reposts never confirm a story by themselves.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from services.trend.domain.arguments import Day, Participants
from services.trend.domain.counters import BucketSeries, bucket_of
from services.trend.domain.lexical import Sparse, dot, norm
from services.trend.domain.model import IncomingPost, Vector
from services.trend.domain.similarity import signature

StoryStatus = Literal["active", "merged", "retired"]


def story_id_for(channel_id: str, message_id: int) -> str:
    """A story's id from its first post, the same across replays and tenants."""
    digest = hashlib.sha256(f"{channel_id}:{message_id}".encode()).hexdigest()
    return f"st-{digest[:20]}"


def engagement_weight(views: int | None, forwards: int | None) -> float:
    """1 for a post without engagement figures, up to 2 for a widely seen and forwarded one:
    ``1 + min(1, log10(1 + views) / 12 + log10(1 + forwards) / 6)``. Bounded, so engagement
    ranks stories but cannot stand in for independent channels."""
    extra = math.log10(1 + (views or 0)) / 12 + math.log10(1 + (forwards or 0)) / 6
    return 1.0 + min(1.0, extra)


@dataclass(slots=True)
class Member:
    """A post of a story, as kept for citations, the headline and centrality."""

    post_id: str
    channel_id: str
    message_id: int
    date: datetime
    text: str
    permalink: str | None
    counted: bool
    duplicate: bool
    vector: Vector | None


@dataclass(slots=True)
class Story:
    """One story cluster of one tenant. Mutated only by the clusterer of that tenant."""

    story_id: str
    tenant_id: str
    embedding_model: str
    first_seen: datetime
    last_seen: datetime
    vector_sum: np.ndarray
    vectors: int = 0
    """Members that contributed a vector to ``vector_sum``."""
    size: int = 0
    terms: Counter[str] = field(default_factory=Counter)
    entities: Counter[str] = field(default_factory=Counter)
    keywords: Counter[str] = field(default_factory=Counter)
    channel_titles: dict[str, str] = field(default_factory=dict)
    last_counted: dict[str, datetime] = field(default_factory=dict)
    """Channel → its latest counted post in this story."""
    members: list[Member] = field(default_factory=list)
    counts: BucketSeries = field(default_factory=BucketSeries)
    status: StoryStatus = "active"
    merged_into: str | None = None
    last_emerging_at: datetime | None = None
    last_stable_at: datetime | None = None
    lexical: Sparse = field(default_factory=dict)
    """The sum of the members' unit TF-IDF vectors (``domain.lexical``): the story's words."""
    lexical_n: int = 0
    """Members that contributed to ``lexical``."""
    days: set[Day] = field(default_factory=set)
    """Every calendar day a member's lead names (``domain.arguments``)."""
    people: Participants = field(default_factory=Participants)
    """The people the members name."""
    _signature: tuple[int, frozenset[str]] | None = field(default=None, repr=False, compare=False)
    _lexical_norm: float | None = field(default=None, repr=False, compare=False)

    def centroid(self) -> Vector:
        """The unit mean of the member vectors."""
        norm = float(np.linalg.norm(self.vector_sum))
        return (self.vector_sum / (norm or 1.0)).astype(np.float32)

    def signature(self, size: int) -> frozenset[str]:
        """The story's most frequent terms (cached until the terms change)."""
        if self._signature is None or self._signature[0] != size:
            self._signature = (size, signature(self.terms, size))
        return self._signature[1]

    def lexical_norm(self) -> float:
        """The length of :attr:`lexical` (cached until it changes)."""
        if self._lexical_norm is None:
            self._lexical_norm = norm(self.lexical)
        return self._lexical_norm

    def lexical_cosine(self, vector: Sparse, vector_norm: float = 1.0) -> float:
        """The cosine of ``vector`` (a post's unit TF-IDF vector, or another story's words
        with their norm) with the story's words; 0 when either is empty."""
        scale = self.lexical_norm() * vector_norm
        return dot(vector, self.lexical) / scale if scale else 0.0

    def add_words(self, vector: Sparse, keep: int) -> None:
        """Add a member's unit TF-IDF vector; past ``2 · keep`` stems keep the heaviest
        ``keep`` (ties by stem), so a long story's profile stays bounded."""
        if not vector:
            return
        words = self.lexical
        for term, weight in vector.items():
            words[term] = words.get(term, 0.0) + weight
        self.lexical_n += 1
        self._trim(keep)

    def _trim(self, keep: int) -> None:
        if len(self.lexical) > 2 * keep:
            heaviest = sorted(self.lexical.items(), key=lambda kv: (-kv[1], kv[0]))[:keep]
            self.lexical = dict(heaviest)
        self._lexical_norm = None

    def channels(self) -> list[str]:
        """Every channel with a member, in order of first appearance."""
        return list(dict.fromkeys(m.channel_id for m in self.members))

    def independent_channels(self) -> set[str]:
        """Channels with a counted (non-repost) post."""
        return set(self.last_counted)

    def add(self, post: IncomingPost, *, bucket_s: int, window_s: int, max_members: int) -> Member:
        """Add ``post``; count it if the counting rule (module docstring) allows."""
        previous = self.last_counted.get(post.channel_id)
        counted = post.duplicate_of is None and (
            previous is None or post.date - previous >= timedelta(seconds=window_s)
        )
        if counted:
            self.last_counted[post.channel_id] = post.date
            weight = engagement_weight(post.views, post.forwards)
            self.counts.add(bucket_of(post.date, bucket_s), 1, weight)
        if post.vector is not None:
            self.vector_sum += post.vector
            self.vectors += 1
        self.size += 1
        self.terms.update(post.terms)
        self._signature = None
        self.entities.update(post.entities)
        self.keywords.update(post.keywords)
        self.days |= post.days
        self.people = self.people | post.people
        if post.channel_title:
            self.channel_titles[post.channel_id] = post.channel_title
        self.first_seen = min(self.first_seen, post.date)
        self.last_seen = max(self.last_seen, post.date)
        member = Member(
            post_id=post.post_id,
            channel_id=post.channel_id,
            message_id=post.message_id,
            date=post.date,
            text=post.text[:1000],
            permalink=post.permalink,
            counted=counted,
            duplicate=post.duplicate_of is not None,
            vector=post.vector if len(self.members) < max_members else None,
        )
        self.members.append(member)
        return member

    def absorb(self, other: Story, keep: int) -> None:
        """Take over ``other`` (a converging story): members, terms, words (``keep`` as in
        :meth:`add_words`), counters, channels. The cooldowns keep the latest of both, so a
        merge cannot re-announce a story early."""
        self.vector_sum += other.vector_sum
        self.vectors += other.vectors
        for term, weight in other.lexical.items():
            self.lexical[term] = self.lexical.get(term, 0.0) + weight
        self.lexical_n += other.lexical_n
        self._trim(keep)
        self.size += other.size
        self.terms.update(other.terms)
        self._signature = None
        self.entities.update(other.entities)
        self.keywords.update(other.keywords)
        self.days |= other.days
        self.people = self.people | other.people
        self.channel_titles.update(other.channel_titles)
        for channel, when in other.last_counted.items():
            mine = self.last_counted.get(channel)
            self.last_counted[channel] = when if mine is None else max(mine, when)
        self.members = sorted([*self.members, *other.members], key=lambda m: (m.date, m.post_id))
        self.counts.merge(other.counts)
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        self.last_emerging_at = _latest(self.last_emerging_at, other.last_emerging_at)
        self.last_stable_at = _latest(self.last_stable_at, other.last_stable_at)
        other.status = "merged"
        other.merged_into = self.story_id


def new_story(post: IncomingPost) -> Story:
    """An empty story seeded by ``post`` (not yet added)."""
    dim = 0 if post.vector is None else len(post.vector)
    return Story(
        story_id=story_id_for(post.channel_id, post.message_id),
        tenant_id=post.tenant_id,
        embedding_model=post.embedding_model,
        first_seen=post.date,
        last_seen=post.date,
        vector_sum=np.zeros(dim, dtype=np.float64),
    )


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
