"""The retrieval service's own types: what flows between the domain and the stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Leg = Literal["dense", "sparse", "graph"]
EntityLabel = Literal["PER", "ORG", "LOC", "MISC"]


@dataclass(frozen=True, slots=True)
class Entity:
    """A named entity found in a post; ``normalized`` is the lemma form used as graph key."""

    text: str
    normalized: str
    label: EntityLabel


@dataclass(frozen=True, slots=True)
class SparseVector:
    """Term ids (unique, ascending) and weights: the BM25-style leg."""

    indices: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Analysis:
    """What text analysis makes of one post's raw text."""

    clean_text: str
    language: str
    entities: tuple[Entity, ...]
    keywords: tuple[str, ...]
    simhash: int
    """64-bit SimHash of the cleaned text's shingles, for near-duplicate detection."""


@dataclass(frozen=True, slots=True)
class Post:
    """A canonical post as the stores keep it. ``post_id`` is ``tenant:channel:message``."""

    tenant_id: str
    post_id: str
    channel_id: str
    channel_title: str | None
    chat_kind: Literal["channel", "group"]
    message_id: int
    date: datetime
    text: str
    analysis: Analysis
    edit_date: datetime | None = None
    author_id: str | None = None
    author_name: str | None = None
    reply_to_message_id: int | None = None
    forwarded_from: str | None = None
    views: int | None = None
    forwards: int | None = None
    permalink: str | None = None
    duplicate_of: str | None = None
    """Set when this post repeats an earlier one (a repost or a near-duplicate)."""


@dataclass(frozen=True, slots=True)
class IndexedPoint:
    """One post with its vectors, ready for the vector store."""

    post: Post
    dense: tuple[float, ...]
    sparse: SparseVector


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Filters every search applies; ``tenant_id`` is mandatory and always enforced."""

    tenant_id: str
    channels: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    languages: tuple[str, ...] = ()
    chat_kind: Literal["channel", "group"] | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result of one leg, with what is needed to render and cite it."""

    post_id: str
    score: float
    leg: Leg
    channel_id: str = ""
    channel_title: str | None = None
    message_id: int = 0
    date: datetime | None = None
    text: str = ""
    permalink: str | None = None
    entities: tuple[str, ...] = field(default=())
    language: str = ""
    duplicate_of: str | None = None
    """The earlier post this one repeats, if any (reposts collapse onto it)."""
