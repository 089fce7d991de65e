"""Time phrases → a ``TimeWindow`` relative to ``now``, Russian and English.

Patterns read the lemma text (``за последних трёх дней`` is ``за последний три день``), so
inflected forms need no listing. Calendar phrases ("сегодня", "yesterday", "с понедельника",
"this week") start at midnight in the timezone of ``now`` (UTC when ``now`` is naive) and
keep wall-clock days across daylight-saving changes; rolling phrases ("за последние 6
часов", "past 3 days", "за неделю") count back from ``now`` in absolute time. Results are
UTC. When a query has several phrases the most specific kind wins ("сегодня утром" is
"this morning", not "today"); every phrase found is stripped from the text the other
stages compare.

Conventions: "за неделю", "past week", "for the week" = the last 7 days (``week``); "на
прошлой неделе", "last week" = the previous calendar week (``last week``); "на этой
неделе", "this week" = since Monday (``this week``); a month is 30 days, a year 365;
"за сутки", "за день", "past day" = ``last 24h``; "неделю назад", "N days ago" = that
calendar day (``7d ago``, ``Nd ago``); "утром", "this morning" = midnight to noon.
Future phrases ("завтра", "на выходные", "next weekend") give no window; a bare "weekend"
is the last (or current) one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from services.router.routing.model import TimeWindow

_NUMBERS: Final = {
    "один": 1, "одна": 1, "one": 1,
    "два": 2, "две": 2, "двое": 2, "пара": 2, "two": 2, "couple": 2,
    "три": 3, "трое": 3, "three": 3, "несколько": 3, "few": 3, "several": 3,
    "четыре": 4, "four": 4, "пять": 5, "five": 5, "шесть": 6, "six": 6,
    "семь": 7, "seven": 7, "восемь": 8, "eight": 8, "девять": 9, "nine": 9,
    "десять": 10, "ten": 10, "двенадцать": 12, "twelve": 12,
}  # fmt: skip
_WEEKDAYS: Final = {
    "понедельник": 0, "monday": 0, "вторник": 1, "tuesday": 1, "среда": 2, "wednesday": 2,
    "четверг": 3, "thursday": 3, "пятница": 4, "friday": 4, "суббота": 5, "saturday": 5,
    "воскресенье": 6, "воскресение": 6, "sunday": 6,
}  # fmt: skip
_ENGLISH_DAYS: Final = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

_NUM: Final = r"(?P<n>\d{1,3}|" + "|".join(_NUMBERS) + r")"
_UNIT: Final = r"(?P<unit>час|hours?|hrs?|день|days?|сутки|неделя|weeks?|месяц|months?|год|years?)"
_DAY: Final = r"(?P<day>" + "|".join(_WEEKDAYS) + r")"
_THIS: Final = r"(?:этот|это|текущий)"
_LAST_RU: Final = r"(?:последний|прошлый)"


@dataclass(frozen=True, slots=True)
class _Local:
    """``now`` in its own timezone, with its midnight."""

    now: datetime
    midnight: datetime

    @classmethod
    def of(cls, now: datetime) -> _Local:
        local = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        return cls(local, local.replace(hour=0, minute=0, second=0, microsecond=0))

    def days_back(self, days: int) -> datetime:
        """Midnight ``days`` calendar days ago (wall clock, so DST-safe with zoneinfo)."""
        # Aware arithmetic is wall-clock arithmetic: zoneinfo recomputes the offset.
        return self.midnight - timedelta(days=days)

    @property
    def monday(self) -> datetime:
        return self.days_back(self.now.weekday())


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def _window(since: datetime | None, until: datetime | None, label: str) -> TimeWindow:
    return TimeWindow(_utc(since), _utc(until), label)


def _number(match: re.Match[str]) -> int:
    raw = match.groupdict().get("n")
    if raw is None:
        return 1
    return int(raw) if raw.isdigit() else _NUMBERS[raw]


def _unit(match: re.Match[str]) -> str:
    unit = match.group("unit")
    for prefix, canonical in (("час", "h"), ("hour", "h"), ("hr", "h"), ("сутки", "24h")):
        if unit.startswith(prefix):
            return canonical
    for prefix, canonical in (("д", "d"), ("day", "d"), ("нед", "w"), ("week", "w")):
        if unit.startswith(prefix):
            return canonical
    return "mo" if unit.startswith(("мес", "month")) else "y"


def _rolling(match: re.Match[str], local: _Local) -> TimeWindow:
    """The last N units up to now: ``last 6h``, ``last 24h``, ``week``, ``last 3d``…"""
    n, unit = _number(match), _unit(match)
    hours = {"h": 1, "24h": 24, "d": 24, "w": 24 * 7, "mo": 24 * 30, "y": 24 * 365}[unit] * n
    if unit == "24h" or (unit == "d" and n == 1):
        label = f"last {hours}h"
    elif n == 1 and unit in ("w", "mo", "y"):
        label = {"w": "week", "mo": "month", "y": "year"}[unit]
    else:
        label = f"last {n}{unit}"
    since = local.now.astimezone(UTC) - timedelta(hours=hours)
    return TimeWindow(since, None, label)


def _ago(match: re.Match[str], local: _Local) -> TimeWindow:
    """That calendar day (``3d ago``); hours ago read as the last N hours."""
    n, unit = _number(match), _unit(match)
    if unit in ("h", "24h"):
        return _rolling(match, local)
    days = n * {"d": 1, "w": 7, "mo": 30, "y": 365}[unit]
    return _window(local.days_back(days), local.days_back(days - 1), f"{days}d ago")


def _calendar(kind: str) -> Callable[[re.Match[str], _Local], TimeWindow]:
    def build(match: re.Match[str], local: _Local) -> TimeWindow:
        now, midnight = local.now, local.midnight
        if kind == "this morning":
            noon = midnight.replace(hour=12)
            return _window(midnight, None if now < noon else noon, kind)
        if kind == "today":
            return _window(midnight, None, kind)
        if kind == "yesterday":
            return _window(local.days_back(1), midnight, kind)
        if kind == "day before yesterday":
            return _window(local.days_back(2), local.days_back(1), kind)
        if kind == "this week":
            return _window(local.monday, None, kind)
        if kind == "last week":
            return _window(local.monday - timedelta(days=7), local.monday, kind)
        if kind == "weekend":
            if now.weekday() >= 5:
                return _window(local.days_back(now.weekday() - 5), None, kind)
            return _window(local.monday - timedelta(days=2), local.monday, kind)
        first = midnight.replace(day=1)
        if kind == "this month":
            return _window(first, None, kind)
        if kind == "last month":
            previous = (first - timedelta(days=1)).replace(day=1)
            return _window(previous, first, kind)
        january = first.replace(month=1)
        if kind == "this year":
            return _window(january, None, kind)
        return _window(january.replace(year=january.year - 1), january, "last year")

    return build


def _since_day(match: re.Match[str], local: _Local) -> TimeWindow:
    day = _WEEKDAYS[match.group("day")]
    back = (local.now.weekday() - day) % 7
    return _window(local.days_back(back), None, f"since {_ENGLISH_DAYS[day]}")


def _rolling_one(match: re.Match[str], local: _Local) -> TimeWindow:
    """ "За неделю", "past month", "in the last hour": one unit back from now."""
    return _rolling(match, local)


_Builder = Callable[[re.Match[str], _Local], TimeWindow]

_BACK: Final = (
    r"(?:(?:за|в течение|на протяжении) (?:последний |прошлый )?"
    r"|(?:последний|прошлый) "
    r"|(?:(?:in|over|for|during|within|from) )?(?:the )?(?:last|past|previous) |for )"
)
"""What makes "N units" a period up to now: "за", "последние", "past", "over the last"."""

_PREPOSITION: Final = r"(?:за|на|с|со|в|к|from|for|of|on|by|since) "
"""Taken out with the phrase it introduces, so "что нового за сегодня" leaves "что новый"."""

# Most specific first: the first kind that matches anywhere decides the window.
_PATTERNS: Final[tuple[tuple[re.Pattern[str], _Builder], ...]] = tuple(
    (re.compile(rf"\b(?:{_PREPOSITION})?(?:{pattern})\b"), builder)
    for pattern, builder in (
        (rf"(?:{_NUM} |a |an )?{_UNIT} (?:назад|ago)", _ago),
        (rf"{_BACK}{_NUM} (?:of )?{_UNIT}", _rolling),
        (r"позавчера|позавчерашний|day before yesterday", _calendar("day before yesterday")),
        (r"(?:сегодня )?утром|(?:с|за|этот|сегодняшний) утро|this morning",
         _calendar("this morning")),
        (r"вчера|вчерашний|yesterdays?", _calendar("yesterday")),
        (r"сегодня|сегодняшний|today|todays", _calendar("today")),
        (rf"(?:с|since) {_DAY}", _since_day),
        (rf"{_THIS} неделя|this week", _calendar("this week")),
        (r"прошлый неделя|(?<!the )last week|previous week",
         _calendar("last week")),
        (rf"{_THIS} месяц|this month", _calendar("this month")),
        (r"прошлый месяц|(?<!the )last month|previous month",
         _calendar("last month")),
        (rf"(?:в|за) {_THIS} год|this year", _calendar("this year")),
        (r"(?:в|за) прошлый год|(?<!the )last year|previous year", _calendar("last year")),
        (rf"(?:за|в|на протяжении) (?:{_THIS} |{_LAST_RU} )?выходной"
         r"|(?:over|during|on) the weekend|(?:this|last|past) weekend"
         r"|(?<!на )(?<!next )(?<!coming )(?:выходной|weekend)", _calendar("weekend")),
        (r"(?:(?:за|в течение|на протяжении) (?:последний |прошлый )?"
         r"|(?:in|over|for|during|within|from) the (?:last |past )?"
         rf"|(?:the )?(?:last|past) ){_UNIT}", _rolling_one),
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Found:
    """The window of a query, and its lemma text with every time phrase taken out."""

    window: TimeWindow | None
    rest: str


def find_window(lemma_text: str, now: datetime) -> Found:
    """The time window a lemma text names relative to ``now`` (None without a phrase)."""
    local = _Local.of(now)
    window: TimeWindow | None = None
    rest = lemma_text
    for pattern, build in _PATTERNS:
        match = pattern.search(rest)
        if match is None:
            continue
        if window is None:
            window = build(match, local)
        rest = pattern.sub(" ", rest)
    return Found(window, " ".join(rest.split()))
