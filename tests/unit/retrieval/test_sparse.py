"""The BM25 sparse encoder: stems, stable ids, saturation and length normalisation."""

from __future__ import annotations

import math

import pytest

from services.retrieval.domain.sparse import Bm25Encoder, term_id, terms

pytestmark = pytest.mark.unit

POST = (
    "Набиуллина сообщила, что ЦБ допускает повышение ключевой ставки на ближайшем заседании "
    "совета директоров, но это не предопределено."
)


def test_terms_are_snowball_stems_without_stopwords_per_script() -> None:
    assert terms("Сколько очков уступила защита «Пэнтерс»?") == ["очк", "уступ", "защит", "пэнтерс"]
    assert terms("How many points did the Panthers defense surrender?") == [
        "mani", "point", "panther", "defens", "surrend",
    ]  # fmt: skip
    assert terms("Интернет2 и Ёлка") == ["интернет", "2", "елк"]


def test_inflections_share_a_term() -> None:
    assert terms("Сбербанка") == terms("Сбербанк") == terms("сбербанком")


def test_term_ids_are_stable_unsigned_32_bit() -> None:
    # Pinned: a changed id would silently orphan every stored sparse vector.
    assert term_id("сбербанк") == 0xABA1F0C7
    assert term_id("сбербанк") != term_id("сбербанка")
    ids = {term_id(t) for t in terms(POST)}
    assert all(0 <= i < 2**32 for i in ids)


def test_document_weights_follow_bm25_saturation_and_length() -> None:
    encoder = Bm25Encoder(k1=1.2, b=0.75, avg_len=4.0)
    vector = encoder.encode_document("ставка ставка ставки банк", "ru")
    assert list(vector.indices) == sorted(set(vector.indices))
    weights = dict(zip(vector.indices, vector.values, strict=True))
    norm = 1.2 * (1 - 0.75 + 0.75 * 4 / 4.0)
    assert weights[term_id("ставк")] == pytest.approx(3 * 2.2 / (3 + norm))
    assert weights[term_id("банк")] == pytest.approx(1 * 2.2 / (1 + norm))


def test_longer_documents_weigh_a_term_less_unless_b_is_zero() -> None:
    short = Bm25Encoder(b=0.75, avg_len=10).encode_document("ставка банк", "ru")
    long = Bm25Encoder(b=0.75, avg_len=10).encode_document(
        "ставка банк " + " ".join(f"слово{i}" for i in range(30)), "ru"
    )
    flat = Bm25Encoder(b=0.0, avg_len=10)
    key = term_id("ставк")
    assert (
        dict(zip(long.indices, long.values, strict=True))[key]
        < dict(zip(short.indices, short.values, strict=True))[key]
    )
    assert flat.encode_document("ставка банк", "ru").values[0] == pytest.approx(1.0)


def test_query_weights_are_one_per_distinct_term() -> None:
    vector = Bm25Encoder().encode_query("ставка ставки ставку ЦБ", "ru")
    assert vector.indices == tuple(sorted({term_id("ставк"), term_id("цб")}))
    assert vector.values == (1.0, 1.0)


def test_dot_product_times_idf_ranks_the_matching_post_first() -> None:
    encoder = Bm25Encoder(avg_len=12.0)
    docs = [
        POST,
        "Доллар упал до 104₽, евро — ниже 110₽.",
        "В Москве ожидаются ледяной дождь, мокрый снег и гололедица, предупреждает МЧС.",
    ]
    vectors = [encoder.encode_document(d, "ru") for d in docs]
    df: dict[int, int] = {}
    for v in vectors:
        for i in v.indices:
            df[i] = df.get(i, 0) + 1
    query = encoder.encode_query("Что ЦБ решит о ключевой ставке?", "ru")

    def score(v: object) -> float:
        weights = dict(zip(v.indices, v.values, strict=True))  # type: ignore[attr-defined]
        return sum(
            weights.get(i, 0.0) * math.log(1 + (3 - df.get(i, 0) + 0.5) / (df.get(i, 0) + 0.5))
            for i in query.indices
        )

    scores = [score(v) for v in vectors]
    assert scores[0] > 0
    assert scores[1] == scores[2] == 0


def test_empty_text_and_invalid_parameters() -> None:
    assert Bm25Encoder().encode_document("", "ru").indices == ()
    assert Bm25Encoder().encode_query("и в на", "ru").indices == ()
    with pytest.raises(ValueError, match="avg_len"):
        Bm25Encoder(avg_len=0)
