"""Handler of ``posts.deleted.v1``: remove the posts from every store."""

from __future__ import annotations

from contracts.envelope import Envelope
from contracts.v1.posts import PostsDeleted
from servicekit.consumer import Handler, MessageContext
from services.retrieval.indexing import Indexer
from services.retrieval.metrics import RetrievalMetrics
from services.retrieval.search import Searcher


def make_handler(indexer: Indexer, searcher: Searcher, metrics: RetrievalMetrics) -> Handler:
    """Delete from Postgres, Qdrant and Neo4j; unknown ids are fine (idempotent)."""

    async def handle(envelope: Envelope[PostsDeleted], ctx: MessageContext) -> None:
        removed = await indexer.delete(envelope.tenant_id, envelope.payload)
        if removed:
            searcher.invalidate(envelope.tenant_id)
        metrics.deleted.inc(len(removed))
        ctx.log.info(
            "posts_deleted", requested=len(envelope.payload.message_ids), removed=len(removed)
        )

    return handle
