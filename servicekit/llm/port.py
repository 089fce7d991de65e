"""The LLM port: messages in, a completion with its real token usage out.

:class:`LLMClient` is what services code against (a resilient client from ``build_llm``, or
``tests.helpers.llm.ScriptedLLM`` in tests). :class:`ChatProvider` is one raw provider
(OpenAI-compatible, GigaChat) that :class:`~servicekit.llm.resilient.ResilientLLM` wraps with
budgets, deadlines, retries, a circuit breaker and metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from servicekit.llm.budget import Budget

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Role
    content: str


@dataclass(frozen=True)
class Completion:
    """The model's answer and what it cost.

    ``tokens_in`` / ``tokens_out`` come from the provider's usage report; ``estimated`` is True
    only when the provider reported none and the counts are :func:`estimate_tokens` figures.
    """

    text: str
    tokens_in: int
    tokens_out: int
    provider: str
    model: str
    estimated: bool

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.tokens_in + self.tokens_out


class LLMClient(Protocol):
    """A chat model behind a budget. Implementations guarantee, for every call:

    - the budget is checked *before* anything is sent (estimated prompt tokens plus
      ``max_tokens`` against what is left, and one more call against the call limit) and
      :class:`~servicekit.llm.errors.BudgetExceeded` raised if it would be passed;
    - the call returns or raises within ``timeout_s`` (plus scheduling jitter), raising
      :class:`~servicekit.llm.errors.LLMTimeout` when cut at the deadline;
    - a successful call is charged to the budget with the provider's real usage.

    Raises ``BudgetExceeded``, ``LLMTimeout``, ``LLMUnavailable`` (down, circuit open, retries
    spent) or ``LLMRejected`` (the provider refused this request) — all ``LLMError``. JSON mode
    only asks the provider for JSON; parse the text with :func:`~servicekit.llm.parse_json`.
    """

    provider: str
    model: str

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
        """Answer ``messages``; see the class docstring for the guarantees."""
        ...


class ChatProvider(Protocol):
    """One raw provider: a single attempt, no budget, no deadline, no retries.

    ``chat`` raises :class:`~servicekit.llm.errors.LLMTransient` when another attempt may work,
    ``LLMRejected`` when the request was refused, ``LLMUnavailable`` otherwise.
    """

    provider: str
    model: str

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        json_mode: bool,
    ) -> Completion:
        """One request to the provider."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP connections."""
        ...
