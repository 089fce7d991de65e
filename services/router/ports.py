"""Ports of the router service: what the gateway and the fast path need from the world.

Adapters implement them over Postgres, Kafka request/reply and HTTP; unit tests pass
hand-written fakes. Every method that reads or writes tenant data takes the tenant and
filters by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from contracts.envelope import Envelope
from contracts.v1.digest import GenerateDigest
from contracts.v1.queries import QueryAnswered
from contracts.v1.retrieval import DocumentsRetrieved, RetrieveDocuments
from contracts.v1.trend import ReportTrends, TrendDetected
from servicekit.lifecycle import LifecycleKind
from servicekit.llm import Budget
from services.memory.schemas import EpisodeOut
from services.router.domain.model import Run, RunStatus, StoredKey, Turn
from services.router.routing import RouteContext, RouteDecision


class KeyStore(Protocol):
    """API keys by digest. Raises ``StoreUnavailable`` when the store does not answer."""

    async def find(self, digest: bytes) -> StoredKey | None:
        """The key with this SHA-256 digest, revoked or not; None when unknown."""
        ...

    async def create(
        self, key_id: str, digest: bytes, *, tenant_id: str, user_id: str, name: str
    ) -> StoredKey:
        """Store a new key; returns it as stored."""
        ...

    async def list(self, tenant_id: str | None = None) -> list[StoredKey]:
        """Keys (of one tenant, or all), oldest first."""
        ...

    async def revoke(self, key_id: str, when: datetime) -> bool:
        """Mark a key revoked; False when no such key (revoking twice keeps the first time)."""
        ...


class RunStore(Protocol):
    """Runs of one tenant at a time. Raises ``StoreUnavailable`` when it does not answer."""

    async def create(self, run: Run) -> None:
        """Insert ``run``; an existing run with the same tenant and id is left as it is."""
        ...

    async def get(self, tenant_id: str, run_id: str) -> Run | None:
        """The tenant's run with this id, or None."""
        ...

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
        """Move a run that is not finished yet to ``status``; False when the tenant has no
        such run or it already finished (a redelivered completion changes nothing)."""
        ...

    async def latest(
        self, tenant_id: str, user_id: str, kinds: Sequence[str], limit: int = 1
    ) -> list[Run]:
        """The user's newest runs of the given kinds, newest first."""
        ...


class TurnStore(Protocol):
    """Conversation turns. Raises ``StoreUnavailable`` when the store does not answer."""

    async def recent(self, tenant_id: str, user_id: str, since: datetime, limit: int) -> list[Turn]:
        """The user's turns created at or after ``since``, newest first, at most ``limit``."""
        ...

    async def add(self, turn: Turn) -> None:
        """Record one turn."""
        ...

    async def prune(self, before: datetime) -> int:
        """Delete turns created before ``before``; returns how many."""
        ...


class Retriever(Protocol):
    """The retrieval service, over request/reply."""

    async def retrieve(
        self,
        tenant_id: str,
        request: RetrieveDocuments,
        *,
        correlation_id: str,
        timeout_s: float,
    ) -> DocumentsRetrieved:
        """The tenant's documents for ``request``; raises ``RetrievalUnavailable`` when no
        valid reply came within ``timeout_s``."""
        ...


@dataclass(frozen=True)
class TrendReport:
    """What the trend service answered to one ``ReportTrends``."""

    request_id: str
    trends: list[TrendDetected] = field(default_factory=list)
    answer: QueryAnswered | None = None


class SmartPath(Protocol):
    """Commands for the digest and trend services."""

    async def request_digest(
        self, tenant_id: str, command: GenerateDigest, *, correlation_id: str
    ) -> None:
        """Publish ``digest.requested.v1``; raises ``DispatchFailed`` when Kafka refuses."""
        ...

    async def report_trends(
        self, tenant_id: str, command: ReportTrends, *, timeout_s: float
    ) -> TrendReport:
        """Ask the trend service and gather its replies (each current trend, at most
        ``command.limit``); raises ``ServiceTimeout`` when none came in time,
        ``DispatchFailed`` when the request could not be published."""
        ...


class EpisodeReader(Protocol):
    """Episodic memory (``services.memory.client.MemoryClient`` fits)."""

    async def timeline(
        self, tenant_id: str, run_id: str, *, limit: int = 1000
    ) -> list[EpisodeOut] | None:
        """A run's episodes, oldest first; None when memory did not answer. Never raises."""
        ...


class QueryRouter(Protocol):
    """The context router (``services.router.routing.ContextRouter`` fits)."""

    async def route(self, query: str, context: RouteContext, *, budget: Budget) -> RouteDecision:
        """Where ``query`` goes; never slower than its own deadline."""
        ...


class ManifestSource(Protocol):
    """Run manifests (owned by the digest service)."""

    async def manifest(self, tenant_id: str, run_id: str) -> dict[str, Any] | None:
        """The run's manifest, or None when there is none. Raises ``ServiceTimeout`` or
        ``DispatchFailed`` when the owner cannot be asked."""
        ...


class Lifecycle(Protocol):
    """Lifecycle events for episodic memory (``servicekit.lifecycle.LifecyclePublisher``)."""

    async def emit(
        self,
        kind: LifecycleKind,
        *,
        tenant_id: str,
        run_id: str,
        domain: str,
        details: dict[str, Any] | None = None,
        user_id: str | None = None,
        cause: Envelope[Any] | None = None,
        occurred_at: datetime | None = None,
        dedupe_parts: tuple[str, ...] = (),
    ) -> Envelope[Any]:
        """Publish one event; raises what the broker raises."""
        ...

    def emit_soon(self, kind: LifecycleKind, **kwargs: Any) -> None:
        """Publish one event without waiting for the broker; a failure is logged."""
        ...
