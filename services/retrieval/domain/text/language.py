"""Language of a text by script and function words: ``ru``, ``en`` or :data:`OTHER`.

Deterministic and model-free: Cyrillic letters mean Russian unless Ukrainian- or
Belarusian-only letters say otherwise; Latin letters mean English when English function
words back it up. A Russian post full of English product names stays ``ru`` because its
Russian function words outnumber the English ones.
"""

from __future__ import annotations

import re
from typing import Final

OTHER: Final = "xx"
"""Neither Russian nor English (or no letters at all). Two letters so that it passes the
contracts' ``LanguageCode`` pattern; it is not an ISO 639-1 code, so map it to ``None``
where a real code is required."""

_CYRILLIC: Final = re.compile(r"[а-яё]")
_NOT_RUSSIAN_CYRILLIC: Final = re.compile(r"[іїєґў]")
_LATIN: Final = re.compile(r"[a-z]")
_WORD: Final = re.compile(r"[^\W\d_]+")


def _set(listing: str) -> frozenset[str]:
    return frozenset(listing.split())


_RU_FUNCTION: Final = _set(
    "и в во не на я что он с со как а то все она так его но да ты к у же вы за бы по ее мне "
    "есть от о из ему для мы это они был была были было или этот при уже когда также "
    "только который которые после чтобы если до над под без через"
)
_EN_FUNCTION: Final = _set(
    "the of and to in is was for on that with as by at from it an be this which are were "
    "or his her has have had not but their its they what who how when where did does do "
    "been will would can could into than there these those"
)
_SHORT_TEXT_WORDS: Final = 4
_MIN_ENGLISH_SHARE: Final = 0.05  # English prose runs at 30-50 % function words
_MAX_OTHER_CYRILLIC_SHARE: Final = 0.02


def detect_language(text: str) -> str:
    """``ru``, ``en`` or :data:`OTHER` for ``text`` (any casing, cleaned or not)."""
    lower = text.lower()
    cyrillic = len(_CYRILLIC.findall(lower))
    latin = len(_LATIN.findall(lower))
    if cyrillic + latin == 0:
        return OTHER
    if (
        cyrillic
        and len(_NOT_RUSSIAN_CYRILLIC.findall(lower)) > _MAX_OTHER_CYRILLIC_SHARE * cyrillic
    ):
        return OTHER
    share = cyrillic / (cyrillic + latin)
    if share >= 0.5:
        return "ru"
    words = _WORD.findall(lower)
    ru_hits = sum(1 for w in words if w in _RU_FUNCTION)
    en_hits = sum(1 for w in words if w in _EN_FUNCTION)
    cyrillic_words = sum(1 for w in words if _CYRILLIC.match(w))
    if cyrillic_words * 2 >= len(words) or (cyrillic_words * 4 >= len(words) and ru_hits):
        return "ru"
    if en_hits >= _MIN_ENGLISH_SHARE * len(words) or len(words) <= _SHORT_TEXT_WORDS:
        return "en"
    return OTHER
