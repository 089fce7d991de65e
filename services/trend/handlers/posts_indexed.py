"""Handler of ``posts.indexed.v1`` (batches): hold, process in event-time order, announce."""

from __future__ import annotations

from typing import Any

from contracts.envelope import Envelope
from servicekit.consumer import BatchHandler, MessageContext
from servicekit.lifecycle import LifecyclePublisher
from services.trend.domain.card import TrendCard
from services.trend.engine import TrendEngine
from services.trend.ports import HeldPost


def make_handler(engine: TrendEngine, lifecycle: LifecyclePublisher) -> BatchHandler:
    """Hand a poll of indexed posts to the engine.

    Idempotent per post id (the engine holds a post once and processes it once), so a
    redelivered batch changes nothing and announces nothing new. Raises what the store raises
    (the runtime retries the batch; what was stored stays stored). Emits one ``run_completed``
    per tenant in the poll, caused by its first post, with the poll's figures.
    """

    async def handle(items: list[tuple[Envelope[Any], MessageContext]]) -> None:
        held = [HeldPost(env.tenant_id, ctx.partition, env.payload) for env, ctx in items]
        cards = await engine.receive(held)
        await _trace(lifecycle, items, cards, engine.held_count())
        items[0][1].log.debug(
            "trend_batch", batch=len(items), trends=len(cards), held=engine.held_count()
        )

    return handle


async def _trace(
    lifecycle: LifecyclePublisher,
    items: list[tuple[Envelope[Any], MessageContext]],
    cards: list[TrendCard],
    held: int,
) -> None:
    by_tenant: dict[str, list[Envelope[Any]]] = {}
    for env, _ in items:
        by_tenant.setdefault(env.tenant_id, []).append(env)
    for tenant, envs in by_tenant.items():
        first = envs[0]
        await lifecycle.emit(
            "run_completed",
            tenant_id=tenant,
            run_id=f"trend-batch:{first.event_id}",
            domain="trend",
            details={
                "stage": "posts",
                "posts": len(envs),
                "trends": len(cards),
                "held": held,
            },
            cause=first,
            dedupe_parts=("trend-batch", str(len(envs))),
        )
