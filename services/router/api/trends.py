"""``GET /v1/trends``: ask the trend service over Kafka request/reply and wait, bounded.

The trend service answers with one list; no current trends is 200 with an empty list. No
reply within the deadline is 504 with a message (the trend service may be busy or not
running); a request Kafka refused is 503. Never hangs.
"""

# No ``from __future__ import annotations``: FastAPI must see the closure's dependency
# objects in the endpoint signatures, not strings it cannot resolve.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from contracts.fields import ChannelId
from contracts.ids import new_event_id
from contracts.v1.trend import ReportTrends, TrendKind
from services.router.api.models import ErrorResponse, TrendsResponse
from services.router.api.query import ERRORS
from services.router.api.security import PrincipalDependency
from services.router.domain.model import Principal
from services.router.ports import SmartPath


def build_router(
    smart: SmartPath, principal: PrincipalDependency, *, timeout_s: float
) -> APIRouter:
    """The trends endpoint."""
    router = APIRouter(prefix="/v1", tags=["trends"])
    responses: dict[int | str, dict[str, Any]] = {
        **{k: v for k, v in ERRORS.items() if k != 413},
        504: {"model": ErrorResponse, "description": "The trend service did not answer."},
    }

    @router.get("/trends", response_model=TrendsResponse, responses=responses)
    async def trends(
        who: Annotated[Principal, Depends(principal)],
        channels: Annotated[list[ChannelId] | None, Query(max_length=100)] = None,
        kinds: Annotated[list[TrendKind] | None, Query(max_length=2)] = None,
        limit: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> TrendsResponse:
        """The tenant's current trends (emerging and stable), at most ``limit``."""
        command = ReportTrends(
            request_id=new_event_id(),
            user_id=who.user_id,
            channels=channels or None,
            kinds=list(dict.fromkeys(kinds)) if kinds else ["emerging", "stable"],
            limit=limit,
        )
        report = await smart.report_trends(who.tenant_id, command, timeout_s=timeout_s)
        return TrendsResponse(
            request_id=report.request_id,
            trends=report.trends,
            answer=report.answer.answer if report.answer else None,
            citations=report.answer.citations if report.answer else [],
        )

    return router
