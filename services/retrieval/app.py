"""Composition root of the retrieval service."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from servicekit.app import ServiceApp, ServiceKit
from servicekit.cache import TtlLru
from servicekit.clock import Clock
from servicekit.postgres import PostgresResource
from services.retrieval.adapters.embedders.factory import build_embedder
from services.retrieval.adapters.neo4j_graph import Neo4jGraph
from services.retrieval.adapters.postgres_posts import PostgresPosts
from services.retrieval.adapters.qdrant_client_store import QdrantClientStore
from services.retrieval.adapters.qdrant_edge_store import QdrantEdgeStore
from services.retrieval.analysis_pool import AnalyzerPool
from services.retrieval.domain.sparse import Bm25Encoder
from services.retrieval.handlers import posts_deleted, posts_ingested, retrieval_requested
from services.retrieval.indexing import Indexer
from services.retrieval.metrics import RetrievalMetrics, build_metrics
from services.retrieval.ports import (
    Embedder,
    GraphStore,
    PostRepository,
    SparseEncoder,
    VectorStore,
)
from services.retrieval.search import Searcher, SearchMetrics, SearchTuning
from services.retrieval.settings import RetrievalSettings

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class RetrievalDeps:
    """The adapters; tests pass fakes, ``build_app`` builds real ones from settings."""

    repo: PostRepository
    vectors: VectorStore
    graph: GraphStore
    embedder: Embedder
    sparse: SparseEncoder


def build_app(
    settings: RetrievalSettings, deps: RetrievalDeps | None = None, *, clock: Clock | None = None
) -> ServiceApp:
    """Wire the retrieval service: indexing, search, stores; connects on start."""
    kit = ServiceKit(settings, clock=clock)
    if deps is None:
        db = PostgresResource(
            str(settings.postgres_dsn),
            schema="retrieval",
            migrations=MIGRATIONS,
            max_size=settings.postgres_pool_size,
        )
        kit.on_startup("postgres", db.start)
        kit.on_shutdown(db.close)
        kit.add_readiness_check("postgres", db.check)
        deps = _real_deps(settings, db)
    metrics = build_metrics(kit.metrics.registry)
    embedder, vectors, graph = deps.embedder, deps.vectors, deps.graph
    kit.on_startup("qdrant", lambda: vectors.ensure_collection(embedder.dim))
    kit.on_startup("neo4j", graph.ensure_schema)
    kit.on_shutdown(vectors.close)
    kit.on_shutdown(graph.close)
    if isinstance(vectors, QdrantEdgeStore) and settings.edge_optimize_min_points > 0:
        kit.run_in_background("vector optimiser", _optimiser(vectors, settings, metrics))
    # Qdrant and Neo4j being down degrades answers (and fails indexing, which the DLQ
    # retries); it does not make the service unready, so readiness checks only Postgres.
    searcher = Searcher(
        vectors=vectors,
        graph=graph,
        embedder=embedder,
        sparse=deps.sparse,
        cache=TtlLru(settings.cache_size, settings.cache_ttl_s, kit.clock.monotonic),
        tuning=SearchTuning(
            rrf_k=settings.rrf_k,
            dense_weight=settings.dense_weight,
            sparse_weight=settings.sparse_weight,
            graph_weight=settings.graph_weight,
            candidates=settings.candidates,
            leg_timeout_s=settings.leg_timeout_s,
        ),
        metrics=SearchMetrics(on_cache=metrics.cache, on_leg=metrics.leg),
    )
    pool = AnalyzerPool(settings.analysis_workers)
    kit.on_startup("analysis workers", _async(pool.start))
    kit.on_shutdown(pool.close)
    indexer = Indexer(
        repo=deps.repo,
        vectors=vectors,
        graph=graph,
        embedder=embedder,
        sparse=deps.sparse,
        analyzer=pool.analyze,
        chunk=settings.index_chunk,
    )
    kit.consume_batch(
        "posts.ingested.v1",
        posts_ingested.make_handler(
            indexer, searcher, kit.publisher, kit.lifecycle, metrics, embedder.model_name
        ),
        max_records=settings.index_batch_max,
        timeout_ms=settings.index_batch_timeout_ms,
    )
    kit.consume("posts.deleted.v1", posts_deleted.make_handler(indexer, searcher, metrics))
    kit.consume_batch(
        "retrieval.requested.v1",
        retrieval_requested.make_handler(searcher, kit.publisher, kit.lifecycle),
        max_records=settings.search_batch_max,
        timeout_ms=settings.search_batch_timeout_ms,
        in_flight=settings.search_in_flight,
    )
    return kit.build(deps=deps)


def _optimiser(
    vectors: QdrantEdgeStore, settings: RetrievalSettings, metrics: RetrievalMetrics
) -> Callable[[], Awaitable[None]]:
    """Check every few seconds whether the embedded shard should be optimised."""
    interval = max(1.0, settings.edge_optimize_quiet_s)

    async def loop() -> None:
        while True:
            metrics.unoptimized_points.set(vectors.unoptimized_points)
            await asyncio.sleep(interval)
            started = time.monotonic()
            if await vectors.optimize_if_settled(
                min_points=settings.edge_optimize_min_points,
                quiet_s=settings.edge_optimize_quiet_s,
            ):
                metrics.optimize_seconds.observe(time.monotonic() - started)

    return loop


def _async(fn: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        fn()

    return run


def _real_deps(settings: RetrievalSettings, db: PostgresResource) -> RetrievalDeps:
    embedder = _embedder(settings)
    vectors: VectorStore
    if settings.qdrant_url:
        vectors = QdrantClientStore.connect(
            model_name=embedder.model_name,
            url=settings.qdrant_url,
            api_key=settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None,
        )
    else:
        vectors = QdrantEdgeStore(settings.qdrant_edge_path, model_name=embedder.model_name)
    auth = None
    if settings.neo4j_user:
        password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else ""
        auth = (settings.neo4j_user, password)
    graph = Neo4jGraph.connect(settings.neo4j_uri, auth=auth, database=settings.neo4j_database)
    return RetrievalDeps(
        repo=PostgresPosts(db),
        vectors=vectors,
        graph=graph,
        embedder=embedder,
        sparse=Bm25Encoder(),
    )


def _embedder(settings: RetrievalSettings) -> Embedder:
    if settings.embedder == "openai":
        return build_embedder(
            "openai",
            base_url=settings.openai_base_url or "",
            model=settings.openai_model,
            dim=settings.openai_dim,
            api_key=settings.openai_api_key,
        )
    if settings.embedder == "gigachat":
        return build_embedder(
            "gigachat",
            credentials=settings.gigachat_credentials,
            model=settings.gigachat_model,
            scope=settings.gigachat_scope,
            dim=settings.gigachat_dim,
        )
    return build_embedder("offline")
