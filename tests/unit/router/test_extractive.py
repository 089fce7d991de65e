"""Extractive answers: only sentences of retrieved posts, each followed by its marker."""

from __future__ import annotations

import re

import pytest

from services.router.domain.citations import renumber
from services.router.domain.extractive import extract
from services.router.domain.text import content_stems, sentences
from tests.unit.router.fakes import doc

pytestmark = pytest.mark.unit
MARKED = re.compile(r"\s*(.+?) \[(\d+)\]")

DOCS = [
    doc(
        10,
        "Сбербанк повысил ставки по вкладам до 22% годовых. Новые условия действуют с "
        "понедельника.\nПодробнее на сайте банка.",
    ),
    doc(
        11,
        "Погода в Москве: завтра до +3, без осадков. В выходные похолодает.",
        channel="-1001101170442",
        title="Погода",
    ),
    doc(
        12,
        "ВТБ вслед за Сбербанком поднял ставки по депозитам. Максимальная ставка по вкладу "
        "составит 21,5%.",
        channel="-1001237513492",
        title="Банки",
    ),
]


def _claims(text: str) -> list[tuple[str, int]]:
    pieces = MARKED.findall(text)
    assert " ".join(f"{s} [{n}]" for s, n in pieces) == text  # nothing outside claims
    return [(s.strip(), int(n)) for s, n in pieces]


def test_every_sentence_is_quoted_from_the_post_its_marker_names() -> None:
    found = extract("Какие ставки по вкладам у Сбербанка?", DOCS)
    claims = _claims(found.text)
    assert 2 <= len(claims) <= 4
    by_number = {s.n: s for s in found.sources}
    texts = {d.post_id: d.text for d in DOCS}
    for sentence, n in claims:
        assert n in by_number
        assert sentence.rstrip("…") in texts[by_number[n].post_id]
    assert [s.n for s in found.sources] == list(range(1, len(found.sources) + 1))
    assert {s.post_id for s in found.sources} <= {d.post_id for d in DOCS}
    cited = {by_number[n].post_id for _, n in claims}
    assert cited == {s.post_id for s in found.sources}  # no source listed without a claim
    assert "acme:-1001101170442:11" not in cited  # the weather post says nothing of rates


def test_inflected_russian_words_match() -> None:
    # "вклады" / "вкладам" / "вкладу", "ставка" / "ставки": the stems agree.
    assert set(content_stems("вклады ставка")) <= set(content_stems(DOCS[0].text + DOCS[2].text))
    found = extract("вклад ставка", DOCS)
    assert "ставк" in found.text.lower()


def test_sources_carry_permalinks_dates_and_quotes() -> None:
    found = extract("ставки по вкладам", DOCS)
    first = found.sources[0]
    assert first.permalink.startswith("https://t.me/c/")
    assert first.quote
    assert first.quote in next(d.text for d in DOCS if d.post_id == first.post_id)
    assert first.date == next(d.date for d in DOCS if d.post_id == first.post_id)


def test_english_posts_are_split_by_sentence() -> None:
    posts = [
        doc(
            1,
            "The central bank raised its key rate to 21%. Analysts expected it. Mr. Smith "
            "disagreed.",
        ),
        doc(2, "Rates on deposits went up at every large bank this week."),
    ]
    assert sentences(posts[0].text)[:2] == [
        "The central bank raised its key rate to 21%.",
        "Analysts expected it.",
    ]
    found = extract("What happened to the key rate?", posts)
    claims = _claims(found.text)
    assert claims[0] == ("The central bank raised its key rate to 21%.", 1)


def test_no_word_in_common_falls_back_to_lead_sentences_of_the_best_posts() -> None:
    found = extract("Что нового?", DOCS)
    claims = _claims(found.text)
    assert len(claims) >= 2
    assert claims[0][0].startswith("Сбербанк повысил")


def test_near_duplicate_reposts_are_quoted_once() -> None:
    same = "Сбербанк повысил ставки по вкладам до 22% годовых."
    posts = [doc(1, same), doc(2, same, channel="-1001101170442"), DOCS[2]]
    found = extract("ставки по вкладам Сбербанк", posts)
    assert found.text.count(same) == 1


def test_posts_without_sentences_give_an_empty_answer() -> None:
    assert extract("что угодно", [doc(1, ""), doc(2, "📷")]).text == ""


def test_llm_markers_are_checked_and_renumbered() -> None:
    out = renumber("ВТБ поднял ставки [3]. Сбербанк тоже [1][7]. Без источника.", DOCS)
    assert out.text == "ВТБ поднял ставки [1]. Сбербанк тоже [2]. Без источника."
    assert [s.post_id for s in out.sources] == [DOCS[2].post_id, DOCS[0].post_id]
    assert renumber("Ни одного источника [9].", DOCS).sources == []
