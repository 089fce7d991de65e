"""The trend engine: posts in, held until event time allows, clustered per tenant, stored,
announced; and the answer to "what is trending now".

Guarantees:

- a post id is processed at most once per tenant, however often it is delivered (the store's
  inbox and membership decide; an edit of a processed post is not counted again);
- posts of one consumer are processed in event-time order (``domain.ordering``), so a replay
  gives the same stories and the same detections as the original run;
- a processing step's state, the removal of its posts from the inbox and its detections are
  stored in one transaction; if that fails, the tenant's in-memory state is dropped (it is
  reloaded from the store) and its posts are held again, so memory never runs ahead of the
  store;
- detections are published after they are stored (outbox); one that failed to publish is
  published again by :meth:`TrendEngine.flush` with the same event id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.envelope import derived_event_id
from contracts.v1.trend import ReportTrends
from servicekit.logging import get_logger
from services.trend.domain.card import TrendCard
from services.trend.domain.model import BurstParams, IncomingPost, StoryParams
from services.trend.domain.ordering import Reorderer
from services.trend.domain.persona import rank_for_persona
from services.trend.domain.tenant import TenantState
from services.trend.intake import to_incoming
from services.trend.metrics import TrendMetrics
from services.trend.ports import Detection, DetectionSink, HeldPost, TrendStore
from services.trend.render import to_payload

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Report:
    """The answer to one ``ReportTrends``."""

    cards: list[TrendCard]
    """Emerging first (most significant first), then stable (largest first)."""
    as_of: datetime | None
    """The tenant's event-time clock; ``None`` before its first post."""


@dataclass(frozen=True, slots=True)
class _Held:
    post: IncomingPost
    received: float


