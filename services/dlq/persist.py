"""Waiting out an unavailable dependency instead of failing a consumed message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from services.dlq.errors import Transient

T = TypeVar("T")


async def until_stored(
    op: Callable[[], Awaitable[T]],
    log: Any,
    *,
    first_pause_s: float = 0.1,
    max_pause_s: float = 5.0,
) -> T:
    """Run ``op`` until it does not raise :class:`Transient`, backing off between tries.

    The dlq service must not dead-letter its own input: a dead letter of a dead letter would
    meet the same broken dependency and loop. So while Postgres (or Kafka, for an event that
    must accompany a change) is away, the consumer waits here, nothing is committed, ``/ready``
    says why, and the backlog stays in Kafka. Any other exception (a bug) propagates.
    """
    pause = first_pause_s
    while True:
        try:
            return await op()
        except Transient as exc:
            log.warning("dependency_unavailable_waiting", error=str(exc), retry_in_s=pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, max_pause_s)
