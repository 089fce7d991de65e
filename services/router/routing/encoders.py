"""Sentence vectors for the semantic stage: character n-gram TF-IDF and navec SIF.

Both take the lemma text of a query (time phrases already taken out) and return unit rows.

* ``CharNgrams``: TF-IDF over character 3–5-grams inside space-padded words, fitted on the
  exemplars. Language-agnostic and forgiving of typos and of English inflection.
* ``NavecSif``: natasha's navec word vectors (Russian news, 300-d, shipped with the
  package, nothing downloaded), averaged with SIF weights ``a / (a + p(w))`` so frequent
  words weigh little (Arora et al. 2017). Knows synonyms the n-grams cannot ("сводка" ~
  "обзор"), but few English words.
* ``Blend``: the two side by side, scaled so a dot product is ``w·cos₁ + (1−w)·cos₂``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import cache
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt
from natasha import NewsEmbedding  # type: ignore[import-untyped]  # no stubs

Matrix = npt.NDArray[np.float32]
SIF_A: Final = 1e-3


class Encoder(Protocol):
    """Texts → unit rows (a text with nothing known gets a zero row)."""

    def encode(self, texts: Sequence[str]) -> Matrix: ...


def _unit(rows: Matrix) -> Matrix:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-9)  # type: ignore[no-any-return]


class CharNgrams:
    """TF-IDF of character n-grams, vocabulary and IDF fitted on ``corpus``."""

    def __init__(self, corpus: Sequence[str], sizes: tuple[int, ...] = (3, 4, 5)) -> None:
        self._sizes = sizes
        documents = [set(self._grams(text)) for text in corpus]
        frequency = Counter(g for grams in documents for g in grams)
        self._index = {gram: i for i, gram in enumerate(sorted(frequency))}
        n = len(corpus)
        self._idf = np.asarray(
            [math.log((1 + n) / (1 + frequency[g])) + 1 for g in sorted(frequency)],
            dtype=np.float32,
        )

    def _grams(self, text: str) -> list[str]:
        out: list[str] = []
        for word in text.split():
            padded = f" {word} "
            for size in self._sizes:
                out += [padded[i : i + size] for i in range(max(1, len(padded) - size + 1))]
        return out

    def encode(self, texts: Sequence[str]) -> Matrix:
        rows = np.zeros((len(texts), len(self._index)), dtype=np.float32)
        for row, text in enumerate(texts):
            for gram, count in Counter(self._grams(text)).items():
                column = self._index.get(gram)
                if column is not None:
                    rows[row, column] = (1 + math.log(count)) * self._idf[column]
        return _unit(rows)


@cache
def _navec() -> NewsEmbedding:
    """natasha's news vectors, loaded once per process (about 0.8 s)."""
    return NewsEmbedding()


class NavecSif:
    """SIF-weighted average of navec word vectors (words looked up by lemma)."""

    def __init__(self, a: float = SIF_A) -> None:
        navec = _navec()
        self._ids: dict[str, int] = navec.vocab.word_ids
        counts = np.asarray(navec.vocab.counts, dtype=np.float64)
        probability = counts / counts.sum()
        self._weights = (a / (a + probability)).astype(np.float32)
        self._pq = navec.pq

    def encode(self, texts: Sequence[str]) -> Matrix:
        rows = np.zeros((len(texts), 300), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = [i for i in (self._ids.get(w) for w in text.split()) if i is not None]
            if ids:
                found = np.asarray(ids)
                rows[row] = self._weights[found] @ self._vectors(found)
        return _unit(rows)

    def _vectors(self, ids: npt.NDArray[np.int64]) -> Matrix:
        pq = self._pq
        parts = pq.codes[pq.qdims, pq.indexes[ids]]
        return parts.reshape(len(ids), 300).astype(np.float32)  # type: ignore[no-any-return]


class Blend:
    """``first`` and ``second`` side by side: dot products mix as ``w·cos₁ + (1−w)·cos₂``."""

    def __init__(self, first: Encoder, second: Encoder, weight: float) -> None:
        if not 0.0 <= weight <= 1.0:
            raise ValueError("weight must be in [0, 1]")
        self._first, self._second, self._weight = first, second, weight

    def encode(self, texts: Sequence[str]) -> Matrix:
        return np.hstack(
            [
                self._first.encode(texts) * math.sqrt(self._weight),
                self._second.encode(texts) * math.sqrt(1.0 - self._weight),
            ]
        )
