"""Entities, keywords, SimHash and the batch analyser on real Russian and English text."""

from __future__ import annotations

import json
import random

import pytest

from services.retrieval.domain.model import Analysis
from services.retrieval.domain.text import (
    OTHER,
    analyze_batch,
    clean,
    extract_entities,
    hamming,
    keywords,
    simhash,
)
from tools.dataset import data_dir

pytestmark = pytest.mark.unit

RIA = (
    "Германия отказалась от предоставления на государственном уровне кредитной поддержки Грузии "
    "по политическим мотивам, заявила министр по вопросам экономического сотрудничества ФРГ "
    "Свенья Шульце."
)
XQUAD_EN = (
    "The Broncos defeated the Pittsburgh Steelers in the divisional round, 23–16, by scoring 11 "
    "points in the final three minutes of the game. They then beat the defending Super Bowl XLIX "
    "champion New England Patriots in the AFC Championship Game, 26–18, by intercepting a pass "
    "on New England's 2-point conversion attempt with 17 seconds left on the clock. Despite "
    "Manning's problems with interceptions during the season, he didn't throw any in their two "
    "playoff games. Mr. Peyton Manning was the first to lead two teams."
)


def _keys(entities: tuple[object, ...]) -> set[tuple[str, str]]:
    return {(e.normalized, e.label) for e in entities}  # type: ignore[attr-defined]


def test_russian_entities_are_found_and_lemmatised() -> None:
    (found,) = extract_entities([RIA], ["ru"])
    assert {("германия", "LOC"), ("грузия", "LOC"), ("фрг", "LOC")} <= _keys(found)
    assert {(e.text, e.label) for e in found} >= {
        ("Германия", "LOC"),
        ("Грузии", "LOC"),
        ("Свенья Шульце", "PER"),
    }


def test_russian_entity_keys_are_stable_across_inflections() -> None:
    texts = [
        "Сбербанк снизил ставки по вкладам, сообщил Герман Греф.",
        "Клиенты Сбербанка пожаловались на сбой, рассказал Германа Грефа помощник.",
        "Владимир Путин провёл совещание в Москве.",
        "Песков рассказал о планах Владимира Путина посетить Москву.",
    ]
    found = extract_entities(texts, ["ru"] * 4)
    assert ("сбербанк", "ORG") in _keys(found[0]) & _keys(found[1])
    assert ("владимир путин", "PER") in _keys(found[2]) & _keys(found[3])
    assert ("москва", "LOC") in _keys(found[2]) & _keys(found[3])


def test_a_span_never_crosses_a_line_and_verbs_are_not_names() -> None:
    (found,) = extract_entities(
        ["Вакансия в Открытие\nГде: Санкт-Петербург\nНашли ошибку в коде"], ["ru"]
    )
    assert all("\n" not in e.text for e in found)
    assert ("санкт-петербург", "LOC") in _keys(found)
    assert not any(e.normalized in ("наслать", "найти") for e in found)


def test_english_entities_by_capitalisation() -> None:
    (found,) = extract_entities([XQUAD_EN], ["en"])
    keys = _keys(found)
    assert ("pittsburgh steelers", "MISC") in keys
    assert ("new england patriots", "MISC") in keys
    assert ("super bowl xlix", "MISC") in keys
    assert ("afc championship game", "MISC") in keys
    assert ("peyton manning", "PER") in keys  # after the title "Mr."
    assert ("manning", "MISC") in keys  # "Despite" is a sentence opener, not a name
    assert ("new england", "MISC") in keys  # possessive stripped
    assert not any(k[0] in ("the", "they", "despite", "despite manning") for k in keys)


def test_entities_skip_empty_texts_and_other_languages() -> None:
    found = extract_entities(["", "Angela Merkel besuchte Berlin.", RIA], ["ru", OTHER, "ru"])
    assert found[0] == ()
    assert found[1] == ()
    assert found[2]
    with pytest.raises(ValueError, match="length"):
        extract_entities(["a"], [])


