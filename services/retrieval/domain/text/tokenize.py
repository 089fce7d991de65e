"""Word tokens, their normal form, and Snowball stems (Russian and English).

A token's script decides how it is stemmed: Cyrillic tokens with the Russian Snowball
stemmer, Latin ones with the English one, anything else (digits, mixed) is kept as is. So a
Russian post quoting an English name and an English question about a Russian name share one
vocabulary, whatever language detection said about the whole text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Final

import Stemmer  # type: ignore[import-not-found]  # PyStemmer ships no stubs

from servicekit.stopwords import ALL as STOPWORDS

WORD: Final = re.compile(r"[^\W\d_]+|\d+")
"""Runs of letters, or of digits: hyphens, apostrophes, underscores and a change between
letters and digits split words ("интернет2" is "интернет", "2")."""

_CYRILLIC: Final = re.compile(r"[а-яё]")
_LATIN: Final = re.compile(r"[a-z]")


def is_cyrillic(token: str) -> bool:
    """Whether a normalised token has a Cyrillic letter."""
    return _CYRILLIC.search(token) is not None


def is_latin(token: str) -> bool:
    """Whether a normalised token has a Latin letter and no Cyrillic one."""
    return _CYRILLIC.search(token) is None and _LATIN.search(token) is not None


def normalize(text: str) -> str:
    """Lower case with ``ё`` folded to ``е`` (Russian texts use both spellings)."""
    return text.lower().replace("ё", "е")


def words(text: str) -> list[str]:
    """Normalised word tokens of ``text``, in order (stopwords kept)."""
    return WORD.findall(normalize(text))


def content_words(text: str) -> list[str]:
    """Normalised word tokens without stopwords and one-letter words (digits stay), in order."""
    return [
        w
        for w in WORD.findall(normalize(text))
        if (len(w) > 1 or w.isdigit()) and w not in STOPWORDS
    ]


@cache
def _stemmer(algorithm: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(algorithm, 100_000)


def stems(tokens: Sequence[str]) -> list[str]:
    """The Snowball stem of each normalised token, in order; digits stay as they are."""
    ru = _stemmer("russian")
    en = _stemmer("english")
    out: list[str] = []
    for token in tokens:
        if _CYRILLIC.search(token):
            out.append(ru.stemWord(token))
        elif _LATIN.search(token):
            out.append(en.stemWord(token))
        else:
            out.append(token)
    return out
