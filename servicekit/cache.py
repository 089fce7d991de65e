"""A small LRU cache with a time-to-live, on an injectable clock (retrieval answers, route
decisions: in-process; each is cheap to recompute, so sharing it is not worth a network hop)."""

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
        """Store ``value``; evicts the least recently used entry beyond ``maxsize``."""
        self._data[key] = (self._now(), value)
        self._data.move_to_end(key)
        while len(self._data) > self._maxsize:
            self._data.popitem(last=False)

    def invalidate(self, predicate: Callable[[Hashable], bool]) -> int:
        """Drop every entry whose key matches; returns how many (used when posts change)."""
        doomed = [k for k in self._data if predicate(k)]
        for key in doomed:
            del self._data[key]
        return len(doomed)

    def __len__(self) -> int:
        return len(self._data)
