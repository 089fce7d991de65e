"""An in-memory :class:`~services.trend.ports.TrendStore`, for replays in tools and tests.

It keeps what Postgres keeps, by reference (a restart is simulated by a new engine on the
same store, as with Postgres); ``fail_next_save`` makes the next :meth:`save` raise.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime

from services.trend.domain.story import Story
from services.trend.domain.tenant import Changes
from services.trend.ports import Detection, HeldPost, StoredTenant


class MemoryTrendStore:
    """Dictionaries instead of tables; copies stories on save so memory and store differ."""

    def __init__(self) -> None:
        self.inbox: dict[tuple[str, str], HeldPost] = {}
        self.members: dict[tuple[str, str], str] = {}
        self.stories: dict[tuple[str, str], Story] = {}
        self.entities: dict[tuple[str, str, int], int] = {}
        self.clock: dict[str, datetime] = {}
        self.frequencies: dict[str, dict[str, int]] = {}
        """Tenant → stem → document frequency."""
        self.documents: dict[str, int] = {}
        self.detections: dict[str, tuple[Detection, bool]] = {}
        self.fail_next_save = False

    async def hold(self, posts: Sequence[HeldPost]) -> set[tuple[str, str]]:
        fresh: set[tuple[str, str]] = set()
        for p in posts:
            key = (p.tenant_id, p.payload.post_id)
            if key in self.inbox or key in self.members:
                continue
            self.inbox[key] = HeldPost(p.tenant_id, None, p.payload)
            fresh.add(key)
        return fresh

    async def held(self) -> list[HeldPost]:
        return sorted(self.inbox.values(), key=lambda h: (h.payload.date, h.payload.post_id))

    async def load(self, tenant_id: str, *, span_buckets: int) -> StoredTenant:
        stories = [
            copy.deepcopy(s)
            for (t, _), s in sorted(self.stories.items())
            if t == tenant_id and s.status == "active"
        ]
        buckets = [(e, b, c) for (t, e, b), c in self.entities.items() if t == tenant_id]
        latest = max((b for _, b, _ in buckets), default=0)
        recent = [(e, b, c) for e, b, c in buckets if b >= latest - span_buckets]
        return StoredTenant(
            now=self.clock.get(tenant_id),
            stories=stories,
            entity_buckets=recent,
            documents=self.documents.get(tenant_id, 0),
            frequencies=sorted(self.frequencies.get(tenant_id, {}).items()),
        )

    async def save(
        self,
        tenant_id: str,
        now: datetime | None,
        changes: Changes,
        detections: Sequence[Detection],
    ) -> None:
        if self.fail_next_save:
            self.fail_next_save = False
            raise ConnectionError("store down (simulated)")
        for story in changes.stories.values():
            self.stories[(tenant_id, story.story_id)] = copy.deepcopy(story)
        for story_id, member in changes.members:
            self.members.setdefault((tenant_id, member.post_id), story_id)
        for gone, kept in changes.moves:
            for key, story_id in self.members.items():
                if key[0] == tenant_id and story_id == gone:
                    self.members[key] = kept
        for (entity, bucket), count in changes.entity_buckets.items():
            self.entities[(tenant_id, entity, bucket)] = count
        frequencies = self.frequencies.setdefault(tenant_id, {})
        for term, count in changes.frequencies.items():
            if count:
                frequencies[term] = count
            else:
                frequencies.pop(term, None)
        self.documents[tenant_id] = max(changes.documents, self.documents.get(tenant_id, 0))
        for post_id in changes.processed:
            self.inbox.pop((tenant_id, post_id), None)
        if now is not None:
            self.clock[tenant_id] = max(now, self.clock.get(tenant_id, now))
        for d in detections:
            self.detections.setdefault(d.event_id, (d, False))

    async def unpublished(self) -> list[Detection]:
        pending = [d for d, published in self.detections.values() if not published]
        return sorted(pending, key=lambda d: (d.detected_at, d.payload.trend_id))

    async def mark_published(self, detections: Sequence[Detection]) -> None:
        for d in detections:
            if d.event_id in self.detections:
                self.detections[d.event_id] = (self.detections[d.event_id][0], True)
