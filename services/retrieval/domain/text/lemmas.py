"""Russian lemmas and parts of speech from pymorphy3, cached per word form."""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from services.retrieval.domain.text import models

_TOPICAL_POS: Final = frozenset({"NOUN", "ADJF"})
_NAME_TAGS: Final = ("Name", "Surn", "Patr", "Geox", "Orgn")
_CACHE: Final = 200_000


@lru_cache(maxsize=_CACHE)
def lemma(word: str) -> str:
    """The most probable normal form of a normalised Russian word (``ё`` folded)."""
    return str(models.morph().parse(word)[0].normal_form).replace("ё", "е")


@lru_cache(maxsize=_CACHE)
def analyse(word: str) -> tuple[str, bool]:
    """``(lemma, topical)``: topical when the best parse is a noun, an adjective, a name or
    a word pymorphy does not know (a new coinage or a transliterated name)."""
    parse = models.morph().parse(word)[0]
    tag = parse.tag
    topical = (
        tag.POS in _TOPICAL_POS
        or tag.POS is None
        or "UNKN" in tag
        or any(t in tag for t in _NAME_TAGS)
    )
    return str(parse.normal_form).replace("ё", "е"), topical


@lru_cache(maxsize=_CACHE)
def name_lemma(word: str) -> str:
    """The lemma of a word inside a name, stable across its inflections.

    A dictionary word prefers a name reading (``Путина`` is the surname ``путин``, not the
    noun ``путина``); a word the dictionary does not know keeps its own form when it can be a
    nominative (``Гринатом`` stays ``гринатом`` instead of an instrumental of ``гринат``).
    """
    analyzer = models.morph()
    parses = analyzer.parse(word)
    if analyzer.word_is_known(word):
        named = [p for p in parses if any(t in p.tag for t in _NAME_TAGS)]
        best = (named or parses)[0]
    else:
        best = next((p for p in parses if "nomn" in p.tag), parses[0])
    return str(best.normal_form).replace("ё", "е")


_NOT_A_NAME: Final = frozenset(
    {"VERB", "INFN", "GRND", "PRTF", "PRTS", "ADVB", "PRED", "CONJ", "PRCL", "PREP", "NPRO", "INTJ"}
)


@lru_cache(maxsize=_CACHE)
def can_be_name(word: str) -> bool:
    """False for a dictionary word that is only a verb, adverb or function word ("нашли",
    "где"): NER sometimes tags one at the start of a line."""
    analyzer = models.morph()
    if not analyzer.word_is_known(word):
        return True
    return any(p.tag.POS not in _NOT_A_NAME for p in analyzer.parse(word))


@lru_cache(maxsize=_CACHE)
def is_common_word(word: str) -> bool:
    """A normalised word the dictionary knows with no name reading ("сегодня", "власти"):
    capitalised at the start of a sentence, it is not a name."""
    analyzer = models.morph()
    if not analyzer.word_is_known(word):
        return False
    return not any(t in p.tag for p in analyzer.parse(word) for t in _NAME_TAGS)
