"""A dead letter as the DLQ sees it, and the entry a first failure becomes."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import headers as H
from contracts.envelope import Envelope
from contracts.v1.deadletter import DeadLetter
from services.dlq.domain.backoff import RetryPolicy
from services.dlq.domain.routing import DELIVERY_ID, stored_headers, unroutable_reason
from services.dlq.domain.states import Status, Transition, after_failure

_RUN_ID = re.compile(r"^\S{1,128}$")


@dataclass(frozen=True, slots=True)
class FailureReport:
    """One dead letter: the failed record and, when it was a retry we published, which entry
    and which delivery of it failed."""

    dead_letter_id: str
    tenant_id: str
    correlation_id: str | None
    letter: DeadLetter
    entry_id: str | None
    delivery_id: str | None

    @classmethod
    def from_envelope(cls, envelope: Envelope[Any]) -> FailureReport:
        """Read a validated ``deadletter.v1`` envelope. Malformed DLQ headers in the original
        are ignored, so such a letter becomes a new entry rather than being lost."""
        letter: DeadLetter = envelope.payload
        correlation = letter.headers.get(H.CORRELATION_ID)
        return cls(
            dead_letter_id=envelope.event_id,
            tenant_id=envelope.tenant_id,
            correlation_id=correlation if correlation and _RUN_ID.match(correlation) else None,
            letter=letter,
            entry_id=_uuid_or_none(letter.headers.get(H.DLQ_ENTRY_ID)),
            delivery_id=_uuid_or_none(letter.headers.get(DELIVERY_ID)),
        )

    def transition(
        self, failures: int, policy: RetryPolicy, prefix: str, rand: float
    ) -> Transition:
        """Where an entry goes when this letter is its ``failures``-th failure."""
        letter = self.letter
        unretryable = unroutable_reason(letter.original_topic, prefix)
        if unretryable is None and letter.payload_truncated:
            unretryable = "unretryable: the original was over 1 MiB and only its head was kept"
        return after_failure(
            category=letter.error_category,
            failures=failures,
            failed_at=letter.failed_at,
            policy=policy,
            rand=rand,
            unretryable=unretryable,
        )


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A row to insert for a first failure (the store ignores it if it already has it)."""

    id: str
    report: FailureReport
    headers: dict[str, str]
    attempt: int
    max_attempts: int
    deliveries: int
    status: Status
    status_reason: str | None
    next_retry_at: datetime | None
    created_at: datetime


def new_entry(
    report: FailureReport,
    *,
    entry_id: str,
    policy: RetryPolicy,
    prefix: str,
    rand: float,
    now: datetime,
) -> NewEntry:
    """The entry a dead letter opens: its first failure counted, its next step decided."""
    move = report.transition(1, policy, prefix, rand)
    return NewEntry(
        id=entry_id,
        report=report,
        headers=stored_headers(report.letter.headers),
        attempt=1,
        max_attempts=policy.max_attempts,
        deliveries=report.letter.attempt,
        status=move.status,
        status_reason=move.reason,
        next_retry_at=move.next_retry_at,
        created_at=now,
    )


def _uuid_or_none(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
