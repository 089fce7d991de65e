"""Handler of ``posts.ingested.v1`` (batches): index, then announce ``posts.indexed.v1``."""

from __future__ import annotations

import time
from typing import Any

from contracts.envelope import Envelope
from contracts.v1.posts import Entity as EntityOut
from contracts.v1.posts import PostIndexed
from servicekit.consumer import BatchHandler, MessageContext
from servicekit.lifecycle import LifecyclePublisher
from servicekit.publisher import Publisher
from services.retrieval.domain.model import IndexedPoint
from services.retrieval.indexing import Incoming, Indexer
from services.retrieval.metrics import RetrievalMetrics
from services.retrieval.search import Searcher

STORES = ["postgres", "qdrant", "neo4j"]


def make_handler(
    indexer: Indexer,
    searcher: Searcher,
    publisher: Publisher,
    lifecycle: LifecyclePublisher,
    metrics: RetrievalMetrics,
    embedding_model: str,
) -> BatchHandler:
    """Index a poll of posts. Idempotent: a redelivered batch rewrites the same rows/points,
    and posts already fully indexed *and announced* with the same content are skipped (no
    event either)."""

    async def handle(items: list[tuple[Envelope[Any], MessageContext]]) -> None:
        started = time.monotonic()
        causes = {env.payload.natural_key(env.tenant_id): env for env, _ in items}

        async def announce(points: list[IndexedPoint]) -> None:
            # One bulk publish per chunk: the producer batches them into a few requests, and a
            # message costs an append, not a middleware stack (Publisher.publish_many).
            await publisher.publish_many(
                [
                    (
                        publisher.envelope(
                            _indexed(point, embedding_model),
                            topic="posts.indexed.v1",
                            tenant_id=point.post.tenant_id,
                            causation=causes[point.post.post_id],
                            idempotency_key=(
                                f"{point.post.post_id}:{causes[point.post.post_id].idempotency_key}"
                            ),
                        ),
                        f"{point.post.tenant_id}:{point.post.channel_id}",
                    )
                    for point in points
                ],
                topic="posts.indexed.v1",
            )

        # Announced before the posts are marked indexed (see Indexer.index): a crash between
        # the stores and the announcement cannot lose the announcement.
        result = await indexer.index(
            [Incoming(env.tenant_id, env.payload) for env, _ in items], announce=announce
        )
        for tenant in {p.post.tenant_id for p in result.written}:
            searcher.invalidate(tenant)
        metrics.indexed.labels(outcome="written").inc(len(result.written))
        metrics.indexed.labels(outcome="unchanged").inc(len(result.unchanged))
        metrics.indexed.labels(outcome="duplicate").inc(
            sum(1 for p in result.written if p.post.duplicate_of)
        )
        metrics.index_batch_seconds.observe(time.monotonic() - started)
        for stage, seconds in result.seconds.items():
            metrics.index_stage_seconds.labels(stage=stage).inc(seconds)
        await _trace(lifecycle, items, result.written, result.unchanged)
        items[0][1].log.info(
            "posts_indexed",
            batch=len(items),
            written=len(result.written),
            unchanged=len(result.unchanged),
            seconds=round(time.monotonic() - started, 3),
        )

    return handle


async def _trace(
    lifecycle: LifecyclePublisher,
    items: list[tuple[Envelope[Any], MessageContext]],
    written: list[IndexedPoint],
    unchanged: list[str],
) -> None:
    """One ``run_completed`` per ingestion run (tenant + correlation id) in the batch: a trace
    in episodic memory without an event per post."""
    runs: dict[tuple[str, str], list[Envelope[Any]]] = {}
    for env, _ in items:
        runs.setdefault((env.tenant_id, env.correlation_id), []).append(env)
    done = {p.post.post_id for p in written}
    skipped = set(unchanged)
    for (tenant, run_id), envs in runs.items():
        keys = {e.payload.natural_key(tenant) for e in envs}
        await lifecycle.emit(
            "run_completed",
            tenant_id=tenant,
            run_id=run_id,
            domain="indexing",
            details={
                "posts": len(envs),
                "written": len(keys & done),
                "unchanged": len(keys & skipped),
            },
            cause=envs[0],
            dedupe_parts=("indexing", str(len(envs))),
        )


def _indexed(point: IndexedPoint, embedding_model: str) -> PostIndexed:
    post, analysis = point.post, point.post.analysis
    return PostIndexed(
        post_id=post.post_id,
        channel_id=post.channel_id,
        channel_title=post.channel_title,
        message_id=post.message_id,
        date=post.date,
        chat_kind=post.chat_kind,
        language=analysis.language if len(analysis.language) == 2 else None,
        text=analysis.clean_text,
        entities=[
            EntityOut(text=e.text[:256], normalized=e.normalized[:256], label=e.label)
            for e in analysis.entities[:200]
        ],
        keywords=list(analysis.keywords[:50]),
        embedding_model=embedding_model,
        embedding=list(point.dense),
        duplicate_of=post.duplicate_of,
        is_edit=post.edit_date is not None,
        views=post.views,
        forwards=post.forwards,
        permalink=post.permalink,
        stores=STORES,
    )
