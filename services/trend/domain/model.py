"""What the trend domain knows about a post, and the parameters of every decision it makes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from services.trend.domain.arguments import Day, Participants

TrendKind = Literal["emerging", "stable"]

Vector = npt.NDArray[np.float32]
"""A unit vector (the post's embedding, L2-normalised again on arrival)."""


@dataclass(frozen=True, slots=True)
class IncomingPost:
    """One indexed post, reduced to what clustering and counting use.

    ``terms`` are the post's keywords and normalised entity forms (lower case): the lexical
    second signal of the similarity decision. ``vector`` is ``None`` when the producer shipped
    no embedding; such a post can only join a story through ``duplicate_of``. ``days`` and
    ``people`` are the event's arguments the post names (``domain.arguments``).
    """

    tenant_id: str
    post_id: str
    channel_id: str
    message_id: int
    date: datetime
    text: str
    embedding_model: str
    vector: Vector | None
    terms: frozenset[str] = frozenset()
    entities: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    channel_title: str | None = None
    permalink: str | None = None
    duplicate_of: str | None = None
    views: int | None = None
    forwards: int | None = None
    days: frozenset[Day] = frozenset()
    people: Participants = field(default_factory=Participants)


@dataclass(frozen=True, slots=True)
class SimilarityParams:
    """The story-similarity decision (see ``domain.similarity``)."""

    lexical_threshold: float = 0.21
    """TF-IDF cosine two single posts need (tuned on the ``ru_train`` pairs)."""
    candidate_cosine: float = 0.5
    """Embedding cosine a story needs to be compared at all (blocking, not deciding)."""
    term_bonus: float = 0.0
    """Cosine credit per shared keyword/entity (0: off; it did not help on ``ru_train``)."""
    term_cap: int = 4
    """At most this many shared terms earn credit."""
    signature_terms: int = 20
    """A story's terms are its ``signature_terms`` most frequent keywords/entities."""
    profile_terms: int = 200
    """A story's lexical profile keeps its heaviest stems (trimmed at twice this many)."""


@dataclass(frozen=True, slots=True)
class BurstParams:
    """Windows, the significance test and the emerging/stable rules (see ``domain.burst``)."""

    bucket_s: int = 300
    window_s: int = 3600
    baseline_s: int = 86_400
    prior_events: float = 1.0
    """Gamma prior shape: pseudo-events of a story before its baseline is seen."""
    prior_hours: float = 20.0
    """Gamma prior exposure in hours: prior rate = ``prior_events / prior_hours`` per hour."""
    p_value: float = 1e-3
    """Emerging when P(X >= window count | baseline) is at most this."""
    min_channels: int = 3
    """Distinct independent channels a story needs in the window (emerging) or overall."""
    emerging_cooldown_s: int = 6 * 3600
    stable_min_posts: int = 10
    """Counted posts within the baseline span plus the window."""
    stable_min_channels: int = 5
    stable_min_hours: int = 4
    """Distinct hours with a counted post, in the last 24 h: sustained, not one spike."""
    stable_min_age_s: int = 6 * 3600
    stable_recent_s: int = 2 * 3600
    """A stable story still had a counted post this recently."""
    stable_cooldown_s: int = 12 * 3600

    @property
    def window_buckets(self) -> int:
        return self.window_s // self.bucket_s

    @property
    def baseline_buckets(self) -> int:
        return self.baseline_s // self.bucket_s


@dataclass(frozen=True, slots=True)
class StoryParams:
    """Life of a story cluster."""

    ttl_s: int = 86_400
    """A story with no post for this long is retired (no longer joined or reported)."""
    max_members: int = 200
    """Member vectors kept per story (the centroid stays exact beyond it)."""
    idf_cap: int = 100_000
    """Stems whose document frequency a tenant keeps (the rarest are forgotten beyond it)."""
    similarity: SimilarityParams = field(default_factory=SimilarityParams)
