"""Words, stems, sentences and the script of a text (Russian and English).

Stems come from Snowball (PyStemmer): a Cyrillic token with the Russian stemmer, a Latin one
with the English stemmer, so a Russian post quoting an English name shares its vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Final

import Stemmer  # type: ignore[import-not-found]  # PyStemmer ships no stubs
from razdel import sentenize  # type: ignore[import-untyped]  # no stubs

_WORD: Final = re.compile(r"[^\W\d_]{3,}", re.U)
_CYR: Final = re.compile(r"[а-яё]", re.I)
_LAT: Final = re.compile(r"[a-z]", re.I)
_STOP_WORDS: Final = (
    "это этот эта эти того тот так как что чтобы для при про под над без или либо "
    "если уже еще ещё его ее её их они она оно мы вы ты был была были было будет "
    "будут быть может можно нужно также там тут где когда куда кто который которая "
    "которые которых после перед через между всех весь все всё свой свои своих очень "
    "более менее только сейчас сегодня вчера завтра году года лет раз день дня тем "
    "чем над нас вас нам вам the and for that with this from are was were have has "
    "had not but you your they them their will would can could about into over after "
    "before what which who whom been its our out also more than then there here just "
    "like said says new one two"
)
STOP: Final = frozenset(_STOP_WORDS.split())


@cache
def _stemmer(lang: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(lang)


@cache
def stem(word: str) -> str:
    """The Snowball stem of a lower-case word (Russian or English by its script)."""
    lang = "russian" if _CYR.search(word) else "english"
    return str(_stemmer(lang).stemWord(word))


def words(text: str) -> list[str]:
    """Lower-case words of three or more letters, ``ё`` folded, stop words dropped."""
    out = []
    for match in _WORD.finditer(text.lower().replace("ё", "е")):
        token = match.group()
        if token not in STOP:
            out.append(token)
    return out


def stems(text: str, limit: int = 80) -> list[str]:
    """Stems of the first ``limit`` content words of ``text``."""
    return [stem(w) for w in words(text)[:limit]]


def sentences(text: str) -> list[str]:
    """Sentences of ``text`` (razdel), stripped, empty ones dropped."""
    return [s.text.strip() for s in sentenize(text) if s.text.strip()]


def script_language(texts: Iterable[str]) -> str:
    """``ru`` when Cyrillic letters outnumber Latin ones in ``texts``, else ``en``."""
    cyr = lat = 0
    for text in texts:
        cyr += len(_CYR.findall(text))
        lat += len(_LAT.findall(text))
    return "ru" if cyr >= lat and cyr > 0 else "en"


def clip(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:—- ")
    return (cut or text[: limit - 1]) + "…"
