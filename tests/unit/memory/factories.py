"""Lifecycle envelopes and episodes for memory tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.envelope import Envelope, make_envelope, new_event_id
from contracts.v1.lifecycle import LifecycleEvent, LifecycleKind
from services.memory.domain.episode import Episode, from_envelope

T0 = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def lifecycle(
    *,
    tenant: str = "acme",
    run_id: str = "run-1",
    kind: LifecycleKind = "run_started",
    service: str = "digest",
    domain: str = "digest",
    at: datetime = T0,
    details: dict[str, Any] | None = None,
    user_id: str | None = None,
    event_id: str | None = None,
) -> Envelope[LifecycleEvent]:
    """A valid ``lifecycle.v1`` envelope."""
    event = LifecycleEvent(
        run_id=run_id,
        kind=kind,
        service=service,
        domain=domain,
        user_id=user_id,
        details=details or {},
    )
    return make_envelope(
        event,
        event_type="lifecycle",
        schema_version=1,
        producer=f"{service}@0.1.0",
        tenant_id=tenant,
        correlation_id=run_id,
        event_id=event_id or new_event_id(),
        occurred_at=at,
    )


def episode(**kwargs: Any) -> Episode:
    """An episode as the handler would build it from :func:`lifecycle`."""
    return from_envelope(lifecycle(**kwargs))


def spread(
    n: int, *, tenant: str = "acme", start: datetime = T0, step: timedelta = timedelta(minutes=1)
) -> list[Episode]:
    """``n`` episodes of ``tenant`` one ``step`` apart, over runs of four, all kinds used."""
    kinds: list[LifecycleKind] = ["run_started", "retry", "quality_low", "run_completed"]
    return [
        episode(
            tenant=tenant,
            run_id=f"run-{i // 4}",
            kind=kinds[i % 4],
            service="digest" if i % 2 else "router",
            at=start + step * i,
        )
        for i in range(n)
    ]
