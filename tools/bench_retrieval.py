"""Ingestion and retrieval benchmark: the whole shipped dataset through the real pipeline.

1. ``ingest``: ``python -m tools.ingest`` publishes every post of tg-ru-news-channels; the
   retrieval service (in this process, real Postgres, Neo4j and Qdrant Edge) indexes them into
   all three stores. Measured from the CLI's start until the last post is marked indexed, with
   seconds per indexing stage (where the time goes).
2. ``search``: request/reply latency over Kafka at 1 and 10 concurrent clients, distinct
   queries (first words of random posts), so the cache does not flatter the numbers.

``python -m tools.bench_retrieval [--limit N]``; ``make bench`` runs it as a section.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

import asyncpg
import neo4j

from contracts.v1.retrieval import RetrieveDocuments
from servicekit.app import ServiceKit
from servicekit.settings import load_settings
from services.retrieval.adapters.qdrant_edge_store import QdrantEdgeStore
from services.retrieval.app import build_app
from services.retrieval.settings import RetrievalSettings
from tools.bench import BenchSettings
from tools.dataset import channel_posts, data_dir
from tools.report import REPO, percentiles_ms, print_table, write_report
from tools.scratch import scratch_database


async def run(dsn: str, bootstrap: str, neo4j_uri: str, *, queries: int = 200) -> dict[str, Any]:
    """Ingest the whole dataset and measure search latency; return the figures."""
    tenant = f"bench{uuid.uuid4().hex[:8]}"
    prefix = f"benchret{uuid.uuid4().hex[:8]}."
    posts = list(channel_posts())
    async with scratch_database(dsn, "bench_retrieval") as db:
        with tempfile.TemporaryDirectory() as qdrant:
            settings = load_settings(
                RetrievalSettings,
                kafka_bootstrap=bootstrap,
                topic_prefix=prefix,
                postgres_dsn=db,
                neo4j_uri=neo4j_uri,
                qdrant_edge_path=qdrant,
                log_level="WARNING",
            )
            app = build_app(settings)
            await app.kit.start()
            try:
                ingest = await _ingest(bootstrap, prefix, tenant, db, len(posts), app.kit)
                ingest["optimise_wait_s"] = await _optimised(app.deps.vectors, settings)
                search = await _search(bootstrap, prefix, tenant, posts, queries)
            finally:
                await app.kit.stop()
                await _drop_graph(neo4j_uri, tenant)
    return {"ingest": ingest, "search_ms": search}


async def _ingest(
    bootstrap: str, prefix: str, tenant: str, db: str, expected: int, kit: ServiceKit
) -> dict[str, Any]:
    started = time.perf_counter()
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tools.ingest",
        str(data_dir() / "tg-ru-news-channels"),
        "--tenant",
        tenant,
        "--bootstrap",
        bootstrap,
        "--topic-prefix",
        prefix,
        "--compression",
        "none",
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conn = await asyncpg.connect(db)
    try:
        done, last_report = 0, started
        while done < expected:
            await asyncio.sleep(1.0)
            done = await conn.fetchval(
                "SELECT count(*) FROM retrieval.posts"
                " WHERE tenant_id = $1 AND indexed_at IS NOT NULL",
                tenant,
            )
            if time.perf_counter() - last_report > 10:
                last_report = time.perf_counter()
                rate = done / (last_report - started)
                print(f"  indexed {done}/{expected} ({rate:.0f} posts/s)", file=sys.stderr)
            if time.perf_counter() - started > 1800:
                raise TimeoutError(f"only {done}/{expected} posts indexed after 30 min")
    finally:
        await conn.close()
    elapsed = time.perf_counter() - started
    cli_rc = await cli.wait()
    stages = {
        s.labels["stage"]: round(s.value, 2)
        for metric in kit.metrics.registry.collect()
        if metric.name == "retrieval_index_stage_seconds"
        for s in metric.samples
        if s.name.endswith("_total")
    }
    return {
        "posts": expected,
        "seconds": round(elapsed, 1),
        "posts_per_s": round(expected / elapsed, 1),
        "cli_exit": cli_rc,
        "stage_seconds": stages,
    }


async def _search(
    bootstrap: str, prefix: str, tenant: str, posts: list[Any], n: int
) -> dict[str, Any]:
    rng = random.Random(7)  # noqa: S311 - reproducible sampling, not security
    texts = [p.text for p in rng.sample(posts, n * 3) if len(p.text.split()) >= 6]
    queries = [" ".join(t.split()[:6]) for t in texts][: n * 2]
    requester = ServiceKit(
        load_settings(
            BenchSettings, kafka_bootstrap=bootstrap, topic_prefix=prefix, consumer_group="asker"
        )
    )
    rpc = requester.rpc()
    await requester.start()
    out: dict[str, Any] = {}
    try:
        for concurrency, batch in ((1, queries[:n]), (10, queries[n:])):
            samples: list[float] = []
            pending = list(batch)

            async def worker(pending: list[str], samples: list[float]) -> None:
                while pending:
                    query = pending.pop()
                    env = requester.publisher.envelope(
                        RetrieveDocuments(
                            request_id=uuid.uuid4().hex, query=query, domain="qa", top_k=5
                        ),
                        topic="retrieval.requested.v1",
                        tenant_id=tenant,
                    )
                    t0 = time.perf_counter()
                    await rpc.request(env, timeout_s=30)
                    samples.append(time.perf_counter() - t0)

            await asyncio.gather(*(worker(pending, samples) for _ in range(concurrency)))
            out[f"concurrency_{concurrency}"] = percentiles_ms(samples)
    finally:
        await requester.stop()
    return out


async def _optimised(vectors: Any, settings: RetrievalSettings) -> float:
    """Wait until the embedded shard was optimised after the import (the service is held
    while it is, which must not fall into the search measurement); seconds waited."""
    started = time.perf_counter()
    while (
        isinstance(vectors, QdrantEdgeStore)
        and vectors.unoptimized_points >= settings.edge_optimize_min_points
    ):
        if time.perf_counter() - started > 600:
            raise TimeoutError("the shard was not optimised within 600 s")
        await asyncio.sleep(1.0)
    return round(time.perf_counter() - started, 1)


async def _drop_graph(uri: str, tenant: str) -> None:
    driver = neo4j.AsyncGraphDatabase.driver(uri, auth=None)
    try:
        while True:
            records, _, _ = await driver.execute_query(
                "MATCH (n {tenant_id: $t}) WITH n LIMIT 5000 DETACH DELETE n RETURN count(*) AS c",
                t=tenant,
            )
            if not records or records[0]["c"] == 0:
                return
    finally:
        await driver.close()


def print_figures(figures: dict[str, Any]) -> None:
    ingest = figures["ingest"]
    print("\nIngestion, whole dataset: CLI → Kafka → retrieval → Postgres + Qdrant + Neo4j")
    print(
        f"  posts {ingest['posts']}   seconds {ingest['seconds']}   posts/s {ingest['posts_per_s']}"
    )
    total = sum(ingest["stage_seconds"].values()) or 1.0
    print("  where the time goes (indexing stages):")
    for stage, secs in sorted(ingest["stage_seconds"].items(), key=lambda kv: -kv[1]):
        print(f"    {stage:<10}{secs:>8.1f} s  {100 * secs / total:5.1f} %")
    print_table(
        "Retrieval over request/reply, milliseconds",
        [
            (f"search at {k.removeprefix('concurrency_')} concurrent", v)
            for k, v in figures["search_ms"].items()
        ],
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    figures = asyncio.run(
        run(
            os.environ.get("TGI_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:55432/tgint"),
            os.environ.get("TGI_KAFKA_BOOTSTRAP", "127.0.0.1:19092"),
            os.environ.get("TGI_NEO4J_URI", "bolt://127.0.0.1:17687"),
            queries=args.queries,
        )
    )
    print_figures(figures)
    write_report("bench-retrieval", figures)


if __name__ == "__main__":
    cli()
