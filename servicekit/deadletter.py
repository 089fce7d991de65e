"""Sending a message that cannot be processed to ``deadletter.v1``, with its full context."""

from __future__ import annotations

from typing import Any

from contracts import headers as H
from contracts.envelope import Envelope
from contracts.v1.deadletter import DeadLetter
from servicekit.clock import Clock
from servicekit.errors import error_category
from servicekit.publisher import Publisher

TOPIC = "deadletter.v1"
UNKNOWN_TENANT = "unknown"


class DeadLetterSender:
    """Builds a :class:`DeadLetter` around the original bytes and publishes it.

    The original payload, key and headers travel whole, so the DLQ service can re-publish the
    message exactly as it was; the failure context also travels as headers for tools that
    read the dead-letter topic without parsing.
    """

    def __init__(self, publisher: Publisher, service: str, group: str, clock: Clock) -> None:
        self._publisher = publisher
        self._service = service
        self._group = group
        self._clock = clock

    async def send(
        self,
        *,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        headers: dict[str, str],
        value: bytes,
        error: BaseException,
        attempt: int,
        envelope: Envelope[Any] | None,
    ) -> Envelope[Any]:
        """Publish the dead letter; raises if the broker does not acknowledge it."""
        category = error_category(error)
        letter = DeadLetter.from_failure(
            original_topic=topic,
            partition=partition,
            offset=offset,
            key=key,
            value=value,
            headers={k: v.encode() for k, v in headers.items()},
            error=error,
            error_category=category,
            service=self._service,
            consumer_group=self._group,
            attempt=attempt,
            failed_at=self._clock.now(),
        )
        message = letter.error_message
        tenant = envelope.tenant_id if envelope else headers.get(H.TENANT_ID, UNKNOWN_TENANT)
        out = self._publisher.envelope(
            letter,
            topic=TOPIC,
            tenant_id=_safe_tenant(tenant),
            correlation_id=envelope.correlation_id if envelope else None,
            causation=envelope,
            idempotency_key=f"{topic}:{partition}:{offset}:{self._group}:{attempt}",
        )
        context = {
            H.DLQ_ORIGINAL_TOPIC: topic,
            H.DLQ_ORIGINAL_PARTITION: str(partition),
            H.DLQ_ORIGINAL_OFFSET: str(offset),
            H.DLQ_ERROR_CATEGORY: category,
            H.DLQ_ERROR_CLASS: letter.error_class,
            H.DLQ_ERROR_MESSAGE: message[:500],
            H.DLQ_SERVICE: self._service,
            H.DLQ_CONSUMER_GROUP: self._group,
            H.ATTEMPT: str(attempt),
        }
        await self._publisher.publish(out, key=key, headers=context)
        return out


def _safe_tenant(value: str) -> str:
    """A header-supplied tenant may be garbage; keep the dead letter publishable."""
    ok = value and len(value) <= 64 and all(c.isalnum() or c in "_.-" for c in value)
    return value if ok and value[0].isalnum() else UNKNOWN_TENANT
