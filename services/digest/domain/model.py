"""The digest service's own types: posts as read from the canonical store, stories, items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Post:
    """One canonical post of the window (``retrieval.posts``), with what ranking and citing
    need. ``duplicate_of`` names the earlier post it repeats (a repost or near-copy)."""

    post_id: str
    channel_id: str
    channel_title: str | None
    message_id: int
    date: datetime
    text: str
    language: str
    keywords: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    views: int | None = None
    forwards: int | None = None
    permalink: str | None = None
    duplicate_of: str | None = None
    forwarded_from: str | None = None
    reply_to_message_id: int | None = None
    author_id: str | None = None
    author_name: str | None = None


@dataclass(slots=True)
class Story:
    """Posts about one story across channels. ``posts`` are the originals (first is the
    earliest); ``reposts`` the post ids collapsed onto them."""

    story_id: str
    posts: list[Post]
    reposts: list[str] = field(default_factory=list)
    terms: dict[str, float] = field(default_factory=dict)
    """Sum of the members' unit term vectors (the centroid, unnormalised)."""

    @property
    def channels(self) -> set[str]:
        """Distinct channels that carried the story (originals only)."""
        return {p.channel_id for p in self.posts}

    @property
    def size(self) -> int:
        """Originals plus reposts."""
        return len(self.posts) + len(self.reposts)

    @property
    def first_seen(self) -> datetime:
        """Date of the earliest original."""
        return min(p.date for p in self.posts)

    @property
    def last_seen(self) -> datetime:
        """Date of the latest original."""
        return max(p.date for p in self.posts)


@dataclass(frozen=True, slots=True)
class Item:
    """One story of a digest as written: a title, an extractive (or LLM) summary and the
    post ids it cites (every source of the story, best first)."""

    story_id: str
    title: str
    summary: str
    topic: str
    citations: tuple[str, ...]
    score: float


@dataclass(frozen=True, slots=True)
class Draft:
    """One candidate digest: its items and the strategy that wrote it."""

    strategy: str
    items: tuple[Item, ...]
    header: str = ""
    notes: tuple[str, ...] = ()
    """Group digests: participants, comparison with the previous window, and so on."""
