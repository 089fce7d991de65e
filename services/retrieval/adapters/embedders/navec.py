"""The offline embedder: SIF-weighted navec word vectors, nothing downloaded.

A text's vector is ``Σ a/(a+p(w)) · v(w)`` over its words (SIF, Arora et al. 2017) with
stopwords left out, minus its projection on the vocabulary's common direction, L2-normalised.
``p(w)`` comes from navec's own training counts, per script (``models.word_probabilities``),
so frequent words of either language weigh little and rare, topical ones dominate. Russian
words are looked up by their pymorphy3 lemma first (inflections share one vector), then by
form; words navec does not know are skipped. A text without a known word gets navec's
``<unk>`` vector, so every text has a unit vector. Vectorisation is numpy over batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from servicekit.stopwords import ALL as STOPWORDS
from services.retrieval.domain.text import models
from services.retrieval.domain.text.lemmas import lemma
from services.retrieval.domain.text.tokenize import is_cyrillic, words

DIM: Final = 300
DEFAULT_SIF_A: Final = 3e-4
_ASYNC_MIN_TEXTS: Final = 64  # below this, a thread hop costs more than the work
_CHUNK: Final = 256
_MAX_CACHED_WORDS: Final = 500_000


class NavecEmbedder:
    """Implements ``Embedder`` with natasha's navec vectors.

    ``sif_a`` is SIF's smoothing constant (smaller: frequent words weigh less);
    ``lemmas`` looks every Russian word up by its lemma first (inflections then share one
    vector); ``remove_common`` subtracts the frequency-weighted principal direction of the
    vocabulary, which every average of word vectors leans towards.
    """

    dim: int = DIM

    def __init__(
        self, *, sif_a: float = DEFAULT_SIF_A, lemmas: bool = True, remove_common: bool = True
    ) -> None:
        if sif_a <= 0:
            raise ValueError("sif_a must be > 0")
        self._navec = models.navec()
        self._ids: dict[str, int] = self._navec.vocab.word_ids
        self._unk: int = self._navec.vocab.unk_id
        self._lemmas = lemmas
        probabilities = models.word_probabilities()
        self._weights = (sif_a / (sif_a + probabilities)).astype(np.float32)
        self._weights[_stopword_ids(self._ids)] = 0.0
        self._common = _common_direction(self._unpack, probabilities) if remove_common else None
        default = (sif_a, lemmas, remove_common) == (DEFAULT_SIF_A, True, True)
        suffix = "" if default else _suffix(sif_a, lemmas, remove_common)
        self.model_name = f"{models.NAVEC_ID}-sif{suffix}-{DIM}"
        self._ids_of: dict[str, int] = {}

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text, in order (numpy work off the event loop for big batches)."""
        if len(texts) < _ASYNC_MIN_TEXTS:
            return self.vectors(texts).tolist()  # type: ignore[no-any-return]
        matrix = await asyncio.to_thread(self.vectors, texts)
        return matrix.tolist()  # type: ignore[no-any-return]

    def vectors(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """``len(texts) × 300`` unit rows."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(texts), _CHUNK):
            out[start : start + _CHUNK] = self._sums(texts[start : start + _CHUNK])
        if self._common is not None:
            out -= np.outer(out @ self._common, self._common)
        norms = np.linalg.norm(out, axis=1)
        empty = norms < 1e-6
        if empty.any():
            out[empty] = self._unpack(np.asarray([self._unk]))[0]
            norms[empty] = np.linalg.norm(out[empty], axis=1)
        out /= norms[:, None]
        return out

    def _sums(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """SIF-weighted sums of word vectors (chunked: the gathered rows stay small)."""
        if len(self._ids_of) > _MAX_CACHED_WORDS:
            self._ids_of.clear()
        rows: list[int] = []
        ids: list[int] = []
        for row, text in enumerate(texts):
            found = [self._id(word) for word in words(text)]
            known = [i for i in found if i >= 0]
            rows += [row] * len(known)
            ids += known
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not ids:
            return out
        id_array = np.asarray(ids)
        unique, inverse = np.unique(id_array, return_inverse=True)
        weighted = self._unpack(unique)[inverse] * self._weights[id_array, None]
        row_array = np.asarray(rows)
        starts = np.flatnonzero(np.r_[True, row_array[1:] != row_array[:-1]])
        out[row_array[starts]] = np.add.reduceat(weighted, starts, axis=0)
        return out

    def _id(self, word: str) -> int:
        found = self._ids_of.get(word)
        if found is None:
            found = self._ids_of[word] = self._find(word)
        return found

    def _find(self, word: str) -> int:
        """navec id of the word (or of its lemma, first when ``lemmas``); -1 when unknown."""
        form = self._ids.get(word)
        if is_cyrillic(word) and (self._lemmas or form is None):
            by_lemma = self._ids.get(lemma(word))
            if by_lemma is not None:
                return int(by_lemma)
        return -1 if form is None else int(form)

    def _unpack(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        pq = self._navec.pq
        parts = pq.codes[pq.qdims, pq.indexes[ids]]
        return parts.reshape(len(ids), DIM).astype(np.float32)  # type: ignore[no-any-return]


def _common_direction(
    unpack: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float32]],
    probabilities: npt.NDArray[np.float64],
    top: int = 30_000,
) -> npt.NDArray[np.float32]:
    """Top eigenvector of the frequency-weighted second moment of the ``top`` words."""
    ids = np.argsort(-probabilities)[:top]
    vectors = unpack(ids).astype(np.float64)
    moment = (vectors * probabilities[ids, None]).T @ vectors
    _, eigenvectors = np.linalg.eigh(moment)
    return eigenvectors[:, -1].astype(np.float32)


def _stopword_ids(ids: dict[str, int]) -> list[int]:
    return [ids[word] for word in STOPWORDS if word in ids]


def _suffix(sif_a: float, lemmas: bool, remove_common: bool) -> str:
    return f"{sif_a:g}" + ("" if lemmas else "-forms") + ("" if remove_common else "-raw")
