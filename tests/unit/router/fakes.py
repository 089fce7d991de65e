"""Hand-written fakes at the router's ports, with the adapters' semantics (tenant filters,
terminal runs not updated, newest-first turns)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.v1.digest import GenerateDigest
from contracts.v1.retrieval import DocumentsRetrieved, RetrievedDocument, RetrieveDocuments
from contracts.v1.trend import ReportTrends
from servicekit.llm import Budget
from services.memory.schemas import EpisodeOut
from services.router.domain.model import TERMINAL, Run, RunStatus, StoredKey, Turn
from services.router.errors import RetrievalUnavailable, ServiceTimeout, StoreUnavailable
from services.router.ports import TrendReport
from services.router.routing import RouteContext, RouteDecision, TimeWindow

T0 = datetime(2024, 12, 4, 12, 0, tzinfo=UTC)


def doc(
    n: int,
    text: str,
    *,
    tenant: str = "acme",
    channel: str = "-1001000724666",
    title: str | None = "Naked Science",
    permalink: str | None = None,
) -> RetrievedDocument:
    """A retrieved post ``tenant:channel:n``."""
    return RetrievedDocument(
        post_id=f"{tenant}:{channel}:{n}",
        channel_id=channel,
        channel_title=title,
        message_id=n,
        date=T0 - timedelta(hours=n),
        text=text,
        score=1.0 / n,
        legs=["dense", "sparse"],
        permalink=permalink,
    )


class FakeKeys:
    """KeyStore in memory."""

    def __init__(self) -> None:
        self.rows: dict[bytes, StoredKey] = {}
        self.finds = 0
        self.down = False

    async def find(self, digest: bytes) -> StoredKey | None:
        self.finds += 1
        if self.down:
            raise StoreUnavailable("postgres did not answer (find key)")
        return self.rows.get(digest)

    async def create(
        self, key_id: str, digest: bytes, *, tenant_id: str, user_id: str, name: str
    ) -> StoredKey:
        key = StoredKey(key_id, tenant_id, user_id, name, T0)
        self.rows[digest] = key
        return key

    async def list(self, tenant_id: str | None = None) -> list[StoredKey]:
        return [k for k in self.rows.values() if tenant_id in (None, k.tenant_id)]

    async def revoke(self, key_id: str, when: datetime) -> bool:
        for digest, key in self.rows.items():
            if key.key_id == key_id:
                self.rows[digest] = replace(key, revoked_at=key.revoked_at or when)
                return True
        return False


class FakeRuns:
    """RunStore in memory."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Run] = {}

    async def create(self, run: Run) -> None:
        self.rows.setdefault((run.tenant_id, run.run_id), run)

    async def get(self, tenant_id: str, run_id: str) -> Run | None:
        return self.rows.get((tenant_id, run_id))

    async def update(
        self,
        tenant_id: str,
        run_id: str,
        status: RunStatus,
        *,
        when: datetime,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        run = self.rows.get((tenant_id, run_id))
        if run is None or run.status in TERMINAL:
            return False
        self.rows[(tenant_id, run_id)] = replace(
            run,
            status=status,
            updated_at=when,
            completed_at=when if status in TERMINAL else run.completed_at,
            result=result if result is not None else run.result,
            error=error or run.error,
        )
        return True

    async def latest(
        self, tenant_id: str, user_id: str, kinds: Sequence[str], limit: int = 1
    ) -> list[Run]:
        mine = [
            r
            for r in self.rows.values()
            if r.tenant_id == tenant_id and r.user_id == user_id and r.kind in kinds
        ]
        return sorted(mine, key=lambda r: r.created_at, reverse=True)[:limit]


class FakeTurns:
    """TurnStore in memory."""

    def __init__(self) -> None:
        self.rows: list[Turn] = []
        self.down = False

    async def recent(self, tenant_id: str, user_id: str, since: datetime, limit: int) -> list[Turn]:
        if self.down:
            raise StoreUnavailable("postgres did not answer (recent turns)")
        mine = [
            t
            for t in self.rows
            if t.tenant_id == tenant_id and t.user_id == user_id and t.created_at >= since
        ]
        return sorted(mine, key=lambda t: t.created_at, reverse=True)[:limit]

    async def add(self, turn: Turn) -> None:
        if self.down:
            raise StoreUnavailable("postgres did not answer (add turn)")
        self.rows.append(turn)

    async def prune(self, before: datetime) -> int:
        kept = [t for t in self.rows if t.created_at >= before]
        removed = len(self.rows) - len(kept)
        self.rows = kept
        return removed


@dataclass
class FakeRetriever:
    """Retriever answering from per-tenant documents; records every request."""

    docs: dict[str, list[RetrievedDocument]] = field(default_factory=dict)
    requests: list[tuple[str, RetrieveDocuments]] = field(default_factory=list)
    down: bool = False
    degraded_legs: list[str] = field(default_factory=list)

    async def retrieve(
        self,
        tenant_id: str,
        request: RetrieveDocuments,
        *,
        correlation_id: str,
        timeout_s: float,
    ) -> DocumentsRetrieved:
        self.requests.append((tenant_id, request))
        if self.down:
            raise RetrievalUnavailable(f"no reply within {timeout_s} s")
        found = self.docs.get(tenant_id, [])
        return DocumentsRetrieved(
            request_id=request.request_id,
            documents=found[: request.top_k],
            legs_run=["dense", "sparse"],
            degraded_legs=self.degraded_legs,
            cache_hit=False,
            took_ms=3,
        )


@dataclass
class FakeSmart:
    """SmartPath that records commands; trend reports time out unless given."""

    digests: list[tuple[str, GenerateDigest]] = field(default_factory=list)
    trends: list[tuple[str, ReportTrends]] = field(default_factory=list)
    report: TrendReport | None = None

    async def request_digest(
        self, tenant_id: str, command: GenerateDigest, *, correlation_id: str
    ) -> None:
        self.digests.append((tenant_id, command))

    async def report_trends(
        self, tenant_id: str, command: ReportTrends, *, timeout_s: float
    ) -> TrendReport:
        self.trends.append((tenant_id, command))
        if self.report is None:
            raise ServiceTimeout(f"the trend service did not answer within {timeout_s:g} s")
        return self.report


@dataclass
class FakeRouter:
    """QueryRouter deciding by the first matching keyword; records its contexts."""

    rules: dict[str, str] = field(
        default_factory=lambda: {
            "что с моим": "memory",
            "дайджест": "digest",
            "digest": "digest",
            "тренд": "trend",
            "помощь": "help",
            "анекдот": "unsupported",
        }
    )
    window: TimeWindow | None = None
    contexts: list[RouteContext] = field(default_factory=list)
    delay_s: float = 0.0
    charge_step: bool = False

    async def route(self, query: str, context: RouteContext, *, budget: Budget) -> RouteDecision:
        self.contexts.append(context)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        route = next((r for k, r in self.rules.items() if k in query.lower()), "qa")
        followup = query.lower().startswith("а ")
        if followup and context.previous_route:
            route = context.previous_route
        return RouteDecision(
            route=route,  # type: ignore[arg-type]
            confidence=0.9,
            stage="heuristic",
            window=self.window or (context.previous_window if followup else None),
            followup=followup,
            language="en" if query.isascii() else "ru",
            escalated=False,
            latency_ms=0.1,
        )


@dataclass
class FakeEpisodes:
    """EpisodeReader with fixed timelines."""

    timelines: dict[tuple[str, str], list[EpisodeOut]] = field(default_factory=dict)

    async def timeline(
        self, tenant_id: str, run_id: str, *, limit: int = 1000
    ) -> list[EpisodeOut] | None:
        return self.timelines.get((tenant_id, run_id), [])[:limit]
