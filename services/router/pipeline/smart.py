"""Handing a query to the smart path: a run is recorded, the command published, 202.

Trend runs are finished by the gateway itself (see ``trend_runs``); digest runs by the
digest service's ``digest.completed.v1``.

A digest asked for without channels covers the channels whose posts retrieval finds for the
question in the period (at most 20 posts looked at): the router keeps no channel list of
its own, and the digest contract needs at least one channel. None found means nothing to
digest, answered at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, Literal

from contracts.v1.digest import GenerateDigest
from contracts.v1.retrieval import RetrievalFilters, RetrieveDocuments
from contracts.v1.trend import ReportTrends
from servicekit.clock import Clock
from services.router.domain.model import Principal, Run, Window
from services.router.errors import DispatchFailed
from services.router.pipeline.model import QueryInput
from services.router.pipeline.trend_runs import TrendRuns
from services.router.ports import Retriever, RunStore, SmartPath

_ACCEPTED: Final = {
    ("digest", "ru"): "Готовлю дайджест за {days} дн. по каналам ({n}); результат: {where}.",
    ("digest", "en"): "Writing a digest of {n} channel(s) over {days} day(s); result: {where}.",
    ("trend", "ru"): "Собираю тренды; результат: {where}.",
    ("trend", "en"): "Collecting trends; result: {where}.",
}


@dataclass(frozen=True)
class Dispatched:
    """What happened to a smart-path request: accepted (with its run), or nothing to do."""

    accepted: bool
    answer: str


class SmartDispatcher:
    """Records smart-path runs and publishes their commands."""

    def __init__(
        self,
        smart: SmartPath,
        retriever: Retriever,
        runs: RunStore,
        clock: Clock,
        trends: TrendRuns,
        *,
        retrieval_timeout_s: float,
        discovery_top_k: int,
    ) -> None:
        self._smart = smart
        self._trends = trends
        self._retriever = retriever
        self._runs = runs
        self._clock = clock
        self._timeout_s = retrieval_timeout_s
        self._top_k = discovery_top_k

    async def dispatch(
        self,
        principal: Principal,
        query: QueryInput,
        route: Literal["digest", "trend"],
        *,
        run_id: str,
        window: Window | None,
        language: str,
    ) -> Dispatched:
        """Record the run and publish its command. Raises ``DispatchFailed`` (the run is then
        marked failed) or ``RetrievalUnavailable`` (channel discovery)."""
        now = self._clock.now()
        run = Run(
            run_id=run_id,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            kind=route,
            status="accepted",
            created_at=now,
            updated_at=now,
            request=query.as_request(),
        )
        lang = "ru" if language == "ru" else "en"
        where = f"/v1/runs/{run_id}"
        if route == "trend":
            command = ReportTrends(
                request_id=run_id,
                user_id=principal.user_id,
                channels=list(query.channels) if query.channels else None,
                persona_id=query.persona_id,
            )
            await self._trends.start(run, command)
            return Dispatched(True, _ACCEPTED[("trend", lang)].format(where=where))
        channels = list(query.channels or []) or await self._discover(principal, query, window)
        if not channels:
            return Dispatched(False, "")
        days = _period_days(window, now)
        digest = GenerateDigest(
            run_id=run_id,
            user_id=principal.user_id,
            kind="channel",
            channels=channels[:100],
            period_days=days,
            until=window.until if window and window.until else None,
            language=query.language or language,
            persona_id=query.persona_id,
        )
        await self._runs.create(replace(run, request={**run.request, "digest": _json(digest)}))
        await self._send(
            run, self._smart.request_digest(principal.tenant_id, digest, correlation_id=run_id)
        )
        text = _ACCEPTED[("digest", lang)].format(days=days, n=len(digest.channels), where=where)
        return Dispatched(True, text)

    async def submit_digest(self, principal: Principal, command: GenerateDigest) -> None:
        """Record a digest run asked for directly and publish it. Raises ``DispatchFailed``
        (the run is then marked failed) or ``StoreUnavailable``."""
        now = self._clock.now()
        run = Run(
            run_id=command.run_id,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            kind="digest",
            status="accepted",
            created_at=now,
            updated_at=now,
            request={"origin": "rest", "digest": _json(command)},
        )
        await self._runs.create(run)
        await self._send(
            run,
            self._smart.request_digest(principal.tenant_id, command, correlation_id=command.run_id),
        )

    async def _send(self, run: Run, publishing: Awaitable[None]) -> None:
        try:
            await publishing
        except DispatchFailed as exc:
            await self._runs.update(
                run.tenant_id, run.run_id, "failed", when=self._clock.now(), error=str(exc)
            )
            raise
        await self._runs.update(run.tenant_id, run.run_id, "running", when=self._clock.now())

    async def _discover(
        self, principal: Principal, query: QueryInput, window: Window | None
    ) -> list[str]:
        request = RetrieveDocuments(
            request_id=uuid.uuid4().hex,
            query=query.text,
            # Only the channels matter here: the QA domain ranks by relevance alone, which is
            # the cheapest search (digest-domain diversification costs far more CPU).
            domain="qa",
            top_k=self._top_k,
            filters=RetrievalFilters(
                since=query.since or (window.since if window else None),
                until=query.until or (window.until if window else None),
            ),
        )
        found = await self._retriever.retrieve(
            principal.tenant_id,
            request,
            correlation_id=request.request_id,
            timeout_s=self._timeout_s,
        )
        return list(dict.fromkeys(d.channel_id for d in found.documents))


def _period_days(window: Window | None, now: datetime) -> Literal[1, 7, 30]:
    if window is None or window.since is None:
        return 1
    span = (window.until or now) - window.since
    if span <= timedelta(days=1, hours=12):
        return 1
    return 7 if span <= timedelta(days=10) else 30


def _json(model: GenerateDigest) -> dict[str, object]:
    return model.model_dump(mode="json")
