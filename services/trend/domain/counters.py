"""Time-bucketed counters: counts and weights per fixed bucket of event time.

A bucket is ``floor(epoch seconds / bucket_s)``. Windows are half-open ranges of buckets, so
the window ending at bucket ``b`` with ``w`` buckets is ``[b - w + 1, b]`` and the baseline
before it is ``[b - w - k + 1, b - w]`` — disjoint by construction: the baseline never
contains the window it is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


def bucket_of(when: datetime, bucket_s: int) -> int:
    """The bucket index of an aware datetime."""
    return int(when.timestamp()) // bucket_s


def bucket_start(bucket: int, bucket_s: int) -> datetime:
    """When bucket ``bucket`` starts (UTC)."""
    return datetime.fromtimestamp(bucket * bucket_s, UTC)


@dataclass(slots=True)
class BucketSeries:
    """Count and weight per bucket; sparse (only non-empty buckets are stored)."""

    counts: dict[int, int] = field(default_factory=dict)
    weights: dict[int, float] = field(default_factory=dict)

    def add(self, bucket: int, count: int = 1, weight: float = 1.0) -> None:
        """Add ``count`` events of total ``weight`` to ``bucket``."""
        self.counts[bucket] = self.counts.get(bucket, 0) + count
        self.weights[bucket] = self.weights.get(bucket, 0.0) + weight

    def total(self, first: int, last: int) -> int:
        """Events in buckets ``first..last`` inclusive."""
        return sum(c for b, c in self.counts.items() if first <= b <= last)

    def weight(self, first: int, last: int) -> float:
        """Summed weight in buckets ``first..last`` inclusive."""
        return sum(w for b, w in self.weights.items() if first <= b <= last)

    def active(self, first: int, last: int, per: int) -> int:
        """How many distinct groups of ``per`` buckets within ``first..last`` had an event
        (``per=12`` with 5-minute buckets: distinct hours)."""
        return len({b // per for b, c in self.counts.items() if first <= b <= last and c > 0})

    def merge(self, other: BucketSeries) -> None:
        """Add every bucket of ``other`` into this series."""
        for b, c in other.counts.items():
            self.add(b, c, other.weights.get(b, 0.0))

    def prune(self, before: int) -> None:
        """Forget buckets older than ``before``."""
        for b in [b for b in self.counts if b < before]:
            del self.counts[b]
            self.weights.pop(b, None)
