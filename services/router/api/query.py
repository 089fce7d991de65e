"""``POST /v1/rag/query``: a question in, a cited answer out (or 202 for the smart path)."""

# No ``from __future__ import annotations``: FastAPI must see the closure's dependency
# objects in the endpoint signatures, not strings it cannot resolve.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from contracts.ids import new_event_id
from services.router.api.models import (
    AcceptedResponse,
    ErrorResponse,
    QueryRequest,
    QueryResponse,
    SourceOut,
    WindowOut,
)
from services.router.api.security import PrincipalDependency
from services.router.domain.model import Principal
from services.router.domain.timings import Hops
from services.router.pipeline.model import Outcome, QueryInput
from services.router.pipeline.service import QueryService

ENDPOINT = "/v1/rag/query"

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No valid credential."},
    403: {"model": ErrorResponse, "description": "The API key was revoked."},
    413: {"model": ErrorResponse, "description": "The body is larger than allowed."},
    422: {"model": ErrorResponse, "description": "The body is invalid (the message says why)."},
    429: {"model": ErrorResponse, "description": "Rate limit; see Retry-After."},
    503: {"model": ErrorResponse, "description": "A store or service is down; retry later."},
}


def build_router(
    service: QueryService, principal: PrincipalDependency, *, timings_header: bool
) -> APIRouter:
    """The query endpoint over ``service``."""
    router = APIRouter(prefix="/v1", tags=["query"])

    @router.post(
        "/rag/query",
        response_model=QueryResponse,
        responses={
            202: {"model": AcceptedResponse, "description": "Taken by the smart path."},
            **ERRORS,
        },
    )
    async def rag_query(
        body: QueryRequest,
        request: Request,
        response: Response,
        who: Annotated[Principal, Depends(principal)],
    ) -> QueryResponse | JSONResponse:
        """Answer from the caller's tenant's posts, every sentence citing its source.

        The fast path answers here (200). A request the router sends to the smart path
        (digests, trends) returns 202 with a run id and ``Location: /v1/runs/{id}``.
        ``Server-Timing`` tells where the time went (auth, history, route, retrieval — the
        round trip over Kafka — and search, the part of it spent searching inside the retrieval
        service, answer, record).
        """
        hops: Hops = getattr(request.state, "hops", None) or Hops()
        run_id = new_event_id()
        query = QueryInput(
            text=body.text,
            query_id=body.query_id or run_id,
            origin="rest",
            channels=tuple(body.channels) if body.channels else None,
            since=body.since,
            until=body.until,
            language=body.language,
            qos=body.qos,
            budget=body.budget,
            persona_id=body.persona_id,
        )
        outcome = await service.answer(who, query, run_id=run_id, endpoint=ENDPOINT, hops=hops)
        headers = {"Server-Timing": hops.server_timing()} if timings_header else {}
        if outcome.accepted:
            location = f"/v1/runs/{run_id}"
            accepted = AcceptedResponse(
                run_id=run_id,
                query_id=query.query_id,
                route=outcome.route,
                status="running",
                answer=outcome.answer,
                location=location,
            )
            return JSONResponse(
                accepted.model_dump(mode="json"),
                status_code=202,
                headers={"Location": location, **headers},
            )
        if outcome.status == "failed":
            return JSONResponse(
                {"detail": outcome.answer, "run_id": run_id, "degraded": outcome.degraded},
                status_code=503,
                headers={"Retry-After": "1", **headers},
            )
        response.headers.update(headers)
        return to_response(outcome)

    return router


def to_response(outcome: Outcome) -> QueryResponse:
    """The 200 body of a fast-path outcome."""
    w = outcome.window
    return QueryResponse(
        query_id=outcome.query_id,
        run_id=outcome.run_id,
        route=outcome.route,
        status=outcome.status,
        answer=outcome.answer,
        sources=[
            SourceOut(
                n=s.n,
                post_id=s.post_id,
                channel_id=s.channel_id,
                channel_title=s.channel_title,
                message_id=s.message_id,
                date=s.date,
                permalink=s.permalink,
                quote=s.quote,
            )
            for s in outcome.sources
        ],
        usage=outcome.usage,
        latency_ms=outcome.latency_ms,
        degraded=outcome.degraded,
        qos_level=outcome.qos_requested,
        mode=outcome.mode,
        language=outcome.language,
        window=WindowOut(since=w.since, until=w.until, label=w.label) if w else None,
        followup=outcome.followup,
        route_stage=outcome.stage,
        route_confidence=outcome.confidence,
        timings_ms=outcome.timings,
    )
