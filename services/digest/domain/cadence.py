"""When a scheduled digest is due: cadences as local wall-clock times in a time zone.

Three forms, written the way a person says them (``Cadence.parse`` gives the canonical text):

- ``daily HH:MM[,HH:MM…]``: at those local times every day;
- ``weekly DAY[,DAY…] HH:MM[,HH:MM…]`` (``mon``…``sun``): at those times on those days;
- ``every Nh`` (N divides 24): at local 00:00, N:00, 2N:00… every day.

A slot is a local time turned into an instant with the zone's rules (``zoneinfo``). Where a
clock change makes a local time ambiguous or missing, PEP 495 decides: a time repeated when
clocks go back runs once, at its first occurrence (``fold=0``); a time skipped when clocks go
forward runs at the same offset as before the change (02:30 in a one-hour gap is 03:30 new
time). Two local times that land on one instant are one slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_HOURS: Final = (1, 2, 3, 4, 6, 8, 12, 24)
MAX_TEXT: Final = 120
_CLOCK: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_EVERY: Final = re.compile(r"^every (\d{1,2})h$")
_SCAN_DAYS: Final = 9
"""Local days looked at around an instant: a week between slots at most, plus a day each
side for zone offsets."""


class CadenceError(ValueError):
    """A cadence or time zone that cannot be used; the message says what to write instead."""


def zone_of(name: str) -> tzinfo:
    """The time zone of an IANA name (``Europe/Moscow``); ``UTC`` needs no zone database.
    Raises ``CadenceError`` for an unknown name."""
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CadenceError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Moscow or UTC"
        ) from None


@dataclass(frozen=True)
class Cadence:
    """Parsed cadence: local ``times`` on ``weekdays`` (0 = Monday) in ``zone``."""

    text: str
    times: tuple[time, ...]
    weekdays: frozenset[int]
    zone: tzinfo

    @classmethod
    def parse(cls, text: str, timezone: str = "UTC") -> Cadence:
        """Parse ``text`` (case and extra spaces ignored) in the IANA ``timezone``. Raises
        ``CadenceError`` saying which part is wrong."""
        zone = zone_of(timezone)
        words = text.strip().lower().split()
        if len(text) > MAX_TEXT or not words:
            raise CadenceError(_usage(text))
        everyday = frozenset(range(7))
        if words[0] == "daily" and len(words) == 2:
            times = _times(words[1], text)
            return cls(f"daily {_fmt(times)}", times, everyday, zone)
        if words[0] == "weekly" and len(words) == 3:
            days = _weekdays(words[1], text)
            times = _times(words[2], text)
            names = ",".join(WEEKDAYS[d] for d in sorted(days))
            return cls(f"weekly {names} {_fmt(times)}", times, days, zone)
        every = _EVERY.match(" ".join(words))
        if every:
            hours = int(every.group(1))
            if hours not in EVERY_HOURS:
                raise CadenceError(
                    f"bad cadence {text!r}: every N hours needs N in "
                    f"{', '.join(map(str, EVERY_HOURS))} (a divisor of 24)"
                )
            times = tuple(time(h) for h in range(0, 24, hours))
            return cls(f"every {hours}h", times, everyday, zone)
        raise CadenceError(_usage(text))

    def slots_on(self, day: date) -> list[datetime]:
        """The slots of the local ``day`` as UTC instants, sorted and distinct."""
        if day.weekday() not in self.weekdays:
            return []
        found = {datetime.combine(day, t, tzinfo=self.zone).astimezone(UTC) for t in self.times}
        return sorted(found)

    def next_after(self, when: datetime) -> datetime:
        """The first slot strictly after ``when`` (aware)."""
        return min(s for s in self._around(when) if s > when)

    def latest_at_or_before(self, when: datetime) -> datetime:
        """The last slot at or before ``when`` (aware)."""
        return max(s for s in self._around(when) if s <= when)

    def count_between(self, start: datetime, end: datetime, *, cap: int = 1000) -> int:
        """How many slots fall in ``[start, end)``, counting at most ``cap``."""
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date() + timedelta(days=1)
        n = 0
        while day <= last and n < cap:
            n += sum(1 for s in self.slots_on(day) if start <= s < end)
            day += timedelta(days=1)
        return min(n, cap)

    def _around(self, when: datetime) -> list[datetime]:
        if when.tzinfo is None:
            raise ValueError("cadence computations need an aware datetime")
        local = when.astimezone(self.zone).date()
        return [
            s
            for offset in range(-_SCAN_DAYS, _SCAN_DAYS + 1)
            for s in self.slots_on(local + timedelta(days=offset))
        ]


def _usage(text: str) -> str:
    return (
        f"bad cadence {text[:MAX_TEXT]!r}: write 'daily HH:MM', 'weekly mon,thu HH:MM' or "
        "'every Nh' (several times comma-separated, e.g. 'daily 08:00,20:00')"
    )


def _times(word: str, text: str) -> tuple[time, ...]:
    out = set()
    for part in word.split(","):
        m = _CLOCK.match(part)
        if m is None:
            raise CadenceError(f"bad cadence {text!r}: {part!r} is not a 24-hour time HH:MM")
        out.add(time(int(m.group(1)), int(m.group(2))))
    return tuple(sorted(out))


def _weekdays(word: str, text: str) -> frozenset[int]:
    out = set()
    for part in word.split(","):
        if part not in WEEKDAYS:
            raise CadenceError(
                f"bad cadence {text!r}: {part!r} is not a day ({', '.join(WEEKDAYS)})"
            )
        out.add(WEEKDAYS.index(part))
    return frozenset(out)


def _fmt(times: tuple[time, ...]) -> str:
    return ",".join(t.strftime("%H:%M") for t in times)
