"""The minimal behaviour of a handler whose domain logic has not arrived yet: log the
validated event and leave a trace in episodic memory."""

from __future__ import annotations

from typing import Any

from contracts.envelope import Envelope
from servicekit.consumer import MessageContext
from servicekit.lifecycle import LifecyclePublisher


async def record_receipt(
    lifecycle: LifecyclePublisher,
    envelope: Envelope[Any],
    ctx: MessageContext,
    *,
    domain: str,
) -> None:
    """Log the event and publish a ``run_completed`` lifecycle event caused by it."""
    ctx.log.info("event_received", event_type=envelope.event_type, domain=domain)
    await lifecycle.emit(
        "run_completed",
        tenant_id=envelope.tenant_id,
        run_id=envelope.correlation_id,
        domain=domain,
        details={"event_type": envelope.event_type, "stage": "received"},
        cause=envelope,
    )
