"""The language models that ship inside packages, loaded once per process on first use.

natasha's navec vectors (``news_v1_1B_250K_300d_100q``: 250k words of Russian news, with the
word counts of its 1.2B-token training corpus), slovnet's news NER, and pymorphy3's Russian
dictionary. Nothing is downloaded. Loading takes about a second; nothing loads at import time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Final

import numpy as np
import numpy.typing as npt
import pymorphy3  # type: ignore[import-untyped]  # no stubs
from natasha import NewsEmbedding, NewsNERTagger  # type: ignore[import-untyped]  # no stubs
from navec import Navec  # type: ignore[import-untyped]  # no stubs
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]  # no stubs

from services.retrieval.domain.text.tokenize import is_cyrillic

NAVEC_ID: Final = "navec-news-v1"


@cache
def navec() -> Navec:
    """natasha's news word vectors (300-d, product-quantised)."""
    return NewsEmbedding()


@cache
def ner_tagger() -> NewsNERTagger:
    """slovnet's Russian news NER (PER, LOC, ORG) on the navec vectors."""
    return NewsNERTagger(navec())


@cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with BLAS on one thread.

    slovnet's small matrix products are 2-7x slower with OpenBLAS's threads than without
    (measured on two busy cores: 120-350 posts/s against 800-870); scale out with processes.
    """
    with _threadpools().limit(limits=1, user_api="blas"):
        yield


@cache
def morph() -> pymorphy3.MorphAnalyzer:
    """pymorphy3 with its Russian dictionary."""
    return pymorphy3.MorphAnalyzer()


@cache
def word_probabilities() -> npt.NDArray[np.float64]:
    """Relative frequency of each navec word id within its script (Cyrillic or other).

    navec's counts come from Russian news, where Latin words are rare; normalising each
    script by its own total makes ``the`` as frequent among Latin words as it is in English.
    Words with a zero count (and ``<unk>``, ``<pad>``) get half the smallest non-zero share.
    """
    vocab = navec().vocab
    counts = np.asarray(vocab.counts, dtype=np.float64)
    cyrillic = np.fromiter((is_cyrillic(w) for w in vocab.words), bool)
    shares = np.zeros_like(counts)
    for mask in (cyrillic, ~cyrillic):
        shares[mask] = counts[mask] / counts[mask].sum()
    floor = shares[shares > 0].min() / 2
    shares[shares == 0] = floor
    return shares
