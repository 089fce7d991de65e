"""Request and response models of the operator API: closed, bounded, and named in 4xx errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from contracts.fields import SERVICE_PATTERN, TENANT_PATTERN
from services.dlq.domain.render import Rendered, render_bytes
from services.dlq.domain.routing import logical_topic
from services.dlq.domain.states import Status
from services.dlq.operator import ActionReport
from services.dlq.ports import Entry, EntrySummary

MAX_LIMIT: Final = 1000
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


def _sane_time(value: datetime | None) -> datetime | None:
    """Naive times are UTC; years outside 1970..9999 are refused rather than overflowing."""
    if value is None:
        return None
    when = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not 1970 <= when.year <= 9999:
        raise ValueError("time must fall within the years 1970..9999")
    return when


Topic = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,249}$")]
ErrorClass = Annotated[str, StringConstraints(max_length=256, pattern=_PRINTABLE)]
ServiceName = Annotated[str, StringConstraints(pattern=SERVICE_PATTERN)]
Group = Annotated[str, StringConstraints(max_length=255, pattern=_PRINTABLE)]
Tenant = Annotated[str, StringConstraints(pattern=TENANT_PATTERN)]
Time = Annotated[datetime | None, AfterValidator(_sane_time)]
Reason = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]
OperatorName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
ActionName = Literal["replay", "park", "purge"]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Filter(_Closed):
    """Entries to act on; every given field must match; at least one must be given."""

    status: list[Status] = Field(default_factory=list, max_length=6)
    topic: list[Topic] = Field(default_factory=list, max_length=50)
    error_class: ErrorClass | None = None
    service: ServiceName | None = None
    consumer_group: Group | None = None
    tenant: Tenant | None = None
    since: Time = None
    until: Time = None

    @model_validator(mode="after")
    def _checks(self) -> Self:
        given: tuple[object, ...] = (self.status, self.topic, self.error_class, self.service)
        given += (self.consumer_group, self.tenant, self.since, self.until)
        if not any(v not in (None, []) for v in given):
            raise ValueError("a filter needs at least one field (acting on everything is refused)")
        check_range(self.since, self.until)
        return self


class ActionBody(_Closed):
    """Why an operator acts on one entry."""

    reason: Reason = ""


class BulkActionBody(_Closed):
    """An action on up to 1000 entries, named by ``ids`` or matched by ``filter``."""

    ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=MAX_LIMIT)
    filter: Filter | None = None
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT)
    """With ``filter``: act on at most this many matching entries (newest first)."""
    reason: Reason = ""

    @model_validator(mode="after")
    def _one_selector(self) -> Self:
        if (self.ids is None) == (self.filter is None):
            raise ValueError("give exactly one of ids and filter")
        return self


class EntryOut(BaseModel):
    """One entry as listed."""

    id: str
    status: Status
    status_reason: str | None
    topic: str
    """The registered topic name (``original_topic`` without the deployment prefix)."""
    original_topic: str
    partition: int
    offset: int
    error_category: str
    error_class: str
    error_message: str
    service: str
    consumer_group: str
    tenant_id: str
    attempt: int
    max_attempts: int
    deliveries: int
    replays: int
    payload_truncated: bool
    first_failed_at: datetime
    last_failed_at: datetime
    next_retry_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    published_at: datetime | None
    resolved_at: datetime | None
    updated_at: datetime


class EntryDetail(EntryOut):
    """One entry with the original record: key, headers and payload rendered for reading."""

    dead_letter_id: str
    correlation_id: str | None
    key: dict[str, Any]
    headers: dict[str, str]
    payload: dict[str, Any]
    original_size: int | None
    payload_sha256: str | None
    created_at: datetime


class Page(BaseModel):
    """A page of entries; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[EntryOut]
    next_cursor: str | None


class SkippedOut(BaseModel):
    id: str
    status: Status | None
    reason: str


class ActionOut(BaseModel):
    """What an action changed, and the episode (lifecycle run) it was recorded as."""

    action: ActionName
    run_id: str
    changed: list[str]
    changed_count: int
    skipped: list[SkippedOut]
    episode_recorded: bool


class StatsOut(BaseModel):
    counts: dict[str, dict[str, int]]
    """topic → status → entries."""
    oldest_open_failed_at: datetime | None


def check_range(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise ValueError("since must be earlier than until")


def entry_out(e: EntrySummary, prefix: str) -> EntryOut:
    return EntryOut(
        id=e.id,
        status=e.status,
        status_reason=e.status_reason,
        topic=logical_topic(e.original_topic, prefix) or e.original_topic,
        original_topic=e.original_topic,
        partition=e.original_partition,
        offset=e.original_offset,
        error_category=e.error_category,
        error_class=e.error_class,
        error_message=e.error_message,
        service=e.service,
        consumer_group=e.consumer_group,
        tenant_id=e.tenant_id,
        attempt=e.attempt,
        max_attempts=e.max_attempts,
        deliveries=e.deliveries,
        replays=e.replays,
        payload_truncated=e.payload_truncated,
        first_failed_at=e.first_failed_at,
        last_failed_at=e.last_failed_at,
        next_retry_at=e.next_retry_at,
        lease_owner=e.lease_owner,
        lease_until=e.lease_until,
        published_at=e.published_at,
        resolved_at=e.resolved_at,
        updated_at=e.updated_at,
    )


def entry_detail(entry: Entry, prefix: str) -> EntryDetail:
    s = entry.summary
    key: Rendered = render_bytes(entry.key)
    payload: Rendered = render_bytes(entry.payload)
    return EntryDetail(
        **entry_out(s, prefix).model_dump(),
        dead_letter_id=s.dead_letter_id,
        correlation_id=s.correlation_id,
        key=dict(key),
        headers=entry.headers,
        payload=dict(payload),
        original_size=entry.original_size,
        payload_sha256=entry.payload_sha256,
        created_at=entry.created_at,
    )


def action_out(report: ActionReport) -> ActionOut:
    return ActionOut(
        action=report.action,
        run_id=report.run_id,
        changed=[e.id for e in report.changed],
        changed_count=len(report.changed),
        skipped=[SkippedOut(id=s.id, status=s.status, reason=s.reason) for s in report.skipped],
        episode_recorded=report.episode_recorded,
    )
