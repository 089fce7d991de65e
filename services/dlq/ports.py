"""What the dlq service needs from the outside: the entry store, a publisher, episodes.

Every store method raises :class:`~services.dlq.errors.StoreUnavailable` when Postgres does
not answer; nothing else is expected from an adapter except bugs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from contracts.envelope import Envelope
from services.dlq.domain.backoff import RetryPolicy
from services.dlq.domain.intake import FailureReport, NewEntry
from services.dlq.domain.states import Action, Status, Transition


@dataclass(frozen=True, slots=True)
class EntrySummary:
    """An entry without its bytes: what lists show and what callbacks receive."""

    id: str
    status: Status
    status_reason: str | None
    original_topic: str
    original_partition: int
    original_offset: int
    error_category: str
    error_class: str
    error_message: str
    service: str
    consumer_group: str
    tenant_id: str
    correlation_id: str | None
    attempt: int
    max_attempts: int
    deliveries: int
    replays: int
    payload_truncated: bool
    dead_letter_id: str
    first_failed_at: datetime
    last_failed_at: datetime
    next_retry_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    published_at: datetime | None
    resolved_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry with the original record's bytes."""

    summary: EntrySummary
    key: bytes | None
    headers: dict[str, str]
    payload: bytes
    original_size: int | None
    payload_sha256: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Lease:
    """One entry leased for re-publication by one scheduler."""

    entry_id: str
    token: str
    """Unique per lease; travels as the delivery id of this publication."""
    topic: str
    key: bytes | None
    payload: bytes
    headers: dict[str, str]
    group: str
    delivery: int
    """The ``attempt`` header of this publication (deliveries so far + 1)."""
    taken_over: bool
    """True when an earlier lease of this entry expired unconfirmed (its owner died or hung)."""


class RepeatOutcome(StrEnum):
    """What a failure of a retry did to its entry."""

    APPLIED = "applied"
    """It was the failure of the delivery the entry waited for: counted, entry moved on."""
    STALE = "stale"
    """A duplicate, or the failure of a delivery the entry no longer waits for: ignored."""
    MISSING = "missing"
    """No such entry (another database, or deleted): the caller stores it as new."""


@dataclass(frozen=True, slots=True)
class RepeatResult:
    """The outcome of :meth:`RetryStore.record_repeat_failure`, with the entry after it."""

    outcome: RepeatOutcome
    entry: EntrySummary | None = None


@dataclass(frozen=True, slots=True)
class EntryQuery:
    """Operator filters; every given field must match. Newest first, ``before_id`` pages."""

    statuses: tuple[Status, ...] = ()
    topics: tuple[str, ...] = ()
    """Physical topic names (a logical name is expanded by the caller)."""
    error_class: str | None = None
    service: str | None = None
    consumer_group: str | None = None
    tenant_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    """``first_failed_at`` in ``[since, until)``."""
    topic_prefix: str = ""
    """Only entries whose original topic starts with this (one deployment's)."""
    limit: int = 50
    before_id: str | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry an action did not apply to, and why."""

    id: str
    status: Status | None
    reason: str


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What an operator action changed."""

    changed: list[EntrySummary] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Stats:
    """Entries by (physical topic, status), and the first failure of the oldest open one."""

    counts: dict[tuple[str, Status], int]
    oldest_open_failed_at: datetime | None


BeforeCommit = Callable[[Sequence[EntrySummary]], Awaitable[None]]
"""Runs inside the store's transaction with the entries just changed; if it raises, the
change is rolled back. Used to publish an event that must not be lost or invented."""


class RetryStore(Protocol):
    """The schedule: intake, leases, outcomes. Safe to share between replicas."""

    async def insert_new(
        self, entries: Sequence[NewEntry], before_commit: BeforeCommit
    ) -> list[EntrySummary]:
        """Insert the entries whose origin (topic, partition, offset, group, attempt) is not
        stored yet, and return those inserted; the others are duplicates and left alone."""
        ...

    async def record_repeat_failure(
        self,
        report: FailureReport,
        decide: Callable[[int], Transition],
        now: datetime,
        before_commit: BeforeCommit,
    ) -> RepeatResult:
        """Count the failure of a retry against ``report.entry_id`` if the entry is
        ``retrying`` and waits for exactly this delivery (``report.delivery_id``); ``decide``
        receives the failures of the current budget, this one included."""
        ...

    async def lease_due(
        self, *, owner: str, now: datetime, lease_s: float, limit: int, topic_prefix: str = ""
    ) -> list[Lease]:
        """Lease up to ``limit`` entries due at ``now`` (pending retries and expired leases),
        earliest first, marking them ``retrying``. Two callers never get the same entry while
        its lease runs (``FOR UPDATE SKIP LOCKED`` and a conditional update). Only entries of
        this deployment qualify: those whose original topic starts with ``topic_prefix``."""
        ...

    async def confirm_published(
        self, leases: Sequence[Lease], now: datetime
    ) -> tuple[set[str], set[str]]:
        """End the leases whose publication the broker acknowledged: the entries wait for the
        outcome. Returns (confirmed ids, ids whose lease had been taken by another owner)."""
        ...

    async def release(self, lease: Lease, retry_at: datetime, now: datetime) -> bool:
        """Give a lease back after a failed publish: pending again at ``retry_at``, no attempt
        counted. False if the lease was no longer held."""
        ...

    async def resolve(self, entry_ids: Sequence[str], now: datetime) -> list[EntrySummary]:
        """Mark resolved those of ``entry_ids`` that are open, parked or failed; return them."""
        ...

    async def stats(self, topic_prefix: str = "") -> Stats:
        """Counts by topic and status, and the age anchor of the oldest open entry, over the
        entries whose original topic starts with ``topic_prefix``."""
        ...


class OperatorStore(Protocol):
    """Reads and operator actions."""

    async def query(self, query: EntryQuery) -> list[EntrySummary]:
        """Entries matching ``query``, newest first, at most ``query.limit``."""
        ...

    async def get(self, entry_id: str) -> Entry | None:
        """One entry with its bytes, or None."""
        ...

    async def apply(
        self,
        action: Action,
        *,
        ids: Sequence[str] | None = None,
        query: EntryQuery | None = None,
        now: datetime,
        policy: RetryPolicy,
        prefix: str,
        reason: str,
    ) -> ActionOutcome:
        """Apply ``action`` to the entries named by ``ids``, or to up to ``query.limit``
        entries matching ``query`` that the action applies to. Entries it does not apply to
        (state, a running lease, a truncated payload) are skipped with the reason."""
        ...

    async def stats(self, topic_prefix: str = "") -> Stats:
        """Same as :meth:`RetryStore.stats`."""
        ...


class RetryPublisher(Protocol):
    """Publishes a retry to the original topic."""

    async def publish(self, lease: Lease, headers: dict[str, str]) -> None:
        """Return once the broker acknowledged it; raise on failure or timeout."""
        ...


class Episodes(Protocol):
    """Lifecycle events the dlq service emits (episodic memory records them)."""

    async def permanent_failure(self, entry: EntrySummary, cause: Envelope[Any]) -> None:
        """A lifecycle ``error``: the entry used up its attempts. Its id derives from the
        entry, so emitting it twice stores it once. Raises what the broker raises."""
        ...

    async def operator_action(
        self,
        *,
        action: str,
        run_id: str,
        tenant_id: str,
        operator: str,
        reason: str,
        ids: Sequence[str],
        skipped: int,
    ) -> None:
        """A lifecycle ``run_completed`` in domain ``dlq-operator`` naming the action and ids.
        Raises what the broker raises."""
        ...
