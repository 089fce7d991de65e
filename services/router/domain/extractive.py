"""Extractive answers: the sentences of the retrieved posts that best match the question.

Used by the offline provider and whenever the LLM cannot be used (budget, timeout, error).
Every sentence of the answer is quoted from one retrieved post and followed by that post's
citation marker ``[n]``; nothing else is written, so every claim has its source.

Scoring: a sentence earns, for each question stem it contains, that stem's inverse document
frequency over the candidate sentences (rare words weigh more); stems already covered by a
chosen sentence count half, which favours sentences that add something. A small prior
prefers better-ranked posts and their first sentence (news leads). Sentences are chosen
greedily, at most two per post, near-duplicates (reposts) skipped, until ``max_sentences`` or
until the next one is much weaker than the first. When no sentence shares a word with the
question, the lead sentences of the best-ranked posts are used: retrieval found them by
meaning, and they still say what those posts are about.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from contracts.v1.retrieval import RetrievedDocument
from services.router.domain.citations import number_sources
from services.router.domain.model import Source
from services.router.domain.text import content_stems, sentences, words

MAX_DOC_CHARS: Final = 2000
"""Only the beginning of a long post is split (cost), where news posts say what matters."""
MAX_SENTENCE_CHARS: Final = 300
PER_DOC: Final = 2
MIN_WORDS: Final = 3
WEAK: Final = 0.4
"""A further sentence must score at least this share of the first one."""
DUPLICATE: Final = 0.7
"""Stem-set Jaccard similarity above which two sentences say the same thing."""


@dataclass(frozen=True)
class Extract:
    """An extractive answer: text with ``[n]`` markers and the sources they number."""

    text: str
    sources: list[Source]


@dataclass(frozen=True)
class _Candidate:
    rank: int
    position: int
    text: str
    stems: frozenset[str]


def extract(
    query: str,
    docs: Sequence[RetrievedDocument],
    *,
    min_sentences: int = 2,
    max_sentences: int = 4,
) -> Extract:
    """The answer to ``query`` from ``docs`` (best first); empty when they hold no sentence."""
    candidates = _candidates(docs)
    if not candidates:
        return Extract("", [])
    wanted = frozenset(content_stems(query))
    idf = _idf(wanted, candidates)
    chosen = _choose(candidates, wanted, idf, min_sentences, max_sentences)
    chosen.sort(key=lambda c: (c.rank, c.position))
    numbered = number_sources(
        [(docs[c.rank], c.text) for c in chosen],
    )
    parts = [f"{c.text} [{numbered.number_of[docs[c.rank].post_id]}]" for c in chosen]
    return Extract(" ".join(parts), numbered.sources)


def _candidates(docs: Sequence[RetrievedDocument]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for rank, doc in enumerate(docs):
        for position, sentence in enumerate(sentences(doc.text[:MAX_DOC_CHARS])):
            if len(words(sentence)) < MIN_WORDS:
                continue
            out.append(
                _Candidate(rank, position, _clip(sentence), frozenset(content_stems(sentence)))
            )
    return out


def _idf(wanted: frozenset[str], candidates: list[_Candidate]) -> dict[str, float]:
    df: Counter[str] = Counter()
    for c in candidates:
        df.update(wanted & c.stems)
    n = len(candidates)
    return {t: math.log(1 + n / df[t]) for t in wanted if df[t]}


def _choose(
    candidates: list[_Candidate],
    wanted: frozenset[str],
    idf: dict[str, float],
    min_sentences: int,
    max_sentences: int,
) -> list[_Candidate]:
    chosen: list[_Candidate] = []
    covered: set[str] = set()
    per_doc: Counter[int] = Counter()
    first = 0.0
    while len(chosen) < max_sentences:
        best, best_score, best_relevance = None, -1.0, 0.0
        for c in candidates:
            if c in chosen or per_doc[c.rank] >= PER_DOC or _duplicate(c, chosen):
                continue
            relevance = sum(
                idf.get(t, 0.0) * (0.5 if t in covered else 1.0) for t in wanted & c.stems
            )
            prior = 0.3 / (1 + c.rank) + (0.1 if c.position == 0 else 0.0)
            score = relevance + prior
            if score > best_score:
                best, best_score, best_relevance = c, score, relevance
        if best is None:
            break
        enough = len(chosen) >= min_sentences
        if enough and (best_relevance == 0 or best_relevance < WEAK * first):
            break
        if not chosen:
            first = best_relevance
        chosen.append(best)
        covered |= wanted & best.stems
        per_doc[best.rank] += 1
    return chosen


def _duplicate(candidate: _Candidate, chosen: list[_Candidate]) -> bool:
    for c in chosen:
        union = candidate.stems | c.stems
        if union and len(candidate.stems & c.stems) / len(union) >= DUPLICATE:
            return True
    return False


def _clip(sentence: str) -> str:
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return sentence
    cut = sentence[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—- ") + "…"
