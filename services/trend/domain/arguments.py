"""An event's arguments as a post states them — the days and the people it names — and when
two groups of posts cannot be reports of one event.

Two posts about one saga share most of their words: the weather forecast for 8 November and
the one for 16 November, the coach's and the defenceman's comments on one match, the OSCE's
and the DNR's statements on one disengagement. Words alone cannot tell them apart (on the
``ru-news-clustering`` pairs no threshold on any similarity we have does, ``make
eval-trend``); what differs is what event coreference looks at besides the predicate: the
event's *time* and its *participants*. So, on top of the similarity decision
(``domain.similarity``), two groups are not one story when

- both name calendar days and no day of one is within ``DAY_SLACK`` of a day of the other.
  A post's days are those its lead names (headline and first sentence: where a news post
  says when; days further on are mostly background) — "8 ноября", "08.11.2024", "November
  8", and fixed-date holidays such as "День Победы"; a date stating a year other than the
  post's own is a reference ("впервые с 16 марта 2022 года"), not the event's day, and is
  left out;
- or both name someone in full (a ``PER`` entity of two capitalised words or more: the
  tagger's lone words and lower-case phrases are too often not people) and they share no
  name part (the Snowball stems of the words of every ``PER`` entity, so "Кудрин" and
  "Алексея Кудрина" share "кудрин").

A group's days and people are those of all its members, so the test only splits off a post
whose days or people a story has not seen at all, and an argument a post leaves out never
conflicts. Days come from the text (regular expressions: natasha's ``DatesExtractor``
measured 7.2 ms per post on the replay, three times the service's whole per-post cost; these
take 0.06 ms); people from the entities of ``posts.indexed.v1``.

Measured (``make eval-trend``): on the 40 pairs the test keeps apart 4 pairs labelled
different and none labelled same (story-pair F1 0.84 → 0.913). On the replay of the shipped
window it keeps 25 of 5 403 posts out of the story their words matched
(``trend_posts_kept_apart_total``). Read one by one (``docs/trend.md``), 14 of those report
another event, 7 the same one, and 4 are unclear. The days are right all 6 times; the
people only about half the time. Nothing here is fitted to the pairs, but the rules were
chosen after reading the errors of both pools.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

from services.trend.domain.lexical import stem

Day = tuple[int, int]
"""A calendar day without its year: ``(month, day)``."""

DAY_SLACK: Final = 1
"""Days this close count as the same (a report dated the day after the event it names)."""

_RU_MONTHS: Final = (
    "январ",
    "феврал",
    "март",
    "апрел",
    "ма[яй](?![а-я])",
    "июн",
    "июл",
    "август",
    "сентябр",
    "октябр",
    "ноябр",
    "декабр",
)
_EN_MONTHS: Final = (
    "jan(?:uary)?",
    "feb(?:ruary)?",
    "mar(?:ch)?",
    "apr(?:il)?",
    "may",
    "june?",
    "july?",
    "aug(?:ust)?",
    "sep(?:t|tember)?",
    "oct(?:ober)?",
    "nov(?:ember)?",
    "dec(?:ember)?",
)
_HOLIDAYS: Final = (
    (r"защитника отечества", (2, 23)),
    (r"международн\w* женск\w* д(?:ень|ня|ню|нем)", (3, 8)),
    (r"д(?:ень|ня|ню|нем) победы", (5, 9)),
    (r"д(?:ень|ня|ню|нем) россии", (6, 12)),
    (r"д(?:ень|ня|ню|нем) народного единства", (11, 4)),
)
"""Fixed-date public holidays a Russian post names instead of the day (movable ones and
those whose day differs between churches or countries are left out)."""
_DAY: Final = r"(?<![\d.])(?P<day>3[01]|[12]\d|0?[1-9])"
_YEAR: Final = r"(?:,?\s+(?P<year>(?:19|20)\d\d)(?!\d))?"
_RU_MONTH: Final = tuple(re.compile(name) for name in _RU_MONTHS)
_EN_MONTH: Final = tuple(re.compile(name) for name in _EN_MONTHS)
_RU_DATE: Final = re.compile(
    _DAY + r"(?:-?го)?\s+(?P<month>" + "|".join(_RU_MONTHS) + ")" + r"[а-я]*" + _YEAR
)
_EN_DAY_MONTH: Final = re.compile(
    _DAY + r"(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>" + "|".join(_EN_MONTHS) + r")\b" + _YEAR
)
_EN_MONTH_DAY: Final = re.compile(
    r"\b(?P<month>"
    + "|".join(_EN_MONTHS)
    + r")\.?\s+"
    + _DAY
    + r"(?:st|nd|rd|th)?\b"
    + _YEAR
    + r"(?![.:]?\d)"
)
_NUMERIC: Final = re.compile(
    r"(?<![\d.])(?P<day>3[01]|[12]\d|0[1-9])\.(?P<month>1[0-2]|0[1-9])"
    r"(?:\.(?P<year>(?:19|20)?\d\d))?(?![\d])"
)
LEAD_SEGMENTS: Final = 2
"""Lines or sentences that make a post's lead: the headline and the first sentence."""
_SEGMENT: Final = re.compile(r"(?<=[.!?…])\s+|\s*\n\s*")
_NAME_WORD: Final = re.compile(r"[^\W\d_]+")
_HOLIDAY: Final = tuple((re.compile(pattern), day) for pattern, day in _HOLIDAYS)


