"""Episodes: what memory stores about one lifecycle event, and the rules for storing it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal, get_args

from contracts.envelope import Envelope
from contracts.v1.lifecycle import LifecycleEvent, LifecycleKind

KINDS: Final[tuple[str, ...]] = get_args(LifecycleKind)
MAX_PAGE: Final = 1000
"""Hard cap of rows one read returns; more need the cursor."""
DEFAULT_PAGE: Final = 100


@dataclass(frozen=True)
class Episode:
    """One lifecycle event as memory stores it; ``(event_id, occurred_at)`` identifies it."""

    event_id: str
    tenant_id: str
    run_id: str
    kind: LifecycleKind
    service: str
    domain: str
    user_id: str | None
    details: Mapping[str, Any]
    occurred_at: datetime

    @property
    def key(self) -> tuple[str, datetime]:
        """The idempotency key (see the migration for why it includes ``occurred_at``)."""
        return (self.event_id, self.occurred_at)


@dataclass(frozen=True)
class StoredEpisode(Episode):
    """An episode read back, with when memory recorded it."""

    recorded_at: datetime = field(kw_only=True)


@dataclass(frozen=True)
class Cursor:
    """A position in a listing: the last row returned, by its sort key."""

    occurred_at: datetime
    event_id: str


@dataclass(frozen=True)
class EpisodeFilter:
    """A read of one tenant's episodes. ``since`` is inclusive, ``until`` exclusive."""

    tenant_id: str
    run_id: str | None = None
    kind: LifecycleKind | None = None
    service: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: Cursor | None = None
    limit: int = DEFAULT_PAGE
    order: Literal["newest", "oldest"] = "newest"

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE + 1:  # +1: the store is asked one extra row
            raise ValueError(f"limit must be within 1..{MAX_PAGE}")


class UnstorableEpisode(ValueError):
    """The event is valid by its contract but Postgres cannot hold it (a NUL character)."""


def from_envelope(envelope: Envelope[LifecycleEvent]) -> Episode:
    """The episode of a validated ``lifecycle.v1`` envelope.

    Raises :class:`UnstorableEpisode` when a text or ``details`` holds a NUL character:
    Postgres ``text`` and ``jsonb`` refuse it, so retrying could never succeed.
    """
    event = envelope.payload
    episode = Episode(
        event_id=envelope.event_id,
        tenant_id=envelope.tenant_id,
        run_id=event.run_id,
        kind=event.kind,
        service=event.service,
        domain=event.domain,
        user_id=event.user_id,
        details=event.details,
        occurred_at=envelope.occurred_at,
    )
    texts = [episode.run_id, episode.domain, episode.user_id or ""]
    if any("\x00" in t for t in texts) or _has_nul(episode.details):
        raise UnstorableEpisode(f"lifecycle event {episode.event_id} holds a NUL character")
    return episode


def unique(episodes: Iterable[Episode]) -> list[Episode]:
    """The episodes with repeats of a key removed, first occurrence kept, order preserved."""
    seen: set[tuple[str, datetime]] = set()
    out: list[Episode] = []
    for episode in episodes:
        if episode.key not in seen:
            seen.add(episode.key)
            out.append(episode)
    return out


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Episodes that occurred before this instant are past retention."""
    return now - timedelta(days=retention_days)


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
