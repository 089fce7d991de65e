"""Hand-written fakes at the dlq service's ports, with the same semantics as the adapters."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from contracts.envelope import Envelope
from services.dlq.domain.backoff import RetryPolicy
from services.dlq.domain.intake import FailureReport, NewEntry
from services.dlq.domain.routing import unroutable_reason
from services.dlq.domain.states import ALLOWED_FROM, RESOLVABLE, Action, Status, Transition, refusal
from services.dlq.errors import StoreUnavailable
from services.dlq.ports import (
    ActionOutcome,
    BeforeCommit,
    Entry,
    EntryQuery,
    EntrySummary,
    Lease,
    RepeatOutcome,
    RepeatResult,
    Skipped,
    Stats,
)

_SUMMARY = {f.name for f in fields(EntrySummary)}


@dataclass
class Row:
    """One stored entry, mutable."""

    summary: EntrySummary
    key: bytes | None
    headers: dict[str, str]
    payload: bytes
    original_size: int | None
    payload_sha256: str | None
    created_at: datetime
    origin: tuple[str, int, int, str, int]
    lease_token: str | None = None

    def set(self, **changes: Any) -> None:
        self.summary = replace(self.summary, **changes)


@dataclass
class MemoryStore:
    """RetryStore and OperatorStore in memory. ``unavailable`` calls fail first."""

    rows: dict[str, Row] = field(default_factory=dict)
    unavailable: int = 0

    def _gate(self) -> None:
        if self.unavailable > 0:
            self.unavailable -= 1
            raise StoreUnavailable("fake: postgres away")

    # -- RetryStore ------------------------------------------------------------------------

    async def insert_new(
        self, entries: Sequence[NewEntry], before_commit: BeforeCommit
    ) -> list[EntrySummary]:
        self._gate()
        origins = {r.origin for r in self.rows.values()}
        added: dict[str, Row] = {}
        for e in entries:
            letter = e.report.letter
            origin = (
                letter.original_topic,
                letter.partition,
                letter.offset,
                letter.consumer_group,
                letter.attempt,
            )
            if origin in origins:
                continue
            origins.add(origin)
            added[e.id] = Row(
                summary=EntrySummary(
                    id=e.id,
                    status=e.status,
                    status_reason=e.status_reason,
                    original_topic=letter.original_topic,
                    original_partition=letter.partition,
                    original_offset=letter.offset,
                    error_category=letter.error_category,
                    error_class=letter.error_class,
                    error_message=letter.error_message,
                    service=letter.service,
                    consumer_group=letter.consumer_group,
                    tenant_id=e.report.tenant_id,
                    correlation_id=e.report.correlation_id,
                    attempt=e.attempt,
                    max_attempts=e.max_attempts,
                    deliveries=e.deliveries,
                    replays=0,
                    payload_truncated=letter.payload_truncated,
                    dead_letter_id=e.report.dead_letter_id,
                    first_failed_at=letter.failed_at,
                    last_failed_at=letter.failed_at,
                    next_retry_at=e.next_retry_at,
                    lease_owner=None,
                    lease_until=None,
                    published_at=None,
                    resolved_at=None,
                    updated_at=e.created_at,
                ),
                key=letter.original_key(),
                headers=dict(e.headers),
                payload=letter.original_payload(),
                original_size=letter.original_size,
                payload_sha256=letter.payload_sha256,
                created_at=e.created_at,
                origin=origin,
            )
        inserted = [r.summary for r in added.values()]
        await before_commit(inserted)  # raises → nothing was added
        self.rows.update(added)
        return inserted

    async def record_repeat_failure(
        self,
        report: FailureReport,
        decide: Callable[[int], Transition],
        now: datetime,
        before_commit: BeforeCommit,
    ) -> RepeatResult:
        self._gate()
        row = self.rows.get(report.entry_id or "")
        if row is None:
            return RepeatResult(RepeatOutcome.MISSING)
        s = row.summary
        if s.status is not Status.RETRYING or row.lease_token != report.delivery_id:
            return RepeatResult(RepeatOutcome.STALE)
        move = decide(s.attempt + 1)
        letter = report.letter
        after = replace(
            s,
            status=move.status,
            status_reason=move.reason,
            next_retry_at=move.next_retry_at,
            attempt=s.attempt + 1,
            deliveries=max(s.deliveries, letter.attempt),
            error_category=letter.error_category,
            error_class=letter.error_class,
            error_message=letter.error_message,
            last_failed_at=letter.failed_at,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        )
        await before_commit([after])
        row.summary = after
        return RepeatResult(RepeatOutcome.APPLIED, after)

    async def lease_due(
        self, *, owner: str, now: datetime, lease_s: float, limit: int, topic_prefix: str = ""
    ) -> list[Lease]:
        self._gate()
        due = sorted(
            (
                r
                for r in self.rows.values()
                if r.summary.next_retry_at
                and r.summary.next_retry_at <= now
                and r.summary.original_topic.startswith(topic_prefix)
            ),
            key=lambda r: r.summary.next_retry_at or now,
        )[:limit]
        leases = []
        for row in due:
            was = row.summary.status
            until = now + timedelta(seconds=lease_s)
            row.lease_token = str(uuid.uuid4())
            row.set(
                status=Status.RETRYING,
                lease_owner=owner,
                lease_until=until,
                next_retry_at=until,
                updated_at=now,
            )
            leases.append(
                Lease(
                    entry_id=row.summary.id,
                    token=row.lease_token,
                    topic=row.summary.original_topic,
                    key=row.key,
                    payload=row.payload,
                    headers=dict(row.headers),
                    group=row.summary.consumer_group,
                    delivery=row.summary.deliveries + 1,
                    taken_over=was is Status.RETRYING,
                )
            )
        return leases

    async def confirm_published(
        self, leases: Sequence[Lease], now: datetime
    ) -> tuple[set[str], set[str]]:
        self._gate()
        confirmed: set[str] = set()
        taken: set[str] = set()
        for lease in leases:
            row = self.rows.get(lease.entry_id)
            if row is None:
                continue
            if row.lease_token != lease.token:
                if row.summary.lease_owner is not None:
                    taken.add(lease.entry_id)
                continue
            s = row.summary
            row.set(
                deliveries=max(s.deliveries, lease.delivery),
                published_at=now,
                updated_at=now,
                lease_owner=None,
                lease_until=None,
                next_retry_at=None if s.status is Status.RETRYING else s.next_retry_at,
            )
            confirmed.add(lease.entry_id)
        return confirmed, taken

    async def release(self, lease: Lease, retry_at: datetime, now: datetime) -> bool:
        self._gate()
        row = self.rows.get(lease.entry_id)
        if row is None or row.lease_token != lease.token:
            return False
        if row.summary.status is not Status.RETRYING:
            return False
        row.lease_token = None
        row.set(
            status=Status.PENDING,
            next_retry_at=retry_at,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        )
        return True

    async def resolve(self, entry_ids: Sequence[str], now: datetime) -> list[EntrySummary]:
        self._gate()
        out = []
        for i in entry_ids:
            row = self.rows.get(i)
            if row is None or row.summary.status not in RESOLVABLE:
                continue
            row.set(
                status=Status.RESOLVED,
                resolved_at=now,
                status_reason=None,
                next_retry_at=None,
                lease_owner=None,
                lease_until=None,
                updated_at=now,
            )
            out.append(row.summary)
        return out

    async def stats(self, topic_prefix: str = "") -> Stats:
        self._gate()
        counts: dict[tuple[str, Status], int] = {}
        rows = [r for r in self.rows.values() if r.summary.original_topic.startswith(topic_prefix)]
        for r in rows:
            k = (r.summary.original_topic, r.summary.status)
            counts[k] = counts.get(k, 0) + 1
        open_ = [
            r.summary.first_failed_at
            for r in rows
            if r.summary.status in (Status.PENDING, Status.RETRYING)
        ]
        return Stats(counts=counts, oldest_open_failed_at=min(open_) if open_ else None)

    # -- OperatorStore ---------------------------------------------------------------------

    async def query(self, query: EntryQuery) -> list[EntrySummary]:
        self._gate()
        found = [r.summary for r in self.rows.values() if _matches(r.summary, query)]
        return sorted(found, key=lambda s: s.id, reverse=True)[: query.limit]

    async def get(self, entry_id: str) -> Entry | None:
        self._gate()
        row = self.rows.get(entry_id)
        if row is None:
            return None
        return Entry(
            summary=row.summary,
            key=row.key,
            headers=dict(row.headers),
            payload=row.payload,
            original_size=row.original_size,
            payload_sha256=row.payload_sha256,
            created_at=row.created_at,
        )

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
        self._gate()
        skipped: list[Skipped] = []
        if ids is not None:
            rows = [self.rows[i] for i in ids if i in self.rows]
            skipped = [Skipped(i, None, "no such entry") for i in ids if i not in self.rows]
        else:
            assert query is not None
            statuses = tuple(
                s for s in (query.statuses or tuple(Status)) if s in ALLOWED_FROM[action]
            )
            narrowed = replace(query, statuses=statuses)
            rows = (
                []
                if not statuses
                else sorted(
                    (r for r in self.rows.values() if _matches(r.summary, narrowed)),
                    key=lambda r: r.summary.id,
                    reverse=True,
                )[: query.limit]
            )
        changed = []
        for row in sorted(rows, key=lambda r: r.summary.id):
            s = row.summary
            leased = s.lease_owner is not None and s.lease_until is not None and s.lease_until > now
            why = refusal(
                action,
                s.status,
                leased=leased,
                truncated=s.payload_truncated,
                routable=unroutable_reason(s.original_topic, prefix) is None,
            )
            if why is not None:
                skipped.append(Skipped(s.id, s.status, why))
                continue
            row.lease_token = None
            common: dict[str, Any] = {
                "status_reason": reason,
                "lease_owner": None,
                "lease_until": None,
                "updated_at": now,
            }
            if action == "replay":
                row.set(
                    status=Status.PENDING,
                    attempt=0,
                    max_attempts=policy.max_attempts,
                    replays=s.replays + 1,
                    next_retry_at=now,
                    resolved_at=None,
                    **common,
                )
            elif action == "park":
                row.set(status=Status.PARKED, next_retry_at=None, **common)
            else:
                row.payload, row.key, row.headers = b"", None, {}
                row.set(status=Status.PURGED, next_retry_at=None, **common)
            changed.append(row.summary)
        return ActionOutcome(changed=changed, skipped=skipped)


def _matches(s: EntrySummary, q: EntryQuery) -> bool:
    checks = [
        s.original_topic.startswith(q.topic_prefix),
        not q.statuses or s.status in q.statuses,
        not q.topics or s.original_topic in q.topics,
        q.error_class is None or s.error_class == q.error_class,
        q.service is None or s.service == q.service,
        q.consumer_group is None or s.consumer_group == q.consumer_group,
        q.tenant_id is None or s.tenant_id == q.tenant_id,
        q.since is None or s.first_failed_at >= q.since,
        q.until is None or s.first_failed_at < q.until,
        q.before_id is None or s.id < q.before_id,
    ]
    return all(checks)


@dataclass
class FakePublisher:
    """Records publications; raises for entries listed in ``failing``."""

    sent: list[tuple[Lease, dict[str, str]]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)

    async def publish(self, lease: Lease, headers: dict[str, str]) -> None:
        if lease.entry_id in self.failing:
            raise ConnectionError("fake: broker away")
        self.sent.append((lease, headers))


@dataclass
class FakeEpisodes:
    """Records lifecycle events; the first ``failures`` calls raise."""

    permanent: list[tuple[EntrySummary, str]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0

    def _maybe_fail(self) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("fake: kafka away")

    async def permanent_failure(self, entry: EntrySummary, cause: Envelope[Any]) -> None:
        self._maybe_fail()
        self.permanent.append((entry, cause.event_id))

    async def operator_action(self, **kwargs: Any) -> None:
        self._maybe_fail()
        self.actions.append(kwargs)
