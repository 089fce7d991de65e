"""The lexical signal: stems of a post, the tenant's document frequencies, TF-IDF vectors."""

from __future__ import annotations

import math

import pytest

from services.trend.domain.lexical import DocumentFrequencies, dot, norm, stems

pytestmark = pytest.mark.unit


def test_stems_drop_function_words_and_keep_numbers() -> None:
    counts = stems("В Ростове на Дону 121 медик заразился, а в Ростове-на-Дону — ещё 5 медиков.")
    assert counts["ростов"] == 2
    assert counts["медик"] == 2
    assert counts["121"] == counts["5"] == 1
    assert "в" not in counts
    assert "на" not in counts
    assert stems("Ёлка") == stems("елка")


def test_latin_words_get_snowball_english_stems() -> None:
    assert stems("Apple stores and batteries") == stems("apple store and battery")
    assert set(stems("Apple stores and batteries")) == {"appl", "store", "batteri"}


def test_idf_falls_as_a_stem_becomes_common() -> None:
    df = DocumentFrequencies()
    for i in range(10):
        df.add({"курс", f"редкое{i}"})
    assert df.docs == 10
    assert df.idf("курс") == pytest.approx(math.log(11 / 11) + 1)
    assert df.idf("редкое3") == pytest.approx(math.log(11 / 2) + 1)
    assert df.idf("невиданное") == pytest.approx(math.log(11) + 1)
    assert df.idf("курс") < df.idf("редкое3") < df.idf("невиданное")


def test_a_young_stream_weighs_every_stem_alike() -> None:
    vector = DocumentFrequencies().vector({"этн": 1, "пепл": 1})
    assert vector == pytest.approx({"этн": math.sqrt(0.5), "пепл": math.sqrt(0.5)})


def test_vectors_are_unit_and_rare_words_carry_the_cosine() -> None:
    df = DocumentFrequencies()
    for _ in range(50):
        df.add({"заяв", "сообщ"})
    df.add({"этн"})
    a = df.vector({"заяв": 1, "этн": 1})
    b = df.vector({"сообщ": 1, "этн": 1})
    c = df.vector({"заяв": 1, "сообщ": 1})
    assert norm(a) == pytest.approx(1.0)
    assert dot(a, b) > 0.7 > dot(a, c)
    assert df.vector({}) == {}


def test_the_cap_forgets_the_rarest_stems_and_reports_them() -> None:
    df = DocumentFrequencies(cap=4, prune_to=0.5)
    df.add({"а1", "б1"})
    df.add({"а1", "в1"})
    assert df.take_changes() == {"а1": 2, "б1": 1, "в1": 1}
    df.add({"а1", "г1", "д1"})  # five stems > cap 4: keep the two most frequent
    assert df.counts == {"а1": 3, "б1": 1}  # ties by stem
    assert df.take_changes() == {"а1": 3, "в1": 0, "г1": 0, "д1": 0}
    assert df.docs == 3
    assert df.take_changes() == {}


def test_stored_counts_are_adopted_as_they_are() -> None:
    df = DocumentFrequencies()
    df.load(100, [("курс", 40), ("этн", 2)])
    assert df.docs == 100
    assert df.idf("этн") == pytest.approx(math.log(101 / 3) + 1)
    assert df.take_changes() == {}


def test_bad_caps_are_refused() -> None:
    with pytest.raises(ValueError, match="cap"):
        DocumentFrequencies(cap=0)
    with pytest.raises(ValueError, match="prune_to"):
        DocumentFrequencies(prune_to=0.0)
