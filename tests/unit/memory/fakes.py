"""Hand-written fakes at the memory service's ports (same contracts as the Postgres ones)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from services.memory.domain.episode import Episode, EpisodeFilter, StoredEpisode
from services.memory.domain.partitions import DEFAULT_PARTITION, Month
from services.memory.errors import StoreUnavailable


class FakeEpisodes:
    """An in-memory :class:`~services.memory.ports.EpisodeStore`."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, datetime], StoredEpisode] = {}
        self.add_calls: list[list[Episode]] = []
        self.failure: Exception | None = None
        self.unavailable = False

    async def add(self, episodes: Sequence[Episode]) -> list[Episode]:
        self.add_calls.append(list(episodes))
        if self.failure is not None:
            raise self.failure
        new: list[Episode] = []
        for e in episodes:
            if e.key not in self.rows:
                self.rows[e.key] = StoredEpisode(**asdict(e), recorded_at=datetime.now(UTC))
                new.append(e)
        return new

    async def find(self, query: EpisodeFilter) -> list[StoredEpisode]:
        if self.unavailable:
            raise StoreUnavailable("fake store is down")
        q = query
        hits = [
            e
            for e in self.rows.values()
            if e.tenant_id == q.tenant_id
            and (q.run_id is None or e.run_id == q.run_id)
            and (q.kind is None or e.kind == q.kind)
            and (q.service is None or e.service == q.service)
            and (q.since is None or e.occurred_at >= q.since)
            and (q.until is None or e.occurred_at < q.until)
        ]
        newest = q.order == "newest"
        hits.sort(key=lambda e: (e.occurred_at, e.event_id), reverse=newest)
        if q.after is not None:
            pos = (q.after.occurred_at, q.after.event_id)
            if newest:
                hits = [e for e in hits if (e.occurred_at, e.event_id) < pos]
            else:
                hits = [e for e in hits if (e.occurred_at, e.event_id) > pos]
        return hits[: q.limit]


class FakePartitions:
    """An in-memory :class:`~services.memory.ports.PartitionStore` over a :class:`FakeEpisodes`:
    a row belongs to its month's partition if that exists, else to the default one."""

    def __init__(self, episodes: FakeEpisodes, months: Sequence[Month] = ()) -> None:
        self._episodes = episodes
        self.have: set[Month] = set(months)
        self.trim_batches: list[int] = []

    async def months(self) -> list[Month]:
        return sorted(self.have)

    async def create(self, month: Month) -> int:
        if month in self.have:
            return 0
        self.have.add(month)
        return sum(1 for e in self._episodes.rows.values() if Month.of(e.occurred_at) == month)

    async def drop(self, month: Month) -> None:
        if month not in self.have:
            return
        self.have.discard(month)
        rows = self._episodes.rows
        for key in [k for k, e in rows.items() if Month.of(e.occurred_at) == month]:
            del rows[key]

    async def trim(self, table: str, cutoff: datetime, batch: int) -> int:
        rows = self._episodes.rows
        doomed = [k for k, e in rows.items() if self._table(e) == table and e.occurred_at < cutoff]
        for key in doomed:
            del rows[key]
        self.trim_batches.append(-(-len(doomed) // batch) if doomed else 0)
        return len(doomed)

    def _table(self, e: Episode) -> str:
        month = Month.of(e.occurred_at)
        return month.table if month in self.have else DEFAULT_PARTITION
