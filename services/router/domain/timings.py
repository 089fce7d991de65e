"""Where the time of one request goes: named hops, summed, for ``Server-Timing`` and metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Hops:
    """Durations of the hops of one request, in milliseconds, in the order first seen."""

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self.ms: dict[str, float] = {}

    @contextmanager
    def hop(self, name: str) -> Iterator[None]:
        """Time the block as ``name`` (a hop run twice is summed)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, (time.perf_counter() - started) * 1000)

    def add(self, name: str, ms: float) -> None:
        """Add ``ms`` to hop ``name`` (for hops timed elsewhere, such as authentication)."""
        self.ms[name] = self.ms.get(name, 0.0) + ms

    def elapsed_s(self) -> float:
        """Seconds since this request started."""
        return time.perf_counter() - self._started

    def rounded(self) -> dict[str, float]:
        """Each hop and ``total``, in milliseconds to 0.1."""
        out = {k: round(v, 1) for k, v in self.ms.items()}
        out["total"] = round(self.elapsed_s() * 1000, 1)
        return out

    def server_timing(self) -> str:
        """The ``Server-Timing`` header value (``route;dur=0.4, retrieval;dur=12.0, …``)."""
        return ", ".join(f"{k};dur={v}" for k, v in self.rounded().items())
