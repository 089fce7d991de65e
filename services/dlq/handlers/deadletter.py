"""Handler of ``deadletter.v1``."""

from __future__ import annotations

from typing import Any

from contracts.envelope import Envelope
from servicekit.consumer import BatchHandler, MessageContext
from services.dlq.intake import Intake


def make_handler(intake: Intake) -> BatchHandler:
    """Store the dead letters of one poll (validated by the runtime).

    Guarantees: each dead letter is stored once (redelivery is absorbed by the origin key);
    poison and unroutable letters are parked, retryable ones scheduled; a failure of one of
    our retries moves its entry on. Returns only when everything is stored, so the runtime
    commits the offsets after that; while Postgres is away it waits instead of raising.
    """

    async def handle(batch: list[tuple[Envelope[Any], MessageContext]]) -> None:
        await intake.accept([envelope for envelope, _ in batch])

    return handle
