"""The one LLM call of the fast path: a bounded, numbered context and the conversation.

The context holds the top documents as ``[1]..[k]``, each cut to ``doc_chars``; earlier
turns (oldest first) come before the question, their answers cut to ``history_chars``. The
instructions ask for a marker after every sentence; ``citations.renumber`` checks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from contracts.v1.retrieval import RetrievedDocument
from services.router.domain.model import Turn

Role = Literal["system", "user", "assistant"]

_SYSTEM: Final = {
    "ru": (
        "Ты отвечаешь на вопросы по постам Telegram-каналов. Пиши только то, что есть в "
        "пронумерованных источниках. После каждого предложения ставь номер источника в "
        "квадратных скобках, например [1] или [1][3]. Если источники не отвечают на вопрос, "
        "так и скажи. Отвечай кратко, не больше пяти предложений, на языке вопроса."
    ),
    "en": (
        "You answer questions about posts of Telegram channels. Write only what the numbered "
        "sources say. After every sentence put the number of its source in square brackets, "
        "e.g. [1] or [1][3]. If the sources do not answer the question, say so. Be brief, at "
        "most five sentences, in the language of the question."
    ),
}
_SOURCES: Final = {"ru": "Источники:", "en": "Sources:"}
_QUESTION: Final = {"ru": "Вопрос:", "en": "Question:"}


@dataclass(frozen=True)
class PromptMessage:
    """One chat message of the prompt (converted to the LLM layer's ``Message``)."""

    role: Role
    content: str


def build_prompt(
    query: str,
    docs: Sequence[RetrievedDocument],
    history: Sequence[Turn],
    *,
    language: str,
    doc_chars: int,
    history_chars: int,
) -> list[PromptMessage]:
    """System instructions, earlier turns (oldest first), then sources and the question."""
    lang = language if language in _SYSTEM else "en"
    messages = [PromptMessage("system", _SYSTEM[lang])]
    for turn in sorted(history, key=lambda t: t.created_at):
        messages.append(PromptMessage("user", turn.query))
        if history_chars and turn.answer:
            messages.append(PromptMessage("assistant", _cut(turn.answer, history_chars)))
    lines = [_SOURCES[lang]]
    for i, doc in enumerate(docs, 1):
        where = doc.channel_title or doc.channel_id
        lines.append(f"[{i}] {where}, {doc.date:%Y-%m-%d}: {_cut(doc.text, doc_chars)}")
    lines += ["", f"{_QUESTION[lang]} {query}"]
    messages.append(PromptMessage("user", "\n".join(lines)))
    return messages


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
