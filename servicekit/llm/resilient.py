"""Budgets, hard deadlines, retries with backoff, a circuit breaker and metrics around any
raw :class:`~servicekit.llm.port.ChatProvider`: the ``LLMClient`` that services use."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence

from servicekit.llm.breaker import CircuitBreaker
from servicekit.llm.budget import Budget, Reservation
from servicekit.llm.errors import (
    BudgetExceeded,
    CircuitOpen,
    LLMRejected,
    LLMTimeout,
    LLMTransient,
    LLMUnavailable,
)
from servicekit.llm.metrics import PerformanceMetrics
from servicekit.llm.port import ChatProvider, Completion, Message
from servicekit.llm.tokens import estimate_prompt_tokens
from servicekit.logging import get_logger

_log = get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class ResilientLLM:
    """Implements ``LLMClient`` over ``provider``. For each :meth:`complete`:

    1. reserve the budget (estimated prompt + ``max_tokens``; one call) — or raise
       ``BudgetExceeded`` with nothing sent;
    2. pass the circuit breaker — or raise ``CircuitOpen`` (an ``LLMUnavailable``) at once;
    3. run the attempts under one hard deadline, ``min(timeout_s, max_timeout_s)``, for all
       attempts and backoff together (``asyncio.timeout``: the request is cancelled at the
       deadline and ``LLMTimeout`` raised);
    4. retry only ``LLMTransient`` failures (connection errors, 429, 5xx), at most ``retries``
       times, after ``backoff_s·2^(n-1)`` (capped at ``backoff_max_s``, with jitter), and only
       while the backoff ends before the deadline; then ``LLMUnavailable``;
    5. charge the budget with the provider's usage (a failed call counts as a call with no
       tokens), tell the breaker, record ``llm_*`` metrics.

    ``LLMRejected`` (the request refused) is raised at once and does not trip the breaker.
    Secrets live only inside the provider; ``repr`` shows provider and model.
    """

    def __init__(
        self,
        provider: ChatProvider,
        *,
        retries: int = 2,
        backoff_s: float = 0.2,
        backoff_max_s: float = 2.0,
        breaker: CircuitBreaker | None = None,
        max_timeout_s: float | None = None,
        metrics: PerformanceMetrics | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if retries < 0 or backoff_s < 0 or (max_timeout_s is not None and max_timeout_s <= 0):
            raise ValueError("retries and backoff_s must be ≥ 0, max_timeout_s > 0")
        self.provider = provider.provider
        self.model = provider.model
        self.breaker = breaker or CircuitBreaker(failures=5, reset_s=30.0, name=self.provider)
        self._raw = provider
        self._retries = retries
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._max_timeout_s = max_timeout_s
        self._metrics = metrics
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"ResilientLLM(provider={self.provider!r}, model={self.model!r})"

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        budget: Budget,
        max_tokens: int = 512,
        temperature: float = 0.0,
        timeout_s: float = 10.0,
        json_mode: bool = False,
    ) -> Completion:
        """Answer ``messages`` within the budget and the deadline; see the class docstring.

        Raises ``BudgetExceeded``, ``CircuitOpen``/``LLMUnavailable``, ``LLMTimeout``,
        ``LLMRejected``; ``ValueError`` for no messages, ``max_tokens < 1`` or ``timeout_s ≤ 0``.
        """
        if not messages or max_tokens < 1 or timeout_s <= 0:
            raise ValueError("complete() needs messages, max_tokens ≥ 1 and timeout_s > 0")
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            reservation = budget.reserve(estimate_prompt_tokens(messages) + max_tokens)
        except BudgetExceeded:
            self._record("budget_exceeded", 0.0)
            raise
        try:
            self.breaker.acquire()
        except CircuitOpen:
            reservation.release()
            self._record("circuit_open", 0.0)
            raise
        deadline = timeout_s if self._max_timeout_s is None else min(timeout_s, self._max_timeout_s)
        try:
            async with asyncio.timeout(deadline):
                completion = await self._attempts(
                    messages, max_tokens, temperature, json_mode, started + deadline
                )
        except TimeoutError:
            self._failed("timeout", reservation, loop.time() - started)
            raise LLMTimeout(f"{self.provider}: no answer within {deadline:.3f} s") from None
        except LLMRejected:
            self._failed("rejected", reservation, loop.time() - started)
            raise
        except LLMUnavailable:
            self._failed("unavailable", reservation, loop.time() - started)
            raise
        except asyncio.CancelledError:
            self._failed("cancelled", reservation, loop.time() - started)
            raise
        except Exception:
            self._failed("error", reservation, loop.time() - started)
            raise
        self.breaker.success()
        reservation.charge(completion)
        self._record("ok", loop.time() - started, completion)
        return completion

    def _failed(self, outcome: str, reservation: Reservation, took: float) -> None:
        """Settle a call that was sent and failed: budget, breaker verdict, metrics."""
        reservation.charge_failure()
        if outcome in ("timeout", "unavailable"):
            self.breaker.failure()
        elif outcome == "rejected":
            self.breaker.success()  # the provider is up: it answered, with a refusal
        else:
            self.breaker.release()  # cancelled by the caller, or a bug here: no verdict
        self._record(outcome, took)

    async def _attempts(
        self,
        messages: Sequence[Message],
        max_tokens: int,
        temperature: float,
        json_mode: bool,
        deadline_at: float,
    ) -> Completion:
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._raw.chat(
                    messages, max_tokens=max_tokens, temperature=temperature, json_mode=json_mode
                )
            except LLMTransient as exc:
                delay = self._backoff(attempt)
                _log.warning(
                    "llm attempt failed",
                    provider=self.provider,
                    attempt=attempt,
                    error=str(exc),
                    retry_in_s=round(delay, 3) if attempt <= self._retries else None,
                )
                if attempt > self._retries:
                    raise LLMUnavailable(f"{exc} ({attempt} attempts)") from None
                if loop.time() + delay >= deadline_at:
                    raise LLMUnavailable(f"{exc} (no time left for another attempt)") from None
                await self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        """``backoff_s·2^(attempt-1)`` capped, then "equal jitter": half fixed, half random,
        so that replicas retrying together spread out."""
        delay = min(self._backoff_s * 2.0 ** (attempt - 1), self._backoff_max_s)
        return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - not cryptographic

    def _record(self, outcome: str, seconds: float, completion: Completion | None = None) -> None:
        if self._metrics is None:
            return
        self._metrics.llm_call(
            provider=self.provider,
            outcome=outcome,
            seconds=seconds,
            tokens_in=completion.tokens_in if completion else 0,
            tokens_out=completion.tokens_out if completion else 0,
        )

    async def aclose(self) -> None:
        """Close the provider's HTTP connections."""
        await self._raw.aclose()
