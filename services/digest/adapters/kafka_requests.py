"""Scheduled ``digest.requested.v1`` over the kit's publisher."""

from __future__ import annotations

import asyncio
from datetime import datetime

from contracts.v1.digest import GenerateDigest
from servicekit.publisher import Publisher

TOPIC = "digest.requested.v1"


class KafkaDigestRequests:
    """:class:`~services.digest.ports.DigestRequests`: the envelope is fully determined by
    its arguments (event id, occurred_at, correlation id = run id, idempotency key
    ``digest:<run id>``), so a re-publication of a slot is the same message; keyed
    ``tenant:run_id`` like the router's requests, so copies land on one partition and the
    digest consumer handles them one after the other."""

    def __init__(self, publisher: Publisher, *, timeout_s: float) -> None:
        self._publisher = publisher
        self._timeout_s = timeout_s

    async def request(
        self, tenant_id: str, command: GenerateDigest, *, event_id: str, occurred_at: datetime
    ) -> None:
        envelope = self._publisher.envelope(
            command,
            topic=TOPIC,
            tenant_id=tenant_id,
            correlation_id=command.run_id,
            idempotency_key=f"digest:{command.run_id}",
            event_id=event_id,
            occurred_at=occurred_at,
        )
        async with asyncio.timeout(self._timeout_s):
            await self._publisher.publish(envelope, key=f"{tenant_id}:{command.run_id}")
