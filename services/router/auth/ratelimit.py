"""A token bucket per credential, in process.

Each credential may burst ``burst`` requests and sustain ``rate`` per second. Buckets live
in an LRU of bounded size; a forgotten bucket comes back full, which only ever errs towards
letting a request through. With several replicas each enforces its own limit (documented).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """``take(subject)`` spends one token, or says how long until one is available."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        monotonic: Callable[[], float],
        max_subjects: int = 100_000,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self._rate = rate_per_s
        self._burst = float(burst)
        self._now = monotonic
        self._max = max_subjects
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, subject: str) -> float:
        """0.0 when the request may proceed (a token was spent); otherwise the seconds to
        wait before the next token (nothing is spent)."""
        now = self._now()
        tokens, last = self._buckets.pop(subject, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self._rate
        self._buckets[subject] = (tokens, now)
        if len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return wait
