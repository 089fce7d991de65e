"""Text analysis of posts: cleaning, language, entities, keywords, near-duplicate hashes.

Pure functions over strings; the models they use ship inside packages (natasha, pymorphy3)
and load once per process on first use (:mod:`.models`).
"""

from services.retrieval.domain.text.analyze import analyze_batch
from services.retrieval.domain.text.cleaning import clean
from services.retrieval.domain.text.entities import extract_entities
from services.retrieval.domain.text.keywords import keywords
from services.retrieval.domain.text.language import OTHER, detect_language
from services.retrieval.domain.text.simhash import hamming, simhash

__all__ = [
    "OTHER",
    "analyze_batch",
    "clean",
    "detect_language",
    "extract_entities",
    "hamming",
    "keywords",
    "simhash",
]
