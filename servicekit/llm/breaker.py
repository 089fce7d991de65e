"""A circuit breaker: stop calling a provider that keeps failing, and probe it again later."""

from __future__ import annotations

from typing import Literal

from servicekit.clock import Clock, SystemClock
from servicekit.llm.errors import CircuitOpen
from servicekit.logging import get_logger

State = Literal["closed", "open", "half_open"]

_log = get_logger(__name__)


class CircuitBreaker:
    """Closed: every call goes through; ``failures`` consecutive failures open it.
    Open: calls are refused at once with :class:`CircuitOpen` for ``reset_s`` seconds.
    Half-open: after that, exactly one trial call goes through (others are still refused);
    its success closes the breaker, its failure opens it for another ``reset_s``.

    Callers pair :meth:`acquire` with exactly one of :meth:`success`, :meth:`failure` or
    :meth:`release` (the call ended without saying anything about the provider's health).
    Not thread-safe; safe across tasks of one event loop (no awaits inside).
    """

    def __init__(
        self, *, failures: int, reset_s: float, name: str = "llm", clock: Clock | None = None
    ) -> None:
        if failures < 1 or reset_s <= 0:
            raise ValueError("failures must be ≥ 1 and reset_s > 0")
        self.failures = failures
        self.reset_s = reset_s
        self.name = name
        self._clock = clock or SystemClock()
        self._state: State = "closed"
        self._consecutive = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> State:
        """The current state (``open`` turns ``half_open`` only when a call is let through)."""
        return self._state

    def acquire(self) -> None:
        """Let a call through, or raise :class:`CircuitOpen` without side effects."""
        if self._state == "closed":
            return
        if self._state == "open":
            waited = self._clock.monotonic() - self._opened_at
            if waited < self.reset_s:
                raise CircuitOpen(
                    f"{self.name}: circuit open for another {self.reset_s - waited:.1f} s"
                )
            self._state = "half_open"
        if self._trial_in_flight:
            raise CircuitOpen(f"{self.name}: circuit half-open, a trial call is in flight")
        self._trial_in_flight = True

    def success(self) -> None:
        """The call worked (or the provider answered, even with a refusal): close."""
        if self._state != "closed":
            _log.info("llm circuit closed", provider=self.name)
        self._state = "closed"
        self._consecutive = 0
        self._trial_in_flight = False

    def failure(self) -> None:
        """The call failed (timeout, provider down): count it; open at the threshold, or at
        once when it was the half-open trial."""
        if self._state == "half_open":
            self._open()
        elif self._state == "closed":
            self._consecutive += 1
            if self._consecutive >= self.failures:
                self._open()

    def release(self) -> None:
        """The call ended without a verdict (cancelled by its caller): free the trial slot."""
        if self._state == "half_open":
            self._trial_in_flight = False

    def _open(self) -> None:
        self._state = "open"
        self._opened_at = self._clock.monotonic()
        self._trial_in_flight = False
        _log.warning(
            "llm circuit opened",
            provider=self.name,
            consecutive_failures=self._consecutive,
            reset_s=self.reset_s,
        )
