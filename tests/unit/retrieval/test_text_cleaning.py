"""Cleaning and language detection on real posts of the shipped sample and on XQuAD."""

from __future__ import annotations

import json

import pytest

from services.retrieval.domain.text import OTHER, clean, detect_language
from tools.dataset import data_dir

pytestmark = pytest.mark.unit

# Real posts of tg-ru-news-channels (footers as the channels write them).
MOSCOW = (
    "Доллар упал до 104₽, евро — ниже 110₽.\n\n"
    "🔴 [Подписаться](https://t.me/moscowtoplive) | [Прислать новость](https://t.me/moscowtop02_bot)"
)
SHOT = (
    "Барабанщику может грозить до 12 лет колонии за нарушение ПДД.\n\n"
    "🎯[ Подписывайся на SHOT](https://t.me/shot_shot)\n\n📩 [Прислать новость](https://t.me/shot_go)"
)
TOPOR = (
    "Предыдущий рекорд пока принадлежит **Лайзе Спаркс**.\n\nРекорды, которые мы заслужили.\n\n"
    "[👉 ](https://t.me/+mXumAD42hYpkOWUy)[Топор +18. Подписаться](https://t.me/+FbzcRreHknc1ZWM6)"
)
BBC = (
    "Волки представляют угрозу для скота.\n\n"
    "__Читать нас без VPN можно здесь: ____bit.ly/bbcrussian__"
)
TPROGER = (
    "Кстати, автор оставил [гайд по сборке](https://www.hackster.io/charlesdiaz/tars), так что "
    "сделать такого себе — вполне реально!\n\n#ии #робототехника"
)
BANKSTA = "86% россиян признали, что «ничего не знают» о федеральном бюджете. @banksta"
SPLIT_LABEL = (
    "Доллар упал ниже 104₽.\n\n[📈Топор. Экономика — \nПодписаться](https://t.me/+KnfcPt4fhT9k)"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (MOSCOW, "Доллар упал до 104₽, евро — ниже 110₽."),
        (SHOT, "Барабанщику может грозить до 12 лет колонии за нарушение ПДД."),
        (TOPOR, "Предыдущий рекорд пока принадлежит Лайзе Спаркс.\nРекорды, которые мы заслужили."),
        (BBC, "Волки представляют угрозу для скота."),
        (
            TPROGER,
            "Кстати, автор оставил гайд по сборке, так что сделать такого себе — вполне реально!",
        ),
        (BANKSTA, "86% россиян признали, что «ничего не знают» о федеральном бюджете."),
        (SPLIT_LABEL, "Доллар упал ниже 104₽."),
    ],
)
def test_clean_strips_markdown_links_emoji_and_channel_footers(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_keeps_link_labels_drops_bare_urls_and_markers() -> None:
    raw = (
        "💕В Москве уже во всю начали [отмечать](https://t.me/dzdmos/15001) День Матери  \n  \n"
        "Подробности `в коде` и ~~зачёркнуто~~ тут: https://example.com/a?b=1 — и всё. #партнёрский"
    )
    assert clean(raw) == (
        "В Москве уже во всю начали отмечать День Матери\n"
        "Подробности в коде и зачёркнуто тут: — и всё."
    )


def test_clean_keeps_a_one_line_post_that_mentions_subscribing() -> None:
    post = "Мишустин поручил Минобороны РФ подписать документ по достижении договоренности"
    assert clean(post) == post
    assert clean("Когда осваиваешь новый фреймворк без документации:") != ""


def test_clean_drops_the_line_left_dangling_by_a_removed_footer() -> None:
    raw = "Главное за день.\nМы в других соцсетях:\n[VK](https://vk.com/x) | [OK](https://ok.ru/x)"
    assert clean(raw) == "Главное за день."


def test_clean_of_a_footer_only_or_emoji_only_post_is_empty() -> None:
    assert (
        clean("❤ [Подписаться](https://t.me/moscowtop) | [Прислать новость](https://t.me/b)") == ""
    )
    assert clean("🤫🤫🤫\n\n#кек") == ""
    assert clean("") == ""


def test_clean_is_idempotent_on_the_dataset() -> None:
    folder = data_dir() / "tg-ru-news-channels" / "raw"
    texts = [item["text"] for item in json.loads(next(folder.glob("*.json")).read_text())[:300]]
    for text in texts:
        once = clean(text)
        assert clean(once) == once


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Набиуллина сообщила, что ЦБ допускает повышение ключевой ставки.", "ru"),
        ("Telegram сбоит.", "ru"),
        ("Как настроить тестирование с pytest и GitHub Actions в вашем проекте на Go", "ru"),
        ("The Panthers defense gave up just 308 points, ranking sixth in the league.", "en"),
        ("Pro Bowl", "en"),
        ("Die Regierung hat heute einen neuen Haushalt beschlossen und vorgestellt", OTHER),
        ("Україна отримала нову партію допомоги від партнерів", OTHER),
        ("12:30 — 104₽", OTHER),
        ("", OTHER),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_detect_language_is_right_on_every_xquad_paragraph_and_question() -> None:
    for language in ("ru", "en"):
        path = data_dir() / "xquad-ru-en" / f"xquad.{language}.dev.json"
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
        texts = [
            text
            for article in doc["data"]
            for paragraph in article["paragraphs"]
            for text in [paragraph["context"], *(qa["question"] for qa in paragraph["qas"])]
        ]
        wrong = [t for t in texts if detect_language(t) != language]
        assert len(texts) > 700
        assert wrong == []
