"""Retrieval quality on XQuAD (ru, en) hidden among the Telegram posts of the shipped sample.

``python -m tools.eval_retrieval``: the dev paragraphs of ``xquad-ru-en`` in both languages
are indexed together with every post of ``tg-ru-news-channels`` (distractors) in an
Qdrant Edge store through the service's own code: the retrieval service's analyzer, navec
embedder, BM25 encoder, ``QdrantEdgeStore`` adapter and ``Searcher`` (RRF, reposts collapse,
MMR). Every dev question is asked three ways — hybrid (dense + sparse legs fused by weighted
RRF), dense only, sparse only — and the rank of its gold paragraph gives recall@1/5/10 and
MRR (reciprocal rank within the top 10, 0 beyond), per language. The table is printed and
written to ``reports/eval-retrieval.json``. Datasets come from ``$TGI_DATA_DIR`` or
``../shared/data``. About a minute on two cores.

The service's RRF is ``score = Σ weight_leg / (k + rank_leg)``. The dense (navec) leg alone is
far weaker than BM25, so the defaults (``SearchTuning``) let it reorder close calls of the
sparse leg without overruling it. They and BM25's k1, b were chosen on these same dev
questions: no held-out split is shipped, so read the figures as tuned.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from contracts.v1.retrieval import RetrieveDocuments
from servicekit.cache import TtlLru
from services.retrieval.adapters.embedders.navec import DEFAULT_SIF_A, NavecEmbedder
from services.retrieval.adapters.qdrant_edge_store import QdrantEdgeStore
from services.retrieval.domain.model import Analysis, IndexedPoint, Post
from services.retrieval.domain.sparse import DEFAULT_B, DEFAULT_K1, Bm25Encoder, terms
from services.retrieval.domain.text import analyze_batch
from services.retrieval.search import MMR_BY_DOMAIN, Searcher, SearchTuning
from tools.dataset import channel_posts, data_dir
from tools.report import write_report

LANGUAGES: Final = ("ru", "en")
MODES: Final = ("hybrid", "dense", "sparse")
TOP: Final = 10
BATCH: Final = 512
TENANT: Final = "eval"
DATE: Final = datetime(2024, 12, 1, tzinfo=UTC)
_TUNING: Final = SearchTuning()


@dataclass(frozen=True, slots=True)
class Question:
    language: str
    text: str
    gold: int
    """Point id of the paragraph that answers it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The knobs of one run (see ``--help``)."""

    rrf_k: int
    dense_weight: float
    sparse_weight: float
    prefetch: int
    mmr_lambda: float | None
    k1: float
    b: float
    sif_a: float
    lemmas: bool
    remove_common: bool
    max_posts: int | None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_xquad(folder: Path) -> tuple[list[str], list[Question]]:
    """Paragraphs of both languages (ids 0..n-1) and their questions."""
    paragraphs: list[str] = []
    questions: list[Question] = []
    for language in LANGUAGES:
        doc = json.loads((folder / f"xquad.{language}.dev.json").read_text(encoding="utf-8-sig"))
        for article in doc["data"]:
            for paragraph in article["paragraphs"]:
                gold = len(paragraphs)
                paragraphs.append(paragraph["context"].lstrip("\ufeff"))
                questions += [Question(language, qa["question"], gold) for qa in paragraph["qas"]]
    return paragraphs, questions


def load_posts(max_posts: int | None) -> list[str]:
    posts: list[str] = []
    for post in channel_posts(on_skip=lambda reason, where: None):
        posts.append(post.text)
        if max_posts is not None and len(posts) >= max_posts:
            break
    return posts


def analyze_all(texts: Sequence[str]) -> list[Analysis]:
    """Cleaning and language of every text (NER off: retrieval does not use it), with progress."""
    analyses: list[Analysis] = []
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH * 4):
        analyses += analyze_batch(texts[start : start + BATCH * 4], entities=False)
        rate = len(analyses) / (time.perf_counter() - started)
        log(f"  analysed {len(analyses)}/{len(texts)} ({rate:.0f} docs/s)")
    return analyses


class NoGraph:
    """xquad paragraphs have no graph: the graph leg is not part of this evaluation."""

    async def ensure_schema(self) -> None: ...

    async def write_posts(self, posts: Sequence[Post]) -> None: ...

    async def delete_posts(self, tenant_id: str, post_ids: Sequence[str]) -> None: ...

    async def expand(
        self, tenant_id: str, post_ids: Sequence[str], *, depth: int, limit: int
    ) -> list[tuple[str, float]]:
        return []

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


async def build_store(
    path: Path, analyses: Sequence[Analysis], embedder: NavecEmbedder, encoder: Bm25Encoder
) -> QdrantEdgeStore:
    """Index every text through the service's own vector-store adapter (post id = position)."""
    store = QdrantEdgeStore(path, model_name=embedder.model_name)
    await store.ensure_collection(embedder.dim)
    started = time.perf_counter()
    for start in range(0, len(analyses), BATCH):
        chunk = analyses[start : start + BATCH]
        dense = await embedder.embed([a.clean_text for a in chunk])
        points = [
            IndexedPoint(
                post=_post(start + offset, a),
                dense=tuple(dense[offset]),
                sparse=encoder.encode_document(a.clean_text, a.language),
            )
            for offset, a in enumerate(chunk)
        ]
        await store.upsert(points)
        done = start + len(chunk)
        if done % (BATCH * 8) == 0 or done == len(analyses):
            rate = done / (time.perf_counter() - started)
            log(f"  indexed {done}/{len(analyses)} ({rate:.0f} docs/s)")
    return store


