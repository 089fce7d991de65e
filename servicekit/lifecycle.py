"""Lifecycle events (run_started, run_completed, error, retry, quality_low) for episodic memory."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from contracts.envelope import Envelope, derived_event_id
from contracts.v1.lifecycle import LifecycleEvent
from servicekit.logging import get_logger
from servicekit.metrics import KitMetrics
from servicekit.publisher import Publisher

LifecycleKind = Literal["run_started", "run_completed", "error", "retry", "quality_low"]
TOPIC = "lifecycle.v1"
_log = get_logger(__name__)


class LifecyclePublisher:
    """Publishes lifecycle events for one service.

    When an event is caused by a consumed envelope, its id is derived from that envelope's id,
    the service and the kind, so a redelivered message re-emits the *same* lifecycle event and
    the memory service stores it once.
    """

    def __init__(self, publisher: Publisher, service: str, metrics: KitMetrics) -> None:
        self._publisher = publisher
        self._service = service
        self._metrics = metrics
        self._pending: set[asyncio.Task[None]] = set()

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
        """Publish one lifecycle event and return it. Raises what the broker raises."""
        event = LifecycleEvent(
            run_id=run_id,
            kind=kind,
            service=self._service,
            domain=domain,
            user_id=user_id,
            details=details or {},
        )
        event_id = None
        when = occurred_at
        if cause is not None:
            when = when or cause.occurred_at
            event_id = derived_event_id(when, cause.event_id, self._service, kind, *dedupe_parts)
        envelope = self._publisher.envelope(
            event,
            topic=TOPIC,
            tenant_id=tenant_id,
            correlation_id=cause.correlation_id if cause else run_id,
            causation=cause,
            event_id=event_id,
            occurred_at=when,
            idempotency_key=event_id,
        )
        await self._publisher.publish(envelope, key=f"{tenant_id}:{run_id}")
        self._metrics.lifecycle.labels(kind=kind).inc()
        return envelope

    def emit_soon(self, kind: LifecycleKind, **kwargs: Any) -> None:
        """Like :meth:`emit_quietly`, without waiting for the broker's acknowledgement: for
        traces of work already done, where an answer should not wait one more broker round
        trip. A failure is logged; :meth:`flush` (the kit calls it when the service stops,
        before the broker does) waits for those still on their way."""
        task = asyncio.create_task(self.emit_quietly(kind, **kwargs))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        """Wait for the events :meth:`emit_soon` has not yet seen acknowledged."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def emit_quietly(self, kind: LifecycleKind, **kwargs: Any) -> None:
        """Like :meth:`emit` but never raises: used on error paths where the primary action
        (dead-lettering) matters more than the trace of it."""
        try:
            await self.emit(kind, **kwargs)
        except Exception as exc:  # a broken lifecycle publish must not mask the original error
            _log.warning("lifecycle_publish_failed", kind=kind, error=repr(exc))
