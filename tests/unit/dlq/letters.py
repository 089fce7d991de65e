"""Dead letters for dlq tests, built the way the runtime builds them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.envelope import Envelope, make_envelope
from contracts.v1.deadletter import DeadLetter
from servicekit.errors import InvalidMessage, RetryableError
from tests.helpers.kit import post_envelope, wire

POSTS = "posts.ingested.v1"
T0 = datetime(2024, 12, 4, 9, 0, tzinfo=UTC)


def dead_letter(
    *,
    prefix: str = "u.",
    topic: str = POSTS,
    partition: int = 0,
    offset: int = 0,
    category: str = "retryable",
    attempt: int = 1,
    group: str | None = None,
    failed_at: datetime = T0,
    headers: dict[str, str] | None = None,
    value: bytes | None = None,
    key: bytes | None = b"acme:naked_science",
    tenant: str = "acme",
    message_id: int = 1,
) -> Envelope[DeadLetter]:
    """A ``deadletter.v1`` envelope for a failed ``posts.ingested.v1`` record."""
    post_value, post_headers = wire(post_envelope(message_id, tenant=tenant))
    error: Exception = (
        InvalidMessage("refused by a rule") if category == "invalid" else RetryableError("down")
    )
    letter = DeadLetter.from_failure(
        original_topic=prefix + topic,
        partition=partition,
        offset=offset,
        key=key,
        value=post_value if value is None else value,
        headers={k: v.encode() for k, v in (post_headers if headers is None else headers).items()},
        error=error,
        error_category="invalid" if category == "invalid" else "retryable",
        service="probe",
        consumer_group=group or prefix + "probe",
        attempt=attempt,
        failed_at=failed_at,
    )
    return make_envelope(
        letter,
        event_type="deadletter",
        schema_version=1,
        producer="probe@0.1.0",
        tenant_id=tenant,
        occurred_at=failed_at,
    )


def retry_failed(
    headers: dict[str, str],
    *,
    prefix: str = "u.",
    offset: int,
    failed_at: datetime = T0,
    category: str = "retryable",
    **extra: Any,
) -> Envelope[DeadLetter]:
    """The dead letter of a retry that failed again: the retry's headers come back in it."""
    return dead_letter(
        prefix=prefix,
        offset=offset,
        attempt=int(headers["attempt"]),
        failed_at=failed_at,
        headers=headers,
        category=category,
        **extra,
    )
