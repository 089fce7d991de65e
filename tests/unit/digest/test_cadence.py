"""Cadences: parsing (canonical text, clear errors), the next and latest slot in a time zone
across clock changes, and counting missed slots. Every instant is given, none read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.digest.domain.cadence import Cadence, CadenceError

pytestmark = pytest.mark.unit


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("daily 08:00", "daily 08:00"),
        ("  Daily   20:30,08:00 ", "daily 08:00,20:30"),
        ("weekly thu,MON 07:05", "weekly mon,thu 07:05"),
        ("every 6h", "every 6h"),
        ("EVERY 24h", "every 24h"),
    ],
)
def test_parse_gives_canonical_text(text: str, canonical: str) -> None:
    assert Cadence.parse(text, "Europe/Moscow").text == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("*/5 * * * *", "write 'daily HH:MM'"),
        ("daily 8am", "'8am' is not a 24-hour time"),
        ("daily 24:00", "'24:00' is not a 24-hour time"),
        ("weekly funday 08:00", "'funday' is not a day"),
        ("every 5h", "a divisor of 24"),
        ("every 0h", "a divisor of 24"),
        ("hourly", "write 'daily HH:MM'"),
        ("", "write 'daily HH:MM'"),
    ],
)
def test_bad_cadence_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(CadenceError, match=message):
        Cadence.parse(text)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../etc/passwd", "", "utc+3"])
def test_unknown_time_zone(zone: str) -> None:
    with pytest.raises(CadenceError, match="unknown time zone"):
        Cadence.parse("daily 08:00", zone)


def test_daily_in_a_time_zone() -> None:
    c = Cadence.parse("daily 08:00", "Europe/Moscow")  # UTC+3, no DST
    assert c.next_after(utc(2024, 12, 4, 4, 59)) == utc(2024, 12, 4, 5, 0)
    # strictly after: a slot is never "next" at its own instant
    assert c.next_after(utc(2024, 12, 4, 5, 0)) == utc(2024, 12, 5, 5, 0)
    assert c.latest_at_or_before(utc(2024, 12, 4, 5, 0)) == utc(2024, 12, 4, 5, 0)
    assert c.latest_at_or_before(utc(2024, 12, 4, 4, 59)) == utc(2024, 12, 3, 5, 0)


def test_local_date_not_utc_date_decides_the_day() -> None:
    # 23:30 in Tokyo on Monday is 14:30 UTC on Monday; 08:00 Tokyo on Tuesday is Monday 23:00 UTC
    c = Cadence.parse("weekly tue 08:00", "Asia/Tokyo")
    assert c.next_after(utc(2024, 12, 2, 14, 30)) == utc(2024, 12, 2, 23, 0)


def test_spring_forward_keeps_wall_clock_time_and_shifts_a_missing_one() -> None:
    berlin = Cadence.parse("daily 08:00", "Europe/Berlin")
    # CET (UTC+1) until 2024-03-31 02:00, CEST (UTC+2) after: 08:00 local each day
    assert berlin.next_after(utc(2024, 3, 30, 8)) == utc(2024, 3, 31, 6, 0)
    assert berlin.next_after(utc(2024, 3, 29, 8)) == utc(2024, 3, 30, 7, 0)
    # 02:30 does not exist that night: run at the old offset, i.e. 03:30 CEST (01:30 UTC)
    gap = Cadence.parse("daily 02:30", "Europe/Berlin")
    assert gap.next_after(utc(2024, 3, 30, 12)) == utc(2024, 3, 31, 1, 30)
    assert gap.next_after(utc(2024, 3, 31, 1, 30)) == utc(2024, 4, 1, 0, 30)


def test_fall_back_runs_a_repeated_time_once() -> None:
    # 2024-11-03 01:30 happens twice in New York (EDT then EST): one slot, the first
    c = Cadence.parse("daily 01:30", "America/New_York")
    first = c.next_after(utc(2024, 11, 2, 12))
    assert first == utc(2024, 11, 3, 5, 30)  # 01:30 EDT
    assert c.next_after(first) == utc(2024, 11, 4, 6, 30)  # next day, 01:30 EST
    hourly = Cadence.parse("every 1h", "America/New_York")
    slots = hourly.slots_on(datetime(2024, 11, 3).date())
    assert len(slots) == 24  # 25 real hours that day, the repeated one runs once
    assert len(set(slots)) == len(slots)


def test_every_n_hours_in_a_spring_forward_night_has_no_duplicate_slot() -> None:
    c = Cadence.parse("every 1h", "Europe/Berlin")
    slots = c.slots_on(datetime(2024, 3, 31).date())
    assert len(slots) == 23  # 02:00 and 03:00 are one instant that night
    assert slots == sorted(set(slots))


def test_every_six_hours_aligned_to_local_midnight() -> None:
    c = Cadence.parse("every 6h", "Asia/Yekaterinburg")  # UTC+5
    assert c.next_after(utc(2024, 12, 4, 0, 0)) == utc(2024, 12, 4, 1, 0)  # 06:00 local
    assert c.next_after(utc(2024, 12, 4, 1, 0)) == utc(2024, 12, 4, 7, 0)


def test_weekly_on_two_days() -> None:
    c = Cadence.parse("weekly mon,thu 09:00", "UTC")
    wed = utc(2024, 12, 4, 12)
    assert c.latest_at_or_before(wed) == utc(2024, 12, 2, 9)
    assert c.next_after(wed) == utc(2024, 12, 5, 9)
    assert c.next_after(utc(2024, 12, 5, 9)) == utc(2024, 12, 9, 9)


def test_missed_slots_are_counted_between_next_due_and_the_latest() -> None:
    c = Cadence.parse("daily 08:00", "Europe/Moscow")
    due = utc(2024, 12, 1, 5)
    now = utc(2024, 12, 4, 6)  # down for three days and an hour
    latest = c.latest_at_or_before(now)
    assert latest == utc(2024, 12, 4, 5)
    assert c.count_between(due, latest) == 3  # 1st, 2nd, 3rd: collapsed into the 4th
    assert c.count_between(latest, latest) == 0
    hourly = Cadence.parse("every 1h", "UTC")
    assert hourly.count_between(due, due + timedelta(days=365)) == 1000  # capped


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        Cadence.parse("daily 08:00").next_after(datetime(2024, 12, 4))