def _post(n: int, analysis: Analysis) -> Post:
    return Post(
        tenant_id=TENANT,
        post_id=f"{TENANT}:-100{n // 1000 + 1}:{n + 1}",
        channel_id=f"-100{n // 1000 + 1}",
        channel_title=None,
        chat_kind="channel",
        message_id=n + 1,
        date=DATE,
        text=analysis.clean_text,
        analysis=analysis,
    )


def _position(post_id: str) -> int:
    return int(post_id.rsplit(":", 1)[1]) - 1


def score(ranks: Sequence[int | None]) -> dict[str, float]:
    """recall@1/5/10 and MRR@10 of 1-based gold ranks (None: not in the top 10)."""
    n = len(ranks)
    found = [r for r in ranks if r is not None]
    return {
        "n": n,
        "recall@1": round(sum(r <= 1 for r in found) / n, 4),
        "recall@5": round(sum(r <= 5 for r in found) / n, 4),
        "recall@10": round(sum(r <= 10 for r in found) / n, 4),
        "mrr": round(sum(1 / r for r in found) / n, 4),
    }


def evaluate(settings: Settings) -> dict[str, Any]:
    root = data_dir()
    paragraphs, questions = load_xquad(root / "xquad-ru-en")
    log(f"xquad: {len(paragraphs)} paragraphs, {len(questions)} questions")
    posts = load_posts(settings.max_posts)
    log(f"tg-ru-news-channels: {len(posts)} posts as distractors")
    texts = paragraphs + posts
    started = time.perf_counter()
    embedder = NavecEmbedder(
        sif_a=settings.sif_a, lemmas=settings.lemmas, remove_common=settings.remove_common
    )
    analyses = analyze_all(texts)
    avg_len = sum(len(terms(a.clean_text)) for a in analyses) / len(analyses)
    encoder = Bm25Encoder(k1=settings.k1, b=settings.b, avg_len=avg_len)
    log(f"BM25 avg_len {avg_len:.1f} terms per document")
    with tempfile.TemporaryDirectory(prefix="eval-retrieval-") as tmp:
        store = asyncio.run(build_store(Path(tmp) / "edge", analyses, embedder, encoder))
        index_s = time.perf_counter() - started
        log(f"indexed {len(texts)} documents in {index_s:.1f} s; asking questions")
        ranks = asyncio.run(ask(store, questions, embedder, encoder, settings))
        asyncio.run(store.close())
    results = {
        language: {
            mode: score(
                [r for q, r in zip(questions, ranks[mode], strict=True) if q.language == language]
            )
            for mode in MODES
        }
        for language in LANGUAGES
    }
    return {
        "corpus": {"paragraphs": len(paragraphs), "posts": len(posts), "questions": len(questions)},
        "settings": {
            "embedder": embedder.model_name,
            "rrf_k": settings.rrf_k,
            "rrf_weights": {"dense": settings.dense_weight, "sparse": settings.sparse_weight},
            "candidates_per_leg": settings.prefetch,
            "mmr_lambda": settings.mmr_lambda,
            "path": "services.retrieval.search.Searcher over QdrantEdgeStore (the service's code)",
            "bm25": {"k1": settings.k1, "b": settings.b, "avg_len": round(avg_len, 2)},
        },
        "index_seconds": round(index_s, 1),
        "results": results,
    }


