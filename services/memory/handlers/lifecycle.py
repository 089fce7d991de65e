"""Handler of ``lifecycle.v1``: store each poll's episodes with one INSERT."""

from __future__ import annotations

from typing import Any

from contracts.envelope import Envelope
from servicekit.clock import Clock
from servicekit.consumer import BatchHandler, MessageContext
from servicekit.errors import InvalidMessage
from services.memory.domain.episode import (
    UnstorableEpisode,
    from_envelope,
    retention_cutoff,
    unique,
)
from services.memory.metrics import MemoryMetrics
from services.memory.ports import EpisodeWriter


def make_handler(
    store: EpisodeWriter, metrics: MemoryMetrics, clock: Clock, *, retention_days: int
) -> BatchHandler:
    """A batch handler that stores every new episode of the poll, idempotently.

    Guarantees: each lifecycle event is stored once however often it is delivered (within a
    batch or across batches); events already older than the retention window are counted
    and skipped (retention would delete them at once); nothing is emitted on ``lifecycle.v1``.
    Raises :class:`~servicekit.errors.InvalidMessage` when an event can never be stored (the
    runtime then isolates and dead-letters it alone), and the store's error when it is down
    (the runtime retries the batch; nothing of a failed batch is stored, so a retry is exact).
    """

    async def handle(batch: list[tuple[Envelope[Any], MessageContext]]) -> None:
        if not batch:
            return
        episodes = []
        for envelope, _ctx in batch:
            try:
                episodes.append(from_envelope(envelope))
            except UnstorableEpisode as exc:
                raise InvalidMessage(str(exc)) from exc
        cutoff = retention_cutoff(clock.now(), retention_days)
        distinct = unique(episodes)
        fresh = [e for e in distinct if e.occurred_at >= cutoff]
        stored = await store.add(fresh)
        metrics.batch_size.observe(len(batch))
        for episode in stored:
            metrics.stored.labels(kind=episode.kind).inc()
        expired = len(distinct) - len(fresh)
        if expired:
            metrics.ignored.labels(reason="expired").inc(expired)
        duplicates = len(episodes) - expired - len(stored)
        if duplicates:
            metrics.ignored.labels(reason="duplicate").inc(duplicates)
        batch[0][1].log.debug(
            "episodes_stored", batch=len(batch), stored=len(stored), duplicates=duplicates
        )

    return handle
