"""The lexical leg: BM25 as sparse vectors whose dot product, times IDF, is the BM25 score.

Terms are Snowball stems (Russian for Cyrillic tokens, English for Latin ones) of the
normalised words without stopwords. A term's id is the first four bytes of its BLAKE2b
digest: stable across processes and releases (Python's ``hash`` is salted). With 32 bits,
the ~300 000 distinct stems of a large Russian news corpus give about ten colliding pairs
(n²/2³³), each merging two rare stems: negligible for ranking.

Document weights carry BM25's term-frequency saturation and length normalisation,
``tf·(k1+1) / (tf + k1·(1−b+b·len/avg_len))``; query weights are 1 per distinct term. The
vector store multiplies by IDF (Qdrant's ``Modifier.IDF`` on the sparse vector), so the
score of a document for a query is exactly Okapi BM25.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from hashlib import blake2b
from typing import Final

from services.retrieval.domain.model import SparseVector
from services.retrieval.domain.text.tokenize import content_words, stems

DEFAULT_K1: Final = 0.9
DEFAULT_B: Final = 0.2
DEFAULT_AVG_LEN: Final = 36.0  # terms per post over the 22 099 shipped posts (36.3)


def term_id(stem: str) -> int:
    """The stable unsigned 32-bit id of a stem."""
    return int.from_bytes(blake2b(stem.encode(), digest_size=4).digest(), "big")


def terms(text: str) -> list[str]:
    """The stems that represent ``text`` in the sparse leg, in order, repeats kept."""
    return stems(content_words(text))


@dataclass(frozen=True, slots=True)
class Bm25Encoder:
    """Implements ``SparseEncoder``.

    ``avg_len`` is the mean number of terms (see :func:`terms`) per indexed document (36 for
    the shipped posts). ``k1`` = 0.9 and ``b`` = 0.2 (textbook: 1.2 and 0.75) were chosen on
    the XQuAD retrieval eval (``tools.eval_retrieval``), where weaker length normalisation
    moved recall@1 on Russian from 0.82 to 0.88 — partly because the answers there are longer
    than the distracting posts; re-check on real questions before trusting it further.
    ``language`` is accepted for the port, but stemming goes by each token's script, so a
    wrong language guess cannot split the vocabulary. Raises ``ValueError`` for k1 < 0,
    b outside [0, 1] or avg_len ≤ 0.
    """

    k1: float = DEFAULT_K1
    b: float = DEFAULT_B
    avg_len: float = DEFAULT_AVG_LEN

    def __post_init__(self) -> None:
        if self.k1 < 0 or not 0 <= self.b <= 1 or self.avg_len <= 0:
            raise ValueError("need k1 ≥ 0, 0 ≤ b ≤ 1 and avg_len > 0")

    def encode_document(self, text: str, language: str) -> SparseVector:
        """BM25 term-frequency weights of ``text``; empty for a text without terms."""
        counts = Counter(term_id(stem) for stem in terms(text))
        norm = self.k1 * (1 - self.b + self.b * sum(counts.values()) / self.avg_len)
        indices = sorted(counts)
        values = tuple(counts[i] * (self.k1 + 1) / (counts[i] + norm) for i in indices)
        return SparseVector(indices=tuple(indices), values=values)

    def encode_query(self, text: str, language: str) -> SparseVector:
        """Weight 1 for each distinct term of the query, ascending ids."""
        indices = tuple(sorted({term_id(stem) for stem in terms(text)}))
        return SparseVector(indices=indices, values=(1.0,) * len(indices))
