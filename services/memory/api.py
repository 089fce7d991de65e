"""The read API (REST), mounted on the service's FastAPI app.

- ``GET /v1/episodes``: a tenant's episodes, newest first, filtered by run, kind, service and
  time (``since`` inclusive, ``until`` exclusive), keyset-paginated with an opaque cursor;
- ``GET /v1/runs/{run_id}/timeline``: one run's episodes of a tenant, oldest first.

``tenant_id`` is required on both; every read is filtered by it. (Callers are our own
services, which take the tenant from the end user's credential.) A page holds at most
1000 rows: a larger ``limit`` is refused with 422 and a message, never clamped silently.
Bad input gets 422 naming the parameter; a store that cannot answer gets 503; neither
ever becomes a 500.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from contracts.fields import SERVICE_PATTERN, TENANT_PATTERN
from contracts.v1.lifecycle import LifecycleKind
from services.memory.domain import cursor as cursors
from services.memory.domain.episode import (
    DEFAULT_PAGE,
    MAX_PAGE,
    Cursor,
    EpisodeFilter,
    StoredEpisode,
)
from services.memory.errors import StoreUnavailable
from services.memory.metrics import MemoryMetrics
from services.memory.ports import EpisodeReader
from services.memory.schemas import EpisodeOut, EpisodePage

TenantParam = Annotated[
    str,
    StringConstraints(pattern=TENANT_PATTERN),
    Field(description="Whose episodes; required. 1-64 of A-Z a-z 0-9 _ . - (leading alnum)."),
]
# NUL is refused as well as whitespace: Postgres text cannot hold it.
RunIdParam = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\s\x00]+$")
]


def _cap(value: int) -> int:
    if value > MAX_PAGE:
        raise ValueError(
            f"limit is capped at {MAX_PAGE} rows per request; page with next_cursor instead"
        )
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("datetime is out of range once converted to UTC") from None


Limit = Annotated[
    int,
    Field(ge=1, description=f"Page size, 1..{MAX_PAGE}.", json_schema_extra={"maximum": MAX_PAGE}),
    AfterValidator(_cap),
]
Instant = Annotated[AwareDatetime, AfterValidator(_utc)]
CursorText = Annotated[str, StringConstraints(max_length=cursors.MAX_CURSOR_CHARS)]


class EpisodeQuery(BaseModel):
    """Query parameters of ``GET /v1/episodes``; unknown parameters are refused (a typo such
    as ``tenant=`` must not silently widen a filter)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: TenantParam
    run_id: RunIdParam | None = None
    kind: LifecycleKind | None = None
    service: Annotated[str, StringConstraints(pattern=SERVICE_PATTERN)] | None = None
    since: Instant | None = Field(default=None, description="Inclusive lower bound, with zone.")
    until: Instant | None = Field(default=None, description="Exclusive upper bound, with zone.")
    limit: Limit = DEFAULT_PAGE
    cursor: CursorText | None = Field(default=None, description="next_cursor of a prior page.")

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        if value is not None:
            cursors.decode(value, "newest")  # BadCursor is a ValueError: a 422 naming cursor
        return value

    @model_validator(mode="after")
    def _window(self) -> EpisodeQuery:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("since must be earlier than until")
        return self


class TimelineQuery(BaseModel):
    """Query parameters of ``GET /v1/runs/{run_id}/timeline``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: TenantParam
    limit: Limit = MAX_PAGE
    cursor: CursorText | None = Field(default=None, description="next_cursor of a prior page.")

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        if value is not None:
            cursors.decode(value, "oldest")
        return value


def build_router(reader: EpisodeReader, metrics: MemoryMetrics) -> APIRouter:
    """The read endpoints over ``reader``."""
    router = APIRouter(prefix="/v1", tags=["episodes"])
    unavailable: dict[int | str, dict[str, Any]] = {
        503: {"description": "The episode store did not answer; retry later."}
    }

    @router.get("/episodes", response_model=EpisodePage, responses=unavailable)
    async def list_episodes(query: Annotated[EpisodeQuery, Query()]) -> EpisodePage:
        """A tenant's episodes, newest first, at most ``limit`` (≤ 1000) per page."""
        after = cursors.decode(query.cursor, "newest") if query.cursor else None
        wanted = EpisodeFilter(
            tenant_id=query.tenant_id,
            run_id=query.run_id,
            kind=query.kind,
            service=query.service,
            since=query.since,
            until=query.until,
            after=after,
            limit=query.limit,
            order="newest",
        )
        return await _page(reader, metrics, "episodes", wanted)

    @router.get("/runs/{run_id:path}/timeline", response_model=EpisodePage, responses=unavailable)
    async def run_timeline(
        run_id: Annotated[RunIdParam, Path(description="The run's id.")],
        query: Annotated[TimelineQuery, Query()],
    ) -> EpisodePage:
        """One run's episodes, oldest first, at most ``limit`` (≤ 1000) per page."""
        after = cursors.decode(query.cursor, "oldest") if query.cursor else None
        wanted = EpisodeFilter(
            tenant_id=query.tenant_id,
            run_id=run_id,
            after=after,
            limit=query.limit,
            order="oldest",
        )
        return await _page(reader, metrics, "timeline", wanted)

    return router


async def _page(
    reader: EpisodeReader,
    metrics: MemoryMetrics,
    endpoint: Literal["episodes", "timeline"],
    wanted: EpisodeFilter,
) -> EpisodePage:
    started = time.perf_counter()
    # One row more than the page tells whether another page exists, without a COUNT.
    probe = replace(wanted, limit=wanted.limit + 1)
    try:
        rows = await reader.find(probe)
    except StoreUnavailable:
        raise HTTPException(503, "episodic memory store unavailable; retry later") from None
    finally:
        metrics.read_seconds.labels(endpoint=endpoint).observe(time.perf_counter() - started)
    page, more = rows[: wanted.limit], len(rows) > wanted.limit
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = cursors.encode(Cursor(last.occurred_at, last.event_id), wanted.order)
    return EpisodePage(items=[_out(e) for e in page], next_cursor=next_cursor, limit=wanted.limit)


def _out(e: StoredEpisode) -> EpisodeOut:
    return EpisodeOut(
        event_id=e.event_id,
        tenant_id=e.tenant_id,
        run_id=e.run_id,
        kind=e.kind,
        service=e.service,
        domain=e.domain,
        user_id=e.user_id,
        details=dict(e.details),
        occurred_at=e.occurred_at,
        recorded_at=e.recorded_at,
    )
