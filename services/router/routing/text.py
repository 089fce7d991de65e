"""Tokens, lemmas and the normal form of a query: what every routing stage reads.

A query is split into word tokens (runs of letters or of digits, lower case, ``ё`` folded).
Cyrillic tokens are replaced by their pymorphy3 lemma, so ``дайджеста``, ``дайджесты`` and
``дайджест`` read alike; Latin tokens stay as they are (English patterns match their
endings with regular expressions, and the semantic stage compares character n-grams).
The lemma text — lemmas joined by single spaces — is what heuristics, time phrases and the
decision cache see. Models are loaded on first use, once per process (about 0.1 s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

import pymorphy3  # type: ignore[import-untyped]  # no stubs

from services.router.routing import typos

_WORD: Final = re.compile(r"[^\W\d_]+|\d+")
_CYRILLIC: Final = re.compile(r"[а-яё]")
_LATIN: Final = re.compile(r"[a-z]")
_LEMMA_CACHE: Final = 100_000


@cache
def _morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer()


def normalize(text: str) -> str:
    """Lower case with ``ё`` folded to ``е``."""
    return text.lower().replace("ё", "е")


def words(text: str) -> list[str]:
    """Normalised word tokens, in order."""
    return _WORD.findall(normalize(text))


def is_cyrillic(token: str) -> bool:
    """Whether a normalised token has a Cyrillic letter."""
    return _CYRILLIC.search(token) is not None


@lru_cache(maxsize=_LEMMA_CACHE)
def lemma(token: str) -> str:
    """The most probable normal form of a Cyrillic token; other tokens unchanged."""
    if not is_cyrillic(token):
        return token
    return str(_morph().parse(token)[0].normal_form).replace("ё", "е")


@lru_cache(maxsize=_LEMMA_CACHE)
def is_known(token: str) -> bool:
    """Whether pymorphy3's dictionary has the Cyrillic token (a typo usually is not)."""
    return bool(_morph().word_is_known(token))


def language(text: str) -> str:
    """``ru`` when Cyrillic letters are at least as many as Latin ones, else ``en``.

    A text with no letter at all (``"?"``, ``"2+2"``) counts as ``ru``, the product's first
    language.
    """
    lowered = normalize(text)
    cyrillic = len(_CYRILLIC.findall(lowered))
    latin = len(_LATIN.findall(lowered))
    return "en" if latin > cyrillic else "ru"


@dataclass(frozen=True, slots=True)
class Analysed:
    """A query as the stages read it."""

    raw: str
    tokens: tuple[str, ...]
    """Normalised word tokens."""
    lemmas: tuple[str, ...]
    """One per token: the lemma of a Cyrillic token, the token itself otherwise."""
    language: str

    @property
    def lemma_text(self) -> str:
        """Lemmas joined by single spaces: the normalised query."""
        return " ".join(self.lemmas)


def analyse(text: str) -> Analysed:
    """Tokens, lemmas (a misspelt cue word read as the word meant, see ``typos``), language."""
    tokens = tuple(words(text))
    return Analysed(
        raw=text,
        tokens=tokens,
        lemmas=tuple(_reading(token) for token in tokens),
        language=language(text),
    )


@lru_cache(maxsize=_LEMMA_CACHE)
def _reading(token: str) -> str:
    if is_cyrillic(token):
        if is_known(token):
            return lemma(token)
        return typos.correct(token) or lemma(token)
    return typos.correct(token) or token
