"""The decision cache: least recently used, entries expire after a time-to-live.

In-process, like the seed's, but LRU (``OrderedDict``, O(1) per operation) rather than a
dict sorted on eviction. A routing decision costs well under a millisecond without the LLM,
so the cache mostly saves LLM calls; sharing it between gateway processes (Redis) would save
one LLM call per process per distinct query and hour, not worth a network hop on every query.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlLru(Generic[V]):
    """At most ``maxsize`` entries; an entry older than ``ttl_s`` is a miss and is dropped."""

    def __init__(self, maxsize: int, ttl_s: float, now: Callable[[], float]) -> None:
        if maxsize < 1 or ttl_s <= 0:
            raise ValueError("maxsize must be ≥ 1 and ttl_s > 0")
        self._data: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._maxsize = maxsize
        self._ttl = ttl_s
        self._now = now

    def get(self, key: Hashable) -> V | None:
        """The value, refreshed as most recently used, or None if absent or expired."""
        item = self._data.get(key)
        if item is None:
            return None
        stored_at, value = item
        if self._now() - stored_at >= self._ttl:
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value`` (its TTL starts now); evicts the least recently used beyond
        ``maxsize``."""
        self._data[key] = (self._now(), value)
        self._data.move_to_end(key)
        while len(self._data) > self._maxsize:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
