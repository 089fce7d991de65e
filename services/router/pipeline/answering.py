"""Composing the answer from retrieved documents: one LLM call, or extractive.

With an LLM configured (and a budget that allows a call), the top documents go into one
prompt, shrunk until the estimate fits the budget's remaining tokens. The answer must cite
at least one of them with a valid ``[n]``; otherwise, or when the call is refused by the
budget, times out or fails, the answer is extractive and the reason is reported as a
degraded part (``budget`` or ``llm``). The LLM call never outlives the request's deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from contracts.v1.retrieval import RetrievedDocument
from servicekit.llm import (
    Budget,
    BudgetExceeded,
    LLMClient,
    LLMError,
    Message,
    estimate_prompt_tokens,
)
from servicekit.logging import get_logger
from services.router.domain.citations import renumber
from services.router.domain.extractive import extract
from services.router.domain.model import Source, Turn
from services.router.domain.prompt import build_prompt

_log = get_logger(__name__)
AnswerMode = Literal["llm", "extractive"]
_MIN_LLM_S: Final = 0.2
"""Below this much time left, the LLM is not tried at all."""
_GUARD_S: Final = 0.25
"""Slack past the LLM client's own deadline before this module cuts the call itself."""
_MAX_ANSWER_CHARS: Final = 16_000


@dataclass(frozen=True)
class AnswerTuning:
    """How answers are written (from the settings)."""

    min_sentences: int = 2
    max_sentences: int = 4
    llm_timeout_s: float = 5.0
    llm_max_tokens: int = 512
    llm_temperature: float = 0.2
    doc_chars: int = 700
    history_chars: int = 500


@dataclass(frozen=True)
class Composed:
    """An answer with ``[n]`` markers, its sources, and how it was written."""

    text: str
    sources: list[Source]
    mode: AnswerMode
    degraded: list[str] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0


class Answerer:
    """Writes answers; ``llm`` None means the offline provider (extractive only)."""

    def __init__(self, llm: LLMClient | None, tuning: AnswerTuning) -> None:
        self._llm = llm
        self._t = tuning

    async def compose(
        self,
        query: str,
        docs: Sequence[RetrievedDocument],
        history: Sequence[Turn],
        *,
        budget: Budget,
        remaining_s: float,
        language: str,
    ) -> Composed:
        """The answer to ``query`` from ``docs`` (best first, non-empty)."""
        degraded: list[str] = []
        if self._llm is not None and budget.max_llm_calls > 0:
            if remaining_s < _MIN_LLM_S:
                degraded.append("llm")
            else:
                try:
                    return await self._with_llm(
                        self._llm, query, docs, history, budget, remaining_s, language
                    )
                except BudgetExceeded as exc:
                    _log.info("answer_budget_exceeded", kind=exc.kind)
                    degraded.append("budget")
                except (LLMError, TimeoutError) as exc:
                    _log.warning("answer_llm_failed", error=type(exc).__name__)
                    degraded.append("llm")
        found = extract(
            query, docs, min_sentences=self._t.min_sentences, max_sentences=self._t.max_sentences
        )
        return Composed(found.text, found.sources, "extractive", degraded)

    async def _with_llm(
        self,
        llm: LLMClient,
        query: str,
        docs: Sequence[RetrievedDocument],
        history: Sequence[Turn],
        budget: Budget,
        remaining_s: float,
        language: str,
    ) -> Composed:
        max_tokens = self._t.llm_max_tokens
        context = list(docs)
        messages = self._messages(query, context, history, language)
        # Fewer documents rather than a refused call, as long as one is left.
        while len(context) > 1 and (
            estimate_prompt_tokens(messages) + max_tokens > budget.remaining_tokens
        ):
            context.pop()
            messages = self._messages(query, context, history, language)
        timeout_s = min(self._t.llm_timeout_s, remaining_s - 0.05)
        async with asyncio.timeout(timeout_s + _GUARD_S):
            completion = await llm.complete(
                messages,
                budget=budget,
                max_tokens=max_tokens,
                temperature=self._t.llm_temperature,
                timeout_s=timeout_s,
            )
        cited = renumber(completion.text[:_MAX_ANSWER_CHARS], context)
        if not cited.sources:
            raise _Uncited("the model's answer cites none of the sources")
        return Composed(
            cited.text,
            cited.sources,
            "llm",
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
        )

    def _messages(
        self,
        query: str,
        docs: Sequence[RetrievedDocument],
        history: Sequence[Turn],
        language: str,
    ) -> list[Message]:
        prompt = build_prompt(
            query,
            docs,
            history,
            language=language,
            doc_chars=self._t.doc_chars,
            history_chars=self._t.history_chars,
        )
        return [Message(m.role, m.content) for m in prompt]


class _Uncited(LLMError):
    """The model answered without citing any source: treated like a failed call."""
