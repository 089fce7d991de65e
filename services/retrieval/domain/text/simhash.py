"""64-bit SimHash of a text's word stems, for near-duplicate and repost detection.

Features are the Snowball stems of the content words (:func:`.tokenize.content_words`: case,
punctuation, emoji, stopwords and inflection do not count), each one-word shingle voting with
its 64-bit BLAKE2b hash on every bit; the sign of each bit's vote is the fingerprint.

Measured on the shipped posts (see the unit tests): a repost (same text, another footer or
formatting) has distance 0; changing one word of a post of 120+ words stays within 3 bits
87 % of the time (mean 1.8), of 30-60 words 40 % (mean 4.2) — a SimHash property: a bit
flips with probability angle/π; 20 000 random pairs of unrelated posts were never closer
than 16 bits (mean 31.5). Longer shingles make edits cost more (two-word shingles: 5.6 bits
for one changed word in 15+ word posts against 4.2) without separating unrelated posts
better, so the shingles are single words.
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Final

import numpy as np

from services.retrieval.domain.text.tokenize import content_words, stems

_BITS: Final = np.uint64(1) << np.arange(64, dtype=np.uint64)


def features(text: str) -> list[str]:
    """The SimHash features of ``text``: its content-word stems, in order, repeats kept."""
    return stems(content_words(text))


def simhash(text: str) -> int:
    """The 64-bit SimHash of ``text`` (0 for a text without content words)."""
    found = features(text)
    if not found:
        return 0
    hashes = np.fromiter(
        (int.from_bytes(blake2b(f.encode(), digest_size=8).digest(), "big") for f in found),
        dtype=np.uint64,
        count=len(found),
    )
    votes = ((hashes[:, None] & _BITS) != 0).sum(axis=0) * 2 - len(found)
    return int(_BITS[votes > 0].sum())


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit fingerprints."""
    return (a ^ b).bit_count()
