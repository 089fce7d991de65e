"""Ports of the trend service: its state store and where detections go.

``adapters/postgres.py`` implements :class:`TrendStore` on Postgres; unit tests use a
hand-written in-memory fake. Every method that takes a tenant reads or writes that tenant's
rows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from contracts.v1.posts import PostIndexed
from contracts.v1.trend import TrendDetected
from services.trend.domain.card import TrendCard
from services.trend.domain.story import Story
from services.trend.domain.tenant import Changes


@dataclass(frozen=True, slots=True)
class HeldPost:
    """A post received and waiting for the event-time watermark."""

    tenant_id: str
    source: int | None
    """The Kafka partition it came from (``None`` once recovered from the store)."""
    payload: PostIndexed


@dataclass(frozen=True, slots=True)
class Detection:
    """A trend announcement, stored with the state change that caused it (outbox)."""

    tenant_id: str
    event_id: str
    """Derived from tenant, trend, kind and time: a re-publication is the same event."""
    detected_at: datetime
    payload: TrendDetected
    card: TrendCard | None = None
    """The domain card, when this process made the detection (not stored)."""


@dataclass(frozen=True, slots=True)
class StoredTenant:
    """What a tenant's processing resumes from."""

    now: datetime | None
    stories: list[Story]
    """Active stories with their members."""
    entity_buckets: list[tuple[str, int, int]]
    """``(entity, bucket, count)`` of the recent buckets."""
    documents: int = 0
    """Posts counted in the tenant's document frequencies."""
    frequencies: list[tuple[str, int]] = field(default_factory=list)
    """``(stem, document frequency)`` as last saved (see ``domain.lexical``)."""


class TrendStore(Protocol):
    """Durable state of the trend service."""

    async def hold(self, posts: Sequence[HeldPost]) -> set[tuple[str, str]]:
        """Store the posts that are neither held nor story members yet; return their
        ``(tenant_id, post_id)``. Holding the same posts again returns an empty set."""
        ...

    async def held(self) -> list[HeldPost]:
        """Every post held and not processed yet (after a restart), oldest first."""
        ...

    async def load(self, tenant_id: str, *, span_buckets: int) -> StoredTenant:
        """The tenant's clock, active stories with their members, its entity counters of the
        last ``span_buckets`` buckets (counted back from its latest one), and its document
        frequencies."""
        ...

    async def save(
        self,
        tenant_id: str,
        now: datetime | None,
        changes: Changes,
        detections: Sequence[Detection],
    ) -> None:
        """Apply ``changes`` (stories, members, merges, counters, document frequencies,
        processed posts leave the inbox), the clock and the detections atomically. Raises
        what the store raises; then nothing was written."""
        ...

    async def unpublished(self) -> list[Detection]:
        """Detections stored but not yet marked published, oldest first."""
        ...

    async def mark_published(self, detections: Sequence[Detection]) -> None:
        """Record that these detections reached the broker."""
        ...


class DetectionSink(Protocol):
    """Where detections are announced (``trend.detected.v1``)."""

    async def publish(self, detection: Detection) -> None:
        """Publish and wait for the broker's acknowledgement; raises on failure."""
        ...
