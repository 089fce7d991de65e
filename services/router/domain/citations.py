"""Citation markers ``[n]``: numbering cited posts and checking an LLM's markers.

Sources are numbered 1..m in the order the answer first cites them, so the list under an
answer reads top-down. An LLM sees its context documents as ``[1]..[k]``; its markers are
checked against that range, unknown ones dropped, and the rest renumbered the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from contracts.v1.retrieval import RetrievedDocument
from services.router.domain.model import Source
from services.router.domain.permalink import permalink

_MARKER: Final = re.compile(r"\[(\d{1,3})\]")
_QUOTE_CHARS: Final = 500


@dataclass(frozen=True)
class Numbered:
    """Sources in citation order, and each cited post's number."""

    sources: list[Source]
    number_of: dict[str, int]


def number_sources(cited: Sequence[tuple[RetrievedDocument, str | None]]) -> Numbered:
    """Number the posts of ``cited`` (document, quoted passage) by first appearance; a post
    cited twice keeps its first number and its first quote."""
    sources: list[Source] = []
    number_of: dict[str, int] = {}
    for doc, quote in cited:
        if doc.post_id in number_of:
            continue
        number_of[doc.post_id] = len(sources) + 1
        sources.append(_source(len(sources) + 1, doc, quote))
    return Numbered(sources, number_of)


@dataclass(frozen=True)
class Renumbered:
    """An LLM answer with its markers renumbered, and the sources they now name."""

    text: str
    sources: list[Source]


def renumber(text: str, docs: Sequence[RetrievedDocument]) -> Renumbered:
    """Map the markers ``[i]`` of ``text`` (1-based over ``docs``) to citation order.

    Markers outside ``1..len(docs)`` are removed. The result has no sources when ``text``
    cites no document, which callers treat as an answer without sources (a failure).
    """
    order: list[int] = []
    for match in _MARKER.finditer(text):
        index = int(match.group(1)) - 1
        if 0 <= index < len(docs) and index not in order:
            order.append(index)
    numbered = number_sources([(docs[i], _lead(docs[i].text)) for i in order])

    def replace(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        if 0 <= index < len(docs):
            return f"[{numbered.number_of[docs[index].post_id]}]"
        return ""

    cleaned = re.sub(r"[ \t]{2,}", " ", _MARKER.sub(replace, text)).strip()
    return Renumbered(cleaned, numbered.sources)


def _lead(text: str) -> str:
    return text.strip()[:_QUOTE_CHARS]


def _source(n: int, doc: RetrievedDocument, quote: str | None) -> Source:
    return Source(
        n=n,
        post_id=doc.post_id,
        channel_id=doc.channel_id,
        message_id=doc.message_id,
        date=doc.date,
        permalink=permalink(doc.channel_id, doc.message_id, doc.permalink),
        channel_title=doc.channel_title,
        quote=(quote or "")[:_QUOTE_CHARS] or None,
    )