def _day(match: re.Match[str], months: tuple[re.Pattern[str], ...], year: int | None) -> Day | None:
    """The day a date match names; ``None`` when it is no calendar day or carries a year
    other than ``year`` (a reference to another year: "впервые с 16 марта 2022 года", "до 31
    декабря 2025 года" — not the day of this event)."""
    stated = match.group("year")
    if stated is not None and year is not None:
        full = int(stated) if len(stated) == 4 else 2000 + int(stated)
        if full != year:
            return None
    name, day = match.group("month"), int(match.group("day"))
    month = (
        int(name)
        if name.isdigit()
        else next(k + 1 for k, pattern in enumerate(months) if pattern.fullmatch(name))
    )
    try:
        date(2000, month, day)  # a leap year: 29 February is a day
    except ValueError:
        return None
    return (month, day)


def days(text: str, year: int | None = None) -> frozenset[Day]:
    """The calendar days ``text`` names (see the module docstring); with ``year`` (the post's
    own), a date stating another year is left out."""
    lowered = text.lower().replace("ё", "е")
    found: set[Day | None] = set()
    for pattern, months in (
        (_RU_DATE, _RU_MONTH),
        (_EN_DAY_MONTH, _EN_MONTH),
        (_EN_MONTH_DAY, _EN_MONTH),
        (_NUMERIC, ()),
    ):
        found.update(_day(m, months, year) for m in pattern.finditer(lowered))
    found.update(day for pattern, day in _HOLIDAY if pattern.search(lowered))
    return frozenset(d for d in found if d is not None)


def lead(text: str) -> str:
    """The headline and first sentence of a post: where a news post says when its event
    happened (the inverted pyramid); days named further on are mostly background — the
    election a protest is about, the day a cruise set out."""
    return " ".join(_SEGMENT.split(text.strip(), maxsplit=LEAD_SEGMENTS)[:LEAD_SEGMENTS])


def event_days(text: str, year: int | None = None) -> frozenset[Day]:
    """The days a post's lead names (:func:`lead`, :func:`days`)."""
    return days(lead(text), year)


def person_parts(names: Iterable[str]) -> frozenset[str]:
    """The name parts of people (``PER`` entities' normalised forms): the stem of each word
    of three letters or more."""
    return frozenset(
        stem(word)
        for name in names
        for word in _NAME_WORD.findall(name.lower().replace("ё", "е"))
        if len(word) >= 3
    )


def _ordinal(day: Day) -> int:
    return date(2000, *day).timetuple().tm_yday


def _apart(a: Day, b: Day) -> int:
    """Days between two calendar days, across the turn of the year too."""
    gap = abs(_ordinal(a) - _ordinal(b))
    return min(gap, 366 - gap)


def days_conflict(a: Collection[Day], b: Collection[Day]) -> bool:
    """Both name days and none of one is within ``DAY_SLACK`` of one of the other."""
    if not a or not b:
        return False
    return all(_apart(x, y) > DAY_SLACK for x in a for y in b)


def full_name(surface: str) -> bool:
    """Whether a ``PER`` entity, as the text spells it, is a person named in full: two words
    or more, each capitalised and none an acronym ("Виктор Хедман", "Чо Гук"; not "Хедман",
    nor a phrase the tagger took for a name, such as "Топ-работница" or "Выделя ЦОД")."""
    words = _NAME_WORD.findall(surface)
    return len(words) >= 2 and all(
        word[0].isupper() and (len(word) == 1 or not word.isupper()) for word in words
    )


@dataclass(frozen=True, slots=True)
class Participants:
    """The people a group of posts names: every name part, and whether one was in full."""

    parts: frozenset[str] = frozenset()
    named: bool = False

    @classmethod
    def of(cls, people: Iterable[tuple[str, str]]) -> Participants:
        """From ``PER`` entities as ``(surface text, normalised form)``."""
        people = list(people)
        return cls(
            person_parts(normal for _, normal in people),
            any(full_name(surface) for surface, _ in people),
        )

    def __or__(self, other: Participants) -> Participants:
        return Participants(self.parts | other.parts, self.named or other.named)


def people_conflict(a: Participants, b: Participants) -> bool:
    """Both name someone in full and they share no name part."""
    return a.named and b.named and a.parts.isdisjoint(b.parts)


def conflicting(
    days_a: Collection[Day], people_a: Participants, days_b: Collection[Day], people_b: Participants
) -> str | None:
    """Why two groups cannot be one event (module docstring): ``"days"``, ``"people"``, or
    ``None`` when nothing they name contradicts."""
    if days_conflict(days_a, days_b):
        return "days"
    if people_conflict(people_a, people_b):
        return "people"
    return None