def test_keywords_are_informative_lemmas_without_stopwords_or_verbs() -> None:
    words = keywords(RIA, "ru")
    assert len(words) == 10
    assert {"шульц", "фрг", "германия", "кредитный"} <= set(words)
    assert not {"заявить", "заявила", "отказаться", "по", "на"} & set(words)
    assert keywords(RIA, "ru", k=3) == words[:3]
    repeated = "Сбербанк снизил ставки по вкладам. Ставки по вкладам в Сбербанке упали до 18%."
    assert keywords(repeated, "ru") == ("вклад", "сбербанк", "ставка")
    english = keywords(XQUAD_EN, "en")
    assert {"broncos", "steelers", "manning"} <= set(english)
    assert len({"intercepting", "interceptions"} & set(english)) == 1  # one stem, one keyword
    assert "the" not in english
    assert keywords(RIA, "ru", k=0) == ()
    assert keywords("", "ru") == ()


def test_simhash_of_a_repost_with_another_footer_and_formatting_is_identical() -> None:
    original = (
        "💸Доллар упал **ниже 104 рублей**, евро — **ниже 110 рублей**.\n\n"
        "😄[— Подписаться](https://t.me/+MudQsy2gMds3MmVi)"
    )
    repost = (
        "Доллар упал ниже 104 рублей, евро — ниже 110 рублей!\n\n"
        "🔴 [Подписаться](https://t.me/moscowtoplive) | [Прислать новость](https://t.me/bot)"
    )
    assert hamming(simhash(clean(original)), simhash(clean(repost))) == 0


def test_simhash_light_edits_within_three_bits_unrelated_posts_far_apart() -> None:
    folder = data_dir() / "tg-ru-news-channels" / "raw"
    posts = [
        clean(item["text"])
        for path in sorted(folder.glob("*.json"))[:8]
        for item in json.loads(path.read_text(encoding="utf-8"))[:300]
    ]
    long_posts = [p for p in posts if len(p.split()) >= 120][:60]
    assert len(long_posts) >= 40
    edits = []
    for post in long_posts:
        words = post.split()
        assert hamming(simhash(post), simhash(post.upper().replace(",", " "))) == 0
        edits.append(
            hamming(simhash(post), simhash(" ".join([*words[:10], "сегодня", *words[11:]])))
        )
    assert sum(d <= 3 for d in edits) >= 0.75 * len(edits)
    assert max(edits) <= 8
    rng = random.Random(7)
    usable = [p for p in posts if len(p.split()) >= 8]
    pairs = (rng.sample(usable, 2) for _ in range(3000))
    distances = [hamming(simhash(a), simhash(b)) for a, b in pairs if a != b]
    assert min(distances) > 8
    assert 28 < sum(distances) / len(distances) < 36


def test_simhash_is_64_bit_and_zero_without_content_words() -> None:
    value = simhash(RIA)
    assert 0 < value < 2**64
    assert simhash("") == simhash("и в на") == 0
    assert hamming(0, 2**64 - 1) == 64


def test_analyze_batch_composes_everything_in_order() -> None:
    raw = [
        RIA + "\n\n🔴 [Подписаться на Москву - новостную](https://t.me/moskva_tretiy_rim)",
        "❤ [Подписаться](https://t.me/moscowtop) | [Прислать новость](https://t.me/b)",
        XQUAD_EN,
    ]
    out = analyze_batch(raw)
    assert [a.language for a in out] == ["ru", OTHER, "en"]
    ru, empty, en = out
    assert ru.clean_text == RIA
    assert ru.simhash == simhash(RIA)
    assert ("грузия", "LOC") in _keys(ru.entities)
    assert ru.keywords == keywords(RIA, "ru")
    assert empty == Analysis(clean_text="", language=OTHER, entities=(), keywords=(), simhash=0)
    assert en.entities
    assert en.keywords
    assert analyze_batch(raw, entities=False)[0].entities == ()


def test_batched_ner_agrees_with_natashas_own_tagger_on_real_posts() -> None:
    """Guards the use of slovnet's inference steps (batching by length, regex tokens)."""
    from services.retrieval.domain.text import models
    from services.retrieval.domain.text.entities import russian_spans

    folder = data_dir() / "tg-ru-news-channels" / "raw"
    posts = [
        text
        for path in sorted(folder.glob("*.json"))[6:10]
        for item in json.loads(path.read_text(encoding="utf-8"))[:40]
        if (text := clean(item["text"]))
    ]
    ours = russian_spans(posts)
    theirs = [{(s.start, s.stop, s.type) for s in m.spans} for m in models.ner_tagger().map(posts)]
    common = sum(len(set(a) & b) for a, b in zip(ours, theirs, strict=True))
    total = sum(len(b) for b in theirs)
    assert total > 100
    assert common >= 0.85 * total  # the rest: context at line starts (theirs: "Например" PER)
