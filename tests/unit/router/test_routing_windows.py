"""Time phrases → windows, relative to a fixed ``now``: labels, bounds, timezones, DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.router.routing.text import analyse
from services.router.routing.windows import find_window

pytestmark = pytest.mark.unit

# Wednesday 12 March 2025, 15:00 UTC.
NOW = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)


def window(query: str, now: datetime = NOW) -> tuple[str | None, datetime | None, datetime | None]:
    found = find_window(analyse(query).lemma_text, now).window
    return (None, None, None) if found is None else (found.label, found.since, found.until)


def utc(day: int, hour: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "label"),
    [
        ("Дайджест за сегодня", "today"),
        ("Какой курс евро на сегодня", "today"),
        ("summary of today's news", "today"),
        ("Что случилось в Курске сегодня утром?", "this morning"),
        ("Сводочка за утро", "this morning"),
        ("what happened this morning", "this morning"),
        ("Что писали вчера?", "yesterday"),
        ("обзор за вчерашний день", "yesterday"),
        ("yesterday's digest", "yesterday"),
        ("Что сказал Песков позавчера?", "day before yesterday"),
        ("the day before yesterday", "day before yesterday"),
        ("за последние 6 часов", "last 6h"),
        ("за последних трёх дней", "last 3d"),
        ("в течение последних 5 часов", "last 5h"),
        ("за последние пару дней", "last 2d"),
        ("за сутки", "last 24h"),
        ("за двое суток", "last 48h"),
        ("за последний час", "last 1h"),
        ("за день", "last 24h"),
        ("in the last 24 hours", "last 24h"),
        ("over the past three days", "last 3d"),
        ("for the past two weeks", "last 2w"),
        ("за неделю", "week"),
        ("за последнюю неделю", "week"),
        ("over the past week", "week"),
        ("for the week", "week"),
        ("на этой неделе", "this week"),
        ("this week", "this week"),
        ("на прошлой неделе", "last week"),
        ("за прошлую неделю", "last week"),
        ("last week", "last week"),
        ("неделю назад", "7d ago"),
        ("3 дня назад", "3d ago"),
        ("a week ago", "7d ago"),
        ("с понедельника", "since monday"),
        ("со вторника", "since tuesday"),
        ("since Friday", "since friday"),
        ("за месяц", "month"),
        ("past month", "month"),
        ("в этом месяце", "this month"),
        ("в прошлом месяце", "last month"),
        ("в этом году", "this year"),
        ("за выходные", "weekend"),
        ("over the weekend", "weekend"),
    ],
)
def test_phrases_have_their_label(query: str, label: str) -> None:
    assert window(query)[0] == label


@pytest.mark.parametrize(
    "query",
    [
        "Какая погода будет завтра?",
        "Прогноз погоды на выходные",
        "Поставь будильник на 7 утра",
        "Good morning",
        "Доброе утро",
        "Book a table for two",
        "в каком году основан телеграм",
        "дайджест",
    ],
)
def test_no_window_without_a_past_period(query: str) -> None:
    assert window(query) == (None, None, None)


@pytest.mark.parametrize(
    ("query", "since", "until"),
    [
        ("сегодня", utc(12), None),
        ("вчера", utc(11), utc(12)),
        ("позавчера", utc(10), utc(11)),
        ("за последние 6 часов", utc(12, 9), None),
        ("за неделю", utc(5, 15), None),
        ("на этой неделе", utc(10), None),
        ("на прошлой неделе", utc(3), utc(10)),
        ("с понедельника", utc(10), None),
        ("с пятницы", utc(7), None),
        ("since Wednesday", utc(12), None),
        ("неделю назад", utc(5), utc(6)),
        ("в этом месяце", utc(1), None),
        ("в прошлом месяце", utc(1, month=2), utc(1)),
        ("за выходные", utc(8), utc(10)),
        ("сегодня утром", utc(12), utc(12, 12)),
    ],
)
def test_bounds_relative_to_now(query: str, since: datetime, until: datetime | None) -> None:
    _, got_since, got_until = window(query)
    assert (got_since, got_until) == (since, until)


def test_this_morning_is_open_before_noon() -> None:
    assert window("this morning", utc(12, 9))[1:] == (utc(12), None)


def test_weekend_in_progress_runs_to_now() -> None:
    saturday_noon = utc(15, 12)
    assert window("за выходные", saturday_noon)[1:] == (utc(15), None)


def test_calendar_words_start_at_local_midnight() -> None:
    """01:30 in Moscow is still the previous day in UTC: "today" follows Moscow."""
    now = datetime(2025, 3, 12, 1, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    label, since, until = window("сегодня", now)
    assert label == "today"
    assert since == datetime(2025, 3, 11, 21, 0, tzinfo=UTC)
    assert since is not None
    assert since.tzinfo is UTC
    assert until is None


def test_naive_now_is_read_as_utc() -> None:
    assert window("вчера", datetime(2025, 3, 12, 15, 0))[1:] == (utc(11), utc(12))


def test_yesterday_across_daylight_saving_is_23_hours() -> None:
    """New York moved its clocks on 9 March 2025: that local day had 23 hours."""
    now = datetime(2025, 3, 10, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    _, since, until = window("yesterday", now)
    assert since == datetime(2025, 3, 9, 5, 0, tzinfo=UTC)  # midnight EST (UTC-5)
    assert until == datetime(2025, 3, 10, 4, 0, tzinfo=UTC)  # midnight EDT (UTC-4)
    assert until - since == timedelta(hours=23)


def test_rolling_windows_count_absolute_time() -> None:
    now = datetime(2025, 3, 9, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    _, since, _ = window("last 24 hours", now)
    assert since == now.astimezone(UTC) - timedelta(hours=24)


def test_most_specific_phrase_wins_and_all_are_stripped() -> None:
    found = find_window(analyse("Что нового за сегодня утром?").lemma_text, NOW)
    assert found.window is not None
    assert found.window.label == "this morning"
    assert found.rest == "что новый"