class TrendEngine:
    """One instance per service process; every public method is safe to call concurrently."""

    def __init__(
        self,
        store: TrendStore,
        sink: DetectionSink,
        metrics: TrendMetrics,
        *,
        stories: StoryParams,
        burst: BurstParams,
        monotonic: Callable[[], float],
        idle_partition_s: float,
    ) -> None:
        self._store = store
        self._sink = sink
        self._metrics = metrics
        self._stories = stories
        self._burst = burst
        self._monotonic = monotonic
        self._reorder: Reorderer[_Held] = Reorderer(idle_partition_s)
        self._busy = 0.0
        self._tenants: dict[str, TenantState] = {}
        self._lock = asyncio.Lock()
        self._dirty_outbox = True
        self.announced: list[Detection] = []
        """Every detection published by this instance (for tools and tests; bounded by use)."""
        self.keep_announced = False

    async def recover(self, partitions: int = 0) -> None:
        """Expect ``partitions`` partitions (see ``domain.ordering``), hold again what the store
        holds (after a restart), publish what was not."""
        now, arrived = self._quiet_clock(), self._monotonic()
        self._reorder.expect(range(partitions), now)
        for held in await self._store.held():
            post = to_incoming(held.tenant_id, held.payload)
            self._reorder.offer(None, post.date, _key(post), _Held(post, arrived), now)
        self._metrics.held.set(len(self._reorder))
        await self.flush()

    async def receive(self, posts: Sequence[HeldPost]) -> list[TrendCard]:
        """Hold ``posts`` (idempotently), then process whatever the watermark releases."""
        started = self._monotonic()
        try:
            return await self._receive(posts)
        finally:
            self._busy += self._monotonic() - started

    def _quiet_clock(self) -> float:
        """Monotonic time minus the time spent inside :meth:`receive`: partitions only go
        quiet while the consumer waits for Kafka, not while it works through a backlog."""
        return self._monotonic() - self._busy

    async def _receive(self, posts: Sequence[HeldPost]) -> list[TrendCard]:
        fresh = await self._store.hold(posts)
        now, arrived = self._quiet_clock(), self._monotonic()
        for held in posts:
            post = to_incoming(held.tenant_id, held.payload)
            if (held.tenant_id, post.post_id) in fresh:
                self._reorder.offer(held.source, post.date, _key(post), _Held(post, arrived), now)
            else:
                self._reorder.heard(held.source, post.date, now)
                self._metrics.posts.labels(outcome="duplicate").inc()
        return await self.drain()

    async def drain(self) -> list[TrendCard]:
        """Process the posts the watermark released, tenant by tenant; return the cards
        announced (already stored and, unless the broker failed, published)."""
        async with self._lock:
            released = self._reorder.release(self._quiet_clock())
            self._metrics.held.set(len(self._reorder))
            by_tenant: dict[str, list[_Held]] = {}
            for item in released:
                by_tenant.setdefault(item.post.tenant_id, []).append(item)
            detections: list[Detection] = []
            for tenant_id, items in by_tenant.items():
                detections += await self._step(tenant_id, items)
            self._metrics.clusters_active.set(
                sum(len(t.clusterer.stories) for t in self._tenants.values())
            )
            await self._publish(detections)
        return [_card_of(d) for d in detections]

    async def flush(self) -> int:
        """Publish stored detections not yet published; return how many went out."""
        async with self._lock:
            if not self._dirty_outbox:
                return 0
            pending = await self._store.unpublished()
            if await self._publish(pending):
                self._dirty_outbox = False
                return len(pending)
            return 0

    async def report(self, tenant_id: str, request: ReportTrends) -> Report:
        """The tenant's current trends for ``request`` (kinds, channels, limit, persona) and
        its event-time clock; no trends is an empty list, never an error."""
        async with self._lock:
            state = await self._state(tenant_id)
            cards = state.current(
                request.kinds,
                channels=frozenset(request.channels) if request.channels else None,
                limit=request.limit,
            )
            as_of = state.now
        return Report(rank_for_persona(cards, request.persona_id), as_of)

    def held_count(self) -> int:
        """Posts waiting for the watermark."""
        return len(self._reorder)

    # -- internals -------------------------------------------------------------------------

    async def _state(self, tenant_id: str) -> TenantState:
        state = self._tenants.get(tenant_id)
        if state is None:
            span = (self._burst.window_s + self._burst.baseline_s) // self._burst.bucket_s
            stored = await self._store.load(tenant_id, span_buckets=span)
            state = TenantState(tenant_id, self._stories, self._burst, now=stored.now)
            state.load(
                stored.stories,
                stored.entity_buckets,
                documents=stored.documents,
                frequencies=stored.frequencies,
            )
            self._tenants[tenant_id] = state
        return state

    async def _step(self, tenant_id: str, items: list[_Held]) -> list[Detection]:
        started = self._monotonic()
        state = await self._state(tenant_id)

        def apply() -> Any:
            for item in items:
                state.process(item.post)
            return state.take_changes()

        # CPU-bound clustering off the event loop, so Kafka heartbeats and /metrics keep
        # answering during a big backlog; the engine lock keeps the state single-writer.
        changes = await asyncio.to_thread(apply)
        detections = [_detection(tenant_id, card) for card in changes.cards]
        try:
            await self._store.save(tenant_id, state.now, changes, detections)
        except Exception:
            # Memory is ahead of the store now: forget it, hold the posts again.
            self._tenants.pop(tenant_id, None)
            now = self._quiet_clock()
            for item in items:
                self._reorder.offer(None, item.post.date, _key(item.post), item, now)
            raise
        finished = self._monotonic()
        for item in items:
            self._metrics.hold_seconds.observe(max(0.0, started - item.received))
        self._metrics.step_seconds.observe(finished - started)
        outcome_ignored = changes.ignored
        self._metrics.posts.labels(outcome="ignored").inc(outcome_ignored)
        self._metrics.posts.labels(outcome="clustered").inc(len(items) - outcome_ignored)
        self._metrics.stories.labels(change="merged").inc(changes.merged)
        self._metrics.stories.labels(change="retired").inc(changes.retired)
        for argument, times in changes.kept_apart.items():
            self._metrics.kept_apart.labels(argument=argument).inc(times)
        for card in changes.cards:
            delay = (card.window_end - card.first_seen_at).total_seconds()
            self._metrics.detection_delay.labels(kind=card.kind).observe(delay)
        return detections

    async def _publish(self, detections: list[Detection]) -> bool:
        """Publish and mark; on failure leave them for :meth:`flush` and say so."""
        if not detections:
            return True
        try:
            for detection in detections:
                await self._sink.publish(detection)
                self._metrics.emitted.labels(kind=detection.payload.kind).inc()
                if self.keep_announced:
                    self.announced.append(detection)
            await self._store.mark_published(detections)
        except Exception as exc:
            self._dirty_outbox = True
            _log.warning("trend_publish_failed", error=repr(exc), pending=len(detections))
            return False
        return True


def _key(post: IncomingPost) -> str:
    return f"{post.tenant_id}\x00{post.post_id}"


def _detection(tenant_id: str, card: TrendCard) -> Detection:
    at = card.window_end
    return Detection(
        tenant_id=tenant_id,
        event_id=derived_event_id(at, tenant_id, card.trend_id, card.kind, at.isoformat()),
        detected_at=at,
        payload=to_payload(card),
        card=card,
    )


def _card_of(detection: Detection) -> TrendCard:
    assert detection.card is not None
    return detection.card
