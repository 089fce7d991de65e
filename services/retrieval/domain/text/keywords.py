"""Keywords of a post: its most informative lemmas (Russian) or stems (English).

A word's information is ``-log p(w)`` with ``p`` from navec's news counts (per script, see
``models.word_probabilities``); a keyword's score is the sum over its occurrences, so a rare
word repeated wins over a frequent one. Russian words are grouped by pymorphy3 lemma and only
nouns, adjectives, names and unknown words count (no verbs: "заявил" is not a topic); Latin
words are grouped by Snowball stem and shown in their most frequent form. Stopwords, words
shorter than three letters and numbers never count.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import cache
from typing import Final

import numpy as np
import numpy.typing as npt

from services.retrieval.domain.text import models
from services.retrieval.domain.text.lemmas import analyse
from services.retrieval.domain.text.tokenize import content_words, is_cyrillic, stems

MIN_LETTERS: Final = 3
CANDIDATES_PER_KEYWORD: Final = 3


def keywords(text: str, language: str, k: int = 10) -> tuple[str, ...]:
    """Up to ``k`` keywords of ``text``, best first (ties: first occurrence first).

    Only the ``CANDIDATES_PER_KEYWORD · k`` best word forms are lemmatised (a dictionary
    look-up per new form is most of the cost), so a lemma's score sums its best forms.
    ``language`` is accepted for symmetry with the other analysers; each word is treated by
    its own script, so Latin names in a Russian post are keywords too.
    """
    if k <= 0:
        return ()
    by_form: dict[str, float] = defaultdict(float)
    first: dict[str, int] = {}
    for position, word in enumerate(content_words(text)):
        if len(word) >= MIN_LETTERS and word.isalpha():
            by_form[word] += _information(word)
            first.setdefault(word, position)
    candidates = sorted(by_form, key=lambda form: (-by_form[form], first[form]))
    scores: dict[str, float] = defaultdict(float)
    shown: dict[str, Counter[str]] = defaultdict(Counter)
    order: dict[str, int] = {}
    for form in candidates[: CANDIDATES_PER_KEYWORD * k]:
        if is_cyrillic(form):
            key, topical = analyse(form)
            if not topical:
                continue
            label = key
        else:
            key, label = stems([form])[0], form
        scores[key] += by_form[form]
        shown[key][label] += 1
        order[key] = min(order.get(key, first[form]), first[form])
    best = sorted(scores, key=lambda key: (-scores[key], order[key]))[:k]
    return tuple(shown[key].most_common(1)[0][0] for key in best)


def _information(word: str) -> float:
    """``-log p(word)`` from navec's counts (unknown words: the rarest)."""
    index = models.navec().vocab.word_ids.get(word)
    return _rarest() if index is None else float(_informations()[index])


@cache
def _informations() -> npt.NDArray[np.float64]:
    return -np.log(models.word_probabilities())


@cache
def _rarest() -> float:
    return float(_informations().max())
