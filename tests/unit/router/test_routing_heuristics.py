"""Stage 1 through the router: inflections, typos, hard cases, help and off-topic requests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from services.router.routing import ContextRouter, RouteContext, RouteName
from services.router.routing.heuristics import followup_shaped

pytestmark = pytest.mark.unit

CONTEXT = RouteContext(now=datetime(2025, 3, 12, 15, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def router() -> ContextRouter:
    return ContextRouter(llm=None, registry=CollectorRegistry())


async def heuristic(router: ContextRouter, query: str) -> RouteName:
    decision = await router.route(query, CONTEXT)
    assert decision.stage in ("heuristic", "cache"), (query, decision)
    return decision.route


@pytest.mark.parametrize(
    ("query", "route"),
    [
        ("Сделай дайджест за неделю", "digest"),
        ("Дайджеста за вчера не было, пришли", "digest"),
        ("Дайджесты за последнюю неделю", "digest"),
        ("Составь сводку", "digest"),
        ("Нужна сводка новостей", "digest"),
        ("Сводочку за утро", "digest"),
        ("Summarize the last 6 hours", "digest"),
        ("Тренды недели", "trend"),
        ("Покажи тренды", "trend"),
        ("Что в трендах?", "trend"),
        ("Трендовые темы", "trend"),
        ("Анализ трендов за месяц", "trend"),
        ("What's trending?", "trend"),
        ("Show me the trends", "trend"),
        ("Горячие темы", "trend"),
        ("Популярные темы в каналах", "trend"),
    ],
)
async def test_inflected_forms(router: ContextRouter, query: str, route: RouteName) -> None:
    assert await heuristic(router, query) == route


@pytest.mark.parametrize(
    ("query", "route"),
    [
        ("дайжест за неделю", "digest"),
        ("Сделай дайджэст", "digest"),
        ("трэнды за неделю", "trend"),
        ("sumary of todays news", "digest"),
        ("digets for last week", "digest"),
        ("trendng topics", "trend"),
    ],
)
async def test_typos_in_cue_words(router: ContextRouter, query: str, route: RouteName) -> None:
    assert await heuristic(router, query) == route


@pytest.mark.parametrize(
    ("query", "route"),
    [
        ("Почему тренд на удалёнку сошёл на нет?", "qa"),
        ("What did analysts say about the trend in mortgage rates?", "qa"),
        ("Summarize what Putin said about the economy", "qa"),
        ("Что главного произошло за неделю?", "digest"),
        ("What were the main news yesterday?", "digest"),
        ("Что нового за сегодня?", "digest"),
        ("Как получить дайджест?", "help"),
        ("Что с моим последним дайджестом?", "memory"),
        ("Is my trends request still running?", "memory"),
        ("Напиши дайджест за сегодня", "digest"),
        ("Напиши стихотворение про осень", "unsupported"),
        ("Что каналы пишут о погоде в Сочи?", "qa"),
        ("Помоги написать резюме для работы", "unsupported"),
        ("Подготовь резюме новостей за месяц", "digest"),
    ],
)
async def test_hard_cases(router: ContextRouter, query: str, route: RouteName) -> None:
    assert await heuristic(router, query) == route


@pytest.mark.parametrize(
    ("query", "route"),
    [
        ("Привет", "help"),
        ("Hello there!", "help"),
        ("Спасибо!", "help"),
        ("Что ты умеешь?", "help"),
        ("help", "help"),
        ("/start", "help"),
        ("Какая погода будет завтра в Москве?", "unsupported"),
        ("What's the weather forecast for tomorrow?", "unsupported"),
        ("Write me a poem about autumn", "unsupported"),
        ("Write a Python function that reverses a string", "unsupported"),
        ("Сколько будет 2+2*2?", "unsupported"),
        ("Переведи на английский: доброе утро", "unsupported"),
    ],
)
async def test_help_and_unsupported(router: ContextRouter, query: str, route: RouteName) -> None:
    assert await heuristic(router, query) == route


@pytest.mark.parametrize(
    ("rest", "has_window", "shaped"),
    [
        ("а что еще", False, True),
        ("подробный", False, True),
        ("what else", False, True),
        ("tell me more", False, True),
        ("а", True, True),  # "а вчера?"
        ("and", True, True),  # "and yesterday?"
        ("", True, True),  # "вчера?"
        ("а", False, False),
        ("а какой тренд", False, False),
        ("что писать про сбер", True, False),
    ],
)
def test_followup_shape(rest: str, has_window: bool, shaped: bool) -> None:
    assert followup_shaped(rest, has_window) is shaped


@pytest.mark.parametrize(
    ("query", "route"),
    [
        ("Дай мне краткую хронику", "digest"),
        ("Which topics are on the rise this week", "trend"),
        ("Расскажи мне сказку", "unsupported"),
        ("Как ты устроен", "help"),
    ],
)
async def test_semantic_stage_places_paraphrases_without_cue_words(
    router: ContextRouter, query: str, route: RouteName
) -> None:
    decision = await router.route(query, CONTEXT)
    assert (decision.route, decision.stage) == (route, "semantic")
