"""The dead-letter limit: a consumer that dead-letters too much pauses instead of draining
its topic into the DLQ (a broken dependency or a bad deploy looks like that)."""

from __future__ import annotations

from collections import deque

from servicekit.clock import Clock


class DeadLetterGuard:
    """Trips when ``limit`` dead letters fall within ``window_s``; stays tripped ``pause_s``."""

    def __init__(self, clock: Clock, *, limit: int, window_s: float, pause_s: float) -> None:
        self._clock = clock
        self._limit = limit
        self._window_s = window_s
        self._pause_s = pause_s
        self._times: deque[float] = deque()
        self._paused_until = 0.0

    def record(self) -> bool:
        """Count one dead letter; return True if this one tripped the limit."""
        now = self._clock.monotonic()
        self._times.append(now)
        while self._times and self._times[0] <= now - self._window_s:
            self._times.popleft()
        if len(self._times) >= self._limit and not self.paused:
            self._paused_until = now + self._pause_s
            self._times.clear()
            return True
        return False

    @property
    def paused(self) -> bool:
        """Whether the consumer must not take messages now."""
        return self._clock.monotonic() < self._paused_until

    def remaining_s(self) -> float:
        """Seconds left in the current pause (0 when not paused)."""
        return max(0.0, self._paused_until - self._clock.monotonic())
