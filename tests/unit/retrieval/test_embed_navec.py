"""The offline navec embedder: unit vectors, batch consistency, meaning over wording."""

from __future__ import annotations

import numpy as np
import pytest

from services.retrieval.adapters.embedders.navec import NavecEmbedder

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def embedder() -> NavecEmbedder:
    return NavecEmbedder()


def _cos(embedder: NavecEmbedder, a: str, b: str) -> float:
    va, vb = embedder.vectors([a, b])
    return float(va @ vb)


def test_model_name_names_vectors_weighting_and_dimension(embedder: NavecEmbedder) -> None:
    assert embedder.model_name == "navec-news-v1-sif-300"
    assert embedder.dim == 300
    other = NavecEmbedder(sif_a=1e-3, lemmas=False, remove_common=False)
    assert other.model_name == "navec-news-v1-sif0.001-forms-raw-300"
    with pytest.raises(ValueError, match="sif_a"):
        NavecEmbedder(sif_a=0)


async def test_embed_returns_unit_vectors_in_order_batch_independent(
    embedder: NavecEmbedder,
) -> None:
    texts = [
        "Доллар упал до 104₽, евро — ниже 110₽.",
        "The Panthers defense gave up just 308 points.",
        "",
        "и в на",  # stopwords only
        "Сегодня в Москве ожидаются ледяной дождь, мокрый снег и гололедица.",
    ]
    vectors = await embedder.embed(texts)
    assert len(vectors) == len(texts)
    assert all(len(v) == 300 for v in vectors)
    assert np.allclose(np.linalg.norm(np.asarray(vectors), axis=1), 1.0, atol=1e-5)
    one_by_one = [(await embedder.embed([t]))[0] for t in texts]
    assert np.allclose(vectors, one_by_one, atol=1e-5)
    assert np.allclose(vectors[2], vectors[3])  # no known content word: the <unk> vector
    big = await embedder.embed(texts * 30)  # goes through the worker thread
    assert np.allclose(big[:5], vectors, atol=1e-5)


def test_inflections_of_one_statement_stay_close(embedder: NavecEmbedder) -> None:
    same = _cos(
        embedder, "Сбербанк снизил ставки по вкладам", "Сбербанка снижение ставок по вкладу"
    )
    assert same > 0.8


def test_related_news_is_closer_than_unrelated_news(embedder: NavecEmbedder) -> None:
    rouble = "Курс рубля к доллару и евро резко упал на бирже"
    dollar = "Доллар подорожал до 104 рублей, евро — до 110 рублей"
    weather = "В Москве ожидается ледяной дождь, мокрый снег и гололедица"
    assert _cos(embedder, rouble, dollar) > _cos(embedder, rouble, weather) + 0.2
    football = "The Broncos defeated the Steelers and won the football championship"
    soccer = "The team scored in the final minutes and won the match"
    banana = "Bananas and apples are rich in vitamins"
    assert _cos(embedder, football, soccer) > _cos(embedder, football, banana)


def test_frequent_words_weigh_less_than_rare_ones(embedder: NavecEmbedder) -> None:
    base = "гололедица"
    with_filler = "гололедица сегодня будет очень сильной"
    with_topic = "гололедица землетрясение"
    assert _cos(embedder, base, with_filler) > _cos(embedder, base, with_topic)
