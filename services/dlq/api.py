"""The operator REST API, mounted on the service's FastAPI app.

Lists, filters and stats cover this deployment's entries (original topics under its topic
prefix); an action by explicit ids applies to whatever ids it names.

``GET /v1/entries`` (filters, newest first, keyset pages), ``GET /v1/entries/{id}``,
``POST /v1/entries/{id}/{replay|park|purge}``, ``POST /v1/actions/{replay|park|purge}`` (by
ids or by filter), ``GET /v1/stats``. The ``X-Operator`` header names who acts. Bad input gets
a 4xx saying what is wrong; 503 means Postgres is unavailable.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from servicekit.auth import ApiGuard
from services.dlq.api_models import (
    MAX_LIMIT,
    ActionBody,
    ActionName,
    ActionOut,
    BulkActionBody,
    EntryDetail,
    ErrorClass,
    Group,
    OperatorName,
    Page,
    ServiceName,
    StatsOut,
    Tenant,
    Time,
    Topic,
    action_out,
    check_range,
    entry_detail,
    entry_out,
)
from services.dlq.domain.states import Status
from services.dlq.errors import ActionRefused, EntryNotFound, StoreUnavailable
from services.dlq.operator import Operator
from services.dlq.ports import EntryQuery


def mount(app: FastAPI, operator: Operator, guard: ApiGuard) -> None:
    """Add the operator routes (behind ``guard``) and their error mapping to ``app``."""
    app.include_router(_router(operator), dependencies=[Depends(guard)])
    app.add_exception_handler(EntryNotFound, _not_found)
    app.add_exception_handler(ActionRefused, _refused)
    app.add_exception_handler(StoreUnavailable, _unavailable)


def _router(operator: Operator) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["dlq"])
    prefix = operator.prefix

    @router.get("/entries", response_model=Page)
    async def list_entries(
        status: Annotated[list[Status], Query(max_length=6)] = [],  # noqa: B006 - FastAPI copies
        topic: Annotated[list[Topic], Query(max_length=50)] = [],  # noqa: B006
        error_class: ErrorClass | None = None,
        service: ServiceName | None = None,
        consumer_group: Group | None = None,
        tenant: Tenant | None = None,
        since: Time = None,
        until: Time = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
        cursor: uuid.UUID | None = None,
    ) -> Page:
        """Entries matching every given filter, newest first; ``since``/``until`` bound the
        first failure. At most ``limit`` (≤ 1000) per page."""
        try:
            check_range(since, until)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        query = EntryQuery(
            statuses=tuple(status),
            topics=_physical(topic, prefix),
            error_class=error_class,
            service=service,
            consumer_group=consumer_group,
            tenant_id=tenant,
            since=since,
            until=until,
            topic_prefix=prefix,
            limit=limit,
            before_id=str(cursor) if cursor else None,
        )
        items = await operator.list(query)
        more = len(items) == limit
        return Page(
            items=[entry_out(e, prefix) for e in items],
            next_cursor=items[-1].id if items and more else None,
        )

    @router.get("/entries/{entry_id}", response_model=EntryDetail)
    async def show_entry(entry_id: uuid.UUID) -> EntryDetail:
        """One entry; the payload is pretty-printed JSON when it is JSON, else text or base64."""
        return entry_detail(await operator.get(str(entry_id)), prefix)

    @router.post("/entries/{entry_id}/{action}", response_model=ActionOut)
    async def act_on_entry(
        entry_id: uuid.UUID,
        action: ActionName,
        body: ActionBody | None = None,
        x_operator: Annotated[OperatorName, Header()] = "anonymous",
    ) -> ActionOut:
        """Replay (fresh attempt budget, due now), park or purge one entry; 404 when it does
        not exist, 409 when the action does not apply to its state."""
        reason = body.reason if body else ""
        report = await operator.act_on_one(
            action, str(entry_id), operator=x_operator, reason=reason
        )
        return action_out(report)

    @router.post("/actions/{action}", response_model=ActionOut)
    async def act_in_bulk(
        action: ActionName,
        body: BulkActionBody,
        x_operator: Annotated[OperatorName, Header()] = "anonymous",
    ) -> ActionOut:
        """Act on the given ids (unknown or inapplicable ones are listed as skipped), or on up
        to ``limit`` entries matching ``filter`` that the action applies to."""
        if body.ids is not None:
            ids = list(dict.fromkeys(str(i) for i in body.ids))
            report = await operator.act(action, ids=ids, operator=x_operator, reason=body.reason)
        else:
            assert body.filter is not None
            f = body.filter
            query = EntryQuery(
                statuses=tuple(f.status),
                topics=_physical(f.topic, prefix),
                error_class=f.error_class,
                service=f.service,
                consumer_group=f.consumer_group,
                tenant_id=f.tenant,
                since=f.since,
                until=f.until,
                topic_prefix=prefix,
                limit=body.limit,
            )
            report = await operator.act(
                action, query=query, operator=x_operator, reason=body.reason
            )
        return action_out(report)

    @router.get("/stats", response_model=StatsOut)
    async def stats() -> StatsOut:
        """Entries by topic and status; the first failure of the oldest open entry."""
        found = await operator.stats()
        counts: dict[str, dict[str, int]] = {}
        for (topic, status), n in sorted(found.counts.items()):
            counts.setdefault(topic, {})[status.value] = n
        return StatsOut(counts=counts, oldest_open_failed_at=found.oldest_open_failed_at)

    return router


def _physical(topics: list[str], prefix: str) -> tuple[str, ...]:
    """A logical name also matches its physical topic under this deployment's prefix."""
    out: list[str] = []
    for t in topics:
        out.append(t)
        if prefix and not t.startswith(prefix):
            out.append(prefix + t)
    return tuple(dict.fromkeys(out))


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": f"no entry {exc}"}, status_code=404)


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=409)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "the DLQ store is unavailable; try again shortly"},
        status_code=503,
        headers={"Retry-After": "5"},
    )
