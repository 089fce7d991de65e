"""Event-time ordering of posts that arrive over several Kafka partitions.

Each partition delivers in its own order (a producer appends in event-time order), but a
consumer interleaves partitions as fetches return, so during a fast replay a post can arrive
hours (of event time) after later posts of another partition. Clustering and the burst test
depend on order, so posts are held here and released in ``(date, post_id)`` order once the
*watermark* passed them: the smallest "latest date seen" over the partitions that are live.

A partition is live while it delivered within ``idle_after_s`` seconds of the monotonic clock;
an idle partition (no traffic) stops holding the watermark back, and with no live partition
everything held is released. Partitions the consumer is known to read (:meth:`expect`) hold
the watermark at the beginning of time until they first deliver or go idle, so a backlog
drained one partition at a time is still processed in order. The order of processing — and
so every trend — depends on event time only, as long as no partition with older posts waits
longer than ``idle_after_s`` to be fetched; the clock only decides *when* a quiet partition
is let go. The engine passes a clock that stands still while it is busy processing, so a
backlog drained batch by batch never makes a waiting partition look quiet.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Generic, TypeVar

T = TypeVar("T")
_BEGINNING: Final = datetime.min.replace(tzinfo=UTC)


@dataclass(order=True, slots=True)
class _Held(Generic[T]):
    date: datetime
    key: str
    item: T = field(compare=False)


class Reorderer(Generic[T]):
    """Holds items until the watermark passes them; keys are unique (repeats are dropped)."""

    def __init__(self, idle_after_s: float) -> None:
        self._idle_after_s = idle_after_s
        self._heap: list[_Held[T]] = []
        self._keys: set[str] = set()
        self._high: dict[int, datetime] = {}
        self._heard: dict[int, float] = {}
        self._waiting: set[int] = set()
        self._started = False

    def __len__(self) -> int:
        return len(self._heap)

    def expect(self, sources: Iterable[int], now: float) -> None:
        """Partitions this consumer reads: each holds the watermark until it delivers or has
        been quiet for ``idle_after_s`` from the first delivery of any partition (joining the
        consumer group takes a while and must not count as quiet)."""
        for source in sources:
            self._heard.setdefault(source, now)
            self._waiting.add(source)

    def heard(self, source: int | None, date: datetime, now: float) -> None:
        """Note that partition ``source`` delivered something dated ``date`` (held or not)."""
        if source is not None:
            if not self._started:
                self._started = True
                for waiting in self._waiting:
                    self._heard[waiting] = now
            self._waiting.discard(source)
            high = self._high.get(source)
            self._high[source] = date if high is None else max(high, date)
            self._heard[source] = now

    def offer(self, source: int | None, date: datetime, key: str, item: T, now: float) -> bool:
        """Hold ``item``; ``source`` is its partition (``None``: recovered, no partition).
        Returns ``False`` for a key already held."""
        self.heard(source, date, now)
        if key in self._keys:
            return False
        self._keys.add(key)
        heapq.heappush(self._heap, _Held(date, key, item))
        return True

    def watermark(self, now: float) -> datetime | None:
        """The smallest latest date over live partitions (the beginning of time while an
        expected partition has not delivered yet); ``None`` when none is live."""
        live = [
            self._high.get(source, _BEGINNING)
            for source, heard in self._heard.items()
            if now - heard <= self._idle_after_s
        ]
        return min(live) if live else None

    def release(self, now: float) -> list[T]:
        """Every held item at or before the watermark (all of them when no partition is
        live), in ``(date, key)`` order."""
        mark = self.watermark(now)
        out: list[T] = []
        while self._heap and (mark is None or self._heap[0].date <= mark):
            held = heapq.heappop(self._heap)
            self._keys.discard(held.key)
            out.append(held.item)
        return out
