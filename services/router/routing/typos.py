"""Misspelt cue words (``дайжест``, ``трэнды``, ``sumary``, ``digets``) read as the word meant.

Only words the routing stages look for are corrected, and only by one edit (insertion,
deletion, substitution or a swap of neighbours, OSA distance 1) in words of five letters or
more: a typo elsewhere in a query does not matter to routing, and a wider net would turn real
words into cue words. Russian cue words are known in every inflected form (pymorphy3
paradigms), so ``трэнды`` finds ``тренды`` and reads as the lemma ``тренд``. A Cyrillic
word the dictionary knows is never corrected (the caller checks).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Final

import pymorphy3  # type: ignore[import-untyped]  # no stubs

MIN_LENGTH: Final = 5

RU_CUES: Final = (
    "дайджест сводка саммари выжимка обзор итог тренд трендовый трендить популярный "
    "популярность обсуждаемый хайп вирусный погода стихотворение анекдот привет "
    "здравствуйте спасибо сегодня вчера позавчера неделя понедельник выходные месяц"
)
EN_CUES: Final = (
    "digest digests summary summaries summarize summarise summarized recap roundup "
    "headline headlines highlight highlights briefing trend trending trends topic topics popular "
    "viral weather "
    "forecast today todays yesterday yesterdays weekend monday hello thanks"
)


@cache
def _forms() -> dict[str, str]:
    """Every form of every cue word → what it reads as (the lemma for Russian)."""
    morph = pymorphy3.MorphAnalyzer()
    out: dict[str, str] = {}
    for word in RU_CUES.split():
        for parse in morph.parse(word)[:1]:
            for form in parse.lexeme:
                out.setdefault(str(form.word).replace("ё", "е"), word)
        out[word] = word
    for word in EN_CUES.split():
        out[word] = word
    return out


@cache
def _by_key() -> dict[tuple[str, int], list[str]]:
    """Forms indexed by (first letter, length), so a lookup compares a handful."""
    index: dict[tuple[str, int], list[str]] = {}
    for form in _forms():
        index.setdefault((form[0], len(form)), []).append(form)
    return index


def _osa_at_most_one(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are at most one edit (or one swap of neighbours) apart."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True  # one substitution
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    longer, shorter = (a, b) if la > lb else (b, a)
    return longer[i + 1 :] == shorter[i:]


@lru_cache(maxsize=50_000)
def correct(token: str) -> str | None:
    """The cue word ``token`` most likely misspells (its lemma for Russian), or None."""
    forms = _forms()
    exact = forms.get(token)
    if exact is not None:
        return exact
    if len(token) < MIN_LENGTH:
        return None
    index = _by_key()
    # A typo rarely hits the first letter; when it does, the word stays unread (no harm).
    for length in (len(token) - 1, len(token), len(token) + 1):
        for form in index.get((token[0], length), ()):
            if _osa_at_most_one(token, form):
                return forms[form]
    return None
