"""Handler of ``queries.requested.v1`` (batches): the REST pipeline for other teams.

The tenant comes from the envelope, which a trusted producer set; the user from the payload.
Each query becomes one ``queries.answered.v1`` keyed ``tenant:user``. Redelivery-safe: the
run id and the answer's event id are derived from the request's event id, and a query whose
run was already recorded is answered again from the record (same event id, so consumers
that dedupe on it see one answer) instead of being recomputed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from contracts.envelope import Envelope, derived_event_id
from contracts.v1.common import Usage
from contracts.v1.queries import AnswerQuery, QueryAnswered
from servicekit.consumer import BatchHandler, MessageContext
from servicekit.publisher import Publisher
from services.router.domain.model import Principal, Run
from services.router.pipeline.model import QueryInput, to_query_answered
from services.router.pipeline.service import QueryService
from services.router.ports import RunStore

ENDPOINT = "queries.requested.v1"
TOPIC = "queries.answered.v1"


def make_handler(service: QueryService, runs: RunStore, publisher: Publisher) -> BatchHandler:
    """Answer every query of a poll concurrently; publish each answer."""

    async def handle(items: list[tuple[Envelope[Any], MessageContext]]) -> None:
        await asyncio.gather(*(_one(env, ctx) for env, ctx in items))

    async def _one(env: Envelope[Any], ctx: MessageContext) -> None:
        query: AnswerQuery = env.payload
        run_id = derived_event_id(env.occurred_at, env.event_id, "router", "run")
        known = await runs.get(env.tenant_id, run_id)
        if known is not None:
            answered = _from_record(known, query)
            ctx.log.info("query_answered_from_record", run_id=run_id)
        else:
            principal = Principal(env.tenant_id, query.user_id, "kafka", "kafka")
            outcome = await service.answer(
                principal,
                _input(query),
                run_id=run_id,
                endpoint=ENDPOINT,
                cause=env,
            )
            answered = to_query_answered(outcome, query.user_id)
        out = publisher.envelope(
            answered,
            topic=TOPIC,
            tenant_id=env.tenant_id,
            causation=env,
            event_id=derived_event_id(env.occurred_at, env.event_id, "router", "answered"),
            idempotency_key=f"{query.query_id}:answered",
        )
        await publisher.publish(out, key=f"{env.tenant_id}:{query.user_id}")

    return handle


def _input(query: AnswerQuery) -> QueryInput:
    # Postgres text cannot hold NUL; a question never needs one.
    text = query.text.replace("\x00", " ").strip() or "?"
    return QueryInput(
        text=text,
        query_id=query.query_id,
        origin="kafka",
        channels=tuple(query.channels) if query.channels else None,
        since=query.since,
        until=query.until,
        language=query.language,
        budget=query.budget,
        persona_id=query.persona_id,
    )


def _from_record(run: Run, query: AnswerQuery) -> QueryAnswered:
    result = run.result or {}
    if "mode" in result and "answered" in result:  # written by the fast path (run_result)
        return QueryAnswered.model_validate(result["answered"])
    # A smart-path run: it was accepted (its own result arrives on its own topic).
    return QueryAnswered(
        query_id=query.query_id,
        user_id=query.user_id,
        route=run.kind,
        status="failed" if run.status == "failed" else "accepted",
        answer=run.error or "",
        run_id=run.run_id,
        usage=Usage(),
        latency_ms=0,
    )
