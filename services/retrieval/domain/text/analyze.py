"""One pass over a batch of raw posts: everything the indexer needs from their text."""

from __future__ import annotations

from collections.abc import Sequence

from services.retrieval.domain.model import Analysis, Entity
from services.retrieval.domain.text.cleaning import clean
from services.retrieval.domain.text.entities import extract_entities
from services.retrieval.domain.text.keywords import keywords
from services.retrieval.domain.text.language import detect_language
from services.retrieval.domain.text.simhash import simhash


def analyze_batch(
    texts: Sequence[str], *, entities: bool = True, max_keywords: int = 10
) -> list[Analysis]:
    """The :class:`Analysis` of each raw text, in order.

    Cleaning, language, keywords and SimHash run per text; NER runs once over the batch
    (its sentences sorted by length), about two thirds of the cost: pass ``entities=False``
    to skip it. An empty or footer-only text gets an empty analysis without touching a model.
    Models load on first use (about a second), then stay for the process; one process uses
    one core (BLAS is kept single-threaded), so scale out with processes.

    Measured on the 22 099 shipped posts, one process on this 2-core machine: 600 posts/s
    with entities, 1 900 without.
    """
    cleaned = [clean(text) for text in texts]
    languages = [detect_language(text) for text in cleaned]
    found: list[tuple[Entity, ...]] = (
        extract_entities(cleaned, languages) if entities else [() for _ in cleaned]
    )
    return [
        Analysis(
            clean_text=text,
            language=language,
            entities=ents,
            keywords=keywords(text, language, max_keywords) if text else (),
            simhash=simhash(text),
        )
        for text, language, ents in zip(cleaned, languages, found, strict=True)
    ]
