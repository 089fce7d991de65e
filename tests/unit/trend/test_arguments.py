"""Event arguments: the days and people a post names, and when two groups contradict."""

from __future__ import annotations

import pytest

from contracts.v1.posts import Entity
from services.trend.domain.arguments import (
    Participants,
    conflicting,
    days,
    days_conflict,
    event_days,
    full_name,
    lead,
    people_conflict,
)
from services.trend.domain.clusterer import Clusterer
from services.trend.domain.model import StoryParams
from services.trend.intake import to_incoming
from tests.unit.trend.factories import indexed, post

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Прогноз погоды на 8 ноября", {(11, 8)}),
        ("в субботу, 16 ноября, по области ожидается снег", {(11, 16)}),
        ("переносится на 9 ноября. Об этом сегодня, 8 ноября, заявил", {(11, 8), (11, 9)}),
        ("по состоянию на 13 часов 4 мая Казань", {(5, 4)}),
        ("Казань оказалась на последнем месте в День Победы", {(5, 9)}),
        ("13:00  12.11.2024 Фото", {(11, 12)}),
        ("на 1-го мая", {(5, 1)}),
        ("on November 8, 2024 and the 3rd of December", {(11, 8), (12, 3)}),
        ("Nov. 30", {(11, 30)}),
        ("в ноябре 2024 года, в майские праздники, 3 майских", set()),
        ("31 февраля и 2024 ноября", set()),
        ("счёт 3:2, цена 1.5 млн", set()),
    ],
)
def test_days_a_text_names(text: str, named: set[tuple[int, int]]) -> None:
    assert days(text, 2024) == named


def test_a_date_of_another_year_is_no_day_of_this_event() -> None:
    text = "Курс превысил 110 рублей впервые с 16 марта 2022 года, 27 ноября 2024 года"
    assert days(text, 2024) == {(11, 27)}
    assert days("ограничено с 1 декабря 2024 года до 1 марта 2025 года", 2024) == {(12, 1)}
    # Without the post's year every stated day counts.
    assert days(text) == {(3, 16), (11, 27)}


def test_an_event_day_is_one_the_lead_names() -> None:
    text = (
        "Протесты в Тбилиси продолжаются\nУтром 3 декабря демонстранты снова вышли к парламенту. "
        "Поводом стали итоги выборов 26 октября."
    )
    assert lead(text) == (
        "Протесты в Тбилиси продолжаются Утром 3 декабря демонстранты снова вышли к парламенту."
    )
    assert event_days(text, 2024) == {(12, 3)}
    assert days(text, 2024) == {(12, 3), (10, 26)}
    assert lead("Одно предложение. Второе! Третье?") == "Одно предложение. Второе!"


def test_days_conflict_only_when_both_name_days_more_than_a_day_apart() -> None:
    assert days_conflict({(11, 8)}, {(11, 16)})
    assert not days_conflict({(11, 8)}, {(11, 9)})  # a report dated the day after
    assert not days_conflict({(11, 8), (11, 16)}, {(11, 16)})
    assert not days_conflict({(12, 31)}, {(1, 1)})  # across the turn of the year
    assert not days_conflict(set(), {(11, 16)})  # a post that names no day contradicts none


def test_full_names_are_two_capitalised_words() -> None:
    assert full_name("Виктор Хедман")
    assert full_name("Деми Роуз (Demi Rose)")
    assert full_name("Чо Гук")
    assert not full_name("Хедман")
    assert not full_name("Топ-работница")
    assert not full_name("выделя ЦОД")


def test_people_conflict_only_when_both_name_someone_in_full_and_share_no_name() -> None:
    cooper = Participants.of([("Джон Купер", "джон купер"), ("Пакетта", "пакетта")])
    hedman = Participants.of([("Виктор Хедман", "виктор хедман")])
    kudrin = Participants.of([("Кудрин", "кудрин")])
    kudrina = Participants.of([("Алексея Кудрина", "алексей кудрин")])
    assert people_conflict(cooper, hedman)
    assert not people_conflict(kudrina, kudrin)  # a lone surname names nobody in full
    assert not people_conflict(kudrina, Participants.of([("Алексей Кудрин", "алексей кудрин")]))
    assert not people_conflict(cooper | hedman, hedman)  # a story's people are all its members'
    assert not people_conflict(cooper, Participants())
    assert conflicting(set(), cooper, set(), hedman) == "people"
    assert conflicting({(11, 8)}, cooper, {(11, 16)}, hedman) == "days"
    assert conflicting({(11, 8)}, cooper, {(11, 8)}, cooper) is None


def test_intake_reads_the_days_from_the_text_and_the_people_from_per_entities() -> None:
    payload = indexed(1).model_copy(
        update={
            "text": "Прогноз на 8 ноября. Как сообщил Виктор Хедман, в Стокгольме снег.",
            "entities": [
                Entity(text="Виктор Хедман", normalized="виктор хедман", label="PER"),
                Entity(text="Стокгольме", normalized="стокгольм", label="LOC"),
            ],
        }
    )
    incoming = to_incoming("acme", payload)
    assert incoming.days == {(11, 8)}  # in the lead, with the post's year (2024)
    assert incoming.people == Participants(frozenset({"виктор", "хедма"}), named=True)


WEATHER = "Прогноз погоды: в Амурской области ожидается снег, ветер северо-западный, мороз до -20."
MATCH = "Тампа обыграла Баффало 3:2 в Стокгольме, матч регулярного чемпионата НХЛ."


def _clusterer() -> Clusterer:
    return Clusterer(StoryParams(), bucket_s=300, window_s=3600)


def test_a_post_naming_another_day_founds_its_own_story() -> None:
    c = _clusterer()
    first = c.assign(post(1, text=WEATHER, days={(11, 8)}))
    same_day = c.assign(post(2, channel="c2", minutes=1, text=WEATHER, days={(11, 8)}))
    other_day = c.assign(post(3, channel="c3", minutes=2, text=WEATHER, days={(11, 16)}))
    undated = c.assign(post(4, channel="c4", minutes=3, text=WEATHER))
    assert first is not None
    assert same_day is not None
    assert other_day is not None
    assert undated is not None
    assert same_day.story is first.story
    assert other_day.created
    assert other_day.kept_apart == ("days",)
    assert not undated.created
    assert undated.kept_apart == ()
    assert first.story.days == {(11, 8)}


def test_a_post_naming_other_people_founds_its_own_story_and_shared_names_join() -> None:
    cooper = Participants.of([("Джон Купер", "джон купер")])
    hedman = Participants.of([("Виктор Хедман", "виктор хедман")])
    c = _clusterer()
    first = c.assign(post(1, text=MATCH, people=cooper))
    other = c.assign(post(2, channel="c2", minutes=1, text=MATCH, people=hedman))
    again = c.assign(post(3, channel="c3", minutes=2, text=MATCH, people=hedman))
    assert first is not None
    assert other is not None
    assert again is not None
    assert other.created
    assert other.kept_apart == ("people",)
    assert again.story is other.story
    assert again.kept_apart == ()  # the better match contradicts nothing
    assert len(c.stories) == 2


def test_stories_that_name_different_days_do_not_merge() -> None:
    c = _clusterer()
    c.assign(post(1, channel="a", text=WEATHER, days={(11, 8)}))
    c.assign(post(2, channel="b", minutes=1, text=WEATHER, days={(11, 16)}))
    # An undated post matching both joins one; the two stories still contradict each other.
    c.assign(post(3, channel="c", minutes=2, text=WEATHER))
    assert len(c.stories) == 2
