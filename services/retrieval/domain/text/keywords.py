"""Keywords of a post: its most informative lemmas (Russian) or stems (English).

A word's information is ``-log p(w)`` with ``p`` from navec's news counts (per script, see
``models.word_probabilities``); a keyword's score is the sum over its occurrences, so a rare
word repeated wins over a frequent one. Russian words are grouped by pymorphy3 lemma and only
nouns, adjectives, names and unknown words count (no verbs: "заявил" is not a topic); Latin
words are grouped by Snowball stem and shown in their most frequent form. Stopwords, words
shorter than three letters and numbers never count.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Final

from services.retrieval.domain.text import models
from services.retrieval.domain.text.lemmas import analyse
from services.retrieval.domain.text.tokenize import content_words, is_cyrillic, stems

MIN_LETTERS: Final = 3


def keywords(text: str, language: str, k: int = 10) -> tuple[str, ...]:
    """Up to ``k`` keywords of ``text``, best first (ties: first occurrence first).

    ``language`` is accepted for symmetry with the other analysers; each word is treated by
    its own script, so Latin names in a Russian post are keywords too.
    """
    if k <= 0:
        return ()
    ids = models.navec().vocab.word_ids
    probabilities = models.word_probabilities()
    floor = float(probabilities.min())
    scores: dict[str, float] = defaultdict(float)
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    order: dict[str, int] = {}
    for position, word in enumerate(content_words(text)):
        if len(word) < MIN_LETTERS or not word.isalpha():
            continue
        if is_cyrillic(word):
            key, topical = analyse(word)
            if not topical:
                continue
            shown = key
        else:
            key = stems([word])[0]
            shown = word
        index = ids.get(word)
        scores[key] -= math.log(floor if index is None else float(probabilities[index]))
        forms[key][shown] += 1
        order.setdefault(key, position)
    best = sorted(scores, key=lambda key: (-scores[key], order[key]))[:k]
    return tuple(forms[key].most_common(1)[0][0] for key in best)
