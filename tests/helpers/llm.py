"""A scripted ``LLMClient`` for tests: queued answers and failures, a budget charged for real.

    llm = ScriptedLLM('{"route": "digest"}', LLMTimeout("slow"), "plain text")
    await llm.complete([Message("user", "…")], budget=budget)   # → Completion('{"route"…}')

Each call takes the next item: a ``str`` (the answer text, usage computed with the layer's
token estimates), a ``Completion`` (returned as is) or an exception instance (raised). Like a
real client it reserves the budget before "sending" (so ``BudgetExceeded`` is raised with the
script untouched and nothing recorded in ``calls``), charges real usage after success, counts a
failed call, and honours ``timeout_s``: with ``delay_s`` longer than the deadline it waits for
the deadline and raises ``LLMTimeout``, leaving the item in the queue. With the script empty it
answers ``default`` or fails the test loudly.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from servicekit.llm import (
    Budget,
    Completion,
    LLMTimeout,
    Message,
    estimate_prompt_tokens,
    estimate_tokens,
)

Item = str | Completion | BaseException


@dataclass(frozen=True)
class ScriptedCall:
    """What one call asked for."""

    messages: tuple[Message, ...]
    max_tokens: int
    temperature: float
    timeout_s: float
    json_mode: bool

    @property
    def prompt(self) -> str:
        """All message contents, joined by newlines (handy for ``in`` assertions)."""
        return "\n".join(m.content for m in self.messages)


class ScriptedLLM:
    """Implements ``LLMClient``; see the module docstring."""

    def __init__(
        self,
        *script: Item,
        delay_s: float = 0.0,
        default: str | None = None,
        provider: str = "scripted",
        model: str = "scripted-1",
    ) -> None:
        self.provider = provider
        self.model = model
        self.delay_s = delay_s
        self.default = default
        self.calls: list[ScriptedCall] = []
        self.refused = 0
        self._script: deque[Item] = deque(script)

    @property
    def call_count(self) -> int:
        """Calls that got past the budget (answered, raised, or timed out)."""
        return len(self.calls)

    @property
    def remaining(self) -> int:
        """Items still queued."""
        return len(self._script)

    def push(self, *items: Item) -> None:
        """Queue more answers or failures."""
        self._script.extend(items)

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
        """The next scripted item, within the budget and the deadline."""
        prompt_tokens = estimate_prompt_tokens(messages)
        try:
            reservation = budget.reserve(prompt_tokens + max_tokens)
        except Exception:
            self.refused += 1
            raise
        self.calls.append(
            ScriptedCall(tuple(messages), max_tokens, temperature, timeout_s, json_mode)
        )
        try:
            if self.delay_s > 0:
                if self.delay_s >= timeout_s:
                    await asyncio.sleep(timeout_s)
                    raise LLMTimeout(f"{self.provider}: no answer within {timeout_s:.3f} s")
                await asyncio.sleep(self.delay_s)
            completion = self._next(prompt_tokens)
        except BaseException:
            reservation.charge_failure()
            raise
        reservation.charge(completion)
        return completion

    def _next(self, prompt_tokens: int) -> Completion:
        if self._script:
            item = self._script.popleft()
        elif self.default is not None:
            item = self.default
        else:
            raise AssertionError(f"ScriptedLLM: no scripted answer left for call {len(self.calls)}")
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, Completion):
            return item
        return Completion(
            text=item,
            tokens_in=prompt_tokens,
            tokens_out=estimate_tokens(item),
            provider=self.provider,
            model=self.model,
            estimated=False,
        )
