"""Handler of ``retrieval.requested.v1`` (batches): answer each request, batched together."""

from __future__ import annotations

from typing import Any

from contracts.envelope import Envelope
from contracts.v1.retrieval import DocumentsRetrieved
from servicekit.consumer import BatchHandler, MessageContext
from servicekit.lifecycle import LifecyclePublisher
from servicekit.publisher import Publisher
from services.retrieval.search import Searcher


def make_handler(
    searcher: Searcher, publisher: Publisher, lifecycle: LifecyclePublisher
) -> BatchHandler:
    """Answer a poll of requests with one embedding call; each answer goes to the request's
    reply topic when it has one (request/reply), else to ``retrieval.completed.v1``."""

    async def handle(items: list[tuple[Envelope[Any], MessageContext]]) -> None:
        async def deliver(n: int, answer: DocumentsRetrieved) -> None:
            await _answer(*items[n], answer)

        # Each answer goes out as soon as its own search finished, not the poll's slowest.
        await searcher.search_many([(env.tenant_id, env.payload) for env, _ in items], deliver)

    async def _answer(env: Envelope[Any], ctx: MessageContext, answer: DocumentsRetrieved) -> None:
        out = publisher.envelope(
            answer, topic="retrieval.completed.v1", tenant_id=env.tenant_id, causation=env
        )
        key = f"{env.tenant_id}:{env.payload.request_id}"
        # The trace does not hold up the poll's commit: the answer is the work.
        lifecycle.emit_soon(
            "run_completed",
            tenant_id=env.tenant_id,
            run_id=env.correlation_id,
            domain=f"retrieval.{env.payload.domain}",
            details={
                "documents": len(answer.documents),
                "took_ms": answer.took_ms,
                "cache_hit": answer.cache_hit,
                "degraded_legs": answer.degraded_legs,
            },
            cause=env,
        )
        # To the requester's reply topic when it named one, else on the topic itself.
        await publisher.publish(out, key=key, physical_topic=ctx.reply_to)

    return handle