async def ask(
    store: QdrantEdgeStore,
    questions: Sequence[Question],
    embedder: NavecEmbedder,
    encoder: Bm25Encoder,
    settings: Settings,
) -> dict[str, list[int | None]]:
    """Every question through the service's :class:`Searcher`, once per mode (legs)."""
    searcher = Searcher(
        vectors=store,
        graph=NoGraph(),
        embedder=embedder,
        sparse=encoder,
        cache=TtlLru(1, 1.0, time.monotonic),
        tuning=SearchTuning(
            rrf_k=settings.rrf_k,
            dense_weight=settings.dense_weight,
            sparse_weight=settings.sparse_weight,
            candidates=settings.prefetch,
            mmr_lambda=settings.mmr_lambda,
            leg_timeout_s=30.0,
        ),
    )
    legs: dict[str, list[str]] = {
        "hybrid": ["dense", "sparse"],
        "dense": ["dense"],
        "sparse": ["sparse"],
    }
    ranks: dict[str, list[int | None]] = {mode: [] for mode in MODES}
    for start in range(0, len(questions), BATCH // 8):
        chunk = questions[start : start + BATCH // 8]
        for mode in MODES:
            answers = await searcher.search_many(
                [
                    (
                        TENANT,
                        RetrieveDocuments(
                            request_id=f"q{start + i}",
                            query=q.text[:2000],
                            domain="qa",
                            top_k=TOP,
                            graph_depth=0,
                            legs=legs[mode],
                        ),
                    )
                    for i, q in enumerate(chunk)
                ]
            )
            for question, answer in zip(chunk, answers, strict=True):
                ids = [_position(d.post_id) for d in answer.documents]
                ranks[mode].append(ids.index(question.gold) + 1 if question.gold in ids else None)
        log(f"  asked {start + len(chunk)}/{len(questions)}")
    return ranks


def print_table(figures: dict[str, Any]) -> None:
    cols = ("recall@1", "recall@5", "recall@10", "mrr")
    print(
        f"\nRetrieval on XQuAD dev + {figures['corpus']['posts']} Telegram posts "
        f"({figures['settings']['embedder']})"
    )
    print(f"  {'language':<9}{'mode':<8}{'n':>6}" + "".join(f"{c:>11}" for c in cols))
    for language, by_mode in figures["results"].items():
        for mode, stats in by_mode.items():
            print(
                f"  {language:<9}{mode:<8}{stats['n']:>6}"
                + "".join(f"{stats[c]:>11.3f}" for c in cols)
            )


def parse(argv: Sequence[str] | None) -> Settings:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--rrf-k", type=int, default=_TUNING.rrf_k)
    p.add_argument("--dense-weight", type=float, default=_TUNING.dense_weight)
    p.add_argument("--sparse-weight", type=float, default=_TUNING.sparse_weight)
    p.add_argument("--prefetch", type=int, default=_TUNING.candidates, help="candidates per leg")
    p.add_argument("--mmr-lambda", type=float, default=MMR_BY_DOMAIN["qa"])
    p.add_argument("--k1", type=float, default=DEFAULT_K1)
    p.add_argument("--b", type=float, default=DEFAULT_B)
    p.add_argument("--sif-a", type=float, default=DEFAULT_SIF_A)
    p.add_argument("--forms", action="store_true", help="navec lookup by word form, not lemma")
    p.add_argument("--keep-common", action="store_true")
    p.add_argument("--max-posts", type=int, default=None, help="fewer distractors (quick runs)")
    a = p.parse_args(argv)
    return Settings(
        rrf_k=a.rrf_k,
        dense_weight=a.dense_weight,
        sparse_weight=a.sparse_weight,
        prefetch=a.prefetch,
        mmr_lambda=a.mmr_lambda,
        k1=a.k1,
        b=a.b,
        sif_a=a.sif_a,
        lemmas=not a.forms,
        remove_common=not a.keep_common,
        max_posts=a.max_posts,
    )


def main(argv: Sequence[str] | None = None) -> None:
    figures = evaluate(parse(argv))
    print_table(figures)
    out = write_report("eval-retrieval", figures)
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
