"""Ports of the memory service: what its handlers, API and retention job need from storage.

``adapters/`` implements them on Postgres; unit tests use hand-written fakes. Every read
takes the tenant and must filter by it: an implementation that can return another tenant's
episode is a security bug.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from services.memory.domain.episode import Episode, EpisodeFilter, StoredEpisode
from services.memory.domain.partitions import Month


class EpisodeWriter(Protocol):
    """Idempotent storage of episodes."""

    async def add(self, episodes: Sequence[Episode]) -> list[Episode]:
        """Store, in one statement, the episodes whose key is not stored yet; return those
        newly stored (repeats within ``episodes`` count once). Storing the same episodes again
        returns []. Raises :class:`~services.memory.errors.EpisodeRefused` when the store
        refuses the data, and anything else when the store is unavailable (nothing is stored
        then: the statement is atomic)."""
        ...


class EpisodeReader(Protocol):
    """Reads of one tenant's episodes."""

    async def find(self, query: EpisodeFilter) -> list[StoredEpisode]:
        """At most ``query.limit`` episodes of ``query.tenant_id`` matching every given filter,
        ordered by ``(occurred_at, event_id)`` — descending for ``order="newest"``, ascending
        for ``"oldest"`` — and strictly after ``query.after`` in that order. Raises
        :class:`~services.memory.errors.StoreUnavailable` when the store cannot answer."""
        ...


class EpisodeStore(EpisodeWriter, EpisodeReader, Protocol):
    """Both sides of the episode table."""


class PartitionStore(Protocol):
    """Monthly partitions of the episode table. Every change is serialised across replicas."""

    async def months(self) -> list[Month]:
        """The months that have a partition, ascending."""
        ...

    async def create(self, month: Month) -> int:
        """Create the partition of ``month`` (no-op if it exists), moving its rows out of the
        default partition; return how many rows moved."""
        ...

    async def drop(self, month: Month) -> None:
        """Drop the partition of ``month`` with all its rows (no-op if it is gone)."""
        ...

    async def trim(self, table: str, cutoff: datetime, batch: int) -> int:
        """Delete the rows of partition ``table`` that occurred before ``cutoff``, at most
        ``batch`` per statement (short locks); return how many were deleted."""
        ...
