"""Words, stems and sentences of Russian and English text, for extractive answers.

Stems come from Snowball (PyStemmer, a C extension): "кратер", "кратера", "кратеры" share
one stem, so a question matches a sentence whatever the case of its words. Sentences are cut
with razdel for Cyrillic text and with a regular expression for Latin text; line breaks are
boundaries too, because Telegram posts use them as such.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

import razdel  # type: ignore[import-untyped]  # razdel ships no stubs
import Stemmer  # type: ignore[import-not-found]  # PyStemmer ships no stubs

_WORD: Final = re.compile(r"[^\W_]+", re.UNICODE)
_CYRILLIC: Final = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN: Final = re.compile(r"[a-z]", re.IGNORECASE)
_EN_SENTENCE: Final = re.compile(r"(?<=[.!?…])[\"'”»)]*\s+(?=[\"'“«(]?[A-Z0-9А-ЯЁ])")
_LINES: Final = re.compile(r"\s*\n\s*")
_URL: Final = re.compile(r"https?://\S+|www\.\S+")

STOPWORDS: Final[frozenset[str]] = frozenset(
    """
    а без бы был была были было быть в вам вас весь во вот все всего всех вы где да даже для
    до его ее ей ему если есть еще же за здесь и из или им их к как ко когда кто ли либо мне
    может мы на над надо наш не него нее нет ни них но ну о об однако он она они оно от очень
    по под при с со так также там те тем то того тоже той только том ты у уже хотя чего чем
    что чтобы эта эти это я мой моя мое мои свой сам этот этого этой тот та тут теперь потом
    после перед между через пока раз сейчас тогда какой какая какое какие который которая
    которые ли ведь лишь именно поэтому потому сколько много мало про какие каких расскажи
    скажи подскажи знаешь новости новость новостей пишут писали говорят было случилось
    a about above after again all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its me more most my no nor
    not of off on once only or other our out over own same she should so some such than that
    the their them then there these they this those through to too under until up very was we
    were what when where which while who whom why with would you your tell news say said
    """.replace("ё", "е").split()
)


@lru_cache(maxsize=2)
def _stemmer(algorithm: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(algorithm, 50_000)


def words(text: str) -> list[str]:
    """Lower-case words (letters and digits), ``ё`` folded to ``е``, URLs skipped."""
    return [w.replace("ё", "е") for w in _WORD.findall(_URL.sub(" ", text).lower())]


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """The Snowball stem of one lower-case word: Russian for Cyrillic, English otherwise."""
    if word.isdigit():
        return word
    algorithm = "russian" if _CYRILLIC.search(word) else "english"
    return str(_stemmer(algorithm).stemWord(word))


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning: no stopwords, no one-letter words."""
    return [stem(w) for w in words(text) if len(w) > 1 and w not in STOPWORDS]


def language(text: str) -> str:
    """``ru`` when Cyrillic letters outnumber Latin ones, else ``en``."""
    cyr = len(_CYRILLIC.findall(text))
    lat = len(_LATIN.findall(text))
    return "ru" if cyr >= lat and cyr > 0 else "en"


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, in order; empty ones dropped."""
    out: list[str] = []
    for line in _LINES.split(text.strip()):
        if not line:
            continue
        if language(line) == "ru":
            out.extend(s.text.strip() for s in razdel.sentenize(line))
        else:
            out.extend(s.strip() for s in _EN_SENTENCE.split(line))
    return [s for s in out if s]
